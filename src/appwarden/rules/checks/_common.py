"""What several checks share: the standards data they judge against and evidence references.

Kept free of any one rule's logic; every function here is pure and cached data is read-only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from appwarden.evidence.model import (
    APP_OWNER,
    ApiCall,
    CallPath,
    Component,
    Endpoint,
    Evidence,
    Permission,
    SdkMatch,
)
from appwarden.findings import EvidenceRef
from appwarden.regs import load_regs
from appwarden.rules.app_type import AppType, app_types
from appwarden.rules.model import RuleContext, RuleNotApplicable

#: At most this many call sites are quoted in one finding; the rest are counted.
MAX_CALL_SITES = 20

#: libyaml's C loader when available (10x faster on the standards data), else the pure-Python one.

#: The "PI-12" set of T/TAF 078.1 (IMEI, IMSI, MAC, app list, location, contacts, call log,
#: calendar, SMS, own number, images, audio/video) as pi_types ids: minimum-necessary
#: findings are about these and about sensitive PI, not about device model or OS version.
PI12 = frozenset(
    {
        "imei",
        "imsi",
        "mac_address",
        "installed_app_list",
        "location",
        "contacts",
        "call_log",
        "calendar",
        "sms",
        "mobile_phone_number",
        "picture",
        "audio_recording",
        "video",
        "device_identifier",
    }
)


def _regs(name: str) -> Any:
    return load_regs(name)


@dataclass(frozen=True)
class PiType:
    id: str
    name_zh: str
    name_en: str
    parent: str | None
    sensitive: bool


@lru_cache(maxsize=1)
def pi_types() -> dict[str, PiType]:
    return {
        t["id"]: PiType(t["id"], t["name_zh"], t["name_en"], t.get("parent"), bool(t.get("sensitive")))
        for t in _regs("pi_types.yaml")["pi_types"]
    }


@lru_cache(maxsize=4096)
def ancestors(pi: str) -> tuple[str, ...]:
    """``pi`` and its parents up to the root (cycle-safe)."""
    chain: list[str] = []
    types = pi_types()
    current: str | None = pi
    while current is not None and current not in chain:
        chain.append(current)
        current = types[current].parent if current in types else None
    return tuple(chain)


def root_of(pi: str) -> str:
    return ancestors(pi)[-1]


@lru_cache(maxsize=4096)
def is_judged(pi: str) -> bool:
    """PI that minimum-necessary rules judge: sensitive PI or anything in (or under) the PI-12 set."""
    info = pi_types().get(pi)
    return bool(info and info.sensitive) or any(a in PI12 for a in ancestors(pi))


def covered(pi: str, necessary: Iterable[str]) -> bool:
    """True when ``pi`` or one of its parents is necessary (a parent type covers its children)."""
    needed = set(necessary)
    return any(a in needed for a in ancestors(pi))


def pi_label(pi: str) -> tuple[str, str]:
    info = pi_types().get(pi)
    return (info.name_zh, info.name_en) if info else (pi, pi)


def pi_names(pis: Iterable[str]) -> tuple[str, str]:
    ordered = sorted(set(pis))
    return "、".join(pi_label(p)[0] for p in ordered), ", ".join(pi_label(p)[1] for p in ordered)


@dataclass(frozen=True)
class PermissionInfo:
    name: str
    short: str
    dangerous: bool
    special: bool
    pi_types: tuple[str, ...]
    not_recommended_for: tuple[str, ...]


@lru_cache(maxsize=1)
def permission_catalog() -> dict[str, PermissionInfo]:
    out: dict[str, PermissionInfo] = {}
    for p in _regs("permissions.yaml")["permissions"]:
        annex = p.get("pg20204a_annex_d") or {}
        out[p["name"]] = PermissionInfo(
            name=p["name"],
            short=p["short"],
            dangerous="dangerous" in str(p.get("protection_level", "")),
            special=bool(p.get("special")),
            pi_types=tuple(p.get("pi_types") or ()),
            not_recommended_for=tuple(annex.get("not_recommended_for") or ()),
        )
    return out


@lru_cache(maxsize=1)
def apis_by_permission() -> dict[str, frozenset[str]]:
    """Permission name -> API descriptors that need it (apis.yaml, from androguard's permission maps)."""
    out: dict[str, set[str]] = {}
    for api in _regs("apis.yaml")["apis"]:
        descriptor = api.get("descriptor")
        if not descriptor:
            continue
        for permission in api.get("androguard_permission_mapping") or ():
            out.setdefault(permission, set()).add(descriptor)
    return {k: frozenset(v) for k, v in out.items()}


def decided_app_type(ctx: RuleContext) -> AppType:
    """The app type to judge against, or RuleNotApplicable saying why there is none."""
    decided = ctx.app_type.decided
    if decided is None:
        raise RuleNotApplicable(f"app type not decided: {ctx.app_type.reason}")
    found = app_types().get(decided)
    if found is None:
        raise RuleNotApplicable(f"app type {decided!r} is not one of the 39 types")
    return found


def type_label(t: AppType) -> tuple[str, str]:
    return t.name_zh, t.name_en


def sdk_vendor(ev: Evidence, owner: str) -> str | None:
    if owner == APP_OWNER:
        return None
    sdk = ev.sdk(owner)
    if sdk is None:
        return None
    return sdk.vendor_zh or sdk.vendor


def sdk_name(ev: Evidence, owner: str) -> str:
    sdk = ev.sdk(owner)
    if sdk is None:
        return owner
    return sdk.name


# -- evidence references -----------------------------------------------------------------


def permission_ref(p: Permission) -> EvidenceRef:
    return EvidenceRef(
        kind="permission",
        summary=f"uses-permission {p.name}" + (f" -> {', '.join(p.pi_types)}" if p.pi_types else ""),
        data=p.model_dump(mode="json"),
    )


def api_call_ref(c: ApiCall) -> EvidenceRef:
    return EvidenceRef(
        kind="api_call",
        summary=f"{c.caller_class}.{c.caller_method} calls {c.api} ({', '.join(c.pi_types)}) [{c.dex}@{c.offset}]",
        data=c.model_dump(mode="json"),
    )


def call_path_ref(path: CallPath) -> EvidenceRef:
    return EvidenceRef(
        kind="call_path",
        summary=f"{path.entry_kind}: " + " -> ".join([*path.steps, path.target]),
        data=path.model_dump(mode="json"),
    )


def sdk_ref(s: SdkMatch) -> EvidenceRef:
    matched = ", ".join(f"{e.kind}:{e.value}" for e in s.evidence[:5])
    return EvidenceRef(
        kind="sdk",
        summary=f"SDK {s.name} ({s.vendor or 'unknown vendor'}) matched by {matched or 'catalog'}",
        data=s.model_dump(mode="json", exclude={"evidence"}),
    )


def component_ref(c: Component) -> EvidenceRef:
    actions = sorted({a for f in c.intent_filters for a in f.actions})
    exported = "exported" if c.exported else "not exported"
    return EvidenceRef(
        kind="component",
        summary=f"<{c.kind}> {c.name} ({exported})" + (f" actions: {', '.join(actions)}" if actions else ""),
        data=c.model_dump(mode="json"),
    )


def endpoint_ref(e: Endpoint) -> EvidenceRef:
    return EvidenceRef(
        kind="endpoint",
        summary=f"{e.url} in {e.source}" + (f" (SDK {e.sdk})" if e.sdk else ""),
        data=e.model_dump(mode="json"),
    )


def call_key(c: ApiCall) -> tuple[str, str, str, str, int, str]:
    """What identifies a call site (evidence records hold lists, so they are not hashable)."""
    return (c.caller_class, c.caller_method, c.api, c.dex, c.offset, c.owner)


def call_site_refs(calls: Iterable[ApiCall]) -> list[EvidenceRef]:
    """References to at most MAX_CALL_SITES call sites, in a stable order, plus a count of the rest."""
    unique = {call_key(c): c for c in calls}
    ordered = [unique[k] for k in sorted(unique)]
    refs = [api_call_ref(c) for c in ordered[:MAX_CALL_SITES]]
    if len(ordered) > MAX_CALL_SITES:
        refs.append(
            EvidenceRef(
                kind="api_call",
                summary=f"... and {len(ordered) - MAX_CALL_SITES} more call sites",
                data={"omitted": len(ordered) - MAX_CALL_SITES},
            )
        )
    return refs
