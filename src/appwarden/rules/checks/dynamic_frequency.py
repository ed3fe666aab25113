"""Collection frequency and clipboard reads, as a runtime trace shows them.

No standard gives a number for "more often than needed" (regs/SOURCE.md, known gaps;
TC260-PG-20203A only gives 'precise location every second while booking a ticket' as an
example). The limits are appwarden's product policy (:class:`TracePolicy`): calls of one
PI API by one owner in any sliding 60-second window, per API configurable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from appwarden.evidence.model import Evidence
from appwarden.evidence.trace import ClipboardReadEvent, Collection, RuntimeTrace, call_frequencies, collection_pi
from appwarden.findings import Finding
from appwarden.rules.checks._common import pi_names
from appwarden.rules.checks.dynamic_common import (
    Scope,
    in_scope,
    owners,
    require_trace,
    trace_policy,
    trace_refs,
    vendor_of,
    who,
)
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check

#: Catalog items decided by "one PI API called more often than the policy allows": (scope, background only).
FREQUENCY: dict[str, tuple[Scope, bool]] = {
    "AW-RDM-021": ("any", False),  # RRD-4-04 收集频度超出实际需要
    "AW-PG3-010": ("any", False),  # RPG3-2.3-04 收集时机和频度不合理
    "AW-T7801-003": ("app", False),  # R078.1-03 超频次收集（超出必要频率）
    "AW-T7801-006": ("sdk", False),  # R078.1-06 SDK超频次收集
    "AW-PG5-031": ("sdk", False),  # RPG5-SDK-03 最低频率
    "AW-T7801-009": ("app", True),  # R078.1-09 静默后台超频次收集
    "AW-T7801-012": ("sdk", True),  # R078.1-12 SDK静默后台超频次收集
}

#: Catalog items decided by clipboard reads in the background, before consent or too often.
CLIPBOARD: dict[str, Scope] = {
    "AW-PG3-017": "any",  # RPG3-2.5-04 未经同意读取剪切板
}


def _in_background(trace: RuntimeTrace, e: Collection) -> bool:
    if isinstance(e, ClipboardReadEvent) and e.foreground is not None:
        return not e.foreground
    return trace.in_background_at(e.t_ms)


def _frequent_collection(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """One finding per (API, owner) whose busiest minute exceeds the policy's limit for that API."""
    trace = require_trace(ctx)
    scope, background_only = FREQUENCY[ctx.rule.id]
    policy = trace_policy()
    events = [e for e in trace.collections() if not background_only or _in_background(trace, e)]
    for freq in call_frequencies(trace, owners(), only=events):
        limit = policy.call_limit(freq.api)
        if freq.peak_per_minute <= limit or not in_scope(freq.owner, scope):
            continue
        pis_zh, pis_en = pi_names({pi for e in freq.events for pi in collection_pi(e)})
        who_zh, who_en = who(freq.owner)
        bg_zh, bg_en = ("在后台", " in the background") if background_only else ("", "")
        yield ctx.finding(
            message_zh=(
                f"运行轨迹显示，{who_zh}{bg_zh}在1分钟内调用 {freq.api} {freq.peak_per_minute}次以收集{pis_zh}，"
                f"超过本工具策略的每分钟{limit}次上限。"
            ),
            message_en=(
                f"The runtime trace shows {who_en} calling {freq.api}{bg_en} {freq.peak_per_minute} times within one "
                f"minute to collect {pis_en}, above appwarden's policy limit of {limit} per minute."
            ),
            evidence=trace_refs(freq.events),
            confidence="medium",
            owner=freq.owner,
            sdk_vendor=vendor_of(freq.owner),
            key_parts=(freq.api,),
        )


def _clipboard_reads(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Clipboard reads in the background, before consent, or more often than the policy allows, per owner."""
    trace = require_trace(ctx)
    policy = trace_policy()
    resolver = owners()
    first_agree = trace.first_agree_ms()
    reads = trace.of_type(ClipboardReadEvent)
    by_owner: dict[str, list[ClipboardReadEvent]] = defaultdict(list)
    for e in reads:
        owner = resolver.owner_of_stack(e.stack)
        if in_scope(owner, CLIPBOARD[ctx.rule.id]):
            by_owner[owner].append(e)
    frequent = {
        f.owner: f
        for f in call_frequencies(trace, resolver, only=reads)
        if f.peak_per_minute > policy.max_clipboard_reads_per_minute
    }
    for owner, events in sorted(by_owner.items()):
        background = [e for e in events if _in_background(trace, e)]
        early = [e for e in events if first_agree is None or e.t_ms < first_agree]
        reasons_zh: list[str] = []
        reasons_en: list[str] = []
        quoted: list[ClipboardReadEvent] = []
        if background:
            reasons_zh.append(f"在后台读取{len(background)}次")
            reasons_en.append(f"{len(background)} read(s) in the background")
            quoted += background
        if early:
            reasons_zh.append(f"在用户同意前读取{len(early)}次")
            reasons_en.append(f"{len(early)} read(s) before consent")
            quoted += early
        if owner in frequent:
            peak = frequent[owner].peak_per_minute
            reasons_zh.append(f"1分钟内读取{peak}次（策略上限{policy.max_clipboard_reads_per_minute}次）")
            reasons_en.append(f"{peak} reads in one minute (policy limit {policy.max_clipboard_reads_per_minute})")
            quoted += [e for e in frequent[owner].events if isinstance(e, ClipboardReadEvent)]
        if not quoted:
            continue
        who_zh, who_en = who(owner)
        unique = {(e.t_ms, e.line): e for e in quoted}
        yield ctx.finding(
            message_zh=f"运行轨迹显示，{who_zh}读取剪切板：" + "；".join(reasons_zh) + "。",
            message_en=f"The runtime trace shows {who_en} reading the clipboard: " + "; ".join(reasons_en) + ".",
            evidence=trace_refs(unique.values()),
            confidence="high" if background or early else "medium",
            owner=owner,
            sdk_vendor=vendor_of(owner),
            key_parts=("clipboard",),
        )


for _rule_id in FREQUENCY:
    check(_rule_id)(_frequent_collection)
for _rule_id in CLIPBOARD:
    check(_rule_id)(_clipboard_reads)
