"""Sections and sentences of a normalised policy text.

Chinese policies number their headings in a handful of styles (第X章/条,
一、, （一）, 1., 1.1, (1)...). A line is a heading when it starts with such a
number and reads like a title (short, no sentence-final punctuation), or when
markup said so (HTML h1–h6, DOCX heading styles). Nesting follows the order in
which numbering styles first appear, as a lab reader would: a style already on
the stack closes everything opened under it; a new style opens a level below.

Sentences end at 。！？；(and their ASCII forms) and at line ends; table rows
stay whole so an SDK row keeps its name, purpose and PI together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from appwarden.evidence.policy.load import HEADING_MARK

#: Longest line still read as a heading (characters).
MAX_HEADING_CHARS = 60
#: Longest sentence kept whole; longer runs are cut at commas.
MAX_SENTENCE_CHARS = 400
#: Sentences kept at most per document (a policy has a few hundred to a few thousand).
MAX_SENTENCES = 20_000

_CN_NUM = "一二三四五六七八九十百零〇两"
_HEADING_STYLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("chapter", re.compile(rf"^第[{_CN_NUM}\d]+[章部篇]")),
    ("article", re.compile(rf"^第[{_CN_NUM}\d]+[条节]")),
    ("cn", re.compile(rf"^[{_CN_NUM}]+\s*[、.．]")),
    ("cn_paren", re.compile(rf"^[（(]\s*[{_CN_NUM}]+\s*[)）]")),
    ("num3", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,2}(?!\d)\.?")),
    ("num2", re.compile(r"^\d{1,2}\.\d{1,2}(?![\d.])\.?")),
    ("num", re.compile(r"^\d{1,2}\s*[、.．](?!\d)")),
    ("num_paren", re.compile(r"^[（(]\s*\d{1,2}\s*[)）]")),
    ("circled", re.compile(r"^[①-⑳]")),
    ("latin", re.compile(r"^[a-zA-Z]\s*[、.．)）](?![a-zA-Z])")),
)
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")
_TITLE_LIKE = re.compile(r"[。；;]$")


@dataclass(frozen=True)
class Segment:
    """A sentence (or heading line) with the outline it sits under."""

    text: str
    section_path: tuple[str, ...]
    is_heading: bool
    in_table: bool = False


@dataclass(frozen=True)
class OutlineEntry:
    heading: str
    level: int
    path: tuple[str, ...]


@dataclass(frozen=True)
class Segmented:
    segments: list[Segment]
    outline: list[OutlineEntry]
    title: str | None


def heading_style(line: str) -> str | None:
    """Numbering style of a heading-like line, or None when the line is body text."""
    if len(line) > MAX_HEADING_CHARS or _TITLE_LIKE.search(line):
        return None
    for style, rx in _HEADING_STYLES:
        m = rx.match(line)
        if m and line[m.end() :].strip():
            # "1. 我们会收集您的手机号，用于注册。" is a numbered sentence, not a heading.
            rest = line[m.end() :]
            if ("，" in rest or "," in rest) and len(rest) > 30:
                return None
            return style
    return None


def split_sentences(line: str) -> list[str]:
    """Sentences of one line; over-long runs are cut at commas to keep sentences readable."""
    parts = [p.strip() for p in _SENTENCE_END.split(line)]
    out: list[str] = []
    for p in parts:
        if not p or not any(ch.isalnum() for ch in p):
            continue
        while len(p) > MAX_SENTENCE_CHARS:
            cut = max(p.rfind("，", 0, MAX_SENTENCE_CHARS), p.rfind(",", 0, MAX_SENTENCE_CHARS))
            cut = cut + 1 if cut > MAX_SENTENCE_CHARS // 3 else MAX_SENTENCE_CHARS
            out.append(p[:cut].strip())
            p = p[cut:].strip()
        if p:
            out.append(p)
    return out


def segment(text: str, *, title: str | None = None) -> Segmented:
    """Split a normalised document into headings and sentences with their section paths."""
    stack: list[tuple[str, str]] = []  # (style, heading text)
    segments: list[Segment] = []
    outline: list[OutlineEntry] = []
    doc_title = title
    seen_body = False
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        style: str | None
        if line.startswith(HEADING_MARK):
            level_char = line[1:2]
            line = line[2:].strip()
            if not line:
                continue
            style = f"h{level_char}" if level_char.isdigit() else "h1"
            numbered = heading_style(line)
            if numbered:
                style = numbered
            elif not seen_body and not outline and (doc_title is None or line == doc_title or _looks_like_title(line)):
                # The first unnumbered heading before any body text is the document's title, not a section.
                doc_title = doc_title or line
                style = "title"
        else:
            style = heading_style(line)
            if style is None and not seen_body and doc_title is None and _looks_like_title(line):
                doc_title = line
                style = "title"
        if style == "title":
            segments.append(Segment(line, (), True))
            continue
        if style is not None:
            styles = [s for s, _ in stack]
            if style in styles:
                del stack[styles.index(style) :]
            elif style.startswith("h") and style[1:].isdigit():
                # Markup levels are explicit: close deeper or equal markup headings.
                level = int(style[1:])
                while stack and stack[-1][0].startswith("h") and int(stack[-1][0][1:] or 9) >= level:
                    stack.pop()
            stack.append((style, line))
            path = tuple(h for _, h in stack)
            outline.append(OutlineEntry(line, len(stack), path))
            segments.append(Segment(line, path[:-1], True))
            continue
        seen_body = True
        path = tuple(h for _, h in stack)
        in_table = " | " in line
        pieces = [line] if in_table and len(line) <= MAX_SENTENCE_CHARS * 2 else split_sentences(line)
        for sentence in pieces:
            segments.append(Segment(sentence, path, False, in_table))
        if len(segments) >= MAX_SENTENCES:
            break
    return Segmented(segments[:MAX_SENTENCES], outline, doc_title)


def _looks_like_title(line: str) -> bool:
    return len(line) <= 40 and bool(re.search(r"隐私|个人信息|privacy", line, re.I)) and not _TITLE_LIKE.search(line)
