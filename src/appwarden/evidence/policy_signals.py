"""Privacy-policy signals in the APK: bundled documents, policy URLs, consent-dialog strings."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from appwarden.evidence.model import BundledPolicy, ConsentString, PrivacyPolicySignals

#: File names that suggest a privacy policy or user agreement (case-insensitive).
POLICY_NAME_PATTERN = re.compile(
    r"privacy|policy|yinsi|yszc|xieyi|agreement|protocol|terms|隐私|协议|政策|条款", re.IGNORECASE
)
#: Text in the first KiB that marks a document as a policy / agreement.
POLICY_TEXT_PATTERN = re.compile(
    r"隐私政策|隐私协议|隐私保护指引|个人信息保护|用户协议|用户服务协议|privacy policy|privacy notice", re.IGNORECASE
)
#: Words in a URL that mark it as a policy / agreement link.
POLICY_URL_PATTERN = re.compile(r"privacy|policy|yinsi|yszc|agreement|xieyi|protocol|terms|隐私|协议", re.IGNORECASE)
#: A consent string asks to agree to a policy: both parts must be present.
CONSENT_AGREE = re.compile(r"同意|agree|accept", re.IGNORECASE)
CONSENT_POLICY = re.compile(
    r"隐私政策|隐私协议|个人信息保护|隐私保护指引|用户协议|服务协议|privacy policy", re.IGNORECASE
)

#: What marks a bundled document as the privacy policy itself (not a user agreement or terms of service).
PRIVACY_MARK = re.compile(r"privacy|yinsi|yszc|隐私|个人信息保护|个人信息处理规则", re.IGNORECASE)
#: A policy for children or a localised copy is a second choice when the main policy is bundled too.
_SECONDARY_POLICY = re.compile(r"child|kid|minor|儿童|未成年|(^|[/_.-])en([/_.-]|$)|english", re.IGNORECASE)

POLICY_DIRS: tuple[str, ...] = ("assets/", "res/raw/")
_MEDIA_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".pdf": "application/pdf",
    ".json": "application/json",
    ".xml": "application/xml",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
#: How much of a bundled document the signals read: the head that names and titles it.
POLICY_HEAD_BYTES = 4096
#: Longest consent string kept verbatim, and how many are kept at most.
MAX_CONSENT_TEXT = 2000
MAX_CONSENT_STRINGS = 200


@dataclass(frozen=True)
class PackagedFile:
    """A file inside the APK with (up to) its first bytes; ``data`` is the full content when small.

    ``sha256`` is the whole file's, when the reader hashed it while streaming it; without it,
    ``data`` must be the full content.
    """

    path: str
    size: int
    data: bytes
    sha256: str | None = None


def media_type_of(path: str) -> str:
    lower = path.lower()
    for suffix, media in _MEDIA_TYPES.items():
        if lower.endswith(suffix):
            return media
    return "application/octet-stream"


def decode_text(data: bytes) -> str:
    """Best-effort text decoding (UTF-8, UTF-16 with BOM, GB18030), never raising."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace")


def _title(path: str, head: str) -> str | None:
    m = _TITLE.search(head)
    if m:
        title = re.sub(r"\s+", " ", m.group(1)).strip()
        return title[:200] or None
    if media_type_of(path) in ("text/plain", "text/markdown"):
        for line in head.splitlines():
            line = line.strip().lstrip("#").strip()
            if line:
                return line[:200]
    return None


def is_policy_document(path: str, head: bytes) -> bool:
    name = path.rsplit("/", 1)[-1]
    if POLICY_NAME_PATTERN.search(name):
        return True
    if media_type_of(path) == "application/octet-stream" and b"\x00" in head[:512]:
        return False
    return bool(POLICY_TEXT_PATTERN.search(decode_text(head[:1024])))


def policy_signals(
    files: Iterable[PackagedFile],
    *,
    urls: Iterable[str],
    strings: Mapping[str, str],
    code_strings: Iterable[tuple[str, str]] = (),
) -> PrivacyPolicySignals:
    """Collect bundled documents (assets/, res/raw/), policy URLs and consent strings.

    ``strings`` maps a source name ('res:string/x') to text; ``code_strings`` are (source, text)
    from DEX constants. Output lists are sorted for reproducible scans.
    """
    documents: list[BundledPolicy] = []
    for f in files:
        if not f.path.startswith(POLICY_DIRS) or not is_policy_document(f.path, f.data[:1024]):
            continue
        head = decode_text(f.data[:POLICY_HEAD_BYTES]) if media_type_of(f.path) != "application/pdf" else ""
        documents.append(
            BundledPolicy(
                path=f.path,
                size=f.size,
                sha256=f.sha256 or hashlib.sha256(f.data).hexdigest(),
                media_type=media_type_of(f.path),
                title=_title(f.path, head),
            )
        )
    policy_urls = sorted({u for u in urls if POLICY_URL_PATTERN.search(u)})
    consent: dict[tuple[str, str], ConsentString] = {}
    for source, text in [*strings.items(), *code_strings]:
        if len(text) < 8 or not CONSENT_AGREE.search(text) or not CONSENT_POLICY.search(text):
            continue
        if len(consent) >= MAX_CONSENT_STRINGS:
            break
        consent.setdefault((source, text), ConsentString(source=source, text=text[:MAX_CONSENT_TEXT]))
    return PrivacyPolicySignals(
        bundled_documents=sorted(documents, key=lambda d: d.path),
        urls=policy_urls,
        consent_strings=[consent[k] for k in sorted(consent)],
    )


def main_privacy_policy(documents: Iterable[BundledPolicy]) -> BundledPolicy | None:
    """The bundled document to read as the app's privacy policy, or None.

    Only a document whose name or title marks it as the privacy policy counts: a user
    agreement or terms of service is bundled as often and is not one. Among several,
    the general (not children's) Chinese policy comes first, then the larger document,
    then the path, so the choice is reproducible.
    """
    candidates = [
        d for d in documents if PRIVACY_MARK.search(d.path.rsplit("/", 1)[-1]) or PRIVACY_MARK.search(d.title or "")
    ]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda d: (
            bool(_SECONDARY_POLICY.search(d.path) or _SECONDARY_POLICY.search(d.title or "")),
            -d.size,
            d.path,
        ),
    )
