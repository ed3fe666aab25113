"""Minimum necessary: PI the app's own code and permissions reach vs its type's necessary PI.

Judged PI are sensitive PI and the PI-12 set (see ``_common.is_judged``); a PI type
is covered when it or a parent is in the type's necessary PI (app_types.yaml,
from 《常见类型移动互联网应用程序必要个人信息范围规定》第五条). One finding per
permission that opens unneeded PI (with the call sites that use it), and one per
PI family reached by call sites without such a permission.
SDK-owned call sites are judged by AW-SDK-003 instead, so a notice can address
the app developer and the SDK vendor separately.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from appwarden.evidence.model import APP_OWNER, ApiCall, Evidence, Permission
from appwarden.findings import Confidence, Finding
from appwarden.rules.app_type import AppType
from appwarden.rules.checks._common import (
    call_key,
    call_site_refs,
    covered,
    decided_app_type,
    is_judged,
    permission_ref,
    pi_label,
    pi_names,
    root_of,
)
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check


@dataclass
class _Reach:
    pi: set[str] = field(default_factory=set)
    permissions: list[Permission] = field(default_factory=list)
    by_call: dict[tuple[str, str, str, str, int, str], ApiCall] = field(default_factory=dict)

    @property
    def calls(self) -> list[ApiCall]:
        return list(self.by_call.values())

    def add_call(self, c: ApiCall) -> None:
        self.by_call.setdefault(call_key(c), c)


def _uncovered(pis: list[str], app_type: AppType) -> set[str]:
    return {pi for pi in pis if is_judged(pi) and not covered(pi, app_type.necessary_pi)}


def uncovered_reach(ev: Evidence, app_type: AppType, *, owner: str = APP_OWNER) -> dict[str, _Reach]:
    """Judged PI reached by ``owner`` that ``app_type`` does not need, grouped as a notice would word it.

    Groups are keyed ``permission:<name>`` for each requested permission that opens
    unneeded PI (call sites using that PI join the group), and ``pi:<family>`` for PI
    that call sites reach without any such permission (installed apps, clipboard...).
    For the app owner, requested permissions count as reach; for an SDK only its own
    call sites do.
    """
    groups: dict[str, _Reach] = defaultdict(_Reach)
    if owner == APP_OWNER:
        for p in sorted(ev.permissions, key=lambda p: p.name):
            beyond = _uncovered(p.pi_types, app_type)
            if beyond:
                reach = groups[f"permission:{p.name}"]
                reach.pi.update(beyond)
                reach.permissions.append(p)
    permission_groups = sorted(k for k in groups if k.startswith("permission:"))
    for c in ev.api_calls:
        if c.owner != owner:
            continue
        remaining = _uncovered(c.pi_types, app_type)
        for key in permission_groups:
            if remaining & groups[key].pi:
                remaining -= groups[key].pi
                groups[key].add_call(c)
        for pi in sorted(remaining):
            reach = groups[f"pi:{root_of(pi)}"]
            reach.pi.add(pi)
            reach.add_call(c)
    return dict(groups)


def _confidence(reach: _Reach) -> Confidence:
    # A permission plus a high-confidence call site is strong static evidence; either alone is not.
    if reach.permissions and any(c.confidence == "high" for c in reach.by_call.values()):
        return "high"
    return "medium"


def _findings(ev: Evidence, ctx: RuleContext, app_type: AppType) -> Iterator[Finding]:
    necessary_zh, necessary_en = pi_names(app_type.necessary_pi) if app_type.necessary_pi else ("无", "none")
    for key, reach in sorted(uncovered_reach(ev, app_type).items()):
        pis_zh, pis_en = pi_names(reach.pi)
        n_calls = len(reach.by_call)
        if key.startswith("pi:"):
            family_zh, family_en = pi_label(key[3:])
            if reach.pi != {key[3:]}:
                family_zh, family_en = f"{family_zh}（{pis_zh}）", f"{family_en} ({pis_en})"
            what_zh = f"App代码在{n_calls}处可获取{family_zh}"
            what_en = f"app code reaches {family_en} at {n_calls} call site(s)"
        else:
            short = key.rsplit(".", 1)[-1]
            what_zh = f"App申请了{short}权限，可获取{pis_zh}" + (f"，并有{n_calls}处代码调用" if n_calls else "")
            what_en = f"the app requests {short}, which gives access to {pis_en}" + (
                f", used at {n_calls} app call site(s)" if n_calls else ""
            )
        yield ctx.finding(
            message_zh=f"App类型为“{app_type.name_zh}”，其必要个人信息为：{necessary_zh}；但{what_zh}。",
            message_en=f"The app type is '{app_type.name_en}', whose necessary PI is: {necessary_en}; but {what_en}.",
            evidence=[
                *(permission_ref(p) for p in sorted(reach.permissions, key=lambda p: p.name)),
                *call_site_refs(reach.calls),
            ],
            confidence=_confidence(reach),
            key_parts=(app_type.id, key),
        )


@check("pi_beyond_app_type")
def pi_beyond_app_type(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """PI the app reaches that its (decided) type does not need; types needing no PI are AW-MIN-002's."""
    app_type = decided_app_type(ctx)
    if app_type.no_pi_necessary:
        return
    yield from _findings(ev, ctx, app_type)


@check("tool_app_collects_pi")
def tool_app_collects_pi(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Any judged PI reached by an app whose type needs no PI at all (tools, news, browsers...)."""
    app_type = decided_app_type(ctx)
    if not app_type.no_pi_necessary:
        return
    yield from _findings(ev, ctx, app_type)
