"""One APK -> :class:`Evidence`.

This is the only module of the evidence stage that touches apk/ readers. It reads each
structure once, turns it into the plain inputs the fact modules take (manifest tree,
:class:`ProgramIndex`, file lists), and assembles the Evidence record. Problems that do not
stop the scan (one corrupt classes3.dex, an unreadable resources.arsc) become
``ParseWarning`` records; hostile containers propagate the apk layer's errors.

Speed: DEX code is read as numpy tables of (caller, opcode, index, offset) rows. Which rows
matter is decided once per referenced class or string (:class:`CodeRelevance`), never per
instruction; invokes that only tell which SDKs app code calls are kept as class pairs
(``ProgramIndex.class_invokes``). Only methods with references a matcher keeps get a body up
front; the others sit in a :class:`~appwarden.evidence.calls.MethodTable` and rows only the
call graph needs become Python objects for the methods it walks (``MethodBody.deferred`` and
unbuilt table entries). Output is identical to indexing every reference
(tests/evidence/test_extract_relevance.py compares both paths).

The matchers see only the methods that have references (:class:`_MatchedProgram`), and the
cyclic garbage collector is paused for the scan (:func:`_no_cyclic_gc`);
tests/evidence/test_extract_fast_paths.py checks the Evidence is byte-identical with all of
that turned off.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import gc
import hashlib
import re
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from appwarden import ENGINE_VERSION
from appwarden.allocator import release_free_heap
from appwarden.apk.arsc import ResourceTable
from appwarden.apk.axml import parse_axml
from appwarden.apk.dex import (
    INVOKE_OPCODES,
    OP_CONST_STRING,
    OP_CONST_STRING_JUMBO,
    DeflatedArrays,
    DexFile,
    DexLimits,
    PackedTexts,
    TextPieces,
    deflated_in_blocks,
    distinct,
    expand_texts,
    join_texts,
    member_of,
)
from appwarden.apk.signing import read_signers
from appwarden.apk.zip import ApkArchive, ZipEntry, ZipLimits
from appwarden.errors import LimitExceededError, MalformedStructureError, UnreadableInputError
from appwarden.evidence import manifest as mf
from appwarden.evidence.callgraph import early_entry_points, early_paths
from appwarden.evidence.calls import (
    CONTENT_RESOLVER,
    FRAMEWORK_SUPERCLASSES,
    ClassDirectory,
    ClassTable,
    MethodBody,
    MethodFactory,
    MethodTable,
    ProgramIndex,
    descriptor_to_class,
    find_api_calls,
    split_member,
)
from appwarden.evidence.catalogs import ApiSpec, SdkCatalog, api_specs, permission_table, sdk_catalog
from appwarden.evidence.endpoints import (
    MAX_ASSET_BYTES,
    MAX_ASSETS,
    MAX_ENDPOINTS,
    TEXT_ASSET_SUFFIXES,
    DomainIndex,
    collect_endpoints,
)
from appwarden.evidence.hardening import CODE_HIDING_CLASSES, hardening_facts
from appwarden.evidence.model import (
    APP_OWNER,
    DexSummary,
    Evidence,
    Identity,
    NativeLib,
    ParseWarning,
    Signer,
)
from appwarden.evidence.permissions import implied_permissions, read_permissions
from appwarden.evidence.policy_signals import (
    POLICY_DIRS,
    POLICY_HEAD_BYTES,
    POLICY_NAME_PATTERN,
    PackagedFile,
    decode_text,
    policy_signals,
)
from appwarden.evidence.sdk import SdkDetector, build_sdk_matches, find_called_sdks, find_init_sites

ProgressCallback = Callable[[str], None]

_DEX_NAME = re.compile(r"^classes(\d*)\.dex$")
_NATIVE_LIB = re.compile(r"^lib/([^/]+)/([^/]+\.so)$")
# Field opcodes that read (iget*, sget*); writes do not collect anything.
_FIELD_READ_OPS = frozenset({*range(0x52, 0x59), *range(0x60, 0x67)})
_FIELD_READ_OPS_ARRAY = np.array(sorted(_FIELD_READ_OPS), dtype=np.uint32)
#: What read_dex has the DEX scan keep: invokes, field reads and const-strings (of wanted strings).
_SELECTED_OPS = frozenset({*INVOKE_OPCODES, *_FIELD_READ_OPS, OP_CONST_STRING, OP_CONST_STRING_JUMBO})
_INVOKE_CUSTOM_MIN = 0xFC
# invoke-virtual, invoke-interface and their /range forms: the only invokes that dispatch.
_DISPATCH_OPS = frozenset({0x6E, 0x72, 0x74, 0x78})
_DISPATCH_OPS_ARRAY = np.array(sorted(_DISPATCH_OPS), dtype=np.uint32)
# Shared by every method body without references or dispatching invokes (most of them): readers
# only iterate these, and the call graph's fill replaces them instead of mutating them.
_NO_REFERENCES: tuple[tuple[int, str], ...] = ()
_NO_DISPATCH: frozenset[int] = frozenset()


@dataclass(frozen=True)
class ScanLimits:
    """Resource limits for one scan (container, DEX, and how much of assets is read)."""

    zip: ZipLimits = field(default_factory=ZipLimits)
    dex: DexLimits = field(default_factory=DexLimits)
    max_asset_bytes: int = MAX_ASSET_BYTES
    max_assets: int = MAX_ASSETS
    max_policy_document_bytes: int = 8 * 2**20


class ArscResolver:
    """ValueResolver backed by resources.arsc."""

    def __init__(self, table: ResourceTable) -> None:
        self.table = table

    def text(self, value: object, locale: str | None = None) -> str | None:
        if mf.is_reference(value):
            ref_id = getattr(value, "id", 0)
            try:
                resolved: Any = self.table.resolve(ref_id, locale)
            except MalformedStructureError:
                return None
            if resolved is None or mf.is_reference(resolved):
                return None
            value = resolved
        return mf.LiteralResolver().text(value)

    def reference_name(self, value: object) -> str | None:
        ref_id = getattr(value, "id", None)
        if not isinstance(ref_id, int):
            return None
        name = self.table.name_of(ref_id)
        return f"@{name}" if name else f"@0x{ref_id:08x}"


class ManifestValues:
    """ValueResolver for one manifest: every resource reference it holds, resolved up front.

    The parsed resources.arsc (each configuration of each entry: 4 MB on an app with fifty
    locales) would otherwise stay alive while the code is indexed, which is when a scan's
    memory peaks; a manifest holds a few hundred references at most.
    """

    def __init__(self, root: mf.ManifestElement, resolver: mf.ValueResolver) -> None:
        self._texts: dict[object, str | None] = {}
        self._names: dict[object, str | None] = {}
        pending = [root]
        while pending:
            element = pending.pop()
            for value in (element.attributes or {}).values():
                if mf.is_reference(value) and value not in self._names:
                    self._names[value] = resolver.reference_name(value)
                    self._texts[value] = resolver.text(value)
            pending.extend(element.children or ())

    def text(self, value: object, locale: str | None = None) -> str | None:
        """The default configuration's text; only that one was resolved up front."""
        if locale is not None:
            raise ValueError("ManifestValues holds the default configuration only")
        if not mf.is_reference(value):
            return mf.LiteralResolver().text(value)
        return self._texts.get(value)

    def reference_name(self, value: object) -> str | None:
        if value in self._names:
            return self._names[value]
        return mf.LiteralResolver().reference_name(value)


def _dex_order(name: str) -> int:
    m = _DEX_NAME.match(name)
    assert m is not None
    return int(m.group(1) or "1")


def _code_like(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return "dex" in name or name.endswith((".jar", ".apk", ".odex", ".zip", ".dat", ".bin"))


def _first_bytes(archive: ApkArchive, entry: ZipEntry, count: int) -> bytes:
    buf = bytearray()
    for chunk in archive.iter_read(entry, chunk_bytes=count):
        buf += chunk
        if len(buf) >= count:
            break
    return bytes(buf[:count])


@dataclass(frozen=True)
class CodeRelevance:
    """Which code references the evidence facts can use; :func:`index_dex` leaves out the rest.

    Decided once per referenced class or string (10^4..10^5 of them) rather than per
    instruction (10^6): an invoke or field read is kept when the class it names passes
    ``keep_class``; a const-string when its data contains one of the needles. Every fact module
    (api calls, SDK init and use, code hiding, call graph, endpoints, consent strings) only ever
    matches references that pass, so the facts are the same as from a full index.
    """

    keep_class: Callable[[str], bool]
    #: Classes an SDK may own: invokes of them matter to find_called_sdks by class pair only
    #: (ProgramIndex.class_invokes), so they are not kept in method bodies for that.
    sdk_class: Callable[[str], bool]
    #: Classes an SDK owns whatever is detected (a catalogued prefix matches): callers
    #: find_called_sdks skips, so their class pairs are not recorded.
    sdk_owned: Callable[[str], bool]
    #: Which of these classes the APK defines: references to them matter only to the call graph,
    #: which reads them when it walks a method (MethodBody.deferred), so they are not
    #: materialised up front. Asked for a DEX's referenced classes at once.
    defines: Callable[[Sequence[str]], list[bool]]
    string_needles: tuple[bytes, ...]
    string_needles_ignore_case: tuple[bytes, ...]
    #: Drops the per-class verdicts (they hold a descriptor string for every class any DEX so far
    #: referenced); per-package ones stay. Called between DEX files.
    forget_classes: Callable[[], None]


def mutf8(text: str) -> bytes:
    """The MUTF-8 bytes DEX string data holds for ``text`` (NUL as C0 80, astral chars as surrogate pairs)."""
    if text.isascii() and "\0" not in text:
        return text.encode("ascii")
    out = bytearray()
    for char in text:
        code = ord(char)
        if code == 0:
            out += b"\xc0\x80"
        elif code > 0xFFFF:
            code -= 0x10000
            for unit in (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)):
                out += chr(unit).encode("utf-8", "surrogatepass")
        else:
            out += char.encode("utf-8", "surrogatepass")
    return bytes(out)


def code_relevance(
    specs: Iterable[ApiSpec], catalog: SdkCatalog, detector: SdkDetector, defined: Mapping[str, Iterable[str]]
) -> CodeRelevance:
    """The references extract_evidence's fact modules can match (see :class:`CodeRelevance`).

    Catalogued API, init-API, class-loader and reflection classes are kept for their matchers;
    invokes of any class an SDK could own are recorded by class pair for ``find_called_sdks``. ``defined`` maps the descriptor of
    every class the APK defines to the superclasses its definitions name: the call graph follows
    all of them, and find_api_calls those whose superclass chain reaches a catalogued API class.
    """
    spec_list = list(specs)
    named: set[str] = set()
    named.update(split_member(s.descriptor)[0] for s in spec_list if s.kind != "string")
    named.update(FRAMEWORK_SUPERCLASSES)  # resolved to catalogued parents by find_api_calls
    named.add(CONTENT_RESOLVER)
    named.update(api.class_descriptor for api in catalog.init_apis)
    named.update(CODE_HIDING_CLASSES)
    api_classes = {split_member(s.descriptor)[0] for s in spec_list if s.kind == "invoke"}
    verdicts: dict[str, bool] = {}
    # Classes known not to reach a catalogued API class through their superclasses. Every class a
    # failed walk visited is one (had any reached one, the walk would have), and later walks stop
    # there: an app's classes share long superclass chains (10^4 classes, a few hundred roots).
    dead_ends: set[str] = set()

    def inherits_api(descriptor: str, supers: Iterable[str]) -> bool:
        # Every class find_api_calls' _superclasses can visit from here (any definition's
        # superclass, plus FRAMEWORK_SUPERCLASSES parents), without its length limit: a superset.
        seen: set[str] = set()
        stack = [descriptor]
        while stack:
            current = stack.pop()
            if current in seen or current in dead_ends:
                continue
            seen.add(current)
            if current in api_classes or not api_classes.isdisjoint(FRAMEWORK_SUPERCLASSES.get(current, ())):
                return True
            stack.extend(supers if current is descriptor else defined.get(current, ()))
        dead_ends.update(seen)
        return False

    def keep_class(descriptor: str) -> bool:
        verdict = verdicts.get(descriptor)
        if verdict is None:
            verdict = descriptor in named
            if not verdict:
                supers = defined.get(descriptor)  # None: not defined
                verdict = supers is not None and inherits_api(descriptor, supers)
            verdicts[descriptor] = verdict
        return verdict

    # Each verdict is decided once per class (or package) for the whole APK: every DEX references
    # the same framework types, and nearly every class is decided by its package alone.
    @functools.cache
    def package_ownership(package: str) -> str:
        return detector.package_ownership(package.replace("/", "."))

    def ownership_of_package(descriptor: str) -> str:
        cut = descriptor.rfind("/")
        if cut <= 1 or descriptor[0] != "L" or descriptor[-1] != ";":
            return "some"  # no package to decide by
        return package_ownership(descriptor[1:cut])

    @functools.cache
    def sdk_class(descriptor: str) -> bool:
        ownership = ownership_of_package(descriptor)
        return ownership in ("sdk", "all") or (
            ownership == "some" and detector.may_own(descriptor_to_class(descriptor))
        )

    @functools.cache
    def sdk_owned(descriptor: str) -> bool:
        # A catalogued prefix matches: owner_of names an SDK whatever is detected, so the class's
        # invokes are never app code calling an SDK.
        ownership = ownership_of_package(descriptor)
        return ownership == "sdk" or (
            ownership == "some" and detector.prefixes.match(descriptor_to_class(descriptor)) is not None
        )

    def forget_classes() -> None:
        verdicts.clear()
        dead_ends.clear()
        sdk_class.cache_clear()
        sdk_owned.cache_clear()

    texts = {"://", *CONSENT_MARKERS}
    texts.update(s.descriptor for s in spec_list if s.kind == "string")
    texts.update(arg for s in spec_list for arg in s.string_argument)
    return CodeRelevance(
        keep_class=keep_class,
        sdk_class=sdk_class,
        sdk_owned=sdk_owned,
        # ``defined`` itself: a frozenset copy would hold a second table of 10^4..10^5 entries for
        # the whole scan.
        defines=lambda descriptors: [d in defined for d in descriptors],
        string_needles=tuple(sorted(mutf8(t) for t in texts if t)),
        string_needles_ignore_case=tuple(sorted(mutf8(t) for t in CONSENT_MARKERS_IGNORE_CASE)),
        forget_classes=forget_classes,
    )


def index_dex(dex: DexFile, program: ProgramIndex, relevance: CodeRelevance | None = None) -> tuple[int, int]:
    """Add one DEX file's classes and code references to ``program``; return (classes, methods with code).

    With ``relevance`` only the references it keeps are recorded (and only those strings are
    decoded); without, every invoke, field read and const-string is.
    """
    return read_dex(dex, program, relevance)()


def read_dex(
    dex: DexFile, program: ProgramIndex, relevance: CodeRelevance | None = None
) -> Callable[[], tuple[int, int]]:
    """:func:`index_dex` in two steps: read what the DEX holds now, build the method bodies on call.

    The returned step holds nothing of the DexFile: a caller that drops the DEX between the two
    (the bytes, tables and decoded names: twice the DEX's size) builds the bodies, the largest
    Python structure of a scan, without them. It also adds the DEX's new classes to ``program``.
    """
    table = dex.method_table()
    dex.release_pages()  # debug info and annotations: never read
    string_filter: set[int] | None = None
    if relevance is not None:
        string_filter = set(
            dex.strings_containing_any(relevance.string_needles, relevance.string_needles_ignore_case).tolist()
        )
        # Only the rows a matcher or the call graph can use are scanned into tables: field writes,
        # const-class and the const-strings of other strings are never held (a third of the rows).
        refs = dex.selected_references(_SELECTED_OPS, np.fromiter(string_filter, dtype=np.int64))
    else:
        refs = dex.code_references()
    dex.release_pages()  # the code: scanned
    # The class objects and their names are made once the code pages are gone: made before the
    # scan, they would sit beside all of the DEX and the scanner's tables, a DEX's peak.
    classes = class_rows(dex.name, list(dex.class_headers()), program.classes, dex.class_descriptor_pack)
    # (class position, method id) of each method with code
    with_code = np.ascontiguousarray(table[table[:, 4] != 0][:, [0, 2]])
    _read_static_strings(dex, classes.table, classes.static_values, string_filter)

    invokes = all_invokes = refs.invokes.rows
    fields = refs.fields.rows
    strings = refs.strings.rows
    if relevance is None:
        fields = fields[member_of(refs.fields.opcode, _FIELD_READ_OPS_ARRAY)]
    # graph_*: every row anyone uses (matchers and call graph); invokes/fields: the matchers' rows.
    graph_invokes, graph_fields = invokes, fields
    deferred_callers: npt.NDArray[Any] = np.zeros(0, dtype=np.uint32)
    class_invokes: dict[str, frozenset[str]] = {}
    if relevance is not None:
        # The selected scan is not cached on the DEX: its tables go with these names (the invoke
        # table, all_invokes, once the SDK class pairs below are read from it).
        del refs
        eager, graph = _kept_members(dex, invokes, relevance, dex.method_class_types(), custom_ok=True)
        graph = _first_of_each(invokes, graph, _target_and_dispatch)
        graph_invokes, invokes, late_invokes = invokes[eager | graph], invokes[eager], invokes[graph, 0]
        eager, graph = _kept_members(dex, fields, relevance, dex.field_class_types(), custom_ok=False)
        field_classes = dex.field_class_types()
        graph = _first_of_each(fields, graph, lambda rows: field_classes[rows[:, 2]])
        graph_fields, fields, late_fields = fields[eager | graph], fields[eager], fields[graph, 0]
        deferred_callers = distinct(np.concatenate((late_invokes, late_fields)))  # callers of graph-only rows
        del late_invokes, late_fields
        defined_callers = with_code[member_of(with_code[:, 0], classes.positions), 1]
        class_invokes = _sdk_class_invokes(dex, all_invokes, defined_callers, relevance)
        del all_invokes  # everything below reads the kept copies

    plain_targets = distinct(graph_invokes[graph_invokes[:, 1] < _INVOKE_CUSTOM_MIN][:, 2])
    # Signatures of the defined methods and of the invoked ones as (name, proto) pieces, decoded
    # in one batch so that both share each name and proto; joined only for the bodies built now
    # and the references read now: most signatures are never read.
    (names, name_at), (protos, proto_at) = dex.method_signature_parts(np.concatenate((with_code[:, 1], plain_targets)))
    defined = len(with_code)
    signature_parts = ((names, name_at[:defined]), (protos, proto_at[:defined]))
    target_parts = ((names, name_at[defined:]), (protos, proto_at[defined:]))
    # The text of every reference anyone may read, as pieces the DEX's own tables share; joined
    # only for the rows read now and for the methods the call graph walks (few of them).
    class_pieces = dex.method_class_pieces(plain_targets)
    method_texts = _ReferenceTexts(plain_targets, (class_pieces, *target_parts), ("->", ""))
    field_targets = distinct(graph_fields[:, 2])
    field_texts = _ReferenceTexts(field_targets, dex.field_descriptor_parts(field_targets), ("->", ":"))

    def method_descriptor(idx: int) -> str:
        return method_texts.get(idx) or dex.method_ref(idx).descriptor()  # a call site's method may be new

    # The last texts that need the DEX: the methods behind invoke-custom call sites and the
    # kept const-strings. Everything after that is built once the DEX is gone.
    call_site_texts = {
        t: [method_descriptor(m) for m in dex.call_site_methods(t)]
        for t in distinct(graph_invokes[graph_invokes[:, 1] >= _INVOKE_CUSTOM_MIN][:, 2]).tolist()
    }
    string_ids = distinct(strings[:, 2])
    string_texts = dict(zip(string_ids.tolist(), (dex.string(i) for i in string_ids.tolist()), strict=True))
    texts = _DexTexts(method_texts, field_texts, call_site_texts, string_texts)
    return functools.partial(
        _build_bodies,
        program,
        classes,
        class_invokes,
        with_code,
        signature_parts,
        _KeptRows(invokes, fields, strings, graph_invokes, graph_fields),
        texts,
        None if relevance is None else deferred_callers,
    )


@dataclass(frozen=True)
class ClassRows:
    """The classes one DEX adds to a program: ``table`` (one row per new class), ``positions`` (each
    row's class_defs position), ``static_values`` ((row, static_values_off) of rows with static
    initial values) and ``class_count`` (every class_def, new or not)."""

    table: ClassTable
    positions: npt.NDArray[np.int64]
    static_values: list[tuple[int, int]]
    class_count: int


def class_rows(
    dex_name: str,
    headers: list[tuple[int, str, str | None, tuple[str, ...], int]],
    known: ClassDirectory,
    pack: Callable[[npt.NDArray[np.int64]], PackedTexts] | None = None,
) -> ClassRows:
    """The classes among ``headers`` (DexFile.class_headers) that ``known`` lacks, first class_def
    of a descriptor only, as Android loads them; ``pack`` (DexFile.class_descriptor_pack) packs
    their descriptors from the DEX by class_defs position."""
    already = known.defined([descriptor for _, descriptor, _, _, _ in headers])
    positions: list[int] = []
    descriptors: list[str] = []
    superclasses: list[str | None] = []
    interfaces_of: list[tuple[str, ...]] = []
    static_values: list[tuple[int, int]] = []
    seen: set[str] = set()
    for (pos, descriptor, superclass, interfaces, static_values_off), defined_before in zip(
        headers, already, strict=True
    ):
        if defined_before or descriptor in seen:
            continue  # an earlier DEX (or class_def) defines it; Android loads that one
        seen.add(descriptor)
        if static_values_off:
            static_values.append((len(descriptors), static_values_off))
        positions.append(pos)
        descriptors.append(descriptor)
        superclasses.append(superclass)
        interfaces_of.append(interfaces)
    at = np.array(positions, dtype=np.int64)
    table = ClassTable(dex_name, descriptors, superclasses, interfaces_of, None if pack is None else pack(at))
    return ClassRows(table, at, static_values, len(headers))


@dataclass(frozen=True)
class _KeptRows:
    """One DEX's kept reference rows (caller, opcode, target, offset), in code order: the matchers'
    (``invokes``, ``fields``, ``strings``) and those the call graph may also read (``graph_*``)."""

    invokes: npt.NDArray[np.uint32]
    fields: npt.NDArray[np.uint32]
    strings: npt.NDArray[np.uint32]
    graph_invokes: npt.NDArray[np.uint32]
    graph_fields: npt.NDArray[np.uint32]


@dataclass(frozen=True)
class _DexTexts:
    """The texts of one DEX's kept references, taken while the DEX was open: invoke and field
    targets as pieces, invoke-custom call sites' methods and const-strings by id."""

    methods: _ReferenceTexts
    fields: _ReferenceTexts
    call_sites: dict[int, list[str]]
    strings: dict[int, str]


def _method_references(rows: _KeptRows, texts: _DexTexts) -> _MethodReferences:
    """What the matchers read of each method, from the kept rows and their texts.

    Rows are grouped by caller in code order: texts are resolved once per distinct reference
    and handed to each method as one slice, so the per-row work stays in C. Each method's
    lists are built before its body, which then holds them (or shared empties) as they are.
    """
    invokes, method_texts = rows.invokes, texts.methods
    custom_callers = distinct(invokes[invokes[:, 1] >= _INVOKE_CUSTOM_MIN][:, 0])
    slow = member_of(invokes[:, 0], custom_callers)
    plain = invokes[~slow]
    pairs = _offset_texts(plain, method_texts.many)
    is_dispatch = member_of(plain[:, 1], _DISPATCH_OPS_ARRAY)
    dispatching_callers = set(distinct(plain[is_dispatch][:, 0]).tolist())
    dispatch = plain[:, 3].tolist()
    dispatch_mask = is_dispatch.tolist()
    invokes_of: dict[int, list[tuple[int, str]]] = {}
    dispatch_of: dict[int, set[int]] = {}
    for caller, a, b in _segments(plain[:, 0]):
        invokes_of[caller] = pairs[a:b]
        if caller in dispatching_callers:
            dispatch_of[caller] = {o for o, d in zip(dispatch[a:b], dispatch_mask[a:b], strict=True) if d}
    for caller, opcode, target, offset in invokes[slow].tolist():
        calls = invokes_of.setdefault(caller, [])
        if opcode >= _INVOKE_CUSTOM_MIN:
            calls.extend((offset, text) for text in texts.call_sites[target])
        else:
            calls.append((offset, method_texts[target]))
            if opcode in _DISPATCH_OPS:
                dispatch_of.setdefault(caller, set()).add(offset)

    field_reads_of: dict[int, list[tuple[int, str]]] = {}
    strings_of: dict[int, list[tuple[int, str]]] = {}
    string_texts = texts.strings
    describe_strings: Callable[[list[int]], list[str]] = lambda idxs: [string_texts[i] for i in idxs]  # noqa: E731
    for table_rows, describe, found in (
        (rows.fields, texts.fields.many, field_reads_of),
        (rows.strings, describe_strings, strings_of),
    ):
        row_texts = _offset_texts(table_rows, describe)
        for caller, a, b in _segments(table_rows[:, 0]):
            found[caller] = row_texts[a:b]
    return _MethodReferences(invokes_of, field_reads_of, strings_of, dispatch_of)


@dataclass(frozen=True)
class _MethodReferences:
    """What the matchers read of each method (by method id): reference lists and dispatch offsets."""

    invokes: dict[int, list[tuple[int, str]]]
    field_reads: dict[int, list[tuple[int, str]]]
    strings: dict[int, list[tuple[int, str]]]
    dispatch: dict[int, set[int]]


def _build_bodies(
    program: ProgramIndex,
    classes: ClassRows,
    class_invokes: dict[str, frozenset[str]],
    method_rows: npt.NDArray[np.uint32],
    signature_parts: tuple[TextPieces, TextPieces],
    rows: _KeptRows,
    texts: _DexTexts,
    deferred_callers: npt.NDArray[Any] | None,
) -> tuple[int, int]:
    """The second step of :func:`read_dex`: each defined method's body, then the DEX's classes
    into ``program``.

    ``method_rows`` are (class position, method id) of each method with code, ``signature_parts``
    the (name, proto) pieces of their signatures; without ``deferred_callers`` (no relevance
    filter) every body is built now.
    """
    table = classes.table
    references = _method_references(rows, texts)
    fill, columns = _call_graph_fill(rows.graph_invokes, rows.graph_fields, texts)
    invokes_of, field_reads_of = references.invokes, references.field_reads
    strings_of, dispatch_of = references.strings, references.dispatch
    largest = int(classes.positions.max()) if len(classes.positions) else -1
    size = max(int(method_rows[:, 0].max()) + 1 if len(method_rows) else 0, largest + 1)
    row_of = np.full(size, -1, dtype=np.int64)
    row_of[classes.positions] = np.arange(len(classes.positions))
    is_defined = row_of[method_rows[:, 0]] >= 0 if len(method_rows) else np.zeros(0, dtype=bool)
    defined_count = int(is_defined.sum())
    if deferred_callers is None:
        deferred_callers = np.zeros(0, dtype=np.uint32)
        built = is_defined
    else:
        # Only bodies some matcher reads are built now; the call graph builds the rest on demand.
        eager_callers = np.fromiter({*invokes_of, *field_reads_of, *strings_of}, dtype=np.int64)
        built = is_defined & member_of(method_rows[:, 1], eager_callers)
        if not built.all():
            built |= is_defined & _in_classes_with_repeated_signatures(method_rows[:, 0], signature_parts)
    deferred = member_of(method_rows[:, 1], deferred_callers).tolist() if len(method_rows) else []
    bodies: dict[int, MethodBody] = {}
    (names, name_at), (protos, proto_at) = signature_parts
    built_rows = np.flatnonzero(built)
    built_signatures = join_texts(names, protos, name_at[built_rows], proto_at[built_rows], "")
    # The descriptors of the classes with bodies, decoded once each and shared by their bodies.
    owner_rows = distinct(row_of[method_rows[built_rows, 0]]) if len(built_rows) else np.zeros(0, dtype=np.int64)
    owner_descriptors = dict(zip(owner_rows.tolist(), table.descriptors.take(owner_rows), strict=True))
    row_list = row_of.tolist()
    for i, signature in zip(built_rows.tolist(), built_signatures, strict=True):
        pos, method_idx = method_rows[i].tolist()
        row = row_list[pos]
        defined = MethodBody(
            table.dex,
            owner_descriptors[row],
            signature,
            invokes_of.get(method_idx, _NO_REFERENCES),
            field_reads_of.get(method_idx, _NO_REFERENCES),
            strings_of.get(method_idx, _NO_REFERENCES),
            dispatch_of.get(method_idx, _NO_DISPATCH),
        )
        class_bodies = table.built.get(row)
        if class_bodies is None:
            class_bodies = table.built[row] = {}
        class_bodies[signature] = defined
        if deferred[i]:
            bodies[method_idx] = defined
    unbuilt = np.flatnonzero(is_defined & ~built)
    if len(deferred_callers) or len(unbuilt):
        for caller, body in bodies.items():  # the built bodies among deferred_callers
            body.deferred = _DeferredFill(fill, body, caller)
        if len(unbuilt):
            unbuilt_parts = ((names, name_at[unbuilt]), (protos, proto_at[unbuilt]))
            _add_unbuilt_methods(table, row_of, method_rows[unbuilt], unbuilt_parts, fill)
    # What stays of this DEX's names and prototypes is read again only if the call graph walks
    # into the DEX: deflated until then (most DEX files of a large app it never enters).
    for kept, _ in signature_parts:
        if isinstance(kept, PackedTexts):
            kept.compress()
    texts.methods.compress()
    texts.fields.compress()
    columns.compress()
    program.classes.add_table(table)
    program.class_invokes.update(class_invokes)
    return classes.class_count, defined_count


#: Rows per slice when reading SDK class pairs and when keeping the first of each call-graph row
#: (each slice's copies are alive at the largest DEX's peak: 8192 rows cost 0.3 MB, against 1.3 MB
#: for 32768, for the same time).
_SLICE_ROWS = 1 << 13


def _sdk_class_invokes(
    dex: DexFile, invokes: npt.NDArray[np.uint32], callers: npt.NDArray[np.uint32], relevance: CodeRelevance
) -> dict[str, frozenset[str]]:
    """Caller class -> SDK-ownable classes it invokes, over the (non-custom) invokes of ``callers``.

    Decided per distinct (caller class, callee class) pair, never per instruction: an app has
    10^5 such invokes but a few thousand pairs. Callers an SDK owns whatever is detected are left
    out: find_called_sdks reads only the pairs of app-owned callers.
    """
    kept = (invokes[:, 1] < _INVOKE_CUSTOM_MIN) & member_of(invokes[:, 0], callers)
    if not kept.any():
        return {}
    class_types = dex.method_class_types()
    # One int64 key per invoke, a slice of rows at a time: this runs beside the largest DEX's
    # other tables, and a slice's distinct pairs are far fewer than its rows.
    found: list[npt.NDArray[np.int64]] = []
    for start in range(0, len(invokes), _SLICE_ROWS):
        rows = invokes[start : start + _SLICE_ROWS][kept[start : start + _SLICE_ROWS]]
        keys = class_types[rows[:, 0]].astype(np.int64)
        keys <<= 32
        keys |= class_types[rows[:, 2]]
        found.append(distinct(keys))
        del rows, keys  # before the next slice's copies are made
    pairs = distinct(np.concatenate(found))
    callee_types = distinct(pairs & 0xFFFFFFFF)
    sdk_type = np.zeros(dex.type_count, dtype=bool)
    sdk_type[callee_types] = [relevance.sdk_class(dex.type_descriptor(t)) for t in callee_types.tolist()]
    pairs = pairs[sdk_type[pairs & 0xFFFFFFFF]]
    caller_types = distinct(pairs >> 32)
    owned_caller = np.zeros(dex.type_count, dtype=bool)
    owned_caller[caller_types] = [relevance.sdk_owned(dex.type_descriptor(t)) for t in caller_types.tolist()]
    pairs = pairs[~owned_caller[pairs >> 32]]
    if not len(pairs):
        return {}
    callers = pairs >> 32
    caller_text = {t: dex.type_descriptor(t) for t in distinct(callers).tolist()}
    callee_text = {t: dex.type_descriptor(t) for t in distinct(pairs & 0xFFFFFFFF).tolist()}
    # pairs are sorted, so each caller's callees are one run
    return {
        caller_text[caller]: frozenset(callee_text[t] for t in (pairs[a:b] & 0xFFFFFFFF).tolist())
        for caller, a, b in _segments(callers)
    }


def _segments(callers: npt.NDArray[np.uint32]) -> Iterator[tuple[int, int, int]]:
    """(caller, start, end) of each run of equal values in a caller column sorted by caller."""
    if not len(callers):
        return iter(())
    cuts = np.flatnonzero(callers[1:] != callers[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [len(callers)]))
    return zip(callers[starts].tolist(), starts.tolist(), ends.tolist(), strict=True)


def _offset_texts(rows: npt.NDArray[np.uint32], describe: Callable[[list[int]], list[str]]) -> list[tuple[int, str]]:
    """(offset, text of the row's target) per row; ``describe`` gets each distinct target once."""
    if not len(rows):
        return []
    targets, inverse = np.unique(rows[:, 2], return_inverse=True)
    texts = describe(targets.tolist())
    return list(zip(rows[:, 3].tolist(), expand_texts(texts, inverse), strict=True))


def _position_array(positions: npt.ArrayLike) -> array[int]:
    """:func:`_unsigned` as an array ('H' or 'I')."""
    at = _unsigned(positions)
    return array("H" if at.dtype == np.uint16 else "I", at.tobytes())


def _as_numpy(positions: array[int]) -> npt.NDArray[Any]:
    """A numpy view of a position array (no copy)."""
    return np.frombuffer(positions, dtype=np.uint16 if positions.typecode == "H" else np.uint32)


def _unsigned(positions: npt.ArrayLike) -> npt.NDArray[Any]:
    """``positions`` as a contiguous array of 16 bits when every one fits, else 32."""
    at = np.asarray(positions)
    narrow = at.dtype == np.uint16 or not len(at) or int(at.max()) <= 0xFFFF
    return np.ascontiguousarray(at, dtype=np.uint16 if narrow else np.uint32)


class _ReferenceTexts:
    """Texts of one DEX's member references by index, joined from shared pieces on first use.

    ``pieces`` are as DexFile.method_descriptor_parts gives them (distinct texts, position of each
    id's text), for ``ids`` in increasing order; the text of ``ids[i]`` is the pieces' texts at i
    joined by ``separators``. An app has 10^5 such references; the call graph reads a few hundred
    after the DEX is gone, so holding a descriptor string for each would cost megabytes for nothing.
    """

    __slots__ = ("_columns", "_joined", "_separators", "_texts")

    def __init__(self, ids: npt.NDArray[Any], pieces: Iterable[TextPieces], separators: Iterable[str]) -> None:
        # Arrays, not numpy: one look-up at a time (the call graph's) reads Python ints from them
        # several times faster; the batch path views them as numpy without copying.
        # Packed: the class pieces come as str objects the DEX's type table made, fifty bytes
        # more each than their text, for the whole scan.
        pieces = list(pieces)
        self._texts = [texts if isinstance(texts, PackedTexts) else PackedTexts.of(texts) for texts, _ in pieces]
        self._columns = DeflatedArrays(
            (
                array("I", np.ascontiguousarray(ids, dtype=np.uint32).tobytes()),
                *(_position_array(at) for _, at in pieces),
            ),
            ascending=(True, *(False for _ in pieces)),  # ids are sorted
        )
        self._separators = tuple(separators)
        self._joined: dict[int, str] = {}

    def compress(self) -> None:
        """Deflate the texts and tables until the next look-up (see PackedTexts.compress)."""
        for texts in self._texts:
            texts.compress()
        self._columns.compress()

    def many(self, idxs: list[int]) -> list[str]:
        """The texts of these ids (every one must be among ``ids``)."""
        missing = [i for i in idxs if i not in self._joined]
        if missing:
            id_array, *positions = self._columns.arrays()
            ids = np.frombuffer(id_array, dtype=np.uint32)
            at = np.searchsorted(ids, missing)
            if not (at < len(ids)).all() or (ids[at] != missing).any():
                raise KeyError("a reference outside this table")
            texts: list[str] | PackedTexts = self._texts[0]
            text_at: npt.NDArray[Any] = _as_numpy(positions[0])[at]
            for next_texts, next_at, separator in zip(self._texts[1:], positions[1:], self._separators, strict=True):
                texts = join_texts(texts, next_texts, text_at, _as_numpy(next_at)[at], separator)
                text_at = np.arange(len(texts))
            self._joined.update(zip(missing, texts, strict=True))
        joined = self._joined
        return [joined[i] for i in idxs]

    def __getitem__(self, idx: int) -> str:
        text = self.get(idx)
        if text is None:
            raise KeyError(idx)
        return text

    def get(self, idx: int) -> str | None:
        text = self._joined.get(idx)
        if text is not None:
            return text
        ids, *positions = self._columns.arrays()
        at = bisect.bisect_left(ids, idx)
        if at == len(ids) or ids[at] != idx:
            return None
        parts = [texts[where[at]] for texts, where in zip(self._texts, positions, strict=True)]
        text = parts[0]
        for separator, part in zip(self._separators, parts[1:], strict=True):
            text = text + separator + part
        self._joined[idx] = text
        return text


def _kept_members(
    dex: DexFile,
    rows: npt.NDArray[np.uint32],
    relevance: CodeRelevance,
    class_types: npt.NDArray[np.uint32],
    *,
    custom_ok: bool,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Row masks (for the matchers, only for the call graph) by the class declaring each row's member.

    invoke-custom rows (operand is a call-site index) go to the matchers when ``custom_ok``.
    """
    if not len(rows):
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    custom = rows[:, 1] >= _INVOKE_CUSTOM_MIN if custom_ok else np.zeros(len(rows), dtype=bool)
    member_types = class_types[rows[:, 2][~custom]]
    used = distinct(member_types)
    keep_type = np.zeros(dex.type_count, dtype=bool)
    graph_type = np.zeros(dex.type_count, dtype=bool)
    descriptors = [dex.type_descriptor(t) for t in used.tolist()]
    keep_type[used] = [relevance.keep_class(d) for d in descriptors]
    graph_type[used] = relevance.defines(descriptors)
    eager = custom.copy()
    eager[~custom] = keep_type[member_types]
    graph = np.zeros(len(rows), dtype=bool)
    graph[~custom] = graph_type[member_types]
    return eager, graph & ~eager


def _first_of_each(
    rows: npt.NDArray[np.uint32],
    graph: npt.NDArray[np.bool_],
    key: Callable[[npt.NDArray[np.uint32]], npt.NDArray[Any]],
) -> npt.NDArray[np.bool_]:
    """``graph`` narrowed to the first row of each (caller, ``key(row)``) among the rows it marks.

    Rows only the call graph reads matter to it for what they reach: an invoke for its target
    and whether it dispatches, a field read for its class (whose <clinit> it may run). A method's
    later rows reaching the same add nothing to the walk, which visits targets in order of first
    occurrence; these rows are most of a DEX's references and stay for the whole scan.
    """
    at = np.flatnonzero(graph)
    if not len(at):
        return graph
    kept = np.zeros(len(rows), dtype=bool)
    callers = rows[at, 0]
    # Rows come grouped by caller, so a repeat lies in its caller's run: slices cut between runs
    # keep the keys and their sort small beside the largest DEX's tables.
    start = 0
    while start < len(at):
        end = min(start + _SLICE_ROWS, len(at))
        if end < len(at):
            end = start + int(np.searchsorted(callers[start:], callers[end - 1], side="right"))
        keys = callers[start:end].astype(np.int64) << 32
        keys |= key(rows[at[start:end]])
        _, first = np.unique(keys, return_index=True)
        kept[at[start:end][first]] = True
        start = end
    return kept


def _target_and_dispatch(rows: npt.NDArray[np.uint32]) -> npt.NDArray[np.int64]:
    """What a (non-custom) invoke row reaches in the call graph: its target, and whether it dispatches."""
    return (rows[:, 2].astype(np.int64) << 1) | member_of(rows[:, 1], _DISPATCH_OPS_ARRAY)


def _call_graph_fill(
    invokes: npt.NDArray[np.uint32], fields: npt.NDArray[np.uint32], texts: _DexTexts
) -> tuple[Callable[[MethodBody, int], None], DeflatedArrays]:
    """``fill(body, caller)``: give a body every invoke and field read of its method ``caller``;
    and the columns it reads, for the caller to deflate once indexing no longer needs them.

    ``invokes``/``fields`` hold every kept row (matcher and call graph) in code order; ``texts``
    the pieces of every (non-custom) invoke and field target among them and the methods of
    every call site, decoded while the DEX was indexed, so decoding problems are reported then;
    the fill only joins pieces, cannot fail and holds no DexFile.
    """
    method_texts, field_texts, call_site_text = texts.methods, texts.fields, texts.call_sites
    # Columns as arrays, each of the narrowest type, for bisect and slicing: they stay for the
    # whole scan (10^5 rows of the largest DEX), and a fill looks up one caller, where numpy's
    # per-call overhead would dominate. Deflated until the walk first enters the DEX.
    columns = DeflatedArrays(
        (
            _column(invokes[:, 0]),
            _column(invokes[:, 1], "B"),
            _column(invokes[:, 2]),
            _column(invokes[:, 3]),
            _column(fields[:, 0]),
            _column(fields[:, 2]),
            _column(fields[:, 3]),
        ),
        ascending=(True, False, False, True, True, False, True),  # callers and offsets: code order
    )

    def fill(body: MethodBody, caller: int) -> None:
        (
            invoke_callers,
            invoke_opcodes,
            invoke_targets,
            invoke_offsets,
            field_callers,
            field_targets,
            field_offsets,
        ) = columns.arrays()
        calls: list[tuple[int, str]] = []
        dispatch: set[int] = set()
        a = bisect.bisect_left(invoke_callers, caller)
        b = bisect.bisect_left(invoke_callers, caller + 1, a)
        for opcode, target, offset in zip(invoke_opcodes[a:b], invoke_targets[a:b], invoke_offsets[a:b], strict=True):
            if opcode >= _INVOKE_CUSTOM_MIN:
                calls.extend((offset, text) for text in call_site_text[target])
            else:
                calls.append((offset, method_texts[target]))
                if opcode in _DISPATCH_OPS:
                    dispatch.add(offset)
        a = bisect.bisect_left(field_callers, caller)
        b = bisect.bisect_left(field_callers, caller + 1, a)
        body.invokes = calls
        body.dispatch_offsets = dispatch
        body.field_reads = [
            (offset, field_texts[target]) for target, offset in zip(field_targets[a:b], field_offsets[a:b], strict=True)
        ]

    return fill, columns


def _column(values: npt.NDArray[np.uint32], typecode: str | None = None) -> array[int]:
    """One column as an array of ``typecode``; without one, 16-bit when every value fits (member
    ids in invoke and field instructions are 16-bit; callers are method ids and offsets code units,
    which also fit in nearly every DEX), else 32-bit."""
    if typecode is None:
        typecode = "H" if not len(values) or int(values.max()) <= 0xFFFF else "I"
    dtype = {"B": np.uint8, "H": np.uint16, "I": np.uint32}[typecode]
    return array(typecode, np.ascontiguousarray(values, dtype=dtype).tobytes())


def _in_classes_with_repeated_signatures(
    positions: npt.NDArray[np.uint32], signature_parts: tuple[TextPieces, TextPieces]
) -> npt.NDArray[np.bool_]:
    """Rows of classes that may define one signature twice (malformed DEX): those keep the plain path.

    Where a signature repeats, the later definition replaces the earlier one; building those
    classes' bodies in row order keeps that rule without teaching it to MethodTable. Rows are
    compared by (class, rank of the (name, proto) pair) in numpy.
    """
    if len(positions) < 2:
        return np.zeros(len(positions), dtype=bool)
    (_, name_at), (protos, proto_at) = signature_parts
    pairs = name_at.astype(np.int64) * max(len(protos), 1) + proto_at
    _, pair_rank = np.unique(pairs, return_inverse=True)
    keys = positions.astype(np.uint64) << np.uint64(32)
    keys |= pair_rank.astype(np.uint64)
    keys.sort()
    repeated = keys[1:][keys[1:] == keys[:-1]]
    if not len(repeated):
        return np.zeros(len(positions), dtype=bool)
    return member_of(positions, (repeated >> np.uint64(32)).astype(np.uint32))


def _add_unbuilt_methods(
    table: ClassTable,
    row_of: npt.NDArray[np.int64],
    rows: npt.NDArray[np.uint32],
    signature_parts: tuple[TextPieces, TextPieces],
    fill: Callable[[MethodBody, int], None],
) -> None:
    """Give the table's classes the methods no matcher needs, as :class:`MethodTable` entries made
    with each class (``rows``: class position, method id; ``row_of``: table row by class position;
    ``signature_parts``: their signatures' (name, proto) pieces, joined per class on its first look-up)."""
    dex_name = table.dex

    def build(class_descriptor: str, signature: str, method_idx: int) -> MethodBody:
        body = MethodBody(
            dex_name, class_descriptor, signature, _NO_REFERENCES, _NO_REFERENCES, _NO_REFERENCES, _NO_DISPATCH
        )
        fill(body, method_idx)
        return body

    (names, name_at), (protos, proto_at) = signature_parts
    if len(rows) > 1 and (rows[1:, 0] < rows[:-1, 0]).any():  # method_table keeps a class's rows together
        order = np.argsort(rows[:, 0], kind="stable")
        rows, name_at, proto_at = rows[order], name_at[order], proto_at[order]
    segments = list(_segments(rows[:, 0]))
    bounds = array("I", [a for _, a, _ in segments])
    bounds.append(len(rows))
    unbuilt = _UnbuiltMethods(names, protos, name_at, proto_at, rows[:, 1], bounds)
    class_of = array("i", [-1]) * len(table)
    for k, (pos, _, _) in enumerate(segments):
        class_of[int(row_of[pos])] = k
    table.methods_of = _DexMethods(unbuilt, class_of, build)
    unbuilt.compress()  # read again only when the call graph looks into one of these classes


class _DexMethods:
    """``methods_of`` of one DEX's :class:`ClassTable`: a class's built bodies and, when it has
    unbuilt ones, a :class:`MethodTable` over them (class ``class_of[row]`` of ``unbuilt``)."""

    __slots__ = ("_build", "_class_of", "_unbuilt")

    def __init__(self, unbuilt: _UnbuiltMethods, class_of: array[int], build: MethodFactory) -> None:
        self._unbuilt, self._class_of, self._build = unbuilt, class_of, build

    def __call__(self, row: int, descriptor: str, built: dict[str, MethodBody]) -> MutableMapping[str, MethodBody]:
        k = self._class_of[row]
        if k < 0:
            return built
        methods = _ClassMethods(self._unbuilt, k)
        return MethodTable(descriptor, built, methods, methods, self._build)


class _UnbuiltMethods:
    """One DEX's unbuilt methods, grouped by class: their ids, and their signatures as (name,
    proto) pieces joined a class at a time. Class ``k`` holds rows ``bounds[k]:bounds[k + 1]``.

    Shared by every class of the DEX (:class:`_ClassMethods`): an id array and a signature
    callable per class cost 300 bytes, 2 MB for a large DEX, alive for the whole scan.
    """

    __slots__ = ("_columns", "_names", "_protos", "bounds")

    def __init__(
        self,
        names: list[str] | PackedTexts,
        protos: list[str] | PackedTexts,
        name_at: npt.NDArray[Any],
        proto_at: npt.NDArray[Any],
        ids: npt.NDArray[Any],
        bounds: array[int],
    ) -> None:
        self._names, self._protos = names, protos
        # Two or four bytes a method (as the DEX's positions come) where a signature string costs
        # sixty; the ids as an array for one at a time (the call graph's look-ups), where numpy's
        # scalars are slow. Deflated until the walk first looks into one of the DEX's classes.
        self._columns = DeflatedArrays(
            (
                _position_array(name_at),
                _position_array(proto_at),
                array("I", np.ascontiguousarray(ids, np.uint32).tobytes()),
            ),
            ascending=(False, False, True),  # a class's method ids increase
        )
        self.bounds = bounds

    @property
    def ids(self) -> array[int]:
        return self._columns.arrays()[2]

    def compress(self) -> None:
        self._columns.compress()

    def signature(self, row: int) -> str:
        """The signature of one row."""
        name_at, proto_at, _ = self._columns.arrays()
        return self._names[name_at[row]] + self._protos[proto_at[row]]

    def between(self, start: int, end: int) -> tuple[str, ...]:
        name_at, proto_at, _ = self._columns.arrays()
        return tuple(join_texts(self._names, self._protos, name_at[start:end], proto_at[start:end], ""))


class _ClassMethods(Sequence[int]):
    """One class's unbuilt methods in :class:`_UnbuiltMethods`, in the two forms MethodTable takes:
    as a :class:`SignatureSource`, the signatures; indexed, the method ids in the same order.

    A signature is found by the hashes of the class's signatures, made on the first look-up: the
    call graph asks each class it enters for the methods it may define or inherit, and a tuple of
    signature strings kept for each such class cost 1.6 MB on a walk of 3,000 methods.
    """

    __slots__ = ("_class", "_hashes", "_methods")

    def __init__(self, methods: _UnbuiltMethods, class_number: int) -> None:
        self._methods, self._class = methods, class_number
        self._hashes: array[int] | None = None

    def __call__(self) -> tuple[str, ...]:
        bounds = self._methods.bounds
        return self._methods.between(bounds[self._class], bounds[self._class + 1])

    def position(self, signature: str) -> int:
        hashes = self._hashes
        if hashes is None:
            hashes = self._hashes = array("q", [hash(s) for s in self()])
        key = hash(signature)
        if key not in hashes:  # most look-ups: a method the class inherits or does not have
            return -1
        at = -1
        while True:
            try:
                at = hashes.index(key, at + 1)
            except ValueError:
                return -1
            if self._methods.signature(self._methods.bounds[self._class] + at) == signature:
                return at

    def __len__(self) -> int:
        bounds = self._methods.bounds
        return bounds[self._class + 1] - bounds[self._class]

    @overload
    def __getitem__(self, at: int) -> int: ...
    @overload
    def __getitem__(self, at: slice) -> Sequence[int]: ...
    def __getitem__(self, at: int | slice) -> int | Sequence[int]:
        start, end = self._methods.bounds[self._class], self._methods.bounds[self._class + 1]
        if isinstance(at, slice):
            return self._methods.ids[start:end][at]
        if not -(end - start) <= at < end - start:
            raise IndexError(at)
        return self._methods.ids[start + at if at >= 0 else end + at]


class _DeferredFill:
    """``fill(body, caller)`` as a zero-argument callable; smaller than functools.partial (10^5 of them)."""

    __slots__ = ("body", "caller", "fill")

    def __init__(self, fill: Callable[[MethodBody, int], None], body: MethodBody, caller: int) -> None:
        self.fill = fill
        self.body = body
        self.caller = caller

    def __call__(self) -> None:
        self.fill(self.body, self.caller)


#: Code strings that may belong to a consent dialog (see _consent_like); also string needles.
CONSENT_MARKERS: tuple[str, ...] = ("同意",)
CONSENT_MARKERS_IGNORE_CASE: tuple[str, ...] = ("agree",)


def _consent_like(text: str) -> bool:
    return any(m in text for m in CONSENT_MARKERS) or any(m in text.lower() for m in CONSENT_MARKERS_IGNORE_CASE)


def _read_static_strings(
    dex: DexFile, table: ClassTable, classes: list[tuple[int, int]], wanted: set[int] | None
) -> None:
    """Initial String values of static fields (``static final String URL = "..."``), per class.

    Such constants never appear as const-string when the compiler inlines them or the field is
    unused, yet they are endpoints in the class. ``wanted`` (string indices) limits which are
    decoded; None keeps all.
    """
    found = dex.encoded_array_strings([off for _, off in classes])
    for (row, _), strings in zip(classes, found, strict=True):
        if strings is None:
            continue  # one unreadable initialiser list hides only that class's constants
        texts: list[str] = []
        with contextlib.suppress(MalformedStructureError, IndexError, ValueError):  # keeps those decoded before
            texts.extend(dex.string(v) for v in strings if wanted is None or v in wanted)
        if texts:
            table.static_strings[row] = (*table.static_strings.get(row, ()), *texts)


def _read_locale(locale: str) -> bool:
    """The locales whose resource values a scan reads besides the default: the Chinese ones (the
    label and consent texts a Chinese user sees). The others are skipped when the table is read."""
    return locale.startswith("zh")


def warm_up_extraction() -> None:
    """Load the SDK, API and permission catalogs (the readers load with this module): a folder
    scan's parent calls it before forking its workers, which then inherit them."""
    sdk_catalog()
    api_specs()
    permission_table()


def extract_evidence(
    source: str | PathLike[str] | bytes,
    *,
    limits: ScanLimits | None = None,
    progress: ProgressCallback | None = None,
    catalog: SdkCatalog | None = None,
) -> Evidence:
    """Read one APK and return its Evidence.

    Raises the apk layer's UnreadableInputError / HostileApkError / LimitExceededError for a
    container that cannot or must not be read, and UnreadableInputError when there is no
    readable AndroidManifest.xml. Everything else that goes wrong is a ParseWarning.
    """
    limits = limits or ScanLimits()
    catalog = catalog or sdk_catalog()
    report: ProgressCallback = progress or (lambda _stage: None)
    warnings: list[ParseWarning] = []

    report("archive")
    with _no_cyclic_gc(), ApkArchive.open(source, limits.zip) as archive:
        return _extract(archive, limits, catalog, report, warnings)


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for one scan.

    A scan builds 10^5 long-lived objects (method bodies and their references) and frees them
    together at the end; meanwhile each full collection re-traverses all of them, which cost
    a third of the scan time on large apps. Reference counting still frees everything that is
    not a cycle, so memory stays bounded by the scan limits; cycles wait for the next collection.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _extract(
    archive: ApkArchive, limits: ScanLimits, catalog: SdkCatalog, report: ProgressCallback, warnings: list[ParseWarning]
) -> Evidence:
    # -- manifest and resources -------------------------------------------------------------
    report("manifest")
    if not archive.has("AndroidManifest.xml"):
        raise UnreadableInputError(
            "the APK has no AndroidManifest.xml", detail="is this an Android application package?"
        )
    try:
        root = parse_axml(archive.read("AndroidManifest.xml"))
    except MalformedStructureError as exc:
        raise MalformedStructureError(f"AndroidManifest.xml cannot be read: {exc.message}", detail=exc.detail) from exc
    table: ResourceTable | None = None
    if archive.has("resources.arsc"):
        try:
            table = ResourceTable.parse(archive.read("resources.arsc"), keep_locale=_read_locale)
        except MalformedStructureError as exc:
            warnings.append(ParseWarning(code="arsc_unreadable", message=str(exc), where="resources.arsc"))
    resolver: mf.ValueResolver = ArscResolver(table) if table is not None else mf.LiteralResolver()
    basics = mf.read_basics(root, resolver)
    label = resolver.text(basics.label_value)
    label_zh = None
    if table is not None and mf.is_reference(basics.label_value):
        zh_locales = [loc for loc in table.locales() if loc == "zh" or loc.startswith(("zh-", "zh_"))]
        if zh_locales:
            preferred = next((loc for loc in ("zh-rCN", "zh", "zh-rHK", "zh-rTW") if loc in zh_locales), zh_locales[0])
            label_zh = resolver.text(basics.label_value, preferred)
            if label_zh == label:
                label_zh = None  # the zh configuration does not translate the label
    # What the later stages read of the resource table, taken now: the table goes before the code.
    resource_strings: dict[str, str] = {}
    consent_sources: dict[str, str] = {}
    if table is not None:
        resource_strings = table.strings()
        consent_sources = {f"res:string/{k}": v for k, v in resource_strings.items()}
        for loc in table.locales():
            if not _read_locale(loc):
                continue
            for k, v in table.strings(loc).items():
                if v != resource_strings.get(k):
                    consent_sources.setdefault(f"res:string/{k}[{loc}]", v)
        resolver = ManifestValues(root, resolver)
        del table

    signers = [
        Signer(
            scheme=s.scheme,
            subject=s.subject,
            issuer=s.issuer,
            serial_number=s.serial_number,
            sha256=s.sha256,
            not_before=s.not_before,
            not_after=s.not_after,
        )
        for s in read_signers(archive)
    ]
    identity = Identity(
        package=basics.package,
        version_name=basics.version_name,
        version_code=basics.version_code,
        label=label,
        label_zh=label_zh,
        min_sdk=basics.min_sdk,
        target_sdk=basics.target_sdk,
        apk_sha256=archive.sha256,
        apk_size=archive.size,
        signers=signers,
    )

    # -- code -------------------------------------------------------------------------------
    report("dex")
    detector = SdkDetector(catalog)
    program, dex_summaries = _index_code(archive, limits, catalog, detector, warnings)
    # What indexing freed on the heap would otherwise stay resident under all that follows.
    release_free_heap()
    program = _MatchedProgram(program)
    class_names = sorted(descriptor_to_class(d) for d in program.classes)

    # -- SDKs, manifest facts that need ownership -------------------------------------------
    report("sdk")
    components = mf.read_components(
        root, resolver, package=basics.package, target_sdk=basics.target_sdk, owner_of=detector.owner_of
    )
    meta_data = mf.read_meta_data(root, resolver, package=basics.package, owner_of_key=detector.owner_of_meta_key)
    native_entries = [(e, m) for e in archive.entries if (m := _NATIVE_LIB.match(e.name))]
    native_lib_names = sorted({m.group(2) for _, m in native_entries})
    found = detector.detect(
        class_names,
        native_libs=native_lib_names,
        components=components,
        meta_data=meta_data,
        app_package=basics.package,
    )
    # Ownership can change once obfuscated SDK namespaces are adopted: attribute again.
    components = [c.model_copy(update={"owner": detector.owner_of(c.name)}) for c in components]
    native_libs = [
        NativeLib(
            path=e.name,
            abi=m.group(1),
            name=m.group(2),
            size=e.uncompressed_size,
            owner=next(iter(sorted(s for s, a in found.items() if m.group(2) in a.native_libs)), APP_OWNER),
        )
        for e, m in sorted(native_entries, key=lambda pair: pair[0].name)
    ]

    report("api_calls")
    api_calls = find_api_calls(program, api_specs(), detector.owner_of)
    init_sites = [s for s in find_init_sites(program, catalog, detector.owner_of) if s.sdk in found]
    init_evidence: dict[str, list[str]] = {}
    for site in init_sites:
        init_evidence.setdefault(site.sdk, []).append(
            f"{descriptor_to_class(site.caller.split('->')[0])}->{site.caller.split('->', 1)[1]} calls {site.api}"
        )
    for comp in components:
        sdk_id = catalog.init_components.get(comp.name)
        if sdk_id and sdk_id in found and comp.enabled:
            init_evidence.setdefault(sdk_id, []).append(f"manifest {comp.kind} {comp.name}")
    called = find_called_sdks(program, detector.owner_of)
    reaches: dict[str, set[str]] = {}
    for call in api_calls:
        if call.owner != APP_OWNER:
            reaches.setdefault(call.owner, set()).update(call.pi_types)
    sdks = build_sdk_matches(detector, found, init_evidence=init_evidence, called=called, reaches_pi=reaches)

    # -- files: assets, raw resources, strings ----------------------------------------------
    report("files")
    resource_texts = app_resource_texts({**consent_sources})
    asset_texts = _text_files(archive, limits, warnings)  # read one at a time by collect_endpoints
    code_strings = [
        (descriptor_to_class(body.class_descriptor), detector.owner_of(descriptor_to_class(body.class_descriptor)), s)
        for body in program.methods()
        for _, s in body.strings
    ]
    for descriptor, static_strings in sorted(program.classes.static_strings(), key=lambda item: item[0]):
        name = descriptor_to_class(descriptor)
        code_strings += [(name, detector.owner_of(name), s) for s in static_strings]
    domains = DomainIndex(catalog, found)
    endpoints = collect_endpoints(
        code_strings=code_strings,
        resource_strings=resource_strings,
        asset_texts=asset_texts,
        domains=domains,
        app_package=basics.package,
    )
    if len(endpoints) >= MAX_ENDPOINTS:
        warnings.append(
            ParseWarning(code="endpoints_truncated", message=f"only the first {MAX_ENDPOINTS} endpoints are recorded")
        )
    policy = policy_signals(
        _policy_files(archive, limits, warnings),  # one file at a time
        urls=[e.url for e in endpoints],
        strings=consent_sources,
        code_strings=[(f"dex:{cls}", s) for cls, _owner, s in code_strings if _consent_like(s)],
    )

    report("hardening")
    asset_entries = [e for e in archive.entries if e.name.startswith("assets/") and not e.is_dir]
    # Packer evidence needs only asset names; the first bytes are read for code-like names only.
    asset_heads = [
        (e.name, _first_bytes(archive, e, 16) if _code_like(e.name) else b"")
        for e in asset_entries[: limits.max_assets * 10]
    ]
    hardening = hardening_facts(
        program,
        [
            *class_names,
            *(c.name for c in components),
            *([basics.application_class] if basics.application_class else []),
        ],
        native_lib_names,
        asset_heads,
    )

    # Last: the walk builds the bodies and signatures of the methods it visits, and they stay
    # with the program; the files above are read (and let go) before they are there.
    del code_strings, asset_heads, class_names
    release_free_heap()
    report("call_graph")
    providers = [c.name for c in components if c.kind == "provider" and c.enabled]
    # Any wake-up broadcast (boot, unlock, network...) starts the receiver without the user.
    boot_receivers = [c.name for c in components if c.kind == "receiver" and c.enabled and c.wake_up_actions]
    launchers = mf.launcher_activities(components, root, resolver, basics.package)
    entries = early_entry_points(
        program,
        application_class=basics.application_class,
        providers=providers,
        boot_receivers=boot_receivers,
        launcher_activities=launchers,
    )
    paths = early_paths(program, entries, api_calls, init_sites, owner_of=detector.owner_of)
    permission_info = permission_table()
    permissions = read_permissions(root, resolver, permission_info)

    warnings = [ParseWarning(code=w.code, message=w.message, where=w.where) for w in archive.warnings] + warnings
    report("done")
    return Evidence(
        engine_version=ENGINE_VERSION,
        sdk_catalog_version=catalog.version,
        identity=identity,
        permissions=permissions,
        implied_permissions=implied_permissions(permissions, basics.target_sdk, permission_info),
        components=components,
        meta_data=meta_data,
        sdks=sdks,
        api_calls=api_calls,
        early_paths=paths,
        endpoints=endpoints,
        privacy_policy=policy,
        hardening=hardening,
        native_libs=native_libs,
        dex_files=dex_summaries,
        application_class=basics.application_class,
        uses_features=mf.read_uses_features(root, resolver),
        resource_texts=resource_texts,
        warnings=warnings,
    )


def _index_code(
    archive: ApkArchive, limits: ScanLimits, catalog: SdkCatalog, detector: SdkDetector, warnings: list[ParseWarning]
) -> tuple[ProgramIndex, list[DexSummary]]:
    """Every classes*.dex into one ProgramIndex (earlier DEX wins), keeping only relevant references.

    Two passes: which classes the APK defines must be known before any DEX is indexed, because
    the call graph follows references to classes of any DEX. Warnings keep DEX order.

    Memory: the first pass keeps parsed for the second only the DEX files
    :func:`_kept_between_passes` picks; the others are inflated again when their turn comes.
    """
    dex_entries = sorted((e for e in archive.entries if _DEX_NAME.match(e.name)), key=lambda e: _dex_order(e.name))
    keep = _kept_between_passes([e.uncompressed_size for e in dex_entries])
    parsed: deque[tuple[str, DexFile | ParseWarning | None]] = deque()
    # Superclasses named by each definition, as tuples: a set per class would cost 216 bytes for
    # the one superclass nearly every class has (10^4..10^5 classes, alive beside the largest DEX).
    # A dict, not the ClassDirectory the program keeps: the relevance filter asks it about every
    # class each DEX references, and a dict answers several times faster (30 ms on Yosemite).
    defined: dict[str, tuple[str, ...]] = {}
    # One tuple per distinct superclass: most classes extend one of a few hundred.
    only_super: dict[str, tuple[str]] = {}
    for entry, keep_parsed in zip(dex_entries, keep, strict=True):
        item: DexFile | ParseWarning | None = _parse_dex(archive, entry.name, limits)
        if isinstance(item, DexFile):
            with contextlib.suppress(MalformedStructureError):  # indexing reports it below; the DEX contributes nothing
                for _, descriptor, superclass, _, _ in item.class_headers():
                    supers = defined.setdefault(descriptor, ())
                    if superclass and superclass not in supers:
                        if supers:
                            defined[descriptor] = (*supers, superclass)
                        else:
                            shared = only_super.get(superclass)
                            if shared is None:
                                shared = only_super[superclass] = (superclass,)
                            defined[descriptor] = shared
            if keep_parsed:
                item.release_pages()
            else:
                item = None  # read again in the second pass
        parsed.append((entry.name, item))
        # The loop variable would hold the last DEX kept (a single-DEX app's only one) through the
        # second pass, past the point where indexing drops it before building its bodies.
        del item
    relevance = _RELEVANCE(api_specs(), catalog, detector, defined)
    program = ProgramIndex()
    summaries: list[DexSummary] = []
    with deflated_in_blocks(_many_large_dex([e.uncompressed_size for e in dex_entries])):
        _index_second_pass(archive, limits, parsed, program, relevance, summaries, warnings)
    return program, summaries


def _many_large_dex(sizes: list[int]) -> bool:
    """Whether an app's DEX files besides its largest add up to more than the largest.

    Its call-graph walk may then enter many DEX files to read a few names of each, so what they
    keep for it deflates in blocks (PackedTexts.compress): inflating each table whole would cost
    memory in proportion to the app's code (14 MB of a 57-DEX app's walk, for 17,600 reads). Apps
    of one large DEX and a few small ones keep whole tables, which read faster.
    """
    return sum(sizes) > 2 * max(sizes, default=0)


def _index_second_pass(
    archive: ApkArchive,
    limits: ScanLimits,
    parsed: deque[tuple[str, DexFile | ParseWarning | None]],
    program: ProgramIndex,
    relevance: CodeRelevance | None,
    summaries: list[DexSummary],
    warnings: list[ParseWarning],
) -> None:
    """_index_code's second pass: each DEX indexed in turn (the first pass's kept ones, the others read again)."""
    while parsed:
        name, kept = parsed.popleft()  # each DEX is released once indexed
        dex_or_warning = kept if kept is not None else _parse_dex(archive, name, limits)
        if isinstance(dex_or_warning, ParseWarning):
            warnings.append(dex_or_warning)
            continue
        dex = dex_or_warning
        # read_dex only reads the program; its second step adds the DEX's classes, so a DEX that
        # fails half-way contributes nothing.
        try:
            build_bodies = read_dex(dex, program, relevance)
        except (LimitExceededError, MalformedStructureError) as exc:
            warnings.append(_dex_skipped(name, exc))
            continue
        summary = DexSummary(
            name=name,
            size=dex.size,
            version=dex.version,
            class_count=0,
            method_count=dex.method_refs_count,
            string_count=dex.strings_count(),
        )
        dex_warnings = [ParseWarning(code=code, message=message, where=name) for code, message in dex.warnings]
        # Every name the bodies need is decoded: the DEX goes before they are built.
        del dex, dex_or_warning, kept
        class_count, _ = build_bodies()
        del build_bodies  # its rows and texts would otherwise stay through the next DEX
        if relevance is not None:
            # Every DEX names the framework's classes again, but a verdict cached for each class
            # holds its descriptor string for the whole scan; deciding them again costs less.
            relevance.forget_classes()
        summaries.append(summary.model_copy(update={"class_count": class_count}))
        warnings.extend(dex_warnings)
        if parsed and summary.size >= _TRIM_AFTER_DEX_BYTES:
            # What this DEX's reading freed on the heap would otherwise sit under the next DEX.
            release_free_heap()


#: After indexing a DEX at least this large, the heap's free pages are given back before the next.
_TRIM_AFTER_DEX_BYTES = 1 << 20


def _kept_between_passes(sizes: list[int]) -> list[bool]:
    """Which DEX files (sizes in indexing order) the first pass keeps parsed for the second.

    A scan peaks while its largest DEX is indexed, and a DEX indexed after it but kept would be
    alive then: those are inflated again instead (Appium's server: fifteen small files, 3 MB, after
    its 10.8 MB one; 0.6 MB off the peak for 18 ms of inflating). The largest is kept, and the ones indexed
    before it while they add up to no more than it: they are released before it is read, and an
    app of ten equal 8 MB DEX files never holds more than two of them in the first pass.
    """
    if not sizes:
        return []
    largest_at = sizes.index(max(sizes))
    keep = [False] * len(sizes)
    keep[largest_at] = True
    earlier = 0
    for i in range(largest_at):
        if earlier + sizes[i] <= sizes[largest_at]:
            earlier += sizes[i]
            keep[i] = True
    return keep


def _parse_dex(archive: ApkArchive, name: str, limits: ScanLimits) -> DexFile | ParseWarning:
    """One classes*.dex parsed, or the warning saying why it is skipped.

    Container-level trouble (bomb, CRC, overlap) propagates: it condemns the APK, not one DEX.
    """
    data = archive.read_mapped(name)
    try:
        return DexFile.parse(data, name, limits.dex)
    except (LimitExceededError, MalformedStructureError) as exc:
        return _dex_skipped(name, exc)


def _dex_skipped(name: str, exc: LimitExceededError | MalformedStructureError) -> ParseWarning:
    """The warning for a DEX left out of the index: over a limit, or unreadable."""
    code = "dex_limit" if isinstance(exc, LimitExceededError) else "dex_unreadable"
    return ParseWarning(code=code, message=f"{name} skipped: {exc}", where=name)


class _MatchedProgram(ProgramIndex):
    """The indexed program whose :meth:`methods` yields only bodies with references, in order.

    Every matcher that iterates methods (API calls, SDK init and use, code hiding, code strings)
    finds nothing in a body without invokes, field reads or strings; most methods of an app have
    none the matchers keep, so listing the others once, sorted, spares each matcher a pass over
    10^5 methods. Bodies the call graph completes later gain only references to app classes
    that no matcher keeps (CodeRelevance), so the list stays exact for the later matchers.
    """

    def __init__(self, program: ProgramIndex) -> None:
        super().__init__(classes=program.classes, class_invokes=program.class_invokes)
        # Gathered unordered, then sorted (class, signature) as built_methods() would yield them:
        # sorting the few thousand bodies with references beats sorting 10^4 classes and each one's methods.
        found: list[tuple[str, str, MethodBody]] = []
        for descriptor, bodies in program.classes.built_bodies():
            found += [(descriptor, s, b) for s, b in bodies.items() if b.invokes or b.field_reads or b.strings]
        found.sort(key=lambda item: (item[0], item[1]))
        self._with_references = [body for _, _, body in found]

    def methods(self) -> Iterator[MethodBody]:
        return iter(self._with_references)


def _keep_everything(
    specs: Iterable[ApiSpec], catalog: SdkCatalog, detector: SdkDetector, defined: Mapping[str, Iterable[str]]
) -> CodeRelevance | None:
    """Reference mode (tests): index every reference, as before relevance filtering existed."""
    return None


#: How _index_code chooses references; tests swap in _keep_everything to compare with a full index.
_RELEVANCE: Callable[
    [Iterable[ApiSpec], SdkCatalog, SdkDetector, Mapping[str, Iterable[str]]], CodeRelevance | None
] = code_relevance


def _text_files(archive: ApkArchive, limits: ScanLimits, warnings: list[ParseWarning]) -> Iterator[tuple[str, str]]:
    """Text assets and raw resources, bounded in count and size."""
    count = 0
    for entry in archive.entries:
        if entry.is_dir or not entry.name.startswith(POLICY_DIRS):
            continue
        if not entry.name.lower().endswith(TEXT_ASSET_SUFFIXES) or entry.uncompressed_size > limits.max_asset_bytes:
            continue
        if count >= limits.max_assets:
            warnings.append(
                ParseWarning(
                    code="assets_truncated",
                    message=f"only the first {limits.max_assets} text assets were searched for URLs",
                )
            )
            return
        count += 1
        try:
            yield entry.name, decode_text(archive.read(entry.name))
        except MalformedStructureError as exc:  # hostile-container errors propagate
            warnings.append(ParseWarning(code="asset_unreadable", message=str(exc), where=entry.name))


def _policy_files(archive: ApkArchive, limits: ScanLimits, warnings: list[ParseWarning]) -> Iterator[PackagedFile]:
    """assets/ and res/raw/ files that may be a policy: by name, or small text-like files."""
    for entry in archive.entries:
        if entry.is_dir or not entry.name.startswith(POLICY_DIRS):
            continue
        by_name = bool(POLICY_NAME_PATTERN.search(entry.name.rsplit("/", 1)[-1]))
        texty = entry.name.lower().endswith((".html", ".htm", ".txt", ".md"))
        if not (by_name or texty) or entry.uncompressed_size > limits.max_policy_document_bytes:
            continue
        # Streamed: what the policy signals need is the head and the hash, and a bundled
        # dictionary or corpus (a 4 MB .txt is common) need not be held to get them.
        digest = hashlib.sha256()
        head = bytearray()
        try:
            for chunk in archive.iter_read(entry):
                digest.update(chunk)
                if len(head) < POLICY_HEAD_BYTES:
                    head += chunk[: POLICY_HEAD_BYTES - len(head)]
        except MalformedStructureError as exc:  # hostile-container errors propagate
            warnings.append(ParseWarning(code="asset_unreadable", message=str(exc), where=entry.name))
            continue
        yield PackagedFile(path=entry.name, size=entry.uncompressed_size, data=bytes(head), sha256=digest.hexdigest())


#: String-resource names that belong to AndroidX, Material and other libraries, not to the app.
_LIBRARY_STRING_PREFIXES = (
    "abc_",
    "mtrl_",
    "material_",
    "m3_",
    "exo_",
    "common_google",
    "fcm_",
    "androidx_",
    "appbar_",
    "bottom_sheet_",
    "call_notification_",
    "search_menu_",
    "status_bar_",
    "character_counter",
    "password_toggle",
)
MAX_RESOURCE_TEXTS = 300
MAX_RESOURCE_TEXT_CHARS = 60


def app_resource_texts(strings: dict[str, str]) -> list[str]:
    """Short Chinese string values of the app's own resources (keys as ``res:string/NAME[...]``)."""
    texts: set[str] = set()
    for key, value in strings.items():
        name = key.removeprefix("res:string/")
        if name.startswith(_LIBRARY_STRING_PREFIXES):
            continue
        text = " ".join(value.split())
        if 2 <= len(text) <= MAX_RESOURCE_TEXT_CHARS and any("\u4e00" <= ch <= "\u9fff" for ch in text):
            texts.add(text)
    return sorted(texts)[:MAX_RESOURCE_TEXTS]
