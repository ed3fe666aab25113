"""Load the rule catalog (``rules/catalog/*.yaml``) and compute its version.

The catalog version is ``<semantic version>+<content hash>``: the semantic
version says what kind of change was made (bump the minor when rules are added,
the major when a rule changes meaning), the hash pins the exact bytes so two
scans can be compared only when they ran against the same catalog.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from appwarden.errors import ConfigurationError
from appwarden.rules.model import Rule

#: Semantic version of the rule catalog. Bump with every catalog change that ships.
CATALOG_SEMVER = "1.0.1"

#: libyaml's C loader when available (10x faster on the standards data), else the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Catalog:
    """The loaded catalog: rules sorted by id, and the version string recorded in every ScanReport."""

    rules: tuple[Rule, ...]
    version: str
    files: tuple[str, ...]

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}


def default_catalog_dir() -> Path:
    return Path(str(resources.files("appwarden.rules") / "catalog"))


def load_catalog(directory: Path | None = None) -> Catalog:
    """Read and validate every ``*.yaml`` file of ``directory`` (default: the packaged catalog).

    Raises ConfigurationError naming the file and rule when a document is invalid
    or an id is used twice: a broken catalog must stop before any scan runs.
    """
    if directory is None:
        return _default_catalog()
    return _load(directory)


@lru_cache(maxsize=1)
def _default_catalog() -> Catalog:
    return _load(default_catalog_dir())


def _load(directory: Path) -> Catalog:
    if not directory.is_dir():
        raise ConfigurationError(f"rule catalog folder {directory} does not exist")
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise ConfigurationError(f"rule catalog folder {directory} holds no *.yaml files")
    digest = hashlib.sha256()
    rules: dict[str, Rule] = {}
    origin: dict[str, str] = {}
    for path in paths:
        raw = path.read_bytes()
        digest.update(path.name.encode("utf-8") + b"\0" + raw + b"\0")
        for index, document in enumerate(_rule_documents(path, raw)):
            try:
                rule = Rule.model_validate(document)
            except ValidationError as exc:
                where = document.get("id", f"rule #{index + 1}") if isinstance(document, dict) else f"rule #{index + 1}"
                raise ConfigurationError(
                    f"invalid rule {where} in {path.name}", detail=exc.errors(include_url=False)[0]["msg"]
                ) from exc
            if rule.id in rules:
                raise ConfigurationError(f"rule id {rule.id} is defined twice ({origin[rule.id]} and {path.name})")
            rules[rule.id] = rule
            origin[rule.id] = path.name
    version = f"{CATALOG_SEMVER}+{digest.hexdigest()[:12]}"
    return Catalog(
        rules=tuple(sorted(rules.values(), key=lambda r: r.id)),
        version=version,
        files=tuple(p.name for p in paths),
    )


def _rule_documents(path: Path, raw: bytes) -> list[Any]:
    """The rule mappings of one file: either ``rules: [...]`` or one rule per YAML document."""
    try:
        documents = [d for d in yaml.load_all(raw, Loader=_LOADER) if d is not None]
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"rule catalog file {path.name} is not valid YAML", detail=str(exc)) from exc
    out: list[Any] = []
    for document in documents:
        if isinstance(document, dict) and "rules" in document:
            listed = document["rules"]
            if not isinstance(listed, list):
                raise ConfigurationError(f"'rules' in {path.name} must be a list of rules")
            out.extend(listed)
        else:
            out.append(document)
    return out
