"""resources.arsc reader: values per locale, references, hostile tables, and aapt/androguard agreement."""

from __future__ import annotations

import contextlib
import random
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

# pytest runs with --import-mode=importlib, so this folder's forging helpers are put on the path here.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from arsc_forge import (
    bag_entry,
    compact_entry,
    config,
    entry,
    indexed_type_chunk,
    package,
    table,
    type_chunk,
    type_spec,
)
from axml_forge import FRAMEWORK_APK, build_sample_apk, chunk

from appwarden.apk.arsc import ResourceTable
from appwarden.apk.axml import ResourceRef, parse_axml
from appwarden.errors import MalformedStructureError, UnreadableInputError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STRING, REFERENCE, INT_DEC, BOOLEAN = 0x03, 0x01, 0x10, 0x12


@pytest.fixture(scope="module")
def built_apk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_apk(tmp_path_factory.mktemp("sample_app"))


def forged_table(**table_options: object) -> bytes:
    values = ["Hello", "你好", "您好", "res/layout/main.xml", "res/layout-land/main.xml", "Hi"]
    keys = ["app_name", "greeting", "alias", "loop_a", "loop_b", "main", "count", "style", "dangling"]
    strings = [
        entry(0, REFERENCE, 0x7F010001),  # app_name -> greeting
        entry(1, STRING, 0),  # greeting
        entry(2, REFERENCE, 0x7F010000),  # alias -> app_name -> greeting
        entry(3, REFERENCE, 0x7F010004),  # loop_a -> loop_b
        entry(4, REFERENCE, 0x7F010003),  # loop_b -> loop_a
        None,
        entry(6, INT_DEC, 7),
        bag_entry(7),
        entry(8, REFERENCE, 0x7F7F0001),  # points outside the table
    ]
    chunks = [
        type_spec(1, len(strings)),
        type_chunk(1, strings),
        type_chunk(1, [None, entry(1, STRING, 1)], cfg=config("zh")),
        type_chunk(1, [None, entry(1, STRING, 2)], cfg=config("zh", "TW")),
        type_chunk(1, [None, entry(1, STRING, 5)], cfg=config(density=480)),  # xxhdpi only, not plain
        type_spec(2, 1),
        type_chunk(2, [entry(5, STRING, 3)]),
        type_chunk(2, [entry(5, STRING, 4)], cfg=config(density=160)),
    ]
    return table(values, [package(0x7F, "com.forged", ["string", "layout"], keys, chunks)], **table_options)  # type: ignore[arg-type]


def test_forged_table_values_locales_and_names() -> None:
    resources = ResourceTable.parse(forged_table())
    assert resources.package_names == ["com.forged"]
    assert resources.name_of(0x7F010001) == "string/greeting"
    assert resources.name_of(0x7F020000) == "layout/main"
    assert resources.name_of(0x7F010005) is None
    assert resources.resolve(0x7F010001) == "Hello"
    assert resources.resolve(0x7F010001, "zh") == "你好"
    assert resources.resolve(0x7F010001, "zh-rCN") == "你好"  # falls back to the language
    assert resources.resolve(0x7F010001, "zh-rTW") == "您好"
    assert resources.resolve(0x7F010001, "zh_TW") == "您好"
    assert resources.resolve(0x7F010001, "fr") == "Hello"
    assert resources.resolve(0x7F010002, "zh") == "你好"  # reference chain
    assert resources.resolve(0x7F010006) == 7
    assert resources.resolve(0x7F010007) is None  # a bag (style) has no single value
    assert resources.resolve(0x7F7F0000) is None
    assert resources.locales() == ["zh", "zh-rTW"]
    assert resources.strings() == {"app_name": "Hello", "greeting": "Hello", "alias": "Hello"}
    assert resources.strings("zh")["alias"] == "你好"
    assert resources.file_paths(0x7F020000) == ["res/layout/main.xml", "res/layout-land/main.xml"]


def _chinese(locale: str) -> bool:
    return locale.startswith("zh")


def _answers(resources: ResourceTable, res_ids: list[int], locales: list[str | None]) -> object:
    """Everything a scan asks of a table, for the default and the given locales."""
    return (
        resources.package_names,
        resources.locales(),
        [resources.name_of(r) for r in res_ids],
        [[resources.resolve(r, loc) for r in res_ids] for loc in locales],
        [resources.strings(loc) for loc in locales],
    )


def test_a_table_read_for_some_locales_answers_for_them_as_the_whole_table() -> None:
    # Strings translated into French and Japanese besides Chinese; one string exists only in
    # French (no default: a device takes its first value) and one is named only by its French value.
    values = ["Hello", "你好", "Bonjour", "こんにちは", "Seulement", "Salut", "Nom"]
    keys = ["greeting", "only_fr", "alias", "named_late"]
    chunks = [
        type_spec(1, 4),
        type_chunk(1, [entry(0, STRING, 0), None, entry(2, REFERENCE, 0x7F010001), None]),
        type_chunk(1, [entry(0, STRING, 2), entry(1, STRING, 4), None, entry(0xFFFF, STRING, 6)], cfg=config("fr")),
        type_chunk(1, [entry(0, STRING, 1), None, None, entry(3, STRING, 6)], cfg=config("zh", "CN")),
        type_chunk(1, [entry(0, STRING, 3), entry(1, STRING, 5), None, entry(3, STRING, 6)], cfg=config("ja")),
    ]
    data = table(values, [package(0x7F, "com.forged", ["string"], keys, chunks)])
    whole = ResourceTable.parse(data)
    chinese = ResourceTable.parse(data, keep_locale=_chinese)
    res_ids = [0x7F010000 + k for k in range(5)]
    locales: list[str | None] = [None, "zh", "zh-rCN", "zh-rTW"]
    assert _answers(chinese, res_ids, locales) == _answers(whole, res_ids, locales)
    assert chinese.locales() == ["fr", "ja", "zh-rCN"]
    assert chinese.resolve(0x7F010001) == "Seulement"  # first value stands in for the missing default
    assert chinese.name_of(0x7F010003) == "string/named_late"  # its French value has no readable key
    assert chinese.resolve(0x7F010000, "zh") == "你好"
    # The skipped values are not held: a greeting keeps its default and Chinese values.
    assert [e.locale for e in chinese._entries[0x7F010000]] == ["", "zh-rCN"]
    assert len(whole._entries[0x7F010000]) == 4


@pytest.mark.skipif(not FRAMEWORK_APK.is_file(), reason="Debian's android-framework-res is not installed")
def test_framework_res_read_for_chinese_answers_as_the_whole_table() -> None:
    # A real table of 140 locales and 173,000 values, of which the Chinese reading keeps an eighth.
    with zipfile.ZipFile(FRAMEWORK_APK) as z:
        data = z.read("resources.arsc")
    whole = ResourceTable.parse(data)
    chinese = ResourceTable.parse(data, keep_locale=_chinese)
    res_ids = sorted(whole._entries)
    zh = [loc for loc in whole.locales() if _chinese(loc)]
    assert zh
    assert _answers(chinese, res_ids, [None, *zh]) == _answers(whole, res_ids, [None, *zh])
    assert sum(map(len, chinese._entries.values())) * 4 < sum(map(len, whole._entries.values()))


@pytest.mark.parametrize("sparse", [True, False])
def test_sparse_offset16_and_compact_entries_are_read(sparse: bool) -> None:
    entries = {0: entry(0, STRING, 0), 3: compact_entry(1, STRING, 1), 5: compact_entry(2, BOOLEAN, 1)}
    chunk_bytes = indexed_type_chunk(1, entries, 6, sparse=sparse)
    resources = ResourceTable.parse(
        table(["first", "fourth"], [package(0x7F, "p", ["string"], ["a", "b", "c"], [type_spec(1, 6), chunk_bytes])])
    )
    assert resources.strings() == {"a": "first", "b": "fourth"}
    assert resources.name_of(0x7F010003) == "string/b"
    assert resources.resolve(0x7F010005) is True
    assert resources.resolve(0x7F010001) is None


def test_reference_cycles_and_dangling_references_end_as_refs() -> None:
    resources = ResourceTable.parse(forged_table())
    assert isinstance(resources.resolve(0x7F010003), ResourceRef)
    assert resources.resolve(0x7F010008) == ResourceRef(0x7F7F0001)


def test_trailing_bytes_and_unknown_chunks_are_tolerated() -> None:
    plain = ResourceTable.parse(forged_table())
    tolerant = ResourceTable.parse(forged_table(extra=[chunk(0x7777, b"", b"\x00" * 8)], trailing=b"junk"))
    assert tolerant.strings("zh") == plain.strings("zh")


def refused(data: bytes) -> str:
    with pytest.raises(MalformedStructureError) as info:
        ResourceTable.parse(data)
    return str(info.value)


def test_hostile_tables_are_refused_with_reasons() -> None:
    assert "too short" in refused(b"\x02\x00")
    assert "not a resource table" in refused(struct.pack("<HHII", 0x0003, 12, 12, 0))
    good = forged_table()
    assert "runs past the end" in refused(good[:-8])
    huge_count = type_chunk(1, [entry(0, STRING, 0)], entry_count=0x3FFFFFFF)
    assert "declares 1073741823 entries" in refused(
        table(["a"], [package(0x7F, "p", ["string"], ["k"], [type_spec(1, 1), huge_count])])
    )
    far_entries = type_chunk(1, [entry(0, STRING, 0)], entries_start=0x7FFFFFF0)
    assert "past its end" in refused(
        table(["a"], [package(0x7F, "p", ["string"], ["k"], [type_spec(1, 1), far_entries])])
    )
    zero_type = type_chunk(0, [entry(0, STRING, 0)])
    assert "type id 0" in refused(table(["a"], [package(0x7F, "p", ["string"], ["k"], [type_spec(0, 1), zero_type])]))
    unannounced = package(0x7F, "p", ["string"], ["k"], [type_chunk(1, [entry(0, STRING, 0)])])
    assert "no type spec" in refused(table(["a"], [unannounced]))
    zero_size = struct.pack("<HHI", 0x7777, 0, 0)
    assert "header size" in refused(table(["a"], [], extra=[zero_size]))


def test_misaligned_or_overrunning_entries_are_skipped_like_android() -> None:
    bad = bytearray(type_chunk(1, [entry(0, STRING, 0), entry(1, STRING, 0)]))
    # The second offset (at header 84 + 4) now points into the middle of the first entry.
    struct.pack_into("<I", bad, 84 + 4, 2)
    pkg = package(0x7F, "p", ["string"], ["k0", "k1"], [type_spec(1, 2), bytes(bad)])
    resources = ResourceTable.parse(table(["a"], [pkg]))
    assert resources.resolve(0x7F010000) == "a"
    assert resources.resolve(0x7F010001) is None


def test_mutated_tables_never_escape_as_other_errors(built_apk: Path) -> None:
    with zipfile.ZipFile(built_apk) as archive:
        seed = archive.read("resources.arsc")
    rng = random.Random(20261129)
    for _ in range(1500):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)) :]
        with contextlib.suppress(UnreadableInputError):
            resources = ResourceTable.parse(bytes(data))
            resources.strings("zh")
            resources.locales()


# ---------------------------------------------------------------- differential: aapt and androguard

needs_aapt = pytest.mark.skipif(shutil.which("aapt") is None, reason="aapt (Debian package aapt) is not installed")
PLAIN_CONFIG = re.compile(r"^(\(default\)|[a-z]{2,3}(-r[A-Z]{2})?)$")
# Qualifiers that look like a three-letter language to the pattern above.
NOT_LOCALES = {"car", "ldrtl", "ldltr"}


def aapt_output(args: list[str]) -> str:
    return subprocess.run(["aapt", *args], capture_output=True, text=True, check=True, timeout=300).stdout


def aapt_strings(apk: Path) -> dict[str, dict[str, str]]:
    """String values by plain locale config ("" for default) from ``aapt dump --values resources``."""
    by_locale: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    pending: str | None = None
    for line in aapt_output(["dump", "--values", "resources", str(apk)]).splitlines():
        body = line.strip()
        if body.startswith("config "):
            name = body[len("config ") :].split(" flags=")[0].rstrip(":")
            current = (
                by_locale.setdefault("" if name == "(default)" else name, {})
                if PLAIN_CONFIG.match(name) and name not in NOT_LOCALES
                else None
            )
            pending = None
        elif body.startswith("resource 0x"):
            match = re.match(r"resource 0x[0-9a-f]+ [^:]+:string/(\S+): t=0x03 ", body)
            pending = match.group(1) if match and current is not None else None
        elif pending is not None and current is not None:
            match = re.match(r'\(string(?:8|16)\) "(.*)"$', body)
            if match:
                current[pending] = match.group(1)
            pending = None
    return by_locale


def aapt_escape(text: str) -> str:
    """ResTable::normalizeForOutput, which aapt applies to printed strings."""
    return text.split("\x00", 1)[0].replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def sample_apks(built_apk: Path) -> list[Path]:
    return [built_apk, *sorted(EXAMPLES.glob("*.apk"))]


@needs_aapt
@pytest.mark.tools
@pytest.mark.parametrize("which", ["built", "framework"])
def test_strings_agree_with_aapt_dump_resources(built_apk: Path, which: str) -> None:
    apks = sample_apks(built_apk) if which == "built" else [FRAMEWORK_APK]
    for apk in apks:
        if not apk.exists():
            pytest.skip(f"{apk} is not present")
        with zipfile.ZipFile(apk) as archive:
            if "resources.arsc" not in archive.namelist():
                continue
            resources = ResourceTable.parse(archive.read("resources.arsc"))
        expected = aapt_strings(apk)
        locales = sorted(expected) if which == "built" else ["", "zh-rCN", "zh-rTW", "fr", "ar"]
        assert expected.get(""), apk
        for locale in locales:
            ours = {k: aapt_escape(v) for k, v in resources.strings(locale or None).items()}
            theirs = expected.get(locale, {})
            assert {k: ours.get(k) for k in theirs} == theirs, (apk, locale)
        assert set(expected) - {""} <= set(resources.locales()), apk


def sparse_table() -> bytes:
    chunks = [type_spec(1, 6), indexed_type_chunk(1, {0: entry(0, STRING, 0), 3: entry(1, STRING, 1)}, 6, sparse=True)]
    return table(["first", "fourth"], [package(0x7F, "p", ["string"], ["a", "b", "c"], chunks)])


@needs_aapt
@pytest.mark.tools
@pytest.mark.parametrize("variant", ["plain", "unknown_chunk_and_trailing_bytes", "sparse"])
def test_forged_tables_are_read_as_libandroidfw_reads_them(variant: str, tmp_path: Path) -> None:
    """aapt is built on the platform's libandroidfw: it is the oracle for what a device reads."""
    data = {
        "plain": forged_table(),
        "unknown_chunk_and_trailing_bytes": forged_table(extra=[chunk(0x7777, b"", b"\x00" * 8)], trailing=b"junk"),
        "sparse": sparse_table(),
    }[variant]
    apk = tmp_path / "table.apk"
    with zipfile.ZipFile(apk, "w") as archive:
        archive.writestr("resources.arsc", data)
    expected = aapt_strings(apk)
    resources = ResourceTable.parse(data)
    assert expected.get("")
    for locale, values in expected.items():
        ours = resources.strings(locale or None)
        assert {key: ours.get(key) for key in values} == values, locale


def badging(apk: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in aapt_output(["dump", "badging", str(apk)]).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            found.setdefault(key, []).append(value)
    return found


def quoted(value: str, field: str | None = None) -> str:
    match = re.search((rf"{field}='([^']*)'" if field else r"'([^']*)'"), value)
    assert match, value
    return match.group(1)


@needs_aapt
@pytest.mark.tools
def test_manifest_and_table_agree_with_aapt_badging(built_apk: Path) -> None:
    for apk in [*sample_apks(built_apk), FRAMEWORK_APK]:
        if not apk.exists():
            continue
        with zipfile.ZipFile(apk) as archive:
            manifest = parse_axml(archive.read("AndroidManifest.xml"))
            names = archive.namelist()
            resources = ResourceTable.parse(archive.read("resources.arsc")) if "resources.arsc" in names else None
        expected = badging(apk)
        package_line = expected["package"][0]
        assert manifest.get("package", ns=None) == quoted(package_line, "name")
        assert str(manifest.get("versionCode")) == quoted(package_line, "versionCode")
        assert str(manifest.get("versionName") or "") == quoted(package_line, "versionName")
        uses_sdk = manifest.find_all("uses-sdk")
        if "sdkVersion" in expected and uses_sdk:
            assert str(uses_sdk[0].get("minSdkVersion")) == quoted(expected["sdkVersion"][0])
        if "targetSdkVersion" in expected and uses_sdk and uses_sdk[0].get("targetSdkVersion") is not None:
            assert str(uses_sdk[0].get("targetSdkVersion")) == quoted(expected["targetSdkVersion"][0])
        permissions = [e.get("name") for e in manifest.find_all("uses-permission")]
        assert permissions == [quoted(v, "name") for v in expected.get("uses-permission", [])]
        label = manifest.find_all("application")[0].get("label") if manifest.find_all("application") else None
        for key, values in expected.items():
            # framework-res carries pseudo-locales (en-XC) that aapt prefers for bare languages
            # and devices never show; its localised labels are compared by the strings test.
            if not key.startswith("application-label") or (apk == FRAMEWORK_APK and key != "application-label"):
                continue
            locale = key[len("application-label-") :].replace("-", "-r") if key != "application-label" else None
            ours = resources.resolve(label.id, locale) if isinstance(label, ResourceRef) and resources else label
            assert ours == quoted(values[0]), (apk, key)


def test_app_name_agrees_with_androguard(built_apk: Path) -> None:
    androguard_apk = pytest.importorskip("androguard.core.apk")
    from loguru import logger

    logger.disable("androguard")
    for apk in sample_apks(built_apk):
        theirs = androguard_apk.APK(str(apk))
        with zipfile.ZipFile(apk) as archive:
            manifest = parse_axml(archive.read("AndroidManifest.xml"))
            if "resources.arsc" not in archive.namelist():
                continue
            resources = ResourceTable.parse(archive.read("resources.arsc"))
        label = manifest.find_all("application")[0].get("label")
        ours = resources.resolve(label.id) if isinstance(label, ResourceRef) else label
        assert ours == theirs.get_app_name(), apk
