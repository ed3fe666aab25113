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

import dataclasses
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
#: Conventional depth of the numbering styles in Chinese documents: 第X章 > 第X条 > 一、 > （一） > 1. > 1.1 >
#: 1.1.1 > (1) > ① > a. A heading pops every open heading of its own or a deeper style, so "一、" after a
#: run of "1、" items is a new chapter, not a child of the last item.
_STYLE_RANK = {
    style: rank
    for rank, style in enumerate(
        ("chapter", "article", "cn", "cn_paren", "num", "num2", "num3", "num_paren", "circled", "latin")
    )
}
_NUMBERING = re.compile(
    rf"^(?:第[{_CN_NUM}\d]+[章部篇条节]|[{_CN_NUM}]+\s*[、.．]|[（(]\s*[{_CN_NUM}\d]+\s*[)）]"
    r"|\d{1,2}(?:\.\d{1,2})*\s*[、.．]?|[①-⑳])\s*"
)
#: A table of contents: at least this many heading lines in a row, most of them repeated further on.
_TOC_MIN_ENTRIES = 3
#: A contents entry written as a plain line: a short title without sentence punctuation.
_TOC_ENTRY = re.compile(r"^[^，,。；;！!？?:：]{2,30}$")
_TOC_INTRO = re.compile(
    r"(?:以下|如下)[^。]{0,6}(?:内容|索引|章节|几个方面|几部分)[^。]{0,40}[:：]\s*$"
    r"|(?:以下内容|以下几个方面|以下几部分|如下内容|目录|contents)\s*[:：]?\s*$",
    re.I,
)
_TITLE_LIKE = re.compile(r"[。；;]$")
#: A body line that announces the list below it: "本政策涉及的个人信息包括:", "具体如下:".
_LIST_INTRO = re.compile(r"(?:包括|包含|如下|以下|下列|有|为)[^。；;:：]{0,8}[:：]\s*$")
_FIELD_LINE = re.compile(
    r"\s*[^:：]{0,8}(?:内容|目的|用途|类型|名称|场景|方式|范围|权限|功能|主体|频率|期限|信息)\s*[:：]\s*\S"
)


@dataclass(frozen=True)
class Segment:
    """A sentence (or heading line) with the outline it sits under."""

    text: str
    section_path: tuple[str, ...]
    is_heading: bool
    in_table: bool = False
    #: The same sentence as the document writes it (before normalisation), when it differs and is known.
    original: str | None = None


@dataclass(frozen=True)
class OutlineEntry:
    heading: str
    level: int
    path: tuple[str, ...]
    #: Position of the heading's own segment.
    segment: int = -1


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
            # "1. 设备适配: 确保应用在不同设备上正常运行" is a list item with its description, not a heading;
            # "3. 在以下情形中, 您可以…:" introduces a list, it does not title a section.
            if re.search(r"[:：]\s*\S.{5,}", rest):
                return None
            # "1、收集内容: 个性签名" is a numbered record's first field, not a heading however short its value.
            if _FIELD_LINE.match(rest):
                return None
            if re.search(r"[:：]\s*$", rest) and re.search(r"[,，]|以下|如下|下列|包括", rest):
                return None
            return style
    return None


_HAN_CHAR = re.compile(r"[\u3400-\u9fff]")
#: Words an English clause needs before a ";" ends it: shorter runs are items of a list ("name; email; phone").
_MIN_ENGLISH_CLAUSE_WORDS = 8
_URL_IN_LINE = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#@!$&*+=%;,]+", re.I)
_OPENERS = "（(【[「『《"
_CLOSERS = "）)】]」』》"
#: Longest bracket that keeps a sentence end inside it from ending the sentence; an unclosed bracket
#: (common in pasted text) must not swallow the rest of the line.
_MAX_BRACKET_CHARS = 200


#: Words an English full stop follows without ending the sentence.
_ABBREVIATIONS = frozenset(
    {
        "e.g",
        "i.e",
        "etc",
        "inc",
        "ltd",
        "co",
        "corp",
        "mr",
        "mrs",
        "ms",
        "dr",
        "no",
        "vs",
        "u.s",
        "st",
        "jr",
        "sr",
        "approx",
    }
)


def _ends_english_sentence(line: str, at: int) -> bool:
    """A "." at ``at`` ends an English sentence: a space and a capital (or quote, bracket, digit) follow,
    and it does not close an abbreviation ("e.g.", "Co., Ltd.") or an initial."""
    if not line.startswith(" ", at + 1) or at + 2 >= len(line):
        return False
    following = line[at + 2]
    if not (following.isupper() or following.isdigit() or following in "\"'“(["):
        return False
    word = line[:at].rsplit(maxsplit=1)[-1].lstrip("(\"'“").lower() if line[:at].strip() else ""
    return len(word) > 1 and word not in _ABBREVIATIONS and word.isascii()


def _ends_english_clause(line: str, start: int, at: int) -> bool:
    """A ";" ends a clause unless it separates the short items of an English list.

    Chinese lists split at "；" as before (the classifier was measured on such pieces); in English,
    "We collect: name; email address; phone number." is one sentence, not three fragments.
    """
    before = line[start:at]
    if _HAN_CHAR.search(before) or not before.strip():
        return True
    # The item since the previous ";" decides: a long list of short items stays whole.
    item = before.rsplit(";", 1)[-1]
    return len(item.split()) >= _MIN_ENGLISH_CLAUSE_WORDS


def _sentence_parts(line: str) -> list[str]:
    """The line cut after each sentence end that is not inside brackets ("设备信息【用于…。】、应用信息")."""
    parts: list[str] = []
    start = 0
    depth = 0
    opened_at = 0
    # "https://support.google.com/admob/answer/9755590?hl=en": a "?" or ";" inside a web address ends nothing.
    in_url = {i for m in _URL_IN_LINE.finditer(line) for i in range(m.start(), m.end() - 1)}
    for i, ch in enumerate(line):
        if i in in_url:
            continue
        if ch in _OPENERS:
            if depth == 0:
                opened_at = i
            depth += 1
        elif ch in _CLOSERS and depth:
            depth -= 1
        elif depth and i - opened_at > _MAX_BRACKET_CHARS:
            depth = 0
        if ch == ";" and not _ends_english_clause(line, start, i):
            continue
        if depth == 0 and (ch in "。！？；!?;" or (ch == "." and _ends_english_sentence(line, i))):
            parts.append(line[start : i + 1])
            start = i + 1
    parts.append(line[start:])
    return parts


def split_sentences(line: str) -> list[str]:
    """Sentences of one line; over-long runs are cut at commas to keep sentences readable."""
    parts = [p.strip() for p in _sentence_parts(line)]
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


def _plain_heading(line: str) -> str:
    return line[2:].strip() if line.startswith(HEADING_MARK) else line


def _toc_key(line: str) -> str:
    line = _plain_heading(line)
    line = _NUMBERING.sub("", line.strip())
    return re.sub(r"[\s.…·．_-]+\d*$|\s+", "", line)


def table_of_contents(lines: list[str]) -> set[int]:
    """Positions (in ``lines``) of a table of contents: a run of heading lines whose titles come again later.

    Read as headings, a contents list opens every chapter before any text, and the whole policy
    then sits under its last entry.
    """
    styles = [heading_style(_plain_heading(ln)) for ln in lines]
    headingish = [ln.startswith(HEADING_MARK) or style is not None for ln, style in zip(lines, styles, strict=True)]
    # Under "目录" / "以下内容:" the entries may be plain short lines (a bullet list of chapter titles).
    # Such lines count as a contents list only when their titles come again later: "我们会收集以下内容:"
    # followed by short items is a list of data, not of chapters.
    plain_entry = [False] * len(lines)
    for i, line in enumerate(lines):
        if _TOC_INTRO.search(line) and not headingish[i]:
            j = i + 1
            while j < len(lines) and not headingish[j] and _TOC_ENTRY.match(lines[j]):
                headingish[j] = plain_entry[j] = True
                j += 1
    keys = [_toc_key(ln) for ln in lines]
    later: dict[str, int] = {}
    for i, k in enumerate(keys):
        if len(k) >= 2:
            later[k] = i  # last position of each title
    toc: set[int] = set()
    i = 0
    while i < len(lines):
        if not headingish[i]:
            i += 1
            continue
        j = i
        seen: set[str] = set()
        # The run ends where a title comes round again: the contents list is over and the first
        # chapter's real heading (often straight followed by its first sub-heading) begins.
        # A contents list is written in one numbering style; a change of style is the document going on.
        first_style = styles[i]
        announced = i > 0 and not headingish[i - 1] and _TOC_INTRO.search(lines[i - 1]) is not None
        while j < len(lines) and headingish[j] and keys[j] not in seen and styles[j] == first_style:
            seen.add(keys[j])
            j += 1
        run = range(i, j)
        repeated = [n for n in run if len(keys[n]) >= 2 and later.get(keys[n], -1) >= j]
        # "本政策将帮助您了解以下内容:" announces a contents list even when its titles are worded
        # differently from the chapters' own headings.
        announced = announced and not all(plain_entry[n] for n in run)
        if len(run) >= _TOC_MIN_ENTRIES and (
            announced or (len(repeated) >= _TOC_MIN_ENTRIES and len(repeated) * 10 >= len(run) * 6)
        ):
            toc.update(run)
        i = j
    return toc


def _originals(normalised: list[str], raw: str) -> list[str | None]:
    """``raw``'s sentences paired with ``normalised`` (one line's sentences), None where they do not pair up."""
    raw_pieces = split_sentences(raw)
    if len(raw_pieces) != len(normalised):
        return [None] * len(normalised)
    return [r if r != n else None for n, r in zip(normalised, raw_pieces, strict=True)]


def segment(text: str, *, title: str | None = None, original: str | None = None) -> Segmented:
    """Split a normalised document into headings and sentences with their section paths.

    ``original`` is the document before normalisation, line for line; given, each segment also
    carries its verbatim wording, so findings can quote the policy as published.
    """
    stack: list[tuple[str, str]] = []  # (style, heading text)
    segments: list[Segment] = []
    outline: list[OutlineEntry] = []
    doc_title = title
    seen_body = False
    #: After a line announcing a list ("…包括:"): "" until its first numbered item, then that item's
    #: numbering style; numbered lines of that style are the list's items, not headings.
    list_style: str | None = None
    raw_lines = original.split("\n") if original is not None else []
    paired = len(raw_lines) == text.count("\n") + 1
    kept = [
        (ln.strip(), raw_lines[i].strip() if paired else None) for i, ln in enumerate(text.split("\n")) if ln.strip()
    ]
    lines = [ln for ln, _ in kept]
    contents = table_of_contents(lines)
    # A line that repeats a contents entry is that chapter's heading, even when its own numbering
    # is not one the style rules know ("1 我们如何收集…" under a contents entry "1. 我们如何收集…").
    contents_styles = {_toc_key(lines[i]): heading_style(_plain_heading(lines[i])) or "h2" for i in sorted(contents)}
    contents_end = max(contents, default=-1)
    for position, (line, raw_line) in enumerate(kept):
        raw_heading = _plain_heading(raw_line) if raw_line is not None else None
        if position in contents:
            list_style = None  # the list announced was the contents, not items of the text
            # Kept as a heading line for the reader, but it opens no section.
            segments.append(Segment(_plain_heading(line), tuple(h for _, h in stack), True, original=raw_heading))
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
            following = kept[position + 1][0] if position + 1 < len(kept) else ""
            if (
                style is not None
                and list_style is not None
                and (list_style == style or (list_style == "" and heading_style(following) == style))
            ):
                # "…包括:" then "1. 账号密码信息", "2. 个人位置信息": the items of the list it announces (items
                # stand next to each other; a section heading after "如下:" has its paragraph under it).
                list_style = style
                style = None
            elif style is not None:
                list_style = None
            if style is None and list_style is None and len(line) <= MAX_HEADING_CHARS and position > contents_end:
                style = contents_styles.get(_toc_key(line))
            if style is None and not seen_body and doc_title is None and _looks_like_title(line):
                doc_title = line
                style = "title"
        if style == "title":
            segments.append(Segment(line, (), True, original=raw_heading))
            continue
        if style is not None:
            styles = [s for s, _ in stack]
            if style in styles:
                del stack[styles.index(style) :]
            elif style in _STYLE_RANK:
                # A bold caption (markup level 7, from the loader) ranks below every numbering style.
                while stack and _STYLE_RANK.get(stack[-1][0], 99 if stack[-1][0] == "h7" else -1) > _STYLE_RANK[style]:
                    stack.pop()
            elif style.startswith("h") and style[1:].isdigit():
                # Markup levels are explicit: close deeper or equal markup headings.
                level = int(style[1:])
                while stack and stack[-1][0].startswith("h") and int(stack[-1][0][1:] or 9) >= level:
                    stack.pop()
            stack.append((style, line))
            path = tuple(h for _, h in stack)
            outline.append(OutlineEntry(line, len(stack), path, len(segments)))
            segments.append(Segment(line, path[:-1], True, original=raw_heading))
            continue
        seen_body = True
        if _LIST_INTRO.search(line):
            list_style = ""
        elif list_style is not None and not heading_style(line) and _TITLE_LIKE.search(line) and "。" in line[-1:]:
            list_style = None  # a paragraph after the list
        path = tuple(h for _, h in stack)
        in_table = " | " in line
        whole = in_table and len(line) <= MAX_SENTENCE_CHARS * 2
        pieces = [line] if whole else split_sentences(line)
        if raw_line is None:
            originals: list[str | None] = [None] * len(pieces)
        else:
            originals = [raw_line if raw_line != line else None] if whole else _originals(pieces, raw_line)
        for sentence, verbatim in zip(pieces, originals, strict=True):
            segments.append(Segment(sentence, path, False, in_table, original=verbatim))
        if len(segments) >= MAX_SENTENCES:
            break
    kept_segments = [
        dataclasses.replace(seg, original=None) if seg.original == seg.text else seg for seg in segments[:MAX_SENTENCES]
    ]
    return Segmented(kept_segments, outline, doc_title)


def _looks_like_title(line: str) -> bool:
    return len(line) <= 40 and bool(re.search(r"隐私|个人信息|privacy", line, re.I)) and not _TITLE_LIKE.search(line)
