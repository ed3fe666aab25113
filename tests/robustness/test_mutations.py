"""Mutated real APKs: the scan returns Evidence (maybe with warnings) or an AppwardenError — nothing else.

Each sample app is mutated one layer at a time with fixed seeds (see mutate.py) and run in a
sandboxed worker process: 2 GiB address space, 10 s per APK. A hang, a crash, an
out-of-memory or any exception that is not an AppwardenError fails the test with the
mutant's name (``<app>-<layer>-<seed>.apk``); ``mutate.mutant(bytes, layer, seed)``
rebuilds it. The parsers are also fuzzed in-process with Hypothesis on mutated real inputs.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appwarden.apk import dex as dex_module
from appwarden.apk.arsc import ResourceTable
from appwarden.apk.axml import XmlElement, parse_axml, to_xml_text
from appwarden.apk.dex import DexFile
from appwarden.errors import AppwardenError
from robustness import mutate
from support import EXAMPLES

SAMPLE_APKS = sorted(EXAMPLES.glob("*.apk"))
#: Seeds per (app, layer). 7 apps x 5 layers x 12 seeds = 420 sandboxed scans, ~15 s on 2 cores.
SEEDS = range(12)
#: The pipeline run (rules too) is costlier per APK: fewer seeds, and only layers that leave APKs that parse.
PIPELINE_SEEDS = range(4)
PIPELINE_LAYERS = ("manifest", "arsc", "dex", "zip")

pytestmark = pytest.mark.skipif(not SAMPLE_APKS, reason="sample apps are not built (run `make fixtures`)")


def _failures(outcomes: list[mutate.Outcome]) -> str:
    return "\n".join(o.describe() for o in outcomes if not o.acceptable)


# ------------------------------------------------------------------ sandboxed whole-APK runs
@pytest.mark.parametrize("layer", mutate.LAYERS)
def test_extract_evidence_on_mutants_gives_evidence_or_appwarden_error(tmp_path: Path, layer: str) -> None:
    paths = mutate.write_mutants(SAMPLE_APKS, layer, SEEDS, tmp_path)
    outcomes = mutate.run_sandboxed(paths)

    assert [o.path for o in outcomes] == [str(p) for p in paths]
    assert not _failures(outcomes), f"unacceptable outcomes for layer {layer}:\n{_failures(outcomes)}"
    for o in outcomes:
        if o.outcome == "error":
            # A clear error names the problem: a specific type and a sentence, not a bare class name.
            assert o.kind != "AppwardenError", o.describe()
            assert len(o.message) >= 20 and " " in o.message, o.describe()


def test_dex_mutants_read_from_memory_maps_give_evidence_or_appwarden_error(tmp_path: Path) -> None:
    # A DEX of a megabyte or more is read from a memory map whose pages go back as the reader is
    # done with them; fuzzing a real APK's DEX found that path failing on a DEX without a usable
    # map_list, which the samples' small DEX files (read as bytes) never reached.
    paths = mutate.write_mutants(SAMPLE_APKS, "dex", SEEDS, tmp_path)
    outcomes = mutate.run_sandboxed(paths, env={mutate.MAP_EVERY_DEX: "1"})
    assert len(outcomes) == len(paths)
    assert not _failures(outcomes), f"unacceptable outcomes:\n{_failures(outcomes)}"


def test_mutations_reach_the_parsers(tmp_path: Path) -> None:
    """Guard against a mutator that silently does nothing: mutants differ and some are refused."""
    plain = (EXAMPLES / "plain.apk").read_bytes() if (EXAMPLES / "plain.apk").exists() else SAMPLE_APKS[0].read_bytes()
    for layer in mutate.LAYERS:
        variants = {mutate.mutant(plain, layer, seed) for seed in SEEDS}
        assert plain not in variants or len(variants) > 1, layer
        assert len(variants) >= len(SEEDS) // 2, f"layer {layer} gives too few distinct mutants"
    assert mutate.mutant(plain, "zip", 3) == mutate.mutant(plain, "zip", 3), "mutants must be deterministic"


def test_pure_python_dex_walker_on_dex_mutants(tmp_path: Path) -> None:
    """The C scanner and its pure-Python twin must both survive corrupt code items."""
    paths = mutate.write_mutants(SAMPLE_APKS, "dex", range(6), tmp_path)
    outcomes = mutate.run_sandboxed(paths, env={"APPWARDEN_DEX_PURE_PYTHON": "1"})
    assert not _failures(outcomes), _failures(outcomes)


def test_rule_pipeline_on_mutants_that_still_parse(tmp_path: Path) -> None:
    """Mutated APKs that still give Evidence go through every rule: a ScanReport, no crashed check."""
    paths = [
        path
        for layer in PIPELINE_LAYERS
        for path in mutate.write_mutants(SAMPLE_APKS, layer, PIPELINE_SEEDS, tmp_path / layer)
    ]
    outcomes = mutate.run_sandboxed(paths, pipeline=True)
    assert not _failures(outcomes), _failures(outcomes)
    reports = [o for o in outcomes if o.outcome == "ok"]
    assert len(reports) >= len(paths) // 3, "most dex/arsc mutants should still parse"
    crashed = [o.describe() for o in reports if not o.kind.endswith(" 0 crashed rules")]
    assert not crashed, "rule checks that crashed on mutated evidence (reported as undecided):\n" + "\n".join(crashed)


# ------------------------------------------------------------------------- the sandbox itself
def test_sandbox_reports_a_hang_and_goes_on() -> None:
    apk = SAMPLE_APKS[0]
    outcomes = mutate.run_sandboxed([apk, apk], time_limit=0.01)
    assert [o.outcome for o in outcomes] == ["hang", "hang"]


def test_sandbox_reports_a_worker_that_cannot_get_memory() -> None:
    outcomes = mutate.run_sandboxed([SAMPLE_APKS[0]], memory_limit=64 * 2**20)
    assert [o.outcome for o in outcomes] == ["crash"]
    assert not outcomes[0].acceptable


# --------------------------------------------------------------------- in-process Hypothesis
def _entries(pattern: str) -> list[bytes]:
    found = []
    for apk in SAMPLE_APKS:
        with zipfile.ZipFile(apk) as archive:
            found += [archive.read(n) for n in sorted(archive.namelist()) if re.fullmatch(pattern, n)]
    return found


MANIFESTS = _entries(r"AndroidManifest\.xml")
TABLES = _entries(r"resources\.arsc")
DEXES = _entries(r"classes\d*\.dex")

#: One edit: (kind, position, value). Positions wrap around the input's length.
EDIT = st.tuples(
    st.sampled_from(("flip", "set", "u32", "u16", "insert", "delete", "truncate")),
    st.integers(min_value=0, max_value=2**31),
    st.one_of(st.sampled_from(mutate.INTERESTING_U32), st.integers(min_value=0, max_value=2**32 - 1)),
)
EDITS = st.lists(EDIT, min_size=1, max_size=4)
FUZZ = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # the same examples on every run: a red test is a reproducible one
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def apply_edits(data: bytes, edits: list[tuple[str, int, int]]) -> bytes:
    """``data`` with each (kind, position, value) edit applied in order."""
    out = bytearray(data)
    for kind, position, value in edits:
        if not out:
            break
        pos = position % len(out)
        if kind == "flip":
            out[pos] ^= 1 << (value % 8)
        elif kind == "set":
            out[pos] = value % 256
        elif kind == "u32" and pos + 4 <= len(out):
            out[pos - pos % 4 : pos - pos % 4 + 4] = (value & 0xFFFFFFFF).to_bytes(4, "little")
        elif kind == "u16" and pos + 2 <= len(out):
            out[pos - pos % 2 : pos - pos % 2 + 2] = (value & 0xFFFF).to_bytes(2, "little")
        elif kind == "insert":
            out[pos:pos] = (value & 0xFFFFFFFF).to_bytes(4, "little")
        elif kind == "delete":
            del out[pos : pos + 1 + value % 16]
        elif kind == "truncate":
            del out[pos:]
    return bytes(out)


@contextmanager
def dex_backend(accelerated: bool) -> Iterator[None]:
    """Use the C scanner or the pure-Python walker for the duration (the module picks one at import)."""
    saved = dex_module._accel
    if accelerated and saved is None:
        pytest.skip("the C DEX scanner is not built")
    dex_module._accel = saved if accelerated else None
    try:
        yield
    finally:
        dex_module._accel = saved


@pytest.mark.skipif(not MANIFESTS, reason="no sample manifests")
@FUZZ
@given(index=st.integers(min_value=0, max_value=max(len(MANIFESTS) - 1, 0)), edits=EDITS)
def test_parse_axml_fuzz(index: int, edits: list[tuple[str, int, int]]) -> None:
    data = apply_edits(MANIFESTS[index], edits)
    try:
        root = parse_axml(data)
    except AppwardenError as exc:
        assert str(exc)
        return
    assert isinstance(root, XmlElement)
    to_xml_text(root)  # what a parsed tree promises: it can be walked and printed


@pytest.mark.skipif(not TABLES, reason="no sample resource tables")
@FUZZ
@given(index=st.integers(min_value=0, max_value=max(len(TABLES) - 1, 0)), edits=EDITS)
def test_resource_table_fuzz(index: int, edits: list[tuple[str, int, int]]) -> None:
    data = apply_edits(TABLES[index], edits)
    try:
        table = ResourceTable.parse(data)
    except AppwardenError as exc:
        assert str(exc)
        return
    for locale in ["", *table.locales()]:
        table.strings(locale) if locale else table.strings()


@pytest.mark.skipif(not DEXES, reason="no sample DEX files")
@pytest.mark.parametrize("accelerated", [True, False], ids=["c-scanner", "pure-python"])
def test_dex_code_references_fuzz(accelerated: bool) -> None:
    @FUZZ
    @given(index=st.integers(min_value=0, max_value=len(DEXES) - 1), edits=EDITS)
    def run(index: int, edits: list[tuple[str, int, int]]) -> None:
        data = apply_edits(DEXES[index], edits)
        try:
            refs = DexFile.parse(data).code_references()
        except AppwardenError as exc:
            assert str(exc)
            return
        assert refs.methods_scanned >= 0 and refs.code_units_scanned >= 0

    with dex_backend(accelerated):
        run()


def test_apply_edits_is_a_pure_function() -> None:
    data = bytes(range(64))
    edits = [("flip", 3, 1), ("insert", 10, 0xDEADBEEF), ("delete", 40, 2)]
    assert apply_edits(data, edits) == apply_edits(data, edits) != data
    with zipfile.ZipFile(io.BytesIO(mutate.rezip(SAMPLE_APKS[0].read_bytes(), {}))) as archive:
        assert archive.testzip() is None
