"""Signer certificates of an APK: JAR signing (v1) and the APK Signing Block (v2, v3, v3.1).

This module *extracts* certificates; it does not verify any signature or digest
cryptographically. The certificates say who claims to have signed the app (the
identity an analyst compares with the operator); whether the signature holds is
Android's installer's business and ``apksigner verify``'s.

Malformed structures never raise out of :func:`read_signers`: the scheme that
cannot be read is skipped and an :class:`~appwarden.apk.zip.ArchiveWarning` is
added to ``archive.warnings``. The lower-level parsers raise
:class:`~appwarden.errors.MalformedStructureError` with the offset of the problem.
"""

from __future__ import annotations

import hashlib
import re
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

from appwarden.apk.zip import ApkArchive, ArchiveWarning
from appwarden.errors import AppwardenError, MalformedStructureError

__all__ = [
    "SCHEME_BLOCK_IDS",
    "SignerCertificate",
    "parse_signing_block",
    "read_signers",
    "signers_from_scheme_block",
    "signers_from_v1_block",
]

Scheme = Literal["v1", "v2", "v3", "v3.1"]

#: IDs of the signature-scheme pairs inside the APK Signing Block.
SCHEME_BLOCK_IDS: Final[dict[int, Scheme]] = {0x7109871A: "v2", 0xF05368C0: "v3", 0x1B93AD61: "v3.1"}
_SIGNING_BLOCK_MAGIC: Final = b"APK Sig Block 42"
# JAR signature block files sit directly in META-INF; case as Android accepts it.
_V1_BLOCK = re.compile(r"^META-INF/[^/]+\.(RSA|DSA|EC)$", re.IGNORECASE)


@dataclass(frozen=True)
class SignerCertificate:
    """The certificate of one signer under one scheme (the evidence stage converts it to ``Signer``)."""

    scheme: Scheme
    subject: str  # RFC 4514
    issuer: str  # RFC 4514
    serial_number: str  # lowercase hex, no prefix
    sha256: str  # of the DER certificate, lowercase hex
    not_before: str | None  # ISO 8601, UTC
    not_after: str | None


def read_signers(archive: ApkArchive) -> list[SignerCertificate]:
    """Signer certificates of every scheme present, in the order v1, v2, v3, v3.1.

    For v1 each ``META-INF/*.RSA|*.DSA|*.EC`` block contributes the certificate(s)
    its SignerInfos name; for v2/v3/v3.1 each signer contributes the first
    certificate of its signed data (the spec makes it the signing certificate).
    Signatures are not verified. A scheme that cannot be parsed adds a warning
    to ``archive.warnings`` and contributes nothing.
    """
    # cryptography warns (UserWarning) about certificates that break X.509 rules it tolerates,
    # such as a 6-character country name; those belong in the scan's warnings, not on stderr.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        signers = _read_signers(archive)
    for text in dict.fromkeys(str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)):
        _warn(archive, "certificate_nonconforming", f"a signer certificate breaks X.509 rules: {text}", "signatures")
    return signers


def _read_signers(archive: ApkArchive) -> list[SignerCertificate]:
    signers: list[SignerCertificate] = []
    for entry in archive.entries:
        if not _V1_BLOCK.match(entry.name):
            continue
        try:
            signers.extend(signers_from_v1_block(archive.read(entry.name), where=entry.name))
        except AppwardenError as exc:
            _warn(archive, "signature_v1_unreadable", f"JAR signature block unreadable: {exc}", entry.name)
    if archive.signing_block is None:
        return signers
    try:
        pairs = parse_signing_block(archive.signing_block)
    except MalformedStructureError as exc:
        _warn(archive, "signing_block_malformed", str(exc), "APK Signing Block")
        return signers
    for block_id, scheme in SCHEME_BLOCK_IDS.items():
        if block_id not in pairs:
            continue
        try:
            signers.extend(signers_from_scheme_block(pairs[block_id], scheme))
        except MalformedStructureError as exc:
            _warn(archive, f"signature_{scheme}_malformed", str(exc), f"APK Signing Block {scheme}")
    return signers


def _warn(archive: ApkArchive, code: str, message: str, where: str) -> None:
    warning = ArchiveWarning(code, message, where)
    # read_signers may be called more than once on one archive; keep warnings unique.
    if warning not in archive.warnings:
        archive.warnings.append(warning)


# ------------------------------------------------------------------- v1 (JAR)
def signers_from_v1_block(block: bytes, where: str = "META-INF") -> list[SignerCertificate]:
    """Certificates of the signers of one PKCS#7 SignedData block (``META-INF/*.RSA`` etc.).

    Only certificates named by a SignerInfo (issuer and serial number) are returned;
    if no SignerInfo can be matched, every certificate in the block is returned.
    """
    # cryptography is imported where certificates are read: a folder scan's parent process never
    # reads one, and its forked workers import it in parallel (measured 60 ms less wall time).
    from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
    from cryptography.utils import CryptographyDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)  # negative serials: see _certificate_record
        try:
            certificates = pkcs7.load_der_pkcs7_certificates(block)
        except ValueError as exc:
            raise MalformedStructureError(f"{where} is not a PKCS#7 signature block: {exc}") from None
        if not certificates:
            raise MalformedStructureError(f"{where} holds no certificate")
        try:
            wanted = list(_pkcs7_signer_ids(block))
        except MalformedStructureError:
            wanted = []
        # Issuer bytes are compared as re-encoded by cryptography, which can differ from
        # the original encoding; the serial number alone is the fallback.
        named = [c for c in certificates if (c.issuer.public_bytes(), c.serial_number) in wanted]
        if not named:
            serials = {serial for _, serial in wanted}
            named = [c for c in certificates if c.serial_number in serials]
        ders = [c.public_bytes(Encoding.DER) for c in (named or certificates)]
    return [_certificate_record(der, "v1") for der in ders]


def _pkcs7_signer_ids(block: bytes) -> Iterator[tuple[bytes, int]]:
    """(issuer Name DER, serial number) of each SignerInfo identified by IssuerAndSerialNumber."""
    content_info = _der_children(block, 0, len(block))
    if len(content_info) != 1:
        raise MalformedStructureError("PKCS#7: not a single ContentInfo")
    fields = _der_children(block, *_content(content_info[0]))
    if len(fields) < 2 or fields[1].tag != 0xA0:
        raise MalformedStructureError("PKCS#7: ContentInfo has no content")
    signed_data = _der_children(block, *_content(fields[1]))
    if len(signed_data) != 1:
        raise MalformedStructureError("PKCS#7: unexpected explicit content")
    signer_infos = _der_children(block, *_content(signed_data[0]))[-1]
    if signer_infos.tag != 0x31:
        raise MalformedStructureError("PKCS#7: SignedData does not end with signerInfos")
    for signer_info in _der_children(block, *_content(signer_infos)):
        info = _der_children(block, *_content(signer_info))
        if len(info) < 2 or info[1].tag != 0x30:
            continue  # subjectKeyIdentifier form: no issuer/serial to match
        issuer_serial = _der_children(block, *_content(info[1]))
        if len(issuer_serial) != 2 or issuer_serial[1].tag != 0x02:
            continue
        issuer, serial = issuer_serial
        yield block[issuer.header : issuer.end], int.from_bytes(block[serial.start : serial.end], "big", signed=True)


@dataclass(frozen=True)
class _Tlv:
    tag: int
    header: int  # offset of the tag byte
    start: int  # offset of the content
    end: int


def _content(tlv: _Tlv) -> tuple[int, int]:
    return tlv.start, tlv.end


def _der_children(data: bytes, start: int, end: int) -> list[_Tlv]:
    """The TLV children between ``start`` and ``end`` (definite lengths only, as DER requires)."""
    children: list[_Tlv] = []
    pos = start
    while pos < end:
        header = pos
        if pos + 2 > end:
            raise MalformedStructureError(f"DER: truncated header at offset {pos}")
        tag = data[pos]
        if tag & 0x1F == 0x1F:
            raise MalformedStructureError(f"DER: multi-byte tag at offset {pos} not expected here")
        length = data[pos + 1]
        pos += 2
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4 or pos + count > end:
                raise MalformedStructureError(f"DER: unsupported length encoding at offset {header}")
            length = int.from_bytes(data[pos : pos + count], "big")
            pos += count
        if pos + length > end:
            raise MalformedStructureError(f"DER: element at offset {header} runs past its parent")
        children.append(_Tlv(tag, header, pos, pos + length))
        pos += length
    return children


# ---------------------------------------------------- APK Signing Block (v2+)
def parse_signing_block(block: bytes) -> dict[int, bytes]:
    """The ID-value pairs of an APK Signing Block (the bytes ``ApkArchive.signing_block`` holds)."""
    if len(block) < 32 or block[-16:] != _SIGNING_BLOCK_MAGIC:
        raise MalformedStructureError("APK Signing Block: missing magic 'APK Sig Block 42'")
    size_head = struct.unpack_from("<Q", block, 0)[0]
    size_foot = struct.unpack_from("<Q", block, len(block) - 24)[0]
    if size_head != size_foot or size_head != len(block) - 8:
        raise MalformedStructureError(
            f"APK Signing Block: size fields disagree ({size_head}, {size_foot}, block is {len(block)} bytes)"
        )
    pairs: dict[int, bytes] = {}
    pos = 8
    end = len(block) - 24
    while pos < end:
        if pos + 12 > end:
            raise MalformedStructureError(f"APK Signing Block: truncated pair header at offset {pos}")
        length = struct.unpack_from("<Q", block, pos)[0]
        if length < 4 or pos + 8 + length > end:
            raise MalformedStructureError(f"APK Signing Block: pair at offset {pos} has impossible length {length}")
        block_id = struct.unpack_from("<I", block, pos + 8)[0]
        if block_id in pairs:
            raise MalformedStructureError(f"APK Signing Block: ID {block_id:#010x} appears twice")
        pairs[block_id] = block[pos + 12 : pos + 8 + length]
        pos += 8 + length
    return pairs


def signers_from_scheme_block(value: bytes, scheme: Scheme) -> list[SignerCertificate]:
    """The signing certificate of each signer in a v2, v3 or v3.1 scheme block.

    All three share the layout ``signers[ signer{ signed_data{ digests, certificates, ...}, ...} ]``
    with uint32 little-endian length prefixes; only the certificates are read.
    """
    reader = _Prefixed(value, scheme)
    signers = reader.sequence(reader.whole(), "signers")
    if not signers:
        raise MalformedStructureError(f"signature scheme {scheme}: no signers")
    out: list[SignerCertificate] = []
    for index, signer in enumerate(signers):
        (signed_data,) = reader.fields(signer, 1, f"signer #{index}")
        _digests, certificate_list = reader.fields(signed_data, 2, f"signer #{index} signed data")
        certificates = reader.items(certificate_list, f"signer #{index} certificates")
        if not certificates:
            raise MalformedStructureError(f"signature scheme {scheme}: signer #{index} has no certificate")
        start, end = certificates[0]
        out.append(_certificate_record(value[start:end], scheme))
    return out


class _Prefixed:
    """Reads uint32-length-prefixed fields of a scheme block; every read is bounds-checked."""

    def __init__(self, data: bytes, scheme: Scheme) -> None:
        self.data = data
        self.scheme = scheme

    def whole(self) -> tuple[int, int]:
        return 0, len(self.data)

    def fields(self, span: tuple[int, int], count: int, what: str) -> list[tuple[int, int]]:
        """The first ``count`` length-prefixed fields inside ``span``."""
        out = []
        pos, end = span
        for _ in range(count):
            if pos + 4 > end:
                raise MalformedStructureError(f"signature scheme {self.scheme}: {what} truncated at offset {pos}")
            length = struct.unpack_from("<I", self.data, pos)[0]
            if pos + 4 + length > end:
                raise MalformedStructureError(
                    f"signature scheme {self.scheme}: {what} field at offset {pos} claims {length} bytes, "
                    f"past its end at {end}"
                )
            out.append((pos + 4, pos + 4 + length))
            pos += 4 + length
        return out

    def sequence(self, span: tuple[int, int], what: str) -> list[tuple[int, int]]:
        """A length-prefixed sequence of length-prefixed items, found at the start of ``span``."""
        (outer,) = self.fields(span, 1, what)
        return self.items(outer, what)

    def items(self, span: tuple[int, int], what: str) -> list[tuple[int, int]]:
        """The length-prefixed items filling ``span`` exactly."""
        items = []
        pos, end = span
        while pos < end:
            (item,) = self.fields((pos, end), 1, what)
            items.append(item)
            pos = item[1]
        return items


# ------------------------------------------------------------------- helpers
def _certificate_record(der: bytes, scheme: Scheme) -> SignerCertificate:
    from cryptography import x509
    from cryptography.utils import CryptographyDeprecationWarning

    try:
        with warnings.catch_warnings():
            # Old Android certificates often have negative serial numbers; cryptography
            # deprecates them. Report the certificate anyway: it is what the app carries.
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            certificate = x509.load_der_x509_certificate(der)
            subject = certificate.subject.rfc4514_string()
            issuer = certificate.issuer.rfc4514_string()
            serial = certificate.serial_number
    except ValueError as exc:
        raise MalformedStructureError(f"signature scheme {scheme}: certificate is not valid X.509 DER: {exc}") from None
    not_before: str | None
    not_after: str | None
    try:
        not_before = certificate.not_valid_before_utc.isoformat()
        not_after = certificate.not_valid_after_utc.isoformat()
    except ValueError:
        not_before = not_after = None
    return SignerCertificate(
        scheme=scheme,
        subject=subject,
        issuer=issuer,
        serial_number=f"{serial:x}",
        sha256=hashlib.sha256(der).hexdigest(),
        not_before=not_before,
        not_after=not_after,
    )
