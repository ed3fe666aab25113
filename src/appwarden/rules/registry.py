"""The check registry: checks register by name; catalog rules refer to them by that name.

Adding a check never touches the engine: write a module in ``appwarden.rules.checks``
with a function decorated ``@check("name")`` and set ``check: name`` in the rule's
YAML. ``load_checks`` imports every module of the checks package once.

Binding by rule id: a catalog rule that has no ``check`` field is bound to a check
registered under the rule's own id, e.g. ``@check("AW-RDM-001")``. This lets a
check implement a catalogued, not-yet-implemented rule (the POLICY entries of
``rules/catalog/*.yaml``) without editing the catalog. ``rules list`` and the
engine use ``check_for_rule``, which applies this binding.

A check module must import only evidence, findings and rules.model/registry
(and rules.checks._common): never report, governance, api or cli.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from appwarden.rules.model import Check

_CHECKS: dict[str, Check] = {}
#: Checks that judge the privacy policy alone: they also run when a policy is analysed without an app.
_DOCUMENT_CHECKS: set[Check] = set()
#: Check modules that failed to import, with the error: their rules become undecided, the scan goes on.
_IMPORT_ERRORS: dict[str, str] = {}
_loaded = False


def check(name: str, *, document: bool = False) -> Callable[[Check], Check]:
    """Register the decorated function as the check called ``name``.

    ``document=True`` says the check judges the privacy policy by itself (what
    it says or leaves out), so ``policy analyse`` can run it with no app; the
    app's facts, when there is an app, only add to what the policy must say.

    A second registration of the same name by a different function is a
    programming error and raises at import time, so two modules cannot silently
    shadow each other.
    """

    def register(fn: Check) -> Check:
        existing = _CHECKS.get(name)
        if existing is not None and existing is not fn and _qualname(existing) != _qualname(fn):
            raise RuntimeError(f"check {name!r} registered twice: {_qualname(existing)} and {_qualname(fn)}")
        _CHECKS[name] = fn
        if document:
            _DOCUMENT_CHECKS.add(fn)
        return fn

    return register


def _qualname(fn: Check) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def load_checks() -> dict[str, Check]:
    """Import every module of ``appwarden.rules.checks`` (once) and return the registry by name."""
    global _loaded
    if not _loaded:
        import appwarden.rules.checks as package

        for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if module.name.startswith("_"):
                continue
            try:
                importlib.import_module(f"{package.__name__}.{module.name}")
            except Exception as exc:  # a broken check module must not stop every other rule
                _IMPORT_ERRORS[module.name] = f"{type(exc).__name__}: {exc}"
        _loaded = True
    return dict(_CHECKS)


def get_check(name: str) -> Check | None:
    """The check registered as ``name`` (after loading the checks package), or None."""
    return load_checks().get(name)


def check_for_rule(rule_id: str, check_name: str | None) -> tuple[str, Check] | None:
    """The (name, check) that implements a rule: its ``check`` field, else a check registered under its id."""
    checks = load_checks()
    name = check_name if check_name is not None else rule_id
    fn = checks.get(name)
    return (name, fn) if fn is not None else None


def is_document_check(fn: Check) -> bool:
    """Whether ``fn`` judges the policy document alone (registered with ``document=True``)."""
    load_checks()
    return fn in _DOCUMENT_CHECKS


def registered_names() -> list[str]:
    return sorted(load_checks())


def import_errors() -> dict[str, str]:
    """Check modules that could not be imported, by module name, with the error."""
    load_checks()
    return dict(_IMPORT_ERRORS)
