"""POLICY checks on what the privacy policy discloses: required disclosures, sensitive PI, minors.

Each finding quotes the sentences it rests on, or states what was looked for and not found.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from appwarden.evidence.model import Evidence
from appwarden.evidence.policy.classify import negates_sensitive_collection
from appwarden.findings import EvidenceRef, Finding
from appwarden.rules.checks._common import pi_names, pi_types
from appwarden.rules.checks.policy_common import (
    CR_TEXT,
    REF_TO_CRS,
    absence_ref,
    policy_of,
    required_crs,
    satisfied_by_facts,
    sentence_refs,
)
from appwarden.rules.model import RuleContext, RuleNotApplicable
from appwarden.rules.registry import check


@check("policy_absent")
def policy_absent(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """No privacy policy at all (none bundled, linked or given) although the app reaches PI.

    When the app links a policy URL that the scan did not read, the rule is undecided.
    """
    signals = ev.privacy_policy
    if ctx.policy is not None or signals.bundled_documents:
        return
    if not ev.pi_reached() and not any(s.reaches_pi or s.pi_declared_by_vendor for s in ev.sdks):
        # An app that reaches no PI has no PI-processing rules to state (RRD-1-01 is about PI rules).
        return
    if signals.urls:
        raise RuleNotApplicable(
            f"the app links {len(signals.urls)} policy URL(s) that were not read; give the policy with --policy"
        )
    yield ctx.finding(
        message_zh="未找到隐私政策：安装包内无隐私政策文档或链接，检测时也未提供隐私政策文本。",
        message_en="No privacy policy found: the APK bundles no policy document or link, and none was given to the scan.",
        evidence=[
            EvidenceRef(
                kind="policy_absence",
                summary="no bundled policy document, no policy URL, no policy file given",
                data={"bundled_documents": 0, "urls": 0},
            )
        ],
        confidence="medium",
        key_parts=("no_policy",),
    )


@check("policy_disclosure_missing", document=True)
@check("AW-RDM-001")
@check("AW-RDM-005")
@check("AW-RDM-006")
@check("AW-RDM-031")
@check("AW-PG3-004")
@check("AW-PG3-029")
@check("AW-SAG-005")
@check("AW-SAG-007")
@check("AW-SAG-009")
@check("AW-SAG-010")
@check("AW-SAG-011")
@check("AW-SAG-012")
@check("AW-SAG-013")
@check("AW-SAG-014")
@check("AW-SAG-015")
@check("AW-SAG-016")
@check("AW-SAG-017")
@check("AW-SAG-018")
@check("AW-T7805-003")
@check("AW-M26-009")
def policy_disclosure_missing(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Disclosures the rule's basis asks for that no sentence of the policy makes.

    The disclosure types checked are those the rule's catalog items ask for
    (``REF_TO_CRS``), restricted to the ones this policy must make; a rule whose
    basis maps to none checks every required disclosure. One finding per missing type.
    """
    policy = policy_of(ctx)
    reaches = ev.pi_reached()
    types = pi_types()
    required = required_crs(
        policy,
        has_sdks=bool(ev.sdks),
        reaches_sensitive=any(types[p].sensitive for p in reaches if p in types),
    )
    asked: list[str] = []
    for ref in ctx.rule.refs:
        asked.extend(cr for cr in REF_TO_CRS.get(ref, ()) if cr not in asked)
    targets = [cr for cr in (asked or required) if cr in required]
    for cr in targets:
        if policy.covered(cr) or satisfied_by_facts(policy, cr):
            continue
        zh, en = CR_TEXT[cr]
        yield ctx.finding(
            message_zh=f"隐私政策未说明{zh}（{cr}）。",
            message_en=f"The privacy policy does not state {en} ({cr}).",
            evidence=[absence_ref(policy, f"{cr}: {en}", disclosure=cr)],
            confidence="medium",
            key_parts=(cr,),
        )


@check("policy_sensitive_pi_notice", document=True)
@check("AW-SAG-008")
def policy_sensitive_pi_notice(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Sensitive PI is named in the policy or reached by the app, but the policy never marks it as sensitive."""
    policy = policy_of(ctx)
    if policy.covered("CR16") or any(
        "敏感" in s.text and not negates_sensitive_collection(s.text) for s in policy.sentences if not s.is_heading
    ):
        return
    types = pi_types()
    named = [m for m in policy.facts.pi_mentions if m.sensitive]
    reached = sorted(p for p in ev.pi_reached() if p in types and types[p].sensitive)
    if not named and not reached:
        return
    sensitive = {m.pi_type for m in named} | set(reached)
    zh, en = pi_names(sensitive)
    quotes = sentence_refs(policy, [i for m in named for i in m.sentences[:1]])
    yield ctx.finding(
        message_zh=f"隐私政策涉及个人敏感信息（{zh}），但未单独告知或显著标识其为敏感信息。",
        message_en=f"The policy involves sensitive PI ({en}) but never gives a separate, highlighted notice of it.",
        evidence=[*quotes, absence_ref(policy, "a sentence marking sensitive PI (CR16)", pi_types=sorted(sensitive))],
        confidence="medium",
        key_parts=tuple(sorted(sensitive)),
    )


_MINOR = re.compile(
    r"未成年|儿童|未满\s*(14|十四)|不满\s*(14|十四)|14\s*周岁|十四周岁"
    # Hong Kong / Taiwan wording: "十八岁以下人士", "未满十八岁者".
    r"|(?:\d{1,2}|十[四六八])\s*[岁歲]以下|未满\s*(?:\d{1,2}|十[四六八])\s*[岁歲]"
)
_GUARDIAN = re.compile(r"监护人|父母|家长")


@check("policy_minors_guardian_consent", document=True)
def policy_minors_guardian_consent(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """The policy has no wording that PI of minors under 14 is collected only with a guardian's consent."""
    policy = policy_of(ctx)
    if policy.covered("CR5"):
        return
    body = [s for s in policy.sentences if not s.is_heading]
    guardian = [s.index for s in body if _MINOR.search(s.text) and _GUARDIAN.search(s.text)]
    if guardian:
        return
    minors = [s.index for s in body if _MINOR.search(s.text)]
    if minors:
        message_zh = "隐私政策提及未成年人，但未说明收集不满14周岁未成年人个人信息需征得其监护人同意。"
        message_en = "The policy mentions minors but not that PI of children under 14 needs their guardian's consent."
    else:
        message_zh = "隐私政策未说明对未成年人个人信息的保护，缺少征得监护人同意的规则。"
        message_en = "The policy says nothing about minors' PI, and has no guardian-consent rule."
    yield ctx.finding(
        message_zh=message_zh,
        message_en=message_en,
        evidence=[*sentence_refs(policy, minors), absence_ref(policy, "guardian-consent wording for minors (CR5)")],
        confidence="medium",
        key_parts=("CR5",),
    )
