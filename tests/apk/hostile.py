"""Generators of hostile and malformed APK containers, built in code (no binary fixtures).

Reusable by any test: ``tests/`` is on pytest's ``pythonpath``, so ``from apk import
hostile`` works anywhere under tests/. Every generator returns the bytes of one
archive; :class:`ZipBuilder` lets a test lie in any header field.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field

STORED = 0
DEFLATED = 8

MANIFEST = "AndroidManifest.xml"
#: Stand-in manifest bytes: the container layer does not parse them.
MANIFEST_BYTES = b"\x03\x00\x08\x00" + b"manifest-placeholder" * 8


def deflate(data: bytes, level: int = 9) -> bytes:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@dataclass
class Member:
    """One entry to write, with optional lies in its headers."""

    name: str
    data: bytes
    method: int = DEFLATED
    flags: int = 0
    # Overrides: None means "the true value".
    payload: bytes | None = None  # bytes written as the entry's data
    crc32: int | None = None
    compressed_size: int | None = None
    uncompressed_size: int | None = None
    local_name: str | None = None
    local_method: int | None = None
    local_offset: int | None = None  # central directory's pointer to the local header
    raw_name: bytes | None = None  # name bytes in both headers (for NUL / non-UTF-8 names)
    zip64: bool = False  # write 0xFFFFFFFF and a ZIP64 extra field in the central directory
    write_local: bool = True  # False: only a central entry (pointing wherever local_offset says)


@dataclass
class ZipBuilder:
    """A minimal ZIP writer that writes exactly what it is told, including lies."""

    members: list[Member] = field(default_factory=list)
    prefix: bytes = b""
    comment: bytes = b""
    trailer: bytes = b""
    declared_entries: int | None = None
    zip64_eocd: bool = False
    signing_block: bytes | None = None

    def add(self, name: str, data: bytes, **overrides: object) -> Member:
        member = Member(name, data, **overrides)  # type: ignore[arg-type]
        self.members.append(member)
        return member

    def build_local_area(self) -> bytes:
        """The prefix and the local records only (to compute offsets for crafted entries)."""
        data = self.build()
        return data[: data.index(b"PK\x01\x02")] if self.members else data

    def build(self) -> bytes:
        out = bytearray(self.prefix)
        central = bytearray()
        for m in self.members:
            payload = m.payload
            if payload is None:
                payload = deflate(m.data) if m.method == DEFLATED else m.data
            crc = zlib.crc32(m.data) if m.crc32 is None else m.crc32
            csize = len(payload) if m.compressed_size is None else m.compressed_size
            usize = len(m.data) if m.uncompressed_size is None else m.uncompressed_size
            name = m.raw_name if m.raw_name is not None else m.name.encode()
            local_name = m.local_name.encode() if m.local_name is not None else name
            local_method = m.method if m.local_method is None else m.local_method
            offset = len(out)
            if m.write_local:
                out += struct.pack(
                    "<4sHHHHHIIIHH",
                    b"PK\x03\x04",
                    20,
                    m.flags,
                    local_method,
                    0,
                    0x21,
                    crc,
                    csize,
                    usize,
                    len(local_name),
                    0,
                )
                out += local_name + payload
            central_offset = offset if m.local_offset is None else m.local_offset
            extra = b""
            c_csize, c_usize, c_offset = csize, usize, central_offset
            if m.zip64:
                extra = struct.pack("<HHQQQ", 0x0001, 24, usize, csize, central_offset)
                c_csize = c_usize = c_offset = 0xFFFFFFFF
            central += struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                0x031E,
                20,
                m.flags,
                m.method,
                0,
                0x21,
                crc,
                c_csize,
                c_usize,
                len(name),
                len(extra),
                0,
                0,
                0,
                0,
                c_offset,
            )
            central += name + extra
        if self.signing_block is not None:
            out += self.signing_block
        cd_offset = len(out)
        out += central
        count = len(self.members) if self.declared_entries is None else self.declared_entries
        if self.zip64_eocd:
            zip64_offset = len(out)
            out += struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(central), cd_offset)
            out += struct.pack("<4sIQI", b"PK\x06\x07", 0, zip64_offset, 1)
            out += struct.pack(
                "<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, len(self.comment)
            )
        else:
            out += struct.pack(
                "<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(central), cd_offset, len(self.comment)
            )
        out += self.comment + self.trailer
        return bytes(out)


def minimal_apk(**builder_fields: object) -> ZipBuilder:
    """A builder holding a manifest and a small classes.dex, the shape of a tiny APK."""
    builder = ZipBuilder(**builder_fields)  # type: ignore[arg-type]
    builder.add(MANIFEST, MANIFEST_BYTES)
    builder.add("classes.dex", b"dex\n035\x00" + bytes(200))
    builder.add("res/raw/blob.bin", b"stored-bytes" * 10, method=STORED)
    return builder


def signing_block(pairs: list[tuple[int, bytes]]) -> bytes:
    """An APK Signing Block holding the given (id, value) pairs."""
    body = b"".join(struct.pack("<QI", len(value) + 4, block_id) + value for block_id, value in pairs)
    size = len(body) + 8 + 16
    return struct.pack("<Q", size) + body + struct.pack("<Q", size) + b"APK Sig Block 42"


# --------------------------------------------------------------------- hostile cases
def empty() -> bytes:
    return b""


def random_bytes(size: int = 100_000, seed: int = 7) -> bytes:
    import random

    return random.Random(seed).randbytes(size)


def truncated() -> bytes:
    """A valid archive cut in the middle: the end record is gone."""
    data = minimal_apk().build()
    return data[: len(data) // 2]


def truncated_tail() -> bytes:
    """The end record survives but the central directory it points to is cut off."""
    builder = minimal_apk()
    data = builder.build()
    eocd = data.rindex(b"PK\x05\x06")
    cd_offset = struct.unpack_from("<I", data, eocd + 16)[0]
    return data[: cd_offset + 10] + data[eocd:]


def long_comment() -> bytes:
    """A valid archive with the maximal 65535-byte comment that itself contains a fake end signature."""
    return minimal_apk(comment=b"PK\x05\x06" + b"c" * (0xFFFF - 4)).build()


def trailing_garbage() -> bytes:
    return minimal_apk(trailer=b"garbage after the end record").build()


def zip64() -> bytes:
    builder = ZipBuilder(zip64_eocd=True)
    builder.add(MANIFEST, MANIFEST_BYTES, zip64=True)
    builder.add("assets/data.bin", b"x" * 5000, zip64=True)
    return builder.build()


def deflate_bomb(uncompressed: int = 64 * 2**20, declared: int | None = 1000) -> bytes:
    """An entry of zeros that inflates to ``uncompressed`` bytes but declares ``declared``."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    chunk = bytes(2**20)
    payload = b"".join(compressor.compress(chunk) for _ in range(uncompressed // 2**20)) + compressor.flush()
    builder = minimal_apk()
    builder.add(
        "assets/bomb.bin",
        b"",
        payload=payload,
        crc32=0,
        uncompressed_size=uncompressed if declared is None else declared,
    )
    return builder.build()


def local_record(name: str, data: bytes) -> bytes:
    """The bytes of one stored entry's local header and data."""
    header = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, STORED, 0, 0x21, zlib.crc32(data), len(data), len(data), len(name), 0
    )
    return header + name.encode() + data


def overlapping_entries() -> bytes:
    """Entry 'a' (stored) contains entry 'b' whole: two central entries whose data ranges overlap.

    This is the kernel of the zip-bomb-by-overlap (Fifield, 2019): the same bytes are
    inflated once per entry that covers them.
    """
    inner = local_record("assets/b.bin", b"B" * 3000)
    builder = ZipBuilder()
    builder.add(MANIFEST, MANIFEST_BYTES)
    a = builder.add("assets/a.bin", inner, method=STORED)
    before_a = len(ZipBuilder(members=list(builder.members[:1])).build_local_area())
    b_offset = before_a + 30 + len(a.name)
    builder.add("assets/b.bin", b"B" * 3000, method=STORED, local_offset=b_offset, write_local=False)
    return builder.build()


def shared_local_header() -> bytes:
    """Two central entries with the same local header (names differ only in the central directory)."""
    builder = ZipBuilder()
    builder.add(MANIFEST, MANIFEST_BYTES)
    builder.add("assets/x.bin", b"X" * 1000)
    x_offset = len(ZipBuilder(members=list(builder.members[:1])).build_local_area())
    builder.add("assets/x.bin ", b"X" * 1000, local_offset=x_offset, write_local=False)
    return builder.build()


def traversal(name: str) -> bytes:
    builder = minimal_apk()
    builder.add(name, b"evil")
    return builder.build()


def nul_in_name() -> bytes:
    builder = minimal_apk()
    builder.add("classes.dex\x00.png", b"x", raw_name=b"classes.dex\x00.png")
    return builder.build()


def duplicate_names() -> bytes:
    builder = minimal_apk()
    builder.add("classes.dex", b"dex\n035\x00evil" + bytes(100))
    return builder.build()


def local_name_mismatch() -> bytes:
    builder = ZipBuilder()
    builder.add(MANIFEST, MANIFEST_BYTES)
    builder.add("classes.dex", b"dex\n035\x00" + bytes(100), local_name="classes.dey")
    return builder.build()


def local_method_mismatch() -> bytes:
    builder = ZipBuilder()
    builder.add(MANIFEST, MANIFEST_BYTES)
    builder.add("classes.dex", b"dex\n035\x00" + bytes(100), local_method=STORED)
    return builder.build()


def data_offset_past_end() -> bytes:
    """A central entry whose local header offset points beyond the end of the file."""
    builder = minimal_apk()
    builder.add("assets/far.bin", b"far", local_offset=10 * 2**20)
    return builder.build()


def data_past_end() -> bytes:
    """A local header inside the file whose declared compressed data runs past its end."""
    builder = ZipBuilder()
    builder.add(MANIFEST, MANIFEST_BYTES)
    builder.add("assets/long.bin", b"short", method=STORED, compressed_size=2**20, uncompressed_size=2**20)
    return builder.build()


def unknown_method(equal_sizes: bool = True) -> bytes:
    """An entry with compression method 0x4c (nonsense) over stored bytes, as seen in 2023 malware."""
    builder = minimal_apk()
    data = b"payload read as stored by Android 9+" * 3
    builder.add(
        "assets/odd.bin",
        data,
        method=0x4C,
        payload=data,
        uncompressed_size=None if equal_sizes else len(data) * 2,
    )
    return builder.build()


def fake_encrypted() -> bytes:
    builder = ZipBuilder()
    builder.add(MANIFEST, MANIFEST_BYTES, flags=0x0001)
    builder.add("classes.dex", b"dex\n035\x00" + bytes(100), flags=0x0001)
    return builder.build()


def crc_mismatch() -> bytes:
    builder = minimal_apk()
    builder.add("assets/bad-crc.txt", b"hello world" * 10, crc32=0x12345678)
    return builder.build()


def corrupt_deflate() -> bytes:
    builder = minimal_apk()
    data = b"hello world" * 100
    payload = bytearray(deflate(data))
    payload[3:13] = b"\xff" * 10
    builder.add("assets/corrupt.bin", data, payload=bytes(payload))
    return builder.build()


def many_entries(count: int) -> bytes:
    builder = ZipBuilder()
    for i in range(count):
        builder.add(f"e{i}", b"", method=STORED)
    return builder.build()


def declared_total(size_each: int, count: int) -> bytes:
    """Entries whose declared sizes add up to ``size_each * count`` (the data itself is tiny)."""
    builder = ZipBuilder()
    for i in range(count):
        builder.add(f"assets/{i}.bin", b"", method=STORED, payload=b"", uncompressed_size=size_each)
    return builder.build()


def long_name(length: int) -> bytes:
    builder = minimal_apk()
    builder.add("a" * length, b"x")
    return builder.build()


def janus() -> bytes:
    """A DEX file prepended to an APK (CVE-2017-13156): the central directory offsets still work for ZIP readers."""
    dex = b"dex\n035\x00" + bytes(0x70 - 8)
    builder = minimal_apk(prefix=dex)
    return builder.build()


def stub_prefix() -> bytes:
    """Bytes before the first entry that are not a DEX (e.g. a self-extractor stub)."""
    return minimal_apk(prefix=b"#!/bin/sh\necho stub\n").build()


def with_signing_block(pairs: list[tuple[int, bytes]]) -> bytes:
    return minimal_apk(signing_block=signing_block(pairs)).build()


def random_truncations(seed: int = 1, count: int = 50) -> list[bytes]:
    """A valid archive cut at ``count`` pseudo-random lengths."""
    import random

    data = minimal_apk(comment=b"c").build()
    rng = random.Random(seed)
    return [data[: rng.randrange(len(data))] for _ in range(count)]


def bit_flips(seed: int = 2, count: int = 200) -> list[bytes]:
    """A valid archive with one random byte changed, ``count`` times."""
    import random

    data = bytearray(minimal_apk().build())
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        copy = bytearray(data)
        copy[rng.randrange(len(copy))] = rng.randrange(256)
        out.append(bytes(copy))
    return out


def write(tmp_dir: str | os.PathLike[str], name: str, data: bytes) -> str:
    path = os.path.join(tmp_dir, name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path


# --------------------------------------------------------------------- signing blocks
def _prefixed(*parts: bytes) -> bytes:
    return b"".join(struct.pack("<I", len(part)) + part for part in parts)


def scheme_block(signer_certificates: list[list[bytes]], v3: bool = False) -> bytes:
    """A v2 (or v3/v3.1 when ``v3``) scheme value: one signer per list of DER certificates.

    Digests, signatures and public keys are placeholders: the reader must not verify them.
    """
    signers = []
    for certificates in signer_certificates:
        digests = _prefixed(_prefixed(struct.pack("<I", 0x0103) + _prefixed(b"\x00" * 32)))
        certs = _prefixed(b"".join(_prefixed(der) for der in certificates))
        sdk = struct.pack("<II", 28, 0x7FFFFFFF) if v3 else b""
        signed_data = digests + certs + sdk + _prefixed(b"")
        signatures = _prefixed(_prefixed(struct.pack("<I", 0x0103) + _prefixed(b"\x01" * 64)))
        signer = _prefixed(signed_data) + sdk + signatures + _prefixed(b"public-key-placeholder")
        signers.append(signer)
    return _prefixed(b"".join(_prefixed(signer) for signer in signers))


def write_large_stored(path: str | os.PathLike[str], size: int, name: str = "assets/big.bin") -> None:
    """Write an archive holding one stored entry of ``size`` zero bytes, sparsely, without building it in memory."""
    crc = 0
    zeros = bytes(2**20)
    for start in range(0, size, len(zeros)):
        crc = zlib.crc32(zeros[: min(len(zeros), size - start)], crc)
    encoded = name.encode()
    with open(path, "wb") as handle:
        handle.write(
            struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, STORED, 0, 0x21, crc, size, size, len(encoded), 0)
        )
        handle.write(encoded)
        handle.seek(size, os.SEEK_CUR)  # a hole: zeros on read, no disk or memory used
        cd_offset = handle.tell()
        central = struct.pack(
            "<4sHHHHHHIIIHHHHHII",
            b"PK\x01\x02",
            0x031E,
            20,
            0,
            STORED,
            0,
            0x21,
            crc,
            size,
            size,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            0,
        )
        handle.write(central + encoded)
        handle.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central) + len(encoded), cd_offset, 0))
