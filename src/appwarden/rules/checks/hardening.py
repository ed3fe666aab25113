"""Hardening and dynamic loading (an info notice, not a violation) and uninstall obstacles (device admin)."""

from __future__ import annotations

from collections.abc import Iterator

from appwarden.evidence.model import Evidence
from appwarden.findings import EvidenceRef, Finding
from appwarden.rules.checks._common import component_ref
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check

DEVICE_ADMIN_PERMISSION = "android.permission.BIND_DEVICE_ADMIN"
DEVICE_ADMIN_ACTION = "android.app.action.DEVICE_ADMIN_ENABLED"


@check("hidden_code_notice")
def hidden_code_notice(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Packers, encrypted DEX or dynamic code loading: say that static evidence may be incomplete."""
    h = ev.hardening
    if not (h.packers or h.encrypted_dex_assets or h.dynamic_code_loading):
        return
    refs = [
        *(EvidenceRef(kind="hardening", summary=f"packer {p.name}", data=p.model_dump(mode="json")) for p in h.packers),
        *(
            EvidenceRef(kind="hardening", summary=f"encrypted DEX asset {a}", data={"asset": a})
            for a in h.encrypted_dex_assets
        ),
        *(
            EvidenceRef(
                kind="hardening",
                summary=f"dynamic code loading in {c.caller_class}.{c.caller_method}",
                data=c.model_dump(mode="json"),
            )
            for c in h.dynamic_code_loading[:10]
        ),
    ]
    kinds_en = [
        label
        for label, present in (
            ("packed", bool(h.packers)),
            ("encrypted DEX", bool(h.encrypted_dex_assets)),
            ("dynamic code loading", bool(h.dynamic_code_loading)),
        )
        if present
    ]
    yield ctx.finding(
        message_zh="App存在加固、加密DEX或动态加载代码；这本身不违规，但静态证据可能不完整，未发现的问题不代表不存在。",
        message_en=(
            f"The app is {', '.join(kinds_en)}. This is not a violation by itself, but static evidence may be "
            "incomplete: problems not found here may still exist."
        ),
        evidence=refs,
        confidence="high",
        key_parts=tuple(kinds_en),
    )


@check("device_admin_blocks_uninstall")
def device_admin_blocks_uninstall(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """A device-admin receiver: once activated, the app cannot be uninstalled until it is deactivated."""
    for c in sorted(ev.components, key=lambda c: c.name):
        actions = {a for f in c.intent_filters for a in f.actions}
        if c.kind != "receiver" or (c.permission != DEVICE_ADMIN_PERMISSION and DEVICE_ADMIN_ACTION not in actions):
            continue
        yield ctx.finding(
            message_zh=f"App声明了设备管理器组件 {c.name}；激活后用户须先取消激活才能卸载App。",
            message_en=f"The app declares device-admin receiver {c.name}; once activated, it must be deactivated before it can be uninstalled.",
            evidence=[component_ref(c)],
            owner=c.owner,
            key_parts=(c.name,),
        )
