"""Findings: what a rule concludes from evidence, in a form a notice can quote.

A finding names its rule and the legal basis (document, clause and the id of the
item in the violation catalog), carries severity *and* confidence, and points at
the evidence records it rests on. The ``fingerprint`` is stable across app
versions for "the same problem" so that a re-test can say fixed / still present /
new finding by finding.

``ScanReport`` is the deterministic result of one scan. Run metadata (timestamps,
durations, host) lives in ``RunInfo`` and is kept out of the deterministic part so
that the same APK with the same engine and catalog gives byte-identical findings.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from appwarden.evidence.model import Evidence, Identity

REPORT_SCHEMA_VERSION = "1.1"

Severity = Literal["critical", "high", "medium", "low", "info"]
Confidence = Literal["high", "medium", "low"]
Technique = Literal["STATIC", "POLICY", "DYNAMIC", "STORE", "MANUAL"]

SEVERITY_ORDER: dict[str, int] = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}

EvidenceKind = Literal[
    "permission",
    "api_call",
    "sdk",
    "component",
    "meta_data",
    "string",
    "call_path",
    "endpoint",
    "policy_sentence",
    "policy_absence",
    "trace_event",
    "store_listing",
    "app_type",
    "hardening",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LegalBasis(_Frozen):
    doc: str = Field(description="Source document key, e.g. TAF078.6, RDM, R39, PG20204A")
    clause: str | None = Field(None, description="Clause as printed in the document, e.g. '5.2.1 b)'")
    ref: str | None = Field(None, description="Id of the item in the violation catalog (regs/violations.yaml)")
    title: str | None = None


class EvidenceRef(_Frozen):
    kind: EvidenceKind
    summary: str = Field(
        description="One line a person can read, e.g. 'com.umeng.x.Y.a() calls TelephonyManager.getDeviceId'"
    )
    data: dict[str, Any] = Field(default_factory=dict, description="The evidence record this refers to")


class Finding(_Frozen):
    rule_id: str
    title_zh: str
    title_en: str
    severity: Severity
    confidence: Confidence
    technique: Technique
    focus_area: str | None = None
    basis: list[LegalBasis]
    message_zh: str
    message_en: str
    advice_zh: str | None = None
    advice_en: str | None = None
    owner: str = Field("app", description="'app' or the SDK id the problem is attributed to")
    sdk_vendor: str | None = None
    evidence: list[EvidenceRef] = Field(default_factory=list)
    fingerprint: str = Field(description="Stable id of 'this problem in this app', independent of version")
    also_rule_ids: list[str] = Field(
        default_factory=list,
        description="Other catalog rules (other standards) that report this same problem; their clauses are in basis",
    )

    @staticmethod
    def make_fingerprint(rule_id: str, owner: str, *parts: str) -> str:
        """Hash of the rule, the owner and the problem's stable parts (not offsets or versions)."""
        h = hashlib.sha256("\x1f".join((rule_id, owner, *sorted(parts))).encode("utf-8"))
        return h.hexdigest()[:24]


class AppTypeCandidate(_Frozen):
    app_type: str
    confidence: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(default_factory=list)


class AppTypeDecision(_Frozen):
    declared: str | None = Field(None, description="Type given by the user (--app-type)")
    inferred: list[AppTypeCandidate] = Field(default_factory=list)
    decided: str | None = Field(None, description="Type judged against; None when not confident")
    reason: str


class UndecidedRule(_Frozen):
    rule_id: str
    reason: str


class RunInfo(BaseModel):
    """Non-deterministic run metadata: kept apart from the reproducible result."""

    started_at: str
    finished_at: str
    duration_seconds: float
    host: str | None = None
    input_path: str | None = None


class ScanReport(_Frozen):
    schema_version: str = REPORT_SCHEMA_VERSION
    engine_version: str
    catalog_version: str
    app: Identity
    app_type: AppTypeDecision
    findings: list[Finding]
    undecided: list[UndecidedRule] = Field(default_factory=list)
    not_implemented: list[str] = Field(
        default_factory=list, description="Rule ids in the catalog whose technique was not run in this scan"
    )
    evidence: Evidence | None = None
    policy: dict[str, Any] | None = Field(None, description="Policy analysis summary when a policy was read")

    def max_severity(self) -> str | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: SEVERITY_ORDER[s])
