"""Collection before consent and after refusal, as a runtime trace shows it.

A collection is a hooked PI API call, a clipboard read or a sensor registration. Its
owner is the first frame of its stack outside the platform and plumbing libraries,
matched against the SDK catalog; one finding per owner names every PI type and API.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from appwarden.evidence.model import Evidence
from appwarden.evidence.trace import Collection, PermissionPromptEvent, collection_api, collection_pi
from appwarden.findings import Confidence, Finding
from appwarden.rules.checks._common import pi_names
from appwarden.rules.checks.dynamic_common import (
    Scope,
    in_scope,
    owners,
    require_trace,
    seconds,
    trace_ref,
    trace_refs,
    vendor_of,
    who,
)
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check

#: Catalog items decided by "PI collected before the user agreed", and whose code they are about.
BEFORE_CONSENT: dict[str, Scope] = {
    "AW-T7806-002": "app",  # R078.6-02 有明示未同意
    "AW-T7806-005": "sdk",  # R078.6-05 明示SDK未同意
    "AW-PG3-014": "any",  # RPG3-2.5-01 征得同意前开始收集
    "AW-RDM-009": "any",  # RRD-3-01 征得同意前收集或打开权限
    "AW-PG5-018": "sdk",  # RPG5-PI-03 SDK未经同意收集、使用或对外提供
    "AW-M164-001": "any",  # RM164-01 违规收集个人信息
}

#: Catalog items decided by "PI collected after the user disagreed or withdrew consent".
AFTER_REFUSAL: dict[str, Scope] = {
    "AW-PG3-015": "any",  # RPG3-2.5-02 拒绝或撤回同意后仍收集
    "AW-RDM-010": "any",  # RRD-3-02 明确不同意后仍收集
}


def _by_owner(events: list[Collection], scope: Scope) -> dict[str, list[Collection]]:
    grouped: dict[str, list[Collection]] = defaultdict(list)
    resolver = owners()
    for e in events:
        owner = resolver.owner_of_stack(e.stack)
        if in_scope(owner, scope):
            grouped[owner].append(e)
    return grouped


def _what(events: list[Collection]) -> tuple[str, str, str]:
    pis_zh, pis_en = pi_names({pi for e in events for pi in collection_pi(e)})
    apis = ", ".join(sorted({collection_api(e) for e in events})[:5])
    return pis_zh, pis_en, apis


def _pi_before_consent(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Collections before the first 'agree' of the trace, one finding per owner in the rule's scope."""
    trace = require_trace(ctx)
    first_agree = trace.first_agree_ms()
    # Without an 'agree' the trace cannot show that consent was ever asked and given: either the
    # app never asked (a violation) or the tester did not mark it, so confidence drops.
    confidence: Confidence = "high" if first_agree is not None else "medium"
    when_zh = (
        f"用户于{seconds(first_agree)}点击同意之前" if first_agree is not None else "整个录制过程中用户未表示同意时"
    )
    when_en = (
        f"before the user agreed at {seconds(first_agree)}" if first_agree is not None else "with no consent recorded"
    )
    for owner, events in sorted(_by_owner(trace.collections_before_consent(), BEFORE_CONSENT[ctx.rule.id]).items()):
        pis_zh, pis_en, apis = _what(events)
        who_zh, who_en = who(owner)
        yield ctx.finding(
            message_zh=f"运行轨迹显示，{who_zh}在{when_zh}即收集{pis_zh}（{len(events)}次，调用 {apis}）。",
            message_en=f"The runtime trace shows {who_en} collecting {pis_en} {when_en} ({len(events)} calls: {apis}).",
            evidence=trace_refs(events),
            confidence=confidence,
            owner=owner,
            sdk_vendor=vendor_of(owner),
            key_parts=("before_consent",),
        )
    if ctx.rule.id in PROMPTS_BEFORE_CONSENT:
        yield from _prompts_before_consent(ctx)


#: Catalog items that also count permission prompts before consent ("收集或打开权限").
PROMPTS_BEFORE_CONSENT = frozenset({"AW-RDM-009"})


def _prompts_before_consent(ctx: RuleContext) -> Iterator[Finding]:
    trace = require_trace(ctx)
    first_agree = trace.first_agree_ms()
    early = [p for p in trace.of_type(PermissionPromptEvent) if first_agree is None or p.t_ms < first_agree]
    if not early:
        return
    names = ", ".join(sorted({p.permission.rsplit(".", 1)[-1] for p in early}))
    yield ctx.finding(
        message_zh=f"运行轨迹显示，App在用户同意隐私政策前即弹窗申请权限：{names}。",
        message_en=f"The runtime trace shows the app asking for permissions before the user consented: {names}.",
        evidence=trace_refs(early),
        confidence="high" if first_agree is not None else "medium",
        key_parts=("permission_before_consent",),
    )


def _pi_after_refusal(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Collections while the user's latest decision was disagree or withdraw, one finding per owner."""
    trace = require_trace(ctx)
    pairs = trace.collections_after_refusal()
    refusal_of = {id(e): refusal for refusal, e in pairs}
    for owner, events in sorted(_by_owner([e for _, e in pairs], AFTER_REFUSAL[ctx.rule.id]).items()):
        pis_zh, pis_en, apis = _what(events)
        who_zh, who_en = who(owner)
        refusals = sorted({id(refusal_of[id(e)]): refusal_of[id(e)] for e in events}.values(), key=lambda r: r.t_ms)
        kind_zh = "撤回同意" if refusals[0].kind == "withdraw" else "拒绝"
        yield ctx.finding(
            message_zh=f"运行轨迹显示，用户于{seconds(refusals[0].t_ms)}{kind_zh}后，{who_zh}仍收集{pis_zh}（{len(events)}次，调用 {apis}）。",
            message_en=(
                f"The runtime trace shows {who_en} collecting {pis_en} after the user chose '{refusals[0].kind}' at "
                f"{seconds(refusals[0].t_ms)} ({len(events)} calls: {apis})."
            ),
            evidence=[*(trace_ref(r) for r in refusals[:3]), *trace_refs(events)],
            confidence="high",
            owner=owner,
            sdk_vendor=vendor_of(owner),
            key_parts=("after_refusal",),
        )


for _rule_id in BEFORE_CONSENT:
    check(_rule_id)(_pi_before_consent)
for _rule_id in AFTER_REFUSAL:
    check(_rule_id)(_pi_after_refusal)
