"""PI sent over the network, as a runtime trace shows it: to third parties without consent, and in cleartext.

A host is a third party when it is a catalogued SDK vendor's domain (data/sdk), other
than the operator's own vendor. A request carries PI when the agent found PI values in
its payload or its body has identifier keys (imei, oaid, androidId, lat...). Consent
covers a request when the user's latest decision before it was 'agree'.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from appwarden.evidence.model import APP_OWNER, Evidence
from appwarden.evidence.trace import NetworkEvent, cleartext_pi_transfers, third_party_transfers
from appwarden.findings import Finding
from appwarden.rules.checks._common import pi_names
from appwarden.rules.checks.dynamic_common import (
    Scope,
    in_scope,
    owners,
    require_trace,
    trace_refs,
    vendor_of,
    who,
)
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check

#: Catalog items decided by "PI sent to a third-party host while consent was not given".
THIRD_PARTY: dict[str, Scope] = {
    "AW-T7805-002": "any",  # R078.5-02 未同意共享
    "AW-RDM-024": "any",  # RRD-5-01 客户端（含嵌入第三方代码）直接向第三方提供
    "AW-PG3-025": "app",  # RPG3-2.8-01 App未经同意直接向第三方提供
    "AW-PG3-026": "sdk",  # RPG3-2.8-02 内嵌SDK未经同意向第三方提供
}

#: Catalog items decided by "PI sent over http:// or ws://".
CLEARTEXT: dict[str, Scope] = {
    "AW-PG5-034": "sdk",  # RPG5-SDK-06 安全传输
}


def _third_party_without_consent(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """One finding per (sender, host) of PI-carrying requests to third parties made without consent in force."""
    trace = require_trace(ctx)
    scope = THIRD_PARTY[ctx.rule.id]
    grouped: dict[tuple[str, str], list[tuple[NetworkEvent, tuple[str, ...], str]]] = defaultdict(list)
    for t in third_party_transfers(trace, owners()):
        if trace.consent_state_at(t.event.t_ms) == "agreed":
            continue
        if t.sender is None and scope != "any":
            continue  # nothing in the stack says whose code sent it: only the subject-neutral rules apply
        owner = t.sender or t.host_sdk or APP_OWNER
        if not in_scope(owner, scope):
            continue
        grouped[(owner, t.event.host)].append((t.event, t.pi_types, t.vendor))
    for (owner, host), sent in sorted(grouped.items()):
        pis_zh, pis_en = pi_names({pi for _, pis, _ in sent for pi in pis})
        vendor_id = sent[0][2]
        vendor = owners().catalog.vendors.get(vendor_id)
        vendor_name = (vendor.name_zh or vendor.name) if vendor else vendor_id
        who_zh, who_en = who(owner)
        state = trace.consent_state_at(sent[0][0].t_ms)
        state_zh = "用户拒绝同意后" if state == "refused" else "用户同意前"
        state_en = "after the user refused consent" if state == "refused" else "before the user consented"
        yield ctx.finding(
            message_zh=f"运行轨迹显示，{who_zh}在{state_zh}向第三方（{vendor_name}）服务器 {host} 发送{pis_zh}（{len(sent)}次请求）。",
            message_en=(
                f"The runtime trace shows {who_en} sending {pis_en} to the third-party host {host} ({vendor_name}) "
                f"{state_en} ({len(sent)} request(s))."
            ),
            evidence=trace_refs(e for e, _, _ in sent),
            confidence="high" if trace.first_agree_ms() is not None else "medium",
            owner=owner,
            sdk_vendor=vendor_of(owner) or vendor_name,
            key_parts=(host,),
        )


def _cleartext_pi(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """One finding per (owner, host) of PI sent without TLS."""
    trace = require_trace(ctx)
    resolver = owners()
    grouped: dict[tuple[str, str], list[tuple[NetworkEvent, list[str]]]] = defaultdict(list)
    for e, pis in cleartext_pi_transfers(trace):
        owner = resolver.owner_of_stack(e.stack)
        hit = resolver.domains.owner(e.host)
        if owner == APP_OWNER and hit is not None and hit.sdk is not None:
            owner = hit.sdk
        if in_scope(owner, CLEARTEXT[ctx.rule.id]):
            grouped[(owner, e.host)].append((e, pis))
    for (owner, host), sent in sorted(grouped.items()):
        pis_zh, pis_en = pi_names({pi for _, pis in sent for pi in pis})
        who_zh, who_en = who(owner)
        yield ctx.finding(
            message_zh=f"运行轨迹显示，{who_zh}以明文HTTP向 {host} 发送{pis_zh}（{len(sent)}次请求）。",
            message_en=f"The runtime trace shows {who_en} sending {pis_en} to {host} over cleartext HTTP ({len(sent)} request(s)).",
            evidence=trace_refs(e for e, _ in sent),
            confidence="high",
            owner=owner,
            sdk_vendor=vendor_of(owner),
            key_parts=(host, "cleartext"),
        )


for _rule_id in THIRD_PARTY:
    check(_rule_id)(_third_party_without_consent)
for _rule_id in CLEARTEXT:
    check(_rule_id)(_cleartext_pi)
