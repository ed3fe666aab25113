"""Builders for binary XML and resources.arsc bytes, to forge valid and hostile inputs in tests.

Each builder takes keyword arguments for the fields attackers tamper with (header sizes,
counts, strides, offsets), so one test states exactly which field it breaks.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from appwarden.apk.axml import (
    ANDROID_NS,
    TYPE_INT_BOOLEAN,
    TYPE_INT_DEC,
    TYPE_REFERENCE,
    TYPE_STRING,
    ResourceRef,
)

NO_INDEX = 0xFFFFFFFF


def chunk(chunk_type: int, header_fields: bytes, body: bytes, *, header_pad: int = 0, size: int | None = None) -> bytes:
    """A chunk: type, header size, total size, header fields (+ padding), body."""
    header_size = 8 + len(header_fields) + header_pad
    total = header_size + len(body)
    return (
        struct.pack("<HHI", chunk_type, header_size, total if size is None else size)
        + header_fields
        + b"\x00" * header_pad
        + body
    )


def _encode_utf8(text: str) -> bytes:
    raw = text.encode("utf-8")
    units = len(text.encode("utf-16-le")) // 2

    def length(n: int) -> bytes:
        return bytes([n]) if n < 0x80 else bytes([0x80 | (n >> 8), n & 0xFF])

    return length(units) + length(len(raw)) + raw + b"\x00"


def _encode_utf16(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    units = len(raw) // 2
    prefix = struct.pack("<H", units) if units < 0x8000 else struct.pack("<HH", 0x8000 | (units >> 16), units & 0xFFFF)
    return prefix + raw + b"\x00\x00"


def string_pool(
    strings: Sequence[str],
    *,
    utf8: bool = False,
    header_pad: int = 0,
    string_count: int | None = None,
    style_count: int = 0,
    styles: bytes = b"",
    offsets: Sequence[int] | None = None,
    encoded: Sequence[bytes] | None = None,
) -> bytes:
    """A ResStringPool chunk; ``encoded`` replaces the encoding of each string (to forge lengths)."""
    bodies = list(encoded) if encoded is not None else [(_encode_utf8 if utf8 else _encode_utf16)(s) for s in strings]
    string_offsets: list[int] = []
    data = b""
    for body in bodies:
        string_offsets.append(len(data))
        data += body
    while len(data) % 4:
        data += b"\x00"
    if offsets is not None:
        string_offsets = list(offsets)
    index = b"".join(struct.pack("<I", o) for o in string_offsets)
    header_size = 28 + header_pad
    strings_start = header_size + len(index)
    styles_start = strings_start + len(data) if styles else 0
    fields = struct.pack(
        "<IIIII",
        len(bodies) if string_count is None else string_count,
        style_count,
        0x100 if utf8 else 0,
        strings_start,
        styles_start,
    )
    return chunk(0x0001, fields, index + data + styles, header_pad=header_pad)


def resource_map(ids: Sequence[int]) -> bytes:
    return chunk(0x0180, b"", b"".join(struct.pack("<I", i) for i in ids))


def node(chunk_type: int, ext: bytes, *, header_pad: int = 0, line: int = 1) -> bytes:
    return chunk(chunk_type, struct.pack("<Ii", line, -1), ext, header_pad=header_pad)


def start_namespace(prefix: int, uri: int) -> bytes:
    return node(0x0100, struct.pack("<II", prefix, uri))


def end_namespace(prefix: int, uri: int) -> bytes:
    return node(0x0101, struct.pack("<II", prefix, uri))


@dataclass
class RawAttribute:
    ns: int
    name: int
    raw: int
    data_type: int
    data: int


def start_element(
    ns: int,
    name: int,
    attributes: Sequence[RawAttribute] = (),
    *,
    attr_start: int = 20,
    attr_size: int = 20,
    attr_count: int | None = None,
    header_pad: int = 0,
) -> bytes:
    records = b"".join(
        struct.pack("<IIIHBBI", a.ns, a.name, a.raw, 8, 0, a.data_type, a.data) + b"\x00" * (attr_size - 20)
        for a in attributes
    )
    ext = struct.pack(
        "<IIHHHHHH",
        ns,
        name,
        attr_start,
        attr_size,
        len(attributes) if attr_count is None else attr_count,
        0,
        0,
        0,
    )
    ext += b"\x00" * (attr_start - 20) + records
    return node(0x0102, ext, header_pad=header_pad)


def end_element(ns: int, name: int) -> bytes:
    return node(0x0103, struct.pack("<II", ns, name))


def document(chunks: Sequence[bytes], *, header_pad: int = 0, doc_type: int = 0x0003, size: int | None = None) -> bytes:
    body = b"".join(chunks)
    return chunk(doc_type, b"", body, header_pad=header_pad, size=size)


@dataclass
class Element:
    """A forged element: attribute key (namespace or None, name[, resource id]) and value."""

    tag: str
    attributes: list[tuple[str | None, str, int, object]] = field(default_factory=list)
    children: list[Element] = field(default_factory=list)


@dataclass
class Options:
    utf8: bool = False
    pool_header_pad: int = 0
    doc_header_pad: int = 0
    node_header_pad: int = 0
    attr_start: int = 20
    attr_size: int = 20
    renamed_attributes: bool = False  # write garbage name strings for resource-id attributes
    extra_chunks_before_pool: Sequence[bytes] = ()
    extra_chunks_between_nodes: Sequence[bytes] = ()
    trailing: bytes = b""


def build_document(root: Element, options: Options | None = None) -> bytes:
    """Binary XML for ``root`` laid out as aapt does: id-carrying attribute names first in the pool."""
    opts = options or Options()
    elements: list[Element] = []
    stack = [root]
    while stack:
        element = stack.pop()
        elements.append(element)
        stack.extend(reversed(element.children))
    attr_ids: list[tuple[str, int]] = []
    for element in elements:
        for _, name, res_id, _ in element.attributes:
            if res_id and (name, res_id) not in attr_ids:
                attr_ids.append((name, res_id))
    strings: list[str] = [f"x{i}" if opts.renamed_attributes else name for i, (name, _) in enumerate(attr_ids)]
    index: dict[str, int] = {}

    def intern(text: str) -> int:
        if text not in index:
            index[text] = len(strings)
            strings.append(text)
        return index[text]

    id_slot = {key: i for i, key in enumerate(attr_ids)}
    intern("android")
    intern(ANDROID_NS)
    nodes: list[bytes] = []
    body_chunks: list[bytes] = [start_namespace(index["android"], index[ANDROID_NS])]
    walk: list[tuple[Element, bool]] = [(root, False)]
    while walk:
        element, closing = walk.pop()
        if closing:
            body_chunks.append(end_element(NO_INDEX, intern(element.tag)))
            body_chunks.extend(opts.extra_chunks_between_nodes)
            continue
        records: list[RawAttribute] = []
        for ns, name, res_id, value in element.attributes:
            ns_index = intern(ns) if ns else NO_INDEX
            name_index = id_slot[(name, res_id)] if res_id else intern(name)
            raw = NO_INDEX
            if isinstance(value, bool):
                data_type, data = TYPE_INT_BOOLEAN, 0xFFFFFFFF if value else 0
            elif isinstance(value, int):
                data_type, data = TYPE_INT_DEC, value & 0xFFFFFFFF
            elif isinstance(value, ResourceRef):
                data_type, data = TYPE_REFERENCE, value.id
            elif isinstance(value, tuple):
                data_type, data = value
            else:
                assert isinstance(value, str)
                raw = intern(value)
                data_type, data = TYPE_STRING, raw
            records.append(RawAttribute(ns_index, name_index, raw, data_type, data))
        body_chunks.append(
            start_element(
                NO_INDEX,
                intern(element.tag),
                records,
                attr_start=opts.attr_start,
                attr_size=opts.attr_size,
                header_pad=opts.node_header_pad,
            )
        )
        walk.append((element, True))
        walk.extend((child, False) for child in reversed(element.children))
    body_chunks.append(end_namespace(index["android"], index[ANDROID_NS]))
    nodes = body_chunks
    pool = string_pool(strings, utf8=opts.utf8, header_pad=opts.pool_header_pad)
    chunks = [*opts.extra_chunks_before_pool, pool, resource_map([res_id for _, res_id in attr_ids]), *nodes]
    return document(chunks, header_pad=opts.doc_header_pad) + opts.trailing


# ---------------------------------------------------------------- a real APK built by aapt

SAMPLE_FILES = {
    "AndroidManifest.xml": """<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="com.example.warden" android:versionCode="42" android:versionName="1.2.3">
  <uses-sdk android:minSdkVersion="21" android:targetSdkVersion="30"/>
  <uses-permission android:name="android.permission.INTERNET"/>
  <uses-permission android:name="android.permission.READ_CONTACTS"/>
  <application android:label="@string/app_name" android:allowBackup="false" android:debuggable="true">
    <activity android:name=".MainActivity" android:exported="true" android:screenOrientation="portrait">
      <intent-filter android:priority="999">
        <action android:name="android.intent.action.MAIN"/>
        <category android:name="android.intent.category.LAUNCHER"/>
      </intent-filter>
    </activity>
    <receiver android:name=".Boot" android:enabled="true" android:exported="false">
      <intent-filter><action android:name="android.intent.action.BOOT_COMPLETED"/></intent-filter>
    </receiver>
    <meta-data android:name="UMENG_APPKEY" android:value="5f1234abcd"/>
    <meta-data android:name="scale" android:value="1.5"/>
    <meta-data android:name="flag" android:value="true"/>
    <meta-data android:name="layoutref" android:resource="@layout/main"/>
  </application>
</manifest>
""",
    "res/values/strings.xml": """<resources>
  <string name="app_name">@string/real_name</string>
  <string name="real_name">Warden Demo</string>
  <string name="greeting">Hello &amp; welcome</string>
  <string name="only_default">Default only</string>
  <bool name="is_on">true</bool>
  <integer name="answer">42</integer>
  <color name="accent">#ff112233</color>
  <dimen name="gap">16dp</dimen>
  <string-array name="planets"><item>Mercury</item></string-array>
</resources>
""",
    "res/values-zh/strings.xml": """<resources>
  <string name="real_name">卫士演示</string>
  <string name="greeting">你好，欢迎</string>
</resources>
""",
    "res/values-zh-rTW/strings.xml": """<resources>
  <string name="real_name">衛士演示</string>
</resources>
""",
    "res/layout/main.xml": """<LinearLayout xmlns:android="http://schemas.android.com/apk/res/android" android:layout_width="match_parent" android:layout_height="wrap_content" android:orientation="vertical">
  <TextView android:id="@+id/title" android:text="@string/greeting" android:textSize="14sp" android:textColor="#ff112233" android:layout_width="10dp" android:layout_height="wrap_content"/>
</LinearLayout>
""",
}

FRAMEWORK_APK = Path("/usr/share/android-framework-res/framework-res.apk")


def build_sample_apk(workdir: Path) -> Path:
    """Build the sample app with aapt package against framework-res.apk; skips when aapt is missing."""
    if shutil.which("aapt") is None or not FRAMEWORK_APK.exists():
        pytest.skip("aapt (Debian package aapt) or android-framework-res is not installed")
    for relative, text in SAMPLE_FILES.items():
        path = workdir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    apk = workdir / "sample.apk"
    subprocess.run(
        [
            "aapt",
            "package",
            "-f",
            "-M",
            str(workdir / "AndroidManifest.xml"),
            "-S",
            str(workdir / "res"),
            "-I",
            str(FRAMEWORK_APK),
            "-F",
            str(apk),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return apk
