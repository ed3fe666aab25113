"""A minimal DEX writer for tests: builds valid files that hostile-input tests then corrupt.

It lays out header, id tables, class defs, string data, type lists, class data, code items and
the map list the way dx/d8 do, with enough fidelity for dexdump and androguard to read the result.
Index order is insertion order (real tools sort; the reader does not depend on it).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass, field

NO_INDEX = 0xFFFFFFFF


def uleb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def mutf8(text: str) -> tuple[bytes, int]:
    """MUTF-8 bytes and UTF-16 length of ``text``."""
    out = bytearray()
    units = 0
    for ch in text:
        cp = ord(ch)
        if cp == 0:
            out += b"\xc0\x80"
            units += 1
        elif cp < 0x10000:
            out += ch.encode("utf-8", "surrogatepass")
            units += 1
        else:
            cp -= 0x10000
            for unit in (0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)):
                out += chr(unit).encode("utf-8", "surrogatepass")
            units += 2
    return bytes(out), units


@dataclass
class _Method:
    method_idx: int
    access_flags: int
    insns: list[int] | None
    virtual: bool


@dataclass
class _Class:
    type_idx: int
    super_idx: int
    interfaces: list[int]
    access_flags: int
    source_idx: int
    methods: list[_Method] = field(default_factory=list)


class DexBuilder:
    """Intern strings, types, protos, fields and methods; add classes with raw code; build()."""

    def __init__(self) -> None:
        self.strings: list[bytes | str] = []
        self.types: list[int] = []
        self.protos: list[tuple[int, int, list[int]]] = []
        self.fields: list[tuple[int, int, int]] = []
        self.methods: list[tuple[int, int, int]] = []
        self.classes: list[_Class] = []
        self._index: dict[object, int] = {}

    def string(self, text: str | bytes) -> int:
        """Intern a string (bytes are written verbatim as MUTF-8, for bad-encoding tests)."""
        key = ("s", text)
        if key not in self._index:
            self._index[key] = len(self.strings)
            self.strings.append(text)
        return self._index[key]

    def type(self, descriptor: str) -> int:
        key = ("t", descriptor)
        if key not in self._index:
            self._index[key] = len(self.types)
            self.types.append(self.string(descriptor))
        return self._index[key]

    def proto(self, ret: str, params: tuple[str, ...] = ()) -> int:
        key = ("p", ret, params)
        if key not in self._index:
            shorty = "".join("L" if t[0] in "L[" else t for t in (ret, *params))
            self._index[key] = len(self.protos)
            self.protos.append((self.string(shorty), self.type(ret), [self.type(p) for p in params]))
        return self._index[key]

    def method(self, cls: str, name: str, ret: str = "V", params: tuple[str, ...] = ()) -> int:
        key = ("m", cls, name, ret, params)
        if key not in self._index:
            item = (self.type(cls), self.proto(ret, params), self.string(name))
            self._index[key] = len(self.methods)
            self.methods.append(item)
        return self._index[key]

    def field(self, cls: str, name: str, type_descriptor: str) -> int:
        key = ("f", cls, name, type_descriptor)
        if key not in self._index:
            self._index[key] = len(self.fields)
            self.fields.append((self.type(cls), self.type(type_descriptor), self.string(name)))
        return self._index[key]

    def add_class(
        self,
        descriptor: str,
        superclass: str | None = "Ljava/lang/Object;",
        interfaces: tuple[str, ...] = (),
        source_file: str | None = None,
        access_flags: int = 1,
    ) -> _Class:
        cls = _Class(
            self.type(descriptor),
            NO_INDEX if superclass is None else self.type(superclass),
            [self.type(i) for i in interfaces],
            access_flags,
            NO_INDEX if source_file is None else self.string(source_file),
        )
        self.classes.append(cls)
        return cls

    def add_method(
        self, cls: _Class, method_idx: int, insns: list[int] | None, access_flags: int = 9, virtual: bool = False
    ) -> None:
        cls.methods.append(_Method(method_idx, access_flags, insns, virtual))

    def build(self, version: str = "035") -> bytes:
        n_str, n_typ, n_pro = len(self.strings), len(self.types), len(self.protos)
        n_fld, n_met, n_cls = len(self.fields), len(self.methods), len(self.classes)
        off = 0x70
        strings_off = off
        off += 4 * n_str
        types_off = off
        off += 4 * n_typ
        protos_off = off
        off += 12 * n_pro
        fields_off = off
        off += 8 * n_fld
        methods_off = off
        off += 8 * n_met
        classes_off = off
        off += 32 * n_cls
        data_off = off
        data = bytearray()

        def here() -> int:
            return data_off + len(data)

        def align4() -> None:
            while here() % 4:
                data.append(0)

        sections: list[tuple[int, int, int]] = []  # (map type, count, offset) of data sections
        string_offs = []
        if self.strings:
            sections.append((0x2002, n_str, here()))
        for s in self.strings:
            string_offs.append(here())
            raw, units = (s, len(s)) if isinstance(s, bytes) else mutf8(s)
            data += uleb128(units) + raw + b"\0"

        def type_list(idxs: list[int]) -> int:
            if not idxs:
                return 0
            align4()
            at = here()
            data.extend(struct.pack("<I", len(idxs)) + b"".join(struct.pack("<H", i) for i in idxs))
            return at

        align4()
        lists_at = here()
        proto_params = [type_list(p[2]) for p in self.protos]
        interfaces_offs = [type_list(c.interfaces) for c in self.classes]
        n_lists = sum(1 for o in (*proto_params, *interfaces_offs) if o)
        if n_lists:
            sections.append((0x1001, n_lists, lists_at))

        code_offs: dict[tuple[int, int], int] = {}
        for ci, c in enumerate(self.classes):
            for mi, m in enumerate(c.methods):
                if m.insns is None:
                    continue
                align4()
                code_offs[ci, mi] = here()
                data += struct.pack("<HHHHII", 8, 0, 8, 0, 0, len(m.insns))
                data += b"".join(struct.pack("<H", u & 0xFFFF) for u in m.insns)
        if code_offs:
            sections.append((0x2001, len(code_offs), min(code_offs.values())))

        class_data_offs = []
        for ci, c in enumerate(self.classes):
            if not c.methods:
                class_data_offs.append(0)
                continue
            class_data_offs.append(here())
            direct = sorted(
                (mi for mi, m in enumerate(c.methods) if not m.virtual), key=lambda i: c.methods[i].method_idx
            )
            virtual = sorted((mi for mi, m in enumerate(c.methods) if m.virtual), key=lambda i: c.methods[i].method_idx)
            data += uleb128(0) + uleb128(0) + uleb128(len(direct)) + uleb128(len(virtual))
            for group in (direct, virtual):
                prev = 0
                for k, mi in enumerate(group):
                    m = c.methods[mi]
                    diff = m.method_idx if k == 0 else m.method_idx - prev
                    prev = m.method_idx
                    data += uleb128(diff) + uleb128(m.access_flags) + uleb128(code_offs.get((ci, mi), 0))

        if any(class_data_offs):
            sections.append((0x2000, sum(1 for o in class_data_offs if o), min(o for o in class_data_offs if o)))
        align4()
        map_off = here()
        items = [(0x0000, 1, 0)]
        for item_type, count, at in (
            (0x0001, n_str, strings_off),
            (0x0002, n_typ, types_off),
            (0x0003, n_pro, protos_off),
            (0x0004, n_fld, fields_off),
            (0x0005, n_met, methods_off),
            (0x0006, n_cls, classes_off),
        ):
            if count:
                items.append((item_type, count, at))
        items += sections
        items.append((0x1000, 1, map_off))
        data += struct.pack("<I", len(items)) + b"".join(struct.pack("<HHII", t, 0, n, o) for t, n, o in items)

        body = bytearray()
        body += b"".join(struct.pack("<I", o) for o in string_offs)
        body += b"".join(struct.pack("<I", t) for t in self.types)
        body += b"".join(struct.pack("<III", s, r, p) for (s, r, _), p in zip(self.protos, proto_params, strict=True))
        body += b"".join(struct.pack("<HHI", c, t, n) for c, t, n in self.fields)
        body += b"".join(struct.pack("<HHI", c, p, n) for c, p, n in self.methods)
        for c, io, cd in zip(self.classes, interfaces_offs, class_data_offs, strict=True):
            body += struct.pack("<8I", c.type_idx, c.access_flags, c.super_idx, io, c.source_idx, 0, cd, 0)
        file_size = 0x70 + len(body) + len(data)
        header = bytearray(0x70)
        header[0:8] = b"dex\n" + version.encode() + b"\0"
        struct.pack_into(
            "<8I",
            header,
            32,
            file_size,
            0x70,
            0x12345678,
            0,
            0,
            map_off,
            n_str,
            strings_off if n_str else 0,
        )
        struct.pack_into(
            "<12I",
            header,
            64,
            n_typ,
            types_off if n_typ else 0,
            n_pro,
            protos_off if n_pro else 0,
            n_fld,
            fields_off if n_fld else 0,
            n_met,
            methods_off if n_met else 0,
            n_cls,
            classes_off if n_cls else 0,
            len(data),
            data_off,
        )
        out = header + body + data
        out[12:32] = hashlib.sha1(out[32:]).digest()
        struct.pack_into("<I", out, 8, zlib.adler32(bytes(out[12:])))
        return bytes(out)


def simple_app() -> tuple[DexBuilder, dict[str, int]]:
    """A small app: one class whose methods call a PI API, load strings and use switch payloads."""
    b = DexBuilder()
    ids: dict[str, int] = {}
    ids["getDeviceId"] = b.method("Landroid/telephony/TelephonyManager;", "getDeviceId", "Ljava/lang/String;")
    ids["run"] = b.method("Lapp/Main;", "run", "V", ("Landroid/telephony/TelephonyManager;",))
    ids["switchy"] = b.method("Lapp/Main;", "switchy", "V", ("I",))
    ids["str_hello"] = b.string("hello")
    ids["field"] = b.field("Lapp/Main;", "sId", "Ljava/lang/String;")
    ids["type_tm"] = b.type("Landroid/telephony/TelephonyManager;")
    cls = b.add_class("Lapp/Main;", source_file="Main.java")
    # run: const-string v0, "hello"; invoke-virtual {v1}, getDeviceId; sput-object v0, sId; return-void
    b.add_method(
        cls,
        ids["run"],
        [0x001A, ids["str_hello"], 0x106E, ids["getDeviceId"], 0x0001, 0x0069, ids["field"], 0x000E],
    )
    # switchy: packed-switch v0, +4 ; return-void ; nop spacer ; payload that looks like invokes
    b.add_method(
        cls,
        ids["switchy"],
        [0x002B, 4, 0, 0x000E, 0x0100, 2, 0x006E, 0x106E, 0x0000, ids["getDeviceId"], 0x0000, 0x0000],
        virtual=True,
        access_flags=1,
    )
    return b, ids
