"""Self-start and associated start: wake-up broadcast receivers, push-SDK components other apps wake."""

from __future__ import annotations

import re
from collections.abc import Iterator

from appwarden.evidence.model import APP_OWNER, Component, Evidence
from appwarden.findings import Finding
from appwarden.rules.checks._common import component_ref, sdk_name, sdk_vendor
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check

#: Actions and class names push SDKs use so that apps sharing the SDK wake each other
#: (e.g. Getui's PushService action, JPush's DaemonService, Umeng/Alibaba agoo).
_MUTUAL_WAKE = re.compile(r"push|daemon|agoo|igexin|wake", re.IGNORECASE)


@check("wake_up_receivers")
def wake_up_receivers(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Enabled receivers of wake-up broadcasts (boot, connectivity, unlock...): the app can start itself."""
    for c in sorted(ev.components, key=lambda c: c.name):
        if c.kind != "receiver" or not c.enabled or not c.wake_up_actions:
            continue
        actions = ", ".join(sorted(c.wake_up_actions))
        owner = c.owner
        by_zh = f"（属第三方SDK {sdk_name(ev, owner)}）" if owner != APP_OWNER else ""
        by_en = f" (SDK {sdk_name(ev, owner)})" if owner != APP_OWNER else ""
        yield ctx.finding(
            message_zh=f"广播接收器 {c.name}{by_zh} 监听系统广播 {actions}，App可在用户未操作时自启动。",
            message_en=f"Receiver {c.name}{by_en} listens for {actions}: the app can start without the user.",
            evidence=[component_ref(c)],
            owner=owner,
            sdk_vendor=sdk_vendor(ev, owner),
            key_parts=(c.name,),
        )


def _wakeable_by_other_apps(ev: Evidence, c: Component) -> bool:
    if c.kind not in ("service", "provider", "receiver", "activity") or not c.exported or not c.enabled:
        return False
    if c.owner == APP_OWNER or c.permission is not None:
        return False
    sdk = ev.sdk(c.owner)
    push_sdk = sdk is not None and "push" in sdk.categories
    named_for_wake = bool(_MUTUAL_WAKE.search(c.name)) or any(
        _MUTUAL_WAKE.search(a) for f in c.intent_filters for a in f.actions
    )
    return c.kind != "activity" and (push_sdk or named_for_wake)


@check("associated_start_components")
def associated_start_components(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Exported, unprotected SDK components (push and similar) that other apps' copies of the SDK can start."""
    for c in sorted(ev.components, key=lambda c: c.name):
        if not _wakeable_by_other_apps(ev, c):
            continue
        name = sdk_name(ev, c.owner)
        sdk = ev.sdk(c.owner)
        yield ctx.finding(
            message_zh=f"第三方SDK {name} 的组件 {c.name} 已导出且无权限保护，集成同一SDK的其他App可借此唤醒本App（关联启动）。",
            message_en=(
                f"Component {c.name} of SDK {name} is exported without a permission: other apps embedding the same "
                "SDK can wake this app (associated start)."
            ),
            evidence=[component_ref(c)],
            confidence="medium" if sdk is not None and "push" in sdk.categories else "low",
            owner=c.owner,
            sdk_vendor=sdk_vendor(ev, c.owner),
            key_parts=(c.name,),
        )
