"""Self-start and associated start observed in a runtime trace (app_start events not caused by the user).

The static rules (AW-START-*) say the app *can* start itself; these say it *did*:
boot and broadcast starts are self-start, starts by another package or by a push
channel are associated start.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Literal

from appwarden.evidence.model import APP_OWNER, Evidence
from appwarden.evidence.trace import AppStartEvent
from appwarden.findings import Finding
from appwarden.rules.checks.dynamic_common import owners, require_trace, trace_refs, vendor_of, who
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check

StartScope = Literal["any", "sdk"]

#: Catalog items decided by an observed self-start or associated start.
SELF_START: dict[str, StartScope] = {
    "AW-T7810-001": "any",  # R078.10-01 未明示未同意且无合理场景自启动/关联启动
    "AW-M164-006": "any",  # RM164-06 APP频繁自启动和关联启动
    "AW-M26-006": "any",  # RM26-06 启动运行场景合理
    "AW-T7810-004": "sdk",  # R078.10-04 SDK非必需启动/关联启动APP
}

_KIND = {
    "boot": ("self", "开机自启动", "self-start at boot"),
    "broadcast": ("self", "系统广播唤醒自启动", "self-start by a broadcast"),
    "other_app": ("associated", "被其他App关联启动", "associated start by another app"),
    "push": ("associated", "被推送通道唤醒启动", "start by a push channel"),
}


def _owner(e: AppStartEvent) -> str:
    """The SDK whose component was started (push services, receivers), else the app."""
    return owners().owner_of_class(e.component) if e.component else APP_OWNER


def _observed_start(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """One finding per (owner, cause) of app starts the user did not make."""
    trace = require_trace(ctx)
    scope = SELF_START[ctx.rule.id]
    grouped: dict[tuple[str, str], list[AppStartEvent]] = defaultdict(list)
    for e in trace.of_type(AppStartEvent):
        if e.cause == "user":
            continue
        owner = _owner(e)
        if scope == "sdk" and owner == APP_OWNER:
            continue
        grouped[(owner, e.cause)].append(e)
    for (owner, cause), events in sorted(grouped.items()):
        _kind, label_zh, label_en = _KIND[cause]
        callers = sorted({e.caller_package for e in events if e.caller_package})
        by_zh = f"（发起方：{'、'.join(callers[:5])}）" if callers else ""
        by_en = f" (by {', '.join(callers[:5])})" if callers else ""
        components = sorted({e.component for e in events if e.component})
        who_zh, who_en = who(owner)
        via_zh = f"，经{who_zh}的组件 {', '.join(components[:3])}" if components else ""
        via_en = f", through {who_en} component {', '.join(components[:3])}" if components else ""
        yield ctx.finding(
            message_zh=f"运行轨迹记录到App{label_zh}{len(events)}次{by_zh}{via_zh}。",
            message_en=f"The runtime trace records {len(events)} {label_en}{by_en}{via_en}.",
            evidence=trace_refs(events),
            # The start itself is observed; whether a reasonable scenario or consent covers it is for a reviewer.
            confidence="medium",
            owner=owner,
            sdk_vendor=vendor_of(owner),
            key_parts=(cause, *components[:3]),
        )


for _rule_id in SELF_START:
    check(_rule_id)(_observed_start)
