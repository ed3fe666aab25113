"""The allocator setting must return freed large blocks to the OS (glibc), and be harmless elsewhere."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest

from appwarden.allocator import map_large_blocks, release_free_heap

# A freed 8 MiB block (a DEX, say) raises glibc's dynamic threshold; twenty 2 MiB blocks then come from the
# heap, and one kept at its top holds the other nineteen resident after they are freed.
_PROBE = textwrap.dedent(
    """
    import os, sys
    from appwarden.allocator import map_large_blocks
    if sys.argv[1] == "fixed":
        assert map_large_blocks()
    page = os.sysconf("SC_PAGE_SIZE")
    def resident_mib():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page / 2**20
    big = bytearray(8 << 20)
    del big
    blocks = [bytearray(2 << 20) for _ in range(20)]
    last = blocks.pop()
    before = resident_mib()
    del blocks
    print(before - resident_mib())
    """
)


def _freed_mib(mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, check=True)
    return float(out.stdout)


@pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_freed_large_blocks_leave_the_process_once_the_threshold_is_fixed() -> None:
    assert _freed_mib("default") < 8  # the dynamic threshold keeps them on the heap
    assert _freed_mib("fixed") > 30  # nineteen 2 MiB blocks given back


def test_map_large_blocks_reports_whether_the_allocator_took_it() -> None:
    took = map_large_blocks()
    assert took is (sys.platform == "linux" and platform.libc_ver()[0] == "glibc")


# Forty 512 KiB blocks come from the heap (under the 1 MiB threshold); the one kept at the top holds
# the freed thirty-nine resident until the heap's free pages are handed back.
_TRIM_PROBE = textwrap.dedent(
    """
    import os
    from appwarden.allocator import map_large_blocks, release_free_heap
    assert map_large_blocks()
    page = os.sysconf("SC_PAGE_SIZE")
    def resident_mib():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * page / 2**20
    blocks = [bytearray(512 << 10) for _ in range(40)]
    last = blocks.pop()
    del blocks
    before = resident_mib()
    released = release_free_heap()
    print(released, before - resident_mib())
    """
)


@pytest.mark.skipif(sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_free_heap_pages_below_a_live_block_go_back_when_released() -> None:
    out = subprocess.run([sys.executable, "-c", _TRIM_PROBE], capture_output=True, text=True, check=True)
    released, freed_mib = out.stdout.split()
    assert released == "True"
    assert float(freed_mib) > 15  # most of the thirty-nine blocks' 19.5 MiB


def test_release_free_heap_reports_whether_anything_could_be_released() -> None:
    took = release_free_heap()
    assert isinstance(took, bool)
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        assert took is False
