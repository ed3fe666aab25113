"""Run one tool on one APK in a fresh process and print its time and memory as JSON.

A fresh process per measurement keeps peak RSS honest (no memory left over from the
previous APK) and lets a runaway tool be killed by the runner's timeout.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import zipfile
from pathlib import Path

# The richest sample: it reaches every lazily loaded table (PI types, policy model, rules).
WARMUP_APK = Path(__file__).resolve().parent.parent / "examples" / "sdkdemo.apk"


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def floor(path: str) -> None:
    """Read the APK and inflate every classes*.dex: what any DEX-reading tool must at least do."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("classes") and name.endswith(".dex"):
                z.read(name)


def appwarden_evidence(path: str) -> None:
    from appwarden.evidence.extract import extract_evidence

    extract_evidence(path)


def appwarden_full(path: str) -> None:
    from appwarden.pipeline import scan_apk

    scan_apk(path)


def androguard_parse(path: str) -> None:
    from androguard.core.apk import APK
    from androguard.core.dex import DEX

    apk = APK(path)
    for data in apk.get_all_dex():
        DEX(data)


def androguard_analyze(path: str) -> None:
    from androguard.misc import AnalyzeAPK

    AnalyzeAPK(path)


TOOLS = {
    "floor": floor,
    "appwarden": appwarden_evidence,
    "appwarden+rules": appwarden_full,
    "androguard-parse": androguard_parse,
    "androguard-analyze": androguard_analyze,
}


def androguard_folder(folder: str, processes: int) -> None:
    """AnalyzeAPK on every APK of a folder: one loop, or the same number of processes appwarden uses.

    The pool's workers are forked after main() silenced androguard's logging, so they stay silent too.
    """
    apks = sorted(str(p) for p in Path(folder).glob("*.apk"))
    if processes <= 1:
        for apk in apks:
            androguard_analyze(apk)
        return
    from multiprocessing import Pool

    with Pool(processes) as pool:
        for _ in pool.imap_unordered(androguard_analyze, apks):
            pass


def main() -> None:
    tool, path = sys.argv[1], sys.argv[2]
    if tool.startswith("appwarden"):
        from appwarden.allocator import map_large_blocks

        map_large_blocks()  # as the `appwarden` command and the API's scan workers run
    if tool.startswith("androguard"):
        from loguru import logger

        logger.remove()  # androguard logs every class at DEBUG: that would be timed too
    if tool == "androguard-folder":
        androguard_folder(path, int(sys.argv[3]))  # timed from outside, start-up included
        return
    # Imports and catalogs load once per process (a folder scan pays them once, not per APK):
    # they are timed apart as `warmup_seconds`; `seconds` is the work on this APK.
    # Every tool first runs once on a sample app, so lazy imports and data loads
    # (ours and androguard's alike) are not charged to the APK being measured.
    warm_started = time.perf_counter()
    if WARMUP_APK.exists() and tool != "floor":
        TOOLS[tool](str(WARMUP_APK))
    warmup = time.perf_counter() - warm_started
    base = _rss_kb()
    started = time.perf_counter()
    TOOLS[tool](path)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "warmup_seconds": warmup, "rss_base_kb": base, "rss_peak_kb": _rss_kb()}))


if __name__ == "__main__":
    main()
