"""Android binary XML (AXML) reader for AndroidManifest.xml and compiled layouts.

The reader follows what the platform does (``ResXMLTree`` / ``ResStringPool`` in
libandroidfw and ``XmlBlock`` in the framework), not what apktool does, because
malicious and packed apps exploit exactly the places where the two differ:

* every chunk is located through its own ``headerSize`` and ``size``; bigger headers
  than the standard ones and bytes after the declared document size are tolerated;
* chunk types Android does not know are skipped;
* ``android:`` attributes are named by the resource-ID map, not by their name string;
* element nesting is tracked by depth like ``XmlPullParser``: mismatched end tags
  close the current element, missing ones are closed at the end of the document.

A plain-text XML manifest (produced by some build tools) is read with expat with
DTDs and entities refused.

Everything is iterative and bounded: hostile input gives
:class:`~appwarden.errors.MalformedStructureError` or
:class:`~appwarden.errors.LimitExceededError`, never a traceback, hang or
unbounded allocation.
"""

from __future__ import annotations

import re
import struct
import xml.parsers.expat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from appwarden.errors import LimitExceededError, MalformedStructureError

ANDROID_NS: Final = "http://schemas.android.com/apk/res/android"

# Chunk types (frameworks/base/libs/androidfw/include/androidfw/ResourceTypes.h).
RES_NULL_TYPE: Final = 0x0000
RES_STRING_POOL_TYPE: Final = 0x0001
RES_TABLE_TYPE: Final = 0x0002
RES_XML_TYPE: Final = 0x0003
RES_XML_START_NAMESPACE_TYPE: Final = 0x0100
RES_XML_END_NAMESPACE_TYPE: Final = 0x0101
RES_XML_START_ELEMENT_TYPE: Final = 0x0102
RES_XML_END_ELEMENT_TYPE: Final = 0x0103
RES_XML_CDATA_TYPE: Final = 0x0104
RES_XML_LAST_CHUNK_TYPE: Final = 0x017F
RES_XML_RESOURCE_MAP_TYPE: Final = 0x0180

# Res_value data types.
TYPE_NULL: Final = 0x00
TYPE_REFERENCE: Final = 0x01
TYPE_ATTRIBUTE: Final = 0x02
TYPE_STRING: Final = 0x03
TYPE_FLOAT: Final = 0x04
TYPE_DIMENSION: Final = 0x05
TYPE_FRACTION: Final = 0x06
TYPE_DYNAMIC_REFERENCE: Final = 0x07
TYPE_DYNAMIC_ATTRIBUTE: Final = 0x08
TYPE_INT_DEC: Final = 0x10
TYPE_INT_HEX: Final = 0x11
TYPE_INT_BOOLEAN: Final = 0x12
TYPE_FIRST_COLOR_INT: Final = 0x1C
TYPE_LAST_COLOR_INT: Final = 0x1F

_UTF8_FLAG: Final = 0x100
_CHUNK_HEADER_SIZE: Final = 8
_STRING_POOL_HEADER_SIZE: Final = 28
_XML_NODE_HEADER_SIZE: Final = 16
_ATTR_EXT_SIZE: Final = 20
_ATTRIBUTE_SIZE: Final = 20
_MAX_PLAIN_XML_BYTES: Final = 16 * 1024 * 1024
_MAX_INDENT_LEVELS: Final = 32
_UNSAFE_NAME_CHARS: Final = re.compile(r"[^\w.\-]")

#: Public framework attribute ids (android.R.attr) appwarden reads, from
#: ``aapt dump resources /usr/share/android-framework-res/framework-res.apk`` (API 29).
#: Public ids are frozen by the platform, so this table never goes stale for these names.
FRAMEWORK_ATTRS: Final[dict[int, str]] = {
    0x01010000: "theme",
    0x01010001: "label",
    0x01010002: "icon",
    0x01010003: "name",
    0x01010004: "manageSpaceActivity",
    0x01010005: "allowClearUserData",
    0x01010006: "permission",
    0x01010007: "readPermission",
    0x01010008: "writePermission",
    0x01010009: "protectionLevel",
    0x0101000A: "permissionGroup",
    0x0101000B: "sharedUserId",
    0x0101000C: "hasCode",
    0x0101000D: "persistent",
    0x0101000E: "enabled",
    0x0101000F: "debuggable",
    0x01010010: "exported",
    0x01010011: "process",
    0x01010012: "taskAffinity",
    0x01010013: "multiprocess",
    0x01010014: "finishOnTaskLaunch",
    0x01010015: "clearTaskOnLaunch",
    0x01010016: "stateNotNeeded",
    0x01010017: "excludeFromRecents",
    0x01010018: "authorities",
    0x01010019: "syncable",
    0x0101001A: "initOrder",
    0x0101001B: "grantUriPermissions",
    0x0101001C: "priority",
    0x0101001D: "launchMode",
    0x0101001E: "screenOrientation",
    0x0101001F: "configChanges",
    0x01010020: "description",
    0x01010024: "value",
    0x01010025: "resource",
    0x01010026: "mimeType",
    0x01010027: "scheme",
    0x01010028: "host",
    0x01010029: "port",
    0x0101002A: "path",
    0x0101002B: "pathPrefix",
    0x0101002C: "pathPattern",
    0x01010095: "textSize",
    0x01010098: "textColor",
    0x010100C4: "orientation",
    0x010100D0: "id",
    0x010100D1: "tag",
    0x010100D4: "background",
    0x010100DC: "visibility",
    0x010100F4: "layout_width",
    0x010100F5: "layout_height",
    0x01010119: "src",
    0x0101014F: "text",
    0x01010150: "hint",
    0x010101EA: "order",
    0x01010202: "targetActivity",
    0x01010203: "alwaysRetainTaskState",
    0x01010204: "allowTaskReparenting",
    0x0101020C: "minSdkVersion",
    0x0101021B: "versionCode",
    0x0101021C: "versionName",
    0x01010227: "reqTouchScreen",
    0x0101022B: "windowSoftInputMode",
    0x0101022D: "noHistory",
    0x01010261: "sharedUserLabel",
    0x0101026F: "onClick",
    0x01010270: "targetSdkVersion",
    0x01010271: "maxSdkVersion",
    0x01010272: "testOnly",
    0x01010273: "contentDescription",
    0x0101027F: "backupAgent",
    0x01010280: "allowBackup",
    0x01010281: "glEsVersion",
    0x0101028E: "required",
    0x0101029C: "killAfterRestore",
    0x010102B7: "installLocation",
    0x010102B8: "vmSafeMode",
    0x010102BA: "restoreAnyVersion",
    0x010102BE: "logo",
    0x010102C0: "immersive",
    0x010102D3: "hardwareAccelerated",
    0x0101035A: "largeHeap",
    0x0101036A: "stopWithTask",
    0x01010398: "uiOptions",
    0x010103A7: "parentActivityName",
    0x010103A9: "isolatedProcess",
    0x010103AF: "supportsRtl",
    0x010103E3: "ssp",
    0x010103E4: "sspPrefix",
    0x010103F2: "banner",
    0x01010445: "documentLaunchMode",
    0x010104EA: "extractNativeLibs",
    0x010104EB: "fullBackupContent",
    0x010104EC: "usesCleartextTraffic",
    0x010104EE: "autoVerify",
    0x010104F6: "resizeableActivity",
    0x01010505: "directBootAware",
    0x01010527: "networkSecurityConfig",
    0x0101052C: "roundIcon",
    0x01010531: "visibleToInstantApps",
    0x01010569: "showWhenLocked",
    0x0101056A: "turnScreenOn",
    0x01010572: "compileSdkVersion",
    0x01010573: "compileSdkVersionCodename",
    0x0101057A: "appComponentFactory",
    0x01010599: "foregroundServiceType",
    0x01010603: "requestLegacyExternalStorage",
}

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_CHUNK = struct.Struct("<HHI")
_POOL_HEADER = struct.Struct("<IIIII")  # stringCount, styleCount, flags, stringsStart, stylesStart
_ATTR_EXT = struct.Struct("<IIHHHHHH")
_ATTRIBUTE = struct.Struct("<IIIHBBI")
_NO_INDEX: Final = 0xFFFFFFFF


@dataclass(frozen=True)
class ResourceRef:
    """A reference to a resource (``@0x7f0b0001``) or, with ``is_attr``, a theme attribute (``?0x…``)."""

    id: int
    is_attr: bool = False

    def __str__(self) -> str:
        return f"{'?' if self.is_attr else '@'}0x{self.id:08x}"


AttrValue = str | int | float | bool | ResourceRef | None


@dataclass(eq=False)
class XmlElement:
    """One element of a manifest or layout; attributes keyed by (namespace uri or None, local name)."""

    tag: str
    namespace: str | None = None
    attributes: dict[tuple[str | None, str], AttrValue] = field(default_factory=dict)
    children: list[XmlElement] = field(default_factory=list)

    def get(self, name: str, ns: str | None = ANDROID_NS, default: AttrValue = None) -> AttrValue:
        """The value of attribute ``ns:name``, or ``default`` when the element does not have it."""
        return self.attributes.get((ns, name), default)

    def iter(self, tag: str | None = None) -> Iterator[XmlElement]:
        """Elements of this subtree in document order (depth first, self first), optionally only ``tag``.

        Iterative, so arbitrarily deep trees from hostile files never hit the recursion limit.
        """
        stack: list[XmlElement] = [self]
        while stack:
            element = stack.pop()
            if tag is None or element.tag == tag:
                yield element
            stack.extend(reversed(element.children))

    def find_all(self, tag: str) -> list[XmlElement]:
        """Direct children named ``tag``, in document order."""
        return [child for child in self.children if child.tag == tag]

    def __eq__(self, other: object) -> bool:
        # Iterative structural comparison: the dataclass default recurses and a hostile
        # depth of 100 000 would raise RecursionError.
        if not isinstance(other, XmlElement):
            return NotImplemented
        pairs: list[tuple[XmlElement, XmlElement]] = [(self, other)]
        while pairs:
            left, right = pairs.pop()
            if (
                left.tag != right.tag
                or left.namespace != right.namespace
                or left.attributes != right.attributes
                or len(left.children) != len(right.children)
            ):
                return False
            pairs.extend(zip(left.children, right.children, strict=True))
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # Shallow on purpose: a full repr of a deep tree would recurse without bound.
        return f"XmlElement(tag={self.tag!r}, attributes={len(self.attributes)}, children={len(self.children)})"


def _malformed(what: str, problem: str) -> MalformedStructureError:
    return MalformedStructureError(f"{what}: {problem}", detail="the file is corrupt or crafted against parsers")


def _chunk_header(data: bytes, offset: int, end: int, min_header: int, what: str) -> tuple[int, int, int]:
    """Type, header size and size of the chunk at ``offset``, validated like Android's ``validate_chunk``."""
    if offset + _CHUNK_HEADER_SIZE > end:
        raise _malformed(what, f"chunk header at offset {offset} runs past the end at {end}")
    chunk_type, header_size, size = _CHUNK.unpack_from(data, offset)
    if header_size < min_header:
        raise _malformed(what, f"chunk at offset {offset} has header size {header_size}, below {min_header}")
    if header_size > size:
        raise _malformed(what, f"chunk at offset {offset} has size {size}, smaller than its header {header_size}")
    if (header_size | size) & 3:
        raise _malformed(what, f"chunk at offset {offset} is not 4-byte aligned (size {size})")
    if size > end - offset:
        raise _malformed(what, f"chunk at offset {offset} of size {size} runs past the end at {end}")
    return chunk_type, header_size, size


def _android_utf16_length(raw: bytes) -> int | None:
    """UTF-16 length of UTF-8 bytes as libutils ``utf8_to_utf16_length`` measures it (None: truncated)."""
    if raw.isascii():
        return len(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)
    count = 0
    i = 0
    while i < len(raw):
        lead = raw[i]
        char_len = ((0xE5000000 >> ((lead >> 3) & 0x1E)) & 3) + 1
        if i + char_len > len(raw):
            return None
        count += 2 if char_len == 4 else 1
        i += char_len
    return count


def _decode_utf8_leniently(raw: bytes) -> str:
    """UTF-8 as libutils decodes it: CESU-8 surrogate pairs joined, other bad bytes replaced."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # Modified UTF-8 / CESU-8 (surrogates encoded one by one) as written by some tools.
        halves = raw.decode("utf-8", "surrogatepass")
        return halves.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace")


class StringPool:
    """The strings of one ``ResStringPool`` chunk, validated like Android's ``ResStringPool::setTo``.

    ``get`` returns None wherever Android's ``stringAt`` returns NULL (index out of range,
    string running past the pool, missing terminator, wrong decoded length), so callers
    see the same holes the platform sees. Strings are decoded lazily: a hostile count of
    millions of entries costs nothing until they are asked for.
    """

    def __init__(self, data: bytes, offset: int, size: int, what: str) -> None:
        end = offset + size
        _, header_size, chunk_size = _chunk_header(data, offset, end, _STRING_POOL_HEADER_SIZE, what)
        string_count, style_count, flags, strings_start, styles_start = _POOL_HEADER.unpack_from(data, offset + 8)
        self._data = data
        self._utf8 = bool(flags & _UTF8_FLAG)
        self._entries = offset + header_size
        self._cache: dict[int, str | None] = {}
        char_size = 1 if self._utf8 else 2
        self.count = 0
        self._strings = 0
        self._pool_chars = 0
        if string_count > 0:
            if header_size + string_count * 4 > chunk_size:
                raise _malformed(
                    what, f"string pool declares {string_count} strings, more than its {chunk_size} bytes hold"
                )
            if strings_start >= chunk_size - 2:
                raise _malformed(what, f"string data starts at {strings_start}, past the pool size {chunk_size}")
            if style_count == 0:
                pool_bytes = chunk_size - strings_start
            else:
                if styles_start >= chunk_size - 2:
                    raise _malformed(what, f"style data starts at {styles_start}, past the pool size {chunk_size}")
                if styles_start <= strings_start:
                    raise _malformed(what, f"style data at {styles_start} starts before the strings at {strings_start}")
                pool_bytes = styles_start - strings_start
            self._pool_chars = pool_bytes // char_size
            if self._pool_chars == 0:
                raise _malformed(what, f"string pool declares {string_count} strings but holds no string data")
            self._strings = offset + strings_start
            last = self._strings + (self._pool_chars - 1) * char_size
            terminator = data[last] if self._utf8 else _U16.unpack_from(data, last)[0]
            if terminator != 0:
                raise _malformed(what, "the last string of the string pool is not terminated")
            self.count = string_count
        if style_count > 0:
            # Android checks only where the style index would start and that the style data is
            # terminated; it never reads styleCount entries up front, so a wrong style count
            # (an apktool crash) is tolerated here too. appwarden does not need the spans.
            if header_size + string_count * 4 > chunk_size:
                raise _malformed(what, "style index starts past the end of the string pool")
            if styles_start >= chunk_size:
                raise _malformed(what, f"style data starts at {styles_start}, past the pool size {chunk_size}")
            style_end = offset + chunk_size
            if style_end - (offset + styles_start) < 12 or data[style_end - 12 : style_end] != b"\xff" * 12:
                raise _malformed(what, "the style data is not terminated by 0xFFFFFFFF")

    def __len__(self) -> int:
        return self.count

    def get(self, index: int) -> str | None:
        """String ``index``, or None where Android's ``ResStringPool::stringAt`` gives NULL."""
        if index < 0 or index >= self.count:
            return None
        if index in self._cache:
            return self._cache[index]
        value = self._decode(index)
        if len(self._cache) < 1_000_000:
            self._cache[index] = value
        return value

    def _decode(self, index: int) -> str | None:
        data = self._data
        entry = _U32.unpack_from(data, self._entries + index * 4)[0]
        if self._utf8:
            pos = entry
            if pos >= self._pool_chars - 1:
                return None
            limit = self._strings + self._pool_chars
            p = self._strings + pos
            u16_len, p = self._length8(p, limit)
            u8_len, p = self._length8(p, limit)
            if p + u8_len >= limit:
                return None
            # Like stringDecodeAt: aapt truncated lengths above 0x7FFF, so the real end is the
            # first NUL found at encLen, encLen | 1 << 15, encLen | 2 << 15, ...
            end = u8_len
            step = 0
            while p + end < limit and data[p + end] != 0:
                step += 1
                end = (step << 15) | u8_len
            if p + end >= limit:
                return None
            raw = bytes(data[p : p + end])
            measured = _android_utf16_length(raw)
            if measured is None or (measured & 0x7FFF) != u16_len:
                return None
            return _decode_utf8_leniently(raw)
        pos = entry // 2
        if pos >= self._pool_chars - 1:
            return None
        base = self._strings
        length = _U16.unpack_from(data, base + pos * 2)[0]
        pos += 1
        if length & 0x8000:
            if pos >= self._pool_chars:
                return None
            length = ((length & 0x7FFF) << 16) | _U16.unpack_from(data, base + pos * 2)[0]
            pos += 1
        if pos + length >= self._pool_chars:
            return None
        if _U16.unpack_from(data, base + (pos + length) * 2)[0] != 0:
            return None
        return bytes(data[base + pos * 2 : base + (pos + length) * 2]).decode("utf-16-le", "replace")

    def _length8(self, p: int, limit: int) -> tuple[int, int]:
        if p >= limit:
            return 0x10000, p
        length = self._data[p]
        p += 1
        if length & 0x80:
            if p >= limit:
                return 0x10000, p
            length = ((length & 0x7F) << 8) | self._data[p]
            p += 1
        return length, p


def _complex_to_float(data: int) -> float:
    mantissa = data & 0xFFFFFF00
    if mantissa & 0x80000000:
        mantissa -= 1 << 32
    radix_shift = (0, 7, 15, 23)[(data >> 4) & 3]
    return mantissa * (1.0 / (1 << 8)) / (1 << radix_shift)


_DIMENSION_UNITS: Final = ("px", "dp", "sp", "pt", "in", "mm")


def _format_float(value: float) -> str:
    return f"{value:.6f}"


def format_complex(data_type: int, data: int) -> str:
    """A dimension or fraction spelled as aapt's ``print_complex`` does (``16.000000dp``, ``0.500000%``)."""
    value = _format_float(_complex_to_float(data))
    unit = data & 0xF
    if data_type == TYPE_DIMENSION:
        return value + (_DIMENSION_UNITS[unit] if unit < len(_DIMENSION_UNITS) else " (unknown unit)")
    return value + ("%" if unit == 0 else "%p" if unit == 1 else " (unknown unit)")


def typed_value(data_type: int, data: int, strings: StringPool | None) -> AttrValue:
    """A ``Res_value`` as the Python value appwarden uses, typed the way Android types it.

    Strings come from ``strings`` (None where Android would get NULL), integers are signed
    for INT_DEC and unsigned for INT_HEX (bit masks), booleans are ``data != 0`` like
    ``TypedArray.getBoolean``, colours are ``#aarrggbb`` text, dimensions and fractions are
    aapt's text. TYPE_NULL is None (``@null`` / undefined) or "" (``@empty``).
    """
    if data_type == TYPE_STRING:
        return strings.get(data) if strings is not None else None
    if data_type in (TYPE_REFERENCE, TYPE_DYNAMIC_REFERENCE):
        return ResourceRef(data)
    if data_type in (TYPE_ATTRIBUTE, TYPE_DYNAMIC_ATTRIBUTE):
        return ResourceRef(data, is_attr=True)
    if data_type == TYPE_INT_BOOLEAN:
        return data != 0
    if data_type == TYPE_INT_DEC:
        return data - (1 << 32) if data & 0x80000000 else data
    if data_type == TYPE_INT_HEX:
        return data
    if data_type == TYPE_FLOAT:
        return struct.unpack("<f", _U32.pack(data))[0]
    if data_type in (TYPE_DIMENSION, TYPE_FRACTION):
        return format_complex(data_type, data)
    if TYPE_FIRST_COLOR_INT <= data_type <= TYPE_LAST_COLOR_INT:
        return f"#{data:08x}"
    if data_type == TYPE_NULL:
        return "" if data == 1 else None
    # Unknown types are kept as their raw number rather than dropped.
    return data


def parse_axml(data: bytes, *, max_elements: int = 200_000) -> XmlElement:
    """The element tree of an Android binary XML file (or of a plain-text XML manifest).

    Reads the document the way the platform does (see the module docstring). Raises
    :class:`MalformedStructureError` for input Android itself refuses, and
    :class:`LimitExceededError` when the document has more than ``max_elements`` elements.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    if _looks_like_text_xml(data):
        return _parse_text_xml(data, max_elements)
    return _BinaryXmlReader(data, max_elements).read()


def _looks_like_text_xml(data: bytes) -> bool:
    # Android ignores the document type, so a binary file may begin with 0x3C ('<'); only
    # input whose binary header cannot be valid is taken for text.
    if len(data) >= _CHUNK_HEADER_SIZE:
        _, header_size, size = _CHUNK.unpack_from(data, 0)
        if _CHUNK_HEADER_SIZE <= header_size <= size <= len(data):
            return False
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


class _BinaryXmlReader:
    what = "binary XML"

    def __init__(self, data: bytes, max_elements: int) -> None:
        self.data = data
        self.max_elements = max_elements
        self.strings: StringPool | None = None
        self.res_ids: list[int] = []

    def read(self) -> XmlElement:
        data = self.data
        if len(data) < _CHUNK_HEADER_SIZE:
            raise _malformed(self.what, f"{len(data)} bytes is too short for a binary XML header")
        # Android does not check the document type here, and packers rely on that.
        _, header_size, size = _CHUNK.unpack_from(data, 0)
        if header_size > size or size > len(data):
            raise _malformed(
                self.what, f"declared size {size} or header size {header_size} exceeds the {len(data)} bytes present"
            )
        if header_size < _CHUNK_HEADER_SIZE:
            raise _malformed(self.what, f"document header size {header_size} is below 8")
        end = size  # bytes after the declared size are ignored, as on a device
        offset = header_size
        first_node = -1
        pool_error: MalformedStructureError | None = None
        # ResXMLTree::setTo scans only chunks that end strictly before the document end, so a
        # document whose first element is also its last chunk has no root on a device either.
        while offset + _CHUNK_HEADER_SIZE < end:
            chunk_type, chunk_header, chunk_size = _chunk_header(data, offset, end, _CHUNK_HEADER_SIZE, self.what)
            if offset + chunk_size >= end:
                break
            if chunk_type == RES_STRING_POOL_TYPE:
                # The last string pool wins, and only its validity counts (ResStringPool::setTo
                # is simply called again), so a broken decoy pool before a good one is harmless.
                try:
                    self.strings = StringPool(data, offset, chunk_size, f"{self.what} string pool")
                    pool_error = None
                except MalformedStructureError as error:
                    self.strings, pool_error = None, error
            elif chunk_type == RES_XML_RESOURCE_MAP_TYPE:
                count = (chunk_size - chunk_header) // 4
                self.res_ids = list(struct.unpack_from(f"<{count}I", data, offset + chunk_header))
            elif RES_XML_START_NAMESPACE_TYPE <= chunk_type <= RES_XML_LAST_CHUNK_TYPE:
                first_node = offset
                break
            offset += chunk_size
        if first_node < 0:
            raise _malformed(self.what, "no element found")
        if pool_error is not None:
            raise pool_error
        if self.strings is None:
            raise _malformed(self.what, "no string pool before the first element")
        return self._read_nodes(first_node, end)

    def _read_nodes(self, offset: int, end: int) -> XmlElement:
        data = self.data
        root: XmlElement | None = None
        stack: list[XmlElement] = []
        elements = 0
        while offset < end:
            chunk_type, header_size, size = _chunk_header(data, offset, end, _XML_NODE_HEADER_SIZE, self.what)
            ext = offset + header_size
            if chunk_type == RES_XML_START_ELEMENT_TYPE:
                if size - header_size < _ATTR_EXT_SIZE:
                    raise _malformed(self.what, f"start tag at offset {offset} is too small ({size} bytes)")
                elements += 1
                if elements > self.max_elements:
                    raise LimitExceededError(
                        f"binary XML has more than {self.max_elements} elements",
                        detail="raise max_elements if this app is legitimate",
                    )
                element = self._start_element(offset, ext, size - header_size)
                if stack:
                    stack[-1].children.append(element)
                    stack.append(element)
                elif root is None:
                    root = element
                    stack.append(element)
                # A second top-level element is ignored: the platform stops at the end of the first.
            elif chunk_type == RES_XML_END_ELEMENT_TYPE:
                if size - header_size < 8:
                    raise _malformed(self.what, f"end tag at offset {offset} is too small ({size} bytes)")
                # Depth-based like XmlPullParser: the name in the end tag is not checked, and a
                # stray end tag with nothing open is ignored.
                if stack:
                    stack.pop()
            elif chunk_type in (RES_XML_START_NAMESPACE_TYPE, RES_XML_END_NAMESPACE_TYPE):
                if size - header_size < 8:
                    raise _malformed(self.what, f"namespace node at offset {offset} is too small ({size} bytes)")
            elif chunk_type == RES_XML_CDATA_TYPE and size - header_size < 12:
                raise _malformed(self.what, f"text node at offset {offset} is too small ({size} bytes)")
            # Any other chunk type is skipped, as ResXMLParser::nextNode does.
            offset += size
        if root is None:
            raise _malformed(self.what, "no element found")
        return root

    def _string(self, index: int) -> str | None:
        if index == _NO_INDEX or self.strings is None:
            return None
        return self.strings.get(index)

    def _start_element(self, node: int, ext: int, ext_size: int) -> XmlElement:
        data = self.data
        ns_index, name_index, attr_start, attr_size, attr_count, _, _, _ = _ATTR_EXT.unpack_from(data, ext)
        if attr_start + attr_size * attr_count > ext_size:
            raise _malformed(
                self.what,
                f"start tag at offset {node} declares {attr_count} attributes of {attr_size} bytes, more than it holds",
            )
        tag = self._string(name_index)
        if tag is None:
            raise _malformed(self.what, f"start tag at offset {node} has no readable name (string {name_index})")
        element = XmlElement(tag=tag, namespace=self._string(ns_index))
        if attr_count and attr_size < _ATTRIBUTE_SIZE:
            raise _malformed(self.what, f"start tag at offset {node} has attributes of {attr_size} bytes, below 20")
        by_id: set[tuple[str | None, str]] = set()
        for i in range(attr_count):
            # attributeSize is the stride, exactly as Android uses it; larger records are legal.
            a_ns, a_name, a_raw, _, _, a_type, a_data = _ATTRIBUTE.unpack_from(data, ext + attr_start + i * attr_size)
            res_id = self.res_ids[a_name] if a_name < len(self.res_ids) else 0
            framework_name = FRAMEWORK_ATTRS.get(res_id)
            key: tuple[str | None, str]
            if framework_name is not None:
                # The platform matches android: attributes by resource id only; the name and
                # namespace strings are decoration that malware rewrites.
                key = (ANDROID_NS, framework_name)
            else:
                name = self._string(a_name)
                if name is None:
                    continue  # Android cannot name it either, so nothing can read it
                namespace = self._string(a_ns)
                if res_id >> 24 == 0x01:
                    namespace = ANDROID_NS
                key = (namespace, name)
            if key in element.attributes and (framework_name is None or key in by_id):
                # The first of duplicates is the one the platform's sorted merge sees; an
                # attribute named by resource id beats a decoy that only has the name string.
                continue
            if framework_name is not None:
                by_id.add(key)
            value: AttrValue
            if res_id == 0 and a_raw != _NO_INDEX:
                # Attributes read by name (package, split...) go through getAttributeValue,
                # which returns the raw string.
                value = self._string(a_raw)
            else:
                value = typed_value(a_type, a_data, self.strings)
            element.attributes[key] = value
        return element


class _TextXmlBuilder:
    def __init__(self, max_elements: int) -> None:
        self.max_elements = max_elements
        self.root: XmlElement | None = None
        self.stack: list[XmlElement] = []
        self.elements = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.elements += 1
        if self.elements > self.max_elements:
            raise LimitExceededError(f"XML has more than {self.max_elements} elements")
        namespace, tag = _split_name(name)
        element = XmlElement(tag=tag, namespace=namespace)
        for raw_name, value in attrs.items():
            element.attributes[_split_name(raw_name)] = value
        if self.stack:
            self.stack[-1].children.append(element)
        elif self.root is None:
            self.root = element
        self.stack.append(element)

    def end(self, name: str) -> None:
        self.stack.pop()


def _split_name(name: str) -> tuple[str | None, str]:
    namespace, sep, local = name.rpartition("\x01")
    return (namespace, local) if sep else (None, name)


def _refuse_dtd(*_: object) -> None:
    raise _malformed("text XML", "DTDs and entity declarations are refused (possible entity expansion attack)")


def _parse_text_xml(data: bytes, max_elements: int) -> XmlElement:
    if len(data) > _MAX_PLAIN_XML_BYTES:
        raise LimitExceededError(f"text XML of {len(data)} bytes exceeds the limit of {_MAX_PLAIN_XML_BYTES}")
    builder = _TextXmlBuilder(max_elements)
    parser = xml.parsers.expat.ParserCreate(namespace_separator="\x01")
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.UnparsedEntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd  # type: ignore[assignment]
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as error:
        raise _malformed("text XML", f"not well-formed ({error})") from None
    if builder.root is None:
        raise _malformed("text XML", "no element found")
    return builder.root


def _quote(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
    )


def _render_value(value: AttrValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "@null"
    return str(value)


def to_xml_text(root: XmlElement) -> str:
    """Readable, well-formed XML text of ``root`` for debugging and reports (never re-parsed as truth)."""
    prefixes: dict[str, str] = {ANDROID_NS: "android"}
    for element in root.iter():
        for namespace in [element.namespace, *(ns for ns, _ in element.attributes)]:
            if namespace and namespace not in prefixes:
                prefixes[namespace] = f"ns{len(prefixes)}"

    def qualified(namespace: str | None, name: str) -> str:
        # Names come from the hostile string pool; keep the text well-formed whatever they hold.
        safe = _UNSAFE_NAME_CHARS.sub("_", name)
        if not safe or not (safe[0].isalpha() or safe[0] == "_"):
            safe = "_" + safe
        return f"{prefixes[namespace]}:{safe}" if namespace else safe

    lines = ['<?xml version="1.0" encoding="utf-8"?>']
    # Explicit stack of (element, depth, closing) instead of recursion: depth is attacker-chosen.
    stack: list[tuple[XmlElement, int, bool]] = [(root, 0, False)]
    while stack:
        element, depth, closing = stack.pop()
        # Indentation stops growing at 32 levels: a hostile depth would make the text quadratic.
        indent = "  " * min(depth, _MAX_INDENT_LEVELS)
        name = qualified(element.namespace, element.tag)
        if closing:
            lines.append(f"{indent}</{name}>")
            continue
        parts = [name]
        if element is root:
            used = {ns for ns in prefixes if ns != ANDROID_NS} | {ANDROID_NS}
            parts += [f'xmlns:{prefixes[ns]}="{_quote(ns)}"' for ns in sorted(used, key=lambda n: prefixes[n])]
        parts += [
            f'{qualified(ns, key)}="{_quote(_render_value(value))}"' for (ns, key), value in element.attributes.items()
        ]
        if element.children:
            lines.append(f"{indent}<{' '.join(parts)}>")
            stack.append((element, depth, True))
            stack.extend((child, depth + 1, False) for child in reversed(element.children))
        else:
            lines.append(f"{indent}<{' '.join(parts)}/>")
    return "\n".join(lines) + "\n"
