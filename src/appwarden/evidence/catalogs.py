"""Reference data the evidence stage reads: the SDK catalog, init APIs, permissions, APIs.

Everything here is loaded once per process from ``appwarden/data`` and is immutable.
Loaders return typed records, never raw dicts, so the matching code reads like the domain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from appwarden.errors import ConfigurationError
from appwarden.regs import load_regs

# libyaml's loader when available: the regs files are large and loaded once per process.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Vendor:
    id: str
    name: str
    name_zh: str | None
    legal_names_zh: tuple[str, ...]
    country: str | None
    domains: tuple[str, ...]


@dataclass(frozen=True)
class SdkDefinition:
    """One catalogued SDK: what identifies it and what its vendor says it collects."""

    id: str
    name: str
    name_zh: str | None = None
    vendor: str | None = None
    country: str | None = None
    categories: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    broad_prefixes: tuple[str, ...] = ()
    component_regex: tuple[str, ...] = ()
    manifest_components: tuple[str, ...] = ()
    native_libs: tuple[str, ...] = ()
    meta_data_keys: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    pi_declared: tuple[str, ...] = ()


@dataclass(frozen=True)
class InitApi:
    """A method whose invocation starts an SDK. ``method`` '<init>' is a constructor."""

    sdk: str
    class_descriptor: str
    methods: frozenset[str]


@dataclass(frozen=True)
class SdkCatalog:
    version: str
    sdks: tuple[SdkDefinition, ...]
    vendors: dict[str, Vendor]
    init_apis: tuple[InitApi, ...] = ()
    init_components: dict[str, str] = field(default_factory=dict)

    def by_id(self) -> dict[str, SdkDefinition]:
        return {s.id: s for s in self.sdks}


@dataclass(frozen=True)
class PermissionInfo:
    name: str
    protection_level: str | None
    pi_types: tuple[str, ...]


@dataclass(frozen=True)
class ApiSpec:
    """One entry of regs/apis.yaml that can be matched in DEX code."""

    descriptor: str
    kind: str
    pi_types: tuple[str, ...]
    confidence: str = "high"
    string_argument: tuple[str, ...] = ()


def _data_text(*parts: str) -> str:
    try:
        return resources.files("appwarden").joinpath("data", *parts).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise ConfigurationError(
            f"appwarden data file data/{'/'.join(parts)} is missing", detail="reinstall the package"
        ) from exc


def _tuple(value: Any) -> tuple[str, ...]:
    # map() rather than a generator: the catalog has 10^4 such lists, loaded on every start.
    return tuple(map(str, value)) if value else ()


def parse_sdk_catalog(catalog: dict[str, Any], init_data: dict[str, Any] | None = None) -> SdkCatalog:
    """Build an :class:`SdkCatalog` from the JSON catalog and the init-API table."""
    if catalog.get("format") != "appwarden-sdk-catalog":
        raise ConfigurationError(
            "the SDK catalog is not in appwarden's format", detail="rebuild it with tools/build_sdk_catalog.py"
        )
    sdks = tuple(
        SdkDefinition(
            id=e["id"],
            name=e["name"],
            name_zh=e.get("name_zh"),
            vendor=e.get("vendor"),
            country=e.get("country"),
            categories=_tuple(e.get("categories")),
            prefixes=_tuple(e.get("prefixes")),
            broad_prefixes=_tuple(e.get("broad_prefixes")),
            component_regex=_tuple(e.get("component_regex")),
            manifest_components=_tuple(e.get("manifest_components")),
            native_libs=_tuple(e.get("native_libs")),
            meta_data_keys=_tuple(e.get("meta_data_keys")),
            domains=_tuple(e.get("domains")),
            pi_declared=_tuple(e.get("pi_declared")),
        )
        for e in catalog.get("sdks", [])
    )
    vendors = {
        vid: Vendor(
            id=vid,
            name=v.get("name") or vid,
            name_zh=v.get("name_zh"),
            legal_names_zh=_tuple(v.get("legal_names_zh")),
            country=v.get("country"),
            domains=_tuple(v.get("domains")),
        )
        for vid, v in (catalog.get("vendors") or {}).items()
    }
    init_data = init_data or {}
    init_apis = tuple(
        InitApi(sdk=a["sdk"], class_descriptor=a["class"], methods=frozenset(a["methods"]))
        for a in init_data.get("init_apis") or []
    )
    init_components = {c["component"]: c["sdk"] for c in init_data.get("init_components") or []}
    return SdkCatalog(
        version=str(catalog.get("catalog_version", "unknown")),
        sdks=sdks,
        vendors=vendors,
        init_apis=init_apis,
        init_components=init_components,
    )


@lru_cache(maxsize=1)
def sdk_catalog() -> SdkCatalog:
    """The SDK catalog shipped with appwarden (data/sdk/catalog.json + init_apis.yaml)."""
    catalog = json.loads(_data_text("sdk", "catalog.json"))
    init_data = yaml.load(_data_text("sdk", "init_apis.yaml"), Loader=_YAML_LOADER)
    return parse_sdk_catalog(catalog, init_data)


@lru_cache(maxsize=1)
def permission_table() -> dict[str, PermissionInfo]:
    """Permissions from regs/permissions.yaml keyed by full name."""
    data = load_regs("permissions.yaml") or {}
    table: dict[str, PermissionInfo] = {}
    for p in data.get("permissions") or []:
        table[p["name"]] = PermissionInfo(
            name=p["name"], protection_level=p.get("protection_level"), pi_types=_tuple(p.get("pi_types"))
        )
    return table


def _string_arguments(match: Any) -> tuple[str, ...]:
    if not isinstance(match, dict) or "string_argument" not in match:
        return ()
    return tuple(s for s in str(match["string_argument"]).split("|") if s)


@lru_cache(maxsize=1)
def api_specs() -> tuple[ApiSpec, ...]:
    """Matchable entries of regs/apis.yaml (manifest_feature entries and ones without a descriptor are skipped)."""
    data = load_regs("apis.yaml") or {}
    specs: list[ApiSpec] = []
    for a in data.get("apis") or []:
        descriptor = a.get("descriptor")
        kind = a.get("kind")
        if not descriptor or kind not in {"invoke", "field", "content_uri", "string", "class_any"}:
            continue
        specs.append(
            ApiSpec(
                descriptor=descriptor,
                kind=kind,
                pi_types=_tuple(a.get("pi_types")),
                confidence=a.get("confidence") if a.get("confidence") in {"high", "medium", "low"} else "high",
                string_argument=_string_arguments(a.get("match")),
            )
        )
    return tuple(specs)
