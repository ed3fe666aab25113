"""resources.arsc reader: resource names, values per configuration, locales.

Like :mod:`appwarden.apk.axml`, the reader follows libandroidfw's ``ResTable`` rather
than apktool: chunks are found through their own header and total sizes, unknown chunk
types are skipped, sparse and 16-bit-offset type chunks and compact entries (Android 14)
are read, and every count is checked against the bytes that hold it before anything is
allocated. Input Android would refuse raises :class:`~appwarden.errors.MalformedStructureError`;
a single unreadable entry is skipped, as Android fails only the lookup that touches it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final, NamedTuple

import numpy as np

from appwarden.apk.axml import (
    RES_STRING_POOL_TYPE,
    RES_TABLE_TYPE,
    TYPE_REFERENCE,
    TYPE_STRING,
    ResourceRef,
    StringPool,
    _chunk_header,
    _malformed,
    typed_value,
)

RES_TABLE_PACKAGE_TYPE: Final = 0x0200
RES_TABLE_TYPE_TYPE: Final = 0x0201
RES_TABLE_TYPE_SPEC_TYPE: Final = 0x0202

_FLAG_SPARSE: Final = 0x01
_FLAG_OFFSET16: Final = 0x02
_ENTRY_FLAG_COMPLEX: Final = 0x0001
_ENTRY_FLAG_COMPACT: Final = 0x0008
_NO_ENTRY: Final = 0xFFFFFFFF
_PACKAGE_HEADER_MIN: Final = 284  # header 8 + id 4 + name 256 + 4 offsets of 4
_TYPE_HEADER_MIN: Final = 20
_MAX_REFERENCE_DEPTH: Final = 8
_WHAT: Final = "resources.arsc"
#: Region assumed for a bare language request when only regional values exist (CLDR likely subtags).
_LIKELY_REGION: Final = {"zh": "CN", "en": "US", "pt": "BR", "es": "ES", "fr": "FR", "de": "DE", "ar": "EG"}

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_TYPE_HEADER = struct.Struct("<BBHII")  # id, flags, reserved, entryCount, entriesStart
_ENTRY = struct.Struct("<HHI")
_VALUE = struct.Struct("<HBBI")

ResolvedValue = str | int | float | bool | ResourceRef | None


class _Entry(NamedTuple):
    """One resource value in one configuration; ``data_type`` is None for bags (styles, arrays)."""

    locale: str
    plain_config: bool  # no qualifier other than the locale (density, size, night...)
    key: str | None
    data_type: int | None
    data: int


def _unpack_locale_part(raw: bytes, base: str) -> str:
    if raw[0] & 0x80:
        # Packed three-letter code (ISO 639-2 / UN M.49), see ResTable_config::unpackLanguageOrRegion.
        first = raw[1] & 0x1F
        second = ((raw[1] & 0xE0) >> 5) | ((raw[0] & 0x03) << 3)
        third = (raw[0] & 0x7C) >> 2
        return "".join(chr(ord(base) + c) for c in (first, second, third))
    return raw.rstrip(b"\x00").decode("ascii", "replace")


def _locale_of(config: bytes) -> str:
    """``zh``, ``zh-rCN`` (aapt's spelling) or "" for the default locale."""
    if len(config) < 12:
        return ""
    language = _unpack_locale_part(config[8:10], "a") if config[8] else ""
    country = _unpack_locale_part(config[10:12], "0") if config[10] else ""
    if not language:
        return ""
    return f"{language}-r{country}" if country else language


def _normalise_locale(locale: str) -> tuple[str, str]:
    """("zh", "CN") from ``zh-rCN``, ``zh-CN``, ``zh_CN`` or ``zh``."""
    parts = locale.replace("_", "-").split("-")
    language = parts[0].lower()
    country = parts[1] if len(parts) > 1 else ""
    if len(country) == 3 and country[0] == "r":
        country = country[1:]
    return language, country.upper()


class ResourceTable:
    """Resource names and values of one ``resources.arsc``."""

    def __init__(self, keep_locale: Callable[[str], bool] | None = None) -> None:
        self.package_names: list[str] = []
        self._names: dict[int, str] = {}
        self._entries: dict[int, list[_Entry]] = {}
        self._locales: set[str] = set()
        self._values: StringPool | None = None
        self._keep_locale = keep_locale

    @classmethod
    def parse(cls, data: bytes, keep_locale: Callable[[str], bool] | None = None) -> ResourceTable:
        """Read a resources.arsc; raises MalformedStructureError for a table Android refuses.

        ``keep_locale`` (optional) names the locales whose values the caller will ask for; values
        in other locales are then skipped, except a resource's first value (which answers for a
        resource without a default) and the first that names it. Look-ups for the default and
        the kept locales answer as on the whole table, ``locales()`` still lists every locale,
        and ``file_paths`` lists the kept configurations' files. An app translated into a
        hundred languages holds a value per language for each of its strings: 10^6 values and
        over 100 MB read whole, where a scan asks for the default and Chinese ones.
        """
        if not isinstance(data, bytes):
            data = bytes(data)
        table = cls(keep_locale)
        if len(data) < 12:
            raise _malformed(_WHAT, f"{len(data)} bytes is too short for a resource table")
        chunk_type, header_size, size = _chunk_header(data, 0, len(data), 12, _WHAT)
        if chunk_type != RES_TABLE_TYPE:
            raise _malformed(_WHAT, f"starts with chunk type 0x{chunk_type:04x}, not a resource table (0x0002)")
        end = size  # trailing bytes after the declared table are ignored, as on a device
        offset = header_size
        while offset + 8 <= end:
            chunk_type, _, chunk_size = _chunk_header(data, offset, end, 8, _WHAT)
            if chunk_type == RES_STRING_POOL_TYPE:
                if table._values is None:
                    table._values = StringPool(data, offset, chunk_size, f"{_WHAT} value strings")
            elif chunk_type == RES_TABLE_PACKAGE_TYPE:
                table._read_package(data, offset, chunk_size)
            offset += chunk_size
        return table

    def _read_package(self, data: bytes, start: int, size: int) -> None:
        end = start + size
        _, header_size, _ = _chunk_header(data, start, end, _PACKAGE_HEADER_MIN, _WHAT)
        package_id = _U32.unpack_from(data, start + 8)[0]
        name = data[start + 12 : start + 12 + 256].decode("utf-16-le", "replace").split("\x00", 1)[0]
        type_strings, _, key_strings, _ = struct.unpack_from("<IIII", data, start + 268)
        type_id_offset = _U32.unpack_from(data, start + 284)[0] if header_size >= 288 else 0
        self.package_names.append(name)
        types = self._pool_at(data, start, type_strings, end, "type names")
        keys = self._pool_at(data, start, key_strings, end, "key names")
        offset = start + header_size
        specified: set[int] = set()
        while offset + 8 <= end:
            chunk_type, chunk_header, chunk_size = _chunk_header(data, offset, end, 8, _WHAT)
            if chunk_type == RES_TABLE_TYPE_SPEC_TYPE and chunk_size >= 9:
                specified.add(data[offset + 8])
            elif chunk_type == RES_TABLE_TYPE_TYPE:
                # Both ResTable and LoadedArsc refuse a type that no type spec announced.
                if chunk_size >= 9 and data[offset + 8] not in specified:
                    raise _malformed(
                        _WHAT, f"type chunk at offset {offset} (type id {data[offset + 8]}) has no type spec before it"
                    )
                self._read_type(data, offset, chunk_header, chunk_size, package_id, type_id_offset, types, keys)
            offset += chunk_size

    @staticmethod
    def _pool_at(data: bytes, start: int, relative: int, end: int, what: str) -> StringPool | None:
        if relative == 0:
            return None
        offset = start + relative
        if relative < 8 or offset + 8 > end:
            raise _malformed(_WHAT, f"package {what} pool offset {relative} is outside the package")
        _, _, size = _chunk_header(data, offset, end, 28, f"{_WHAT} {what}")
        return StringPool(data, offset, size, f"{_WHAT} {what}")

    def _read_type(
        self,
        data: bytes,
        start: int,
        header_size: int,
        size: int,
        package_id: int,
        type_id_offset: int,
        types: StringPool | None,
        keys: StringPool | None,
    ) -> None:
        if header_size < _TYPE_HEADER_MIN:
            raise _malformed(_WHAT, f"type chunk at offset {start} has header size {header_size}, below 20")
        type_id, flags, _, entry_count, entries_start = _TYPE_HEADER.unpack_from(data, start + 8)
        index_width = 2 if flags & _FLAG_OFFSET16 and not flags & _FLAG_SPARSE else 4
        if header_size + entry_count * index_width > size:
            raise _malformed(_WHAT, f"type chunk at offset {start} declares {entry_count} entries, more than it holds")
        if entries_start > size:
            raise _malformed(_WHAT, f"type chunk at offset {start} has entry data at {entries_start}, past its end")
        if type_id == 0:
            raise _malformed(_WHAT, f"type chunk at offset {start} has type id 0")
        config_size = _U32.unpack_from(data, start + 20)[0] if header_size >= 24 else 0
        config = data[start + 20 : start + 20 + min(config_size, header_size - 20)]
        locale = _locale_of(config)
        if locale:
            self._locales.add(locale)
        plain = not any(config[4:8]) and not any(config[12:])
        type_name = types.get(type_id - 1 - type_id_offset) if types is not None else None
        type_name = type_name or f"type{type_id:02x}"
        base_id = ((package_id & 0xFF) << 24) | (type_id << 16)
        chunk_end = start + size
        entries = start + entries_start
        table_at = start + header_size
        present: list[tuple[int, int]]
        if flags & _FLAG_SPARSE:
            pairs = struct.unpack_from(f"<{2 * entry_count}H", data, table_at)
            present = [(pairs[k], pairs[k + 1] * 4) for k in range(0, len(pairs), 2)]
        elif index_width == 2:
            offsets16 = struct.unpack_from(f"<{entry_count}H", data, table_at)
            present = [(i, o * 4) for i, o in enumerate(offsets16) if o != 0xFFFF]
        else:
            # Localised type chunks are mostly holes (framework-res: tens of millions), so the
            # index is filtered in numpy rather than in a Python loop.
            offsets32 = np.frombuffer(data, dtype="<u4", count=entry_count, offset=table_at)
            indices = np.flatnonzero(offsets32 != _NO_ENTRY)
            present = list(zip(indices.tolist(), offsets32[indices].tolist(), strict=True))
        skipped = bool(locale) and self._keep_locale is not None and not self._keep_locale(locale)
        if skipped:
            # Only what a look-up in a kept locale can reach: a resource's first value and name.
            entries_of, names = self._entries, self._names
            present = [
                (index, offset)
                for index, offset in present
                if (base_id | (index & 0xFFFF)) not in names or (base_id | (index & 0xFFFF)) not in entries_of
            ]
        for entry_index, entry_offset in present:
            entry = self._read_entry(data, entries + entry_offset, chunk_end, entry_offset, locale, plain, keys)
            if entry is None:
                continue
            res_id = base_id | (entry_index & 0xFFFF)
            if skipped and res_id in self._entries:
                # Read for its name only (the resource's earlier values had none).
                if entry.key is not None and res_id not in self._names:
                    self._names[res_id] = f"{type_name}/{entry.key}"
                continue
            self._entries.setdefault(res_id, []).append(entry)
            if entry.key is not None and res_id not in self._names:
                self._names[res_id] = f"{type_name}/{entry.key}"

    @staticmethod
    def _read_entry(
        data: bytes, at: int, chunk_end: int, relative: int, locale: str, plain: bool, keys: StringPool | None
    ) -> _Entry | None:
        # Android refuses just this entry (not the table) when it is misaligned or overruns.
        if relative & 3 or at + 8 > chunk_end:
            return None
        entry_size, entry_flags, key_index = _ENTRY.unpack_from(data, at)
        if entry_flags & _ENTRY_FLAG_COMPACT:
            key = keys.get(entry_size) if keys is not None else None
            return _Entry(locale, plain, key, entry_flags >> 8, key_index)
        key = keys.get(key_index) if keys is not None else None
        if entry_size < 8:
            return None
        if entry_flags & _ENTRY_FLAG_COMPLEX:
            return _Entry(locale, plain, key, None, 0)
        if at + entry_size + 8 > chunk_end:
            return None
        _, _, data_type, value = _VALUE.unpack_from(data, at + entry_size)
        return _Entry(locale, plain, key, data_type, value)

    def _pick(self, res_id: int, locale: str | None) -> _Entry | None:
        candidates = self._entries.get(res_id)
        if not candidates:
            return None
        preferences: list[str] = []
        if locale:
            language, country = _normalise_locale(locale)
            if country:
                preferences.append(f"{language}-r{country}")
            preferences.append(language)
        preferences.append("")
        for wanted in preferences:
            in_locale = [entry for entry in candidates if entry.locale == wanted]
            if in_locale:
                return next((entry for entry in in_locale if entry.plain_config), in_locale[0])
            if wanted and "-r" not in wanted:
                # Android matches a language request against any region of that language
                # (values-zh-rCN serves "zh"), before falling back to the default.
                regional = [entry for entry in candidates if entry.locale.startswith(wanted + "-r")]
                if regional:
                    likely = f"{wanted}-r{_LIKELY_REGION.get(wanted, '')}"
                    plain = [entry for entry in regional if entry.plain_config] or regional
                    return next((entry for entry in plain if entry.locale == likely), plain[0])
        # No default value at all (only, say, a zh string): take the first one, as a device would
        # for any locale once the default is missing.
        return candidates[0]

    def resolve(self, res_id: int, locale: str | None = None) -> ResolvedValue:
        """Value of ``res_id`` for the default configuration or ``locale`` ("zh", "zh-rCN", "en").

        References are followed up to 8 steps; a reference that leads nowhere (or into a cycle)
        is returned as a :class:`ResourceRef`. Bags (styles, arrays, plurals) resolve to None.
        """
        current = res_id
        seen: set[int] = set()
        for _ in range(_MAX_REFERENCE_DEPTH + 1):
            entry = self._pick(current, locale)
            if entry is None:
                return ResourceRef(current) if current != res_id else None
            if entry.data_type is None:
                return None
            if entry.data_type == TYPE_REFERENCE and entry.data != 0:
                seen.add(current)
                if entry.data in seen:
                    return ResourceRef(entry.data)
                current = entry.data
                continue
            if entry.data_type == TYPE_STRING:
                return self._values.get(entry.data) if self._values is not None else None
            return typed_value(entry.data_type, entry.data, self._values)
        return ResourceRef(current)

    def name_of(self, res_id: int) -> str | None:
        """``type/name`` of ``res_id`` (e.g. ``string/app_name``), or None when the table lacks it."""
        return self._names.get(res_id)

    def strings(self, locale: str | None = None) -> dict[str, str]:
        """Every ``string`` resource by name, in ``locale`` where translated, else the default."""
        found: dict[str, str] = {}
        for res_id, name in self._names.items():
            type_name, _, key = name.partition("/")
            if type_name != "string":
                continue
            value = self.resolve(res_id, locale)
            if isinstance(value, str):
                found[key] = value
        return found

    def file_paths(self, res_id: int) -> list[str]:
        """The ``res/...`` files behind a file resource (layout, raw, drawable...), one per configuration."""
        paths: list[str] = []
        for entry in self._entries.get(res_id, []):
            if entry.data_type == TYPE_STRING and self._values is not None:
                path = self._values.get(entry.data)
                if path is not None and path not in paths:
                    paths.append(path)
        return paths

    def locales(self) -> list[str]:
        """The locales the table has values for (``zh``, ``zh-rCN``...), sorted; the default is not listed."""
        return sorted(self._locales)


__all__ = ["ResolvedValue", "ResourceTable"]
