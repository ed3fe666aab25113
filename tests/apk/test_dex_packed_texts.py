"""Packed names and prototypes (DexFile.string_pack / proto_pack) equal the str batches they replace."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

import dex_builder

from appwarden.apk.dex import DexFile, PackedTexts, expand_texts, join_texts
from appwarden.errors import MalformedStructureError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_packed_strings_equal_the_batch_with_non_ascii_and_surrogates(backend: str) -> None:
    b = dex_builder.DexBuilder()
    texts = ["plain", "", "caf\u00e9", "\U0001f600 smile", "a\0b", "https://x.example/y", "名字", "tail"]
    ids = [b.string(t) for t in texts]
    b.add_class("Lapp/Main;")
    data = b.build()
    packed, batch = DexFile.parse(data), DexFile.parse(data)
    order = np.array(sorted(ids), dtype=np.uint32)
    texts_packed = packed.string_pack(order)
    assert list(texts_packed) == batch.string_batch(order)
    assert texts_packed.take(np.array([3, 0, 3])) == [texts_packed[3], texts_packed[0], texts_packed[3]]
    assert packed.warnings == batch.warnings
    with pytest.raises(MalformedStructureError):
        packed.string_pack(np.array([ids[0], 10**6], dtype=np.uint32))


def test_irregular_string_data_takes_the_warning_path(backend: str) -> None:
    b = dex_builder.DexBuilder()
    first, idx, last = b.string("aaa"), b.string("hello"), b.string("zzz")
    b.add_class("Lapp/Main;")
    data = bytearray(b.build())
    at = data.find(b"\x05hello\x00")
    data[at] = 4  # declared length no longer matches the data: string() warns
    packed, batch = DexFile.parse(bytes(data)), DexFile.parse(bytes(data))
    order = np.array(sorted([first, idx, last]), dtype=np.uint32)
    assert list(packed.string_pack(order)) == batch.string_batch(order)
    assert packed.warnings == batch.warnings
    assert any(code == "string_length_mismatch" for code, _ in packed.warnings)


def test_packed_protos_equal_the_batch_on_a_real_dex(backend: str) -> None:
    with zipfile.ZipFile(EXAMPLES / "sdkdemo.apk") as apk:
        data = apk.read("classes.dex")
    packed, batch = DexFile.parse(data), DexFile.parse(data)
    protos = np.arange(len(packed._proto_ids), dtype=np.uint32)
    assert list(packed.proto_pack(protos)) == batch.proto_batch(protos)
    names = np.unique(packed._method_name).astype(np.uint32)
    assert list(packed.string_pack(names)) == batch.string_batch(names)
    assert packed.warnings == batch.warnings


@given(st.lists(st.text(), max_size=30), st.data())
def test_joins_and_expansions_of_packed_texts_equal_those_of_lists(texts: list[str], data: st.DataObject) -> None:
    packed = PackedTexts.of(texts)
    assert list(packed) == texts and len(packed) == len(texts)
    if not texts:
        return
    at = np.array(data.draw(st.lists(st.integers(0, len(texts) - 1), max_size=40)), dtype=np.uint32)
    assert expand_texts(packed, at) == expand_texts(texts, at)
    assert join_texts(packed, texts, at, at[::-1], "->") == join_texts(texts, texts, at, at[::-1], "->")


def test_packed_texts_refuse_inconsistent_offsets() -> None:
    from array import array

    with pytest.raises(ValueError):
        PackedTexts(b"abc", array("I", [0, 2]))
    with pytest.raises(IndexError):
        PackedTexts.of(["a"])[1]


def test_compressed_texts_read_back_exactly_and_stay_inflated() -> None:
    from appwarden.apk import dex as dexmod

    texts = [f"Lcom/example/pkg{i % 7}/Name{i};\u00e9\ud800" for i in range(600)]  # lone surrogate: MUTF-8 allows it
    packed = PackedTexts.of(texts)
    raw = packed._texts
    assert len(raw) >= dexmod._COMPRESS_MIN_BYTES
    packed.compress()
    assert packed._compressed is not None and packed._texts == b""
    assert len(packed._compressed) < len(raw) / 3
    assert packed[5] == texts[5] and packed[-1] == texts[-1]  # the first read inflates
    assert packed._compressed is None and packed._texts == raw
    packed.compress()
    assert packed.is_text(42, texts[42]) and not packed.is_text(42, texts[43])
    packed.compress()
    assert packed.take([3, 1, 3]) == [texts[3], texts[1], texts[3]]
    assert len(packed) == 600 and list(packed) == texts
    with pytest.raises(IndexError):
        packed[600]


def test_texts_deflated_in_blocks_read_back_exactly_one_block_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from appwarden.apk import dex as dexmod

    # A cache of two blocks: reads across the table evict and inflate blocks again.
    monkeypatch.setattr(dexmod, "_BLOCK_CACHE", dexmod._BlockCache(2 * 3000))
    texts = [f"Lcom/example/pkg{i % 7}/Name{i};\u00e9\ud800" for i in range(1000)]
    tables = [PackedTexts.of(texts), PackedTexts.of(list(reversed(texts)))]
    with dexmod.deflated_in_blocks():
        for table in tables:
            table.compress()
    first, second = tables
    assert first._blocks is not None and len(first._blocks) == -(-1000 // dexmod._BLOCK_TEXTS)
    assert first._texts == b"" and first._compressed is not None
    for at in [0, 999, 128, 127, 500, 3, -1, -1000]:
        assert first[at] == texts[at] and second[at] == texts[::-1][at]
    assert first.is_text(700, texts[700]) and not first.is_text(700, texts[701])
    assert first.take([5, 900, 5]) == [texts[5], texts[900], texts[5]]
    assert first._blocks is not None, "reads of a few texts leave the table in blocks"
    assert dexmod._BLOCK_CACHE.held <= 2 * 3000
    for at in (1000, -1001):
        with pytest.raises(IndexError):
            first[at]
    # A read of many texts inflates the whole table, for good.
    assert first.take(np.arange(1000)) == texts
    assert first._blocks is None and first._compressed is None
    assert list(second) == texts[::-1]
    # Outside the block, tables deflate whole as before.
    third = PackedTexts.of(texts)
    third.compress()
    assert third._blocks is None and third._compressed and third[10] == texts[10]


def test_small_texts_are_not_compressed() -> None:
    packed = PackedTexts.of(["a", "bb"])
    packed.compress()
    assert packed._compressed is None and packed[1] == "bb"


def test_small_and_large_joins_agree() -> None:
    from appwarden.apk import dex as dexmod

    left = PackedTexts.of([f"n{i}" for i in range(40)])
    right = [f"(I{i})V" for i in range(40)]
    at = np.arange(40)[::-1].copy()
    whole = dexmod.join_texts(left, right, at, at, "")
    assert whole == [f"n{i}(I{i})V" for i in range(39, -1, -1)]
    assert dexmod.join_texts(left, right, at[:5], at[:5], "") == whole[:5]  # the item-by-item path


def test_deflated_arrays_give_back_the_same_arrays() -> None:
    from array import array

    from appwarden.apk.dex import DeflatedArrays

    callers, opcodes = array("H", [i // 3 for i in range(3000)]), array("B", [0x6E, 0x71] * 1500)
    kept = DeflatedArrays((callers, opcodes))
    kept.compress()
    assert kept._arrays is None and sum(len(data) for _, data in kept._deflated) < (6000 + 3000) / 3
    again = kept.arrays()
    assert again == (callers, opcodes) and [a.typecode for a in again] == ["H", "B"]
    assert kept.arrays() is again  # inflated once, then kept
    small = DeflatedArrays((array("I", [1, 2, 3]),))
    small.compress()
    assert small._arrays is not None and small.arrays() == (array("I", [1, 2, 3]),)


def test_class_descriptor_pack_equals_the_class_headers(backend: str) -> None:
    b = dex_builder.DexBuilder()
    for name in ("Lapp/Main;", "Lapp/Caf\u00e9;", "Lapp/\u540d\u5b57;", "Lapp/Z;"):
        b.add_class(name)
    dex = DexFile.parse(b.build())
    headers = list(dex.class_headers())
    positions = np.array([pos for pos, *_ in headers], dtype=np.int64)
    assert dex.class_descriptor_pack(positions).take(np.arange(len(headers))) == [d for _, d, *_ in headers]
    assert list(dex.class_descriptor_pack(positions[::-1].copy())) == [d for _, d, *_ in headers][::-1]
    assert len(dex.class_descriptor_pack(np.zeros(0, dtype=np.int64))) == 0


def test_deflated_differences_round_trip_any_values() -> None:
    from array import array

    from appwarden.apk.dex import DeflatedArrays

    rng = np.random.default_rng(5)
    callers = array("H", np.sort(rng.integers(0, 60000, 5000)).astype(np.uint16).tobytes())
    offsets = array("H", rng.integers(0, 65536, 5000).astype(np.uint16).tobytes())  # not ascending: wraps
    ids = array("I", (np.arange(5000, dtype=np.uint32) * 7 + 4_000_000_000).tobytes())
    plain = DeflatedArrays((callers, offsets, ids))
    plain.compress()
    delta = DeflatedArrays((callers, offsets, ids), ascending=(True, True, True))
    delta.compress()
    assert delta.arrays() == (callers, offsets, ids) == plain.arrays()
    sorted_as_values, sorted_as_differences = DeflatedArrays((callers,)), DeflatedArrays((callers,), ascending=(True,))
    sorted_as_values.compress()
    sorted_as_differences.compress()
    assert len(sorted_as_differences._deflated[0][1]) < 0.75 * len(sorted_as_values._deflated[0][1])
    with pytest.raises(ValueError):
        DeflatedArrays((callers, ids), ascending=(True,))
