"""One call from a policy document to a ``PolicyAnalysis``.

load (format, encoding, HTML structure) -> normalise (Simplified, half-width)
-> segment (sections, sentences) -> classify (CR1–CR26 with the chapter of the
section each sentence sits in) -> extract facts -> coverage.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from appwarden.errors import PolicyDocumentError
from appwarden.evidence.policy.classify import chapter_of_headings, classify_sentences, shipped_classifier
from appwarden.evidence.policy.english import list_item_labels
from appwarden.evidence.policy.extract import SentenceView, extract_facts, third_party_record_sentences
from appwarden.evidence.policy.load import load_document
from appwarden.evidence.policy.model import (
    CR_IDS,
    Coverage,
    LabelScore,
    PolicyAnalysis,
    Section,
    Sentence,
)
from appwarden.evidence.policy.normalize import normalize_text
from appwarden.evidence.policy.segment import segment

#: Disclosures about the operator itself: who it is (CR3) and how to contact it (CR4).
_OPERATOR_LABELS = frozenset({"CR3", "CR4"})


def analyse_policy(data: bytes | str, *, filename: str | None = None, media_type: str | None = None) -> PolicyAnalysis:
    """Read, classify and extract one privacy policy.

    ``data`` is the document's bytes (HTML, text, PDF or DOCX in any supported
    encoding) or already-decoded text. Raises ``PolicyDocumentError`` when the
    input is empty, binary, oversized or corrupt.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    try:
        doc = load_document(data, filename=filename, media_type=media_type)
    except PolicyDocumentError as exc:
        if filename and filename not in exc.message:
            # Name the document: next to an APK, "the document is empty" alone does not say which input is bad.
            raise PolicyDocumentError(f"policy file {filename}: {exc.message}", detail=exc.detail) from exc
        raise
    text = normalize_text(doc.text)
    seg = segment(text, title=normalize_text(doc.title) if doc.title else None, original=doc.text)
    chapters = [chapter_of_headings(s.section_path) for s in seg.segments]
    model = shipped_classifier()
    classified = classify_sentences([s.text for s in seg.segments], chapters, model=model)
    label_sets = [[] if s.is_heading else c.labels for s, c in zip(seg.segments, classified, strict=True)]
    # "We collect the following:" + "- Your email address": each item says what the lead-in starts.
    items = list_item_labels(
        [s.text for s in seg.segments], [s.is_heading for s in seg.segments], [s.section_path for s in seg.segments]
    )
    for i, added in items.items():
        have = {lb for lb, _ in label_sets[i]}
        extra = [(lb, classified[i].scores[CR_IDS.index(lb)]) for lb in sorted(added - have, key=CR_IDS.index)]
        label_sets[i] = sorted([*label_sets[i], *extra], key=lambda kv: CR_IDS.index(kv[0]))
    # A third-party list's own lines ("提供方: 某某有限公司", "隐私政策链接: https://…") name that party and
    # its channels: they do not state who the operator is or how to reach it, whatever the classifier says.
    records = third_party_record_sentences(
        [
            SentenceView(i, s.text, frozenset(lb for lb, _ in labels), s.is_heading, s.in_table, s.section_path)
            for i, (s, labels) in enumerate(zip(seg.segments, label_sets, strict=True))
        ]
    )
    sentences: list[Sentence] = []
    views: list[SentenceView] = []
    for i, (s, found) in enumerate(zip(seg.segments, label_sets, strict=True)):
        kept = [(lb, p) for lb, p in found if not (i in records and lb in _OPERATOR_LABELS)]
        labels = [LabelScore(label=lb, score=round(p, 4)) for lb, p in kept]
        sentences.append(
            Sentence(
                index=i,
                text=s.text,
                original_text=s.original,
                section_path=list(s.section_path),
                labels=labels,
                is_heading=s.is_heading,
            )
        )
        views.append(
            SentenceView(
                index=i,
                text=s.text,
                labels=frozenset(lb.label for lb in labels),
                is_heading=s.is_heading,
                in_table=s.in_table,
                section_path=s.section_path,
            )
        )
    coverage = [
        Coverage(label=cr, sentences=[s.index for s in sentences if any(lb.label == cr for lb in s.labels)])
        for cr in CR_IDS
    ]
    return PolicyAnalysis(
        source=filename,
        format=doc.format,
        encoding=doc.encoding,
        sha256=hashlib.sha256(raw).hexdigest(),
        title=seg.title,
        char_count=len(text),
        truncated=doc.truncated,
        sections=[
            Section(index=i, heading=o.heading, level=o.level, path=list(o.path), sentence=o.segment)
            for i, o in enumerate(seg.outline)
        ],
        sentences=sentences,
        facts=extract_facts(views),
        coverage=[c for c in coverage if c.sentences],
        model_version=model.version,
    )


def analyse_policy_file(path: str | Path) -> PolicyAnalysis:
    """``analyse_policy`` on a file; the size limit is checked before reading it whole."""
    from appwarden.evidence.policy.load import MAX_INPUT_BYTES

    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise PolicyDocumentError(
                f"the policy file {p.name} has {size} bytes, more than the limit of {MAX_INPUT_BYTES}"
            )
        data = p.read_bytes()
    except OSError as exc:
        raise PolicyDocumentError(f"cannot read the policy file {p}", detail=exc.strerror) from exc
    return analyse_policy(data, filename=p.name)
