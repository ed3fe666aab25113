"""Defensive reader for Dalvik executables (classes*.dex) and a one-pass call-site scanner.

The reader checks the header and every id table eagerly (cheap, vectorised), decodes strings
lazily, and scans all code in a single linear pass that records, per calling method, the
invoke instructions, const-string uses, field accesses and const-class operands. The scan is
done by the C accelerator ``appwarden.apk._dexscan`` when it is built and by an equivalent
pure-Python walker otherwise; both produce byte-identical results (differentially tested).

Hostile input never raises anything but :class:`MalformedStructureError` or
:class:`LimitExceededError`; damage that Android would survive at class or method granularity
(a truncated code item, an out-of-range operand) is tolerated and recorded on
:attr:`DexFile.warnings` as ``(code, message)`` tuples.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import mmap
import os
import struct
import sys
import zlib
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final, TypeAlias, overload

import numpy as np

# np.unique imports numpy.ma on its first call (np.ma.is_masked): loaded with the reader instead,
# its megabyte of modules is part of the fixed start-up cost rather than of the first scan's peak.
import numpy.ma
import numpy.typing as npt

from appwarden.errors import LimitExceededError, MalformedStructureError

# Deflates kept texts (PackedTexts.compress): ISA-L where its wheel exists, as the ZIP reader uses.
_deflate: ModuleType
try:
    from isal import isal_zlib

    _deflate = isal_zlib
except ImportError:  # pragma: no cover - depends on the platform's wheels
    _deflate = zlib

__all__ = [
    "ClassDef",
    "CodeReferences",
    "DexFile",
    "DexLimits",
    "EncodedMethod",
    "FieldRef",
    "MethodRef",
    "ReferenceTable",
    "accelerated",
]

NO_INDEX: Final = 0xFFFFFFFF
HEADER_SIZE: Final = 0x70
ENDIAN_CONSTANT: Final = 0x12345678
REVERSE_ENDIAN_CONSTANT: Final = 0x78563412
SUPPORTED_VERSIONS: Final = frozenset({"035", "037", "038", "039", "040", "041"})

#: At most this many warnings are kept; the rest are only counted (DexFile.warnings_dropped).
MAX_WARNINGS: Final = 200
#: The code walk may visit at most this many code units per byte of file (shared code items
#: are legal, so a few visits per unit are normal; a million methods sharing one is not).
SCAN_BUDGET_PER_BYTE: Final = 4
#: encoded_value nesting deeper than this is refused (recursion bomb).
MAX_ENCODED_DEPTH: Final = 32
_VALUE_STRING: Final = 0x17

# map_list item types used for sanity checks (dex-format "Type codes").
_MAP_HEADER: Final = 0x0000
_MAP_STRING_IDS: Final = 0x0001
_MAP_TYPE_IDS: Final = 0x0002
_MAP_PROTO_IDS: Final = 0x0003
_MAP_FIELD_IDS: Final = 0x0004
_MAP_METHOD_IDS: Final = 0x0005
_MAP_CLASS_DEFS: Final = 0x0006
_MAP_CALL_SITE_IDS: Final = 0x0007
_MAP_METHOD_HANDLES: Final = 0x0008
#: What a DexFile reads from: the file's bytes, or a map they were inflated into (DexFile.release_pages).
DexBytes: TypeAlias = bytes | memoryview | mmap.mmap
_MAP_CODE_ITEMS: Final = 0x2001
#: Sections no reader here ever reads: debug info, annotations, hidden-API flags.
_UNREAD_SECTIONS: Final = frozenset({0x1002, 0x1003, 0x2003, 0x2004, 0x2006, 0xF000})

# Opcode groups (Dalvik bytecode). Kept in sync with _dexscan.c.
OP_CONST_STRING: Final = 0x1A
OP_CONST_STRING_JUMBO: Final = 0x1B
OP_CONST_CLASS: Final = 0x1C
INVOKE_OPCODES: Final = frozenset({*range(0x6E, 0x73), *range(0x74, 0x79), 0xFA, 0xFB, 0xFC, 0xFD})
INVOKE_CUSTOM_OPCODES: Final = frozenset({0xFC, 0xFD})
FIELD_OPCODES: Final = frozenset(range(0x52, 0x6E))

# Width in 16-bit code units of every opcode, as (first, last, width) ranges; the payload
# pseudo-instructions behind opcode 0x00 are sized separately. Unused opcodes are one unit, as
# dexdump treats them. Must equal the table in _dexscan.c.
_WIDTH_RANGES: Final = (
    (0x00, 0x01, 1), (0x02, 0x02, 2), (0x03, 0x03, 3), (0x04, 0x04, 1), (0x05, 0x05, 2), (0x06, 0x06, 3),
    (0x07, 0x07, 1), (0x08, 0x08, 2), (0x09, 0x09, 3), (0x0A, 0x12, 1), (0x13, 0x13, 2), (0x14, 0x14, 3),
    (0x15, 0x16, 2), (0x17, 0x17, 3), (0x18, 0x18, 5), (0x19, 0x1A, 2), (0x1B, 0x1B, 3), (0x1C, 0x1C, 2),
    (0x1D, 0x1E, 1), (0x1F, 0x20, 2), (0x21, 0x21, 1), (0x22, 0x23, 2), (0x24, 0x26, 3), (0x27, 0x28, 1),
    (0x29, 0x29, 2), (0x2A, 0x2C, 3), (0x2D, 0x3D, 2), (0x3E, 0x43, 1), (0x44, 0x6D, 2), (0x6E, 0x72, 3),
    (0x73, 0x73, 1), (0x74, 0x78, 3), (0x79, 0x8F, 1), (0x90, 0xAF, 2), (0xB0, 0xCF, 1), (0xD0, 0xE2, 2),
    (0xE3, 0xF9, 1), (0xFA, 0xFB, 4), (0xFC, 0xFD, 3), (0xFE, 0xFF, 2),
)  # fmt: skip
_WIDTHS: Final = bytes(w for lo, hi, w in _WIDTH_RANGES for _ in range(lo, hi + 1))
assert len(_WIDTHS) == 256

# The accelerator is optional: without it (or with APPWARDEN_DEX_PURE_PYTHON=1) the pure-Python
# walker gives identical results, only slower.
_accel: Any = None
if os.environ.get("APPWARDEN_DEX_PURE_PYTHON") != "1":
    try:
        from appwarden.apk import _dexscan  # type: ignore[attr-defined]

        _accel = _dexscan
    except ImportError:  # pragma: no cover - depends on the build
        pass


def accelerated() -> bool:
    """True when the C scanner is built and used."""
    return _accel is not None


#: Texts per block when PackedTexts are deflated in blocks (see deflated_in_blocks).
_BLOCK_TEXTS = 128
#: A take of more texts than this from a table deflated in blocks inflates the whole table.
_BLOCK_TAKE_MAX = 512


class _BlockCache:
    """The blocks of PackedTexts lately inflated, all tables together, least recently read out first."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = limit_bytes
        self.held = 0
        self.blocks: OrderedDict[tuple[int, int], bytes] = OrderedDict()

    def get(self, key: tuple[int, int]) -> bytes | None:
        block = self.blocks.get(key)
        if block is not None:
            # A scan in another thread may have let it go since: the block read stays valid.
            with contextlib.suppress(KeyError):
                self.blocks.move_to_end(key)
        return block

    def put(self, key: tuple[int, int], block: bytes) -> None:
        self.blocks[key] = block
        self.held += len(block)
        while self.held > self.limit and len(self.blocks) > 1:
            _, old = self.blocks.popitem(last=False)
            self.held -= len(old)


_BLOCK_CACHE = _BlockCache(1 << 20)
_BLOCK_SERIALS = itertools.count()
_IN_BLOCKS = [False]


@contextmanager
def deflated_in_blocks(enabled: bool = True) -> Iterator[None]:
    """PackedTexts compressed within this block deflate in blocks of texts (see PackedTexts.compress).

    For an app of many large DEX files, whose call-graph walk may enter most of them to read a few
    texts of each: inflating each table whole would cost memory in proportion to the app's code.
    One setting per process (concurrent scans in threads share it; it changes storage, not texts).
    """
    previous = _IN_BLOCKS[0]
    _IN_BLOCKS[0] = enabled
    try:
        yield
    finally:
        _IN_BLOCKS[0] = previous


class PackedTexts(Sequence[str]):
    """Texts back to back in one UTF-8 buffer, text ``i`` between ``starts[i]`` and ``starts[i + 1]``.

    The names and prototypes a scan keeps of each DEX (10^4..10^5, held as pieces until the few
    the call graph reads are joined) cost their bytes and four more each here, where a str
    object each costs fifty more. Lone surrogates (MUTF-8 allows them) are kept "surrogatepass".
    """

    __slots__ = ("_blocks", "_compressed", "_serial", "_starts", "_texts")

    def __init__(self, texts: bytes, starts: array[int]) -> None:
        if len(starts) < 1 or starts[0] != 0 or starts[-1] != len(texts):
            raise ValueError("starts must run from 0 to the end of the texts")
        self._texts = texts
        self._starts = starts
        self._compressed: bytes | None = None
        self._blocks: tuple[bytes, ...] | None = None
        self._serial = -1

    def compress(self) -> None:
        """Hold the text bytes deflated until the next read, which inflates them for good.

        A scan keeps each DEX's names and prototypes to its end for the call graph, which reads
        those of the DEX files it walks into and no others: in an app of many DEX files most stay
        unread. Deflated they take a fifth (1.3 ms a MB to deflate, less to inflate).

        Within :func:`deflated_in_blocks` the texts deflate in blocks of 128 instead, and a read
        of a few texts inflates only their blocks, through a cache of 1 MB shared by all tables;
        a read of many inflates the whole table for good.
        """
        if self._compressed is not None or len(self._texts) < _COMPRESS_MIN_BYTES:
            return
        if _IN_BLOCKS[0] and len(self) > _BLOCK_TEXTS:
            texts, starts = self._texts, self._starts
            self._blocks = tuple(
                _deflate.compress(texts[starts[k] : starts[min(k + _BLOCK_TEXTS, len(self))]], 1)
                for k in range(0, len(self), _BLOCK_TEXTS)
            )
            self._serial = next(_BLOCK_SERIALS)
            self._compressed = b""  # not None: the texts are not here
        else:
            self._compressed = _deflate.compress(self._texts, 1)
        self._texts = b""

    def _data(self) -> bytes:
        if self._compressed is not None:
            if self._blocks is not None:
                self._texts = b"".join(_deflate.decompress(block) for block in self._blocks)
                self._blocks = None
            else:
                self._texts = _deflate.decompress(self._compressed)
            self._compressed = None
        return self._texts

    def _block_text(self, at: int) -> bytes:
        """The bytes of text ``at`` (0 <= at) from its block, inflated through the block cache."""
        assert self._blocks is not None
        if at >= len(self):
            raise IndexError(at)
        k = at // _BLOCK_TEXTS
        key = (self._serial, k)
        block = _BLOCK_CACHE.get(key)
        if block is None:
            block = _deflate.decompress(self._blocks[k])
            _BLOCK_CACHE.put(key, block)
        starts, base = self._starts, self._starts[k * _BLOCK_TEXTS]
        return block[starts[at] - base : starts[at + 1] - base]

    @classmethod
    def of(cls, texts: Iterable[str]) -> PackedTexts:
        encoded = [text.encode("utf-8", "surrogatepass") for text in texts]
        starts = array("I", [0])
        starts.extend(np.cumsum([len(e) for e in encoded], dtype=np.int64).tolist())
        return cls(b"".join(encoded), starts)

    def __len__(self) -> int:
        return len(self._starts) - 1

    @overload
    def __getitem__(self, at: int) -> str: ...
    @overload
    def __getitem__(self, at: slice) -> list[str]: ...
    def __getitem__(self, at: int | slice) -> str | list[str]:
        if isinstance(at, slice):
            return self.take(np.arange(len(self))[at])
        starts = self._starts
        if at < 0:
            at += len(self)
            if at < 0:
                raise IndexError(at)
        if self._compressed is None:
            texts = self._texts
        elif self._blocks is None:
            texts = self._data()
        else:
            return self._block_text(at).decode("utf-8", "surrogatepass")
        # Past the end, starts[at + 1] raises IndexError (starts has one entry more than texts).
        return texts[starts[at] : starts[at + 1]].decode("utf-8", "surrogatepass")

    def is_text(self, at: int, text: str) -> bool:
        """Whether text ``at`` (0 <= at < len) is ``text``; without decoding it (the bytes are compared)."""
        if self._blocks is not None:
            return self._block_text(at) == text.encode("utf-8", "surrogatepass")
        starts = self._starts
        texts = self._texts if self._compressed is None else self._data()
        return texts[starts[at] : starts[at + 1]] == text.encode("utf-8", "surrogatepass")

    def take(self, positions: npt.ArrayLike) -> list[str]:
        """The texts at these positions, in their order (repeats allowed)."""
        wanted = np.ascontiguousarray(positions, dtype=np.uint32)
        if self._blocks is not None and len(wanted) <= _BLOCK_TAKE_MAX:
            return [self[i] for i in wanted.tolist()]
        if _accel is not None:
            texts: list[str] = _accel.unpack_texts(self._data(), self._starts, wanted)
            return texts
        return [self[i] for i in wanted.tolist()]


class DeflatedArrays:
    """Arrays a scan keeps for a later reader that may never come, deflated until it does.

    ``arrays()`` gives them back (inflating them once, for good); ``compress()`` deflates them
    when together they are at least 4 KiB. Arrays flagged in ``ascending`` (mostly increasing:
    callers in code order, offsets within a method, sorted ids) are deflated as differences from
    the previous value, which deflate to a third of the values (wrapping, so any array round-trips).
    """

    __slots__ = ("_arrays", "_ascending", "_deflated")

    def __init__(self, arrays: Sequence[array[int]], ascending: Sequence[bool] = ()) -> None:
        self._arrays: tuple[array[int], ...] | None = tuple(arrays)
        self._ascending = tuple(ascending) or (False,) * len(self._arrays)
        if len(self._ascending) != len(self._arrays):
            raise ValueError("one ascending flag per array")
        self._deflated: tuple[tuple[str, bytes], ...] = ()

    def compress(self) -> None:
        arrays = self._arrays
        if arrays is not None and sum(len(a) * a.itemsize for a in arrays) >= _COMPRESS_MIN_BYTES:
            self._deflated = tuple(
                (a.typecode, _deflate.compress(_differences(a) if delta else a.tobytes(), 1))
                for a, delta in zip(arrays, self._ascending, strict=True)
            )
            self._arrays = None

    def arrays(self) -> tuple[array[int], ...]:
        arrays = self._arrays
        if arrays is None:
            arrays = self._arrays = tuple(
                _summed(code, _deflate.decompress(data)) if delta else array(code, _deflate.decompress(data))
                for (code, data), delta in zip(self._deflated, self._ascending, strict=True)
            )
            self._deflated = ()
        return arrays


_ARRAY_DTYPES: Final = {"B": np.uint8, "H": np.uint16, "I": np.uint32, "q": np.int64, "Q": np.uint64}


def _differences(values: array[int]) -> bytes:
    at = np.frombuffer(values, dtype=_ARRAY_DTYPES[values.typecode])
    return np.diff(at, prepend=at.dtype.type(0)).tobytes() if len(at) else b""


def _summed(code: str, data: bytes) -> array[int]:
    dtype = _ARRAY_DTYPES[code]
    return array(code, np.cumsum(np.frombuffer(data, dtype=dtype), dtype=dtype).tobytes())


#: Joins of at most this many texts are done item by item (see join_texts).
_SMALL_JOIN = 16

#: Texts shorter than this stay as they are (deflating saves little and costs a call).
_COMPRESS_MIN_BYTES = 4096

#: A batch of texts as (distinct texts, position of each item's text among them).
TextPieces = tuple[list[str] | PackedTexts, npt.NDArray[np.intp] | npt.NDArray[np.unsignedinteger[Any]]]


def join_texts(
    left: list[str] | PackedTexts,
    right: list[str] | PackedTexts,
    left_at: npt.ArrayLike,
    right_at: npt.ArrayLike,
    sep: str,
) -> list[str]:
    """``left[left_at[i]] + sep + right[right_at[i]]`` for each i (in C when the accelerator is built)."""
    if len(left_at) <= _SMALL_JOIN:  # type: ignore[arg-type]
        # A class's signatures, a method's references: numpy's per-call costs would be most of it.
        la, ra = np.asarray(left_at).tolist(), np.asarray(right_at).tolist()
        return [left[a] + sep + right[b] for a, b in zip(la, ra, strict=True)]
    li = np.ascontiguousarray(left_at, dtype=np.uint32)
    ri = np.ascontiguousarray(right_at, dtype=np.uint32)
    # Packed texts are decoded once each, only those the join reads.
    if isinstance(left, PackedTexts):
        left, li = _decoded_subset(left, li)
    if isinstance(right, PackedTexts):
        right, ri = _decoded_subset(right, ri)
    if _accel is not None:
        result: list[str] = _accel.join_texts(left, right, li, ri, sep)
        return result
    return [left[a] + sep + right[b] for a, b in zip(li.tolist(), ri.tolist(), strict=True)]


def _decoded_subset(texts: PackedTexts, at: npt.NDArray[np.uint32]) -> tuple[list[str], npt.NDArray[np.uint32]]:
    """(the texts at the distinct positions of ``at``, ``at`` as positions among those)."""
    used = distinct(at)
    return texts.take(used), np.searchsorted(used, at).astype(np.uint32)


def distinct(values: npt.ArrayLike) -> npt.NDArray[Any]:
    """``np.unique(values)`` by sorting: numpy 2's hash-table unique is 20-40x slower on the
    10^5-row integer columns of a DEX scan (measured 30 ms against 0.7 ms for 150k keys)."""
    ordered = np.sort(np.asarray(values).ravel())
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


#: How many flags per value or id :func:`member_of` may spend before it sorts instead.
_MEMBER_FLAGS_PER_ITEM = 8


def member_of(values: npt.ArrayLike, ids: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """``np.isin(values, ids)`` for non-negative integer ids, by a flag table over their range.

    np.isin's own table path makes an intp copy of every value in range plus two masks: 13 MB of
    temporaries for a 700k-row invoke column, at the moment the largest DEX is being indexed. A
    flag per possible id (bytes: ids are member or string indices of one DEX) costs the flags and
    the answer. Values spread wider than that (file offsets, a hostile range) are looked up in
    the sorted ids a slice at a time, so neither flags nor np.isin's sort (four 8-byte copies of
    values and ids together) outgrow the arrays.
    """
    values_arr, ids_arr = np.asarray(values), np.asarray(ids)
    if not len(values_arr) or not len(ids_arr):
        return np.zeros(values_arr.shape, dtype=bool)
    low = min(int(values_arr.min()), int(ids_arr.min()))
    top = max(int(values_arr.max()), int(ids_arr.max()))
    if low < 0 or top >= _MEMBER_FLAGS_PER_ITEM * (len(values_arr) + len(ids_arr)):
        return _member_by_search(values_arr, ids_arr)
    flags = np.zeros(top + 1, dtype=bool)
    flags[ids_arr] = True
    member: npt.NDArray[np.bool_] = flags[values_arr]
    return member


def _member_by_search(values: npt.NDArray[Any], ids: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """:func:`member_of` by binary search in the distinct ids, 64Ki values at a time."""
    found = np.zeros(values.shape, dtype=bool)
    keys = distinct(ids)
    flat, out = values.ravel(), found.ravel()
    for start in range(0, len(flat), 1 << 16):
        part = flat[start : start + (1 << 16)]
        at = np.minimum(np.searchsorted(keys, part), len(keys) - 1)
        out[start : start + len(part)] = keys[at] == part
    return found


def _positions_in(found: npt.NDArray[Any], values: npt.NDArray[Any]) -> npt.NDArray[np.unsignedinteger[Any]]:
    """Position of each of ``values`` among ``found`` (sorted, distinct, holding every value), as
    uint16 when there are at most 65536 (names and prototypes of one DEX nearly always), else
    uint32: by a look-up table over the value range rather than a search, whose int64 answers
    would cost four times the memory while the largest DEX is read (and these stay for the call graph)."""
    dtype = np.uint16 if len(found) <= 1 << 16 else np.uint32
    if not len(found):
        return np.zeros(len(values), dtype=dtype)
    lookup = np.zeros(int(found[-1]) + 1, dtype=dtype)
    lookup[found] = np.arange(len(found), dtype=dtype)
    positions: npt.NDArray[np.unsignedinteger[Any]] = lookup[values]
    return positions


def expand_texts(
    texts: list[str] | PackedTexts, at: npt.NDArray[np.intp] | npt.NDArray[np.unsignedinteger[Any]]
) -> list[str]:
    """``[texts[i] for i in at]``, by numpy's object indexing (several times faster at 10^5 rows)."""
    if not len(texts):
        return []
    if isinstance(texts, PackedTexts):
        texts, at = _decoded_subset(texts, np.ascontiguousarray(at, dtype=np.uint32))
    table = np.empty(len(texts), dtype=object)
    table[:] = texts
    expanded: list[str] = table[at].tolist()
    return expanded


def _spliced(texts: bytes, ends: bytes, misses: bytes, build: Callable[[int], str]) -> PackedTexts:
    """PackedTexts from the C packers' (texts, ends, misses): the texts they left empty (not plain
    ASCII) built by ``build(position)``, in position order (so warnings come in batch order), and
    spliced in."""
    end_at = np.frombuffer(ends, dtype="<u4").astype(np.int64)
    missing = np.frombuffer(misses, dtype="<u4").tolist()
    if missing:
        pieces: list[bytes] = []
        lengths = np.diff(end_at, prepend=0)
        copied = 0
        for at in missing:
            start = int(end_at[at])  # the empty text's place: everything before it is copied as is
            encoded = build(at).encode("utf-8", "surrogatepass")
            pieces += (texts[copied:start], encoded)
            lengths[at] = len(encoded)
            copied = start
        pieces.append(texts[copied:])
        texts = b"".join(pieces)
        end_at = np.cumsum(lengths)
    starts = array("I", [0])
    starts.frombytes(np.ascontiguousarray(end_at, dtype=np.uint32).tobytes())
    return PackedTexts(texts, starts)


@dataclass(frozen=True)
class DexLimits:
    """Resource limits applied while reading one DEX file."""

    max_size: int = 256 * 2**20
    max_table_entries: int = 5_000_000
    max_code_units_per_method: int = 1 << 20


@dataclass(frozen=True, slots=True)
class MethodRef:
    """A method_id_item resolved to text."""

    class_descriptor: str
    name: str
    proto: str

    def descriptor(self) -> str:
        """Smali/dexdump-style descriptor: ``Lx/Y;->name(args)ret``."""
        return f"{self.class_descriptor}->{self.name}{self.proto}"


@dataclass(frozen=True)
class FieldRef:
    """A field_id_item resolved to text."""

    class_descriptor: str
    name: str
    type_descriptor: str

    def descriptor(self) -> str:
        """Smali/dexdump-style descriptor: ``Lx/Y;->NAME:Ltype;``."""
        return f"{self.class_descriptor}->{self.name}:{self.type_descriptor}"


@dataclass(frozen=True, slots=True)
class EncodedMethod:
    """One method of a class_data_item, with its absolute method index."""

    method_idx: int
    access_flags: int
    code_off: int


# Frozen dataclasses pay for object.__setattr__ on every field; apps have 10^5 methods, so
# classes() fills the slots directly (same object, a third of the cost).
_new_object = object.__new__
_set_method_idx = vars(EncodedMethod)["method_idx"].__set__
_set_access_flags = vars(EncodedMethod)["access_flags"].__set__
_set_code_off = vars(EncodedMethod)["code_off"].__set__


_set_ref_class = vars(MethodRef)["class_descriptor"].__set__
_set_ref_name = vars(MethodRef)["name"].__set__
_set_ref_proto = vars(MethodRef)["proto"].__set__


def _method_ref(class_descriptor: str, name: str, proto: str) -> MethodRef:
    ref: MethodRef = _new_object(MethodRef)
    _set_ref_class(ref, class_descriptor)
    _set_ref_name(ref, name)
    _set_ref_proto(ref, proto)
    return ref


def _encoded_method(method_idx: int, access_flags: int, code_off: int) -> EncodedMethod:
    method: EncodedMethod = _new_object(EncodedMethod)
    _set_method_idx(method, method_idx)
    _set_access_flags(method, access_flags)
    _set_code_off(method, code_off)
    return method


@dataclass(frozen=True)
class ClassDef:
    """A class_def_item with its class data resolved."""

    descriptor: str
    superclass: str | None
    interfaces: tuple[str, ...]
    access_flags: int
    source_file: str | None
    direct_methods: tuple[EncodedMethod, ...]
    virtual_methods: tuple[EncodedMethod, ...]
    #: Offset of the encoded_array of static field initial values (0: none); read it with
    #: DexFile.read_encoded_array. Kept last with a default so positional construction still works.
    static_values_off: int = 0


U32Array = npt.NDArray[np.uint32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ReferenceTable:
    """Code references of one kind, sorted by (caller method_idx, code-unit offset).

    Columns are uint32 numpy views of one compact (n, 4) array; row i says that method
    ``caller[i]`` has, at code unit ``offset[i]``, an instruction ``opcode[i]`` whose index
    operand is ``target[i]`` (a method, string, field or type index by table; for
    invoke-custom a call-site index).
    """

    rows: U32Array

    @property
    def caller(self) -> U32Array:
        return self.rows[:, 0]

    @property
    def opcode(self) -> U32Array:
        return self.rows[:, 1]

    @property
    def target(self) -> U32Array:
        return self.rows[:, 2]

    @property
    def offset(self) -> U32Array:
        return self.rows[:, 3]

    def __len__(self) -> int:
        return int(self.rows.shape[0])

    def span_of(self, caller_method_idx: int) -> slice:
        """Rows belonging to one caller (binary search on the sorted caller column)."""
        callers = self.caller
        lo = int(np.searchsorted(callers, caller_method_idx, side="left"))
        hi = int(np.searchsorted(callers, caller_method_idx, side="right"))
        return slice(lo, hi)

    @classmethod
    def from_packed(cls, packed: bytes | bytearray) -> ReferenceTable:
        """Wrap scanner output (rows grouped by caller, offsets increasing) without copying it.

        Callers are usually already in increasing order (class data lists methods by index);
        only when they are not is the table stably re-sorted by caller, keeping code order.
        """
        rows = np.frombuffer(packed, dtype="<u4").reshape(-1, 4)
        if rows.shape[0] > 1 and bool(np.any(rows[1:, 0] < rows[:-1, 0])):
            rows = rows[np.argsort(rows[:, 0], kind="stable")]
        return cls(rows)


@dataclass(frozen=True)
class CodeReferences:
    """Everything one pass over all code found, as compact sorted tables."""

    methods_scanned: int
    code_units_scanned: int
    invokes: ReferenceTable
    strings: ReferenceTable
    fields: ReferenceTable
    classes: ReferenceTable


class _Warnings:
    """Collects (code, message) warnings up to a cap, then counts the rest."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self.dropped = 0

    def add(self, code: str, message: str) -> None:
        if len(self.items) < MAX_WARNINGS:
            self.items.append((code, message))
        else:
            self.dropped += 1


# ---------------------------------------------------------------------------------------------
# Low-level readers shared by the pure-Python scanner.

U32Input: TypeAlias = "array[int] | U32Array"


def _ints(values: U32Input) -> list[int]:
    """Flat list of Python ints from a uint32 array (numpy arrays of any shape are flattened)."""
    return values.ravel().tolist() if isinstance(values, np.ndarray) else values.tolist()


def read_uleb128(data: DexBytes, pos: int, end: int) -> tuple[int, int]:
    """Decode a uleb128 at ``pos``; return (value, next position).

    The DEX format allows at most 5 bytes (32 bits). Longer or truncated encodings raise
    MalformedStructureError.
    """
    result = 0
    shift = 0
    for i in range(5):
        if pos >= end:
            raise MalformedStructureError(f"uleb128 at offset {pos - i:#x} runs past the end of its structure")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            if i == 4 and b > 0x0F:
                raise MalformedStructureError(f"uleb128 ending at offset {pos - 1:#x} does not fit in 32 bits")
            return result, pos
        shift += 7
    raise MalformedStructureError(f"uleb128 at offset {pos - 5:#x} is longer than 5 bytes")


def _class_data_py(
    data: DexBytes,
    class_data_offs: U32Input,
    class_type_idxs: U32Input,
    method_class_idx: U32Input,
) -> tuple[bytes, list[tuple[str, int, int, int]]]:
    """Decode every class_data_item (pure Python twin of ``_dexscan.class_data``).

    Returns packed little-endian uint32 records (class_pos, is_virtual, method_idx,
    access_flags, code_off) and raw problems (code, class_pos, a, b).
    """
    out = array("I")
    problems: list[tuple[str, int, int, int]] = []
    n = len(data)
    method_class = _ints(method_class_idx)
    class_types = _ints(class_type_idxs)
    n_methods = len(method_class)
    for class_pos, off in enumerate(_ints(class_data_offs)):
        if off == 0:
            continue
        if off >= n:
            problems.append(("class_data_out_of_range", class_pos, off, 0))
            continue
        try:
            pos = off
            sizes = []
            for _ in range(4):
                v, pos = read_uleb128(data, pos, n)
                sizes.append(v)
            n_fields = sizes[0] + sizes[1]
            # Each encoded field is at least 2 bytes and each method 3: a count the file cannot hold is refused
            # before any loop runs, so a claimed 2^32 entries costs nothing.
            if n_fields * 2 + (sizes[2] + sizes[3]) * 3 > n - pos:
                problems.append(("class_data_counts", class_pos, off, n_fields + sizes[2] + sizes[3]))
                continue
            for _ in range(n_fields):
                _, pos = read_uleb128(data, pos, n)
                _, pos = read_uleb128(data, pos, n)
            staged = array("I")
            bad = False
            for is_virtual in (0, 1):
                idx = 0
                for k in range(sizes[2 + is_virtual]):
                    diff, pos = read_uleb128(data, pos, n)
                    flags, pos = read_uleb128(data, pos, n)
                    code_off, pos = read_uleb128(data, pos, n)
                    if k > 0 and diff == 0:
                        problems.append(("method_index_repeated", class_pos, idx, 0))
                        continue
                    idx = diff if k == 0 else idx + diff
                    if idx >= n_methods:
                        problems.append(("method_index_out_of_range", class_pos, idx, n_methods))
                        bad = True
                        break
                    if method_class[idx] != class_types[class_pos]:
                        problems.append(("method_class_mismatch", class_pos, idx, 0))
                        continue
                    staged.extend((class_pos, is_virtual, idx, flags, code_off))
                if bad:
                    break
            out.extend(staged)
        except MalformedStructureError:
            problems.append(("class_data_truncated", class_pos, off, 0))
    if sys.byteorder != "little":  # pragma: no cover - big-endian hosts
        out.byteswap()
    return out.tobytes(), problems


def _scan_code_py(
    data: DexBytes,
    method_code_pairs: U32Input,
    counts: tuple[int, int, int, int, int],
    max_units: int,
    budget: int,
    op_keep: bytes = b"",
    string_keep: bytes = b"",
) -> tuple[tuple[bytes, bytes, bytes, bytes], int, list[tuple[str, int, int, int]]]:
    """Walk every code item once (pure Python twin of ``_dexscan.scan_code``).

    ``op_keep`` (256 flags) and ``string_keep`` (a flag per string id), when given, leave out the
    rows of other opcodes and the const-string rows of other strings; operands are range-checked
    (and problems recorded) all the same.

    ``method_code_pairs`` holds (method_idx, code_off) pairs; ``counts`` the sizes of the string, type,
    field, method and call-site tables for operand range checks. Code items may be shared by
    several methods, so the total walk is capped at ``budget`` code units (scanning stops with a
    ``scan_budget_exceeded`` problem); without the cap a hostile file could make the walk quadratic.
    Returns four tables (invokes,
    const-strings, field accesses, const-class) of packed uint32 rows (caller, opcode, index,
    offset) in scan order, the number of code units walked, and raw problems (code, method_idx, a, b).
    """
    n_strings, n_types, n_fields, n_methods, n_call_sites = counts
    n = len(data)
    tables = (array("I"), array("I"), array("I"), array("I"))  # invokes, strings, fields, const-class
    problems: list[tuple[str, int, int, int]] = []
    walked = 0
    widths = _WIDTHS
    u16 = struct.Struct("<H").unpack_from
    u32 = struct.Struct("<I").unpack_from
    methods = _ints(method_code_pairs)
    for k in range(0, len(methods), 2):
        midx = methods[k]
        code_off = methods[k + 1]
        if code_off == 0:
            continue
        if code_off > n - 16:
            problems.append(("code_item_out_of_range", midx, code_off, 0))
            continue
        insns_size = u32(data, code_off + 12)[0]
        if insns_size > max_units:
            problems.append(("code_too_large", midx, insns_size, max_units))
            continue
        base = code_off + 16
        available = (n - base) // 2
        if insns_size > available:
            problems.append(("code_item_truncated", midx, insns_size, available))
            insns_size = available
        if walked + insns_size > budget:
            problems.append(("scan_budget_exceeded", midx, budget, 0))
            break
        walked += insns_size
        pc = 0
        while pc < insns_size:
            unit = u16(data, base + 2 * pc)[0]
            op = unit & 0xFF
            if op == 0 and unit != 0:
                ident = unit >> 8
                width = 1
                if ident in (1, 2, 3):
                    if pc + 1 >= insns_size or (ident == 3 and pc + 3 >= insns_size):
                        problems.append(("instruction_past_end", midx, pc, unit))
                        break
                    size = u16(data, base + 2 * pc + 2)[0]
                    if ident == 1:
                        width = 4 + size * 2
                    elif ident == 2:
                        width = 2 + size * 4
                    else:
                        count = u32(data, base + 2 * pc + 4)[0]
                        width = 4 + (size * count + 1) // 2
                if pc + width > insns_size:
                    problems.append(("instruction_past_end", midx, pc, unit))
                    break
                pc += width
                continue
            width = widths[op]
            if pc + width > insns_size:
                problems.append(("instruction_past_end", midx, pc, unit))
                break
            if op == OP_CONST_STRING:
                idx, limit, table = u16(data, base + 2 * pc + 2)[0], n_strings, 1
            elif op == OP_CONST_STRING_JUMBO:
                idx, limit, table = u32(data, base + 2 * pc + 2)[0], n_strings, 1
            elif op == OP_CONST_CLASS:
                idx, limit, table = u16(data, base + 2 * pc + 2)[0], n_types, 3
            elif 0x52 <= op <= 0x6D:
                idx, limit, table = u16(data, base + 2 * pc + 2)[0], n_fields, 2
            elif (0x6E <= op <= 0x78 and op != 0x73) or op == 0xFA or op == 0xFB:
                idx, limit, table = u16(data, base + 2 * pc + 2)[0], n_methods, 0
            elif op == 0xFC or op == 0xFD:
                idx, limit, table = u16(data, base + 2 * pc + 2)[0], n_call_sites, 0
            else:
                pc += width
                continue
            if idx < limit:
                if (not op_keep or op_keep[op]) and (
                    table != 1 or not string_keep or (idx < len(string_keep) and string_keep[idx])
                ):
                    tables[table].extend((midx, op, idx, pc))
            else:
                problems.append(("operand_out_of_range", midx, pc, op))
            pc += width
    if sys.byteorder != "little":  # pragma: no cover - big-endian hosts
        for packed_table in tables:
            packed_table.byteswap()
    packed = (tables[0].tobytes(), tables[1].tobytes(), tables[2].tobytes(), tables[3].tobytes())
    return packed, walked, problems


# ---------------------------------------------------------------------------------------------


_PROBLEM_TEXT: Final[dict[str, str]] = {
    "class_data_out_of_range": "class #{ctx}: class_data_off {a:#x} is past the end of the file; its methods are skipped",
    "class_data_counts": "class #{ctx}: class_data at {a:#x} claims {b} members, more than the file can hold; skipped",
    "class_data_truncated": "class #{ctx}: class_data at {a:#x} is truncated or has an over-long uleb128; skipped",
    "method_index_out_of_range": "class #{ctx}: method index {a} is out of range (method_ids has {b}); rest of class skipped",
    "method_index_repeated": "class #{ctx}: method index {a} is listed twice; the repeat is skipped",
    "method_class_mismatch": "class #{ctx}: method index {a} belongs to another class; skipped",
    "code_item_out_of_range": "method {ctx}: code_off {a:#x} is past the end of the file; not scanned",
    "code_too_large": "method {ctx}: {a} code units exceed the limit of {b}; not scanned",
    "code_item_truncated": "method {ctx}: code item claims {a} code units but only {b} remain in the file; scanned what is there",
    "instruction_past_end": "method {ctx}: instruction at code unit {a} (first unit {b:#06x}) runs past the end of the code; rest of method skipped",
    "scan_budget_exceeded": "method {ctx}: scanning stopped after {a} code units (code items shared by too many methods); later methods are not scanned",
    "operand_out_of_range": "method {ctx}: opcode {b:#04x} at code unit {a} has an out-of-range index operand; ignored",
}


class DexFile:
    """A parsed DEX file. Build with :meth:`DexFile.parse`."""

    name: str
    version: str
    size: int
    warnings: list[tuple[str, str]]

    def __init__(self, data: DexBytes, name: str, limits: DexLimits) -> None:
        # Use DexFile.parse: __init__ only stores; parse() validates.
        self._data = data
        self.name = name
        self.limits = limits
        self.size = len(data)
        self.version = ""
        self._warn = _Warnings()
        self.warnings = self._warn.items
        self._strings: dict[int, str] = {}
        self._types: dict[int, str] = {}
        self._type_texts: list[str | None] | None = None
        self._string_region_cache: tuple[U32Array, int, int] | None = None
        self._class_headers: list[tuple[int, str, str | None, tuple[str, ...], int]] | None = None
        self._method_name_list: list[int] | None = None
        self._method_proto_list: list[int] | None = None
        self._string_off_list: array[int] | None = None
        self._method_refs: dict[int, MethodRef] = {}
        self._field_refs: dict[int, FieldRef] = {}
        self._protos: dict[int, str] = {}
        self._proto_rows: array[int] | None = None
        self._type_lists: dict[int, tuple[str, ...]] = {}
        self._class_data: tuple[bytes, int] | None = None
        self._code_refs: CodeReferences | None = None
        self._call_site_methods: dict[int, tuple[int, ...]] = {}
        #: (offset, type) of each map_list section, for release_pages.
        self._sections: list[tuple[int, int]] = []
        # Section types release_pages has dealt with: released, or kept for a later read.
        self._released: set[int] = set()
        self._code_scanned = False  # set by the first scan: its code pages may go after it
        self._ids_end = HEADER_SIZE

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def parse(cls, data: DexBytes, name: str = "classes.dex", limits: DexLimits | None = None) -> DexFile:
        """Validate the header, the id tables and the map list; return a lazily-decoding reader.

        Raises MalformedStructureError for a file Android would refuse outright and
        LimitExceededError when a configured limit would be exceeded.
        """
        limits = limits or DexLimits()
        if isinstance(data, memoryview):
            data = data.cast("B") if data.format != "B" or data.ndim != 1 else data
        if len(data) > limits.max_size:
            raise LimitExceededError(f"{name}: DEX size {len(data)} bytes exceeds the limit of {limits.max_size}")
        dex = cls(data, name, limits)
        dex._read_header()
        return dex

    def _fail(self, message: str) -> MalformedStructureError:
        return MalformedStructureError(f"{self.name}: {message}")

    def _u32_table(self, off: int, count: int, what: str, words_per_item: int = 1) -> U32Array:
        nbytes = count * 4 * words_per_item
        if count and (off <= 0 or off + nbytes > self.size):
            raise self._fail(f"{what} table at {off:#x} with {count} entries lies outside the file ({self.size} bytes)")
        table = np.frombuffer(self._data, dtype="<u4", count=count * words_per_item, offset=off if count else 0)
        return table.reshape(count, words_per_item) if words_per_item > 1 else table

    def _read_header(self) -> None:
        data = self._data
        if self.size < HEADER_SIZE:
            raise self._fail(f"{self.size} bytes is too short for a DEX header ({HEADER_SIZE} bytes)")
        magic = bytes(data[:8])
        if magic[:4] != b"dex\n" or magic[7] != 0 or not magic[4:7].isdigit():
            raise self._fail(f"not a DEX file (magic {magic!r}, expected b'dex\\n035\\x00' or a later version)")
        self.version = magic[4:7].decode("ascii")
        if self.version not in SUPPORTED_VERSIONS:
            raise self._fail(
                f"unsupported DEX version {self.version} (supported: {', '.join(sorted(SUPPORTED_VERSIONS))})"
            )
        fields = struct.unpack_from("<8I", data, 32)
        file_size, header_size, endian_tag = fields[0], fields[1], fields[2]
        if endian_tag == REVERSE_ENDIAN_CONSTANT:
            raise self._fail(
                "big-endian (reverse endian tag) DEX files are not supported, and Android does not load them"
            )
        if endian_tag != ENDIAN_CONSTANT:
            raise self._fail(f"bad endian tag {endian_tag:#010x} (expected {ENDIAN_CONSTANT:#010x})")
        allowed_header = (HEADER_SIZE, 0x78) if self.version >= "041" else (HEADER_SIZE,)
        if header_size not in allowed_header:
            raise self._fail(f"header_size is {header_size:#x}, expected {HEADER_SIZE:#x}")
        if file_size > self.size:
            raise self._fail(f"header says {file_size} bytes but only {self.size} are present (truncated DEX)")
        if file_size < self.size and self.version < "041":
            self._warn.add("trailing_data", f"{self.size - file_size} bytes follow the declared end of the DEX")
        map_off = fields[5]
        (
            n_strings,
            strings_off,
            n_types,
            types_off,
            n_protos,
            protos_off,
            n_fields,
            fields_off,
            n_methods,
            methods_off,
            n_classes,
            classes_off,
        ) = struct.unpack_from("<12I", data, 56)
        for what, count in (
            ("string_ids", n_strings),
            ("type_ids", n_types),
            ("proto_ids", n_protos),
            ("field_ids", n_fields),
            ("method_ids", n_methods),
            ("class_defs", n_classes),
        ):
            if count > self.limits.max_table_entries:
                raise LimitExceededError(
                    f"{self.name}: header claims {count} {what} entries, over the limit of {self.limits.max_table_entries}"
                )
        self._string_offs = self._u32_table(strings_off, n_strings, "string_ids")
        self._type_ids = self._u32_table(types_off, n_types, "type_ids")
        self._proto_ids = self._u32_table(protos_off, n_protos, "proto_ids", 3)
        field_words = self._u32_table(fields_off, n_fields, "field_ids", 2)
        method_words = self._u32_table(methods_off, n_methods, "method_ids", 2)
        self._class_defs = self._u32_table(classes_off, n_classes, "class_defs", 8)
        self._ids_end = max(
            HEADER_SIZE,
            *(
                off + size * count
                for off, size, count in (
                    (strings_off, 4, n_strings),
                    (types_off, 4, n_types),
                    (protos_off, 12, n_protos),
                    (fields_off, 8, n_fields),
                    (methods_off, 8, n_methods),
                    (classes_off, 32, n_classes),
                )
                if count
            ),
        )

        # Unpack the ushort pairs once; these arrays are small (≤ 8 bytes per id).
        self._field_class = (field_words[:, 0] & 0xFFFF).astype(np.uint32) if n_fields else np.zeros(0, np.uint32)
        self._field_type = (field_words[:, 0] >> 16).astype(np.uint32) if n_fields else np.zeros(0, np.uint32)
        self._field_name = field_words[:, 1] if n_fields else np.zeros(0, np.uint32)
        self._method_class = (method_words[:, 0] & 0xFFFF).astype(np.uint32) if n_methods else np.zeros(0, np.uint32)
        self._method_proto = (method_words[:, 0] >> 16).astype(np.uint32) if n_methods else np.zeros(0, np.uint32)
        self._method_name = method_words[:, 1] if n_methods else np.zeros(0, np.uint32)
        self._check_ids()
        self._read_map(map_off)

    def _check_range(self, values: U32Array, bound: int, what: str, target: str) -> None:
        if values.size and int(values.max()) >= bound:
            bad = int(np.argmax(values >= bound))
            raise self._fail(f"{what} #{bad} refers to {target} {int(values[bad])}, but there are only {bound}")

    def _check_ids(self) -> None:
        n_strings = len(self._string_offs)
        n_types = len(self._type_ids)
        self._check_range(self._string_offs, self.size, "string_ids entry", "file offset")
        self._check_range(self._type_ids, n_strings, "type_ids entry", "string")
        if len(self._proto_ids):
            self._check_range(self._proto_ids[:, 0], n_strings, "proto_ids entry (shorty)", "string")
            self._check_range(self._proto_ids[:, 1], n_types, "proto_ids entry (return type)", "type")
            self._check_range(self._proto_ids[:, 2], self.size, "proto_ids entry (parameters)", "file offset")
        self._check_range(self._field_class, n_types, "field_ids entry (class)", "type")
        self._check_range(self._field_type, n_types, "field_ids entry (type)", "type")
        self._check_range(self._field_name, n_strings, "field_ids entry (name)", "string")
        self._check_range(self._method_class, n_types, "method_ids entry (class)", "type")
        self._check_range(self._method_proto, len(self._proto_ids), "method_ids entry (proto)", "proto")
        self._check_range(self._method_name, n_strings, "method_ids entry (name)", "string")
        if len(self._class_defs):
            self._check_range(self._class_defs[:, 0], n_types, "class_defs entry (class)", "type")
            supers = self._class_defs[:, 2]
            self._check_range(supers[supers != NO_INDEX], n_types, "class_defs entry (superclass)", "type")
            srcs = self._class_defs[:, 4]
            self._check_range(srcs[srcs != NO_INDEX], n_strings, "class_defs entry (source file)", "string")
            for col, what in (
                (3, "interfaces_off"),
                (5, "annotations_off"),
                (6, "class_data_off"),
                (7, "static_values_off"),
            ):
                self._check_range(self._class_defs[:, col], self.size, f"class_defs entry ({what})", "file offset")
        self._check_class_graph()

    def _check_class_graph(self) -> None:
        """Warn about duplicate class definitions and superclass cycles (the first definition wins)."""
        self._class_active = np.ones(len(self._class_defs), dtype=bool)
        if not len(self._class_defs):
            return
        class_idx = self._class_defs[:, 0]
        _, first = np.unique(class_idx, return_index=True)
        if len(first) != len(class_idx):
            dup = np.ones(len(class_idx), dtype=bool)
            dup[first] = False
            self._class_active &= ~dup
            for pos in np.flatnonzero(dup)[:10]:
                self._warn.add(
                    "duplicate_class",
                    f"class_defs #{int(pos)} redefines {self.type_descriptor(int(class_idx[pos]))}; the first definition is used",
                )
        # Python ints from lists: iterating numpy arrays would box 10^4..10^5 scalars.
        superclass_of = {
            c: s
            for c, s, a in zip(
                class_idx.tolist(), self._class_defs[:, 2].tolist(), self._class_active.tolist(), strict=True
            )
            if a
        }
        done: set[int] = set()
        for start in superclass_of:
            chain: list[int] = []
            seen: set[int] = set()
            node = start
            while node in superclass_of and node not in done:
                if node in seen:
                    self._warn.add(
                        "class_hierarchy_cycle",
                        f"superclass chain of {self.type_descriptor(node)} is cyclic (Android rejects these classes)",
                    )
                    break
                seen.add(node)
                chain.append(node)
                node = superclass_of[node]
            done.update(chain)

    def _read_map(self, map_off: int) -> None:
        self._call_site_offs: U32Array = np.zeros(0, np.uint32)
        self._method_handles: U32Array = np.zeros((0, 2), np.uint32)
        if map_off == 0 or map_off > self.size - 4:
            self._warn.add("map_list_missing", f"map_off {map_off:#x} does not point inside the file")
            return
        (count,) = struct.unpack_from("<I", self._data, map_off)
        if count > self.limits.max_table_entries or map_off + 4 + 12 * count > self.size:
            self._warn.add("map_list_bad", f"map_list at {map_off:#x} claims {count} items, more than the file holds")
            return
        header_counts = {
            _MAP_STRING_IDS: len(self._string_offs),
            _MAP_TYPE_IDS: len(self._type_ids),
            _MAP_PROTO_IDS: len(self._proto_ids),
            _MAP_FIELD_IDS: len(self._field_name),
            _MAP_METHOD_IDS: len(self._method_name),
            _MAP_CLASS_DEFS: len(self._class_defs),
        }
        seen: set[int] = set()
        for item_type, _, item_size, item_off in struct.iter_unpack(
            "<HHII", self._data[map_off + 4 : map_off + 4 + 12 * count]
        ):
            if item_type in seen:
                self._warn.add("map_list_bad", f"map_list lists type {item_type:#06x} twice")
            seen.add(item_type)
            if item_off >= self.size:
                self._warn.add("map_list_bad", f"map_list item {item_type:#06x} has offset {item_off:#x} past the end")
                continue
            self._sections.append((item_off, item_type))
            expected = header_counts.get(item_type)
            if expected is not None and expected != item_size:
                self._warn.add(
                    "map_list_mismatch",
                    f"map_list says {item_size} entries of type {item_type:#06x}, header says {expected}",
                )
            if item_type == _MAP_HEADER and item_off != 0:
                self._warn.add("map_list_bad", f"map_list puts the header at {item_off:#x}, not 0")
            elif item_type in (_MAP_CALL_SITE_IDS, _MAP_METHOD_HANDLES):
                if item_size > self.limits.max_table_entries:
                    raise LimitExceededError(
                        f"{self.name}: map_list claims {item_size} entries of type {item_type:#06x}, over the limit"
                    )
                words = 1 if item_type == _MAP_CALL_SITE_IDS else 2
                if item_off + 4 * words * item_size > self.size:
                    self._warn.add("map_list_bad", f"map_list item {item_type:#06x} runs past the end of the file")
                    continue
                table = np.frombuffer(self._data, dtype="<u4", count=words * item_size, offset=item_off)
                if item_type == _MAP_CALL_SITE_IDS:
                    self._call_site_offs = table
                else:
                    self._method_handles = table.reshape(item_size, 2)
        if _MAP_HEADER not in seen:
            self._warn.add("map_list_bad", "map_list has no header entry")
        self._sections.sort()

    # -- memory -------------------------------------------------------------------------------

    def release_pages(self) -> int:
        """Hand back the pages of what this reader will not read again; the bytes released.

        Debug info, annotations and hidden-API flags are never read, and the code items are
        read once, by the scan: together about half of a DEX. When the DEX lives in a memory map
        of its own (ApkArchive.read_mapped), their whole pages go back to the OS now instead of
        when the reader goes, so the tables built from the DEX do not sit beside all of it. Call
        it once the class data is decoded (any time: it decodes it), and again after the scan.
        A section is released only where no later read starts inside it and it does not
        intersect the string data or id tables: in a DEX whose structures overlap (hostile or
        corrupt) the pages stay. Bytes (no map) release nothing.
        """
        data = self._data
        if not isinstance(data, mmap.mmap) or data.closed:
            return 0
        kinds = set(_UNREAD_SECTIONS)
        if self._code_scanned:
            kinds.add(_MAP_CODE_ITEMS)
        kinds -= self._released
        if not self._sections:
            return 0  # no usable map_list (corrupt): nothing is known to be unread
        # A section runs to the next one's start (the map lists no sizes in bytes).
        ends = [start for start, _ in self._sections[1:]] + [self.size]
        spans = [(start, end, kind) for (start, kind), end in zip(self._sections, ends, strict=True) if kind in kinds]
        if not spans:
            return 0
        read_later = self._later_reads()
        released = 0
        for start, end, kind in spans:
            self._released.add(kind)
            first = -(-start // mmap.PAGESIZE) * mmap.PAGESIZE
            last = end // mmap.PAGESIZE * mmap.PAGESIZE
            if last <= first or self._read_between(read_later, first, last):
                continue
            data.madvise(mmap.MADV_DONTNEED, first, last - first)
            released += last - first
        return released

    def _later_reads(self) -> tuple[list[npt.NDArray[Any]], list[tuple[int, int]]]:
        """Where reads after now may start (offset columns), and the ranges read whole."""
        starts: list[npt.NDArray[Any]] = [self._string_offs, self._call_site_offs]
        if len(self._proto_ids):
            starts.append(self._proto_ids[:, 2])  # parameter type lists
        if len(self._class_defs):
            starts += [self._class_defs[:, col] for col in (3, 6, 7)]  # interfaces, class data, static values
        if not self._code_scanned:
            starts.append(self._decoded_class_data()[:, 4])
        ranges = [(0, self._ids_end)]
        if len(self._string_offs):
            _, first, end = self._string_region()
            ranges.append((first, end))
        tables = {_MAP_CALL_SITE_IDS: 4 * len(self._call_site_offs), _MAP_METHOD_HANDLES: 8 * len(self._method_handles)}
        ranges += [(off, off + tables[kind]) for off, kind in self._sections if kind in tables]
        return starts, ranges

    @staticmethod
    def _read_between(later: tuple[list[npt.NDArray[Any]], list[tuple[int, int]]], first: int, last: int) -> bool:
        # Offset 0 ("none" in every column) never counts: no page before the id tables' end goes.
        starts, ranges = later
        return any(a < last and first < b for a, b in ranges) or any(
            bool(((column >= first) & (column < last)).any()) for column in starts
        )

    # -- ids ----------------------------------------------------------------------------------

    @property
    def warnings_dropped(self) -> int:
        """How many warnings were not kept because :data:`MAX_WARNINGS` were already recorded."""
        return self._warn.dropped

    def strings_count(self) -> int:
        return len(self._string_offs)

    @property
    def type_count(self) -> int:
        return len(self._type_ids)

    @property
    def method_refs_count(self) -> int:
        return len(self._method_name)

    @property
    def field_refs_count(self) -> int:
        return len(self._field_name)

    @property
    def call_site_count(self) -> int:
        return len(self._call_site_offs)

    def _index(self, idx: int, count: int, what: str) -> int:
        if not 0 <= idx < count:
            raise self._fail(f"{what} index {idx} is out of range (the table has {count} entries)")
        return idx

    def string(self, idx: int) -> str:
        """The string with this index, decoded from MUTF-8 on first use and cached.

        Bad MUTF-8 is decoded with replacement characters and a ``bad_mutf8`` warning.
        """
        cached = self._strings.get(idx)
        if cached is not None:
            return cached
        if self._string_off_list is None:
            # Python ints from an array index are several times cheaper than numpy scalars, and
            # apps resolve 10^5 strings; 4 bytes per string is a small price.
            self._string_off_list = array("I", self._string_offs.astype("=u4").tobytes())
        offs = self._string_off_list
        off = offs[self._index(idx, len(offs), "string")]
        data = self._data
        first = data[off]  # in range: _check_ids bounded every string_data_off by the file size
        if first < 0x80:
            utf16_size, pos = first, off + 1
        else:
            try:
                utf16_size, pos = read_uleb128(data, off, self.size)
            except MalformedStructureError:
                raise self._fail(f"string #{idx} at {off:#x}: bad length prefix") from None
        # A MUTF-8 string takes at most 3 bytes per UTF-16 unit: bounding the NUL search keeps a
        # missing terminator from costing a scan of the whole file per string.
        limit = min(self.size, pos + 3 * utf16_size + 1)
        if isinstance(data, (bytes, mmap.mmap)):
            end = data.find(b"\0", pos, limit)
        else:
            end = bytes(data[pos:limit]).find(b"\0")
            end = end if end < 0 else pos + end
        if end < 0:
            raise self._fail(f"string #{idx} at {off:#x}: no terminator within {3 * utf16_size + 1} bytes")
        raw = bytes(data[pos:end])
        if raw.isascii():
            text = raw.decode("ascii")
            units = len(raw)
        else:
            text = self._decode_mutf8(raw, idx)
            units = len(text.encode("utf-16-le", "surrogatepass")) // 2
        if units != utf16_size:
            self._warn.add(
                "string_length_mismatch", f"string #{idx}: declared {utf16_size} UTF-16 units, decoded {units}"
            )
        self._strings[idx] = text
        return text

    def _decode_mutf8(self, raw: bytes, idx: int) -> str:
        try:
            # MUTF-8 = CESU-8 plus 0xC0 0x80 for NUL: decode surrogates separately, then pair them.
            text = raw.replace(b"\xc0\x80", b"\0").decode("utf-8", "surrogatepass")
            if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
                text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
            return text
        except UnicodeDecodeError as exc:
            self._warn.add("bad_mutf8", f"string #{idx}: invalid MUTF-8 ({exc.reason}); undecodable bytes replaced")
            return raw.decode("utf-8", "replace")

    def type_descriptor(self, idx: int) -> str:
        """Type descriptor text, e.g. ``Ljava/lang/String;`` or ``[I``."""
        texts = self._type_texts
        if texts is None:
            texts = self._type_texts = self._decode_type_texts()
        if 0 <= idx < len(texts):
            text = texts[idx]
            if text is not None:
                return text
        cached = self._types.get(idx)
        if cached is None:
            cached = self.string(int(self._type_ids[self._index(idx, len(self._type_ids), "type")]))
            self._types[idx] = cached
        return cached

    def _decode_type_texts(self) -> list[str | None]:
        """Every type descriptor at once, by the C accelerator: an app names 10^4 types and reads most.

        None where the text is not plain, well-formed ASCII (and for every type without the
        accelerator): :meth:`type_descriptor` decodes those one by one, with their warnings.
        """
        if _accel is None or not len(self._type_ids) or not len(self._string_offs):
            return [None] * len(self._type_ids)
        texts: list[str | None] = _accel.ascii_strings(
            self._data,
            np.ascontiguousarray(self._string_offs, dtype=np.uint32),
            np.ascontiguousarray(self._type_ids, dtype=np.uint32),
        )
        return texts

    def _type_list(self, off: int) -> tuple[str, ...]:
        if off == 0:
            return ()
        cached = self._type_lists.get(off)  # protos and classes share parameter/interface lists
        if cached is not None:
            return cached
        if off > self.size - 4:
            raise self._fail(f"type_list at {off:#x} is past the end of the file")
        (count,) = struct.unpack_from("<I", self._data, off)
        if off + 4 + 2 * count > self.size:
            raise self._fail(f"type_list at {off:#x} with {count} entries runs past the end of the file")
        type_descriptor = self.type_descriptor
        types = tuple(type_descriptor(i) for i in struct.unpack_from(f"<{count}H", self._data, off + 4))
        self._type_lists[off] = types
        return types

    def proto(self, idx: int) -> str:
        """Prototype text, e.g. ``(ILjava/lang/String;)V``."""
        cached = self._protos.get(idx)
        if cached is None:
            rows = self._proto_rows
            if rows is None:
                # Python ints from an array are far cheaper than numpy rows at 10^4..10^5 look-ups,
                # and a flat array of (shorty, return, parameters) costs 12 bytes a proto, not 100.
                rows = self._proto_rows = array("I", self._proto_ids.astype("=u4").tobytes())
            at = 3 * self._index(idx, len(rows) // 3, "proto")
            return_idx, params_off = rows[at + 1], rows[at + 2]
            cached = "(" + "".join(self._type_list(params_off)) + ")" + self.type_descriptor(return_idx)
            self._protos[idx] = cached
        return cached

    def method_ref(self, idx: int) -> MethodRef:
        """The method_id_item with this index, resolved to text (cached)."""
        ref = self._method_refs.get(idx)
        if ref is None:
            self._index(idx, len(self._method_name), "method")
            ref = _method_ref(
                self.type_descriptor(int(self._method_class[idx])),
                self.string(int(self._method_name[idx])),
                self.proto(int(self._method_proto[idx])),
            )
            self._method_refs[idx] = ref
        return ref

    def field_ref(self, idx: int) -> FieldRef:
        """The field_id_item with this index, resolved to text (cached)."""
        ref = self._field_refs.get(idx)
        if ref is None:
            self._index(idx, len(self._field_name), "field")
            ref = FieldRef(
                self.type_descriptor(int(self._field_class[idx])),
                self.string(int(self._field_name[idx])),
                self.type_descriptor(int(self._field_type[idx])),
            )
            self._field_refs[idx] = ref
        return ref

    def find_method_refs(self, predicate: Callable[[MethodRef], bool]) -> list[int]:
        """Indices of the method_ids whose resolved reference satisfies ``predicate``."""
        method_ref = self.method_ref
        return [i for i in range(len(self._method_name)) if predicate(method_ref(i))]

    def find_method_refs_by_class(self, class_descriptors: set[str]) -> list[int]:
        """Indices of method_ids declared on one of these classes (no MethodRef built per method)."""
        wanted_types = [t for t in range(len(self._type_ids)) if self.type_descriptor(t) in class_descriptors]
        if not wanted_types:
            return []
        return [int(i) for i in np.flatnonzero(member_of(self._method_class, wanted_types))]

    # -- classes ------------------------------------------------------------------------------

    def _decoded_class_data(self) -> U32Array:
        if self._class_data is None:
            defs = self._class_defs
            # Native-order uint32 buffers for the backends; duplicates get offset 0 (first definition wins).
            offs = (
                np.where(self._class_active, defs[:, 6], 0).astype(np.uint32) if len(defs) else np.zeros(0, np.uint32)
            )
            class_types = np.ascontiguousarray(defs[:, 0], dtype=np.uint32) if len(defs) else np.zeros(0, np.uint32)
            method_class = np.ascontiguousarray(self._method_class, dtype=np.uint32)
            backend = _accel.class_data if _accel is not None else _class_data_py
            packed, problems = backend(self._data, offs, class_types, method_class)
            for code, ctx, a, b in problems:
                self._warn.add(code, _PROBLEM_TEXT[code].format(ctx=ctx, a=a, b=b))
            self._class_data = (packed, len(problems))
        return np.frombuffer(self._class_data[0], dtype="<u4").reshape(-1, 5)

    def classes(self) -> Iterator[ClassDef]:
        """Every class definition in file order (duplicates after the first are skipped)."""
        records = self._decoded_class_data()
        starts = np.searchsorted(records[:, 0], np.arange(len(self._class_defs) + 1)).tolist()
        active = self._class_active.tolist()
        for pos, row in enumerate(self._class_defs.tolist()):
            if not active[pos]:
                continue
            class_idx, flags, super_idx, interfaces_off, source_idx, _, _, static_values_off = row
            direct: list[EncodedMethod] = []
            virtual: list[EncodedMethod] = []
            if starts[pos] < starts[pos + 1]:
                values = iter(records[starts[pos] : starts[pos + 1], 1:].ravel().tolist())
                for is_virtual, method_idx, method_flags, code_off in zip(values, values, values, values, strict=True):
                    (virtual if is_virtual else direct).append(_encoded_method(method_idx, method_flags, code_off))
            yield ClassDef(
                descriptor=self.type_descriptor(class_idx),
                superclass=None if super_idx == NO_INDEX else self.type_descriptor(super_idx),
                interfaces=self._type_list(interfaces_off),
                access_flags=flags,
                source_file=None if source_idx == NO_INDEX else self.string(source_idx),
                direct_methods=tuple(direct),
                virtual_methods=tuple(virtual),
                static_values_off=static_values_off,
            )

    def class_headers(self) -> Iterator[tuple[int, str, str | None, tuple[str, ...], int]]:
        """(class_defs position, descriptor, superclass, interfaces, static_values_off) per class.

        Same classes and order as :meth:`classes`, without decoding class data: for callers that
        read methods from :meth:`method_table` as arrays instead of EncodedMethod objects.
        """
        if self._class_headers is None:
            headers: list[tuple[int, str, str | None, tuple[str, ...], int]] = []
            active = self._class_active.tolist()
            for pos, row in enumerate(self._class_defs.tolist()):
                if not active[pos]:
                    continue
                class_idx, _, super_idx, interfaces_off, _, _, _, static_values_off = row
                headers.append(
                    (
                        pos,
                        self.type_descriptor(class_idx),
                        None if super_idx == NO_INDEX else self.type_descriptor(super_idx),
                        self._type_list(interfaces_off),
                        static_values_off,
                    )
                )
            self._class_headers = headers  # cached only once complete: a bad type list raises every time
        yield from self._class_headers

    def class_descriptor_pack(self, positions: npt.NDArray[np.int64]) -> PackedTexts:
        """The descriptors of the classes at these class_defs positions, packed (as :meth:`string_pack`)."""
        class_types = self._class_defs[positions, 0] if len(positions) else np.zeros(0, dtype=np.int64)
        return self.string_pack(self._type_ids[class_types].astype(np.int64))

    def method_table(self) -> U32Array:
        """Defined methods as rows (class_defs position, is_virtual, method_idx, access_flags, code_off).

        Rows of one class are contiguous, direct methods before virtual ones, in class data order;
        duplicate class definitions contribute no rows (the first definition wins).
        """
        return self._decoded_class_data()

    def method_class_types(self) -> U32Array:
        """Type index of the declaring class of every method_id (indexed by method_idx)."""
        return self._method_class

    def field_class_types(self) -> U32Array:
        """Type index of the declaring class of every field_id (indexed by field_idx)."""
        return self._field_class

    def method_signature(self, idx: int) -> str:
        """``name(params)ret`` of a method_id, without building a MethodRef."""
        if self._method_name_list is None or self._method_proto_list is None:
            # Python ints from lists are far cheaper than numpy scalars at 10^5 look-ups.
            self._method_name_list = self._method_name.tolist()
            self._method_proto_list = self._method_proto.tolist()
        self._index(idx, len(self._method_name_list), "method")
        return self.string(self._method_name_list[idx]) + self.proto(self._method_proto_list[idx])

    def method_signatures(self, idxs: Sequence[int]) -> list[str]:
        """``name(params)ret`` per method_id in ``idxs`` (batch form of :meth:`method_signature`)."""
        if not len(idxs):
            return []
        return expand_texts(*self.method_signature_pieces(idxs))

    def method_signature_parts(self, idxs: npt.ArrayLike) -> tuple[TextPieces, TextPieces]:
        """The pieces of ``name(params)ret`` per method_id in ``idxs``: (names, protos), as in
        :meth:`method_descriptor_parts`, for callers that join only the few they read."""
        wanted = np.asarray(idxs)
        if wanted.dtype.kind not in "iu":
            wanted = wanted.astype(np.int64)
        self._check_batch(wanted, len(self._method_name), "method")
        name_idxs = self._method_name[wanted]
        proto_idxs = self._method_proto[wanted]
        names = distinct(name_idxs)
        name_text = self.string_pack(names)
        protos = distinct(proto_idxs)
        proto_text = self.proto_pack(protos)
        return (name_text, _positions_in(names, name_idxs)), (proto_text, _positions_in(protos, proto_idxs))

    def method_signature_pieces(self, idxs: npt.ArrayLike) -> TextPieces:
        """(distinct ``name(params)ret`` texts, position of each method_id's text among them)."""
        (name_text, name_at), (proto_text, proto_at) = self.method_signature_parts(idxs)
        # One string per distinct (name, proto): "<init>()V" is shared by thousands of methods,
        # so this saves both the concatenations and their memory.
        pairs, inverse = np.unique((name_at.astype(np.int64) << 32) | proto_at, return_inverse=True)
        return join_texts(name_text, proto_text, pairs >> 32, pairs & 0xFFFFFFFF, ""), inverse

    def method_descriptor_parts(self, idxs: npt.ArrayLike) -> tuple[TextPieces, TextPieces]:
        """The pieces of ``Lcls;->name(params)ret`` per method_id in ``idxs``: (classes, signatures).

        Each piece is (distinct texts, position of each idx's text among them); the descriptor of
        ``idxs[i]`` is ``classes[0][classes[1][i]] + "->" + signatures[0][signatures[1][i]]``.
        """
        return self.method_class_pieces(idxs), self.method_signature_pieces(idxs)

    def method_class_pieces(self, idxs: npt.ArrayLike) -> TextPieces:
        """(distinct declaring-class descriptors, position of each method_id's class among them)."""
        wanted = np.asarray(idxs, dtype=np.int64)
        self._check_batch(wanted, len(self._method_name), "method")
        _, class_text, class_at = self._texts(self._method_class[wanted], self.type_descriptor)
        return class_text, class_at

    def method_descriptors(self, idxs: Sequence[int]) -> list[str]:
        """``Lcls;->name(params)ret`` per method_id in ``idxs`` (batch form of MethodRef.descriptor)."""
        if not len(idxs):
            return []
        (class_text, class_at), (signature_text, signature_at) = self.method_descriptor_parts(idxs)
        return join_texts(class_text, signature_text, class_at, signature_at, "->")

    def field_descriptor_parts(self, idxs: npt.ArrayLike) -> tuple[TextPieces, TextPieces, TextPieces]:
        """The pieces of ``Lcls;->NAME:type`` per field_id in ``idxs``: (classes, names, types), as in
        :meth:`method_descriptor_parts`."""
        wanted = np.asarray(idxs, dtype=np.int64)
        self._check_batch(wanted, len(self._field_name), "field")
        _, class_text, class_at = self._texts(self._field_class[wanted], self.type_descriptor)
        field_names, name_at = np.unique(self._field_name[wanted], return_inverse=True)
        name_text = self.string_pack(field_names)
        _, type_text, type_at = self._texts(self._field_type[wanted], self.type_descriptor)
        return (class_text, class_at), (name_text, name_at), (type_text, type_at)

    def field_descriptors(self, idxs: Sequence[int]) -> list[str]:
        """``Lcls;->NAME:type`` per field_id in ``idxs`` (batch form of FieldRef.descriptor)."""
        if not len(idxs):
            return []
        (class_text, class_at), (name_text, name_at), (type_text, type_at) = self.field_descriptor_parts(idxs)
        members = join_texts(class_text, name_text, class_at, name_at, "->")
        return join_texts(members, type_text, np.arange(len(members)), type_at, ":")

    def _check_batch(self, idxs: IntArray, count: int, what: str) -> None:
        if len(idxs) and (int(idxs.min()) < 0 or int(idxs.max()) >= count):
            bad = int(idxs[(idxs < 0) | (idxs >= count)][0])
            self._index(bad, count, what)

    def string_batch(self, idxs: npt.NDArray[np.integer[Any]]) -> list[str]:
        """:meth:`string` of each of these distinct string ids, in order, without caching them.

        The plain-ASCII, well-formed ones come from one C batch; the rest go through
        :meth:`string`, so its warnings and errors are raised as before, in the same order. A
        batch's texts go to callers that keep them as pieces: caching them as well (a dict entry
        and an int key each, 10^4..10^5 of them) doubled their memory while the DEX was open.
        """
        if _accel is None or not len(idxs) or not len(self._string_offs):
            return [self.string(i) for i in idxs.tolist()]
        wanted = np.ascontiguousarray(idxs[idxs < len(self._string_offs)], dtype=np.uint32)
        offs = np.ascontiguousarray(self._string_offs, dtype=np.uint32)
        fast = iter(_accel.ascii_strings(self._data, offs, wanted))
        count = len(self._string_offs)
        return [text if i < count and (text := next(fast)) is not None else self.string(i) for i in idxs.tolist()]

    def proto_batch(self, idxs: npt.NDArray[np.integer[Any]]) -> list[str]:
        """:meth:`proto` of each of these distinct proto ids, in order, without caching them (as
        :meth:`string_batch`)."""
        texts = self.proto_pack(idxs)
        return texts.take(np.arange(len(texts)))

    def string_pack(self, idxs: npt.NDArray[np.integer[Any]]) -> PackedTexts:
        """:meth:`string_batch` as :class:`PackedTexts`, built without a str per text."""
        count = len(self._string_offs)
        if _accel is None or not len(idxs) or not count or int(idxs.max()) >= count:
            return PackedTexts.of(self.string_batch(idxs))  # out of range: string_batch raises as string() does
        packed = _accel.ascii_strings_packed(
            self._data, np.ascontiguousarray(self._string_offs, dtype=np.uint32), np.ascontiguousarray(idxs, np.uint32)
        )
        texts, ends, misses = packed
        return _spliced(texts, ends, misses, lambda at: self.string(int(idxs[at])))

    def proto_pack(self, idxs: npt.NDArray[np.integer[Any]]) -> PackedTexts:
        """:meth:`proto_batch` as :class:`PackedTexts`, built without a str per text."""
        count = len(self._proto_ids)
        if _accel is None or not len(idxs) or not count or int(idxs.max()) >= count:
            # One by one: an out-of-range id raises from proto(), after the ones before it.
            return PackedTexts.of(self.proto(i) for i in idxs.tolist())
        packed = _accel.ascii_protos_packed(
            self._data,
            np.ascontiguousarray(self._string_offs, dtype=np.uint32),
            np.ascontiguousarray(self._type_ids, dtype=np.uint32),
            np.ascontiguousarray(self._proto_ids, dtype=np.uint32),
            np.ascontiguousarray(idxs, np.uint32),
        )
        texts, ends, misses = packed
        return _spliced(texts, ends, misses, lambda at: self.proto(int(idxs[at])))

    @staticmethod
    def _texts(
        values: npt.NDArray[Any], resolve: Callable[[int], str]
    ) -> tuple[IntArray, list[str], npt.NDArray[np.intp]]:
        """(distinct values, resolve(v) of each, position of each value among them); one resolve per value."""
        distinct, inverse = np.unique(values, return_inverse=True)
        return distinct, [resolve(v) for v in distinct.tolist()], inverse

    def strings_containing_any(self, needles: Iterable[bytes], folded_needles: Iterable[bytes]) -> IntArray:
        """Indices of strings that may contain one of ``needles`` or, ignoring ASCII case, one of
        ``folded_needles`` (lower case): the union of the two :meth:`strings_containing` answers,
        found in one pass over the string data when the accelerator is built."""
        exact = [n for n in needles if n]
        folded = [n for n in folded_needles if n]
        if _accel is not None and len(self._string_offs) and all(len(n) >= 2 for n in (*exact, *folded)):
            return self._strings_with_needles(exact, folded)
        both = np.concatenate((self.strings_containing(exact), self.strings_containing(folded, ignore_ascii_case=True)))
        return distinct(both).astype(np.int64)

    def _strings_with_needles(self, exact: list[bytes], folded: list[bytes]) -> IntArray:
        sorted_offs, first, end = self._string_region()
        data = self._data if isinstance(self._data, (bytes, mmap.mmap)) else bytes(self._data)
        # One pass for all needles, without copying (or lower-casing) the region.
        starts_rel = np.ascontiguousarray(sorted_offs - first, dtype=np.uint32)
        found = _accel.find_needles(data, first, end, starts_rel, exact, folded)
        return self._strings_at(sorted_offs, np.frombuffer(found, dtype="<u4").astype(np.int64) + first)

    def strings_containing(self, needles: Iterable[bytes], *, ignore_ascii_case: bool = False) -> IntArray:
        """Indices of strings whose data may contain one of ``needles`` (MUTF-8 bytes), sorted.

        A cheap byte search over the string data region, mapped back to string_data items, so callers
        decode only the strings a filter could accept. The answer is a superset (a hit outside
        string data maps to a neighbouring string); never misses a string that contains a needle.
        With ``ignore_ascii_case`` needles must be lower case and ASCII letters match either case.
        """
        if not len(self._string_offs):
            return np.zeros(0, np.int64)
        needle_list = [n for n in needles if n]
        if _accel is not None and all(len(n) >= 2 for n in needle_list):
            return self._strings_with_needles(
                [] if ignore_ascii_case else needle_list, needle_list if ignore_ascii_case else []
            )
        sorted_offs, first, end = self._string_region()
        data = self._data if isinstance(self._data, (bytes, mmap.mmap)) else bytes(self._data)
        region = data[first:end]
        starts = (sorted_offs - first).tolist()
        if ignore_ascii_case:
            region = region.lower()
        positions: list[int] = []
        for needle in needle_list:
            pos = region.find(needle)
            while pos >= 0:
                positions.append(first + pos)
                # One hit per string is enough: resume after its terminator, so a hostile file
                # full of needles costs at most one position per string.
                # Never skip past the next string's start (a hit in bytes between strings).
                following = bisect.bisect_right(starts, pos)
                resume = starts[following] if following < len(starts) else len(region)
                nul = region.find(b"\0", pos, resume)
                pos = region.find(needle, min(resume, nul + 1) if nul >= 0 else resume)
        return self._strings_at(sorted_offs, np.asarray(positions, dtype=np.int64))

    def _string_region(self) -> tuple[U32Array, int, int]:
        """(string data offsets sorted, start and end of the region holding all string data)."""
        if self._string_region_cache is None:
            # All string data lies between the first string's offset and the last string's NUL
            # (an unterminated last string runs to the end of the file): search only there.
            sorted_offs = np.sort(self._string_offs)
            first, last = int(sorted_offs[0]), int(sorted_offs[-1])
            data = self._data if isinstance(self._data, (bytes, mmap.mmap)) else bytes(self._data)
            end = data.find(b"\0", last)
            self._string_region_cache = (sorted_offs, first, len(data) if end < 0 else end + 1)
        return self._string_region_cache

    def _strings_at(self, sorted_offs: U32Array, positions: IntArray) -> IntArray:
        """Indices of the strings whose data holds these file positions (sorted; see strings_containing)."""
        if not len(positions):
            return np.zeros(0, np.int64)
        k = np.searchsorted(sorted_offs, positions, side="right") - 1
        hit_offs = distinct(sorted_offs[k[k >= 0]])
        # Several string_ids may share one string_data item: select every id at a hit offset.
        return np.flatnonzero(member_of(self._string_offs, hit_offs)).astype(np.int64)

    def method_owner_class(self, method_idx: int) -> str:
        """Descriptor of the class that declares this method reference."""
        return self.type_descriptor(int(self._method_class[self._index(method_idx, len(self._method_name), "method")]))

    # -- code ---------------------------------------------------------------------------------

    def release_code_references(self) -> None:
        """Forget the cached scan tables; the next :meth:`code_references` scans again."""
        self._code_refs = None

    def code_references(self) -> CodeReferences:
        """Scan all code once (cached): invokes, const-string(s), field accesses and const-class per caller."""
        if self._code_refs is None:
            self._code_refs = self._scan_references(b"", b"")
        return self._code_refs

    def selected_references(self, opcodes: Iterable[int], strings: npt.ArrayLike) -> CodeReferences:
        """:meth:`code_references` restricted to rows of these opcodes and, for const-string rows,
        to these string ids; scanned afresh, not cached. Warnings are those of a full scan: every
        operand is still range-checked. A caller that drops most rows (field writes, strings no
        matcher reads) never holds them, where filtering a full scan would hold both at once."""
        op_keep = bytearray(256)
        for op in opcodes:
            op_keep[op] = 1
        wanted = np.asarray(strings, dtype=np.int64)
        string_keep = bytearray(len(self._string_offs))
        wanted = wanted[(wanted >= 0) & (wanted < len(string_keep))]
        np.frombuffer(string_keep, dtype=np.uint8)[wanted] = 1
        return self._scan_references(bytes(op_keep), bytes(string_keep))

    def _scan_references(self, op_keep: bytes, string_keep: bytes) -> CodeReferences:
        if _MAP_CODE_ITEMS in self._released:
            raise RuntimeError(f"{self.name}: the code was scanned and its pages released; scan it once")
        records = self._decoded_class_data()
        methods = np.ascontiguousarray(records[:, [2, 4]], dtype=np.uint32)
        counts = (
            len(self._string_offs),
            len(self._type_ids),
            len(self._field_name),
            len(self._method_name),
            len(self._call_site_offs),
        )
        backend = _accel.scan_code if _accel is not None else _scan_code_py

        def scan(in_order: npt.NDArray[np.uint32]) -> tuple[tuple[Any, ...], int, list[tuple[str, int, int, int]]]:
            found: tuple[tuple[Any, ...], int, list[tuple[str, int, int, int]]] = backend(
                self._data,
                in_order,
                counts,
                self.limits.max_code_units_per_method,
                SCAN_BUDGET_PER_BYTE * self.size,
                op_keep,
                string_keep,
            )
            return found

        # The tables must come grouped by caller in increasing order. Class data lists methods by
        # class, direct before virtual, so scanning in that order means re-sorting every table
        # after: a copy of each beside the scanner's output, the largest transient of indexing a
        # DEX. Scanning the methods by index instead gives the same rows already in order; only
        # the problems are put back in the methods' own order. Where that would not be exact (a
        # method listed twice, or the scan budget running out, which depends on the order) the
        # methods are scanned as listed.
        by_index = np.argsort(methods[:, 0], kind="stable")
        callers = methods[by_index, 0]
        if len(callers) > 1 and bool(np.all(callers[1:] > callers[:-1])):
            tables, walked, problems = scan(methods[by_index])
            if any(code == "scan_budget_exceeded" for code, *_ in problems):
                tables, walked, problems = scan(methods)
            elif problems:
                listed_at = {int(m): i for i, m in enumerate(methods[:, 0].tolist())}
                problems = sorted(problems, key=lambda problem: listed_at[problem[1]])
        else:
            tables, walked, problems = scan(methods)
        del by_index, callers
        self._code_scanned = True
        for code, ctx, a, b in problems:
            self._warn.add(code, _PROBLEM_TEXT[code].format(ctx=ctx, a=a, b=b))
        # One table at a time, each scanner output dropped once wrapped: a table whose callers
        # must be re-sorted is a copy, and the output beside it would double the largest table.
        pending = list(tables)
        del tables
        wrapped: list[ReferenceTable] = []
        while pending:
            wrapped.append(ReferenceTable.from_packed(pending.pop(0)))
        invokes, strings, fields, classes = wrapped
        return CodeReferences(
            methods_scanned=int(np.count_nonzero(records[:, 4])) if len(records) else 0,
            code_units_scanned=int(walked),
            invokes=invokes,
            strings=strings,
            fields=fields,
            classes=classes,
        )

    def invokes_of(self, callee_method_idxs: set[int]) -> Iterator[tuple[int, int, int]]:
        """(caller_method_idx, callee_idx, code-unit offset) for every invoke of one of these methods.

        invoke-custom sites are not included (their operand is a call-site index); see
        :meth:`call_site_methods`.
        """
        table = self.code_references().invokes
        if not callee_method_idxs or not len(table):
            return
        wanted = np.fromiter(callee_method_idxs, dtype=np.int64, count=len(callee_method_idxs))
        mask = member_of(table.target, wanted) & (table.opcode < 0xFC)
        yield from ((caller, callee, offset) for caller, callee, offset in table.rows[mask][:, [0, 2, 3]].tolist())

    def callees_of(self, caller_method_idx: int) -> list[int]:
        """Distinct method indices this method may call, in first-call order.

        invoke-custom sites contribute the methods their call site names through method handles
        (bootstrap and, for lambdas, the implementation method).
        """
        table = self.code_references().invokes
        rows = table.rows[table.span_of(caller_method_idx)]
        seen: dict[int, None] = {}
        for op, target in rows[:, 1:3].tolist():
            if op >= 0xFC:
                for m in self.call_site_methods(target):
                    seen.setdefault(m, None)
            else:
                seen.setdefault(target, None)
        return list(seen)

    def strings_used_by(self, caller_method_idx: int) -> list[int]:
        """String indices loaded by const-string/const-string-jumbo in this method, in code order."""
        table = self.code_references().strings
        return [int(v) for v in table.target[table.span_of(caller_method_idx)]]

    def fields_used_by(self, caller_method_idx: int) -> list[int]:
        """Field indices read or written by this method, in code order."""
        table = self.code_references().fields
        return [int(v) for v in table.target[table.span_of(caller_method_idx)]]

    # -- call sites and encoded values -------------------------------------------------------

    def call_site_methods(self, call_site_idx: int) -> tuple[int, ...]:
        """Method indices named by method handles in a call site's encoded array (cached).

        Malformed call sites yield () with a ``bad_call_site`` warning.
        """
        cached = self._call_site_methods.get(call_site_idx)
        if cached is not None:
            return cached
        result: list[int] = []
        off = int(self._call_site_offs[self._index(call_site_idx, len(self._call_site_offs), "call site")])
        try:
            values, _ = self.read_encoded_array(off)
            for kind, value in values:
                if kind == 0x16 and value < len(self._method_handles):
                    handle_type, member = (
                        int(self._method_handles[value][0]) & 0xFFFF,
                        int(self._method_handles[value][1]) & 0xFFFF,
                    )
                    if handle_type >= 4 and member < len(self._method_name):  # 4..8 are invoke handles
                        result.append(member)
        except MalformedStructureError as exc:
            self._warn.add("bad_call_site", f"call site #{call_site_idx}: {exc.message}")
        cached = tuple(result)
        self._call_site_methods[call_site_idx] = cached
        return cached

    def encoded_array_strings(self, offsets: Sequence[int]) -> list[list[int] | None]:
        """Per offset, the string indices at the top level of the encoded_array there (a class's
        static initial values), or None where :meth:`read_encoded_array` finds it malformed."""
        if _accel is not None:
            found: list[list[int] | None] = _accel.encoded_array_strings(
                self._data, np.asarray(offsets, dtype=np.uint32)
            )
            return found
        out: list[list[int] | None] = []
        for off in offsets:
            try:
                values, _ = self.read_encoded_array(off)
            except (MalformedStructureError, IndexError, ValueError):
                out.append(None)
                continue
            out.append([int(v) for kind, v in values if kind == _VALUE_STRING])
        return out

    def read_encoded_array(self, off: int, depth: int = 0) -> tuple[list[tuple[int, Any]], int]:
        """Decode an encoded_array at ``off``; return ([(value_type, value), ...], next offset).

        Scalars are returned as unsigned integers (raw bits), indices as ints, arrays as lists,
        annotations as (type_idx, [(name_idx, value)]), null as None, booleans as bool.
        """
        if depth > MAX_ENCODED_DEPTH:
            raise MalformedStructureError(f"encoded values nest deeper than {MAX_ENCODED_DEPTH} levels")
        count, pos = read_uleb128(self._data, off, self.size)
        if count > self.size - pos:  # every value takes at least one byte
            raise MalformedStructureError(f"encoded_array at {off:#x} claims {count} values, more than the file holds")
        values: list[tuple[int, Any]] = []
        for _ in range(count):
            kind, value, pos = self._read_encoded_value(pos, depth)
            values.append((kind, value))
        return values, pos

    def _read_encoded_value(self, pos: int, depth: int) -> tuple[int, Any, int]:
        if pos >= self.size:
            raise MalformedStructureError("encoded_value runs past the end of the file")
        header = self._data[pos]
        pos += 1
        kind, arg = header & 0x1F, header >> 5
        if kind in (0x00, 0x02, 0x03, 0x04, 0x06, 0x10, 0x11, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B):
            width = arg + 1
            max_width = {0x00: 1, 0x02: 2, 0x03: 2, 0x04: 4, 0x10: 4}.get(kind, 8 if kind in (0x06, 0x11) else 4)
            if width > max_width:
                raise MalformedStructureError(f"encoded_value type {kind:#04x} at {pos - 1:#x} has width {width}")
            if pos + width > self.size:
                raise MalformedStructureError("encoded_value runs past the end of the file")
            return kind, int.from_bytes(self._data[pos : pos + width], "little"), pos + width
        if kind == 0x1C:
            values, pos = self.read_encoded_array(pos, depth + 1)
            return kind, values, pos
        if kind == 0x1D:
            if depth + 1 > MAX_ENCODED_DEPTH:  # annotations nest too: bound them like arrays
                raise MalformedStructureError(f"encoded values nest deeper than {MAX_ENCODED_DEPTH} levels")
            type_idx, pos = read_uleb128(self._data, pos, self.size)
            size, pos = read_uleb128(self._data, pos, self.size)
            if size > self.size - pos:
                raise MalformedStructureError(f"encoded_annotation claims {size} elements, more than the file holds")
            elements: list[tuple[int, Any]] = []
            for _ in range(size):
                name_idx, pos = read_uleb128(self._data, pos, self.size)
                _, value, pos = self._read_encoded_value(pos, depth + 1)
                elements.append((name_idx, value))
            return kind, (type_idx, elements), pos
        if kind == 0x1E:
            return kind, None, pos
        if kind == 0x1F:
            return kind, bool(arg), pos
        raise MalformedStructureError(f"unknown encoded_value type {kind:#04x} at offset {pos - 1:#x}")
