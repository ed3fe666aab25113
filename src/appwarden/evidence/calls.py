"""Sensitive API call sites: which methods of which classes reach the APIs in regs/apis.yaml.

The matching runs over a :class:`ProgramIndex`, a neutral view of all DEX code (classes,
methods, and per method its invokes, field reads and string constants with offsets). The
index is built from apk/dex in extract.py; here it is plain data, so the rules of matching
are testable with a handful of constructed methods.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from appwarden.apk.dex import PackedTexts, distinct
from appwarden.evidence.catalogs import ApiSpec
from appwarden.evidence.model import ApiCall


@dataclass(slots=True)
class MethodBody:
    """One defined method and what its code references, each with its first code-unit offset."""

    dex: str
    class_descriptor: str
    signature: str  # name(params)return, e.g. onCreate(Landroid/os/Bundle;)V
    # Readers only iterate these; extract.py shares one empty tuple among the many methods
    # without references, so replace a sequence rather than mutate one you did not create.
    invokes: Sequence[tuple[int, str]] = field(default_factory=list)  # (offset, Lcls;->name(params)ret)
    field_reads: Sequence[tuple[int, str]] = field(default_factory=list)  # (offset, Lcls;->NAME:type)
    strings: Sequence[tuple[int, str]] = field(default_factory=list)  # (offset, constant)
    #: Offsets of invoke-virtual/-interface sites (dynamic dispatch); super, direct and static
    #: invokes run exactly the named method. None means "unknown": every invoke may dispatch.
    dispatch_offsets: AbstractSet[int] | None = None
    #: Fills in references only the call graph needs (invokes and field reads of app classes)
    #: when it first walks this method; None once done or when nothing was deferred. Until then
    #: ``invokes``/``field_reads`` hold every reference any other matcher can use. See complete().
    deferred: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    @property
    def descriptor(self) -> str:
        return f"{self.class_descriptor}->{self.signature}"

    def complete(self) -> MethodBody:
        """This body with every reference in place (runs the deferred fill once); returns self."""
        fill = self.deferred
        if fill is not None:
            self.deferred = None
            fill()
        return self


#: Builds the body of a method the table holds by signature only: (class descriptor, signature, id).
MethodFactory = Callable[[str, str, int], MethodBody]


class SignatureSource(Protocol):
    """A class's unbuilt signatures, kept by whoever made them: called, the tuple (made anew each
    time); ``position``, the index of one signature in it, or -1."""

    def __call__(self) -> tuple[str, ...]: ...

    def position(self, signature: str) -> int: ...


class MethodTable(MutableMapping[str, MethodBody]):
    """A class's methods by signature, most of them not yet built.

    An app defines 10^5 methods and no matcher needs a body for most of them: only the call
    graph may walk into them, and it walks a few. The table keeps those as a DEX method id (four
    bytes each) and their signatures, given as a tuple, as a callable that makes the tuple on
    the first look-up (most classes are never looked up, so their signature strings, 5 MB on a
    large app, are never made), or as a :class:`SignatureSource` that finds one signature
    without the table keeping them all; it builds a body the first time one is looked up, and
    keeps it, so a method is always the same object.
    """

    __slots__ = ("_built", "_class", "_factory", "_find", "_ids", "_position", "_signatures")

    def __init__(
        self,
        class_descriptor: str,
        built: dict[str, MethodBody],
        signatures: tuple[str, ...] | Callable[[], tuple[str, ...]] | SignatureSource,
        ids: Sequence[int],
        factory: MethodFactory,
    ) -> None:
        self._class = class_descriptor
        self._built = built
        self._signatures = signatures
        self._find: Callable[[str], int] | None = getattr(signatures, "position", None)
        self._ids = ids
        self._factory = factory
        self._position: dict[str, int] | None = None

    def _unbuilt(self) -> tuple[str, ...]:
        """The signatures of ``_ids``, in the same order."""
        signatures = self._signatures
        if isinstance(signatures, tuple):
            return signatures
        if self._find is not None:
            return signatures()  # the source keeps them; the table does not
        signatures = self._signatures = signatures()
        return signatures

    def _lazy_position(self, signature: str) -> int:
        """Index of an unbuilt signature, or -1. Large classes get a dictionary on first use."""
        if self._find is not None:
            return self._find(signature)
        signatures = self._unbuilt()
        if len(signatures) <= 16:
            # Containment first: look-ups of inherited methods miss far more often than they hit,
            # and a miss by tuple.index costs a raised ValueError.
            return signatures.index(signature) if signature in signatures else -1
        if self._position is None:
            self._position = {sig: i for i, sig in enumerate(signatures)}
        return self._position.get(signature, -1)

    def __contains__(self, signature: object) -> bool:
        return signature in self._built or (isinstance(signature, str) and self._lazy_position(signature) >= 0)

    def __getitem__(self, signature: str) -> MethodBody:
        body = self.get(signature)
        if body is None:
            raise KeyError(signature)
        return body

    def get(self, signature: str, default: MethodBody | None = None) -> MethodBody | None:  # type: ignore[override]
        # Without the KeyError round trip of Mapping.get: the call graph asks classes for
        # methods they inherit rather than define all the time.
        body = self._built.get(signature)
        if body is not None:
            return body
        at = self._lazy_position(signature)
        if at < 0:
            return default
        body = self._built[signature] = self._factory(self._class, signature, self._ids[at])
        return body

    def __setitem__(self, signature: str, body: MethodBody) -> None:
        self._built[signature] = body

    def __delitem__(self, signature: str) -> None:
        if signature not in self:
            raise KeyError(signature)
        self._built.pop(signature, None)
        at = self._lazy_position(signature)
        if at >= 0:
            signatures = self._unbuilt()
            self._signatures = signatures[:at] + signatures[at + 1 :]
            self._find = None  # the table keeps its own tuple from now on
            self._ids = [*self._ids[:at], *self._ids[at + 1 :]]  # ids may be a view other tables share
            self._position = None

    def __iter__(self) -> Iterator[str]:
        yield from self._built
        yield from (sig for sig in self._unbuilt() if sig not in self._built)

    def __len__(self) -> int:
        return len(self._built) + sum(1 for sig in self._unbuilt() if sig not in self._built)

    def built(self) -> dict[str, MethodBody]:
        """The bodies built so far (never builds one)."""
        return self._built


@dataclass(slots=True)
class ClassInfo:
    # Slots and a shared empty tuple: an app defines 10^4..10^5 classes, alive for the whole scan.
    descriptor: str
    dex: str
    superclass: str | None = None
    interfaces: tuple[str, ...] = ()
    methods: MutableMapping[str, MethodBody] = field(default_factory=dict)
    static_strings: tuple[str, ...] = ()  # initial values of static String fields


class ClassTable:
    """One DEX's classes, compactly: a :class:`ClassInfo` is made for a class when it is looked up.

    An app defines 10^4..10^5 classes and the scan keeps them all to its end, but after indexing
    only the call graph and the hierarchy walks look classes up, and they touch a few thousand.
    A ClassInfo with its descriptor, method table and dictionaries costs about 400 bytes a class
    (more than the DEX's own bytes for the class, summed over a many-DEX app); here a class costs
    its descriptor's UTF-8 bytes and a few array slots. Rows are the classes in DEX order, each
    descriptor once (the caller leaves out classes another DEX or an earlier row defines).

    ``built`` holds, by row, the method bodies made while indexing, ``static_strings`` the
    classes' static String constants, and ``methods_of(row, descriptor, built)`` gives the
    method mapping a made ClassInfo takes (a :class:`MethodTable` over the unbuilt methods, or
    ``built`` itself); by default ``built`` itself.
    """

    __slots__ = (
        "_decoded_parents",
        "_interface_at",
        "_interface_bounds",
        "_parents",
        "_superclass_at",
        "built",
        "descriptors",
        "dex",
        "keys",
        "methods_of",
        "static_strings",
    )

    def __init__(
        self,
        dex: str,
        descriptors: Sequence[str],
        superclasses: Sequence[str | None],
        interfaces: Sequence[tuple[str, ...]],
        packed: PackedTexts | None = None,
    ) -> None:
        """``packed``, when given, is ``descriptors`` already packed (the DEX reader packs them in C)."""
        self.dex = dex
        self.descriptors = packed if packed is not None else PackedTexts.of(descriptors)
        # hash() of each descriptor: the directory finds a class by these (str caches its hash,
        # and a scan's process never compares them with another process's).
        self.keys = array("q", [hash(d) for d in descriptors])
        # Superclasses and interfaces as positions among their distinct texts: most classes
        # extend one of a few hundred.
        position: dict[str, int] = {}
        add = position.setdefault
        self._superclass_at = array("i", [-1 if s is None else add(s, len(position)) for s in superclasses])
        bounds = [0] * (len(interfaces) + 1)
        interface_at: list[int] = []
        for row, names in enumerate(interfaces, 1):
            if names:
                interface_at += [add(n, len(position)) for n in names]
            bounds[row] = len(interface_at)
        self._interface_bounds = array("I", bounds)
        self._interface_at = array("I", interface_at)
        self._parents = PackedTexts.of(position)
        self._decoded_parents: dict[int, str] = {}
        self.built: dict[int, dict[str, MethodBody]] = {}
        self.static_strings: dict[int, tuple[str, ...]] = {}
        self.methods_of: Callable[[int, str, dict[str, MethodBody]], MutableMapping[str, MethodBody]] = (
            lambda _row, _descriptor, built: built
        )

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def superclass_positions(self) -> array[int]:
        """Per row, the superclass's position among :meth:`parent_texts` (-1: none)."""
        return self._superclass_at

    @property
    def interface_positions(self) -> array[int]:
        """Interfaces' positions among :meth:`parent_texts`, row after row (see ``interface_bounds``)."""
        return self._interface_at

    @property
    def interface_bounds(self) -> array[int]:
        """Row ``r``'s interfaces are ``interface_positions[interface_bounds[r]:interface_bounds[r + 1]]``."""
        return self._interface_bounds

    def parent_texts(self) -> list[str]:
        """The distinct superclass and interface descriptors the rows name."""
        return self._parents.take(np.arange(len(self._parents)))

    def _parent(self, at: int) -> str:
        # One str per parent asked for, shared by every class made with it: most classes made
        # extend one of a few (an app's base activity), and a str each would stay with each.
        text = self._decoded_parents.get(at)
        if text is None:
            text = self._decoded_parents[at] = self._parents[at]
        return text

    def superclass(self, row: int) -> str | None:
        at = self._superclass_at[row]
        return None if at < 0 else self._parent(at)

    def interfaces(self, row: int) -> tuple[str, ...]:
        start, end = self._interface_bounds[row], self._interface_bounds[row + 1]
        return tuple(self._parent(at) for at in self._interface_at[start:end])

    def make(self, row: int, descriptor: str) -> ClassInfo:
        """The ClassInfo of ``row``; it takes over the row's built bodies (make each row once)."""
        built = self.built.pop(row, {})
        return ClassInfo(
            descriptor=descriptor,
            dex=self.dex,
            superclass=self.superclass(row),
            interfaces=self.interfaces(row),
            methods=self.methods_of(row, descriptor, built),
            static_strings=self.static_strings.get(row, ()),
        )


class ClassDirectory(MutableMapping[str, ClassInfo]):
    """Every class of the program by descriptor: ClassInfo objects put in directly, and the rows of
    :class:`ClassTable` objects, each made into a ClassInfo on first look-up and kept from then on
    (so a class is always the same object). A descriptor names one class: a table row whose
    descriptor is already here when its table is added is an error of the caller's.

    Iteration, :meth:`superclass_of`, :meth:`subclass_pairs`, :meth:`built_bodies` and
    :meth:`static_strings` read the tables without making ClassInfo objects.
    """

    def __init__(self, infos: Mapping[str, ClassInfo] | None = None) -> None:
        self._given: dict[str, ClassInfo] = dict(infos or {})
        # Numbers of given classes asked for by key_of (negative: table rows' are not).
        self._given_names: list[str] = []
        self._given_keys: dict[str, int] = {}
        self._made: dict[str, ClassInfo] = {}
        self._removed: set[str] = set()
        self._tables: list[ClassTable] = []
        # Every table row by its key (sorted), as table number << 32 | row.
        self._keys = array("q")
        self._refs = array("Q")
        # Where each bucket of keys starts (bucket: the key's top bits, about one key a bucket),
        # so a look-up reads a key or two rather than bisecting: it is the call graph's and the
        # relevance filter's most frequent operation.
        self._bucket_starts = array("I", [0, 0, 0])  # two buckets (shift 63), both empty
        self._bucket_shift = 63

    # -- look-up ---------------------------------------------------------------------------
    def _row(self, descriptor: str) -> tuple[ClassTable, int] | None:
        keys = self._keys
        h = hash(descriptor)
        bucket = (h + _KEY_OFFSET) >> self._bucket_shift
        at, end = self._bucket_starts[bucket], self._bucket_starts[bucket + 1]
        while at < end:
            if keys[at] == h:
                ref = self._refs[at]
                table, row = self._tables[ref >> 32], ref & 0xFFFFFFFF
                if table.descriptors.is_text(row, descriptor):
                    return None if descriptor in self._removed else (table, row)
            at += 1
        return None

    def get(self, descriptor: str, default: ClassInfo | None = None) -> ClassInfo | None:  # type: ignore[override]
        info = self._given.get(descriptor) or self._made.get(descriptor)
        if info is not None:
            return info
        found = self._row(descriptor) if self._keys else None
        if found is None:
            return default
        info = self._made[descriptor] = found[0].make(found[1], descriptor)
        return info

    def __getitem__(self, descriptor: str) -> ClassInfo:
        info = self.get(descriptor)
        if info is None:
            raise KeyError(descriptor)
        return info

    def __contains__(self, descriptor: object) -> bool:
        if not isinstance(descriptor, str):
            return False
        return descriptor in self._given or descriptor in self._made or self._row(descriptor) is not None

    def superclass_of(self, descriptor: str) -> tuple[str | None] | None:
        """(superclass,) of a class here, or None when there is no such class; makes no ClassInfo."""
        info = self._given.get(descriptor) or self._made.get(descriptor)
        if info is not None:
            return (info.superclass,)
        found = self._row(descriptor) if self._keys else None
        if found is None:
            return None
        return (found[0].superclass(found[1]),)

    # -- changes ---------------------------------------------------------------------------
    def __setitem__(self, descriptor: str, info: ClassInfo) -> None:
        if self._row(descriptor) is not None:
            self._removed.add(descriptor)  # the given object replaces the table's row
            self._made.pop(descriptor, None)
        self._given[descriptor] = info

    def __delitem__(self, descriptor: str) -> None:
        if descriptor in self._given:
            del self._given[descriptor]
        elif self._row(descriptor) is not None:
            self._removed.add(descriptor)
            self._made.pop(descriptor, None)
        else:
            raise KeyError(descriptor)

    def defined(self, descriptors: Sequence[str]) -> list[bool]:
        """For each descriptor, whether a class of that name is here (one sorted search for all)."""
        if not self._keys:
            return [d in self._given for d in descriptors]
        keys = np.frombuffer(self._keys, dtype=np.int64)
        wanted = np.fromiter((hash(d) for d in descriptors), dtype=np.int64, count=len(descriptors))
        at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        candidate = np.flatnonzero(keys[at] == wanted)
        found = [False] * len(descriptors)
        # The first row of each candidate's key, decoded in one batch per table: nearly always the class.
        refs = np.frombuffer(self._refs, dtype=np.uint64)[at[candidate]]
        tables, rows = (refs >> np.uint64(32)).astype(np.int64), (refs & np.uint64(0xFFFFFFFF)).astype(np.int64)
        for number in distinct(tables).tolist():
            mine = tables == number
            texts = self._tables[number].descriptors.take(rows[mine])
            for i, text in zip(candidate[mine].tolist(), texts, strict=True):
                found[i] = text == descriptors[i] and text not in self._removed
        return [
            hit or d in self._given or (bool(maybe) and d in self)
            for d, hit, maybe in zip(descriptors, found, (keys[at] == wanted).tolist(), strict=True)
        ]

    def add_table(self, table: ClassTable) -> None:
        """Add a table whose descriptors are all new here (see :meth:`defined`)."""
        number = len(self._tables)
        self._tables.append(table)
        if not len(table):
            return
        keys = np.concatenate((np.frombuffer(self._keys, dtype=np.int64), np.frombuffer(table.keys, dtype=np.int64)))
        refs = np.concatenate(
            (
                np.frombuffer(self._refs, dtype=np.uint64),
                (np.uint64(number) << np.uint64(32)) | np.arange(len(table), dtype=np.uint64),
            )
        )
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        self._keys = array("q", keys.tobytes())
        self._refs = array("Q", refs[order].tobytes())
        bits = max(1, len(keys).bit_length())
        self._bucket_shift = 64 - bits
        buckets = (keys.astype(np.uint64) ^ np.uint64(_KEY_OFFSET)) >> np.uint64(self._bucket_shift)
        starts = np.searchsorted(buckets, np.arange((1 << bits) + 1, dtype=np.uint64))
        self._bucket_starts = array("I", starts.astype(np.uint32).tobytes())

    # -- whole-program reads ---------------------------------------------------------------
    def _table_rows(self) -> Iterator[tuple[ClassTable, int, str]]:
        hidden = self._removed
        for table in self._tables:
            for row, descriptor in enumerate(table.descriptors.take(np.arange(len(table)))):
                if descriptor not in hidden:
                    yield table, row, descriptor

    def __iter__(self) -> Iterator[str]:
        for _, _, descriptor in self._table_rows():
            yield descriptor
        yield from self._given

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def key_of(self, descriptor: str) -> int:
        """A number for a class here (see :meth:`descriptor_of`): eight bytes in an array where its
        descriptor would cost a str object. Raises KeyError for a class not here."""
        if descriptor in self._given:
            key = self._given_keys.get(descriptor)
            if key is None:
                self._given_names.append(descriptor)
                key = self._given_keys[descriptor] = -len(self._given_names)
            return key
        found = self._row(descriptor) if self._keys else None
        if found is None:
            raise KeyError(descriptor)
        table, row = found
        return self._tables.index(table) << 32 | row

    def descriptor_of(self, key: int) -> str:
        """The descriptor of the class numbered ``key`` by :meth:`key_of` or :meth:`subclass_pairs`."""
        if key < 0:
            return self._given_names[-key - 1]
        return self._tables[key >> 32].descriptors[key & 0xFFFFFFFF]

    def subclass_pairs(self) -> Iterator[tuple[str, str, int]]:
        """(parent, class, the class's :meth:`key_of`) for each superclass or interface of each class
        that is itself a class here, unordered; makes no ClassInfo and decodes only the classes
        with such a parent."""
        for number, table in enumerate(self._tables):
            parent_texts = table.parent_texts()
            parent_defined = np.array([*self.defined(parent_texts), False], dtype=bool)  # [-1]: no superclass
            superclass_at = np.frombuffer(table.superclass_positions, dtype=np.int32)
            interface_at = np.frombuffer(table.interface_positions, dtype=np.uint32).astype(np.int32)
            bounds = np.frombuffer(table.interface_bounds, dtype=np.uint32)
            has_parent = parent_defined[superclass_at]
            if len(interface_at):
                owner_of_interface = np.repeat(np.arange(len(table)), np.diff(bounds))
                has_parent[owner_of_interface[parent_defined[interface_at]]] = True
            rows = np.flatnonzero(has_parent)
            for row, descriptor in zip(rows.tolist(), table.descriptors.take(rows), strict=True):
                info = self._made.get(descriptor)
                if descriptor in self._removed:
                    continue
                key = number << 32 | row
                if info is not None:
                    for parent in (info.superclass, *info.interfaces):
                        if parent and parent in self:
                            yield parent, descriptor, key
                    continue
                start, end = bounds[row], bounds[row + 1]
                for at in (int(superclass_at[row]), *interface_at[start:end].tolist()):
                    if at >= 0 and parent_defined[at]:
                        yield parent_texts[at], descriptor, key
        for descriptor, info in list(self._given.items()):
            for parent in (info.superclass, *info.interfaces):
                if parent and parent in self:
                    yield parent, descriptor, self.key_of(descriptor)

    def built_bodies(self) -> Iterator[tuple[str, Mapping[str, MethodBody]]]:
        """(descriptor, bodies built so far) of every class with a built body, unordered; builds
        and makes nothing, and decodes only the descriptors of those classes."""
        for table in self._tables:
            if not table.built:
                continue
            rows = list(table.built)
            for row, descriptor in zip(rows, table.descriptors.take(rows), strict=True):
                if descriptor not in self._removed:
                    yield descriptor, table.built[row]
        for descriptor, info in (*self._made.items(), *self._given.items()):
            bodies = _built(info.methods)
            if bodies:
                yield descriptor, bodies

    def static_strings(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        """(descriptor, static String constants) of every class that has some, unordered."""
        for table in self._tables:
            for row, strings in table.static_strings.items():
                descriptor = table.descriptors[row]
                if descriptor not in self._removed and descriptor not in self._made:
                    yield descriptor, strings
        for info in (*self._made.values(), *self._given.values()):
            if info.static_strings:
                yield info.descriptor, info.static_strings


#: hash() is signed; adding this orders keys as unsigned, so a bucket is a key's top bits.
_KEY_OFFSET = 1 << 63


def _built(methods: MutableMapping[str, MethodBody]) -> Mapping[str, MethodBody]:
    return methods.built() if isinstance(methods, MethodTable) else methods


@dataclass
class ProgramIndex:
    """All classes defined in the APK's DEX files; the first definition of a class wins (as on Android).

    ``classes`` may be given as a plain dict (hand-built programs in tests); it is kept as a
    :class:`ClassDirectory`.
    """

    classes: ClassDirectory = field(default_factory=ClassDirectory)
    #: Caller class -> classes its methods invoke, for invokes kept in no method body because only
    #: :func:`~appwarden.evidence.sdk.find_called_sdks` needs them, and it needs only the classes
    #: (extract.py records those of classes an SDK may own). Empty for hand-built programs.
    class_invokes: dict[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.classes, ClassDirectory):
            self.classes = ClassDirectory(self.classes)

    def add_class(self, info: ClassInfo) -> bool:
        if info.descriptor in self.classes:
            return False
        self.classes[info.descriptor] = info
        return True

    def methods(self) -> Iterator[MethodBody]:
        """Every method with code, in class-descriptor then signature order (deterministic)."""
        for descriptor in sorted(self.classes):
            info = self.classes[descriptor]
            for signature in sorted(info.methods):
                yield info.methods[signature]

    def built_methods(self) -> Iterator[MethodBody]:
        """Like :meth:`methods`, without building the bodies a :class:`MethodTable` holds unbuilt."""
        for _, bodies in sorted(self.classes.built_bodies(), key=lambda item: item[0]):
            for signature in sorted(bodies):
                yield bodies[signature]

    def method(self, descriptor: str) -> MethodBody | None:
        cls, _, sig = descriptor.partition("->")
        info = self.classes.get(cls)
        return info.methods.get(sig) if info else None


def descriptor_to_class(descriptor: str) -> str:
    """'Lcom/a/B;' -> 'com.a.B' (arrays and primitives are returned unchanged)."""
    if descriptor.startswith("L") and descriptor.endswith(";"):
        return descriptor[1:-1].replace("/", ".")
    return descriptor


def class_to_descriptor(name: str) -> str:
    return "L" + name.replace(".", "/") + ";"


def split_member(descriptor: str) -> tuple[str, str]:
    """'Lcls;->name(..)R' -> ('Lcls;', 'name(..)R')."""
    cls, _, member = descriptor.partition("->")
    return cls, member


#: Framework classes apps reference through a subclass or hidden implementation; invokes
#: naming the key are matched as if they named each value (see apis.yaml matching_notes).
FRAMEWORK_SUPERCLASSES: dict[str, tuple[str, ...]] = {
    "Landroid/app/ApplicationPackageManager;": ("Landroid/content/pm/PackageManager;",),
    "Landroid/content/ContextWrapper;": ("Landroid/content/Context;",),
    "Landroid/app/Activity;": ("Landroid/content/ContextWrapper;", "Landroid/content/Context;"),
    "Landroid/app/Application;": ("Landroid/content/ContextWrapper;", "Landroid/content/Context;"),
    "Landroid/app/Service;": ("Landroid/content/ContextWrapper;", "Landroid/content/Context;"),
    "Landroid/view/ContextThemeWrapper;": ("Landroid/content/ContextWrapper;", "Landroid/content/Context;"),
    "Landroid/app/ContextImpl;": ("Landroid/content/Context;",),
}

CONTENT_RESOLVER = "Landroid/content/ContentResolver;"
_RESOLVER_ACCESS = ("query(", "insert(", "update(", "delete(", "bulkInsert(", "applyBatch(", "openInputStream(")


def _superclasses(program: ProgramIndex, cls: str, limit: int = 32) -> Iterator[str]:
    """The class itself, then its superclasses (app-defined chain, then known framework parents)."""
    seen: set[str] = set()
    current: str | None = cls
    while current and current not in seen and len(seen) < limit:
        seen.add(current)
        yield current
        for parent in FRAMEWORK_SUPERCLASSES.get(current, ()):
            if parent not in seen:
                seen.add(parent)
                yield parent
        found = program.classes.superclass_of(current)  # a ClassInfo is made only for classes the walks enter
        current = found[0] if found else None


@dataclass(frozen=True)
class _SpecIndex:
    invoke: dict[str, list[ApiSpec]]  # exact descriptor -> specs
    fields: dict[str, list[ApiSpec]]
    content_uri: dict[str, list[ApiSpec]]
    strings: dict[str, list[ApiSpec]]
    class_any: dict[str, list[ApiSpec]]


def _index_specs(specs: Iterable[ApiSpec]) -> _SpecIndex:
    idx = _SpecIndex({}, {}, {}, {}, {})
    for spec in specs:
        if spec.kind == "invoke":
            idx.invoke.setdefault(spec.descriptor, []).append(spec)
        elif spec.kind == "field":
            idx.fields.setdefault(spec.descriptor, []).append(spec)
        elif spec.kind == "content_uri":
            idx.content_uri.setdefault(spec.descriptor, []).append(spec)
        elif spec.kind == "string":
            idx.strings.setdefault(spec.descriptor, []).append(spec)
        elif spec.kind == "class_any":
            idx.class_any.setdefault(split_member(spec.descriptor)[0], []).append(spec)
    return idx


def _string_reaches(spec: ApiSpec, constants: Iterable[str]) -> bool:
    """A required string argument is present as a constant in the same method."""
    for s in constants:
        for arg in spec.string_argument:
            if s == arg or s.startswith(arg):
                return True
    return False


def find_api_calls(
    program: ProgramIndex,
    specs: Iterable[ApiSpec],
    owner_of: Callable[[str], str],
) -> list[ApiCall]:
    """Every call site of a catalogued API: one record per (caller method, api), first offset.

    ``owner_of`` maps a dotted caller class name to 'app' or an SDK id. Output is sorted by
    caller class, caller method, api, so scans are byte-for-byte reproducible.
    """
    idx = _index_specs(specs)
    results: dict[tuple[str, str, str], ApiCall] = {}
    # Everything find_api_calls needs about one callee reference, decided once per reference:
    # (catalogued specs it resolves to, class_any specs of its class, is a resolver access).
    callee_facts: dict[str, tuple[list[ApiSpec], tuple[ApiSpec, ...], bool]] = {}
    nothing: tuple[list[ApiSpec], tuple[ApiSpec, ...], bool] = ([], (), False)

    # Catalogued member names per class: most callees' classes have none, so their superclass
    # chain is walked only when some class on it can match (decided once per class).
    members_of: dict[str, set[str]] = {}
    for descriptor in idx.invoke:
        owner_cls, member_name = split_member(descriptor)
        members_of.setdefault(owner_cls, set()).add(member_name)
    chains: dict[str, tuple[str, ...]] = {}

    def facts_of(callee: str) -> tuple[list[ApiSpec], tuple[ApiSpec, ...], bool]:
        cls, member = split_member(callee)
        found: list[ApiSpec] = []
        chain = chains.get(cls)
        if chain is None:
            chain = chains[cls] = tuple(c for c in _superclasses(program, cls) if c in members_of)
        for candidate in chain:
            if member in members_of[candidate]:
                found.extend(idx.invoke[f"{candidate}->{member}"])
                break
        resolver = cls == CONTENT_RESOLVER and member.startswith(_RESOLVER_ACCESS)
        any_specs = tuple(idx.class_any.get(cls, ()))
        facts = (found, any_specs, resolver) if found or any_specs or resolver else nothing
        callee_facts[callee] = facts
        return facts

    owners: dict[str, str] = {}
    for method in program.methods():
        if not (method.invokes or method.field_reads or method.strings):
            continue  # nothing to match; skips the owner look-up too
        constants = [s for _, s in method.strings]
        hits: list[tuple[ApiSpec, str, int, str]] = []  # spec, kind, offset, api text
        resolver_calls = False
        for offset, callee in method.invokes:
            facts = callee_facts.get(callee)
            if facts is None:
                facts = facts_of(callee)
            if facts is nothing:
                continue
            invoke_specs, any_specs, resolver = facts
            resolver_calls = resolver_calls or resolver
            for spec in invoke_specs:
                if spec.string_argument and not _string_reaches(spec, constants):
                    continue
                hits.append((spec, "invoke", offset, spec.descriptor))
            for spec in any_specs:
                hits.append((spec, "class_any", offset, spec.descriptor))
        for offset, fld in method.field_reads:
            for spec in idx.fields.get(fld, ()):
                hits.append((spec, "field", offset, spec.descriptor))
            for spec in idx.content_uri.get(fld, ()):
                if resolver_calls:
                    hits.append((spec, "content_uri", offset, spec.descriptor))
            for spec in idx.class_any.get(split_member(fld)[0], ()):
                hits.append((spec, "class_any", offset, spec.descriptor))
        for offset, constant in method.strings:
            for spec in idx.strings.get(constant, ()):
                hits.append((spec, "string", offset, spec.descriptor))
            if constant.startswith("content://"):
                # A URI string with a path (content://sms/inbox) counts for its catalogued root.
                for root, root_specs in idx.strings.items():
                    if root.startswith("content://") and constant != root and constant.startswith(root + "/"):
                        for spec in root_specs:
                            hits.append((spec, "string", offset, spec.descriptor))
        if not hits:
            continue
        caller_class = descriptor_to_class(method.class_descriptor)
        owner = owners.get(caller_class)
        if owner is None:
            owner = owners[caller_class] = owner_of(caller_class)
        uri_pi = sorted({t for spec, kind, _, _ in hits if kind == "content_uri" for t in spec.pi_types})
        for spec, kind, offset, api in hits:
            key = (method.descriptor, api, kind)
            if key in results and results[key].offset <= offset:
                continue
            confidence = spec.confidence
            if kind == "string" and api.startswith("content://") and not resolver_calls:
                confidence = "medium"  # the URI is present, no resolver access seen in the same method
            pi_types = list(spec.pi_types)
            if kind == "invoke" and uri_pi and api.startswith(CONTENT_RESOLVER + "->"):
                # The catalogued URI read in this method reaches the resolver call: it collects that PI.
                pi_types = sorted(set(pi_types) | set(uri_pi))
            results[key] = ApiCall(
                api=api,
                kind=kind,
                pi_types=pi_types,
                owner=owner,
                caller_class=caller_class,
                caller_method=method.signature,
                dex=method.dex,
                offset=offset,
                confidence=confidence,
            )
    return sorted(results.values(), key=lambda c: (c.caller_class, c.caller_method, c.api, c.kind))
