"""The policy-analysis model: what appwarden read in one privacy-policy document.

``PolicyAnalysis`` is frozen and serialisable. It keeps the document outline
(sections), every sentence with the section path it sits under and the
disclosure types (CR1–CR26 of the VioDroid-Finder scheme) it was classified as,
the facts extracted from the text (PI types, SDKs, operator, contacts, dates),
and for each disclosure type the sentences that cover it. POLICY checks read
this model; they never re-read the document.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The disclosure types of the classifier, in order (labels.json of the development data).
CR_IDS: tuple[str, ...] = tuple(f"CR{i}" for i in range(1, 27))

DocumentFormat = Literal["html", "text", "markdown", "pdf", "docx", "mhtml"]


class PolicyFact(BaseModel):
    """Base for policy records: frozen, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Section(PolicyFact):
    """One heading of the document outline."""

    index: int = Field(description="Position of the section in document order")
    heading: str
    level: int = Field(description="Depth in the outline, 1 for top-level headings")
    path: list[str] = Field(description="Headings from the top level down to this one, inclusive")
    sentence: int | None = Field(None, description="Index in sentences of the heading line that opens it")


class LabelScore(PolicyFact):
    label: str = Field(description="Disclosure type id, CR1..CR26")
    score: float = Field(description="Classifier probability (0..1)")


class Sentence(PolicyFact):
    index: int = Field(description="Position of the sentence in document order")
    text: str = Field(description="The sentence normalised (Simplified, half-width): what rules and the model read")
    original_text: str | None = Field(
        None, description="The sentence as the document writes it, when that differs from text: what findings quote"
    )
    section_path: list[str] = Field(default_factory=list, description="Headings the sentence sits under")
    labels: list[LabelScore] = Field(default_factory=list, description="Disclosure types over their thresholds")
    is_heading: bool = False


class PiMention(PolicyFact):
    pi_type: str = Field(description="PI type id from regs/pi_types.yaml")
    term: str = Field(description="The wording found in the policy")
    sensitive: bool = False
    sentences: list[int] = Field(default_factory=list, description="Indexes of sentences that mention it")


class DeclaredSdk(PolicyFact):
    """A third party (usually an SDK) the policy names, with what it says about it."""

    name: str = Field(description="Name as written in the policy")
    sdk_id: str | None = Field(None, description="Catalog SDK id when the name matches one")
    vendor: str | None = None
    purpose: str | None = None
    pi_text: str | None = Field(None, description="The PI wording the policy gives for this party")
    pi_types: list[str] = Field(default_factory=list)
    sentence: int | None = Field(None, description="Index of the sentence or table row it was read from")
    source: Literal["table", "list", "sentence", "recipient"] = Field(
        "sentence",
        description="table/list: the policy's third-party list; sentence: an SDK named in running text; "
        "recipient: a company the policy says it shares PI with",
    )


class ContactChannel(PolicyFact):
    kind: Literal["email", "phone", "address", "web_form"]
    value: str
    sentence: int | None = None


class PolicyDate(PolicyFact):
    kind: Literal["effective", "updated", "published", "unknown"]
    date: str = Field(description="ISO date YYYY-MM-DD")
    text: str = Field(description="The wording the date was read from")
    sentence: int | None = None


class PolicyFacts(PolicyFact):
    pi_mentions: list[PiMention] = Field(default_factory=list)
    sdks: list[DeclaredSdk] = Field(default_factory=list)
    operator_names: list[str] = Field(default_factory=list, description="Legal names (…有限公司) in order of weight")
    contacts: list[ContactChannel] = Field(default_factory=list)
    dates: list[PolicyDate] = Field(default_factory=list)

    @property
    def declared_pi_types(self) -> set[str]:
        return {m.pi_type for m in self.pi_mentions}

    @property
    def operator(self) -> str | None:
        return self.operator_names[0] if self.operator_names else None


class Coverage(PolicyFact):
    label: str
    sentences: list[int] = Field(default_factory=list, description="Indexes of the sentences that cover it")


class PolicyAnalysis(PolicyFact):
    source: str | None = Field(None, description="File name or path the policy came from")
    format: DocumentFormat
    encoding: str | None = Field(None, description="Encoding the bytes were decoded with (None for str input)")
    sha256: str
    title: str | None = None
    char_count: int
    truncated: bool = Field(False, description="The text was cut at the output-character limit")
    sections: list[Section] = Field(default_factory=list)
    sentences: list[Sentence] = Field(default_factory=list)
    facts: PolicyFacts = Field(default_factory=PolicyFacts)
    coverage: list[Coverage] = Field(default_factory=list, description="Covered disclosure types, CR order")
    model_version: str = Field(description="Version of the shipped classifier that labelled the sentences")

    def covered(self, label: str) -> bool:
        return any(c.label == label and c.sentences for c in self.coverage)

    def shown_path(self, path: list[str]) -> list[str]:
        """Section headings as the document writes them (Traditional stays Traditional) for quoting."""
        original = {
            self.sentences[sec.sentence].text: self.sentences[sec.sentence].original_text
            for sec in self.sections
            if sec.sentence is not None and 0 <= sec.sentence < len(self.sentences)
        }
        return [original.get(h) or h for h in path]

    def covering_sentences(self, label: str) -> list[Sentence]:
        """Sentences classified as ``label``, in document order."""
        for c in self.coverage:
            if c.label == label:
                return [self.sentences[i] for i in c.sentences if 0 <= i < len(self.sentences)]
        return []

    def summary(self) -> dict[str, object]:
        """A compact, JSON-ready summary for ``ScanReport.policy``."""
        return {
            "source": self.source,
            "format": self.format,
            "encoding": self.encoding,
            "sha256": self.sha256,
            "title": self.title,
            "sentences": len(self.sentences),
            "sections": len(self.sections),
            "covered": [c.label for c in self.coverage if c.sentences],
            "missing": [cr for cr in CR_IDS if not self.covered(cr)],
            "operator": self.facts.operator,
            "pi_types": sorted(self.facts.declared_pi_types),
            "sdks": [s.sdk_id or s.name for s in self.facts.sdks],
            "model_version": self.model_version,
        }
