"""Tests of the defensive APK container reader (appwarden.apk.zip)."""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import random
import re
import shutil
import subprocess
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest

from apk import hostile  # tests/ is on pythonpath; tests/apk is a namespace package
from appwarden.apk import zip as zipmod
from appwarden.apk.zip import ApkArchive, ArchiveWarning, ZipEntry, ZipLimits
from appwarden.errors import (
    AppwardenError,
    HostileApkError,
    LimitExceededError,
    MalformedStructureError,
    UnreadableInputError,
)
from support import EXAMPLES

FRAMEWORK_RES = Path("/usr/share/android-framework-res/framework-res.apk")

needs_framework = pytest.mark.skipif(not FRAMEWORK_RES.exists(), reason=f"{FRAMEWORK_RES} not installed")
needs_aapt = pytest.mark.skipif(shutil.which("aapt") is None, reason="aapt (Debian package aapt) not installed")


@pytest.fixture(autouse=True, params=["isal", "zlib"])
def inflate_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with ISA-L's inflater (the default) and with zlib's (the fallback)."""
    if request.param == "zlib":
        monkeypatch.setattr(zipmod, "_inflate_backend", zlib)
    else:
        assert zipmod._inflate_backend is not zlib, "isal is a dependency: the default inflater must be ISA-L's"
    return str(request.param)


def _codes(archive: ApkArchive) -> list[str]:
    return [w.code for w in archive.warnings]


# ------------------------------------------------------------------ refused inputs
REFUSED = [
    (hostile.empty, UnreadableInputError, r"is empty \(0 bytes\)"),
    (hostile.random_bytes, UnreadableInputError, r"no end-of-central-directory record .*not a ZIP archive"),
    (lambda: b"PK\x03\x04", UnreadableInputError, r"4 bytes, too small to be a ZIP"),
    (hostile.truncated, UnreadableInputError, r"not a ZIP archive, or truncated"),
    (hostile.truncated_tail, UnreadableInputError, r"central directory .* runs past .*truncated or corrupt"),
    (hostile.trailing_garbage, UnreadableInputError, r"does not end the file"),
    (
        hostile.overlapping_entries,
        HostileApkError,
        r"entries 'assets/a.bin' and 'assets/b.bin' overlap .*zip-bomb-by-overlap",
    ),
    (hostile.shared_local_header, HostileApkError, r"entry 'assets/x.bin ': local header names it 'assets/x.bin'"),
    (hostile.nul_in_name, HostileApkError, r"name 'classes.dex\\x00.png' contains a NUL byte"),
    (hostile.duplicate_names, HostileApkError, r"duplicate entry name 'classes.dex'"),
    (hostile.local_name_mismatch, HostileApkError, r"entry 'classes.dex': local header names it 'classes.dey'"),
    (
        hostile.local_method_mismatch,
        HostileApkError,
        r"entry 'classes.dex': local header says compression method 0, central directory says 8",
    ),
    (hostile.data_offset_past_end, UnreadableInputError, r"entry 'assets/far.bin' local header .* past the end"),
    (hostile.data_past_end, UnreadableInputError, r"entry 'assets/long.bin' data .* runs past the end of the file"),
    (hostile.janus, HostileApkError, r"starts with a DEX file .*Janus"),
    (
        lambda: hostile.minimal_apk(declared_entries=5).build(),
        UnreadableInputError,
        r"central directory entry #3 .* missing or corrupt \(the end record announces 5 entries\)",
    ),
]


@pytest.mark.parametrize(("make", "error", "message"), REFUSED, ids=[case[0].__name__ for case in REFUSED])
def test_hostile_or_broken_archive_is_refused_with_a_precise_error(make, error, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error) as caught:
        ApkArchive.open(make())
    assert type(caught.value) is error
    assert re.search(message, str(caught.value)), str(caught.value)


@pytest.mark.parametrize(
    "name", ["../evil.so", "lib/../../evil.so", "..\\evil", "/system/bin/sh", "\\abs", "C:\\x.dll"]
)
def test_traversal_and_absolute_names_are_refused(name: str) -> None:
    with pytest.raises(HostileApkError, match=re.escape(repr(name))) as caught:
        ApkArchive.open(hostile.traversal(name))
    assert "path traversal" in str(caught.value) or "absolute path" in str(caught.value)


def test_dotted_names_that_are_not_traversal_are_accepted() -> None:
    with ApkArchive.open(hostile.traversal("assets/..hidden/a..b")) as archive:
        assert archive.has("assets/..hidden/a..b")


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to count open files")
def test_refused_or_closed_file_releases_its_descriptor(tmp_path: Path) -> None:
    refused = hostile.write(tmp_path, "dup.apk", hostile.duplicate_names())
    accepted = hostile.write(tmp_path, "ok.apk", hostile.minimal_apk().build())
    before = len(list(Path("/proc/self/fd").iterdir()))
    with pytest.raises(HostileApkError):
        ApkArchive.open(refused)
    with ApkArchive.open(accepted) as archive:
        assert len(list(Path("/proc/self/fd").iterdir())) == before + 1
    assert archive.names()  # metadata stays usable after close
    assert len(list(Path("/proc/self/fd").iterdir())) == before


def test_missing_file_is_unreadable_input(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInputError, match="cannot open"):
        ApkArchive.open(tmp_path / "absent.apk")


# ------------------------------------------------------------------ limits
def test_entry_count_limit() -> None:
    with pytest.raises(LimitExceededError, match=r"entry count 50 exceeds the limit of 10 \(limit max_entries\)"):
        ApkArchive.open(hostile.many_entries(50), ZipLimits(max_entries=10))


def test_total_declared_size_limit() -> None:
    data = hostile.declared_total(size_each=2**30, count=5)
    with pytest.raises(LimitExceededError, match=r"add up past 4 GiB at entry 'assets/4.bin' \(limit max_total_size\)"):
        ApkArchive.open(data)


def test_name_length_limit() -> None:
    with pytest.raises(LimitExceededError, match=r"5000-byte name, over the limit of 4096 \(limit max_name_length\)"):
        ApkArchive.open(hostile.long_name(5000))


def test_deflate_bomb_with_lying_size_is_stopped_by_ratio_while_inflating() -> None:
    archive = ApkArchive.open(hostile.deflate_bomb(uncompressed=64 * 2**20, declared=1000))
    entry = archive.entry("assets/bomb.bin")
    produced = 0
    tracemalloc.start()
    try:
        with pytest.raises(HostileApkError, match=r"'assets/bomb.bin' inflates past its declared size of 1000 bytes"):
            for chunk in archive.iter_read(entry):
                produced += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert produced <= 1000
    assert peak < 4 * 2**20, "inflation must stop near the declared size, not after the bomb"
    # Other entries stay readable.
    assert archive.read(hostile.MANIFEST) == hostile.MANIFEST_BYTES


def test_deflate_bomb_with_honest_size_is_refused_before_inflating() -> None:
    archive = ApkArchive.open(hostile.deflate_bomb(uncompressed=64 * 2**20, declared=None))
    with pytest.raises(
        LimitExceededError, match=r"'assets/bomb.bin' declares a compression ratio of \d+:1, over 200:1"
    ):
        archive.read("assets/bomb.bin")


def test_bomb_whose_declared_size_is_zero_is_stopped_by_the_ratio_limit() -> None:
    # Declared size 0 and a CRC of 0: only measuring while inflating catches it.
    limits = ZipLimits(max_ratio=50.0)
    archive = ApkArchive.open(hostile.deflate_bomb(uncompressed=32 * 2**20, declared=0), limits)
    entry = archive.entry("assets/bomb.bin")
    with pytest.raises(HostileApkError, match="inflates past its declared size of 0 bytes"):
        archive.read(entry.name)


def test_inflation_stops_at_max_entry_size() -> None:
    # Declared honestly as 8 MiB but the limit is 2 MiB and ratio checks are generous.
    limits = ZipLimits(max_entry_size=2 * 2**20, max_ratio=1e9)
    archive = ApkArchive.open(hostile.deflate_bomb(uncompressed=8 * 2**20, declared=1000), limits)
    archive_limit = ApkArchive.open(hostile.deflate_bomb(uncompressed=8 * 2**20, declared=None), limits)
    with pytest.raises(LimitExceededError, match=r"'assets/bomb.bin' declares 8388608 bytes uncompressed, over 2 MiB"):
        archive_limit.read("assets/bomb.bin")
    with pytest.raises(HostileApkError, match="inflates past its declared size"):
        archive.read("assets/bomb.bin")


def test_inflate_limit_message_names_entry_and_limit() -> None:
    # Declared size above the real size so that the limit, not the lie, stops inflation.
    limits = ZipLimits(max_entry_size=2 * 2**20, max_ratio=1e9)
    builder = hostile.minimal_apk()
    payload = hostile.deflate(bytes(8 * 2**20))
    builder.add("classes.dex", b"", payload=payload, uncompressed_size=2 * 2**20, crc32=0)
    builder.members.pop(1)  # drop the small classes.dex of minimal_apk
    archive = ApkArchive.open(builder.build(), limits)
    with pytest.raises(LimitExceededError, match=r"entry 'classes.dex' inflates past 2 MiB \(limit max_entry_size\)"):
        archive.read("classes.dex")


# ------------------------------------------------------------------ reading into a private map
def _large_apk(method: int) -> tuple[bytes, bytes]:
    rng = random.Random(5)
    content = bytes(rng.getrandbits(8) for _ in range(3 * 2**20 // 4)) * 4 + b"tail"
    builder = hostile.minimal_apk()
    if method == zipfile.ZIP_DEFLATED:
        builder.add("classes2.dex", content)
    else:
        builder.add("classes2.dex", content, method=hostile.STORED)
    return builder.build(), content


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_read_mapped_gives_a_large_entry_in_a_private_map_with_the_same_bytes(method: int) -> None:
    data, content = _large_apk(method)
    with ApkArchive.open(data) as archive:
        mapped = archive.read_mapped("classes2.dex")
        small = archive.read_mapped(hostile.MANIFEST)
    assert isinstance(small, bytes) and small == hostile.MANIFEST_BYTES
    if not zipmod.CAN_RELEASE_PAGES:
        assert mapped == content
        return
    assert isinstance(mapped, mmap.mmap)
    assert len(mapped) == len(content) and mapped[:] == content
    # Private: a page handed back is gone (reads as zeros), not kept in shared memory.
    mapped.madvise(mmap.MADV_DONTNEED, 0, mmap.PAGESIZE)
    assert mapped[: mmap.PAGESIZE] == bytes(mmap.PAGESIZE)


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_iter_read_gives_chunks_no_larger_than_asked(method: int) -> None:
    data, content = _large_apk(method)
    with ApkArchive.open(data) as archive:
        entry = archive.entry("classes2.dex")
        head = next(archive.iter_read(entry, chunk_bytes=16))
        chunks = list(archive.iter_read(entry, chunk_bytes=100_000))
    assert head == content[:16]
    assert max(len(c) for c in chunks) <= 100_000 and b"".join(chunks) == content


def test_read_mapped_refuses_what_read_refuses() -> None:
    limits = ZipLimits(max_ratio=1e9)
    lying = ApkArchive.open(hostile.deflate_bomb(uncompressed=16 * 2**20, declared=2 * 2**20), limits)
    with pytest.raises(HostileApkError, match=r"'assets/bomb.bin' inflates past its declared size of 2097152 bytes"):
        lying.read_mapped("assets/bomb.bin")
    honest = ApkArchive.open(hostile.deflate_bomb(uncompressed=64 * 2**20, declared=None))
    with pytest.raises(LimitExceededError, match=r"declares a compression ratio of \d+:1, over 200:1"):
        honest.read_mapped("assets/bomb.bin")
    short = ApkArchive.open(hostile.deflate_bomb(uncompressed=2 * 2**20, declared=3 * 2**20), limits)
    with pytest.raises(MalformedStructureError, match=r"inflates to 2097152 bytes but declares 3145728"):
        short.read_mapped("assets/bomb.bin")


# ------------------------------------------------------------------ accepted oddities
def test_comment_of_64_kib_with_fake_end_signature_is_read() -> None:
    with ApkArchive.open(hostile.long_comment()) as archive:
        assert archive.names() == [hostile.MANIFEST, "classes.dex", "res/raw/blob.bin"]
        assert archive.read(hostile.MANIFEST) == hostile.MANIFEST_BYTES
        assert "eocd_signature_in_comment" in _codes(archive)


def test_zip64_records_and_extra_fields_are_read() -> None:
    data = hostile.zip64()
    with ApkArchive.open(data) as archive:
        assert archive.names() == [hostile.MANIFEST, "assets/data.bin"]
        assert archive.read("assets/data.bin") == b"x" * 5000
        assert archive.entry("assets/data.bin").uncompressed_size == 5000
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as reference:
        assert reference.read("assets/data.bin") == b"x" * 5000


def test_zip64_written_by_python_zipfile_is_read(tmp_path: Path) -> None:
    path = tmp_path / "zip64.apk"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as writer:
        for index in range(3):
            with writer.open(f"assets/{index}.txt", "w", force_zip64=True) as member:
                member.write(b"line %d\n" % index * 1000)
    with ApkArchive.open(path) as archive:
        assert _our_listing(archive) == _zipfile_listing(path)
        assert archive.read("assets/2.txt") == b"line 2\n" * 1000


def test_entries_over_the_limits_are_announced_at_open() -> None:
    with ApkArchive.open(hostile.deflate_bomb(uncompressed=64 * 2**20, declared=None)) as archive:
        (warning,) = [w for w in archive.warnings if w.code == "entry_over_limit"]
        assert warning.where == "assets/bomb.bin"
        assert re.search(r"compression ratio of \d+:1, over 200:1 \(max_ratio\)", warning.message)
        assert archive.read(hostile.MANIFEST) == hostile.MANIFEST_BYTES


def test_fake_encrypted_flag_is_ignored_with_a_warning() -> None:
    with ApkArchive.open(hostile.fake_encrypted()) as archive:
        assert archive.entry("classes.dex").encrypted_flag
        assert archive.read("classes.dex").startswith(b"dex\n035")
        assert (
            archive.warnings.count(
                ArchiveWarning(
                    "encrypted_flag",
                    "the 'encrypted' flag is set; Android ignores it and so do we (an anti-analysis trick)",
                    "classes.dex",
                )
            )
            == 1
        )


def test_unknown_method_is_read_as_stored_like_android() -> None:
    with ApkArchive.open(hostile.unknown_method()) as archive:
        assert archive.entry("assets/odd.bin").method == 0x4C
        assert archive.read("assets/odd.bin") == b"payload read as stored by Android 9+" * 3
        assert ("unknown_compression_method", "assets/odd.bin") in [(w.code, w.where) for w in archive.warnings]


def test_unknown_method_with_unequal_sizes_is_unreadable_but_only_that_entry() -> None:
    with ApkArchive.open(hostile.unknown_method(equal_sizes=False)) as archive:
        with pytest.raises(MalformedStructureError, match=r"'assets/odd.bin' uses compression method 76"):
            archive.read("assets/odd.bin")
        assert archive.read("res/raw/blob.bin") == b"stored-bytes" * 10


def test_crc_mismatch_fails_only_that_entry() -> None:
    with ApkArchive.open(hostile.crc_mismatch()) as archive:
        with pytest.raises(
            MalformedStructureError, match=r"'assets/bad-crc.txt' fails its CRC check \(declared 0x12345678"
        ):
            archive.read("assets/bad-crc.txt")
        assert archive.read(hostile.MANIFEST) == hostile.MANIFEST_BYTES


def test_corrupt_deflate_data_fails_only_that_entry() -> None:
    with ApkArchive.open(hostile.corrupt_deflate()) as archive:
        with pytest.raises(MalformedStructureError, match=r"'assets/corrupt.bin' has corrupt deflate data"):
            archive.read("assets/corrupt.bin")
        assert archive.read("classes.dex").startswith(b"dex\n")


def test_non_dex_preamble_is_a_warning() -> None:
    with ApkArchive.open(hostile.stub_prefix()) as archive:
        assert _codes(archive) == ["leading_bytes"]
        assert archive.read(hostile.MANIFEST) == hostile.MANIFEST_BYTES


def test_zip_without_manifest_opens_and_has_answers() -> None:
    builder = hostile.ZipBuilder()
    builder.add("readme.txt", b"not an app")
    with ApkArchive.open(builder.build()) as archive:
        assert not archive.has(hostile.MANIFEST)
        assert archive.has("readme.txt")


def test_signing_block_is_found_before_the_central_directory() -> None:
    data = hostile.with_signing_block([(0x42424242, b"value")])
    with ApkArchive.open(data) as archive:
        assert archive.signing_block == hostile.signing_block([(0x42424242, b"value")])
        assert archive.read("classes.dex").startswith(b"dex\n")


# ------------------------------------------------------------------ API behaviour
def test_api_from_path_and_bytes_agree(tmp_path: Path) -> None:
    data = hostile.minimal_apk().build()
    path = hostile.write(tmp_path, "small.apk", data)
    with ApkArchive.open(path) as from_path, ApkArchive.open(data) as from_bytes:
        assert from_path.path == path and from_bytes.path is None
        assert from_path.size == from_bytes.size == len(data)
        assert from_path.sha256 == from_bytes.sha256 == hashlib.sha256(data).hexdigest()
        assert from_path.entries == from_bytes.entries
        assert [e.name for e in from_path.iter_prefix("res/")] == ["res/raw/blob.bin"]
        assert isinstance(from_path.entry("classes.dex"), ZipEntry)
        with pytest.raises(UnreadableInputError, match=r"entry 'absent.xml' is not in the archive"):
            from_path.entry("absent.xml")
        with pytest.raises(UnreadableInputError, match="not in the archive"):
            from_path.read("absent.xml")


def test_large_file_is_mapped_not_copied(tmp_path: Path) -> None:
    path = tmp_path / "large.apk"
    size = 96 * 2**20
    hostile.write_large_stored(path, size)
    expected = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(2**20):
            expected.update(block)
    tracemalloc.start()
    try:
        with ApkArchive.open(path) as archive:
            assert archive.sha256 == expected.hexdigest()
            entry = archive.entry("assets/big.bin")
            assert sum(len(chunk) for chunk in archive.iter_read(entry)) == size  # CRC checked at the end
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20, f"opening and streaming a {size}-byte APK allocated {peak} bytes"


def test_closed_archive_refuses_reads() -> None:
    archive = ApkArchive.open(hostile.minimal_apk().build())
    archive.close()
    archive.close()
    with pytest.raises(UnreadableInputError, match="is closed"):
        archive.read(hostile.MANIFEST)


def test_random_truncations_and_bit_flips_never_escape_as_tracebacks() -> None:
    for data in hostile.random_truncations() + hostile.bit_flips():
        try:
            archive = ApkArchive.open(data)
        except AppwardenError:
            continue
        for name in archive.names():
            with contextlib.suppress(AppwardenError):
                archive.read(name)


# ------------------------------------------------------------------ differential
def _zipfile_listing(path: Path) -> list[tuple[str, int, int, int, int]]:
    with zipfile.ZipFile(path) as reference:
        return [(i.filename, i.compress_type, i.CRC, i.compress_size, i.file_size) for i in reference.infolist()]


def _our_listing(archive: ApkArchive) -> list[tuple[str, int, int, int, int]]:
    return [(e.name, e.method, e.crc32, e.compressed_size, e.uncompressed_size) for e in archive.entries]


_AAPT_ROW = re.compile(r"^\s*(\d+)\s+(Stored|Deflate)\s+(\d+)\s+\S+\s+(\d+)\s+\S+\s+\S+\s+([0-9a-f]+)\s+(.+)$")


def _aapt_listing(path: Path) -> list[tuple[str, int, int, int, int, int]]:
    output = subprocess.run(["aapt", "list", "-v", str(path)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in output.splitlines():
        match = _AAPT_ROW.match(line)
        if match:
            length, method, size, offset, crc, name = match.groups()
            # aapt prints the CRC sign-extended to 64 bits ("ffffffffad568dfd").
            rows.append(
                (name, 0 if method == "Stored" else 8, int(crc, 16) & 0xFFFFFFFF, int(size), int(length), int(offset))
            )
    return rows


@pytest.fixture(scope="module")
def built_apk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real APK built with aapt (manifest, resources, stored and deflated assets)."""
    if shutil.which("aapt") is None or not FRAMEWORK_RES.exists():
        pytest.skip("aapt and framework-res.apk are needed to build an APK")
    root = tmp_path_factory.mktemp("aapt_build")
    (root / "res" / "values").mkdir(parents=True)
    (root / "assets").mkdir()
    (root / "AndroidManifest.xml").write_text(
        '<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="org.appwarden.ziptest">'
        '<application android:label="@string/app_name"/></manifest>'
    )
    (root / "res" / "values" / "strings.xml").write_text('<resources><string name="app_name">Zip</string></resources>')
    (root / "assets" / "text.txt").write_bytes(b"hello\n" * 40000)
    (root / "assets" / "noise.bin").write_bytes(hashlib.sha512(b"seed").digest() * 2000)
    out = root / "built.apk"
    subprocess.run(
        [
            "aapt",
            "package",
            "-f",
            "-M",
            "AndroidManifest.xml",
            "-S",
            "res",
            "-A",
            "assets",
            "-I",
            str(FRAMEWORK_RES),
            "-F",
            str(out),
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return out


def _real_apks(built: Path) -> list[Path]:
    apks = [built, *sorted(EXAMPLES.glob("*.apk"))]
    if FRAMEWORK_RES.exists():
        apks.append(FRAMEWORK_RES)
    return apks


def test_entry_list_matches_python_zipfile_on_real_apks(built_apk: Path) -> None:
    for path in _real_apks(built_apk):
        with ApkArchive.open(path) as archive:
            assert _our_listing(archive) == _zipfile_listing(path), path
            with zipfile.ZipFile(path) as reference:
                # Read a sample of entries (all for small APKs) and compare bytes.
                for entry in archive.entries[:: max(1, len(archive.entries) // 200)]:
                    assert archive.read(entry.name) == reference.read(entry.name), (path, entry.name)


@pytest.mark.tools
@needs_aapt
def test_entry_list_matches_aapt_list(built_apk: Path) -> None:
    for path in _real_apks(built_apk):
        with ApkArchive.open(path) as archive:
            ours = [
                (*row, e.local_header_offset) for row, e in zip(_our_listing(archive), archive.entries, strict=True)
            ]
            assert ours == _aapt_listing(path), path


def test_entry_names_match_androguard(built_apk: Path) -> None:
    apk_module = pytest.importorskip("androguard.core.apk")
    for path in _real_apks(built_apk):
        if path == FRAMEWORK_RES:
            continue  # androguard parses the whole manifest and resources: slow on framework-res
        with ApkArchive.open(path) as archive:
            assert archive.names() == apk_module.APK(str(path)).get_files(), path


@needs_framework
def test_framework_res_opens_without_warnings() -> None:
    with ApkArchive.open(FRAMEWORK_RES) as archive:
        assert archive.has("AndroidManifest.xml") and archive.has("resources.arsc")
        assert archive.warnings == []
        assert len(archive.entries) > 1000


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "x.apk"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableInputError, match="not a regular file"):
        ApkArchive.open(fifo)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = tmp_path / "big.apk"
    big.write_bytes(hostile.minimal_apk().build())
    limit = big.stat().st_size - 1
    with pytest.raises(LimitExceededError, match="max_file_size"):
        ApkArchive.open(big, ZipLimits(max_file_size=limit))
    with pytest.raises(LimitExceededError, match="over the limit"):
        ApkArchive.open(big.read_bytes(), ZipLimits(max_file_size=limit))
    assert ApkArchive.open(big, ZipLimits(max_file_size=limit + 1)).names()


def test_read_of_a_large_deflated_entry_is_exact_and_holds_about_one_copy() -> None:
    payload = hostile.random_bytes(6 * 2**20, seed=11)
    builder = hostile.minimal_apk()
    builder.add("assets/large.bin", payload, method=hostile.DEFLATED)
    archive = ApkArchive.open(builder.build())
    tracemalloc.start()
    try:
        data = archive.read("assets/large.bin")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert type(data) is bytes
    assert data == payload
    # Chunks plus their join would peak at two copies; the entry is inflated into one growing buffer.
    assert peak < 1.5 * len(payload)


def test_released_pages_read_back_the_same_bytes() -> None:
    # Releasing mapped pages (after hashing, after each entry) must never change what is read.
    path = EXAMPLES / "multidex.apk"
    with zipfile.ZipFile(path) as reference, ApkArchive.open(path) as archive:
        names = [e.name for e in archive.entries if not e.is_dir]
        first = {name: archive.read(name) for name in names}
        archive._buffer.release(0, archive.size)
        for name in names:
            assert archive.read(name) == first[name] == reference.read(name)
        assert archive.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------- declared DEX size (folder scheduling)
def _dex_bytes_by_zipfile(path: Path) -> int:
    with zipfile.ZipFile(path) as z:
        return sum(i.file_size for i in z.infolist() if re.fullmatch(r"classes\d*\.dex", i.filename))


def test_declared_dex_size_agrees_with_zipfile_on_every_sample(tmp_path: Path) -> None:
    samples = sorted(EXAMPLES.glob("*.apk"))
    assert samples
    for apk in samples:
        assert zipmod.declared_dex_size(apk) == _dex_bytes_by_zipfile(apk), apk.name
    # An APK whose DEX compresses 100x declares its real size, not its file size; entries merely
    # named like DEX elsewhere (assets/classes.dex, classes.dex.bak) do not count.
    target = tmp_path / "code.apk"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("AndroidManifest.xml", b"\x03\x00" * 10)
        z.writestr("classes.dex", b"\x00" * 1_000_000)
        z.writestr("classes2.dex", b"\x00" * 500_000)
        z.writestr("assets/classes.dex", b"\x00" * 7_000)
        z.writestr("classes.dex.bak", b"\x00" * 9_000)
    assert target.stat().st_size < 20_000
    assert zipmod.declared_dex_size(target) == 1_500_000


@pytest.mark.parametrize("make", [hostile.empty, hostile.random_bytes, hostile.truncated, hostile.truncated_tail])
def test_declared_dex_size_is_none_for_what_it_cannot_read(make, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "bad.apk"
    target.write_bytes(make())
    assert zipmod.declared_dex_size(target) is None
    assert zipmod.declared_dex_size(tmp_path / "missing.apk") is None
    assert zipmod.declared_dex_size(tmp_path) is None  # a directory


def test_declared_dex_size_does_not_read_an_oversized_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    sample = next(iter(sorted(EXAMPLES.glob("*.apk"))))
    assert zipmod.declared_dex_size(sample) is not None
    monkeypatch.setattr(zipmod, "_MAX_ESTIMATE_DIRECTORY", 16)  # smaller than any real directory
    assert zipmod.declared_dex_size(sample) is None
