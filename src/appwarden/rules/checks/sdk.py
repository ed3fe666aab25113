"""Third-party SDK checks: SDK started before consent, SDK PI-reaching call sites, SDK PI beyond the type.

Every finding is attributed to the SDK (owner = SDK id) and names its vendor, so a
notice can tell the app operator which vendor's component does what.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from appwarden.evidence.model import APP_OWNER, ApiCall, CallPath, Evidence
from appwarden.findings import Finding
from appwarden.rules.checks._common import (
    call_path_ref,
    call_site_refs,
    component_ref,
    covered,
    decided_app_type,
    is_judged,
    pi_names,
    sdk_name,
    sdk_ref,
    sdk_vendor,
)
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check


def _sdk_of(path: CallPath) -> str | None:
    if path.target_kind == "sdk_init":
        return path.sdk or (path.owner if path.owner != APP_OWNER else None)
    return path.owner if path.owner != APP_OWNER and path.pi_types else None


@check("sdk_before_consent")
def sdk_before_consent(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """An SDK is initialised, or its code reaches PI, on a path that runs before the user can consent.

    Also reported, at low confidence: an SDK that reaches PI and ships an auto-starting
    ContentProvider (it runs at process start, before any consent dialog).
    """
    by_sdk: dict[str, list[CallPath]] = defaultdict(list)
    for path in ev.early_paths:
        sdk_id = _sdk_of(path)
        if sdk_id is not None:
            by_sdk[sdk_id].append(path)
    for sdk_id, paths in sorted(by_sdk.items()):
        paths.sort(key=lambda p: (p.entry, p.target, p.steps))
        inits = [p for p in paths if p.target_kind == "sdk_init"]
        pis = {pi for p in paths for pi in p.pi_types}
        sdk = ev.sdk(sdk_id)
        pis.update(sdk.reaches_pi if sdk else [])
        name = sdk_name(ev, sdk_id)
        pis_zh, pis_en = pi_names(pis) if pis else ("个人信息", "PI")
        what_zh = "初始化" if inits else "调用个人信息相关接口"
        what_en = "is initialised" if inits else "reaches PI APIs"
        yield ctx.finding(
            message_zh=f"第三方SDK {name} 在用户同意前{what_zh}（{paths[0].entry}），可获取{pis_zh}。",
            message_en=f"Third-party SDK {name} {what_en} before consent (from {paths[0].entry}); it can reach {pis_en}.",
            evidence=[*([sdk_ref(sdk)] if sdk else []), *(call_path_ref(p) for p in paths[:10])],
            confidence="medium" if inits or pis else "low",
            owner=sdk_id,
            sdk_vendor=sdk_vendor(ev, sdk_id),
            key_parts=("early_path",),
        )
    for component in sorted(ev.components, key=lambda c: c.name):
        sdk_id = component.owner
        if component.kind != "provider" or not component.enabled or sdk_id == APP_OWNER or sdk_id in by_sdk:
            continue
        sdk = ev.sdk(sdk_id)
        if sdk is None or not sdk.reaches_pi:
            continue
        pis_zh, pis_en = pi_names(sdk.reaches_pi)
        yield ctx.finding(
            message_zh=f"第三方SDK {sdk.name} 通过ContentProvider {component.name} 随进程自动启动（早于同意），其代码可获取{pis_zh}。",
            message_en=(
                f"Third-party SDK {sdk.name} starts itself with the process through provider {component.name} "
                f"(before consent); its code can reach {pis_en}."
            ),
            evidence=[sdk_ref(sdk), component_ref(component)],
            confidence="low",
            owner=sdk_id,
            sdk_vendor=sdk_vendor(ev, sdk_id),
            key_parts=("auto_init_provider", component.name),
        )


def _sdk_calls(ev: Evidence) -> dict[str, list[ApiCall]]:
    by_sdk: dict[str, list[ApiCall]] = defaultdict(list)
    for c in ev.api_calls:
        if c.owner != APP_OWNER and c.pi_types:
            by_sdk[c.owner].append(c)
    return dict(by_sdk)


@check("sdk_pi_call_sites")
def sdk_pi_call_sites(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Each SDK whose own code calls PI-returning APIs, with the call sites: it must be disclosed."""
    for sdk_id, calls in sorted(_sdk_calls(ev).items()):
        sdk = ev.sdk(sdk_id)
        name = sdk_name(ev, sdk_id)
        vendor = sdk_vendor(ev, sdk_id)
        pis_zh, pis_en = pi_names({pi for c in calls for pi in c.pi_types})
        undeclared = sorted({pi for c in calls for pi in c.pi_types} - set(sdk.pi_declared_by_vendor if sdk else []))
        note_en = (
            f"; not in the vendor's own disclosure: {', '.join(undeclared)}"
            if sdk and sdk.pi_declared_by_vendor and undeclared
            else ""
        )
        yield ctx.finding(
            message_zh=f"第三方SDK {name}（{vendor or '提供方未知'}）的代码在{len(calls)}处调用可获取{pis_zh}的接口，应在隐私政策中逐项说明。",
            message_en=(
                f"Third-party SDK {name} ({vendor or 'unknown vendor'}) calls APIs reaching {pis_en} at {len(calls)} "
                f"call site(s); the privacy policy must disclose it{note_en}."
            ),
            evidence=[*([sdk_ref(sdk)] if sdk else []), *call_site_refs(calls)],
            confidence="high" if any(c.confidence == "high" for c in calls) else "medium",
            owner=sdk_id,
            sdk_vendor=vendor,
            key_parts=tuple(sorted({pi for c in calls for pi in c.pi_types})),
        )


@check("sdk_pi_beyond_app_type")
def sdk_pi_beyond_app_type(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """SDK code reaches judged PI that the decided app type does not need."""
    app_type = decided_app_type(ctx)
    for sdk_id, calls in sorted(_sdk_calls(ev).items()):
        beyond_calls = [
            c for c in calls if any(is_judged(pi) and not covered(pi, app_type.necessary_pi) for pi in c.pi_types)
        ]
        if not beyond_calls:
            continue
        beyond = {
            pi for c in beyond_calls for pi in c.pi_types if is_judged(pi) and not covered(pi, app_type.necessary_pi)
        }
        name = sdk_name(ev, sdk_id)
        pis_zh, pis_en = pi_names(beyond)
        sdk = ev.sdk(sdk_id)
        yield ctx.finding(
            message_zh=f"第三方SDK {name} 可获取{pis_zh}，超出“{app_type.name_zh}”App基本功能所需。",
            message_en=f"Third-party SDK {name} can reach {pis_en}, beyond what a '{app_type.name_en}' app needs.",
            evidence=[*([sdk_ref(sdk)] if sdk else []), *call_site_refs(beyond_calls)],
            owner=sdk_id,
            sdk_vendor=sdk_vendor(ev, sdk_id),
            key_parts=(app_type.id, *sorted(beyond)),
        )
