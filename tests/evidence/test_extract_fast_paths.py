"""The speed-ups of extract_evidence must not change one byte of the Evidence.

The fast path indexes only relevant references, hands matchers only the methods that have
references (extract._MatchedProgram), shares empty reference lists between methods, pauses
the cyclic garbage collector and drops resources.arsc before the code once the manifest's
references are resolved (extract.ManifestValues). The plain path turns all of that off; both must serialise to the
same JSON on every sample app and on the small real-world corpus APKs.
"""

from __future__ import annotations

import contextlib
import gc
from pathlib import Path

import pytest

from appwarden.apk import zip as zipmod
from appwarden.apk.dex import DexFile, PackedTexts
from appwarden.evidence import extract
from appwarden.evidence.calls import ProgramIndex
from appwarden.evidence.extract import extract_evidence
from support import EXAMPLES, ROOT

CORPUS = [
    "appium-uiautomator2-server-debug-androidTest.apk",
    "STFService.apk",
    "uiautomator-1.0.2-app-uiautomator-test.apk",
]


def _plain_path(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(extract, "_RELEVANCE", extract._keep_everything)
        patch.setattr(extract, "_MatchedProgram", lambda program: program)
        patch.setattr(extract, "_no_cyclic_gc", contextlib.nullcontext)
        patch.setattr(extract, "ManifestValues", lambda _root, resolver: resolver)
        patch.setattr(zipmod, "CAN_RELEASE_PAGES", False)  # every DEX in bytes, nothing released
        return extract_evidence(path).model_dump_json(indent=1)


def _apks() -> list[Path]:
    found = sorted(EXAMPLES.glob("*.apk"))
    found += [p for name in CORPUS if (p := ROOT / "bench" / "corpus" / name).exists()]
    return found


@pytest.mark.parametrize("path", _apks(), ids=lambda p: p.name)
def test_fast_path_evidence_is_byte_identical_to_the_plain_path(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every DEX, however small, read into a map whose pages go as the reader is done with them.
    monkeypatch.setattr(zipmod, "_MAPPED_MIN_BYTES", 1)
    released: list[int] = []
    release = DexFile.release_pages
    monkeypatch.setattr(DexFile, "release_pages", lambda dex: released.append(release(dex)) or released[-1])
    fast = extract_evidence(path).model_dump_json(indent=1)
    monkeypatch.undo()
    assert fast == _plain_path(path, monkeypatch)
    if zipmod.CAN_RELEASE_PAGES and path.stat().st_size > 100_000:
        assert sum(released) > 0, "a DEX this large has whole pages of code to hand back"


@pytest.mark.parametrize("path", _apks(), ids=lambda p: p.name)
def test_names_deflated_in_blocks_give_the_same_evidence(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Apps of many large DEX files keep their call-graph texts in blocks (extract._many_large_dex);
    # here every app does, with blocks of four texts and a cache of two, so the walk reads across
    # blocks and evicts them on the samples too.
    from appwarden.apk import dex as dexmod

    whole = extract_evidence(path).model_dump_json(indent=1)
    monkeypatch.setattr(extract, "_many_large_dex", lambda sizes: True)
    monkeypatch.setattr(dexmod, "_COMPRESS_MIN_BYTES", 1)
    monkeypatch.setattr(dexmod, "_BLOCK_TEXTS", 4)
    monkeypatch.setattr(dexmod, "_BLOCK_TAKE_MAX", 8)
    monkeypatch.setattr(dexmod, "_BLOCK_CACHE", dexmod._BlockCache(64))
    blocked: list[PackedTexts] = []
    compress = PackedTexts.compress
    monkeypatch.setattr(PackedTexts, "compress", lambda t: compress(t) or blocked.append(t))
    assert extract_evidence(path).model_dump_json(indent=1) == whole
    if path.stat().st_size > 100_000:
        assert any(t._blocks is not None or t._compressed is None for t in blocked)
        assert any(t._blocks is not None for t in blocked), "some tables stay in blocks to the end"


def test_many_large_dex_is_more_code_besides_the_largest_than_in_it() -> None:
    assert not extract._many_large_dex([9, 8])  # Yosemite: two of nine and eight MB
    assert not extract._many_large_dex([10, 1, 1, 1])  # one large DEX and small ones
    assert extract._many_large_dex([9, 6, 9, 7])  # several large ones
    assert not extract._many_large_dex([])


def test_sample_apps_exist_for_the_comparison() -> None:
    if not list(EXAMPLES.glob("*.apk")):
        pytest.skip("examples/*.apk are not built")
    assert len(_apks()) >= 7


def test_matched_program_lists_only_methods_with_references_in_order() -> None:
    from evidence.program_builder import ProgramBuilder

    builder = ProgramBuilder()
    builder.method("Lb/B;->z()V", strings=["x"])
    builder.method("Lb/B;->a()V")  # no references: no matcher can find anything in it
    builder.method("La/A;->m()V", invokes=["Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;"])
    builder.method("Lb/B;->b()V", fields=["Landroid/os/Build;->SERIAL:Ljava/lang/String;"])
    matched = extract._MatchedProgram(builder.program)
    assert [m.descriptor for m in matched.methods()] == ["La/A;->m()V", "Lb/B;->b()V", "Lb/B;->z()V"]
    assert matched.classes is builder.program.classes  # the call graph still sees every method
    assert matched.method("Lb/B;->a()V") is not None
    assert isinstance(matched, ProgramIndex)


@pytest.mark.parametrize("enabled", [True, False])
def test_scan_restores_the_garbage_collector_state(enabled: bool) -> None:
    path = EXAMPLES / "plain.apk"
    if not path.exists():
        pytest.skip("plain.apk is not built")
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        extract_evidence(path)
        assert gc.isenabled() is enabled
        with pytest.raises(Exception):  # noqa: B017 - any refusal; only the GC state matters here
            extract_evidence(b"not an apk")
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


@pytest.mark.parametrize("keep_all", [False, True], ids=["every-dex-read-twice", "every-dex-kept"])
def test_dex_kept_between_passes_or_read_again_gives_the_same_evidence(
    keep_all: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The multidex sample has several DEX files: each one inflated again in the second pass, or
    # all kept from the first; neither may change a fact or a warning.
    path = EXAMPLES / "multidex.apk"
    default = extract_evidence(path).model_dump_json(indent=1)
    reads: list[str] = []
    original_read = extract.ApkArchive.read

    def counting_read(self: extract.ApkArchive, name: str) -> bytes:
        reads.append(name)
        return original_read(self, name)

    monkeypatch.setattr(extract, "_kept_between_passes", lambda sizes: [keep_all] * len(sizes))
    monkeypatch.setattr(extract.ApkArchive, "read", counting_read)
    assert extract_evidence(path).model_dump_json(indent=1) == default
    dex_reads = [n for n in reads if n.endswith(".dex")]
    dex_names = sorted(set(dex_reads))
    assert len(dex_names) >= 2
    assert len(dex_reads) == (len(dex_names) if keep_all else 2 * len(dex_names))


@pytest.mark.parametrize(
    ("sizes", "kept"),
    [
        ([], []),
        ([10], [True]),
        ([10, 1, 2], [True, False, False]),  # small files after the largest: alive at the peak
        ([2, 9, 6], [True, True, False]),
        ([8, 8, 8, 9], [True, False, False, True]),  # earlier ones up to the largest's size
        ([3, 3, 3, 9, 1], [True, True, True, True, False]),
    ],
)
def test_dex_files_kept_between_passes(sizes: list[int], kept: list[bool]) -> None:
    assert extract._kept_between_passes(sizes) == kept


def test_methods_no_matcher_reads_stay_unbuilt_until_the_call_graph_asks() -> None:
    from appwarden.apk.zip import ApkArchive
    from appwarden.evidence.calls import MethodTable
    from appwarden.evidence.catalogs import sdk_catalog
    from appwarden.evidence.sdk import SdkDetector

    catalog = sdk_catalog()
    with ApkArchive.open(EXAMPLES / "sdkdemo.apk") as archive:
        program, _ = extract._index_code(archive, extract.ScanLimits(), catalog, SdkDetector(catalog), [])
    total = sum(len(info.methods) for info in program.classes.values())
    built = sum(1 for _ in program.built_methods())
    assert 0 < built < total
    tables = [info.methods for info in program.classes.values() if isinstance(info.methods, MethodTable)]
    assert tables
    table = tables[0]
    signature = next(sig for sig in table if sig not in table.built())
    body = table[signature]  # what the call graph's program.method() does
    assert body.signature == signature and signature in table.built()


def test_classes_defining_a_signature_twice_are_flagged_whole() -> None:
    import numpy as np

    positions = np.array([0, 0, 1, 1, 1, 2], dtype=np.uint32)
    # Signatures as (name, proto) pieces: a()V b()V c()V d()V c()V a()I
    names, name_at = ["a", "b", "c", "d"], np.array([0, 1, 2, 3, 2, 0])
    protos, proto_at = ["()V", "()I"], np.array([0, 0, 0, 0, 0, 1])
    parts = ((names, name_at), (protos, proto_at))
    flagged = extract._in_classes_with_repeated_signatures(positions, parts)
    # Class 1 repeats c()V: all its rows take the plain path; a()V and a()I differ.
    assert flagged.tolist() == [False, False, True, True, True, False]
    first_two = ((names, name_at[:2]), (protos, proto_at[:2]))
    assert not extract._in_classes_with_repeated_signatures(positions[:2], first_two).any()
    # The same name with another proto in one class is an overload, not a repeat.
    overload = ((names, np.array([0, 0])), (protos, np.array([0, 1])))
    assert not extract._in_classes_with_repeated_signatures(positions[:2], overload).any()


def test_manifest_values_answer_like_the_table_and_only_for_the_default_configuration() -> None:
    from appwarden.apk.arsc import ResourceTable
    from appwarden.apk.axml import ResourceRef, parse_axml
    from appwarden.apk.zip import ApkArchive

    path = EXAMPLES / "sdkdemo.apk"
    if not path.exists():
        pytest.skip("sdkdemo.apk is not built")
    with ApkArchive.open(path) as archive:
        root = parse_axml(archive.read("AndroidManifest.xml"))
        table_resolver = extract.ArscResolver(ResourceTable.parse(archive.read("resources.arsc")))
    values = extract.ManifestValues(root, table_resolver)
    references = []
    pending = [root]
    while pending:
        element = pending.pop()
        references += [v for v in element.attributes.values() if isinstance(v, ResourceRef)]
        pending.extend(element.children)
    assert references  # the label at least
    for ref in references:
        assert values.text(ref) == table_resolver.text(ref)
        assert values.reference_name(ref) == table_resolver.reference_name(ref)
    assert values.text("literal") == "literal"
    assert values.reference_name(ResourceRef(0x7F7F7F7F)) == "@0x7f7f7f7f"  # not in the manifest
    with pytest.raises(ValueError):
        values.text(references[0], "zh-rCN")
