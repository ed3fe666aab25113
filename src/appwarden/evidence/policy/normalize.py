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


@lru_cache(maxsize=1)
def _changed_by_t2s() -> frozenset[str]:
    """Every character that some t2s dictionary entry changes.

    OpenCC only rewrites text where an entry's key matches, and an entry that rewrites
    anything changes at least one character of its key; so text containing none of
    these characters converts to itself, and the (slow, pure-Python) converter can be
    skipped. Entries whose two sides differ in length count all their key's characters.
    """
    from importlib import resources

    changed: set[str] = set()
    folder = resources.files("opencc").joinpath("dictionary")
    for name in ("TSPhrases.txt", "TSCharacters.txt"):
        for line in folder.joinpath(name).read_text(encoding="utf-8").splitlines():
            key, _, values = line.partition("\t")
            value = values.split(" ")[0] if values else key
            if len(key) != len(value):
                changed.update(key)
            else:
                changed.update(k for k, v in zip(key, value, strict=True) if k != v)
    return frozenset(changed)


def to_simplified(text: str) -> str:
    """Traditional Chinese characters converted to Simplified (no-op for text that has none)."""
    if _changed_by_t2s().isdisjoint(text):
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


@lru_cache(maxsize=32768)
def normalize_sentence(text: str) -> str:
    """A sentence as the classifier sees it: canonical form, ASCII lower-cased."""
    return normalize_line(to_simplified(text)).lower()
