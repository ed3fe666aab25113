"""member_of: np.isin's answer for the id columns of a DEX scan, by a flag table."""

from __future__ import annotations

import numpy as np
import pytest

from appwarden.apk.dex import member_of


@pytest.mark.parametrize("seed", range(5))
def test_member_of_matches_isin(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 5000, size=3000).astype(np.uint32)
    ids = rng.integers(0, 6000, size=rng.integers(0, 400)).astype(np.int64)
    assert np.array_equal(member_of(values, ids), np.isin(values, ids))


def test_member_of_empty_and_extreme_ranges() -> None:
    values = np.array([0, 3, 2**31], dtype=np.int64)
    assert member_of(values, np.zeros(0, dtype=np.int64)).tolist() == [False, False, False]
    assert member_of(np.zeros(0, dtype=np.uint32), np.array([1])).tolist() == []
    # values spread far wider than the arrays (offsets, a hostile range), or negative ids, take
    # np.isin's sorting path
    assert member_of(values, np.array([2**31])).tolist() == [False, False, True]
    assert member_of(np.array([-1, 4]), np.array([-1])).tolist() == [True, False]


def test_member_of_never_spends_more_flags_than_the_arrays_justify() -> None:
    import tracemalloc

    offsets = np.arange(0, 50_000_000, 1000, dtype=np.uint32)  # 50k file offsets over 50 MB
    tracemalloc.start()
    found = member_of(offsets, offsets[::7])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert found.sum() == len(offsets[::7])
    assert peak < 5_000_000  # a flag per possible offset would be 50 MB


@pytest.mark.parametrize("seed", range(5))
def test_member_of_wide_ranges_match_isin(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2**31, size=200_000).astype(np.uint32)  # over one search slice
    ids = np.concatenate((rng.choice(values, 500), rng.integers(0, 2**31, size=500))).astype(np.int64)
    assert np.array_equal(member_of(values, ids), np.isin(values, ids))
