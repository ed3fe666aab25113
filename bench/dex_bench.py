"""Time appwarden's DEX reader against androguard (and LIEF, when installed) and print a table.

Usage:
    .venv/bin/python bench/dex_bench.py [FILE.apk|FILE.dex ...] [--generate 500,1000,2000] [--analyze] [--repeat 3]

For every input it measures, in one process:
  floor       read the file and inflate every classes*.dex (zipfile) -- the lower bound
  appwarden   DexFile.parse + classes() + code_references() (all call sites, strings, fields)
  scan        DexFile.parse + code_references() only (what call-site evidence needs)
  androguard  DEX(data) for every classes*.dex, then every method's instructions (call sites)
  ag-parse    DEX(data) alone (androguard's parsing without instruction decoding)
  lief        lief.DEX.parse (structure only; LIEF does not decode instructions), if importable
  AnalyzeAPK  androguard.misc.AnalyzeAPK (with --analyze, APK inputs only; slow)
and the peak Python-heap memory (tracemalloc) of the appwarden run and of the floor alone (zipfile
inflation holds about two copies of a DEX), both relative to the largest DEX.
--generate builds synthetic DEX files of the given class counts with Debian's smali (cached in
/tmp/appwarden-dex-bench) and reports time per code unit, the linearity check.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "apk"))

from appwarden.apk import dex as dexmod
from appwarden.apk.dex import DexFile

CACHE = Path("/tmp/appwarden-dex-bench")


def dex_payloads(path: Path) -> list[tuple[str, bytes]]:
    """The classes*.dex of an APK (or the file itself when it is a DEX)."""
    if path.suffix == ".dex":
        return [(path.name, path.read_bytes())]
    with zipfile.ZipFile(path) as zf:
        names = sorted(n for n in zf.namelist() if n.startswith("classes") and n.endswith(".dex"))
        return [(n, zf.read(n)) for n in names]


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run_appwarden(path: Path) -> int:
    total = 0
    for name, data in dex_payloads(path):
        dex = DexFile.parse(data, name=name)
        for _ in dex.classes():
            pass
        refs = dex.code_references()
        total += len(refs.invokes)
    return total


def run_scan(path: Path) -> int:
    """Only what call-site evidence needs: parse and the one-pass code scan."""
    return sum(len(DexFile.parse(data, name=name).code_references().invokes) for name, data in dex_payloads(path))


def run_androguard(path: Path, instructions: bool) -> int:
    from androguard.core.dex import DEX

    total = 0
    for _, data in dex_payloads(path):
        dex = DEX(data)
        if instructions:
            for method in (m for c in dex.get_classes() for m in c.get_methods()):
                for ins in method.get_instructions():
                    if 0x6E <= ins.get_op_value() <= 0x78:
                        total += 1
    return total


def run_lief(path: Path) -> int:
    import lief

    return sum(len(lief.DEX.parse(list(data)).methods) for _, data in dex_payloads(path))


def run_analyze(path: Path) -> int:
    from androguard.misc import AnalyzeAPK

    _, _, analysis = AnalyzeAPK(str(path))
    return len(list(analysis.get_methods()))


def peak_memory(fn: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def generate(classes: int) -> Path:
    import dex_smali

    target = CACHE / f"gen{classes}"
    dex = target / "classes.dex"
    apk = target / f"gen{classes}.apk"
    if not dex.exists():
        target.mkdir(parents=True, exist_ok=True)
        dex_smali.assemble(dex_smali.generated_sources(classes, 20), target)
    if not apk.exists():  # deflated, as in a real APK, so the floor includes inflation
        with zipfile.ZipFile(apk, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(dex, "classes.dex")
    return apk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", type=Path)
    parser.add_argument("--generate", default="", help="comma-separated class counts of synthetic DEX files")
    parser.add_argument("--analyze", action="store_true", help="also time androguard AnalyzeAPK (APK inputs)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-androguard", action="store_true")
    args = parser.parse_args()

    from loguru import logger

    logger.remove()
    inputs: list[Path] = list(args.inputs)
    inputs += [generate(int(n)) for n in args.generate.split(",") if n]
    if not inputs:
        parser.error("give APK/DEX files or --generate")
    try:
        import lief  # noqa: F401

        has_lief = True
    except ImportError:
        has_lief = False

    print(f"accelerator: {'C (_dexscan)' if dexmod.accelerated() else 'pure Python'}")
    header = f"{'input':<28} {'dex MB':>7} {'units M':>8} {'floor ms':>9} {'ours ms':>8} {'scan ms':>8} {'ns/unit':>8} {'x floor':>8}"
    header += f" {'ag ms':>9} {'ag-parse':>9} {'x faster':>9} {'lief ms':>8} {'peak/dex':>9} {'floor pk':>9}"
    if args.analyze:
        header += f" {'Analyze ms':>11}"
    print(header)
    for path in inputs:
        payloads = dex_payloads(path)
        if not payloads:
            print(f"{path.name[-28:]:<28} (no classes*.dex)")
            continue
        size = sum(len(d) for _, d in payloads)
        units = sum(DexFile.parse(d).code_references().code_units_scanned for _, d in payloads)
        floor = best_of(args.repeat, lambda p=path: dex_payloads(p))  # type: ignore[misc]
        ours = best_of(args.repeat, lambda p=path: run_appwarden(p))  # type: ignore[misc]
        scan = best_of(args.repeat, lambda p=path: run_scan(p))  # type: ignore[misc]
        ag = ag_parse = float("nan")
        if not args.no_androguard:
            ag = best_of(1, lambda p=path: run_androguard(p, True))  # type: ignore[misc]
            ag_parse = best_of(1, lambda p=path: run_androguard(p, False))  # type: ignore[misc]
        lief_ms = best_of(1, lambda p=path: run_lief(p)) * 1e3 if has_lief else float("nan")  # type: ignore[misc]
        peak = peak_memory(lambda p=path: run_appwarden(p))  # type: ignore[misc]
        floor_peak = peak_memory(lambda p=path: dex_payloads(p))  # type: ignore[misc]
        largest = max(len(d) for _, d in payloads)
        label = path.parent.name + "/" + path.name if path.suffix == ".dex" else path.name
        row = f"{label[-28:]:<28} {size / 2**20:>7.2f} {units / 1e6:>8.2f} {floor * 1e3:>9.1f} {ours * 1e3:>8.1f} {scan * 1e3:>8.1f}"
        row += f" {ours * 1e9 / max(units, 1):>8.1f} {ours / floor:>8.1f} {ag * 1e3:>9.0f} {ag_parse * 1e3:>9.0f}"
        row += f" {ag / ours:>9.0f} {lief_ms:>8.1f} {peak / largest:>9.2f} {floor_peak / largest:>9.2f}"
        if args.analyze and path.suffix == ".apk":
            try:
                row += f" {best_of(1, lambda p=path: run_analyze(p)) * 1e3:>11.0f}"  # type: ignore[misc]
            except Exception as exc:  # AnalyzeAPK needs a manifest; synthetic APKs have none
                row += f" {'n/a':>11} ({type(exc).__name__})"
        print(row, flush=True)


if __name__ == "__main__":
    main()
