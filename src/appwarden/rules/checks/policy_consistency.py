"""POLICY checks comparing the policy with the app: PI reached but not declared, SDK lists against SDKs embedded.

A PI type counts as declared when the policy names it or a parent type of it
("设备信息" covers IMEI), as the PI taxonomy says. An SDK counts as disclosed
when the policy lists it by a name that resolves to its catalog id, or names it
or its vendor anywhere in the text.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from appwarden.evidence.model import APP_OWNER, Evidence, SdkMatch
from appwarden.evidence.policy.model import DeclaredSdk, PolicyAnalysis
from appwarden.evidence.policy.normalize import normalize_sentence
from appwarden.findings import EvidenceRef, Finding
from appwarden.rules.checks._common import (
    MAX_CALL_SITES,
    ancestors,
    api_call_ref,
    permission_ref,
    pi_label,
    sdk_ref,
)
from appwarden.rules.checks.policy_common import absence_ref, policy_of, sentence_refs
from appwarden.rules.model import RuleContext, RuleNotApplicable
from appwarden.rules.registry import check

#: SDK categories that are plain libraries: a policy need not list them unless they reach PI.
_LIBRARY_CATEGORIES = ("library/other", "ui", "dev_tool")


@check("policy_pi_undeclared")
def policy_pi_undeclared(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """PI types the app's code or SDKs can reach (API call sites, permissions) that the policy never names.

    A PI type reached only through a permission is not reported when the policy declares another PI
    type of the same permission (a policy that explains the camera permission need not list every
    kind of picture); such findings are also of low confidence, since holding a permission is not
    using it.
    """
    policy = policy_of(ctx)
    declared = policy.facts.declared_pi_types

    def is_declared(pi: str) -> bool:
        return any(a in declared for a in ancestors(pi))

    calls: dict[str, list[EvidenceRef]] = defaultdict(list)
    owners: dict[str, set[str]] = defaultdict(set)
    for call in ev.api_calls:
        for pi in call.pi_types:
            if len(calls[pi]) < MAX_CALL_SITES:
                calls[pi].append(api_call_ref(call))
            owners[pi].add(call.owner)
    permissions: dict[str, list[EvidenceRef]] = defaultdict(list)
    for perm in ev.permissions:
        covered_by_permission = any(is_declared(pi) for pi in perm.pi_types)
        for pi in perm.pi_types:
            if pi in calls or not covered_by_permission:
                permissions[pi].append(permission_ref(perm))
                owners[pi].add(APP_OWNER)
    for pi in sorted(set(calls) | set(permissions)):
        if is_declared(pi):
            continue
        zh, en = pi_label(pi)
        by_text = ", ".join(sorted(owners[pi]))
        reached_in_code = bool(calls.get(pi))
        yield ctx.finding(
            message_zh=f"App（{by_text}）可获取{zh}，但隐私政策未声明收集该类个人信息。",
            message_en=f"The app ({by_text}) can reach {en}, but the privacy policy does not declare it.",
            evidence=[
                *calls.get(pi, []),
                *permissions.get(pi, []),
                absence_ref(policy, f"PI type {pi} ({zh})", pi_type=pi),
            ],
            confidence="medium" if reached_in_code else "low",
            key_parts=(pi,),
        )


def _policy_text(policy: PolicyAnalysis) -> str:
    return normalize_sentence(" ".join(s.text for s in policy.sentences))


def _names(sdk: SdkMatch) -> list[str]:
    names = [sdk.name, sdk.name_zh, sdk.vendor_zh]
    out = []
    for n in names:
        if not n:
            continue
        key = normalize_sentence(n)
        # "Bugly (腾讯)" -> "bugly"; generic one-word names are too weak to count as disclosure.
        key = key.split("(")[0].split("/")[0].strip()
        if len(key) >= 3 or (len(key) >= 2 and not key.isascii()):
            out.append(key)
    return out


def _listed(sdk: SdkMatch, declared: list[DeclaredSdk], text: str) -> DeclaredSdk | str | None:
    for d in declared:
        if d.sdk_id == sdk.id:
            return d
    for name in _names(sdk):
        if name in text:
            return name
    return None


def _relevant(sdk: SdkMatch) -> bool:
    """SDKs a policy must list: those reaching PI, or whose vendor says they collect PI, or not plain libraries."""
    if sdk.reaches_pi or sdk.pi_declared_by_vendor:
        return True
    return bool(sdk.categories) and not all(c in _LIBRARY_CATEGORIES for c in sdk.categories)


@check("policy_sdk_undisclosed")
@check("AW-PG3-002")
@check("AW-PG5-026")
def policy_sdk_undisclosed(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """SDKs embedded in the APK (and reaching PI or collecting it by their vendor's account) the policy never names."""
    policy = policy_of(ctx)
    text = _policy_text(policy)
    for sdk in sorted(ev.sdks, key=lambda s: s.id):
        if not _relevant(sdk) or _listed(sdk, policy.facts.sdks, text) is not None:
            continue
        pis = sorted(set(sdk.reaches_pi) | set(sdk.pi_declared_by_vendor))
        pis_zh = "、".join(pi_label(p)[0] for p in pis)
        pis_en = ", ".join(pi_label(p)[1] for p in pis)
        vendor = sdk.vendor_zh or sdk.vendor
        yield ctx.finding(
            message_zh=f"App嵌入了第三方SDK {sdk.name}（{vendor or '厂商未知'}）"
            + (f"，可收集{pis_zh}" if pis else "")
            + "，但隐私政策的第三方SDK清单中未列出。",
            message_en=f"The app embeds third-party SDK {sdk.name} ({vendor or 'unknown vendor'})"
            + (f", which can collect {pis_en}" if pis else "")
            + ", but the policy does not list it.",
            evidence=[sdk_ref(sdk), absence_ref(policy, f"SDK {sdk.name} or its vendor", sdk=sdk.id)],
            confidence="high" if sdk.reaches_pi else "medium",
            owner=sdk.id,
            sdk_vendor=vendor,
            key_parts=(sdk.id,),
        )


@check("policy_sdk_not_embedded")
@check("AW-PG3-024")
def policy_sdk_not_embedded(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """SDKs the policy lists that the APK does not contain: a stale or copied SDK list."""
    policy = policy_of(ctx)
    if ev.hardening.hides_code:
        raise RuleNotApplicable(
            "the APK is packed or hides code; SDKs may be present but not visible to static analysis"
        )
    embedded = {s.id for s in ev.sdks}
    for d in policy.facts.sdks:
        if d.sdk_id is None or d.sdk_id in embedded:
            continue
        yield ctx.finding(
            message_zh=f"隐私政策列出了第三方SDK“{d.name}”，但安装包中未检出该SDK，SDK清单可能未及时更新。",
            message_en=f"The policy lists SDK “{d.name}”, which the APK does not contain; the SDK list may be out of date.",
            evidence=sentence_refs(policy, [d.sentence] if d.sentence is not None else []),
            confidence="low",
            severity="low",
            owner=d.sdk_id,
            sdk_vendor=d.vendor,
            key_parts=(d.sdk_id,),
        )


@check("policy_sdk_incomplete", document=True)
@check("AW-PG5-017")
@check("AW-T7806-006")
def policy_sdk_incomplete(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Third parties the policy names without the purpose or the PI types they process."""
    policy = policy_of(ctx)
    for d in policy.facts.sdks:
        missing_zh: list[str] = []
        missing_en: list[str] = []
        if not d.purpose:
            missing_zh.append("使用目的")
            missing_en.append("purpose")
        if not d.pi_text and not d.pi_types:
            missing_zh.append("收集的个人信息类型")
            missing_en.append("PI collected")
        if not missing_zh:
            continue
        yield ctx.finding(
            message_zh=f"隐私政策列出了第三方“{d.name}”，但未说明其{'和'.join(missing_zh)}。",
            message_en=f"The policy names third party “{d.name}” without its {' and '.join(missing_en)}.",
            evidence=sentence_refs(policy, [d.sentence] if d.sentence is not None else []),
            confidence="medium",
            owner=d.sdk_id or APP_OWNER,
            sdk_vendor=d.vendor,
            key_parts=(d.sdk_id or d.name, *missing_en),
        )
