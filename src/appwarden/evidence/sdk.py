"""Third-party SDK detection against appwarden's SDK catalog.

Class attribution is a longest-prefix match over dotted package segments: a prefix table
(dict keyed by dotted prefix) is probed once per package segment, so 50k classes against
thousands of prefixes cost a few hundred thousand dict look-ups, and results are cached per
package. Broad vendor namespaces were demoted at catalog build time and never identify an
SDK here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from appwarden.evidence.callgraph import InitSite
from appwarden.evidence.calls import ProgramIndex, descriptor_to_class, split_member
from appwarden.evidence.catalogs import SdkCatalog, SdkDefinition
from appwarden.evidence.model import APP_OWNER, Component, MetaData, SdkEvidence, SdkMatch

#: At most this many example classes are listed per SDK.
MAX_EXAMPLE_CLASSES = 5


class PrefixMatcher:
    """Longest dotted-prefix lookup: 'com.umeng.commonsdk.UMConfigure' -> the SDK owning the longest prefix."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        self._table = dict(prefixes)
        #: Packages some prefix sits directly in: only there can a prefix name a class.
        self.entry_parents = frozenset(p.rpartition(".")[0] for p in self._table)
        self._max_depth = max((p.count(".") + 1 for p in self._table), default=0)
        self._package_cache: dict[str, tuple[str, str] | None] = {}

    def match(self, class_name: str) -> tuple[str, str] | None:
        """(sdk id, matched prefix) for a dotted class name, or None."""
        package, _, simple = class_name.rpartition(".")
        outer = simple.split("$", 1)[0]
        # A prefix may name a class itself (com.mob.MobSDK): check the outer class name first.
        full = f"{package}.{outer}" if package else outer
        hit = self._table.get(full)
        if hit is not None:
            return hit, full
        return self.match_package(package)

    def match_package(self, package: str) -> tuple[str, str] | None:
        """(sdk id, matched prefix) for the longest prefix that is this dotted package or contains it."""
        if package in self._package_cache:
            return self._package_cache[package]
        result: tuple[str, str] | None = None
        segments = package.split(".") if package else []
        for depth in range(min(len(segments), self._max_depth), 0, -1):
            candidate = ".".join(segments[:depth])
            sdk_id = self._table.get(candidate)
            if sdk_id is not None:
                result = (sdk_id, candidate)
                break
        self._package_cache[package] = result
        return result


@dataclass
class _Accumulator:
    definition: SdkDefinition
    prefixes: set[str] = field(default_factory=set)
    example_classes: list[str] = field(default_factory=list)
    class_count: int = 0
    native_libs: set[str] = field(default_factory=set)
    components: set[str] = field(default_factory=set)
    meta_keys: set[str] = field(default_factory=set)


class SdkDetector:
    """Matches an app's classes, native libraries and manifest entries against the catalog."""

    def __init__(self, catalog: SdkCatalog) -> None:
        self.catalog = catalog
        self.definitions = catalog.by_id()
        prefix_table: dict[str, str] = {}
        self._native: dict[str, list[str]] = {}
        self._components: dict[str, list[str]] = {}
        self._meta_keys: dict[str, list[str]] = {}
        regexes: list[tuple[re.Pattern[str], str]] = []
        for sdk in catalog.sdks:
            for p in sdk.prefixes:
                prefix_table.setdefault(p, sdk.id)
            for lib in sdk.native_libs:
                self._native.setdefault(lib, []).append(sdk.id)
            for comp in sdk.manifest_components:
                self._components.setdefault(comp, []).append(sdk.id)
            for key in sdk.meta_data_keys:
                self._meta_keys.setdefault(key, []).append(sdk.id)
            for rx in sdk.component_regex:
                try:
                    regexes.append((re.compile(rx), sdk.id))
                except re.error:
                    continue  # a broken upstream regex must not stop a scan
        self._regexes = regexes
        self.prefixes = PrefixMatcher(prefix_table)
        self._adopted_roots: dict[str, str] = {}
        # Every root _set_adopted_roots could ever adopt (from any SDK's prefixes): bounds may_own.
        self._adoptable_roots = {
            ".".join(parts[:2]) for sdk in catalog.sdks for p in sdk.prefixes if len(parts := p.split(".")) >= 3
        }

    def owner_of(self, class_name: str) -> str:
        """'app' or the id of the SDK whose namespace this dotted class name is in."""
        hit = self.prefixes.match(class_name)
        if hit:
            return hit[0]
        adopted = self._adopt(class_name)
        return adopted or APP_OWNER

    def may_own(self, class_name: str) -> bool:
        """False only when :meth:`owner_of` is 'app' for this dotted class name whatever SDKs are detected."""
        if self.prefixes.match(class_name) is not None:
            return True
        parts = class_name.split(".")
        return len(parts) >= 4 and len(parts[2]) <= 2 and f"{parts[0]}.{parts[1]}" in self._adoptable_roots

    def package_ownership(self, package: str) -> Literal["sdk", "all", "some", "none"]:
        """What :meth:`may_own` says for the classes directly in this dotted package: True for
        "sdk" and "all", False for "none", and for "some" it depends on the class (a prefix names a
        class here). "sdk": a prefix matches the package itself, so :meth:`owner_of` gives an SDK
        for every class in it whatever is detected.

        Lets a caller decide for a whole package at once (an app references 10^4 framework and
        own classes in a few hundred packages).
        """
        if self.prefixes.match_package(package) is not None:
            return "sdk"
        parts = package.split(".")
        if len(parts) >= 3 and len(parts[2]) <= 2 and f"{parts[0]}.{parts[1]}" in self._adoptable_roots:
            return "all"
        return "some" if package in self.prefixes.entry_parents else "none"

    def _adopt(self, class_name: str) -> str | None:
        """Obfuscated SDK code: 'com.umeng.a.b' belongs to the one SDK detected under 'com.umeng'.

        Only when the segment after the two-segment root is obfuscated-looking (at most two
        characters), and the root is not the app's own, so readable library code under a
        vendor-wide namespace is never attributed by this rule.
        """
        if not self._adopted_roots:
            return None
        parts = class_name.split(".")
        if len(parts) < 4 or len(parts[2]) > 2:
            return None
        return self._adopted_roots.get(f"{parts[0]}.{parts[1]}")

    def _set_adopted_roots(self, found: Mapping[str, _Accumulator], app_package: str) -> None:
        by_root: dict[str, set[str]] = {}
        for sdk_id, a in found.items():
            for prefix in a.definition.prefixes:
                parts = prefix.split(".")
                if len(parts) >= 3:
                    by_root.setdefault(f"{parts[0]}.{parts[1]}", set()).add(sdk_id)
        app_root = ".".join(app_package.split(".")[:2])
        self._adopted_roots = {}
        for root, ids in by_root.items():
            vendors = {self.definitions[i].vendor for i in ids}
            if root == app_root or len(vendors) != 1:
                continue
            # The SDK with the most classes under the root wins; ties go to the smallest id.
            self._adopted_roots[root] = min(ids, key=lambda i: (-found[i].class_count, i))

    def owner_of_meta_key(self, key: str, scope: str) -> str:
        ids = self._meta_keys.get(key)
        if ids:
            return ids[0]
        if scope != "application":
            return self.owner_of(scope)
        return APP_OWNER

    def component_sdks(self, name: str) -> list[str]:
        ids = list(self._components.get(name, []))
        if not ids:
            ids = [sdk_id for rx, sdk_id in self._regexes if rx.fullmatch(name)]
        return ids

    def detect(
        self,
        class_names: Iterable[str],
        *,
        native_libs: Iterable[str] = (),
        components: Iterable[Component] = (),
        meta_data: Iterable[MetaData] = (),
        app_package: str = "",
    ) -> dict[str, _Accumulator]:
        """Collect the evidence per SDK id (only SDKs with at least one piece of evidence).

        After this call :meth:`owner_of` also attributes obfuscated classes under the root
        namespace of a detected SDK (see :meth:`_adopt`).
        """
        found: dict[str, _Accumulator] = {}

        def acc(sdk_id: str) -> _Accumulator:
            if sdk_id not in found:
                found[sdk_id] = _Accumulator(self.definitions[sdk_id])
            return found[sdk_id]

        self._adopted_roots = {}
        unmatched: list[str] = []
        for name in sorted(class_names):
            hit = self.prefixes.match(name)
            if hit is None:
                unmatched.append(name)
                continue
            a = acc(hit[0])
            a.prefixes.add(hit[1])
            a.class_count += 1
            if len(a.example_classes) < MAX_EXAMPLE_CLASSES:
                a.example_classes.append(name)
        for lib in native_libs:
            for sdk_id in self._native.get(lib, []):
                acc(sdk_id).native_libs.add(lib)
        for comp in components:
            for sdk_id in self.component_sdks(comp.name):
                acc(sdk_id).components.add(f"{comp.kind}:{comp.name}")
            owner = self.owner_of(comp.name)
            if owner != APP_OWNER:
                acc(owner).components.add(f"{comp.kind}:{comp.name}")
        for md in meta_data:
            for sdk_id in self._meta_keys.get(md.name, []):
                acc(sdk_id).meta_keys.add(md.name)
        self._set_adopted_roots(found, app_package)
        for name in unmatched:
            adopted = self._adopt(name)
            if adopted is None:
                continue
            a = found[adopted]
            a.prefixes.add(".".join(name.split(".")[:2]))
            a.class_count += 1
            if len(a.example_classes) < MAX_EXAMPLE_CLASSES:
                a.example_classes.append(name)
        return found


def build_sdk_matches(
    detector: SdkDetector,
    found: Mapping[str, _Accumulator],
    *,
    init_evidence: Mapping[str, Iterable[str]] | None = None,
    called: Iterable[str] = (),
    reaches_pi: Mapping[str, Iterable[str]] | None = None,
) -> list[SdkMatch]:
    """Turn accumulated evidence into SdkMatch records, sorted by id."""
    init_evidence = init_evidence or {}
    reaches_pi = reaches_pi or {}
    called_set = set(called)
    matches: list[SdkMatch] = []
    for sdk_id in sorted(found):
        a = found[sdk_id]
        d = a.definition
        vendor = detector.catalog.vendors.get(d.vendor or "")
        evidence: list[SdkEvidence] = []
        evidence += [SdkEvidence(kind="package_prefix", value=p) for p in sorted(a.prefixes)]
        evidence += [SdkEvidence(kind="class", value=c) for c in a.example_classes]
        evidence += [SdkEvidence(kind="native_lib", value=lib) for lib in sorted(a.native_libs)]
        for comp in sorted(a.components):
            kind, _, name = comp.partition(":")
            evidence.append(SdkEvidence(kind="manifest_component", value=name, detail=kind))
        evidence += [SdkEvidence(kind="meta_data", value=k) for k in sorted(a.meta_keys)]
        inits = sorted(set(init_evidence.get(sdk_id, ())))
        matches.append(
            SdkMatch(
                id=sdk_id,
                name=d.name,
                name_zh=d.name_zh,
                vendor=vendor.name if vendor else d.vendor,
                vendor_zh=(vendor.legal_names_zh[0] if vendor.legal_names_zh else vendor.name_zh) if vendor else None,
                country=d.country,
                categories=list(d.categories),
                pi_declared_by_vendor=list(d.pi_declared),
                evidence=evidence,
                class_count=a.class_count,
                initialised=bool(inits),
                called=sdk_id in called_set,
                init_evidence=inits,
                reaches_pi=sorted(set(reaches_pi.get(sdk_id, ()))),
            )
        )
    return matches


def find_init_sites(program: ProgramIndex, catalog: SdkCatalog, owner_of: Callable[[str], str]) -> list[InitSite]:
    """Call sites of catalogued SDK init APIs whose caller is not the SDK itself."""
    table: dict[tuple[str, str], str] = {}
    for api in catalog.init_apis:
        for method in api.methods:
            table[(api.class_descriptor, method)] = api.sdk
    sites: dict[tuple[str, str], InitSite] = {}
    owners: dict[str, str] = {}
    callee_sdk: dict[str, str | None] = {}  # decided once per referenced method
    for body in program.methods():
        for _, callee in body.invokes:
            if callee in callee_sdk:
                sdk_id = callee_sdk[callee]
            else:
                cls, member = split_member(callee)
                sdk_id = callee_sdk[callee] = table.get((cls, member.split("(", 1)[0]))
            if sdk_id is None:
                continue
            caller_owner = owners.get(body.class_descriptor)
            if caller_owner is None:
                caller_owner = owners[body.class_descriptor] = owner_of(descriptor_to_class(body.class_descriptor))
            if caller_owner == sdk_id:
                continue
            sites.setdefault((body.descriptor, callee), InitSite(sdk=sdk_id, caller=body.descriptor, api=callee))
    return [sites[k] for k in sorted(sites)]


def find_called_sdks(program: ProgramIndex, owner_of: Callable[[str], str]) -> set[str]:
    """SDK ids whose classes app-owned code invokes."""
    called: set[str] = set()
    class_owner: dict[str, str] = {}
    callee_owner: dict[str, str] = {}
    for body in program.methods():
        if not body.invokes:
            continue
        caller = body.class_descriptor
        if caller not in class_owner:
            class_owner[caller] = owner_of(descriptor_to_class(caller))
        if class_owner[caller] != APP_OWNER:
            continue
        for _, callee in body.invokes:
            owner = callee_owner.get(callee)
            if owner is None:
                cls = split_member(callee)[0]
                if cls not in class_owner:
                    class_owner[cls] = owner_of(descriptor_to_class(cls))
                owner = callee_owner[callee] = class_owner[cls]
            if owner != APP_OWNER:
                called.add(owner)
    for caller, callee_classes in program.class_invokes.items():
        if caller not in class_owner:
            class_owner[caller] = owner_of(descriptor_to_class(caller))
        if class_owner[caller] != APP_OWNER:
            continue
        for cls in callee_classes:
            if cls not in class_owner:
                class_owner[cls] = owner_of(descriptor_to_class(cls))
            if class_owner[cls] != APP_OWNER:
                called.add(class_owner[cls])
    return called
