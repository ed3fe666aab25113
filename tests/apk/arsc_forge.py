"""Builders for resources.arsc bytes, to forge valid and hostile tables in tests."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from axml_forge import chunk, string_pool

NO_ENTRY = 0xFFFFFFFF


def config(language: str = "", country: str = "", *, density: int = 0, size: int = 64) -> bytes:
    """A ResTable_config of ``size`` bytes with only locale (and optionally density) set."""
    body = bytearray(size)
    struct.pack_into("<I", body, 0, size)
    body[8:10] = language.encode("ascii").ljust(2, b"\x00")[:2]
    body[10:12] = country.encode("ascii").ljust(2, b"\x00")[:2]
    struct.pack_into("<H", body, 14, density)
    return bytes(body)


def entry(key: int, data_type: int, data: int) -> bytes:
    return struct.pack("<HHI", 8, 0, key) + struct.pack("<HBBI", 8, 0, data_type, data)


def bag_entry(key: int) -> bytes:
    return struct.pack("<HHIII", 16, 1, key, 0, 0)


def type_chunk(
    type_id: int,
    entries: Sequence[bytes | None],
    *,
    cfg: bytes | None = None,
    entry_count: int | None = None,
    entries_start: int | None = None,
) -> bytes:
    cfg = cfg if cfg is not None else config()
    offsets: list[int] = []
    data = b""
    for item in entries:
        if item is None:
            offsets.append(NO_ENTRY)
        else:
            offsets.append(len(data))
            data += item
    header_size = 8 + 12 + len(cfg)
    index = b"".join(struct.pack("<I", o) for o in offsets)
    start = header_size + len(index) if entries_start is None else entries_start
    fields = struct.pack("<BBHII", type_id, 0, 0, len(entries) if entry_count is None else entry_count, start) + cfg
    return chunk(0x0201, fields, index + data)


def type_spec(type_id: int, count: int) -> bytes:
    return chunk(0x0202, struct.pack("<BBHI", type_id, 0, 0, count), b"\x00" * 4 * count)


def package(package_id: int, name: str, types: Sequence[str], keys: Sequence[str], chunks: Sequence[bytes]) -> bytes:
    type_pool = string_pool(types)
    key_pool = string_pool(keys)
    header_size = 288
    name_field = name.encode("utf-16-le").ljust(256, b"\x00")[:256]
    fields = (
        struct.pack("<I", package_id)
        + name_field
        + struct.pack("<IIIII", header_size, len(types), header_size + len(type_pool), len(keys), 0)
    )
    return chunk(0x0200, fields, type_pool + key_pool + b"".join(chunks))


def table(
    values: Sequence[str], packages: Sequence[bytes], *, extra: Sequence[bytes] = (), trailing: bytes = b""
) -> bytes:
    body = string_pool(values, utf8=True) + b"".join(extra) + b"".join(packages)
    return chunk(0x0002, struct.pack("<I", len(packages)), body) + trailing


def compact_entry(key: int, data_type: int, data: int) -> bytes:
    """An Android 14 compact entry: 16-bit key, type in the high flag byte, value inline."""
    return struct.pack("<HHI", key, (data_type << 8) | 0x0008, data)


def indexed_type_chunk(type_id: int, entries: dict[int, bytes], entry_count: int, *, sparse: bool) -> bytes:
    """A type chunk with a sparse index (FLAG_SPARSE) or 16-bit offsets (FLAG_OFFSET16)."""
    cfg = config()
    data = b""
    positions: dict[int, int] = {}
    for index, item in sorted(entries.items()):
        positions[index] = len(data)
        data += item
    if sparse:
        table_bytes = b"".join(struct.pack("<HH", i, positions[i] // 4) for i in sorted(positions))
        count, flags = len(positions), 0x01
    else:
        table_bytes = b"".join(
            struct.pack("<H", positions[i] // 4 if i in positions else 0xFFFF) for i in range(entry_count)
        )
        count, flags = entry_count, 0x02
    while len(table_bytes) % 4:
        table_bytes += b"\x00"
    header_size = 8 + 12 + len(cfg)
    fields = struct.pack("<BBHII", type_id, flags, 0, count, header_size + len(table_bytes)) + cfg
    return chunk(0x0201, fields, table_bytes + data)
