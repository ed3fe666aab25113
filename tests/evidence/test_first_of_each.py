"""Rows only the call graph reads are kept once per caller and what they reach."""

from __future__ import annotations

import numpy as np
import pytest

from appwarden.evidence import extract


def test_first_row_of_each_caller_and_key_survives_in_order() -> None:
    # (caller, opcode, target, offset), grouped by caller as the scan gives them
    rows = np.array(
        [
            [1, 0x6E, 7, 0],  # virtual call of 7
            [1, 0x71, 7, 3],  # static call of 7: dispatches differently, kept
            [1, 0x6E, 7, 6],  # repeat of the first: dropped
            [1, 0x6E, 9, 9],
            [2, 0x6E, 7, 0],  # another caller: kept
            [2, 0x6E, 7, 3],
        ],
        dtype=np.uint32,
    )
    graph = np.array([True, True, True, True, True, False])
    kept = extract._first_of_each(rows, graph, extract._target_and_dispatch)
    assert kept.tolist() == [True, True, False, True, True, False]


def test_slices_never_split_a_callers_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "_SLICE_ROWS", 2)
    rows = np.array([[c, 0x6E, t, i] for i, (c, t) in enumerate([(1, 5), (1, 6), (1, 5), (1, 5), (3, 5)])], np.uint32)
    kept = extract._first_of_each(rows, np.ones(len(rows), dtype=bool), extract._target_and_dispatch)
    assert kept.tolist() == [True, True, False, False, True]
