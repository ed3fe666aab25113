"""Binary XML reader: typed values, Android's tolerances, hostile input, and aapt/androguard agreement."""

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

from axml_forge import (
    NO_INDEX,
    Element,
    Options,
    RawAttribute,
    build_document,
    build_sample_apk,
    chunk,
    document,
    end_element,
    resource_map,
    start_element,
    string_pool,
)

from appwarden.apk.axml import (
    ANDROID_NS,
    ResourceRef,
    XmlElement,
    format_complex,
    parse_axml,
    to_xml_text,
)
from appwarden.errors import LimitExceededError, MalformedStructureError, UnreadableInputError

FRAMEWORK_APK = Path("/usr/share/android-framework-res/framework-res.apk")
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

A = ANDROID_NS
NAME, LABEL, EXPORTED, VERSION_CODE, PRIORITY, VALUE = (
    0x01010003,
    0x01010001,
    0x01010010,
    0x0101021B,
    0x0101001C,
    0x01010024,
)


@pytest.fixture(scope="module")
def built_apk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sample_apk(tmp_path_factory.mktemp("sample_app"))


def sample_manifest() -> Element:
    return Element(
        "manifest",
        [(None, "package", 0, "com.example.app"), (A, "versionCode", VERSION_CODE, 7)],
        [
            Element("uses-permission", [(A, "name", NAME, "android.permission.CAMERA")]),
            Element(
                "application",
                [(A, "label", LABEL, ResourceRef(0x7F030000))],
                [
                    Element(
                        "receiver",
                        [(A, "name", NAME, ".Boot"), (A, "exported", EXPORTED, True)],
                        [Element("intent-filter", [(A, "priority", PRIORITY, -5)])],
                    ),
                    Element(
                        "meta-data",
                        [(A, "name", NAME, "dim"), (A, "value", VALUE, (0x05, 0x1001))],
                    ),
                    Element("meta-data", [(A, "name", NAME, "color"), (A, "value", VALUE, (0x1C, 0xFF112233))]),
                    Element("meta-data", [(A, "name", NAME, "theme"), (A, "value", VALUE, (0x02, 0x01010000))]),
                    Element("meta-data", [(A, "name", NAME, "hex"), (A, "value", VALUE, (0x11, 0xFFFFFFFF))]),
                    Element("meta-data", [(A, "name", NAME, "f"), (A, "value", VALUE, (0x04, 0x3FC00000))]),
                ],
            ),
        ],
    )


def expected_tree() -> XmlElement:
    meta = [
        ("dim", "16.000000dp"),
        ("color", "#ff112233"),
        ("theme", ResourceRef(0x01010000, is_attr=True)),
        ("hex", 0xFFFFFFFF),
        ("f", 1.5),
    ]
    return XmlElement(
        "manifest",
        None,
        {(None, "package"): "com.example.app", (A, "versionCode"): 7},
        [
            XmlElement("uses-permission", None, {(A, "name"): "android.permission.CAMERA"}),
            XmlElement(
                "application",
                None,
                {(A, "label"): ResourceRef(0x7F030000)},
                [
                    XmlElement(
                        "receiver",
                        None,
                        {(A, "name"): ".Boot", (A, "exported"): True},
                        [XmlElement("intent-filter", None, {(A, "priority"): -5})],
                    ),
                    *[XmlElement("meta-data", None, {(A, "name"): n, (A, "value"): v}) for n, v in meta],
                ],
            ),
        ],
    )


# ---------------------------------------------------------------- reading and typing


@pytest.mark.parametrize("utf8", [False, True])
def test_forged_manifest_is_read_with_android_types(utf8: bool) -> None:
    root = parse_axml(build_document(sample_manifest(), Options(utf8=utf8)))
    assert root == expected_tree()
    assert root.get("versionCode") == 7
    assert root.get("package", ns=None) == "com.example.app"
    assert [e.tag for e in root.iter()][:3] == ["manifest", "uses-permission", "application"]
    assert len(list(root.iter("meta-data"))) == 5
    assert [e.tag for e in root.find_all("application")] == ["application"]
    assert root.get("missing", default="dflt") == "dflt"


def test_to_xml_text_is_well_formed_and_round_trips_strings() -> None:
    text = to_xml_text(parse_axml(build_document(sample_manifest())))
    assert 'xmlns:android="http://schemas.android.com/apk/res/android"' in text
    assert 'android:exported="true"' in text and 'android:label="@0x7f030000"' in text
    reparsed = parse_axml(text.encode())
    assert reparsed.get("package", ns=None) == "com.example.app"
    assert reparsed.find_all("application")[0].find_all("receiver")[0].get("name") == ".Boot"


def test_to_xml_text_stays_well_formed_with_hostile_names() -> None:
    hostile = XmlElement("a b<c", None, {(None, '1"x'): 'v<&>"', ("urn:x", ""): 1}, [XmlElement("", None)])
    reparsed = parse_axml(to_xml_text(hostile).encode())
    assert reparsed.tag == "a_b_c"
    assert reparsed.get("_1_x", ns=None) == 'v<&>"'


def test_format_complex_matches_aapt_spelling() -> None:
    assert format_complex(0x05, 0x00000E02) == "14.000000sp"
    assert format_complex(0x05, 0x00000A01) == "10.000000dp"
    assert format_complex(0x06, 0x40000030) == "0.500000%"
    assert format_complex(0x06, 0x40000031) == "0.500000%p"


# ---------------------------------------------------------------- tricks Android tolerates


def test_attribute_names_come_from_resource_ids_not_name_strings() -> None:
    renamed = parse_axml(build_document(sample_manifest(), Options(renamed_attributes=True)))
    assert renamed == expected_tree()


def test_attribute_namespace_string_is_ignored_for_framework_ids() -> None:
    pool = string_pool(["garbage", "manifest", "http://evil.example/ns", "com.x"])
    doc = document(
        [
            pool,
            resource_map([NAME]),
            start_element(NO_INDEX, 1, [RawAttribute(2, 0, 3, 0x03, 3)]),
            end_element(NO_INDEX, 1),
        ]
    )
    assert parse_axml(doc).get("name") == "com.x"


def test_decoy_attribute_without_resource_id_loses_to_the_real_one() -> None:
    # String 0 carries the framework id of android:name but reads "label"; string 1 is a decoy
    # "name" in the android namespace without an id, placed first.
    pool = string_pool(["label", "name", "manifest", ANDROID_NS, "com.decoy", "com.real"])
    attrs = [RawAttribute(3, 1, 4, 0x03, 4), RawAttribute(3, 0, 5, 0x03, 5)]
    doc = document([pool, resource_map([NAME]), start_element(NO_INDEX, 2, attrs), end_element(NO_INDEX, 2)])
    assert parse_axml(doc).get("name") == "com.real"


def test_binary_document_whose_type_reads_as_angle_bracket_is_still_binary() -> None:
    data = bytearray(build_document(sample_manifest()))
    struct.pack_into("<H", data, 0, 0x003C)
    assert parse_axml(bytes(data)) == expected_tree()


def test_bigger_headers_padding_strides_and_trailing_bytes_are_tolerated() -> None:
    tricky = Options(
        pool_header_pad=8,
        doc_header_pad=4,
        node_header_pad=8,
        attr_start=28,
        attr_size=28,
        trailing=b"\x00garbage after the document",
    )
    assert parse_axml(build_document(sample_manifest(), tricky)) == expected_tree()


def test_unknown_chunks_are_skipped_like_android() -> None:
    unknown = chunk(0x7777, b"", b"\xaa" * 12)
    # Between nodes Android validates every chunk as a node, so it needs a 16-byte header there.
    unknown_node = chunk(0x7777, b"", b"\xaa" * 12, header_pad=8)
    opts = Options(extra_chunks_before_pool=[unknown], extra_chunks_between_nodes=[unknown_node])
    assert parse_axml(build_document(sample_manifest(), opts)) == expected_tree()


def test_document_type_field_is_not_checked_like_android() -> None:
    data = bytearray(build_document(sample_manifest()))
    struct.pack_into("<H", data, 0, 0x0000)
    assert parse_axml(bytes(data)) == expected_tree()


def test_broken_decoy_string_pool_before_a_good_one_is_tolerated() -> None:
    decoy = string_pool(["x"], string_count=0x3FFFFFFF)
    doc = document([decoy, string_pool(["manifest"]), start_element(NO_INDEX, 0), end_element(NO_INDEX, 0)])
    assert parse_axml(doc).tag == "manifest"
    assert "declares" in malformed(
        document([string_pool(["manifest"]), decoy, start_element(NO_INDEX, 0), end_element(NO_INDEX, 0)])
    )


def test_wrong_style_count_is_tolerated() -> None:
    # styleCount far beyond what the chunk holds; Android only checks the terminated style area.
    pool = string_pool(["manifest"], style_count=5000, styles=b"\xff" * 12)
    doc = document([pool, start_element(NO_INDEX, 0), end_element(NO_INDEX, 0)])
    assert parse_axml(doc).tag == "manifest"


def test_unbalanced_end_tags_follow_depth_like_xmlpullparser() -> None:
    pool = string_pool(["manifest", "application", "activity", "other"])
    doc = document(
        [
            pool,
            start_element(NO_INDEX, 0),
            start_element(NO_INDEX, 1),
            end_element(NO_INDEX, 3),  # wrong name closes <application> anyway
            start_element(NO_INDEX, 2),  # so <activity> is a child of <manifest>
            end_element(NO_INDEX, 2),
            end_element(NO_INDEX, 0),
            end_element(NO_INDEX, 0),  # stray end tag is ignored
            start_element(NO_INDEX, 3),  # second root is ignored, as the platform stops at the first
            start_element(NO_INDEX, 1),  # never closed
        ]
    )
    root = parse_axml(doc)
    assert [c.tag for c in root.children] == ["application", "activity"]
    assert root.children[0].children == []


def test_missing_end_tags_are_closed_at_end_of_document() -> None:
    pool = string_pool(["manifest", "application"])
    root = parse_axml(document([pool, start_element(NO_INDEX, 0), start_element(NO_INDEX, 1)]))
    assert [e.tag for e in root.iter()] == ["manifest", "application"]


# ---------------------------------------------------------------- hostile input


def malformed(data: bytes) -> str:
    with pytest.raises(MalformedStructureError) as info:
        parse_axml(data)
    return str(info.value)


def test_empty_and_tiny_inputs_are_refused() -> None:
    assert "too short" in malformed(b"")
    assert "too short" in malformed(b"\x03\x00")


def test_declared_size_past_end_is_refused() -> None:
    data = build_document(sample_manifest())
    assert "exceeds" in malformed(data[: len(data) - 4])


def test_zero_size_chunk_is_refused_not_looped() -> None:
    zero = struct.pack("<HHI", 0x7777, 0, 0)
    assert "header size" in malformed(document([zero, string_pool(["a"])]))
    zero_node = struct.pack("<HHI", 0x0103, 16, 0)
    pool = string_pool(["manifest"])
    assert "smaller than its header" in malformed(document([pool, start_element(NO_INDEX, 0), zero_node]))


def test_chunk_size_past_end_is_refused() -> None:
    pool = string_pool(["manifest"])
    bad = bytearray(start_element(NO_INDEX, 0))
    struct.pack_into("<I", bad, 4, 0x7FFFFFF0)
    assert "runs past the end" in malformed(document([pool, bytes(bad), end_element(NO_INDEX, 0)]))


def test_huge_string_count_is_refused_without_allocation() -> None:
    pool = string_pool(["manifest"], string_count=0x3FFFFFFF)
    assert "declares 1073741823 strings" in malformed(
        document([pool, start_element(NO_INDEX, 0), end_element(NO_INDEX, 0)])
    )


def test_string_offset_past_pool_gives_android_null() -> None:
    pool = string_pool(["manifest", "com.x"], offsets=[0, 0x100000])
    attrs = [RawAttribute(NO_INDEX, 0, 1, 0x03, 1)]
    root = parse_axml(document([pool, start_element(NO_INDEX, 0, attrs), end_element(NO_INDEX, 0)]))
    # The attribute *name* index 0 is readable ("manifest"), its value string is not.
    assert root.attributes == {(None, "manifest"): None}
    unnamed = string_pool(["manifest"], offsets=[0x100000])
    assert "no readable name" in malformed(document([unnamed, start_element(NO_INDEX, 0), end_element(NO_INDEX, 0)]))


def test_bad_string_lengths_give_android_null() -> None:
    good_name = b"\x08\x08manifest\x00"
    bad_utf16_length = b"\x08\x07manifest\x00"  # declared UTF-16 length disagrees with the bytes
    unterminated = b"\x03\x03abcX"
    pool = string_pool([], utf8=True, encoded=[good_name, bad_utf16_length, unterminated + b"\x00"])
    attrs = [RawAttribute(NO_INDEX, 0, 1, 0x03, 1), RawAttribute(NO_INDEX, 1, 2, 0x03, 2)]
    root = parse_axml(document([pool, start_element(NO_INDEX, 0, attrs), end_element(NO_INDEX, 0)]))
    assert root.tag == "manifest"
    assert root.attributes == {(None, "manifest"): None}
    long_utf16 = string_pool(
        [], encoded=[b"\x08\x00" + "manifest".encode("utf-16-le") + b"\x00\x00", b"\xff\x7f\x00\x00"]
    )
    attrs = [RawAttribute(NO_INDEX, 0, 1, 3, 1)]
    root = parse_axml(document([long_utf16, start_element(NO_INDEX, 0, attrs), end_element(NO_INDEX, 0)]))
    assert root.attributes == {(None, "manifest"): None}


def test_invalid_utf8_bytes_are_decoded_leniently() -> None:
    pool = string_pool([], utf8=True, encoded=[b"\x08\x08manifest\x00", b"\x02\x02a\x80\x00"])
    attrs = [RawAttribute(NO_INDEX, 0, 1, 3, 1)]
    root = parse_axml(document([pool, start_element(NO_INDEX, 0, attrs), end_element(NO_INDEX, 0)]))
    assert root.get("manifest", ns=None) == "a\ufffd"


def test_cesu8_surrogate_pairs_are_joined() -> None:
    # U+1F600 written as two 3-byte surrogate halves (6 bytes, 2 UTF-16 units by libutils' count).
    encoded = "\ud83d\ude00".encode("utf-8", "surrogatepass")
    pool = string_pool([], utf8=True, encoded=[b"\x08\x08manifest\x00", b"\x02\x06" + encoded + b"\x00"])
    attrs = [RawAttribute(NO_INDEX, 0, 1, 3, 1)]
    root = parse_axml(document([pool, start_element(NO_INDEX, 0, attrs), end_element(NO_INDEX, 0)]))
    assert root.get("manifest", ns=None) == "😀"


def test_absurd_attribute_count_is_refused() -> None:
    pool = string_pool(["manifest"])
    assert "declares 65535 attributes" in malformed(
        document([pool, start_element(NO_INDEX, 0, attr_count=0xFFFF), end_element(NO_INDEX, 0)])
    )


def test_no_element_and_no_pool_are_refused() -> None:
    assert "no element" in malformed(document([string_pool(["a"])]))
    # Like ResXMLTree::setTo, a first element that is also the last chunk is never reached.
    assert "no element" in malformed(document([string_pool(["a"]), start_element(NO_INDEX, 0)]))
    assert "no string pool" in malformed(document([start_element(0, 0), end_element(0, 0)]))


def test_deep_nesting_needs_no_recursion() -> None:
    depth = 25_000
    pool = string_pool(["e"])
    opening = start_element(NO_INDEX, 0)
    closing = end_element(NO_INDEX, 0)
    root = parse_axml(document([pool, opening * depth, closing * depth]))
    assert sum(1 for _ in root.iter()) == depth
    assert to_xml_text(root).count("<e") == depth
    assert root == parse_axml(document([pool, opening * depth]))
    assert "children=1" in repr(root)


def test_element_limit_is_enforced() -> None:
    pool = string_pool(["e"])
    data = document([pool, start_element(NO_INDEX, 0) * 11])
    with pytest.raises(LimitExceededError, match="more than 10 elements"):
        parse_axml(data, max_elements=10)


def test_mutated_documents_never_escape_as_other_errors() -> None:
    rng = random.Random(20261129)
    seed = build_document(sample_manifest(), Options(utf8=True))
    for _ in range(3000):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            del data[rng.randrange(len(data)) :]
        with contextlib.suppress(UnreadableInputError):
            parse_axml(bytes(data), max_elements=1000)


# ---------------------------------------------------------------- plain-text manifests


def test_plain_text_manifest_is_read() -> None:
    text = b"""<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="com.plain">
  <uses-permission android:name="android.permission.INTERNET"/>
</manifest>"""
    root = parse_axml(text)
    assert root.get("package", ns=None) == "com.plain"
    assert root.find_all("uses-permission")[0].get("name") == "android.permission.INTERNET"


def test_plain_text_entities_and_doctype_are_refused() -> None:
    laughs = b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><m x="&b;"/>'
    assert "refused" in malformed(laughs)
    external = b'<?xml version="1.0"?><!DOCTYPE m SYSTEM "file:///etc/passwd"><m/>'
    assert "refused" in malformed(external)
    assert "not well-formed" in malformed(b"<manifest><a></manifest>")


# ---------------------------------------------------------------- differential: aapt and androguard


def aapt_value(text: str, has_id: bool) -> object:
    """The value of one ``aapt dump xmltree`` attribute line, in appwarden's typing.

    Attributes without a resource id are read by name on a device, which yields the raw string.
    """
    raw = re.search(r' \(Raw: "(.*)"\)$', text)
    if raw and not has_id:
        return raw.group(1)
    if text.startswith('"'):
        return raw.group(1) if raw else text[1 : text.rindex('"')]
    if text.startswith("@"):
        return ResourceRef(int(text[1:], 16))
    if text.startswith("?"):
        return ResourceRef(int(text[1:], 16), is_attr=True)
    typed = re.match(r"\(type 0x([0-9a-f]+)\)0x([0-9a-f]+)", text)
    assert typed, text
    data_type, data = int(typed.group(1), 16), int(typed.group(2), 16)
    if data_type == 0x10:
        return data - (1 << 32) if data & 0x80000000 else data
    if data_type == 0x11:
        return data
    if data_type == 0x12:
        return data != 0
    if data_type == 0x04:
        return struct.unpack("<f", struct.pack("<I", data))[0]
    if data_type in (0x05, 0x06):
        return format_complex(data_type, data)
    if 0x1C <= data_type <= 0x1F:
        return f"#{data:08x}"
    return data


def aapt_tree(apk: Path, member: str) -> list[tuple[int, str, dict[tuple[str | None, str], object]]]:
    out = subprocess.run(
        ["aapt", "dump", "xmltree", str(apk), member], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    prefixes: dict[str, str] = {}
    top = 0
    elements: list[tuple[int, str, dict[tuple[str | None, str], object]]] = []
    for line in out.splitlines():
        body = line.lstrip(" ")
        depth = (len(line) - len(body)) // 2
        if body.startswith("N: "):
            prefix, _, uri = body[3:].partition("=")
            prefixes[prefix] = uri
        elif body.startswith("E: "):
            # aapt indents by the namespace nodes too; files without one start one level up.
            top = top if elements else depth - 1
            elements.append((depth - top, body[3:].split(" (line=")[0], {}))
        elif body.startswith("A: "):
            match = re.match(r"A: (?:([\w.-]+):)?([\w.-]+)(\(0x[0-9a-f]+\))?=(.*)$", body)
            assert match, body
            prefix, name, res_id, value = match.groups()
            elements[-1][2][(prefixes.get(prefix) if prefix else None, name)] = aapt_value(value, res_id is not None)
    return elements


def flatten(root: XmlElement) -> list[tuple[int, str, dict[tuple[str | None, str], object]]]:
    rows = []
    stack = [(root, 1)]
    while stack:
        element, depth = stack.pop()
        rows.append((depth, element.tag, dict(element.attributes)))
        stack.extend((child, depth + 1) for child in reversed(element.children))
    return rows


def normalise_floats(rows: list[tuple[int, str, dict[tuple[str | None, str], object]]]) -> list[object]:
    return [(d, t, {k: (round(v, 5) if isinstance(v, float) else v) for k, v in a.items()}) for d, t, a in rows]


needs_aapt = pytest.mark.skipif(shutil.which("aapt") is None, reason="aapt (Debian package aapt) is not installed")


def sample_apks(built_apk: Path) -> list[Path]:
    apks = [built_apk]
    if FRAMEWORK_APK.exists():
        apks.append(FRAMEWORK_APK)
    apks.extend(sorted(EXAMPLES.glob("*.apk")))
    return apks


@needs_aapt
@pytest.mark.tools
def test_manifest_agrees_with_aapt_xmltree(built_apk: Path) -> None:
    for apk in sample_apks(built_apk):
        with zipfile.ZipFile(apk) as archive:
            ours = parse_axml(archive.read("AndroidManifest.xml"))
        assert normalise_floats(flatten(ours)) == normalise_floats(aapt_tree(apk, "AndroidManifest.xml")), apk


@needs_aapt
@pytest.mark.tools
def test_layout_agrees_with_aapt_xmltree(built_apk: Path) -> None:
    with zipfile.ZipFile(built_apk) as archive:
        ours = parse_axml(archive.read("res/layout/main.xml"))
    assert flatten(ours) == aapt_tree(built_apk, "res/layout/main.xml")
    text_view = ours.find_all("TextView")[0]
    assert text_view.get("textSize") == "14.000000sp"
    assert text_view.get("textColor") == "#ff112233"


@needs_aapt
@pytest.mark.tools
def test_framework_resource_xml_agrees_with_aapt_xmltree() -> None:
    if not FRAMEWORK_APK.exists():
        pytest.skip("android-framework-res is not installed")
    with zipfile.ZipFile(FRAMEWORK_APK) as archive:
        names = sorted(n for n in archive.namelist() if n.startswith("res/") and n.endswith(".xml"))
        # An even spread over layouts, drawables, animators, xml... keeps the run short.
        for name in names[:: max(1, len(names) // 30)]:
            ours = parse_axml(archive.read(name))
            assert normalise_floats(flatten(ours)) == normalise_floats(aapt_tree(FRAMEWORK_APK, name)), name


def tricky_documents() -> dict[str, bytes]:
    unknown = chunk(0x7777, b"", b"\xaa" * 12)
    padded = Options(
        pool_header_pad=8, doc_header_pad=4, node_header_pad=8, attr_start=28, attr_size=28, trailing=b"\x00junk"
    )
    angle = bytearray(build_document(sample_manifest()))
    struct.pack_into("<H", angle, 0, 0x003C)
    names = string_pool(["manifest", "application", "activity", "other"])
    e = NO_INDEX
    return {
        "padded": build_document(sample_manifest(), padded),
        "unknown_chunks": build_document(
            sample_manifest(),
            Options(
                extra_chunks_before_pool=[unknown],
                extra_chunks_between_nodes=[chunk(0x7777, b"", b"\0" * 12, header_pad=8)],
            ),
        ),
        "utf8": build_document(sample_manifest(), Options(utf8=True)),
        "type_0x3c": bytes(angle),
        "style_count": document(
            [string_pool(["manifest"], style_count=5000, styles=b"\xff" * 12), start_element(e, 0), end_element(e, 0)]
        ),
        "decoy_pool": document(
            [
                string_pool(["x"], string_count=0x3FFFFFFF),
                string_pool(["manifest"]),
                start_element(e, 0),
                end_element(e, 0),
            ]
        ),
        "unbalanced": document(
            [
                names,
                *(start_element(e, 0), start_element(e, 1), end_element(e, 3), start_element(e, 2)),
                *(end_element(e, 2), end_element(e, 0), end_element(e, 0), start_element(e, 3), start_element(e, 1)),
            ]
        ),
        "lone_root": document([string_pool(["a"]), start_element(e, 0)]),
    }


@needs_aapt
@pytest.mark.tools
@pytest.mark.parametrize("trick", sorted(tricky_documents()))
def test_tricks_are_read_as_libandroidfw_reads_them(trick: str, tmp_path: Path) -> None:
    """aapt is built on the platform's libandroidfw, so it is the oracle for what a device accepts."""
    data = tricky_documents()[trick]
    apk = tmp_path / f"{trick}.apk"
    with zipfile.ZipFile(apk, "w") as archive:
        archive.writestr("AndroidManifest.xml", data)
    dumped = subprocess.run(
        ["aapt", "dump", "xmltree", str(apk), "AndroidManifest.xml"], capture_output=True, timeout=60
    )
    if dumped.returncode != 0:
        with pytest.raises(MalformedStructureError):
            parse_axml(data)
    else:
        assert normalise_floats(flatten(parse_axml(data))) == normalise_floats(aapt_tree(apk, "AndroidManifest.xml"))


def test_manifest_agrees_with_androguard(built_apk: Path) -> None:
    androguard_apk = pytest.importorskip("androguard.core.apk")
    from loguru import logger

    logger.disable("androguard")
    for apk in sample_apks(built_apk):
        theirs = androguard_apk.APK(str(apk))
        with zipfile.ZipFile(apk) as archive:
            ours = parse_axml(archive.read("AndroidManifest.xml"))
        assert ours.get("package", ns=None) == theirs.get_package()
        assert str(ours.get("versionCode")) == str(theirs.get_androidversion_code())
        permissions = [e.get("name") for e in ours.find_all("uses-permission")]
        assert sorted(permissions) == sorted(theirs.get_permissions())
        their_tree = theirs.get_android_manifest_xml()
        assert [element.tag for element in ours.iter()] == [element.tag for element in their_tree.iter()]
        their_names = [element.get(f"{{{ANDROID_NS}}}name") for element in their_tree.iter()]
        assert [element.get("name") for element in ours.iter()] == their_names
