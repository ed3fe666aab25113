"""Build appwarden's sample apps from their sources with real Android tools.

Every directory under ``tests/fixtures/apps/`` is an apktool project (smali
sources, a text manifest, resources, assets, native libs). This tool turns each
one into a signed APK in ``examples/``:

    apktool b  ->  normalise the ZIP (fixed timestamps and order)  ->  zipalign  ->  apksigner (v1+v2+v3)

``--check`` rebuilds into a temporary directory and compares the content of
every entry outside ``META-INF/`` (DEX, manifest, resources, assets, libs) with
the committed APKs; the signature bytes are not compared.

Debian's ``apktool`` wrapper links its framework into ``$HOME``; this tool runs
apktool's main class directly and links Debian's framework-res.apk into a
temporary frame path (``-p``) instead, so a build writes nothing outside its
temporary directory and its output APKs. Native-library stubs are generated
(see ``NATIVE_STUBS``) because the repository ignores ``*.so`` files.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from appwarden.errors import AppwardenError

REPO_ROOT = Path(__file__).resolve().parents[1]
APPS_DIR = REPO_ROOT / "tests" / "fixtures" / "apps"
KEYSTORE = REPO_ROOT / "tests" / "fixtures" / "keystore" / "appwarden-test.p12"
EXAMPLES_DIR = REPO_ROOT / "examples"

# Test-only signing key, committed on purpose (see tests/fixtures/keystore/README.md).
KEYSTORE_PASSWORD = "appwarden-test"
KEY_ALIAS = "appwarden-test"

FRAMEWORK_APK = Path("/usr/share/android-framework-res/framework-res.apk")
APKTOOL_JAR_DIR = Path("/usr/share/apktool")

# 2026-01-01 00:00:00: any fixed instant makes the ZIP independent of the build time.
FIXED_ZIP_TIME = (2026, 1, 1, 0, 0, 0)
# Entries Android reads in place (mmap) must be stored, not deflated.
STORED_SUFFIXES = (".arsc",)
MAX_APK_BYTES = 100 * 1024
TOOL_TIMEOUT_SECONDS = 300
PARALLEL_BUILDS = 2


EM_AARCH64 = 183
EM_X86_64 = 62


@dataclass(frozen=True)
class NativeStub:
    """A tiny ELF shared object a sample app carries: a named library with no code.

    The stubs are generated at build time rather than kept as files because the
    repository ignores ``*.so``; their bytes depend only on this table.
    """

    app: str
    path: str  # inside the apktool project (lib/<abi>/..., assets/...)
    machine: int
    strings: tuple[str, ...]


NATIVE_STUBS: tuple[NativeStub, ...] = (
    NativeStub(
        "sdkdemo",
        "lib/arm64-v8a/libjcore.so",
        EM_AARCH64,
        ("JCore", "cn/jpush/android/service/JCore", "JNI_OnLoad", "jcore native stub for appwarden fixtures"),
    ),
    NativeStub(
        "packed", "assets/libjiagu.so", EM_AARCH64, ("jiagu", "JNI_OnLoad", "interface7", "stub for appwarden fixtures")
    ),
    NativeStub(
        "packed",
        "assets/libjiagu_x86.so",
        EM_X86_64,
        ("jiagu", "JNI_OnLoad", "interface7", "stub for appwarden fixtures"),
    ),
)


def elf_stub(machine: int, strings: Sequence[str]) -> bytes:
    """A valid little-endian ELF64 ET_DYN file: header, ``.rodata`` holding ``strings``, ``.shstrtab``.

    It has no program headers and no code; readelf and ELF parsers accept it.
    """
    rodata = b"\0" + b"\0".join(text.encode("utf-8") for text in strings) + b"\0"
    section_names = b"\0.rodata\0.shstrtab\0"
    rodata_offset = 64
    names_offset = rodata_offset + len(rodata)
    section_table_offset = (names_offset + len(section_names) + 7) & ~7
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # ELFCLASS64, little-endian, version 1, System V
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 3, machine, 1, 0, 0, section_table_offset, 0, 64, 56, 0, 64, 3, 2
    )  # ET_DYN, no entry, no program headers, 3 sections, names in section 2
    body = header + rodata + section_names
    body += bytes(section_table_offset - len(body))
    sections = bytes(64)  # SHN_UNDEF
    sections += struct.pack("<IIQQQQIIQQ", 1, 1, 2, 0, rodata_offset, len(rodata), 0, 0, 1, 0)  # PROGBITS, ALLOC
    sections += struct.pack("<IIQQQQIIQQ", 9, 3, 0, 0, names_offset, len(section_names), 0, 0, 1, 0)  # STRTAB
    return body + sections


class FixtureBuildError(AppwardenError):
    """A sample app could not be built, or a committed APK no longer matches its sources."""

    code = "fixture_build"
    exit_code = 1


@dataclass(frozen=True)
class Toolchain:
    """The external programs one build uses."""

    apktool: tuple[str, ...]
    zipalign: str
    apksigner: str


@dataclass(frozen=True)
class ContentMismatch:
    """One APK entry whose rebuilt content differs from the committed APK."""

    app: str
    entry: str
    reason: str


def app_names(apps_dir: Path = APPS_DIR) -> list[str]:
    """Names of the sample apps: every directory holding an ``apktool.yml``, sorted."""
    return sorted(p.parent.name for p in apps_dir.glob("*/apktool.yml"))


def find_toolchain() -> Toolchain:
    """Locate apktool, zipalign and apksigner, or say which one is missing."""
    java = shutil.which("java")
    if java and (APKTOOL_JAR_DIR / "apktool-cli.jar").is_file():
        apktool: tuple[str, ...] = (
            java,
            "-Xmx512M",
            "-Dfile.encoding=utf-8",
            "-cp",
            f"{APKTOOL_JAR_DIR}/*",
            "brut.apktool.Main",
        )
    elif shutil.which("apktool"):
        apktool = (str(shutil.which("apktool")),)
    else:
        raise FixtureBuildError("apktool is not installed", detail="run `make tools` (Debian package apktool)")
    found: dict[str, str] = {}
    for name in ("zipalign", "apksigner"):
        path = shutil.which(name)
        if path is None:
            raise FixtureBuildError(f"{name} is not installed", detail="run `make tools`")
        found[name] = path
    if not FRAMEWORK_APK.is_file():
        raise FixtureBuildError(
            f"Android framework resources not found at {FRAMEWORK_APK}",
            detail="install the Debian package android-framework-res",
        )
    return Toolchain(apktool=apktool, zipalign=found["zipalign"], apksigner=found["apksigner"])


def _run(command: Sequence[str], what: str) -> None:
    # A fixed locale keeps aapt's and apktool's text handling the same on every machine.
    env = dict(os.environ, LC_ALL="C.UTF-8")
    try:
        result = subprocess.run(
            list(command), capture_output=True, text=True, timeout=TOOL_TIMEOUT_SECONDS, env=env, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise FixtureBuildError(f"{what} took longer than {TOOL_TIMEOUT_SECONDS} s") from exc
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-15:]
        raise FixtureBuildError(f"{what} failed (exit {result.returncode})", detail="\n".join(tail))


def install_framework(frame_dir: Path) -> None:
    """Make Debian's framework-res.apk framework 1 in ``frame_dir`` (never in $HOME).

    A link is what Debian's own apktool wrapper puts in ~/.local/share/apktool/framework;
    ``apktool if`` would give the same resource IDs but costs a JVM run and a 31 MB copy.
    """
    frame_dir.mkdir(parents=True, exist_ok=True)
    target = frame_dir / "1.apk"
    if target.exists() or target.is_symlink():
        return
    try:
        target.symlink_to(FRAMEWORK_APK)
    except OSError:
        shutil.copyfile(FRAMEWORK_APK, target)


def _entry_order(name: str) -> tuple[int, str]:
    # The conventional APK order: manifest, code, resource table, then the rest by name.
    if name == "AndroidManifest.xml":
        return (0, name)
    if name.startswith("classes") and name.endswith(".dex") and "/" not in name:
        return (1, name)
    if name == "resources.arsc":
        return (2, name)
    return (3, name)


def normalise_zip(source: Path, target: Path) -> None:
    """Rewrite ``source`` with fixed timestamps, permissions and entry order into ``target``.

    apktool stamps entries with the build time; the result of this step depends
    only on the entries' names and bytes.
    """
    with zipfile.ZipFile(source) as raw:
        entries = [(info.filename, raw.read(info)) for info in raw.infolist() if not info.is_dir()]
    entries.sort(key=lambda entry: _entry_order(entry[0]))
    with zipfile.ZipFile(target, "w") as out:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.create_system = 0
            info.external_attr = 0
            info.compress_type = zipfile.ZIP_STORED if name.endswith(STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
            out.writestr(info, data, compresslevel=9)


def build_unsigned(app: str, tools: Toolchain, frame_dir: Path, work_dir: Path) -> Path:
    """Assemble one sample app with apktool and normalise the ZIP; return the unsigned APK."""
    source_dir = APPS_DIR / app
    if not (source_dir / "apktool.yml").is_file():
        raise FixtureBuildError(f"no sample app named {app!r}", detail=f"choose from {', '.join(app_names())}")
    # apktool writes build/ and dist/ inside the project: work on a copy so the sources stay clean.
    project = work_dir / "src" / app
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(source_dir, project)
    for stub in NATIVE_STUBS:
        if stub.app == app:
            (project / stub.path).parent.mkdir(parents=True, exist_ok=True)
            (project / stub.path).write_bytes(elf_stub(stub.machine, stub.strings))
    built = work_dir / f"{app}.built.apk"
    normalised = work_dir / f"{app}.unsigned.apk"
    _run([*tools.apktool, "b", "-f", "-p", str(frame_dir), "-o", str(built), str(project)], f"apktool b {app}")
    normalise_zip(built, normalised)
    return normalised


def align_and_sign(app: str, tools: Toolchain, unsigned: Path, out_dir: Path) -> Path:
    """zipalign and sign (v1+v2+v3, test key) an unsigned APK into ``out_dir/<app>.apk``."""
    aligned = unsigned.with_name(f"{app}.aligned.apk")
    aligned.unlink(missing_ok=True)
    _run([tools.zipalign, "-p", "-f", "4", str(unsigned), str(aligned)], f"zipalign {app}")
    out_dir.mkdir(parents=True, exist_ok=True)
    signed = out_dir / f"{app}.apk"
    _run(
        [
            tools.apksigner,
            "sign",
            "--ks",
            str(KEYSTORE),
            "--ks-pass",
            f"pass:{KEYSTORE_PASSWORD}",
            "--ks-key-alias",
            KEY_ALIAS,
            "--key-pass",
            f"pass:{KEYSTORE_PASSWORD}",
            "--v1-signing-enabled",
            "true",
            "--v2-signing-enabled",
            "true",
            "--v3-signing-enabled",
            "true",
            "--out",
            str(signed),
            str(aligned),
        ],
        f"apksigner sign {app}",
    )
    # apksigner may leave an .idsig file next to the output for v4; nothing else belongs in examples/.
    (out_dir / f"{app}.apk.idsig").unlink(missing_ok=True)
    size = signed.stat().st_size
    if size > MAX_APK_BYTES:
        raise FixtureBuildError(
            f"{app}.apk is {size} bytes", detail=f"sample apps must stay under {MAX_APK_BYTES} bytes"
        )
    return signed


def content_digests(apk: Path) -> dict[str, str]:
    """SHA-256 of every entry's uncompressed bytes, keyed by name, signature files excluded."""
    with zipfile.ZipFile(apk) as archive:
        return {
            info.filename: hashlib.sha256(archive.read(info)).hexdigest()
            for info in archive.infolist()
            if not info.filename.startswith("META-INF/") and not info.is_dir()
        }


def compare_content(app: str, committed: Path, rebuilt: Path) -> list[ContentMismatch]:
    """Entries (outside META-INF/) whose presence or bytes differ between the two APKs."""
    if not committed.is_file():
        return [ContentMismatch(app, "*", f"{committed} is missing: run tools/build_fixtures.py")]
    old, new = content_digests(committed), content_digests(rebuilt)
    mismatches = [ContentMismatch(app, name, "only in the committed APK") for name in sorted(old.keys() - new.keys())]
    mismatches += [ContentMismatch(app, name, "only in the rebuilt APK") for name in sorted(new.keys() - old.keys())]
    mismatches += [
        ContentMismatch(app, name, "content differs")
        for name in sorted(old.keys() & new.keys())
        if old[name] != new[name]
    ]
    return mismatches


def _build_many(apps: Sequence[str], work_dir: Path) -> tuple[Toolchain, list[Path]]:
    tools = find_toolchain()
    frame_dir = work_dir / "framework"
    install_framework(frame_dir)
    # Each apktool run is a JVM that mostly waits on start-up: two at a time halves the wall time.
    with ThreadPoolExecutor(max_workers=PARALLEL_BUILDS) as pool:
        unsigned = list(pool.map(lambda app: build_unsigned(app, tools, frame_dir, work_dir), apps))
    return tools, unsigned


def build_all(apps: Sequence[str], out_dir: Path, work_dir: Path) -> list[Path]:
    """Build and sign every named app into ``out_dir``; return the signed APK paths in the same order."""
    tools, unsigned = _build_many(apps, work_dir)
    return [align_and_sign(app, tools, apk, out_dir) for app, apk in zip(apps, unsigned, strict=True)]


def check_all(apps: Sequence[str], examples_dir: Path, work_dir: Path) -> list[ContentMismatch]:
    """Rebuild every named app in ``work_dir`` and compare its content with the APK in ``examples_dir``.

    Signing changes only META-INF/ and the signing block, which the comparison ignores, so the
    rebuilt APKs are not signed.
    """
    _, unsigned = _build_many(apps, work_dir)
    mismatches: list[ContentMismatch] = []
    for app, apk in zip(apps, unsigned, strict=True):
        mismatches += compare_content(app, examples_dir / f"{app}.apk", apk)
    return mismatches


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="rebuild in a temporary directory and compare with examples/"
    )
    parser.add_argument("--app", action="append", default=None, help="build only this app (repeatable)")
    parser.add_argument("--out", type=Path, default=EXAMPLES_DIR, help="where signed APKs go (default: examples/)")
    args = parser.parse_args(argv)
    apps: list[str] = args.app or app_names()
    try:
        with tempfile.TemporaryDirectory(prefix="appwarden-fixtures-") as tmp:
            if args.check:
                mismatches = check_all(apps, args.out, Path(tmp))
                for mismatch in mismatches:
                    print(f"{mismatch.app}: {mismatch.entry}: {mismatch.reason}", file=sys.stderr)
                if mismatches:
                    print("committed APKs differ from their sources: run tools/build_fixtures.py", file=sys.stderr)
                    return 1
                print(f"{len(apps)} sample apps match their sources")
                return 0
            for apk in build_all(apps, args.out, Path(tmp)):
                print(
                    f"built {apk.relative_to(REPO_ROOT) if apk.is_relative_to(REPO_ROOT) else apk} ({apk.stat().st_size} bytes)"
                )
    except FixtureBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
