"""One APK -> :class:`Evidence`.

This is the only module of the evidence stage that touches apk/ readers. It reads each
structure once, turns it into the plain inputs the fact modules take (manifest tree,
:class:`ProgramIndex`, file lists), and assembles the Evidence record. Problems that do not
stop the scan (one corrupt classes3.dex, an unreadable resources.arsc) become
``ParseWarning`` records; hostile containers propagate the apk layer's errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

from appwarden import ENGINE_VERSION
from appwarden.apk.arsc import ResourceTable
from appwarden.apk.axml import parse_axml
from appwarden.apk.dex import DexFile, DexLimits
from appwarden.apk.signing import read_signers
from appwarden.apk.zip import ApkArchive, ZipEntry, ZipLimits
from appwarden.errors import LimitExceededError, MalformedStructureError, UnreadableInputError
from appwarden.evidence import manifest as mf
from appwarden.evidence.callgraph import early_entry_points, early_paths
from appwarden.evidence.calls import ClassInfo, MethodBody, ProgramIndex, descriptor_to_class, find_api_calls
from appwarden.evidence.catalogs import SdkCatalog, api_specs, permission_table, sdk_catalog
from appwarden.evidence.endpoints import (
    MAX_ASSET_BYTES,
    MAX_ASSETS,
    MAX_ENDPOINTS,
    TEXT_ASSET_SUFFIXES,
    DomainIndex,
    collect_endpoints,
)
from appwarden.evidence.hardening import hardening_facts
from appwarden.evidence.model import (
    APP_OWNER,
    DexSummary,
    Evidence,
    Identity,
    NativeLib,
    ParseWarning,
    Signer,
)
from appwarden.evidence.permissions import read_permissions
from appwarden.evidence.policy_signals import (
    POLICY_DIRS,
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
_INVOKE_CUSTOM_MIN = 0xFC
# invoke-virtual, invoke-interface and their /range forms: the only invokes that dispatch.
_DISPATCH_OPS = frozenset({0x6E, 0x72, 0x74, 0x78})


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


def _dex_order(name: str) -> int:
    m = _DEX_NAME.match(name)
    assert m is not None
    return int(m.group(1) or "1")


def _code_like(path: str) -> bool:
    name = path.rsplit("/", 1)[-1].lower()
    return "dex" in name or name.endswith((".jar", ".apk", ".odex", ".zip", ".dat", ".bin"))


def _first_bytes(archive: ApkArchive, entry: ZipEntry, count: int) -> bytes:
    buf = bytearray()
    for chunk in archive.iter_read(entry):
        buf += chunk
        if len(buf) >= count:
            break
    return bytes(buf[:count])


def index_dex(dex: DexFile, program: ProgramIndex) -> tuple[int, int]:
    """Add one DEX file's classes and code references to ``program``; return (classes, methods with code)."""
    bodies: dict[int, MethodBody] = {}
    class_count = 0
    for cls in dex.classes():
        class_count += 1
        info = ClassInfo(descriptor=cls.descriptor, dex=dex.name, superclass=cls.superclass, interfaces=cls.interfaces)
        if not program.add_class(info):
            continue  # an earlier DEX defines it; Android loads that one
        for em in (*cls.direct_methods, *cls.virtual_methods):
            if em.code_off == 0:
                continue
            ref = dex.method_ref(em.method_idx)
            defined = MethodBody(
                dex=dex.name,
                class_descriptor=cls.descriptor,
                signature=f"{ref.name}{ref.proto}",
                dispatch_offsets=set(),
            )
            info.methods[defined.signature] = defined
            bodies[em.method_idx] = defined
    _read_static_strings(dex, program)
    refs = dex.code_references()
    method_text: dict[int, str] = {}

    def method_descriptor(idx: int) -> str:
        text = method_text.get(idx)
        if text is None:
            text = dex.method_ref(idx).descriptor()
            method_text[idx] = text
        return text

    for caller, opcode, target, offset in refs.invokes.rows.tolist():
        body = bodies.get(caller)
        if body is None:
            continue
        if opcode >= _INVOKE_CUSTOM_MIN:
            for m in dex.call_site_methods(target):
                body.invokes.append((offset, method_descriptor(m)))
        else:
            body.invokes.append((offset, method_descriptor(target)))
            if opcode in _DISPATCH_OPS and body.dispatch_offsets is not None:
                body.dispatch_offsets.add(offset)
    field_text: dict[int, str] = {}
    for caller, opcode, target, offset in refs.fields.rows.tolist():
        body = bodies.get(caller)
        if body is None or opcode not in _FIELD_READ_OPS:
            continue
        text = field_text.get(target)
        if text is None:
            text = dex.field_ref(target).descriptor()
            field_text[target] = text
        body.field_reads.append((offset, text))
    for caller, _opcode, target, offset in refs.strings.rows.tolist():
        body = bodies.get(caller)
        if body is not None:
            body.strings.append((offset, dex.string(target)))
    return class_count, len(bodies)


_VALUE_STRING = 0x17


def _read_static_strings(dex: DexFile, program: ProgramIndex) -> None:
    """Initial String values of static fields (``static final String URL = "..."``), per class.

    Such constants never appear as const-string when the compiler inlines them or the field is
    unused, yet they are endpoints in the class. apk/dex exposes no static_values offset on
    ClassDef yet, so this reads the validated class_def table (column 7) defensively.
    """
    class_defs = getattr(dex, "_class_defs", None)
    if class_defs is None:
        return
    for row in class_defs.tolist():
        if len(row) < 8 or not row[7]:
            continue
        try:
            descriptor = dex.type_descriptor(int(row[0]))
            info = program.classes.get(descriptor)
            if info is None or info.dex != dex.name:
                continue
            values, _ = dex.read_encoded_array(int(row[7]))
            info.static_strings.extend(dex.string(int(v)) for kind, v in values if kind == _VALUE_STRING)
        except (MalformedStructureError, IndexError, ValueError):
            continue  # one unreadable initialiser list hides only that class's constants


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
    with ApkArchive.open(source, limits.zip) as archive:
        return _extract(archive, limits, catalog, report, warnings)


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
            table = ResourceTable.parse(archive.read("resources.arsc"))
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
    program = ProgramIndex()
    dex_summaries: list[DexSummary] = []
    dex_names = sorted((e.name for e in archive.entries if _DEX_NAME.match(e.name)), key=_dex_order)
    for name in dex_names:
        data = archive.read(name)  # container-level trouble (bomb, CRC, overlap) propagates
        # Index into a scratch program first: a DEX that fails half-way contributes nothing.
        scratch = ProgramIndex()
        try:
            dex = DexFile.parse(data, name, limits.dex)
            class_count, _ = index_dex(dex, scratch)
        except LimitExceededError as exc:
            warnings.append(ParseWarning(code="dex_limit", message=f"{name} skipped: {exc}", where=name))
            continue
        except MalformedStructureError as exc:
            warnings.append(ParseWarning(code="dex_unreadable", message=f"{name} skipped: {exc}", where=name))
            continue
        for info in scratch.classes.values():
            program.add_class(info)  # an earlier DEX's definition wins, as on Android
        dex_summaries.append(
            DexSummary(
                name=name,
                size=dex.size,
                version=dex.version,
                class_count=class_count,
                method_count=dex.method_refs_count,
                string_count=dex.strings_count(),
            )
        )
        warnings.extend(ParseWarning(code=code, message=message, where=name) for code, message in dex.warnings)
    class_names = sorted(descriptor_to_class(d) for d in program.classes)

    # -- SDKs, manifest facts that need ownership -------------------------------------------
    report("sdk")
    detector = SdkDetector(catalog)
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

    # -- files: assets, raw resources, strings ----------------------------------------------
    report("files")
    resource_strings: dict[str, str] = {}
    consent_sources: dict[str, str] = {}
    if table is not None:
        resource_strings = table.strings()
        consent_sources = {f"res:string/{k}": v for k, v in resource_strings.items()}
        for loc in table.locales():
            if not loc.startswith("zh"):
                continue
            for k, v in table.strings(loc).items():
                if v != resource_strings.get(k):
                    consent_sources.setdefault(f"res:string/{k}[{loc}]", v)
    asset_texts = list(_text_files(archive, limits, warnings))
    code_strings = [
        (descriptor_to_class(body.class_descriptor), detector.owner_of(descriptor_to_class(body.class_descriptor)), s)
        for body in program.methods()
        for _, s in body.strings
    ]
    for descriptor in sorted(program.classes):
        name = descriptor_to_class(descriptor)
        code_strings += [(name, detector.owner_of(name), s) for s in program.classes[descriptor].static_strings]
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
    policy_files = list(_policy_files(archive, limits, warnings))
    policy = policy_signals(
        policy_files,
        urls=[e.url for e in endpoints],
        strings=consent_sources,
        code_strings=[(f"dex:{cls}", s) for cls, _owner, s in code_strings if "同意" in s or "agree" in s.lower()],
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

    warnings = [ParseWarning(code=w.code, message=w.message, where=w.where) for w in archive.warnings] + warnings
    report("done")
    return Evidence(
        engine_version=ENGINE_VERSION,
        sdk_catalog_version=catalog.version,
        identity=identity,
        permissions=read_permissions(root, resolver, permission_table()),
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
        warnings=warnings,
    )


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
        try:
            yield PackagedFile(path=entry.name, size=entry.uncompressed_size, data=archive.read(entry.name))
        except MalformedStructureError as exc:  # hostile-container errors propagate
            warnings.append(ParseWarning(code="asset_unreadable", message=str(exc), where=entry.name))
