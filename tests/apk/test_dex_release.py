"""DexFile.release_pages: the pages of what the reader is done with go back, and every later read stays exact.

The DEX is assembled by Debian's smali (real code items, string data and class data in the layout
tools write); reads from a DEX in a memory map whose pages were released are compared with reads
from the same bytes never released.
"""

from __future__ import annotations

import mmap
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import dex_smali

from appwarden.apk.dex import DexFile
from appwarden.apk.zip import CAN_RELEASE_PAGES, private_map

_CODE_ITEMS = 0x2001
needs_release = pytest.mark.skipif(not CAN_RELEASE_PAGES, reason="no private anonymous maps with madvise here")


@pytest.fixture(scope="module")
def dex_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if dex_smali.SMALI is None:
        pytest.skip("Debian's smali is not installed")
    # Enough code for its section to span many whole pages.
    return dex_smali.assemble(dex_smali.generated_sources(300, 10), tmp_path_factory.mktemp("release")).read_bytes()


def _mapped(data: bytes) -> mmap.mmap:
    out = private_map(len(data))
    out[:] = data
    return out


def _sections(data: bytes) -> list[tuple[int, int]]:
    """(offset, type) of each map_list item, by offset."""
    (map_off,) = struct.unpack_from("<I", data, 0x34)
    (count,) = struct.unpack_from("<I", data, map_off)
    return sorted(
        (off, kind) for kind, _, _, off in struct.iter_unpack("<HHII", data[map_off + 4 : map_off + 4 + 12 * count])
    )


def _code_pages(data: bytes) -> tuple[int, int]:
    """The whole pages inside the code-item section."""
    sections = _sections(data)
    at = next(i for i, (_, kind) in enumerate(sections) if kind == _CODE_ITEMS)
    start, end = sections[at][0], sections[at + 1][0]
    first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE
    return first, end // mmap.PAGESIZE * mmap.PAGESIZE


def _everything_read_after_the_scan(dex: DexFile) -> tuple[object, ...]:
    """What extract reads of a DEX once its code is scanned: names, strings, class headers, static values."""
    methods = np.arange(dex.method_refs_count)
    (names, name_at), (protos, proto_at) = dex.method_signature_parts(methods)
    return (
        [dex.string(i) for i in range(dex.strings_count())],
        [dex.method_ref(i).descriptor() for i in range(dex.method_refs_count)],
        [list(names)[i] + list(protos)[j] for i, j in zip(name_at.tolist(), proto_at.tolist(), strict=True)],
        list(dex.class_headers()),
        [dex.type_descriptor(t) for t in range(dex.type_count)],
        dex.method_table().tolist(),
    )


@needs_release
def test_code_pages_go_after_the_scan_and_later_reads_are_unchanged(dex_bytes: bytes, backend: str) -> None:
    plain = DexFile.parse(dex_bytes)
    expected_rows = plain.code_references().invokes.rows.tolist()
    expected = _everything_read_after_the_scan(plain)

    mapped = _mapped(dex_bytes)
    dex = DexFile.parse(mapped)
    dex.release_pages()  # before the scan: the code stays
    first, last = _code_pages(dex_bytes)
    assert last - first >= 4 * mmap.PAGESIZE, "the fixture should give the code several whole pages"
    assert mapped[first:last] == dex_bytes[first:last]

    assert dex.code_references().invokes.rows.tolist() == expected_rows
    released = dex.release_pages()
    assert released >= last - first
    # Released pages of a private anonymous map read back as zeros: proof they left the process.
    assert mapped[first:last] == bytes(last - first)
    assert dex_bytes[first:last] != bytes(last - first)
    assert _everything_read_after_the_scan(dex) == expected
    assert dex.release_pages() == 0  # each section goes once


@needs_release
def test_a_second_scan_after_the_release_is_refused(dex_bytes: bytes) -> None:
    dex = DexFile.parse(_mapped(dex_bytes))
    dex.selected_references({0x6E}, [])
    dex.release_pages()
    with pytest.raises(RuntimeError, match="scanned and its pages released"):
        dex.selected_references({0x6E}, [])


@needs_release
def test_a_dex_without_a_usable_map_list_releases_nothing(dex_bytes: bytes) -> None:
    # Found by fuzzing a real APK: an empty map (count 0) left no sections, and the release
    # failed on them with a ValueError instead of keeping every page.
    data = bytearray(dex_bytes)
    (map_off,) = struct.unpack_from("<I", data, 0x34)
    struct.pack_into("<I", data, map_off, 0)
    dex = DexFile.parse(_mapped(bytes(data)))
    assert ("map_list_bad", "map_list has no header entry") in dex.warnings
    assert dex.release_pages() == 0
    assert dex.code_references().invokes.rows.size
    assert dex.release_pages() == 0


def test_a_dex_in_bytes_releases_nothing(dex_bytes: bytes) -> None:
    dex = DexFile.parse(dex_bytes)
    dex.code_references()
    assert dex.release_pages() == 0
    assert dex.code_references().invokes.rows.size  # cached, still there


@needs_release
def test_pages_a_later_read_starts_in_are_kept(dex_bytes: bytes) -> None:
    # A crafted DEX whose string #0 lies inside the code section (structures overlap): releasing
    # the code would turn that string into zeros, so those pages stay.
    first, last = _code_pages(dex_bytes)
    (strings_off,) = struct.unpack_from("<I", dex_bytes, 0x3C)
    (string0,) = struct.unpack_from("<I", dex_bytes, strings_off)
    target = (first + last) // 2
    patched = bytearray(dex_bytes)
    length = patched[string0]
    assert length < 0x80
    patched[target : target + length + 2] = patched[string0 : string0 + length + 2]
    struct.pack_into("<I", patched, strings_off, target)
    crafted = bytes(patched)

    mapped = _mapped(crafted)
    dex = DexFile.parse(mapped)
    text = DexFile.parse(crafted).string(0)
    dex.code_references()
    dex.release_pages()
    assert mapped[first:last] == crafted[first:last]
    assert dex.string(0) == text
