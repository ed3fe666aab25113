"""code_references scans methods by index; its tables and warnings equal a scan in listed order.

Class data lists methods class by class (direct before virtual), not by index; the tables must be
grouped by caller in increasing order. Scanning in index order gives them so without re-sorting;
these tests hold it to the reference: scan in listed order, then sort rows stably by caller.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

import dex_builder

from appwarden.apk import dex as dexmod
from appwarden.apk.dex import _PROBLEM_TEXT, SCAN_BUDGET_PER_BYTE, DexFile

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _listed_order_reference(raw: bytes) -> tuple[list[np.ndarray], list[str]]:
    dex = DexFile.parse(raw)
    methods = np.ascontiguousarray(dex._decoded_class_data()[:, [2, 4]], dtype=np.uint32)
    counts = (dex.strings_count(), dex.type_count, dex.field_refs_count, dex.method_refs_count, dex.call_site_count)
    backend = dexmod._accel.scan_code if dexmod._accel is not None else dexmod._scan_code_py
    tables, _, problems = backend(
        raw, methods, counts, dex.limits.max_code_units_per_method, SCAN_BUDGET_PER_BYTE * len(raw)
    )
    rows = []
    for table in tables:
        r = np.frombuffer(table, dtype="<u4").reshape(-1, 4)
        rows.append(r[np.argsort(r[:, 0], kind="stable")])
    return rows, [_PROBLEM_TEXT[code].format(ctx=ctx, a=a, b=b) for code, ctx, a, b in problems]


def _scanned(raw: bytes) -> tuple[list[np.ndarray], list[str]]:
    dex = DexFile.parse(raw)
    refs = dex.code_references()
    tables = [refs.invokes.rows, refs.strings.rows, refs.fields.rows, refs.classes.rows]
    return tables, [message for code, message in dex.warnings if code in _PROBLEM_TEXT]


def _out_of_order_app() -> bytes:
    """Two classes whose methods are listed out of index order, each with damaged code."""
    b = dex_builder.DexBuilder()
    callee = b.method("Lx/Api;", "call")
    early, late_direct, late_virtual = b.method("La/A;", "a"), b.method("Lz/Z;", "z"), b.method("Lz/Z;", "v")
    s = b.string("text")
    z = b.add_class("Lz/Z;")  # listed first, its methods have the higher indices
    b.add_method(z, late_direct, [0x0071, 0x7777, 0, 0x001A, s, 0x0071, callee, 0, 0x000E])
    b.add_method(z, late_virtual, [0x0071, callee, 0, 0x0071, callee], virtual=True)
    a = b.add_class("La/A;")
    b.add_method(a, early, [0x001A, 0x7777, 0x0071, callee, 0, 0x000E])
    return b.build()


def test_damaged_methods_listed_out_of_order(backend: str) -> None:
    raw = _out_of_order_app()
    tables, warnings = _scanned(raw)
    expected_tables, expected_warnings = _listed_order_reference(raw)
    assert len(warnings) == 3 and warnings == expected_warnings  # class Z's problems first, as listed
    for got, expected in zip(tables, expected_tables, strict=True):
        assert np.array_equal(got, expected)


@pytest.mark.parametrize("sample", sorted(p.stem for p in EXAMPLES.glob("*.apk")))
def test_sample_dex_files(sample: str) -> None:
    with zipfile.ZipFile(EXAMPLES / f"{sample}.apk") as apk:
        for name in (n for n in apk.namelist() if n.endswith(".dex")):
            raw = apk.read(name)
            tables, warnings = _scanned(raw)
            expected_tables, expected_warnings = _listed_order_reference(raw)
            assert warnings == expected_warnings
            for got, expected in zip(tables, expected_tables, strict=True):
                assert np.array_equal(got, expected)
