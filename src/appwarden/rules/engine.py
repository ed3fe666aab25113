"""Run the catalog's checks over one Evidence and collect findings deterministically.

The engine knows nothing about any one rule. For each catalog rule, in id order:
- no check (neither a ``check`` field nor a check registered under the rule id), or a technique this scan cannot run (STORE, MANUAL; POLICY
  without a policy; DYNAMIC without a runtime trace) -> listed as not implemented for this scan;
- a check name nobody registered -> undecided, saying so;
- the check raises ``RuleNotApplicable`` -> undecided with its reason;
- the check raises anything else -> undecided with the error; the scan goes on.

Findings are de-duplicated by (rule, fingerprint) and sorted by (rule id,
fingerprint), so the same evidence gives byte-identical output.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from appwarden.evidence.model import Evidence
from appwarden.evidence.trace import RuntimeTrace
from appwarden.findings import SEVERITY_ORDER, AppTypeDecision, Finding, UndecidedRule
from appwarden.rules.catalog_loader import Catalog, load_catalog
from appwarden.rules.model import Check, Rule, RuleContext, RuleNotApplicable
from appwarden.rules.registry import check_for_rule, import_errors, is_document_check

#: Techniques whose input is the APK alone: always run.
_ALWAYS_RUN = frozenset({"STATIC"})
#: Techniques appwarden can run at all (POLICY needs a policy document, DYNAMIC a runtime trace).
RUNNABLE_TECHNIQUES = frozenset({"STATIC", "POLICY", "DYNAMIC"})


def implemented(rule: Rule) -> bool:
    """A rule is implemented when appwarden can run its technique and a check is bound to it."""
    return rule.technique in RUNNABLE_TECHNIQUES and check_for_rule(rule.id, rule.check) is not None


@dataclass(frozen=True)
class EngineResult:
    """What one engine run concluded. ``duration_seconds`` is run metadata, not part of the report."""

    findings: list[Finding]
    undecided: list[UndecidedRule]
    not_implemented: list[str]
    catalog_version: str
    duration_seconds: float = 0.0
    rule_seconds: dict[str, float] = field(default_factory=dict)


def _runnable(rule: Rule, policy: Any | None, trace: RuntimeTrace | None) -> bool:
    return (
        rule.technique in _ALWAYS_RUN
        or (rule.technique == "POLICY" and policy is not None)
        or (rule.technique == "DYNAMIC" and trace is not None)
    )


def run(
    evidence: Evidence,
    app_type_decision: AppTypeDecision,
    policy: Any | None = None,
    *,
    catalog: Catalog | None = None,
    trace: RuntimeTrace | None = None,
) -> EngineResult:
    """Evaluate every implemented, runnable rule of ``catalog`` (default: the packaged one) on ``evidence``.

    DYNAMIC rules run only when ``trace`` (a runtime trace of the same app) is given.
    """
    return _run(
        evidence,
        app_type_decision,
        policy,
        catalog=catalog or load_catalog(),
        trace=trace,
        selected=lambda rule, fn: _runnable(rule, policy, trace),
    )


#: The app-type decision of a policy judged without an app: there is no app to infer a type from.
NO_APP_TYPE = AppTypeDecision(reason="no app: the privacy policy is judged alone")


def run_document(policy: Any, *, catalog: Catalog | None = None) -> EngineResult:
    """Evaluate the POLICY rules whose checks judge the policy alone (``@check(..., document=True)``).

    There is no app: the checks see ``Evidence.without_app()``, so what a policy must
    say is decided by the policy's own content (an SDK list asks for the sharing
    disclosures, a cross-border statement for its consent and purpose...). Rules
    that compare the policy with an app (PI reached, SDKs embedded) are listed as
    not implemented for this run, as a scan without a policy lists the POLICY rules.
    """
    return _run(
        Evidence.without_app(),
        NO_APP_TYPE,
        policy,
        catalog=catalog or load_catalog(),
        trace=None,
        selected=lambda rule, fn: rule.technique == "POLICY" and fn is not None and is_document_check(fn),
    )


def _run(
    evidence: Evidence,
    app_type_decision: AppTypeDecision,
    policy: Any | None,
    *,
    catalog: Catalog,
    trace: RuntimeTrace | None,
    selected: Callable[[Rule, Check | None], bool],
) -> EngineResult:
    started = time.perf_counter()
    findings: dict[tuple[str, str], Finding] = {}
    check_of: dict[str, str] = {}
    undecided: list[UndecidedRule] = []
    not_implemented: list[str] = []
    rule_seconds: dict[str, float] = {}
    for rule in catalog.rules:
        bound = check_for_rule(rule.id, rule.check)
        if (rule.check is None and bound is None) or not selected(rule, bound[1] if bound else None):
            not_implemented.append(rule.id)
            continue
        if bound is None:
            broken = import_errors()
            detail = f" (check modules that failed to import: {', '.join(sorted(broken))})" if broken else ""
            undecided.append(UndecidedRule(rule_id=rule.id, reason=f"check {rule.check!r} is not registered{detail}"))
            continue
        check_name, fn = bound
        ctx = RuleContext(
            rule=rule, app_type=app_type_decision, policy=policy, catalog_version=catalog.version, trace=trace
        )
        rule_started = time.perf_counter()
        try:
            produced = list(fn(evidence, ctx))
        except RuleNotApplicable as exc:
            undecided.append(UndecidedRule(rule_id=rule.id, reason=exc.reason))
            continue
        except Exception as exc:  # a failing check must never kill the scan; it is reported instead
            undecided.append(
                UndecidedRule(rule_id=rule.id, reason=f"check {check_name!r} failed: {type(exc).__name__}: {exc}")
            )
            continue
        finally:
            rule_seconds[rule.id] = time.perf_counter() - rule_started
        for finding in produced:
            if finding.rule_id != rule.id:
                undecided.append(
                    UndecidedRule(
                        rule_id=rule.id,
                        reason=f"check {check_name!r} returned a finding of rule {finding.rule_id}; use ctx.finding()",
                    )
                )
                break
            findings.setdefault((finding.rule_id, finding.fingerprint), finding)
            # The function, not its registered name: one check is registered under each rule id it serves.
            check_of[finding.fingerprint] = f"{fn.__module__}.{getattr(fn, '__qualname__', check_name)}"
    ordered = _one_per_problem([findings[k] for k in sorted(findings)], check_of)
    return EngineResult(
        findings=ordered,
        undecided=sorted(undecided, key=lambda u: u.rule_id),
        not_implemented=not_implemented,
        catalog_version=catalog.version,
        duration_seconds=time.perf_counter() - started,
        rule_seconds=rule_seconds,
    )


def _one_per_problem(findings: list[Finding], check_of: dict[str, str]) -> list[Finding]:
    """One finding per problem: the same check saying the same thing about the same evidence under the
    rules of several standards (a missing contact under PG3, RDM and SAG) becomes one finding citing
    every clause, as a notice does, instead of one per standard.

    The finding kept is the most severe one (then the first rule id); the others' ids are listed in
    ``also_rule_ids`` and their legal bases added to its ``basis``.
    """
    groups: dict[tuple[object, ...], list[Finding]] = {}
    for f in findings:
        key = (check_of.get(f.fingerprint), f.owner, f.message_zh, tuple(e.summary for e in f.evidence))
        groups.setdefault(key, []).append(f)
    merged: list[Finding] = []
    for group in groups.values():
        if len(group) == 1:
            merged.append(group[0])
            continue
        primary = min(group, key=lambda f: (-SEVERITY_ORDER[f.severity], f.rule_id))
        basis = list(primary.basis)
        for other in group:
            basis.extend(b for b in other.basis if b not in basis)
        others = sorted(f.rule_id for f in group if f is not primary)
        merged.append(primary.model_copy(update={"basis": basis, "also_rule_ids": others}))
    return sorted(merged, key=lambda f: (f.rule_id, f.fingerprint))
