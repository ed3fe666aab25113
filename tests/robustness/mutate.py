"""Deterministic mutations of real APKs, one layer at a time, and a sandboxed runner for them.

Layers (see README.md in this folder):

- ``manifest``  bytes of AndroidManifest.xml (binary XML) changed, archive re-zipped
- ``arsc``      bytes of resources.arsc changed, archive re-zipped
- ``dex``       header fields, id tables or code of one classes*.dex changed, archive re-zipped
- ``truncate``  the whole APK cut at a pseudo-random length
- ``zip``       one field of a local header, central header or end record overwritten

Every mutant is a pure function of (APK bytes, layer, seed): a failure names its seed and
reproduces anywhere with :func:`mutant`.

Run as a script (``python mutate.py worker``) this module is the sandbox worker: it reads
one APK path per stdin line, calls ``extract_evidence`` (and, with ``--pipeline``, the rule
engine) and prints one JSON line per APK: ``{"path", "outcome", "kind", "message"}``. The
parent (:func:`run_sandboxed`) limits its address space and time, and restarts it after a
crash or hang so one bad mutant never hides the others.
"""

from __future__ import annotations

import io
import json
import os
import random
import resource
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

LAYERS: tuple[str, ...] = ("manifest", "arsc", "dex", "truncate", "zip")

#: Values that break parsers more often than random ones: zero, sign bits, all-ones, off-by-one.
INTERESTING_U32: tuple[int, ...] = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
INTERESTING_U16: tuple[int, ...] = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF)

# DEX header: offsets 0x20.. are u32 fields (file_size, header_size, endian_tag, link_size,
# link_off, map_off, then (size, off) pairs for strings, types, protos, fields, methods,
# classes, data). Checksum and signature (0x08-0x1F) are not checked by appwarden.
DEX_HEADER_FIELDS: tuple[int, ...] = tuple(range(0x20, 0x70, 4))
DEX_ID_TABLES: tuple[tuple[int, int], ...] = (
    # (offset of the (size, off) header pair, bytes per item)
    (0x38, 4),  # string_ids
    (0x40, 4),  # type_ids
    (0x48, 12),  # proto_ids
    (0x50, 8),  # field_ids
    (0x58, 8),  # method_ids
    (0x60, 32),  # class_defs
)

# ZIP fixed-size records: (signature, record size, [(field offset, field size)]).
ZIP_LOCAL = (b"PK\x03\x04", 30, [(4, 2), (6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2)])
ZIP_CENTRAL = (
    b"PK\x01\x02",
    46,
    [(6, 2), (8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (34, 2), (42, 4)],
)
ZIP_END = (b"PK\x05\x06", 22, [(4, 2), (6, 2), (8, 2), (10, 2), (12, 4), (16, 4), (20, 2)])


# --------------------------------------------------------------------------------------- bytes
def mutate_bytes(data: bytes, rng: random.Random, operations: int | None = None) -> bytes:
    """``data`` with 1-4 random edits: bit flip, byte set, u32 set to an interesting value, insert, delete."""
    out = bytearray(data)
    for _ in range(operations or rng.randint(1, 4)):
        if not out:
            out += rng.randbytes(rng.randint(1, 8))
            continue
        pos = rng.randrange(len(out))
        kind = rng.choice(("flip", "set", "u32", "u16", "insert", "delete"))
        if kind == "flip":
            out[pos] ^= 1 << rng.randrange(8)
        elif kind == "set":
            out[pos] = rng.randrange(256)
        elif kind == "u32" and pos + 4 <= len(out):
            struct.pack_into("<I", out, pos - pos % 4, rng.choice(INTERESTING_U32))
        elif kind == "u16" and pos + 2 <= len(out):
            struct.pack_into("<H", out, pos - pos % 2, rng.choice(INTERESTING_U16))
        elif kind == "insert":
            out[pos:pos] = rng.randbytes(rng.randint(1, 16))
        else:
            del out[pos : pos + rng.randint(1, 16)]
    return bytes(out)


def mutate_dex(data: bytes, rng: random.Random) -> bytes:
    """A DEX with one targeted corruption: a header field, an id-table slot, or bytes of the data section."""
    out = bytearray(data)
    if len(out) < 0x70:
        return mutate_bytes(data, rng)
    target = rng.choice(("header", "id_table", "code"))
    if target == "header":
        field = rng.choice(DEX_HEADER_FIELDS)
        old = struct.unpack_from("<I", out, field)[0]
        value = rng.choice((*INTERESTING_U32, old + 1, max(old - 1, 0), old * 2 & 0xFFFFFFFF, len(out)))
        struct.pack_into("<I", out, field, value & 0xFFFFFFFF)
        return bytes(out)
    if target == "id_table":
        size_field, item = rng.choice(DEX_ID_TABLES)
        size, off = struct.unpack_from("<II", out, size_field)
        if size and off + size * item <= len(out):
            slot = off + rng.randrange(size) * item + 4 * rng.randrange(max(1, item // 4))
            if slot + 4 <= len(out):
                struct.pack_into("<I", out, slot, rng.choice((*INTERESTING_U32, rng.randrange(size + 2))))
                return bytes(out)
        return mutate_bytes(data, rng)
    # Code items and class data live in the data section: edit bytes there only, so the
    # header and id tables still validate and the bytecode walker is what meets the damage.
    data_size, data_off = struct.unpack_from("<II", out, 0x68)
    start, end = data_off, min(len(out), data_off + data_size)
    if not 0x70 <= start < end:
        return mutate_bytes(data, rng)
    section = mutate_bytes(bytes(out[start:end]), rng)
    section = section[: end - start].ljust(end - start, b"\x00")  # keep every later offset valid
    out[start:end] = section
    return bytes(out)


# ----------------------------------------------------------------------------------------- zip
def rezip(apk: bytes, replace: dict[str, bytes]) -> bytes:
    """The archive re-written by ``zipfile`` with some entries' bytes replaced (order and methods kept)."""
    source = zipfile.ZipFile(io.BytesIO(apk))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = replace.get(info.filename)
            if data is None:
                data = source.read(info)
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.compress_type = info.compress_type
            copy.external_attr = info.external_attr
            target.writestr(copy, data)
    return out.getvalue()


def rezip_without(apk: bytes, name: str) -> bytes:
    """The archive re-written without entry ``name``."""
    source = zipfile.ZipFile(io.BytesIO(apk))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info, source.read(info))
    return out.getvalue()


def zeros_deflated(size: int) -> bytes:
    """A raw deflate stream of ``size`` zero bytes (rounded down to whole MiB), built in milliseconds.

    After a full flush the compressor forgets its history, so every 1 MiB block compresses to
    the same bytes: compress one block and repeat it.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(bytes(2**20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * (size // 2**20) + compressor.flush()


def with_bomb_entry(apk: bytes, name: str, *, inflated: int = 64 * 2**20, declared: int | None = 1000) -> bytes:
    """A real APK whose entry ``name`` is replaced by zeros that inflate to ``inflated`` bytes.

    ``declared`` is the uncompressed size the headers claim (None: the true size, so only the
    ratio gives the bomb away). Unlike tests/apk/hostile.py's bombs, the rest of the APK is
    real, so the scan reaches the bomb instead of stopping at a placeholder manifest.
    """
    from apk import hostile  # tests/ is on pytest's pythonpath; the sandbox worker never needs this

    source = zipfile.ZipFile(io.BytesIO(apk))
    builder = hostile.ZipBuilder()
    for info in source.infolist():
        if info.filename != name:
            builder.add(info.filename, source.read(info), method=info.compress_type)
    builder.add(
        name,
        b"",
        payload=zeros_deflated(inflated),
        crc32=0,
        uncompressed_size=inflated if declared is None else declared,
    )
    return builder.build()


def entry_names(apk: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(apk)).namelist()


def record_offsets(apk: bytes, signature: bytes) -> list[int]:
    """Offsets of every occurrence of a ZIP record signature (real records and look-alikes)."""
    found, pos = [], apk.find(signature)
    while pos >= 0:
        found.append(pos)
        pos = apk.find(signature, pos + 1)
    return found


def corrupt_zip_header(apk: bytes, rng: random.Random) -> bytes:
    """The archive with one field of one local, central or end record overwritten."""
    signature, size, fields = rng.choice((ZIP_LOCAL, ZIP_CENTRAL, ZIP_CENTRAL, ZIP_END))
    offsets = [o for o in record_offsets(apk, signature) if o + size <= len(apk)]
    if not offsets:
        return mutate_bytes(apk, rng)
    record = rng.choice(offsets)
    field_offset, field_size = rng.choice(fields)
    at = record + field_offset
    out = bytearray(apk)
    old = int.from_bytes(apk[at : at + field_size], "little")
    mask = (1 << (8 * field_size)) - 1
    pool = INTERESTING_U32 if field_size == 4 else INTERESTING_U16
    value = rng.choice((*pool, (old + 1) & mask, (old - 1) & mask, old ^ (1 << rng.randrange(8 * field_size))))
    out[at : at + field_size] = (value & mask).to_bytes(field_size, "little")
    return bytes(out)


# ------------------------------------------------------------------------------------ mutants
def mutant(apk: bytes, layer: str, seed: int) -> bytes:
    """The mutant of ``apk`` for ``layer`` and ``seed``: same inputs, same bytes, on any machine."""
    rng = random.Random(f"{layer}:{seed}:{len(apk)}")
    if layer == "manifest":
        return rezip(apk, {"AndroidManifest.xml": mutate_bytes(_read(apk, "AndroidManifest.xml"), rng)})
    if layer == "arsc":
        if "resources.arsc" not in entry_names(apk):
            return apk
        return rezip(apk, {"resources.arsc": mutate_bytes(_read(apk, "resources.arsc"), rng)})
    if layer == "dex":
        dexes = sorted(n for n in entry_names(apk) if _is_dex(n))
        if not dexes:
            return apk
        name = rng.choice(dexes)
        return rezip(apk, {name: mutate_dex(_read(apk, name), rng)})
    if layer == "truncate":
        # Half the cuts hit the whole file (the end record is lost); half cut one structure
        # inside a sound archive, so the AXML, ARSC and DEX readers meet the short data.
        inner = [n for n in entry_names(apk) if n in ("AndroidManifest.xml", "resources.arsc") or _is_dex(n)]
        if not inner or rng.random() < 0.5:
            return apk[: rng.randrange(len(apk))]
        name = rng.choice(sorted(inner))
        data = _read(apk, name)
        return rezip(apk, {name: data[: rng.randrange(len(data))]})
    if layer == "zip":
        return corrupt_zip_header(apk, rng)
    raise ValueError(f"unknown mutation layer {layer!r}; use one of {', '.join(LAYERS)}")


def _is_dex(name: str) -> bool:
    return name.startswith("classes") and name.endswith(".dex") and "/" not in name


def _read(apk: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(apk)).read(name)


def write_mutants(apks: Iterable[Path], layer: str, seeds: Iterable[int], folder: Path) -> list[Path]:
    """Write the mutants of every APK for every seed into ``folder``; returns their paths, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    seed_list = list(seeds)
    paths = []
    for apk in apks:
        original = apk.read_bytes()
        for seed in seed_list:
            path = folder / f"{apk.stem}-{layer}-{seed}.apk"
            path.write_bytes(mutant(original, layer, seed))
            paths.append(path)
    return paths


# ------------------------------------------------------------------------------------ sandbox
#: Outcomes the product promises: an Evidence (or ScanReport), or an AppwardenError subclass.
ACCEPTABLE = frozenset({"ok", "error"})


@dataclass(frozen=True)
class Outcome:
    """What happened to one input in the sandbox.

    ``outcome`` is ``ok`` (evidence or report returned), ``error`` (an AppwardenError: ``kind``
    is its class, ``message`` its text), ``bug`` (any other exception: ``kind`` is its type,
    ``message`` the last traceback lines), ``hang`` (no answer within the time limit) or
    ``crash`` (the worker died: a signal, or memory beyond the address-space limit).
    """

    path: str
    outcome: str
    kind: str = ""
    message: str = ""

    @property
    def acceptable(self) -> bool:
        return self.outcome in ACCEPTABLE

    def describe(self) -> str:
        return f"{Path(self.path).name}: {self.outcome} {self.kind} {self.message}".strip()


#: Environment variable: the worker reads every DEX as a large one is read (see _worker).
MAP_EVERY_DEX = "APPWARDEN_FUZZ_MAP_EVERY_DEX"


def _limit_address_space(limit_bytes: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return apply


def run_sandboxed(
    paths: Sequence[Path],
    *,
    pipeline: bool = False,
    time_limit: float = 10.0,
    memory_limit: int = 2 * 2**30,
    env: dict[str, str] | None = None,
) -> list[Outcome]:
    """Run the worker over ``paths`` under RLIMIT_AS=``memory_limit``; ``time_limit`` seconds per input.

    A hang or crash is recorded for the input the worker had started, and a fresh worker
    continues with the next one.
    """
    outcomes: list[Outcome] = []
    remaining = [str(p) for p in paths]
    command = [sys.executable, str(Path(__file__).resolve()), "worker", *(["--pipeline"] if pipeline else [])]
    while remaining:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_limit_address_space(memory_limit),
            env={**os.environ, **(env or {})},
        )
        assert proc.stdin is not None and proc.stdout is not None
        # One path at a time: the parent always knows which input the worker is on.
        while remaining:
            current = remaining[0]
            try:
                proc.stdin.write(current + "\n")
                proc.stdin.flush()
            except BrokenPipeError:
                break
            line = _read_line(proc, time_limit)
            if not line:  # None: a hang; "": the worker died. Blame the current input, start a fresh worker.
                proc.kill()
                _, stderr = proc.communicate()
                tail = " | ".join(stderr.strip().splitlines()[-3:])
                if line is None:
                    outcomes.append(Outcome(current, "hang", "", f"no result within {time_limit:g} s"))
                else:
                    outcomes.append(Outcome(current, "crash", f"exit {proc.returncode}", tail))
                remaining.pop(0)
                break
            record = json.loads(line)
            outcomes.append(Outcome(record["path"], record["outcome"], record["kind"], record["message"]))
            remaining.pop(0)
        else:
            proc.stdin.close()
            proc.wait(timeout=time_limit)
    return outcomes


def _read_line(proc: subprocess.Popen[str], time_limit: float) -> str | None:
    """The worker's next output line; None when it gives none within ``time_limit`` seconds, "" when it died."""
    import selectors

    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + time_limit
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(timeout=left):
                return None
            return proc.stdout.readline()


def _worker(pipeline: bool) -> None:
    """Read APK paths from stdin, one per line; write one JSON outcome per line to stdout."""
    import traceback

    from appwarden.apk import zip as zipmod
    from appwarden.errors import AppwardenError
    from appwarden.evidence.extract import extract_evidence
    from appwarden.findings import ScanReport

    if os.environ.get(MAP_EVERY_DEX) == "1":
        # Every DEX in a memory map whose pages are released as the reader goes, as a DEX of a
        # megabyte or more is read; the samples' small ones would otherwise never take that path.
        zipmod._MAPPED_MIN_BYTES = 1

    for raw in sys.stdin:
        path = raw.strip()
        if not path:
            continue
        record: dict[str, str] = {"path": path, "outcome": "ok", "kind": "", "message": ""}
        try:
            evidence = extract_evidence(path)
            record["kind"] = f"{len(evidence.warnings)} warnings"
            if pipeline:
                from appwarden.pipeline import evaluate

                report = evaluate(evidence)
                assert isinstance(report, ScanReport)
                crashed = [u.rule_id for u in report.undecided if " failed: " in u.reason]
                record["kind"] = f"{len(report.findings)} findings, {len(crashed)} crashed rules"
                record["message"] = ",".join(crashed)
        except AppwardenError as exc:
            record.update(outcome="error", kind=type(exc).__name__, message=str(exc))
        except MemoryError:
            record.update(outcome="crash", kind="MemoryError", message="ran out of the address-space limit")
        except Exception as exc:
            lines = traceback.format_exception(exc)
            record.update(outcome="bug", kind=type(exc).__name__, message=" | ".join(s.strip() for s in lines[-3:]))
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if sys.argv[1:2] != ["worker"]:
        sys.exit("usage: mutate.py worker [--pipeline]   (APK paths on stdin, JSON lines on stdout)")
    _worker(pipeline="--pipeline" in sys.argv[2:])
