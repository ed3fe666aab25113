"""Sharing to third parties, pre-screen: PI-reaching code that also holds third-party endpoints.

Static analysis cannot see the bytes sent, so this only pre-screens for the
dynamic test: a PI-reaching call and a third-party URL in the same class give
medium confidence, in the same SDK only low.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from appwarden.evidence.model import APP_OWNER, ApiCall, Endpoint, Evidence
from appwarden.findings import Confidence, Finding
from appwarden.rules.checks._common import call_site_refs, endpoint_ref, pi_names, sdk_name, sdk_vendor
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check


@dataclass
class _Group:
    confidence: Confidence = "low"
    endpoints: list[Endpoint] = field(default_factory=list)
    sources: set[tuple[str, str]] = field(default_factory=set)


def _endpoint_class(e: Endpoint) -> str | None:
    return e.source[4:] if e.source.startswith("dex:") else None


@check("pi_near_third_party_endpoint")
def pi_near_third_party_endpoint(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """One finding per (owner, third-party host) whose code neighbourhood also reaches PI."""
    calls_by_class: dict[str, list[ApiCall]] = defaultdict(list)
    calls_by_owner: dict[str, list[ApiCall]] = defaultdict(list)
    for c in ev.api_calls:
        if c.pi_types:
            calls_by_class[c.caller_class].append(c)
            calls_by_owner[c.owner].append(c)
    groups: dict[tuple[str, str], _Group] = {}
    for e in sorted(ev.endpoints, key=lambda e: (e.host, e.url, e.source)):
        if not e.third_party:
            continue
        cls = _endpoint_class(e)
        owner = e.owner
        confidence: Confidence
        if cls is not None and calls_by_class.get(cls):
            source, confidence = ("class", cls), "medium"
        elif owner != APP_OWNER and calls_by_owner.get(owner):
            source, confidence = ("owner", owner), "low"
        else:
            continue
        group = groups.setdefault((owner, e.host), _Group())
        if confidence == "medium":
            group.confidence = "medium"
        group.endpoints.append(e)
        group.sources.add(source)
    for (owner, host), group in sorted(groups.items()):
        calls = [
            c
            for kind, name in sorted(group.sources)
            for c in (calls_by_class[name] if kind == "class" else calls_by_owner[name])
        ]
        confidence, endpoints = group.confidence, group.endpoints
        pis_zh, pis_en = pi_names({pi for c in calls for pi in c.pi_types})
        who_zh = f"第三方SDK {sdk_name(ev, owner)}" if owner != APP_OWNER else "App自有代码"
        who_en = f"SDK {sdk_name(ev, owner)}" if owner != APP_OWNER else "the app's own code"
        yield ctx.finding(
            message_zh=f"{who_zh}可获取{pis_zh}，且同一代码中含第三方服务器地址 {host}，疑似向第三方提供个人信息，需动态检测确认。",
            message_en=(
                f"{who_en} reaches {pis_en} and holds the third-party endpoint {host} in the same code: possible "
                "sharing of PI with a third party; confirm with a network capture."
            ),
            evidence=[*(endpoint_ref(e) for e in endpoints[:5]), *call_site_refs(calls)],
            confidence=confidence,
            owner=owner,
            sdk_vendor=sdk_vendor(ev, owner),
            key_parts=(host,),
        )
