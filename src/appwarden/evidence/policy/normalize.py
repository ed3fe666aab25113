"""Text normalisation shared by training and analysis.

Policies come in Simplified and Traditional Chinese, with full-width letters and
digits and every kind of Unicode space. The classifier and the extractors see
one form: Simplified characters, half-width ASCII, single spaces. The same
function normalises the training sentences, so features match at run time.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Full-width ASCII block U+FF01..U+FF5E maps to U+0021..U+007E by a fixed offset.
_FULL_TO_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULL_TO_HALF[0x3000] = 0x20  # ideographic space
_SPACES = re.compile(r"[ \t\f\v\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000\ufeff]+")
_ZERO_WIDTH = re.compile(r"[\u200c\u200d\u2060\u00ad]")


@lru_cache(maxsize=1)
def _t2s() -> object:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese characters converted to Simplified (no-op for text without Han)."""
    if not any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return text
    converted: str = _t2s().convert(text)  # type: ignore[attr-defined]
    return converted


def to_halfwidth(text: str) -> str:
    """Full-width ASCII letters, digits and punctuation to their half-width forms."""
    return text.translate(_FULL_TO_HALF)


def normalize_line(text: str) -> str:
    """One line of policy text in canonical form: Simplified, half-width, single spaces, trimmed."""
    text = _ZERO_WIDTH.sub("", text)
    text = to_halfwidth(text)
    text = _SPACES.sub(" ", text)
    return text.strip()


def normalize_text(text: str) -> str:
    """A whole document in canonical form, keeping line structure."""
    text = to_simplified(text)
    return "\n".join(normalize_line(line) for line in text.split("\n"))


def normalize_sentence(text: str) -> str:
    """A sentence as the classifier sees it: canonical form, ASCII lower-cased."""
    return normalize_line(to_simplified(text)).lower()
