"""Bytes or a file to plain text: HTML, saved web pages (MHTML), Markdown, text, PDF and DOCX, in any encoding Chinese policies use.

The loader decides the format (declared media type, file name, then the bytes
themselves), decodes text with the encoding that makes the most sense of it and
turns HTML into lines that keep the document's structure: headings are marked,
list items and table rows stay on their own lines. Everything is bounded: input
bytes, output characters, DOCX/ZIP expansion and PDF pages. Input that is not a
readable document raises ``PolicyDocumentError`` with what is wrong.

Encoding detection: a BOM wins; then strictly valid UTF-8; then BOM-less UTF-16
(NUL-byte pattern); otherwise every candidate (declared charset, GB18030, Big5,
the charset-normalizer guess) is scored by how much of the decoded text is
common Chinese, ASCII and punctuation. A declared charset only adds a small
bonus, so a wrongly declared page still decodes right.
"""

from __future__ import annotations

import codecs
import dataclasses
import email.parser
import email.policy
import io
import logging
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from typing import Any

from appwarden.errors import PolicyDocumentError
from appwarden.evidence.policy.model import DocumentFormat

#: Largest input accepted, in bytes. A policy is rarely above 1 MB; saved pages with inline assets reach a few.
MAX_INPUT_BYTES = 20 * 1024 * 1024
#: Largest text kept after extraction, in characters; longer text is cut and flagged as truncated.
MAX_TEXT_CHARS = 1_000_000
#: DOCX: largest total uncompressed size and compression ratio accepted (ZIP bomb guard).
MAX_DOCX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_DOCX_RATIO = 200
#: PDF: pages read at most.
MAX_PDF_PAGES = 300
#: HTML: elements visited at most (a policy has a few thousand; floods of empty elements are cut here).
MAX_HTML_NODES = 2_000_000
#: HTML: deepest element nesting given to the tree builder (its cost grows with depth squared).
MAX_HTML_DEPTH = 2_000

#: Marker put before a heading line found in markup (h1-h6, DOCX heading styles); segment.py reads it.
HEADING_MARK = "\x01"


@dataclass(frozen=True)
class LoadedDocument:
    """A document as text lines. Headings from markup start with ``HEADING_MARK`` and a level digit."""

    text: str
    format: DocumentFormat
    encoding: str | None
    title: str | None = None
    truncated: bool = False
    warnings: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- format


def _is_pdf(data: bytes) -> bool:
    return data[:1024].lstrip().startswith(b"%PDF-")


def _is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


_HTML_SNIFF = re.compile(rb"<\s*(!doctype\s+html|html|head|body|meta|div|p|h[1-6]|table|title|span|br)\b", re.I)


def _looks_like_html(head: str) -> bool:
    return bool(re.search(r"<\s*(!doctype\s+html|html|head|body|div|p|h[1-6]|table|title|br)\b", head, re.I))


def _detect_format(data: bytes, filename: str | None, media_type: str | None) -> DocumentFormat:
    mt = (media_type or "").split(";")[0].strip().lower()
    name = (filename or "").lower()
    if _is_pdf(data):
        return "pdf"
    if _is_zip(data):
        if mt.endswith("wordprocessingml.document") or name.endswith(".docx") or _zip_has(data, "word/document.xml"):
            return "docx"
        raise PolicyDocumentError(
            "the policy file is a ZIP archive but not a DOCX document",
            detail="expected word/document.xml inside; give the policy as HTML, text, PDF or DOCX",
        )
    if mt in ("application/pdf",) or name.endswith(".pdf"):
        raise PolicyDocumentError("the file is named or declared PDF but does not start with %PDF-")
    if mt in ("text/html", "application/xhtml+xml") or name.endswith((".html", ".htm", ".xhtml", ".mhtml")):
        return "html"
    if mt in ("text/markdown", "text/x-markdown") or name.endswith((".md", ".markdown", ".mdown")):
        return "markdown"
    if mt == "text/plain" or name.endswith((".txt", ".text")):
        return "text"
    # Sniff: the head of the file, in whichever of the common byte forms tags appear.
    head = data[:4096]
    if _HTML_SNIFF.search(head) or _HTML_SNIFF.search(head.replace(b"\x00", b"")):
        return "html"
    return "text"


_MHTML_TYPE = re.compile(rb"^content-type:\s*multipart/related", re.I | re.M)
_MHTML_NESTED = re.compile(rb"content-type:\s*multipart/", re.I)
#: Multipart sections an MHTML page may hold (a page with many frames has a few dozen).
MAX_MHTML_MULTIPARTS = 200


def _is_mhtml(data: bytes) -> bool:
    """A web page saved as one file ("Webpage, Single File", .mhtml/.mht): a MIME multipart/related message."""
    head = data[:8192]
    return b"mime-version:" in head.lower() and bool(_MHTML_TYPE.search(head))


def _mhtml_page(data: bytes) -> tuple[bytes, str | None, str]:
    """The saved page of an MHTML archive: (its bytes, declared charset, media type).

    The page is the part at the archive's ``Snapshot-Content-Location`` when there is one,
    else its first HTML part (frames and resources follow it), else its first text part.
    Quoted-printable and base64 bodies are decoded by the MIME parser.
    """
    # A saved page nests a frame or two; hostile input can nest thousands of multiparts, which the
    # (recursive) MIME parser would follow until Python's stack runs out.
    nested = len(_MHTML_NESTED.findall(data))
    if nested > MAX_MHTML_MULTIPARTS:
        raise PolicyDocumentError(
            f"the saved web page (MHTML) nests {nested} multipart sections, more than {MAX_MHTML_MULTIPARTS}"
        )
    try:
        # compat32 is the lenient parser: malformed headers and boundaries give defects, not exceptions.
        message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data)
    except (RecursionError, ValueError, LookupError) as exc:
        raise PolicyDocumentError("the saved web page (MHTML) is malformed", detail=str(exc)[:200]) from exc
    # compat32 hands back a Header object, not a str, for a header with undecodable bytes.
    snapshot = str(message.get("Snapshot-Content-Location") or "").strip()
    pages = [p for p in message.walk() if p.get_content_type() in ("text/html", "application/xhtml+xml")]
    texts = [p for p in message.walk() if p.get_content_type() == "text/plain" and not p.is_multipart()]
    chosen = next((p for p in pages if snapshot and str(p.get("Content-Location") or "").strip() == snapshot), None)
    chosen = chosen or (pages[0] if pages else None) or (texts[0] if texts else None)
    if chosen is None:
        raise PolicyDocumentError(
            "the saved web page (MHTML) holds no HTML or text page", detail="save the page again, or as HTML"
        )
    body = chosen.get_payload(decode=True)
    if not isinstance(body, bytes) or not body.strip():
        raise PolicyDocumentError("the saved web page (MHTML) has an empty page")
    return body, chosen.get_content_charset(), chosen.get_content_type()


def _zip_has(data: bytes, member: str) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return member in zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


# --------------------------------------------------------------------------- encodings

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_CHARSET_DECL = re.compile(rb"""(?:charset|encoding)\s*=\s*["']?\s*([A-Za-z0-9_\-:.]{2,40})""", re.I)

#: Aliases of declared charsets that Python spells differently or that should be widened.
_CHARSET_WIDEN = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "gb_2312-80": "gb18030",
    "big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "unicode": "utf-16",
}


def _declared_charset(data: bytes) -> str | None:
    m = _CHARSET_DECL.search(data[:8192])
    if not m:
        return None
    name = m.group(1).decode("ascii", "ignore").lower()
    name = _CHARSET_WIDEN.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _is_common_han(ch: str) -> bool:
    """A Han character in GB2312 (6,763 common simplified) or Big5 level 1 (5,401 common traditional)."""
    try:
        gb = ch.encode("gb2312")
        if len(gb) == 2 and gb[0] >= 0xB0:  # rows 16-87: the hanzi levels
            return True
    except UnicodeEncodeError:
        pass
    try:
        b5 = ch.encode("big5")
        return len(b5) == 2 and 0xA440 <= int.from_bytes(b5, "big") <= 0xC67E
    except UnicodeEncodeError:
        return False


_COMMON_PUNCT = set("，。、；：？！“”‘’（）《》【】—…·「」『』　,.;:?!'\"()[]-/%&@#*+=<>_|~\n\r\t ")


def _plausibility(text: str) -> float:
    """Score (higher is better) of how much a decoded sample reads like a Chinese or English document."""
    if not text:
        return 0.0
    sample = text[:20000]
    good = 0
    bad = 0
    for ch in sample:
        o = ord(ch)
        if o < 128:
            if ch.isprintable() or ch in "\n\r\t":
                good += 1
            else:
                bad += 2
        elif ch in _COMMON_PUNCT:
            good += 1
        elif ch == "\ufffd":
            bad += 4
        elif 0x4E00 <= o <= 0x9FFF:
            if _is_common_han(ch):
                good += 1
            else:
                bad += 1
        elif unicodedata.category(ch).startswith(("C", "Co")) or 0xE000 <= o <= 0xF8FF:
            bad += 3
        else:
            # Other letters and symbols: neither evidence for nor much against.
            bad += 0.5  # type: ignore[assignment]
    return (good - bad) / len(sample)


def _decode_candidate(data: bytes, encoding: str) -> tuple[str, float] | None:
    try:
        text = data.decode(encoding)
        return text, _plausibility(text)
    except UnicodeDecodeError:
        pass
    except LookupError:
        return None
    text = data.decode(encoding, errors="replace")
    return text, _plausibility(text)


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' when the NUL pattern says so (ASCII-heavy BOM-less UTF-16)."""
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even = sample[0::2]
    odd = sample[1::2]
    even_nul = even.count(0) / len(even)
    odd_nul = odd.count(0) / len(odd)
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    # Pure Chinese UTF-16 has few NULs: try both byte orders and keep the plausible one.
    if len(data) % 2 == 0 and b"\x00" not in data[:64] and not _ascii_mostly(sample):
        scores = []
        for enc in ("utf-16-le", "utf-16-be"):
            try:
                t = data[:8192].decode(enc)
            except UnicodeDecodeError:
                continue
            scores.append((_plausibility(t), enc))
        if scores:
            best = max(scores)
            if best[0] > 0.85:
                return best[1]
    return None


def _ascii_mostly(sample: bytes) -> bool:
    return sum(1 for b in sample if b < 128) / max(1, len(sample)) > 0.6


def decode_text(data: bytes, *, declared: str | None = None) -> tuple[str, str]:
    """Decode ``data`` to text and return ``(text, encoding)``.

    ``declared`` (from an HTTP header or caller) and any charset in the bytes
    are hints only: the candidate whose decoding reads best wins.
    Raises ``PolicyDocumentError`` when no encoding gives readable text.
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(enc), enc
            except UnicodeDecodeError as exc:
                raise PolicyDocumentError(
                    f"the document starts with a {enc} byte-order mark but is not valid {enc}",
                    detail=f"invalid bytes at offset {exc.start + len(bom)}",
                ) from exc
    utf16 = _utf16_without_bom(data)
    if utf16:
        try:
            return data.decode(utf16), utf16
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    hints = [h for h in (declared, _declared_charset(data)) if h]
    candidates: list[str] = []
    for name in [*hints, "gb18030", "big5hkscs", *_normalizer_guess(data)]:
        try:
            canon = codecs.lookup(_CHARSET_WIDEN.get(name.lower(), name)).name
        except LookupError:
            continue
        if canon not in candidates and canon not in ("utf-8", "ascii"):
            candidates.append(canon)
    best: tuple[float, str, str] | None = None
    hinted = {codecs.lookup(_CHARSET_WIDEN.get(h.lower(), h)).name for h in hints if _known(h)}
    for enc in candidates:
        result = _decode_candidate(data, enc)
        if result is None:
            continue
        text, score = result
        if enc in hinted:
            score += 0.02  # a declaration breaks near-ties, never overrides a clearly better reading
        if best is None or score > best[0]:
            best = (score, enc, text)
    if best is None or best[0] < 0.3:
        raise PolicyDocumentError(
            "the document is not readable text in any supported encoding",
            detail="tried UTF-8, UTF-16, GB18030 and Big5; is it a binary file?",
        )
    return best[2], best[1]


def _known(name: str) -> bool:
    try:
        codecs.lookup(_CHARSET_WIDEN.get(name.lower(), name))
        return True
    except LookupError:
        return False


def _normalizer_guess(data: bytes) -> list[str]:
    try:
        from charset_normalizer import from_bytes

        match = from_bytes(data[:65536]).best()
    except Exception:  # the guess is only a hint; a failing detector must not stop decoding
        return []
    return [match.encoding] if match is not None and match.encoding else []


def _check_binary(text: str) -> None:
    sample = text[:20000]
    if not sample:
        return
    controls = sum(1 for ch in sample if ch < " " and ch not in "\n\r\t\f\x0b")
    if controls / len(sample) > 0.05:
        raise PolicyDocumentError(
            "the document looks binary, not text",
            detail=f"{controls} control characters in the first {len(sample)}; give HTML, text, PDF or DOCX",
        )


# --------------------------------------------------------------------------- HTML

_DROP_TAGS = frozenset(
    # <nav> holds a site's menus ("海外 | 关于我们"), never policy wording; read as text, a menu item was
    # classified like a sentence (a "海外" link as a cross-border disclosure).
    {"script", "style", "noscript", "template", "svg", "math", "head", "iframe", "object", "embed", "canvas", "select",
     "nav"}
)  # fmt: skip
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "ul", "ol", "dl", "dt", "dd",
        "table", "tbody", "thead", "tfoot", "blockquote", "pre", "form", "fieldset", "address", "figure",
        "figcaption", "hr", "body", "html", "center", "caption",
    }
)  # fmt: skip
_HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
#: A bold-only block read as a heading: short, no sentence punctuation at its end or commas inside.
#: A colon makes it a field ("生效日期: 2025年9月17日"), not a title.
_BOLD_HEADING = re.compile(r"^[^，,。；;！!？?:：]{2,40}$")
#: Its level: 7, below every markup heading, so that the segmenter can tell it apart: a numbered
#: heading closes it (a bold caption is not the parent of the chapters after it). The numbering, when
#: the bold line has one, decides instead.
_BOLD_HEADING_LEVEL = 7


def html_to_text(html: str) -> tuple[str, str | None]:
    """Visible text of an HTML page, one block per line, and its <title>.

    Headings become ``HEADING_MARK`` + level + text lines, list items their own
    lines, table rows their cells joined by " | ". Scripts, styles and other
    invisible content are dropped. The walk is iterative, so nesting depth
    cannot exhaust the stack.
    """
    from selectolax.lexbor import LexborHTMLParser

    if _max_nesting(html) > MAX_HTML_DEPTH:
        # Tree building is quadratic in nesting depth; hostile nesting gets the linear tag stripper.
        return _strip_tags(html)
    try:
        parser = LexborHTMLParser(html)
    except Exception as exc:  # the parser is C code; any failure is a document problem for the user
        raise PolicyDocumentError("the HTML could not be parsed", detail=str(exc)[:200]) from exc
    title_node = parser.css_first("title")
    title = _clean_inline(title_node.text(deep=True)) if title_node is not None else None
    root = parser.root
    if root is None:
        return "", title
    out: list[str] = []
    line: list[str] = []
    total = 0

    # Characters of the current line written in bold and outside it: a short block that is all bold
    # ("<p><strong>我们可能收集的信息</strong></p>", Markdown "**…**") is how many policies mark headings.
    weight = {"bold": 0, "plain": 0}

    def flush() -> None:
        nonlocal total
        if line:
            text = _clean_inline("".join(line))
            if text:
                if weight["bold"] and not weight["plain"] and _BOLD_HEADING.match(text):
                    out.append(f"{HEADING_MARK}{_BOLD_HEADING_LEVEL}{text}")
                else:
                    out.append(text)
                total += len(text) + 1
            line.clear()
        weight["bold"] = weight["plain"] = 0

    def separate() -> None:
        # Inside a table cell, lines and blocks are parts of the cell: the row stays one line.
        if line and not "".join(line[-2:]).rstrip().endswith(("；", "|")):
            line.append("；")

    # Stack items: (node, closing marker). A closing marker flushes the block or closes a cell.
    stack: list[tuple[object, str | None]] = [(root, None)]
    visited = 0
    cell_depth = 0
    bold_depth = 0
    ol_counters: dict[int, int] = {}
    while stack:
        node, closing = stack.pop()
        if closing is not None:
            if closing == "bold":
                bold_depth -= 1
                continue
            if closing == "cell":
                cell_depth -= 1
                while line and line[-1] == "；":
                    line.pop()
                line.append(" | ")
            elif cell_depth > 0 and closing in ("block", "cell_block"):
                separate()
            elif closing.startswith("h"):
                text = _clean_inline("".join(line))
                line.clear()
                if text:
                    out.append(f"{HEADING_MARK}{_HEADING_TAGS[closing]}{text}")
                    total += len(text) + 3
            else:
                flush()
            if total > MAX_TEXT_CHARS:
                break
            continue
        visited += 1
        if visited > MAX_HTML_NODES:
            break
        tag = node.tag  # type: ignore[attr-defined]
        if tag == "-text":
            content = node.text_content or ""  # type: ignore[attr-defined]
            line.append(content)
            if content.strip():
                weight["bold" if bold_depth and not cell_depth else "plain"] += 1
            continue
        if tag in ("strong", "b"):
            bold_depth += 1
            stack.append((node, "bold"))
        if tag in ("-comment", "_comment", "!doctype") or tag in _DROP_TAGS:
            continue
        if tag == "br":
            if cell_depth > 0:
                separate()
            else:
                flush()
            continue
        if tag in ("td", "th"):
            cell_depth += 1
            stack.append((node, "cell"))
        elif cell_depth > 0 and (tag in _HEADING_TAGS or tag == "li" or tag in _BLOCK_TAGS) and tag != "table":
            separate()
            stack.append((node, "block"))
        elif tag in _HEADING_TAGS:
            flush()
            stack.append((node, tag))
        elif tag in ("li", "tr") or tag in _BLOCK_TAGS:
            if not (line and _LIST_NUMBER.match("".join(line).strip())):
                flush()  # an item's number stays in front of its first paragraph
            stack.append((node, "block"))
            if tag == "li":
                number = _list_number(node, ol_counters)
                if number:
                    line.append(number)
        children = []
        child = node.first_child  # type: ignore[attr-defined]
        while child is not None:
            children.append(child)
            child = child.next
        for c in reversed(children):
            stack.append((c, None))
    flush()
    rows = [re.sub(r"(\s*\|\s*)+$", "", ln) for ln in out]
    return "\n".join(r for r in rows if r.strip(" |")), title


_LIST_NUMBER = re.compile(r"^\d{1,6}[.)]$")


def _list_number(item: Any, counters: dict[int, int]) -> str | None:
    """ "3. " for the third item of an <ol> (from its start attribute on), None outside an ordered list.

    The page shows the number but it is not in the text; policies number their sections this way.
    """
    parent = item.parent
    if parent is None or parent.tag != "ol":
        return None
    key = parent.mem_id
    if key not in counters:
        start = (parent.attributes.get("start") or "1").strip()
        counters[key] = int(start) - 1 if start.isdigit() and len(start) <= 6 else 0
    counters[key] += 1
    marker = ")" if parent.attributes.get("data-marker") == ")" else "."
    return f"{counters[key]}{marker} "


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(/?)>")
_VOID_TAGS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
)


def _max_nesting(html: str) -> int:
    """Deepest element nesting the markup asks for (a linear scan of the tags, no tree)."""
    depth = 0
    deepest = 0
    for m in _TAG.finditer(html):
        closing, name, self_closing = m.group(1), m.group(2).lower(), m.group(3)
        if name in _VOID_TAGS or self_closing:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_HTML_DEPTH:
                    break
    return deepest


_INVISIBLE = re.compile(r"<(script|style|noscript|template|svg|head|nav)\b[^>]*>.*?</\1\s*>", re.I | re.S)


def _strip_tags(html: str) -> tuple[str, str | None]:
    """Linear fallback of ``html_to_text`` for pathological markup: same line structure, no tree."""
    import html as html_lib

    title_match = re.search(r"<title[^>]*>(.*?)</title\s*>", html, re.I | re.S)
    title = _clean_inline(html_lib.unescape(title_match.group(1))) if title_match else None
    text = _INVISIBLE.sub(" ", html)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"<h([1-6])\b[^>]*>", lambda m: f"\n{HEADING_MARK}{m.group(1)}", text, flags=re.I)
    text = re.sub(r"</?(?:p|div|br|li|tr|h[1-6]|table|section|article|ul|ol|dl|dt|dd)\b[^>]*>", "\n", text, flags=re.I)
    text = re.sub(r"</t[dh]\s*>", " | ", text, flags=re.I)
    text = re.sub(r"<[^>]*>", "", text)
    lines = [_clean_inline(html_lib.unescape(line)) for line in text.split("\n")]
    lines = [re.sub(r"(\s*\|\s*)+$", "", ln) for ln in lines]
    return "\n".join(ln for ln in lines if ln.strip(" |")), title


def _clean_inline(text: str) -> str:
    return re.sub(r"[ \t\r\n\f\v\u00a0\u3000\u200b]+", " ", text).strip()


# --------------------------------------------------------------------------- plain text

#: A plain-text heading: a short line without sentence punctuation or a field colon.
_PLAIN_HEADING = re.compile(r"^[^，,。；;！!？?:：]{2,30}$")
#: Body text after it: a line long enough to be a paragraph.
_PLAIN_BODY_MIN = 40


def _mark_plain_headings(text: str) -> str:
    """Mark the unnumbered headings of a plain-text policy: a short line standing alone after a blank
    line, with a paragraph right under it ("保存在手机上的资料" above its paragraph).

    Numbered headings need no mark (the segmenter reads their numbering); a text without blank lines
    gives no evidence of layout and is left as it is.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = list(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not _PLAIN_HEADING.match(stripped) or not any(ch.isalpha() for ch in stripped):
            continue
        blank_before = i == 0 or not lines[i - 1].strip()
        below = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if blank_before and len(below) >= _PLAIN_BODY_MIN:
            out[i] = f"{HEADING_MARK}2{stripped}"
    return "\n".join(out)


# --------------------------------------------------------------------------- Markdown

# Policies are often kept as Markdown: archived copies, documentation sites, app repositories. Read as
# plain text, their "#" headings, "**bold**" chapter titles, pipe tables and the HTML tables they embed
# all end up as noise inside sentences; rendered to HTML they get the HTML path's structure.
_FRONT_MATTER = re.compile(r"\A\ufeff?(?:---|\+\+\+)[ \t]*\n.*?\n(?:---|\+\+\+|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_MD_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.M)
_MD_TABLE_RULE = re.compile(r"^ {0,3}\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?\s*$", re.M)
_MD_BOLD_LINE = re.compile(r"^\s*(?:[-*+]\s+)?\*\*[^*\n]{2,80}\*\*\s*$", re.M)


_WHOLE_PAGE = re.compile(r"<\s*(?:!doctype|html|body|head)\b", re.I)


def looks_like_markdown(text: str) -> bool:
    """True for text whose structure is written in Markdown: headings, a pipe table or bold title lines.

    One marker is not enough ("# " or a bold line can occur in a plain text file); two of them are.
    """
    head = text[:200_000]
    headings = len(_MD_HEADING.findall(head))
    if headings >= 2 or _MD_TABLE_RULE.search(head):
        return True
    return headings + len(_MD_BOLD_LINE.findall(head)) >= 3 or (bool(_FRONT_MATTER.match(head)) and headings >= 1)


def _mostly_chinese(text: str) -> bool:
    sample = text[:20_000]
    han = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in sample if ch.isascii() and ch.isalpha())
    return han > latin


_BOLD_LINE_THEN_TEXT = re.compile(r"^([ \t]*(\*\*|__)[^*_\n]{1,80}\2[ \t]*\n)(?=[ \t]*\S)", re.M)


def markdown_to_html(text: str) -> str:
    """Markdown (CommonMark with pipe tables, embedded HTML allowed) rendered to HTML; front matter dropped.

    Front matter is the archiving or site tool's metadata (dates, URLs), not the policy's words: read as
    text, an archive date would pass for the policy's update date.
    """
    from markdown_it import MarkdownIt

    text = _FRONT_MATTER.sub("", text, count=1)
    # "**2.1 Personal data**" on a line of its own, the text right below it: a caption, not words that run
    # on into the next line (a soft break would join them in English Markdown).
    text = _BOLD_LINE_THEN_TEXT.sub(r"\1\n", text)
    # Indented text is a paragraph here, not code: archived policies keep their paragraph indents.
    # A line break inside a Chinese paragraph is the author's (a heading line above its text, one item a
    # line); English Markdown is hard-wrapped at a width, and its line breaks mean nothing.
    breaks = _mostly_chinese(text)
    renderer = (
        MarkdownIt("commonmark", {"html": True, "maxNesting": 40, "breaks": breaks}).enable("table").disable("code")
    )
    # A fenced block holds what the archiving tool recorded (metadata, its own notes), never policy wording.
    renderer.add_render_rule("fence", lambda *args, **kwargs: "")
    # Ordered lists keep their numbers through html_to_text, which writes the number each <li> shows;
    # "1)" lists are marked so that their items keep the ")" (sub-items, not "1." chapters).
    tokens = renderer.parse(text)
    for token in tokens:
        if token.type == "ordered_list_open" and token.markup == ")":
            token.attrSet("data-marker", ")")
    return str(renderer.renderer.render(tokens, renderer.options, {}))


# --------------------------------------------------------------------------- PDF, DOCX


def _pdf_to_text(data: bytes) -> str:
    # pdfminer logs a warning per damaged object of a malformed PDF; with no logging configured those
    # reach the user's terminal by the thousand. A PDF that cannot be read is one error, raised below.
    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    try:
        from pdfminer.high_level import extract_text

        return extract_text(io.BytesIO(data), maxpages=MAX_PDF_PAGES)
    except Exception as exc:  # pdfminer raises many types on corrupt input; all mean "unreadable PDF"
        raise PolicyDocumentError("the PDF could not be read", detail=f"{type(exc).__name__}: {exc}"[:300]) from exc


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$|^(\d)$", re.I)


def _read_member(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """A ZIP member inflated in bounded chunks: refused past ``limit`` bytes, whatever its header declares."""
    chunks: list[bytes] = []
    total = 0
    with zf.open(name) as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise PolicyDocumentError(
                    "the DOCX expands too much to be read safely",
                    detail=f"{name} inflates beyond {limit} bytes",
                )
            chunks.append(chunk)
    return b"".join(chunks)


def _docx_to_text(data: bytes) -> tuple[str, str | None]:
    """Paragraphs (headings marked) and table rows of a DOCX.

    The package is read here, not by python-docx: every part is inflated in bounded chunks (a
    member that lies about its size cannot balloon in memory) and parsed without entities.
    """
    from lxml import etree

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            declared = sum(i.file_size for i in infos)
            packed = sum(i.compress_size for i in infos) or 1
            if declared > MAX_DOCX_UNCOMPRESSED or declared / packed > MAX_DOCX_RATIO:
                raise PolicyDocumentError(
                    "the DOCX expands too much to be read safely",
                    detail=f"{declared} bytes uncompressed from {packed} compressed",
                )
            document_xml = _read_member(zf, "word/document.xml", MAX_DOCX_UNCOMPRESSED)
            core = None
            if "docProps/core.xml" in zf.namelist():
                core = _read_member(zf, "docProps/core.xml", 1 << 20)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
        root = etree.fromstring(document_xml, parser=parser)
        title = None
        if core:
            node = etree.fromstring(core, parser=parser).find("{http://purl.org/dc/elements/1.1/}title")
            title = (node.text or "").strip() or None if node is not None else None
    except PolicyDocumentError:
        raise
    except Exception as exc:  # zipfile/lxml raise many types on corrupt or hostile input
        raise PolicyDocumentError("the DOCX could not be read", detail=f"{type(exc).__name__}: {exc}"[:300]) from exc
    body = root.find(f"{_W}body")
    if body is None:
        raise PolicyDocumentError("the DOCX has no document body")
    lines: list[str] = []
    for block in body:
        if block.tag == f"{_W}p":
            text = _clean_inline("".join(t.text or "" for t in block.iter(f"{_W}t")))
            if not text:
                continue
            level = _docx_heading_level(block)
            lines.append(f"{HEADING_MARK}{level}{text}" if level else text)
        elif block.tag == f"{_W}tbl":
            for row in block.iter(f"{_W}tr"):
                cells: list[str] = []
                for cell in row.iter(f"{_W}tc"):
                    # A cell's paragraphs are its items ("设备标识符" / "IP地址"): kept apart, on the row's line.
                    parts = (
                        _clean_inline("".join(t.text or "" for t in p.iter(f"{_W}t"))) for p in cell.iter(f"{_W}p")
                    )
                    cells.append("；".join(part for part in parts if part))
                lines.append(" | ".join(cells))
    return "\n".join(lines), title


def _docx_heading_level(paragraph: object) -> int | None:
    """Heading level of a DOCX paragraph from its style id or outline level, None for body text."""
    ppr = paragraph.find(f"{_W}pPr")  # type: ignore[attr-defined]
    if ppr is None:
        return None
    style = ppr.find(f"{_W}pStyle")
    if style is not None:
        value = style.get(f"{_W}val") or ""
        if value.lower() == "title":
            return 1
        m = _HEADING_STYLE.match(value)
        if m:
            return int(m.group(1) or m.group(2))
    outline = ppr.find(f"{_W}outlineLvl")
    if outline is not None and (outline.get(f"{_W}val") or "").isdigit():
        return int(outline.get(f"{_W}val")) + 1
    return None


# --------------------------------------------------------------------------- entry point


def load_document(data: bytes | str, *, filename: str | None = None, media_type: str | None = None) -> LoadedDocument:
    """Read a policy document into text lines.

    Raises ``PolicyDocumentError`` for empty, oversized, binary or corrupt input.
    """
    if isinstance(data, str):
        if len(data) > MAX_INPUT_BYTES:
            raise PolicyDocumentError(
                f"the policy text has {len(data)} characters, more than the limit of {MAX_INPUT_BYTES}"
            )
        fmt: DocumentFormat = (
            "html"
            if (
                (media_type or "").startswith("text/html")
                or (filename or "").lower().endswith((".html", ".htm"))
                or _looks_like_html(data[:4096])
            )
            else "markdown"
            if (media_type or "").startswith("text/markdown") or (filename or "").lower().endswith((".md", ".markdown"))
            else "text"
        )
        return _finish(data, fmt, None, filename)
    if not data or not data.strip():
        raise PolicyDocumentError("the policy document is empty")
    if len(data) > MAX_INPUT_BYTES:
        raise PolicyDocumentError(
            f"the policy document has {len(data)} bytes, more than the limit of {MAX_INPUT_BYTES}",
            detail="a privacy policy is rarely above 1 MB; check that this is the right file",
        )
    if _is_mhtml(data):
        page, charset, page_type = _mhtml_page(data)
        text, encoding = decode_text(page, declared=charset)
        loaded = _finish(text, "html" if page_type != "text/plain" else "text", encoding, filename)
        return dataclasses.replace(loaded, format="mhtml")
    fmt = _detect_format(data, filename, media_type)
    if fmt == "pdf":
        return _finish(_pdf_to_text(data), "pdf", None, filename)
    if fmt == "docx":
        text, title = _docx_to_text(data)
        return _finish(text, "docx", None, filename, title=title)
    declared = None
    if media_type and "charset=" in media_type.lower():
        declared = media_type.lower().split("charset=", 1)[1].strip(" \"'")
    text, encoding = decode_text(data, declared=declared)
    return _finish(text, fmt, encoding, filename)


def _finish(
    text: str, fmt: DocumentFormat, encoding: str | None, filename: str | None, *, title: str | None = None
) -> LoadedDocument:
    _check_binary(text)
    if (fmt == "text" or (fmt == "html" and not _WHOLE_PAGE.search(text[:8192]))) and looks_like_markdown(text):
        # Markdown embedding an HTML table sniffs as HTML; a real page has its <html>/<body>/doctype.
        fmt = "markdown"
    if fmt == "markdown":
        text = markdown_to_html(text)
        text, md_title = html_to_text(text)
        # CommonMark leaves "**" as text where Chinese punctuation stands beside it ("**一、收集（…）**"):
        # emphasis markers, never policy wording.
        text = text.replace("**", "")
        title = title or md_title
    elif fmt == "html":
        text, title = html_to_text(text)
    elif fmt == "text":
        text = _mark_plain_headings(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    truncated = len(text) > MAX_TEXT_CHARS
    if truncated:
        text = text[:MAX_TEXT_CHARS]
    if not text.strip():
        raise PolicyDocumentError(
            "the policy document has no readable text",
            detail="a scanned (image-only) PDF or an empty page? give a text version" if fmt == "pdf" else None,
        )
    return LoadedDocument(text=text, format=fmt, encoding=encoding, title=title, truncated=truncated)
