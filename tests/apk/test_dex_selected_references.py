"""selected_references: the rows of a full scan that pass the opcode and string filters, nothing else."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import dex_builder

from appwarden.apk.dex import DexFile

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
READS = {*range(0x52, 0x59), *range(0x60, 0x67)}
INVOKES = {*range(0x6E, 0x73), *range(0x74, 0x79), 0xFA, 0xFB, 0xFC, 0xFD}


def _expected(full: np.ndarray, ops: set[int], strings: set[int] | None = None) -> np.ndarray:
    keep = np.isin(full[:, 1], sorted(ops))
    if strings is not None:
        keep &= np.isin(full[:, 2], sorted(strings))
    return full[keep]


def _check(raw: bytes, ops: set[int], strings: list[int]) -> None:
    full_dex, selected_dex = DexFile.parse(raw), DexFile.parse(raw)
    full = full_dex.code_references()
    selected = selected_dex.selected_references(ops, strings)
    assert np.array_equal(selected.invokes.rows, _expected(full.invokes.rows, ops))
    assert np.array_equal(selected.fields.rows, _expected(full.fields.rows, ops))
    assert np.array_equal(selected.strings.rows, _expected(full.strings.rows, ops, set(strings)))
    assert np.array_equal(selected.classes.rows, _expected(full.classes.rows, ops))
    assert selected_dex.warnings == full_dex.warnings  # every operand is still checked


def test_samples_with_and_without_each_kind(backend: str) -> None:
    with zipfile.ZipFile(EXAMPLES / "sdkdemo.apk") as apk:
        raw = apk.read("classes.dex")
    used = DexFile.parse(raw).code_references().strings.rows[:, 2]
    some = sorted(set(used.tolist()))[::2]
    _check(raw, {*INVOKES, *READS, 0x1A, 0x1B}, some)
    _check(raw, {*READS}, [])
    _check(raw, set(range(256)), sorted(set(used.tolist())))


def test_damaged_code_reports_the_same_problems(backend: str) -> None:
    b = dex_builder.DexBuilder()
    callee, caller, s = b.method("Lx/Api;", "call"), b.method("Lapp/A;", "go"), b.string("text")
    cls = b.add_class("Lapp/A;")
    # an out-of-range const-string and field operand around kept and dropped rows
    b.add_method(cls, caller, [0x001A, 0x7777, 0x001A, s, 0x0071, callee, 0, 0x0060, 0x7777, 0x000E])
    _check(b.build(), {*INVOKES, 0x1A}, [s])
