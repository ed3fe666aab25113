"""Permission prompts in a runtime trace: re-asking after a refusal, and asking at start-up before use.

The re-prompt limit is the standards' own (regs/permissions.yaml general rule
``rerequest_interval``: after an explicit refusal, at most one more prompt for the same
permission within 48 hours). The start-up test is a pre-screen with product-policy
windows: a prompt shortly after a start whose permission no hooked API uses soon after.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from appwarden.evidence.model import Evidence
from appwarden.evidence.trace import (
    ApiCallEvent,
    AppStartEvent,
    PermissionPromptEvent,
    reprompts_after_refusal,
    rerequest_rule,
)
from appwarden.findings import Finding
from appwarden.rules.checks._common import apis_by_permission, permission_catalog
from appwarden.rules.checks.dynamic_common import require_trace, seconds, trace_policy, trace_refs
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check

Run = Literal["any", "same_run", "relaunch"]

#: Catalog items decided by "re-prompted after a refusal more than the 48-hour rule allows".
REPROMPT: dict[str, Run] = {
    "AW-PG3-012": "any",  # RPG3-2.4-02 频繁索权
    "AW-SAG-028": "any",  # RSAG-28 用户明确拒绝后是否继续索要权限
    "AW-M164-005": "any",  # RM164-05 APP强制、频繁、过度索取权限
    "AW-T7804-005": "same_run",  # R078.4-05 频繁申请权限（运行中）
    "AW-T7804-006": "relaunch",  # R078.4-06 频繁申请权限（重新运行）
}

#: Catalog items decided by "prompted at start-up for a function not yet used" (pre-screen).
STARTUP_PROMPT = ("AW-T7804-004",)  # R078.4-04 过度申请权限（提前申请）


def _short(permission: str) -> str:
    return permission.rsplit(".", 1)[-1]


def _reprompted(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """One finding per refusal followed by too many prompts for the same permission within the window."""
    trace = require_trace(ctx)
    rule = rerequest_rule()
    run = REPROMPT[ctx.rule.id]
    for found in reprompts_after_refusal(trace, rule):
        if (run == "same_run" and found.relaunched) or (run == "relaunch" and not found.relaunched):
            continue
        refusal, prompts = found.refusal, found.prompts
        hours = (prompts[-1].t_ms - refusal.t_ms) / 3_600_000
        span_zh = "（期间App重新启动）" if found.relaunched else ""
        span_en = " (across a relaunch)" if found.relaunched else ""
        yield ctx.finding(
            message_zh=(
                f"用户于{seconds(refusal.t_ms)}拒绝{_short(refusal.permission)}权限后，App在{hours:.2f}小时内"
                f"再次弹窗申请{len(prompts)}次{span_zh}，超过48小时内最多{rule.max_prompts_after_refusal}次的要求。"
            ),
            message_en=(
                f"After the user denied {refusal.permission} at {seconds(refusal.t_ms)}, the app prompted for it "
                f"{len(prompts)} more time(s) within {hours:.2f} h{span_en}; at most "
                f"{rule.max_prompts_after_refusal} is allowed within {rule.window_hours:g} h ({rule.rule_id})."
            ),
            evidence=trace_refs([refusal, *prompts]),
            confidence="high",
            key_parts=(refusal.permission,),
        )


def _used(trace_calls: list[ApiCallEvent], permission: str, start_ms: int, end_ms: int) -> bool:
    info = permission_catalog().get(permission)
    pis = set(info.pi_types) if info else set()
    apis = apis_by_permission().get(permission, frozenset())
    return any(start_ms <= c.t_ms <= end_ms and (c.api in apis or pis.intersection(c.pi_types)) for c in trace_calls)


def _startup_prompt(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Prompts soon after a start whose permission no hooked API uses within the policy's window."""
    trace = require_trace(ctx)
    policy = trace_policy()
    starts = trace.of_type(AppStartEvent)
    calls = trace.of_type(ApiCallEvent)
    reported: set[str] = set()
    for prompt in trace.of_type(PermissionPromptEvent):
        start = next((s for s in reversed(starts) if s.t_ms <= prompt.t_ms <= s.t_ms + policy.startup_window_ms), None)
        if start is None or prompt.permission in reported:
            continue
        if prompt.permission not in permission_catalog():
            continue  # unknown permission: no PI mapping to look for its use
        if _used(calls, prompt.permission, prompt.t_ms, prompt.t_ms + policy.feature_use_window_ms):
            continue
        reported.add(prompt.permission)
        delay = seconds(prompt.t_ms - start.t_ms)
        window = seconds(policy.feature_use_window_ms)
        yield ctx.finding(
            message_zh=(
                f"App启动后{delay}即申请{_short(prompt.permission)}权限，而其后{window}内未调用需要该权限的接口，"
                "疑似在用户使用相关功能前提前申请（需人工确认场景）。"
            ),
            message_en=(
                f"The app asked for {prompt.permission} {delay} after starting, and no API needing it was called in "
                f"the following {window}: possibly requested before the feature is used (confirm the scenario)."
            ),
            evidence=trace_refs([start, prompt]),
            confidence="low",
            key_parts=(prompt.permission,),
        )


for _rule_id in REPROMPT:
    check(_rule_id)(_reprompted)
for _rule_id in STARTUP_PROMPT:
    check(_rule_id)(_startup_prompt)
