"""Pop-ups and splash windows in a runtime trace: no close control, one that does not work or is too small,
and countdown splash ads that cannot be skipped.

TAF078.7 item 6 and the 2023 notice (MIIT26 一(二)4) give no numeric button size or
countdown (regs/violations.yaml R078.7-01: "Neither this standard nor the 2023 notice
gives a numeric button size"): the size and countdown limits are product policy
(:class:`TracePolicy`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from appwarden.evidence.model import APP_OWNER, Evidence
from appwarden.evidence.trace import TracePolicy, UiEvent
from appwarden.findings import Finding
from appwarden.rules.checks.dynamic_common import owners, require_trace, trace_policy, trace_refs, vendor_of, who
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check

#: Catalog items decided by window problems; True when unskippable countdown splashes count too.
POPUP: dict[str, bool] = {
    "AW-T7807-001": False,  # R078.7-01 信息窗口关不掉
    "AW-M26-004": True,  # RM26-04 窗口关闭用户可选
}

_PROBLEMS = {
    "no_close": ("没有关闭按钮", "has no close control"),
    "close_broken": ("关闭按钮点击后无法关闭窗口", "has a close control that does not close it"),
    "close_small": ("关闭按钮过小", "has a close control smaller than the policy minimum"),
    "unskippable": ("倒计时开屏不可跳过", "shows a countdown that cannot be skipped"),
}


def _problem(e: UiEvent, policy: TracePolicy, countdowns: bool) -> str | None:
    if not e.has_close_control:
        # A splash that ends by itself is judged by its countdown, not by a missing close button.
        if e.kind == "splash" and e.countdown_s is not None:
            return "unskippable" if countdowns and e.countdown_s > policy.max_unskippable_countdown_s else None
        return "no_close"
    if e.close_control_works is False:
        return "close_broken"
    if e.close_control_size_dp is not None and e.close_control_size_dp < policy.min_close_control_dp:
        return "close_small"
    if (
        countdowns
        and e.kind == "splash"
        and e.skippable is False
        and (e.countdown_s or 0) > policy.max_unskippable_countdown_s
    ):
        return "unskippable"
    return None


def _window_problems(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """One finding per (owner, activity, window kind, problem)."""
    trace = require_trace(ctx)
    policy = trace_policy()
    countdowns = POPUP[ctx.rule.id]
    grouped: dict[tuple[str, str, str, str], list[UiEvent]] = defaultdict(list)
    for e in trace.of_type(UiEvent):
        problem = _problem(e, policy, countdowns)
        if problem is None:
            continue
        owner = owners().owner_of_class(e.window_class) if e.window_class else APP_OWNER
        grouped[(owner, e.activity, e.kind, problem)].append(e)
    for (owner, activity, kind, problem), events in sorted(grouped.items()):
        what_zh, what_en = _PROBLEMS[problem]
        detail_en = ""
        if problem == "close_small":
            sizes = sorted({e.close_control_size_dp for e in events if e.close_control_size_dp is not None})
            detail_en = f" ({sizes[0]:g}dp < {policy.min_close_control_dp:g}dp)"
        elif problem == "unskippable":
            longest = max(e.countdown_s or 0 for e in events)
            detail_en = f" ({longest:g}s > {policy.max_unskippable_countdown_s:g}s)"
        who_zh, who_en = who(owner)
        yield ctx.finding(
            message_zh=f"运行轨迹显示，{activity} 中的{kind}窗口（{who_zh}）{what_zh}{detail_en}，共{len(events)}次。",
            message_en=f"The runtime trace shows a {kind} window in {activity} ({who_en}) that {what_en}{detail_en}, {len(events)} time(s).",
            evidence=trace_refs(events),
            confidence="high" if problem in ("no_close", "close_broken") else "medium",
            owner=owner,
            sdk_vendor=vendor_of(owner),
            key_parts=(activity, kind, problem),
        )


for _rule_id in POPUP:
    check(_rule_id)(_window_problems)
