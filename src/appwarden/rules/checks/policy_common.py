"""What the POLICY checks share: the analysed policy, quoting sentences, and CR requirements.

Registers no check. The disclosure types CR1–CR26 (VioDroid-Finder scheme) are
mapped to the violation-catalog items whose evaluation points ask for them, so
one check can serve every catalog rule about a missing disclosure: it checks
the CRs that the rule's own basis refers to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from appwarden.evidence.policy.model import PolicyAnalysis, Sentence
from appwarden.findings import EvidenceRef
from appwarden.rules.model import RuleContext, RuleNotApplicable

#: At most this many sentences are quoted in one finding.
MAX_QUOTES = 5

#: What each disclosure type asks for, in the words of a notice.
CR_TEXT: dict[str, tuple[str, str]] = {
    "CR1": ("隐私政策的生效或更新日期", "the policy's effective or update date"),
    "CR2": ("隐私政策适用的产品或服务", "which products or services the policy applies to"),
    "CR3": ("个人信息处理者的身份（公司名称或注册地址）", "the PI controller's identity (company name or address)"),
    "CR4": ("个人信息处理者的联系方式", "how to contact the PI controller"),
    "CR5": (
        "收集不满14周岁未成年人个人信息前征得监护人同意",
        "guardian consent before collecting PI of minors under 14",
    ),
    "CR6": ("收集个人信息前征得用户对隐私政策的同意", "consent to the policy before collecting PI"),
    "CR7": ("隐私政策重大变更时的通知方式", "how major policy changes are notified"),
    "CR8": ("撤回同意的方式", "how to withdraw consent"),
    "CR9": ("关闭个性化展示（定向推送）的方式", "how to turn off personalised display"),
    "CR10": (
        "用户的其他权利（删除、更正、注销账号等）",
        "other rights of the user (deletion, correction, account cancellation)",
    ),
    "CR11": ("收集使用个人信息的具体目的", "the specific purposes of collection"),
    "CR12": ("个性化展示服务的说明", "the personalised display the app provides"),
    "CR13": ("收集的个人信息类型", "what PI the app collects"),
    "CR14": ("个人信息的保存期限", "the retention period of PI"),
    "CR15": ("个人信息安全保护措施", "the PI protection measures"),
    "CR16": ("收集个人敏感信息的说明", "the collection of sensitive PI"),
    "CR17": ("个人信息安全事件的告知", "notification of PI security incidents"),
    "CR18": ("向第三方共享个人信息的说明", "sharing of PI with third parties"),
    "CR19": ("共享个人信息前征得同意", "consent before sharing PI"),
    "CR20": ("接收个人信息的第三方的信息", "who the third parties are"),
    "CR21": ("共享个人信息的目的", "the purpose of sharing"),
    "CR22": ("共享的个人信息类型", "what PI is shared"),
    "CR23": ("个人信息出境的说明", "cross-border transfer of PI"),
    "CR24": ("个人信息出境前征得同意", "consent before cross-border transfer"),
    "CR25": ("个人信息出境的目的", "the purpose of cross-border transfer"),
    "CR26": ("出境个人信息的保护措施", "protection measures for cross-border transfer"),
}

#: Disclosures every policy must make (labels.json: not "Conditional" or "Optional").
REQUIRED_ALWAYS: tuple[str, ...] = (
    "CR1", "CR2", "CR3", "CR4", "CR5", "CR6", "CR7", "CR8", "CR10", "CR11", "CR13", "CR14", "CR15", "CR17",
)  # fmt: skip

#: Violation-catalog item -> the disclosure types its evaluation point asks for.
REF_TO_CRS: dict[str, tuple[str, ...]] = {
    # "No policy, or no rules on collection and use": the purposes and the PI collected.
    "RRD-1-01": ("CR11", "CR13"),
    "RM26-09": ("CR6",),
    "RSAG-05": ("CR11",),
    "RSAG-07": ("CR13",),
    "RSAG-08": ("CR16",),
    "RSAG-09": ("CR3", "CR4"),
    "RSAG-10": ("CR14",),
    "RSAG-11": ("CR12", "CR9"),
    "RSAG-12": ("CR23", "CR24", "CR25", "CR26"),
    "RSAG-13": ("CR15", "CR17"),
    "RSAG-14": ("CR18", "CR19", "CR20", "CR21", "CR22"),
    "RSAG-15": ("CR8", "CR10"),
    "RSAG-16": ("CR4",),
    "RSAG-17": ("CR1",),
    "RSAG-18": ("CR7",),
    "RRD-2-01": ("CR11", "CR13"),
    "RRD-2-02": ("CR7",),
    "RRD-3-08": ("CR8",),
    "RRD-6-01": ("CR10",),
    "RRD-6-05": ("CR4",),
    "RPG3-2.1-04": ("CR7",),
    "RPG3-2.9-03": ("CR4",),
    "R078.2-01": ("CR12",),
    "R078.2-04": ("CR9",),
    "RRD-3-06": ("CR9",),
    "R078.5-03": ("CR18", "CR20", "CR21", "CR22"),
}


def policy_of(ctx: RuleContext) -> PolicyAnalysis:
    """The analysed policy, or RuleNotApplicable when the scan read none."""
    policy = ctx.policy
    if policy is None:
        raise RuleNotApplicable("no privacy-policy document was analysed (give one with --policy)")
    if not isinstance(policy, PolicyAnalysis):
        raise RuleNotApplicable(f"policy analysis of unexpected type {type(policy).__name__}")
    return policy


def sentence_ref(policy: PolicyAnalysis, sentence: Sentence) -> EvidenceRef:
    where = " > ".join(policy.shown_path(sentence.section_path[-2:]))
    return EvidenceRef(
        kind="policy_sentence",
        summary=(f"[{where}] " if where else "") + f"“{(sentence.original_text or sentence.text)[:200]}”",
        data={
            "source": policy.source,
            "sha256": policy.sha256,
            "index": sentence.index,
            # Verbatim, so the quote can be found in the published policy; the normalised form is what was judged.
            "text": sentence.original_text or sentence.text,
            "normalised_text": sentence.text,
            "section_path": sentence.section_path,
            "labels": [lb.label for lb in sentence.labels],
        },
    )


def sentence_refs(policy: PolicyAnalysis, indexes: Iterable[int]) -> list[EvidenceRef]:
    """Quotes of the sentences at ``indexes``, each once, in the order given, at most ``MAX_QUOTES``."""
    out: list[EvidenceRef] = []
    quoted: set[int] = set()
    for i in indexes:
        if 0 <= i < len(policy.sentences) and i not in quoted:
            quoted.add(i)
            out.append(sentence_ref(policy, policy.sentences[i]))
        if len(out) >= MAX_QUOTES:
            break
    return out


def absence_ref(policy: PolicyAnalysis, what_en: str, **data: object) -> EvidenceRef:
    return EvidenceRef(
        kind="policy_absence",
        summary=f"not found in the policy ({len(policy.sentences)} sentences read): {what_en}",
        data={"source": policy.source, "sha256": policy.sha256, **data},
    )


def disclosed_pi(policy: PolicyAnalysis) -> set[str]:
    return policy.facts.declared_pi_types


#: Words that put PI outside China: "传输至境外", "出境", "跨境", "overseas".
_ABROAD = re.compile(
    r"境外|出境|跨境|海外|国外|中国大陆以外|中国境外|overseas|abroad|outside (?:of )?(?:mainland )?china", re.I
)
#: "我们不会将您的个人信息传输至境外", "仅存储于境内": the policy says PI stays in China.
_STAYS_HOME = re.compile(r"不会|不得|不|未|无|禁止|仅|只|均|\bnot\b|\bnever\b|\bonly\b", re.I)
#: "如需向境外传输，我们会…": a procedure for a transfer that may never happen.
_CONDITIONAL = re.compile(
    r"^(?:[^,，。]{0,12})(?:如|如果|若|如需|倘若|一旦|当|在[^,，。]{0,12}情况下)|\bif\b|\bwhere\b|\bshould\b", re.I
)


#: What makes a clause about a place abroad a transfer: PI moved, sent, stored or accessed there (a page's
#: "海外" menu item is not one).
_MOVES = re.compile(
    r"出境|跨境|传输|传送|提供|转移|发送|存储|储存|保存|访问|处理|transfer|stor|process|access|sent|send", re.I
)
#: A sentence that opens with a transfer that may never happen ("将来如需…", "若…"), unlike a scenario
#: that happens to some users ("在您使用海外加速的情况下, 我们会…传输至境外").
_HYPOTHETICAL = re.compile(
    r"^(?:[^,，。]{0,12})(?:如需|如果|如因|如有|若|倘若|一旦|将来|未来)|^\s*(?:if|should)\b", re.I
)


def transfers_abroad(policy: PolicyAnalysis) -> bool:
    """The policy says PI is sent out of China, not only that it stays in China or what it would do if it were.

    A domestic-storage sentence ("存储于中华人民共和国境内") is labelled CR23 as often as a transfer; only a
    stated transfer makes the consent, purpose and safeguards of a transfer (CR24-CR26) required.
    """
    for label in ("CR23", "CR24", "CR25", "CR26"):
        for sentence in policy.covering_sentences(label):
            if _HYPOTHETICAL.match(sentence.text):
                continue  # "如需跨境传输, 我们会告知出境的目的…": all of it hangs on the condition
            clauses = re.split(r"[,，;；。]", sentence.text)
            if any(
                _ABROAD.search(c) and _MOVES.search(c) and not _STAYS_HOME.search(c) and not _CONDITIONAL.search(c)
                for c in clauses
            ):
                return True
    return False


def required_crs(policy: PolicyAnalysis, *, has_sdks: bool, reaches_sensitive: bool) -> list[str]:
    """Disclosure types this policy must contain, given what it says and what the app does."""
    required = list(REQUIRED_ALWAYS)
    if policy.covered("CR12"):
        required.append("CR9")
    if reaches_sensitive or any(m.sensitive for m in policy.facts.pi_mentions):
        required.append("CR16")
    if policy.covered("CR18") or has_sdks or policy.facts.sdks:
        required.extend(["CR19", "CR20", "CR21", "CR22"])
    if transfers_abroad(policy):
        required.extend(["CR24", "CR25", "CR26"])
    return sorted(set(required), key=lambda c: int(c[2:]))


def satisfied_by_facts(policy: PolicyAnalysis, cr: str) -> list[int]:
    """Sentences that satisfy ``cr`` through an extracted fact although the classifier missed it."""
    facts = policy.facts
    if cr == "CR1":
        return [d.sentence for d in facts.dates if d.sentence is not None]
    if cr == "CR4":
        return [c.sentence for c in facts.contacts if c.sentence is not None]
    if cr == "CR3" and facts.operator_names:
        name = facts.operator_names[0]
        return [s.index for s in policy.sentences if name in s.text][:3]
    if cr == "CR20":
        return [d.sentence for d in facts.sdks if d.sentence is not None]
    # A third-party list that gives each party's purpose or PI states the purpose or PI of
    # that sharing, whatever the classifier made of the table rows.
    if cr == "CR21":
        return [d.sentence for d in facts.sdks if d.sentence is not None and d.purpose]
    if cr == "CR22":
        return [d.sentence for d in facts.sdks if d.sentence is not None and (d.pi_types or d.pi_text)]
    if cr == "CR13":
        return [i for m in facts.pi_mentions for i in m.sentences][:3]
    return []
