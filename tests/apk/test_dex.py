"""Tests of appwarden.apk.dex: real DEX files (smali, examples), differential oracles, hostile input."""

from __future__ import annotations

import struct
import sys
import zipfile
from array import array
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent))

import dex_builder
import dex_oracles
import dex_smali

from appwarden.apk import dex as dexmod
from appwarden.apk.dex import DexFile, DexLimits, MethodRef
from appwarden.errors import LimitExceededError, MalformedStructureError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
needs_smali = pytest.mark.skipif(dex_smali.SMALI is None, reason="Debian's smali is not installed")
needs_dexdump = pytest.mark.skipif(dex_smali.DEXDUMP is None, reason="Debian's dexdump is not installed")


@pytest.fixture(scope="module")
def sample_dex(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if dex_smali.SMALI is None:
        pytest.skip("Debian's smali is not installed")
    return dex_smali.assemble(dex_smali.SAMPLE_SOURCES, tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def generated_dex(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if dex_smali.SMALI is None:
        pytest.skip("Debian's smali is not installed")
    return dex_smali.assemble(dex_smali.generated_sources(60, 10), tmp_path_factory.mktemp("generated"))


def simple() -> tuple[bytes, dict[str, int]]:
    builder, ids = dex_builder.simple_app()
    return builder.build(), ids


def patch(data: bytes, offset: int, fmt: str, *values: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return bytes(out)


def codes(dex: DexFile) -> set[str]:
    return {code for code, _ in dex.warnings}


# --- behaviour on a known file ---------------------------------------------------------------


def test_builder_app_references() -> None:
    raw, ids = simple()
    dex = DexFile.parse(raw, name="classes.dex")
    assert dex.version == "035" and dex.size == len(raw) and dex.warnings == []
    (cls,) = dex.classes()
    assert cls.descriptor == "Lapp/Main;" and cls.superclass == "Ljava/lang/Object;" and cls.source_file == "Main.java"
    assert [m.method_idx for m in cls.direct_methods] == [ids["run"]]
    assert [m.method_idx for m in cls.virtual_methods] == [ids["switchy"]]
    refs = dex.code_references()
    # The packed-switch payload of switchy holds units that decode as invoke-virtual getDeviceId:
    # the only real call is the one in run().
    assert list(dex.invokes_of({ids["getDeviceId"]})) == [(ids["run"], ids["getDeviceId"], 2)]
    assert dex.callees_of(ids["run"]) == [ids["getDeviceId"]]
    assert dex.callees_of(ids["switchy"]) == []
    assert dex.strings_used_by(ids["run"]) == [ids["str_hello"]]
    assert dex.fields_used_by(ids["run"]) == [ids["field"]]
    assert refs.methods_scanned == 2 and refs.code_units_scanned == 8 + 12
    ref = dex.method_ref(ids["getDeviceId"])
    assert ref == MethodRef("Landroid/telephony/TelephonyManager;", "getDeviceId", "()Ljava/lang/String;")
    assert ref.descriptor() == "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;"
    assert dex.field_ref(ids["field"]).descriptor() == "Lapp/Main;->sId:Ljava/lang/String;"
    assert dex.find_method_refs(lambda m: m.name == "getDeviceId") == [ids["getDeviceId"]]
    assert dex.find_method_refs_by_class({"Lapp/Main;"}) == [ids["run"], ids["switchy"]]


def test_mutf8_strings() -> None:
    b = dex_builder.DexBuilder()
    texts = ["plain", "é中", "emoji 😀 pair", "nul\0inside", ""]
    idxs = [b.string(t) for t in texts]
    dex = DexFile.parse(b.build())
    assert [dex.string(i) for i in idxs] == texts
    assert dex.warnings == []


@needs_smali
def test_smali_sample_calls_and_payloads(sample_dex: Path) -> None:
    dex = DexFile.parse(sample_dex.read_bytes())
    assert dex.version in ("035", "037", "038", "039")
    pairs = dex_oracles.ours(dex)[1]
    main = "Lcom/example/Main;"
    assert (f"{main}->deviceId(Landroid/content/Context;)Ljava/lang/String;",
            "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;") in pairs  # fmt: skip
    assert (f"{main}->ranged(IIIIIII)V", f"{main}->ranged(IIIIIII)V") in pairs  # invoke-static/range
    assert (f"{main}->log(Ljava/lang/String;)V", "Lcom/example/Tracker;->track(Ljava/lang/String;)V") in pairs
    assert any(c.endswith("->handle(Ljava/lang/invoke/MethodHandle;)Ljava/lang/Object;") for c, _ in pairs)
    # fill-array-data payload in table() holds 0x6e units: only the real invoke of log() is found.
    table = dex.find_method_refs(lambda m: m.class_descriptor == main and m.name == "table")
    assert [dex.method_ref(i).name for i in dex.callees_of(table[0])] == ["log"]
    strings = {dex.string(i) for i in dex.strings_used_by(table[0])}
    assert strings == {"jumbo string"}
    log = dex.find_method_refs(lambda m: m.class_descriptor == main and m.name == "log")[0]
    assert [dex.string(i) for i in dex.strings_used_by(log)] == ["unicode é中 😀 nul\0end"]
    classes = {c.descriptor: c for c in dex.classes()}
    assert classes[main].interfaces == ("Lcom/example/Tracker;",)
    assert classes[main].superclass == "Landroid/app/Activity;"
    assert any(dex.method_ref(m.method_idx).name == "<clinit>" for m in classes[main].direct_methods)
    values, _ = dex.read_encoded_array(classes[main].static_values_off)
    assert [(kind, dex.string(v)) for kind, v in values if kind == 0x17] == [(0x17, "https://collect.example.com/v1")]
    assert classes["Lcom/example/sdk/Collector;"].static_values_off == 0
    assert len(dex.code_references().classes) == 1  # const-class LocationManager
    assert dex.warnings == []


@needs_smali
@needs_dexdump
@pytest.mark.tools
@pytest.mark.parametrize("which", ["sample_dex", "generated_dex"])
def test_matches_dexdump(which: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(which)
    dex = DexFile.parse(path.read_bytes())
    refs, pairs = dex_oracles.ours(dex)
    oracle_refs, oracle_pairs = dex_oracles.dexdump(path)
    assert refs == oracle_refs
    assert pairs == oracle_pairs
    assert len(refs) > 10


@needs_smali
@pytest.mark.parametrize("which", ["sample_dex", "generated_dex"])
def test_matches_androguard(which: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(which)
    raw = path.read_bytes()
    dex = DexFile.parse(raw)
    refs, pairs = dex_oracles.ours(dex)
    oracle_refs, oracle_pairs, strings, methods = dex_oracles.androguard(raw)
    assert refs == oracle_refs
    assert pairs == oracle_pairs
    assert [dex.string(i) for i in range(dex.strings_count())] == strings
    ours_methods = {
        dex.method_ref(m.method_idx).descriptor() for c in dex.classes() for m in c.direct_methods + c.virtual_methods
    }
    assert ours_methods == methods


@needs_smali
def test_invoke_custom_resolves_lambda_through_call_site(tmp_path: Path) -> None:
    dex = DexFile.parse(dex_smali.assemble(dex_smali.LAMBDA_SOURCES, tmp_path).read_bytes())
    assert dex.call_site_count == 1
    (go,) = dex.find_method_refs(lambda m: m.name == "go")
    (lambda_impl,) = dex.find_method_refs(lambda m: m.name == "lambda$go$0")
    callees = dex.callees_of(go)
    assert lambda_impl in callees
    assert dex.method_ref(callees[0]).class_descriptor == "Ljava/lang/invoke/LambdaMetafactory;"
    assert [dex.method_ref(c).name for c in dex.callees_of(lambda_impl)] == ["d"]
    assert list(dex.invokes_of({lambda_impl})) == []  # reached through the call site, not an invoke
    assert dex.code_references().invokes.opcode.tolist().count(0xFC) == 1
    assert dex.warnings == []


#: Real-world APKs from bench/fetch_corpus.sh whose DEX files dexdump and androguard read in seconds.
_CORPUS_FOR_ORACLES = ("STFService.apk", "uiautomator-1.0.2-app-uiautomator-test.apk", "settings_apk-debug.apk")


def _example_dexes() -> list[tuple[str, str]]:
    found = []
    corpus = [p for name in _CORPUS_FOR_ORACLES if (p := EXAMPLES.parent / "bench" / "corpus" / name).exists()]
    for apk in [*sorted(EXAMPLES.glob("*.apk")), *corpus]:
        with zipfile.ZipFile(apk) as zf:
            found += [(str(apk), n) for n in zf.namelist() if n.startswith("classes") and n.endswith(".dex")]
    return found


@needs_dexdump
@pytest.mark.tools
@pytest.mark.skipif(not _example_dexes(), reason="no examples/*.apk built yet")
@pytest.mark.parametrize(("apk", "entry"), _example_dexes() or [("", "")])
def test_examples_match_dexdump(apk: str, entry: str, tmp_path: Path) -> None:
    with zipfile.ZipFile(apk) as zf:
        raw = zf.read(entry)
    path = tmp_path / entry
    path.write_bytes(raw)
    dex = DexFile.parse(raw, name=entry)
    refs, pairs = dex_oracles.ours(dex)
    oracle_refs, oracle_pairs = dex_oracles.dexdump(path)
    assert (refs, pairs) == (oracle_refs, oracle_pairs)
    ag_refs, ag_pairs, ag_strings, _ = dex_oracles.androguard(raw)
    assert (refs, pairs) == (ag_refs, ag_pairs)
    assert [dex.string(i) for i in range(dex.strings_count())] == ag_strings


# --- C accelerator and pure-Python walker agree ---------------------------------------------


def _backend_inputs(raw: bytes) -> tuple[array[int], array[int], array[int], array[int], tuple[int, ...]]:
    dex = DexFile.parse(raw)
    defs = dex._class_defs
    offs = array("I", (int(v) for v in defs[:, 6]))
    types = array("I", (int(v) for v in defs[:, 0]))
    mclass = array("I", (int(v) for v in dex._method_class))
    records = dex._decoded_class_data()
    methods = array("I", (int(v) for row in records[:, [2, 4]] for v in row))
    counts = (dex.strings_count(), dex.type_count, dex.field_refs_count, dex.method_refs_count, dex.call_site_count)
    return offs, types, mclass, methods, counts


def _assert_backends_agree(raw: bytes, max_units: int = 1 << 20, budget: int | None = None) -> None:
    if dexmod._accel is None:
        pytest.skip("the C accelerator is not built")
    offs, types, mclass, methods, counts = _backend_inputs(raw)
    assert dexmod._accel.class_data(raw, offs, types, mclass) == dexmod._class_data_py(raw, offs, types, mclass)
    budget = 4 * len(raw) if budget is None else budget
    accel = dexmod._accel.scan_code(raw, methods, counts, max_units, budget)
    assert accel == dexmod._scan_code_py(raw, methods, counts, max_units, budget)


@needs_smali
def test_backends_agree_on_real_dex(sample_dex: Path, generated_dex: Path) -> None:
    _assert_backends_agree(sample_dex.read_bytes())
    _assert_backends_agree(generated_dex.read_bytes())
    _assert_backends_agree(generated_dex.read_bytes(), max_units=20)
    _assert_backends_agree(generated_dex.read_bytes(), budget=5000)


def test_pure_python_fallback_gives_same_references(monkeypatch: pytest.MonkeyPatch) -> None:
    raw, _ = simple()
    with_accel = DexFile.parse(raw).code_references()
    monkeypatch.setattr(dexmod, "_accel", None)
    fallback = DexFile.parse(raw).code_references()
    assert with_accel.invokes.rows.tolist() == fallback.invokes.rows.tolist()
    assert with_accel.strings.rows.tolist() == fallback.strings.rows.tolist()
    assert with_accel.fields.rows.tolist() == fallback.fields.rows.tolist()


def _code_start(raw: bytes) -> int:
    """File offset of the first code item's instructions in a builder DEX."""
    dex = DexFile.parse(raw)
    return min(int(r[4]) for r in dex._decoded_class_data() if r[4]) + 16


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8))
def test_fuzzed_code_and_class_data_backends_agree(flips: list[tuple[int, int]]) -> None:
    raw, _ = simple()
    start = _code_start(raw)
    out = bytearray(raw)
    for pos, value in flips:
        out[start + pos % (len(raw) - start)] = value  # corrupt only the data section: code, class data, map
    _assert_backends_agree(bytes(out))
    _assert_backends_agree(bytes(out), max_units=6)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6))
def test_fuzzed_files_fail_cleanly(flips: list[tuple[int, int]]) -> None:
    raw, _ = simple()
    out = bytearray(raw)
    for pos, value in flips:
        out[pos % len(raw)] = value
    try:
        dex = DexFile.parse(bytes(out))
        list(dex.classes())
        dex.code_references()
        for i in range(dex.method_refs_count):
            dex.method_ref(i).descriptor()
    except (MalformedStructureError, LimitExceededError) as exc:
        assert str(exc).startswith("classes.dex: ")


# --- hostile and malformed input --------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "error", "words"),
    [
        (lambda d: b"dey\n035\0" + d[8:], MalformedStructureError, "not a DEX file"),
        (lambda d: b"dex\n099\0" + d[8:], MalformedStructureError, "unsupported DEX version 099"),
        (lambda d: patch(d, 36, "<I", 0x80), MalformedStructureError, "header_size"),
        (lambda d: patch(d, 40, "<I", 0x78563412), MalformedStructureError, "big-endian"),
        (lambda d: patch(d, 40, "<I", 0xDEADBEEF), MalformedStructureError, "endian tag"),
        (lambda d: d[:-40], MalformedStructureError, "truncated"),
        (lambda d: d[:50], MalformedStructureError, "too short"),
        (lambda d: patch(d, 56, "<I", 2**31), LimitExceededError, "2147483648 string_ids"),
        (lambda d: patch(d, 56, "<I", 1_000_000), MalformedStructureError, "outside the file"),
        (lambda d: patch(d, 88, "<I", 4_000_000), MalformedStructureError, "method_ids table"),
        (lambda d: patch(d, 60, "<I", 2**32 - 8), MalformedStructureError, "string_ids table"),
    ],
)
def test_header_damage_is_refused(mutate, error: type[Exception], words: str) -> None:  # type: ignore[no-untyped-def]
    raw, _ = simple()
    with pytest.raises(error) as info:
        DexFile.parse(mutate(raw), name="classes.dex")
    assert words in str(info.value)
    assert str(info.value).startswith("classes.dex: ")


def _table_off(raw: bytes, header_field: int) -> int:
    return struct.unpack_from("<I", raw, header_field)[0]


@pytest.mark.parametrize(
    ("table_field", "entry_offset", "fmt", "value", "words"),
    [
        (68, 0, "<I", 9999, "type_ids entry #0 refers to string 9999"),
        (92, 2, "<H", 500, "method_ids entry (proto) #0 refers to proto 500"),
        (92, 0, "<H", 900, "method_ids entry (class) #0 refers to type 900"),
        (84, 4, "<I", 12345, "field_ids entry (name) #0 refers to string 12345"),
        (60, 0, "<I", 10**8, "string_ids entry #0 refers to file offset"),
        (76, 4, "<I", 777, "proto_ids entry (return type) #0 refers to type 777"),
        (100, 0, "<I", 3000, "class_defs entry (class) #0"),
        (100, 24, "<I", 10**8, "class_data_off"),
    ],
)
def test_out_of_range_ids_are_refused(table_field: int, entry_offset: int, fmt: str, value: int, words: str) -> None:
    raw, _ = simple()
    bad = patch(raw, _table_off(raw, table_field) + entry_offset, fmt, value)
    with pytest.raises(MalformedStructureError, match=words.replace("(", r"\(").replace(")", r"\)")):
        DexFile.parse(bad)


def test_limits_apply() -> None:
    raw, _ = simple()
    with pytest.raises(LimitExceededError, match="exceeds the limit"):
        DexFile.parse(raw, limits=DexLimits(max_size=100))
    with pytest.raises(LimitExceededError, match="over the limit of 3"):
        DexFile.parse(raw, limits=DexLimits(max_table_entries=3))
    dex = DexFile.parse(raw, limits=DexLimits(max_code_units_per_method=10))
    refs = dex.code_references()
    assert "code_too_large" in codes(dex)
    assert refs.methods_scanned == 2 and len(refs.invokes) == 1  # run() (8 units) scanned, switchy (12) not


def _app_with_code(insns: list[int]) -> tuple[bytes, dict[str, int]]:
    b = dex_builder.DexBuilder()
    ids = {
        "callee": b.method("Lx/Api;", "call"),
        "caller": b.method("Lapp/A;", "go"),
        "s": b.string("s"),
    }
    cls = b.add_class("Lapp/A;")
    b.add_method(cls, ids["caller"], [u if u >= 0 else ids[("callee", "caller", "s")[-u - 1]] for u in insns])
    return b.build(), ids


CALLEE, CALLER, STRING = -1, -2, -3


@pytest.mark.parametrize(
    ("insns", "warning", "invokes"),
    [
        ([0x0071, CALLEE, 0, 0x0071, CALLEE], "instruction_past_end", 1),  # second invoke cut short
        ([0x0071, CALLEE, 0, 0x0100, 0xFFFF, 0], "instruction_past_end", 1),  # packed-switch payload too big
        ([0x0071, CALLEE, 0, 0x0300, 0xFFFF, 0xFFFF, 0xFFFF], "instruction_past_end", 1),  # fill-array-data
        ([0x0071, 0x7777, 0, 0x0071, CALLEE, 0, 0x000E], "operand_out_of_range", 1),
        ([0x001A, 0x7777, 0x0071, CALLEE, 0, 0x000E], "operand_out_of_range", 1),
        ([0x00FC, 0x0000, 0, 0x0071, CALLEE, 0, 0x000E], "operand_out_of_range", 1),  # no call sites at all
        ([0x001B, 0xFFFF, 0xFFFF, 0x000E], "operand_out_of_range", 0),  # const-string/jumbo far out of range
    ],
)
def test_damaged_code_is_tolerated(insns: list[int], warning: str, invokes: int) -> None:
    raw, ids = _app_with_code(insns)
    dex = DexFile.parse(raw)
    assert len(list(dex.invokes_of({ids["callee"]}))) == invokes
    assert warning in codes(dex)
    _assert_backends_agree_if_built(raw)


def _assert_backends_agree_if_built(raw: bytes) -> None:
    if dexmod._accel is not None:
        _assert_backends_agree(raw)


def _code_item_off(raw: bytes) -> int:
    return _code_start(raw) - 16


def test_code_item_past_end_and_truncated() -> None:
    raw, ids = _app_with_code([0x0071, CALLEE, 0, 0x000E])
    insns_size_at = _code_item_off(raw) + 12
    huge = patch(raw, insns_size_at, "<I", 500_000)
    dex = DexFile.parse(huge)
    # The walk continues into whatever bytes follow (as a linear sweep must), up to the file end.
    assert (ids["caller"], ids["callee"], 0) in list(dex.invokes_of({ids["callee"]}))
    assert "code_item_truncated" in codes(dex)
    _assert_backends_agree_if_built(huge)
    # code_off pointing past the end: rewrite the uleb in class_data (last byte before the map).
    dex = DexFile.parse(raw)
    class_data = int(dex._class_defs[0, 6])
    # class_data: 4 sizes, then method_idx_diff, access_flags, code_off (uleb128)
    body = bytearray(raw)
    pos = class_data + 4 + 2
    assert len(dex_builder.uleb128(_code_item_off(raw))) == 2 < len(raw) < 0x3FFF
    body[pos : pos + 2] = dex_builder.uleb128(0x3FFF)
    dex = DexFile.parse(bytes(body))
    assert len(dex.code_references().invokes) == 0
    assert "code_item_out_of_range" in codes(dex)
    _assert_backends_agree_if_built(bytes(body))


def test_huge_uleb_and_absurd_counts_in_class_data() -> None:
    raw, _ = _app_with_code([0x000E])
    class_data = int(DexFile.parse(raw)._class_defs[0, 6])
    over_long = bytearray(raw)
    over_long[class_data : class_data + 6] = b"\x80\x80\x80\x80\x80\x01"  # six-byte uleb128
    dex = DexFile.parse(bytes(over_long))
    assert next(iter(dex.classes())).direct_methods == ()
    assert "class_data_truncated" in codes(dex)
    absurd = bytearray(raw)
    absurd[class_data : class_data + 5] = b"\xff\xff\xff\xff\x0f"  # 2^32-1 static fields
    dex = DexFile.parse(bytes(absurd))
    assert dex.code_references().methods_scanned == 0
    assert "class_data_counts" in codes(dex)
    _assert_backends_agree_if_built(bytes(over_long))
    _assert_backends_agree_if_built(bytes(absurd))


def test_duplicate_and_cyclic_class_defs() -> None:
    b = dex_builder.DexBuilder()
    a = b.add_class("Lapp/A;", superclass="Lapp/B;")
    b.add_class("Lapp/B;", superclass="Lapp/A;")
    b.add_method(a, b.method("Lapp/A;", "x"), [0x000E])
    b.add_class("Lapp/A;")  # redefinition
    dex = DexFile.parse(b.build())
    assert [c.descriptor for c in dex.classes()] == ["Lapp/A;", "Lapp/B;"]
    assert {"duplicate_class", "class_hierarchy_cycle"} <= codes(dex)
    assert dex.code_references().methods_scanned == 1


def test_shared_code_item_walk_is_bounded() -> None:
    # 3000 methods all pointing at one 3000-unit code item: 9M units unbounded, capped instead.
    b = dex_builder.DexBuilder()
    callee = b.method("Lx/Api;", "call")
    cls = b.add_class("Lapp/A;")
    methods = [b.method("Lapp/A;", f"m{i}") for i in range(3000)]
    b.add_method(cls, methods[0], [0x0071, callee, 0] * 1000)
    for m in methods[1:]:
        b.add_method(cls, m, None)
    raw = bytearray(b.build())
    dex = DexFile.parse(bytes(raw))
    code_off = int(dex._decoded_class_data()[0, 4])
    # Rewrite every method's code_off (uleb128 0) to the shared item: rebuild class data in place.
    class_data = int(dex._class_defs[0, 6])
    encoded = dex_builder.uleb128(0) * 2 + dex_builder.uleb128(3000) + dex_builder.uleb128(0)
    encoded += dex_builder.uleb128(methods[0]) + dex_builder.uleb128(9) + dex_builder.uleb128(code_off)
    for _ in methods[1:]:
        encoded += dex_builder.uleb128(1) + dex_builder.uleb128(9) + dex_builder.uleb128(code_off)
    raw = raw[:class_data] + encoded
    raw += b"\0" * (-len(raw) % 4)
    struct.pack_into("<I", raw, 32, len(raw))
    struct.pack_into("<I", raw, 52, 0)  # the map list was overwritten
    dex = DexFile.parse(bytes(raw))
    refs = dex.code_references()
    assert "scan_budget_exceeded" in codes(dex)
    assert refs.code_units_scanned <= dexmod.SCAN_BUDGET_PER_BYTE * len(raw)
    assert len(refs.invokes) >= 1000
    _assert_backends_agree_if_built(bytes(raw))


def test_method_of_another_class_and_repeated_index() -> None:
    b = dex_builder.DexBuilder()
    own = b.method("Lapp/A;", "own")
    foreign = b.method("Lapp/B;", "foreign")
    a = b.add_class("Lapp/A;")
    b.add_method(a, own, [0x000E])
    b.add_method(a, foreign, [0x000E])
    dex = DexFile.parse(b.build())
    (cls,) = dex.classes()
    assert [m.method_idx for m in cls.direct_methods] == [own]
    assert "method_class_mismatch" in codes(dex)


def test_bad_mutf8_is_replaced_with_warning() -> None:
    b = dex_builder.DexBuilder()
    bad = b.string(b"ab\xff\xfecd")
    dex = DexFile.parse(b.build())
    assert dex.string(bad) == "ab\ufffd\ufffdcd"
    assert "bad_mutf8" in codes(dex)


def test_string_without_terminator_is_bounded() -> None:
    b = dex_builder.DexBuilder()
    idx = b.string("abc")
    raw = bytearray(b.build())
    off = struct.unpack_from("<I", raw, _table_off(bytes(raw), 60) + 4 * idx)[0]
    raw[off + 4] = ord("x")  # overwrite the NUL terminator...
    raw[off] = 1  # ...and claim one UTF-16 unit, so at most 3 bytes + NUL may be searched
    dex = DexFile.parse(bytes(raw))
    with pytest.raises(MalformedStructureError, match="no terminator"):
        dex.string(idx)


def test_out_of_range_lookups_raise() -> None:
    dex = DexFile.parse(simple()[0])
    with pytest.raises(MalformedStructureError, match="out of range"):
        dex.method_ref(dex.method_refs_count)
    with pytest.raises(MalformedStructureError, match="out of range"):
        dex.string(-1)
    with pytest.raises(MalformedStructureError, match="out of range"):
        dex.type_descriptor(10_000)


def test_map_list_sanity() -> None:
    raw, _ = simple()
    dex = DexFile.parse(patch(raw, 52, "<I", len(raw) + 100))
    assert "map_list_missing" in codes(dex)
    map_off = struct.unpack_from("<I", raw, 52)[0]
    # The second map item is string_ids: claim one more entry than the header does.
    count = struct.unpack_from("<I", raw, map_off + 4 + 12 + 4)[0]
    dex = DexFile.parse(patch(raw, map_off + 4 + 12 + 4, "<I", count + 1))
    assert "map_list_mismatch" in codes(dex)
    dex = DexFile.parse(patch(raw, map_off, "<I", 2**30))
    assert "map_list_bad" in codes(dex)


def test_accepts_memoryview_and_versions() -> None:
    raw, ids = simple()
    for version in ("035", "037", "038", "039"):
        data = version.encode().join([raw[:4], raw[7:]])
        dex = DexFile.parse(memoryview(data))
        assert dex.version == version
        assert list(dex.invokes_of({ids["getDeviceId"]})) == [(ids["run"], ids["getDeviceId"], 2)]


def test_encoded_values_and_call_sites() -> None:
    raw, _ = simple()
    dex = DexFile.parse(raw)
    # An encoded_array written by hand after the file: [int 0x1234, string 3, null, true, nested [byte 7]]
    tail = (
        dex_builder.uleb128(5)
        + bytes([0x24, 0x34, 0x12])
        + bytes([0x17, 0x03])
        + bytes([0x1E])
        + bytes([0x3F])
        + bytes([0x1C])
        + dex_builder.uleb128(1)
        + bytes([0x00, 0x07])
    )
    data = raw + tail
    dex = DexFile.parse(data)
    values, end = dex.read_encoded_array(len(raw))
    assert values == [(0x04, 0x1234), (0x17, 3), (0x1E, None), (0x1F, True), (0x1C, [(0x00, 7)])]
    assert end == len(data)
    deep = raw + (dex_builder.uleb128(1) + bytes([0x1C])) * 40 + dex_builder.uleb128(0)
    with pytest.raises(MalformedStructureError, match="nest deeper"):
        DexFile.parse(deep).read_encoded_array(len(raw))
    with pytest.raises(MalformedStructureError, match="width"):
        DexFile.parse(raw + b"\x01\xe0" + b"\0" * 8).read_encoded_array(len(raw))


def test_strings_containing_is_a_superset_of_matching_strings() -> None:
    b = dex_builder.DexBuilder()
    texts = ["https://a.example.cn/x", "plain", "I AGREE", "同意隐私政策", "no url here", "ftp://b", "agreement"]
    ids = {t: b.string(t) for t in texts}
    b.add_class("Lapp/Main;")
    dex = DexFile.parse(b.build())
    hits = set(dex.strings_containing([b"://", "同意".encode()]).tolist())
    for text in texts:
        if "://" in text or "同意" in text:
            assert ids[text] in hits, text
    folded = set(dex.strings_containing([b"agree"], ignore_ascii_case=True).tolist())
    assert {ids["I AGREE"], ids["agreement"]} <= folded
    assert ids["plain"] not in hits | folded
    assert dex.strings_containing([]).tolist() == []


def _strings_containing_reference(
    data: bytes, first: int, end: int, starts: list[int], needles: list[bytes], ignore_case: bool
) -> list[int]:
    """The one-hit-per-string search as plain Python (the specification the C pass must meet)."""
    region = data[first:end].lower() if ignore_case else data[first:end]
    hits: set[int] = set()
    for needle in needles:
        pos = region.find(needle)
        while pos >= 0:
            hits.add(pos)
            following = next((s for s in starts if s > pos), len(region))
            nul = region.find(b"\0", pos, following)
            pos = region.find(needle, min(following, nul + 1) if nul >= 0 else following)
    return sorted(hits)


def _strings_of(positions: list[int], starts: list[int]) -> set[int]:
    return {max((s for s in starts if s <= p), default=-1) for p in positions}


@given(
    region=st.binary(max_size=300).map(lambda b: b.replace(b"\x07", b"://").replace(b"\x08", b"Agr")),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
    ignore_case=st.booleans(),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_accelerated_needle_search_finds_the_same_strings(region: bytes, cuts: list[int], ignore_case: bool) -> None:
    # Hostile layouts too: starts anywhere (no NUL between them, hits between strings).
    if dexmod._accel is None:
        pytest.skip("the C accelerator is not built")
    data = b"HEAD" + region + b"\0"
    first, end = 4, len(data)
    starts = sorted({0, *(c for c in cuts if c < end - first)})
    exact = [b"://", b"Agr", b"\xe5\x90\x8c"]
    folded = [b"agr", b"//"] if ignore_case else []
    found = dexmod._accel.find_needles(data, first, end, array("I", starts), exact, folded)
    positions = array("I")
    positions.frombytes(found)
    expected = _strings_containing_reference(data, first, end, starts, exact, False)
    expected += _strings_containing_reference(data, first, end, starts, folded, True)
    assert _strings_of(list(positions), starts) == _strings_of(expected, starts)
    assert len(positions) <= len(starts) + region.count(b"\0")  # at most one hit per string


def test_accelerated_needle_search_refuses_bad_arguments() -> None:
    if dexmod._accel is None:
        pytest.skip("the C accelerator is not built")
    with pytest.raises(ValueError, match="needles"):
        dexmod._accel.find_needles(b"abc", 0, 3, array("I", [0]), [b"a"], [])
    with pytest.raises(ValueError, match="needles"):
        dexmod._accel.find_needles(b"abc", 0, 3, array("I", [0]), [], [b"a"])
    with pytest.raises(ValueError, match="region"):
        dexmod._accel.find_needles(b"abc", 0, 9, array("I", [0]), [b"ab"], [])


def test_batch_member_texts_are_the_same_without_the_accelerator(
    monkeypatch: pytest.MonkeyPatch, sample_dex: Path
) -> None:
    b, _ids = dex_builder.simple_app()
    # Non-ASCII names in a proto and a field type: the C batch leaves those protos to Python.
    b.method("Lapp/Main;", "grüße", "Lapp/Ünï;", ("I", "Lapp/Ünï;"))
    b.field("Lapp/Main;", "f\u00e9", "Lapp/Ünï;")
    for raw in (b.build(), sample_dex.read_bytes()):
        dex = DexFile.parse(raw)
        methods = list(range(dex.method_refs_count)) * 2
        fields = list(range(dex.field_refs_count))
        accelerated = (dex.method_signatures(methods), dex.method_descriptors(methods), dex.field_descriptors(fields))
        with monkeypatch.context() as patched:
            patched.setattr(dexmod, "_accel", None)
            plain = DexFile.parse(raw)
            reference = (
                plain.method_signatures(methods),
                plain.method_descriptors(methods),
                plain.field_descriptors(fields),
            )
        assert accelerated == reference
        assert accelerated[1] == [dex.method_ref(i).descriptor() for i in methods]
        assert list(dex.class_headers()) == list(DexFile.parse(raw).class_headers())


def test_strings_containing_is_the_same_without_the_accelerator(
    monkeypatch: pytest.MonkeyPatch, sample_dex: Path
) -> None:
    needles = [b"://", b"Landroid/", "同意".encode(), b"get"]
    for raw in (simple()[0], sample_dex.read_bytes()):
        dex = DexFile.parse(raw)
        accelerated = (
            dex.strings_containing(needles),
            dex.strings_containing([b"an"], ignore_ascii_case=True),
            dex.strings_containing_any(needles, [b"an"]),
        )
        with monkeypatch.context() as patched:
            patched.setattr(dexmod, "_accel", None)
            plain = DexFile.parse(raw)
            reference = (
                plain.strings_containing(needles),
                plain.strings_containing([b"an"], ignore_ascii_case=True),
                plain.strings_containing_any(needles, [b"an"]),
            )
        assert [a.tolist() for a in accelerated] == [r.tolist() for r in reference]
        assert len(accelerated[0]) and len(accelerated[1])


def test_class_headers_and_method_table_match_classes() -> None:
    b, ids = dex_builder.simple_app()
    dex = DexFile.parse(b.build())
    headers = list(dex.class_headers())
    classes = list(dex.classes())
    assert [(d, s, i, v) for _, d, s, i, v in headers] == [
        (c.descriptor, c.superclass, c.interfaces, c.static_values_off) for c in classes
    ]
    table = dex.method_table()
    expected = [(m.method_idx, m.code_off) for c in classes for m in (*c.direct_methods, *c.virtual_methods)]
    assert [(int(r[2]), int(r[4])) for r in table] == expected
    run = dex.method_ref(ids["run"])
    assert dex.method_signature(ids["run"]) == run.name + run.proto
    assert dex.method_class_types()[ids["run"]] == dex.field_class_types()[ids["field"]]


def test_batch_member_texts_equal_the_single_lookups() -> None:
    b, _ids = dex_builder.simple_app()
    b.string("caf\u00e9 \U0001f600")  # non-ASCII: left to string() by the batch decoder
    dex = DexFile.parse(b.build())
    methods = list(range(dex.method_refs_count)) * 2
    assert dex.method_signatures(methods) == [dex.method_ref(i).name + dex.method_ref(i).proto for i in methods]
    assert dex.method_descriptors(methods) == [dex.method_ref(i).descriptor() for i in methods]
    fields = list(range(dex.field_refs_count))
    assert dex.field_descriptors(fields) == [dex.field_ref(i).descriptor() for i in fields]
    assert dex.method_signatures([]) == [] and dex.field_descriptors([]) == []
    with pytest.raises(MalformedStructureError):
        dex.method_signatures([dex.method_refs_count])


def test_batch_decoded_strings_equal_lazily_decoded_ones() -> None:
    b = dex_builder.DexBuilder()
    texts = ["plain", "", "caf\u00e9", "\U0001f600 smile", "a\0b", "https://x.example/y"]
    ids = [b.string(t) for t in texts]
    b.add_class("Lapp/Main;")
    data = b.build()
    batch = DexFile.parse(data)
    lazy = DexFile.parse(data)
    order = np.array(sorted(ids), dtype=np.uint32)
    assert batch.string_batch(order) == [lazy.string(i) for i in order.tolist()]
    assert sorted(batch.string_batch(order)) == sorted(texts)
    assert batch.warnings == lazy.warnings
    with pytest.raises(MalformedStructureError):  # out of range: as string() says
        batch.string_batch(np.array([ids[0], 10**6], dtype=np.uint32))


def test_batch_leaves_irregular_string_data_to_the_warning_path() -> None:
    b = dex_builder.DexBuilder()
    idx = b.string("hello")
    b.add_class("Lapp/Main;")
    data = bytearray(b.build())
    at = data.find(b"\x05hello\x00")
    data[at] = 4  # declared length no longer matches the data: string() warns
    batch = DexFile.parse(bytes(data))
    lazy = DexFile.parse(bytes(data))
    assert batch.string_batch(np.array([idx], dtype=np.uint32)) == [lazy.string(idx)] == ["hello"]
    assert batch.warnings == lazy.warnings
    assert any(code == "string_length_mismatch" for code, _ in batch.warnings)


def test_batch_built_protos_equal_lazily_built_ones() -> None:
    with zipfile.ZipFile(Path(__file__).resolve().parents[2] / "examples" / "sdkdemo.apk") as apk:
        data = apk.read("classes.dex")
    batch, lazy = DexFile.parse(data), DexFile.parse(data)
    protos = np.arange(len(batch._proto_ids), dtype=np.uint32)
    assert batch.proto_batch(protos) == [lazy.proto(i) for i in protos.tolist()]
    assert batch.warnings == lazy.warnings


def test_released_code_references_are_scanned_again_identically() -> None:
    with zipfile.ZipFile(Path(__file__).resolve().parents[2] / "examples" / "sdkdemo.apk") as apk:
        dex = DexFile.parse(apk.read("classes.dex"))
    first = dex.code_references()
    assert dex.code_references() is first  # cached
    dex.release_code_references()
    again = dex.code_references()
    assert again is not first
    for table in ("invokes", "strings", "fields"):
        assert getattr(again, table).rows.tolist() == getattr(first, table).rows.tolist()
    assert len(first.invokes) > 0


@given(st.lists(st.integers(min_value=0, max_value=2**40), max_size=200))
def test_distinct_equals_numpy_unique(values: list[int]) -> None:
    import numpy as np

    for dtype in (np.int64, np.uint32):
        column = np.asarray([v % 2**32 for v in values] if dtype is np.uint32 else values, dtype=dtype)
        assert dexmod.distinct(column).tolist() == np.unique(column).tolist()
        assert dexmod.distinct(column).dtype == column.dtype


@pytest.mark.parametrize("damage", ["params past end", "params at the last bytes", "param type out of range"])
def test_damaged_protos_fail_the_same_with_and_without_the_accelerator(
    damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The C batch leaves a damaged proto to the Python path, which names the problem.
    b, _ids = dex_builder.simple_app()
    raw = b.build()
    count, protos_off = struct.unpack_from("<II", raw, 0x48)
    dex = DexFile.parse(raw)
    k = next(i for i in range(count) if int(dex._proto_ids[i][2]) != 0)
    list_off = int(dex._proto_ids[k][2])
    where, fmt, value = {
        "params past end": (protos_off + 12 * k + 8, "<I", len(raw) + 100),
        "params at the last bytes": (protos_off + 12 * k + 8, "<I", len(raw) - 2),
        "param type out of range": (list_off + 4, "<H", 60000),
    }[damage]
    damaged = patch(raw, where, fmt, value)

    def outcome() -> str:
        try:
            target = DexFile.parse(damaged)
            target.method_signatures(list(range(target.method_refs_count)))
        except MalformedStructureError as exc:
            return str(exc)
        return "no error"

    accelerated = outcome()
    monkeypatch.setattr(dexmod, "_accel", None)
    assert accelerated == outcome() != "no error"


@given(
    blob=st.binary(max_size=120).map(
        # Bias towards encoded-value headers: strings (0x17..0x77), arrays, annotations, null, bool.
        lambda b: bytes((x & 0xFF) if x % 3 else (0x17 | ((x >> 2) & 0x60)) for x in b)
    ),
    extra_offsets=st.lists(st.integers(min_value=0, max_value=4000), max_size=6),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_encoded_array_strings_agree_with_the_python_reader(blob: bytes, extra_offsets: list[int]) -> None:
    if dexmod._accel is None:
        pytest.skip("the C accelerator is not built")
    raw, _ = simple()
    data = raw + blob
    offsets = [len(raw), *extra_offsets]
    dex = DexFile.parse(data)
    accelerated = dex.encoded_array_strings(offsets)
    saved = dexmod._accel
    try:
        dexmod._accel = None
        reference = DexFile.parse(data).encoded_array_strings(offsets)
    finally:
        dexmod._accel = saved
    assert accelerated == reference


def test_deeply_nested_annotations_are_malformed_not_a_crash() -> None:
    raw, _ = simple()
    # encoded_array of 1 value: an annotation whose one element is an annotation ... 200 deep.
    nested = (
        b"\x01" + (b"\x1d" + dex_builder.uleb128(0) + dex_builder.uleb128(1) + dex_builder.uleb128(0)) * 200 + b"\x1e"
    )
    dex = DexFile.parse(raw + nested)
    assert dex.encoded_array_strings([len(raw)]) == [None]
    with pytest.raises(MalformedStructureError, match="nest deeper"):
        dex.read_encoded_array(len(raw))
