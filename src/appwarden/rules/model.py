"""The rule model: a catalog entry as data, and the context a check runs in.

A ``Rule`` is one YAML document of ``rules/catalog``: id, bilingual title and
advice, legal basis (document, clause and violation-catalog id), technique,
severity and the name of the registered check that implements it (absent when
the rule is catalogued but not implemented). A ``RuleContext`` is what a check
receives besides the evidence: the rule, the app-type decision, the policy
analysis (when a policy was read) and the catalog version; its ``finding``
method builds a ``Finding`` carrying the rule's metadata so that checks only
state what they found and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from appwarden.evidence.model import Evidence
from appwarden.findings import (
    AppTypeDecision,
    Confidence,
    EvidenceRef,
    Finding,
    LegalBasis,
    Severity,
    Technique,
)

if TYPE_CHECKING:
    from appwarden.evidence.trace import RuntimeTrace


class LocalizedText(BaseModel):
    """A text in Chinese and English (both required: notices are bilingual)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zh: str
    en: str


class Rule(BaseModel):
    """One catalog entry. ``check`` names a registered check; None means not implemented yet."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^AW-[A-Z0-9]+-\d{3}$")
    title: LocalizedText
    basis: list[LegalBasis] = Field(min_length=1)
    technique: Technique = Field(description="Primary technique that decides the rule")
    techniques: list[Technique] = Field(default_factory=list, description="All techniques that contribute evidence")
    focus_area: str | None = None
    severity: Severity
    confidence_default: Confidence = "medium"
    advice: LocalizedText
    notes: str | None = Field(None, description="Reviewer notes, e.g. which pre-screen covers part of the item")
    check: str | None = Field(None, description="Registered check name; None => catalogued, not implemented")
    version: int = Field(1, ge=1, description="Bumped when the rule's meaning changes")

    @property
    def all_techniques(self) -> list[Technique]:
        """The primary technique first, then the others, without duplicates."""
        seen: list[Technique] = [self.technique]
        for t in self.techniques:
            if t not in seen:
                seen.append(t)
        return seen

    @property
    def refs(self) -> list[str]:
        """Violation-catalog ids this rule rests on."""
        return [b.ref for b in self.basis if b.ref]


@dataclass(frozen=True)
class RuleContext:
    """What a check gets besides the evidence. Immutable; one per (rule, scan)."""

    rule: Rule
    app_type: AppTypeDecision
    policy: Any | None  # policy analysis object (policy stage); None when no policy was read
    catalog_version: str
    trace: RuntimeTrace | None = None  # runtime trace (DYNAMIC technique); None when no trace was given

    def finding(
        self,
        *,
        message_zh: str,
        message_en: str,
        evidence: list[EvidenceRef],
        confidence: Confidence | None = None,
        owner: str = "app",
        sdk_vendor: str | None = None,
        key_parts: tuple[str, ...] = (),
        severity: Severity | None = None,
    ) -> Finding:
        """A finding of this rule; ``key_parts`` are the stable parts of its fingerprint.

        Key parts must not contain versions, offsets or anything else that
        changes between builds of the same app, so a re-test can match findings.
        """
        rule = self.rule
        return Finding(
            rule_id=rule.id,
            title_zh=rule.title.zh,
            title_en=rule.title.en,
            severity=severity or rule.severity,
            confidence=confidence or rule.confidence_default,
            technique=rule.technique,
            focus_area=rule.focus_area,
            basis=list(rule.basis),
            message_zh=message_zh,
            message_en=message_en,
            advice_zh=rule.advice.zh,
            advice_en=rule.advice.en,
            owner=owner,
            sdk_vendor=sdk_vendor,
            evidence=list(evidence),
            fingerprint=Finding.make_fingerprint(rule.id, owner, *key_parts),
        )


#: A check: a pure function from evidence and context to findings. It never opens the APK.
Check = Callable[[Evidence, RuleContext], Iterable[Finding]]


class RuleNotApplicable(Exception):
    """Raised by a check that cannot decide (e.g. no confident app type); the engine records it as undecided."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
