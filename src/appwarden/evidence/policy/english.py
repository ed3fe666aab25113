"""English privacy-policy sentences: disclosure types (CR1–CR26) by pattern.

The shipped classifier learned Chinese policies; an English sentence shares almost no character
n-grams with them, so it comes out with no label at all. International apps and the English
versions of Chinese apps' policies are read here instead: one pattern per disclosure type, written
from the definitions in labels.json and the wording common to English policies (GDPR/CCPA style
notices: "We collect ... to ...", "We share ... with third parties", "withdraw your consent").
Patterns only add labels; a sentence the model labels keeps them.

These rules have no labelled English data behind them (none is available to the project), so
they favour precision: each needs the verb *and* the object of the disclosure in one sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

#: Share of letters that must be Latin for a sentence to be read as English.
MIN_LATIN_SHARE = 0.8
MIN_WORDS = 4

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def is_english(text: str) -> bool:
    """True for a sentence written in English (Latin letters, a few words, hardly any CJK)."""
    latin = len(_LATIN.findall(text))
    cjk = len(_CJK.findall(text))
    return latin >= 12 and latin / (latin + cjk) >= MIN_LATIN_SHARE and len(text.split()) >= MIN_WORDS


_PERSONAL = r"(?:personal (?:information|data)|your (?:information|data|details)|information about you|data about you)"
_THIRD = r"(?:third[- ]part(?:y|ies)|partners?|service providers?|vendors?|affiliates?|advertis(?:ers|ing partners)|sdks?|processors?)"
_SHARE = r"(?:share[sd]?|sharing|disclose[sd]?|disclosing|provide[sd]? (?:it |them )?to|transfer(?:s|red)?|sell|sold|make available)"
_PURPOSE = r"(?:\bto (?:provide|improve|help|enable|deliver|personali[sz]e|analy[sz]e|send|show|process|detect|prevent|protect|comply|measure|operate|offer|support|understand|verify|authenticate|remember|recogni[sz]e|identify|contact|notify|respond|ensure|maintain|develop|fix|display|serve|customi[sz]e|tailor|calculate|sync|synchroni[sz]e|back up|locate|recommend|scan|diagnose|troubleshoot|communicate|fulfil|fulfill|complete|register|create|manage|log (?:you )?in|sign (?:you )?in|set up|pay|book)\b|\bfor (?:the )?purposes? of\b|\bin order to\b|\bso that\b|\bused for\b|\bfor (?:analytics|advertising|crash reporting|fraud prevention|security)\b)"
_CROSS = r"(?:cross[- ]border|outside (?:of )?(?:the )?(?:people's republic of china|prc|mainland china|china|your (?:country|jurisdiction)|the (?:eea|european economic area|uk|united states)|(?:country|jurisdiction|region) (?:where|in which) you (?:live|reside|are located))|overseas|abroad|(?:other|another) (?:countries|country|jurisdictions?)|international(?:ly)? transfer)"
_CONSENT = r"(?:your (?:explicit |express |separate |prior )?(?:consent|permission|authori[sz]ation)|you (?:agree|consent)|with (?:your )?consent)"
#: Companies and SDKs that English policies name as recipients; names that are also common words
#: (Adjust, Branch, Segment) count only in the narrower "such as ..." form.
_RECIPIENTS = (
    r"(?:google|firebase|facebook|meta|apple|amazon|aws|microsoft|tencent|wechat|alibaba|alipay|umeng|baidu|bytedance|"
    r"pangle|tiktok|huawei|xiaomi|oppo|vivo|appsflyer|crashlytics|amplitude|mixpanel|braze|onesignal|sentry|bugsnag|"
    r"stripe|paypal|applovin|unity ads|ironsource|vungle|inmobi|mintegral|chartboost|flurry|comscore|twitter|"
    r"jpush|jiguang|getui|weibo|adjust(?= sdk| gmbh)|branch(?= metrics| sdk)|segment(?= sdk| io)|talkingdata)"
)
_PI_TERMS = (
    r"(?:device (?:identifiers?|ids?|information|model)|imei|imsi|android id|advertising id|idfa|oaid|mac address|"
    r"ip address|serial number|location|gps|contacts?|address book|phone number|e-?mail address|name|photos?|"
    r"camera|microphone|audio|installed (?:apps|applications)|app list|clipboard|sms|text messages|call logs?|"
    r"calendar|browsing history|cookies?|usage data|account information|payment information|date of birth|"
    r"biometric|face|fingerprint|health data)"
)

_RULES: tuple[tuple[str, str], ...] = (
    (
        "CR1",
        r"\b(?:last (?:updated|modified|revised)|effective (?:date|as of|from|on)|updated on|revised on|"
        r"(?:takes?|took|come|came) into (?:effect|force)|this (?:privacy )?(?:policy|notice|statement) (?:was|is) "
        r"(?:last )?(?:updated|revised|effective))\b",
    ),
    (
        "CR2",
        r"\bthis (?:privacy )?(?:policy|notice|statement) (?:applies to|covers|describes|explains|governs)\b"
        r"|\b(?:applies|apply) to (?:all |the |our |your use of )(?:our |the )?(?:apps?|applications?|products?|services?|websites?)",
    ),
    (
        "CR3",
        r"\b(?:co\.,? ?ltd\.?|ltd\.?|limited|inc\.?|llc|l\.l\.c\.|gmbh|corp(?:oration|\.)?|s\.a\.|b\.v\.|pte\.? ltd\.?)"
        r"[\s,()\"“”']*(?:we|us|our|operates|provides|develops|publishes|owns|controls|is responsible)\b"
        r"|registered (?:office|address)|\b(?:is|are) (?:operated|provided|developed|controlled|published) by\b"
        r"|\bdata controller\b",
    ),
    (
        "CR4",
        r"\b(?:contact us|reach us|email us|write to us|call us|get in touch)\b|\b(?:questions|complaints|concerns|"
        r"requests)\b.{0,80}(?:@|\bat\b|\bphone\b|\btel\b|\baddress\b)"
        # "To contact Example Games for any reason, please email <hello@example.com>".
        r"|\b(?:contact|e-?mail|write to)\b.{0,60}@[\w-]+\.",
    ),
    (
        "CR5",
        r"\b(?:children|child|minors?|under (?:the age of )?1[3-8]|under 14)\b.{0,120}\b(?:parent|guardian)s?(?:al)?\b"
        r"|\b(?:parent|guardian)s?(?:al)?\b.{0,80}\b(?:consent|permission|agree)\b.{0,80}\b(?:children|child|minors?)\b",
    ),
    (
        "CR6",
        r"\b(?:before|prior to) (?:we )?(?:collect|collecting|process|processing|using)\b.{0,60}"
        + _CONSENT
        + r"|\bby (?:using|accessing|clicking|tapping)\b.{0,60}\b(?:agree|consent|accept)\b|\bwe (?:will )?(?:ask|obtain|"
        r"seek|request) (?:for )?your (?:consent|permission)\b",
    ),
    (
        "CR7",
        r"\b(?:material|significant|major|substantial) changes?\b.{0,120}\b(?:notify|notice|inform|email|announce|"
        r"pop-?up|prominent)\b|\b(?:notify|inform) you\b.{0,80}\bchanges?\b",
    ),
    ("CR8", r"\b(?:withdraw|revoke|cancel)\b.{0,20}\b(?:your )?(?:consent|authori[sz]ation|permissions?)\b"),
    (
        "CR9",
        r"\b(?:opt[- ]out|turn off|disable|switch off|close|refuse)\b.{0,80}\b(?:personali[sz]ed|targeted|"
        r"interest-based|tailored)\b",
    ),
    (
        "CR10",
        r"\b(?:right to|you (?:can|may|have the right to))\b.{0,40}\b(?:access|correct|rectify|update|delete|erase|"
        r"deregister|restrict|object|port|obtain a copy|close your account|cancel your account)\b|\b(?:delete|deactivate|"
        r"cancel|close|deregister) your account\b",
    ),
    ("CR11", r"\b(?:we|the app|it)\b.{0,40}\b(?:collect|use|process|access|obtain|read)s?\b.{0,160}" + _PURPOSE),
    (
        "CR12",
        r"\b(?:personali[sz]ed|targeted|interest-based|tailored) (?:ads|advertis\w*|recommendations?|content|"
        r"display|push|notifications?)\b",
    ),
    (
        "CR13",
        r"\b(?:we|the app)\b.{0,40}\b(?:collect|obtain|gather|receive|access|record|read|store)s?\b.{0,120}"
        + _PI_TERMS
        + r"|\b(?:information|data) (?:we|that we) collect\b",
    ),
    (
        "CR14",
        r"\b(?:retain|keep|store|hold)s?\b.{0,80}\b(?:for (?:as long as|the period|\d+|one|two|three|six|twelve)|"
        r"until|no longer than|retention period)\b|\bretention (?:period|policy)\b",
    ),
    (
        "CR15",
        r"\b(?:encrypt\w*|ssl|tls|https|access controls?|security measures|safeguards?|de-identif\w*|"
        r"anonymi[sz]\w*|pseudonymi[sz]\w*)\b|\bprotect (?:your )?" + _PERSONAL,
    ),
    ("CR16", r"\bsensitive (?:personal )?(?:information|data)\b"),
    (
        "CR17",
        r"\b(?:security|data|personal information) (?:incident|breach)\w*\b.{0,120}\b(?:notify|inform|notice|"
        r"report|tell)\b|\b(?:notify|inform)\b.{0,80}\b(?:incident|breach)\w*\b",
    ),
    ("CR18", r"\b" + _SHARE + r"\b.{0,100}\b" + _THIRD + r"\b"),
    (
        "CR19",
        r"\b"
        + _SHARE
        + r"\b.{0,120}\b(?:with|after|upon|only with|subject to) "
        + _CONSENT
        + r"|\b(?:will not|won't|do not|don't|never)\b.{0,20}\b"
        + _SHARE
        + r"\b.{0,100}\bwithout "
        + _CONSENT,
    ),
    (
        "CR20",
        r"\b(?:third[- ]party sdks?|sdk (?:name|provider)|the following (?:third parties|partners|sdks)|"
        r"(?:partners|providers|sdks|third parties) (?:include|such as|like|are)\b)|\bsuch as "
        + _RECIPIENTS
        + r"\b"
        # A named recipient next to the sharing or the third party ("our analytics partner Firebase Analytics").
        + r"|\b"
        + _THIRD
        + r"\b.{0,60}\b"
        + _RECIPIENTS
        + r"\b|\b"
        + _SHARE
        + r"\b.{0,80}\bwith "
        + _RECIPIENTS
        + r"\b",
    ),
    (
        "CR21",
        r"\b"
        + _SHARE
        + r"\b.{0,120}\b"
        + _THIRD
        + r"\b.{0,120}"
        + _PURPOSE
        + r"|"
        + _PURPOSE
        + r".{0,120}\b"
        + _SHARE
        + r"\b.{0,80}\b"
        + _THIRD
        + r"\b",
    ),
    (
        "CR22",
        r"\b"
        + _SHARE
        + r"\b.{0,120}"
        + _PI_TERMS
        + r".{0,120}\b"
        + _THIRD
        + r"\b|\b"
        + _SHARE
        + r"\b.{0,60}\b"
        + _THIRD
        + r"\b.{0,120}"
        + _PI_TERMS,
    ),
    ("CR23", r"\b" + _CROSS + r"\b"),
    ("CR24", r"\b" + _CROSS + r"\b.{0,160}" + _CONSENT + r"|" + _CONSENT + r".{0,160}\b" + _CROSS + r"\b"),
    ("CR25", r"\b" + _CROSS + r"\b.{0,160}" + _PURPOSE),
    (
        "CR26",
        r"\b" + _CROSS + r"\b.{0,200}\b(?:safeguards?|standard contractual clauses|adequa\w+|encrypt\w*|protection "
        r"measures|protect)\b",
    ),
)


#: A stated purpose in English ("to measure app usage", "for fraud prevention"); the extractors quote it.
PURPOSE_PATTERN = re.compile(_PURPOSE + r"[^,.;]{0,60}", re.IGNORECASE)


@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((label, re.compile(rx, re.IGNORECASE | re.DOTALL)) for label, rx in _RULES)


_NOT_COLLECTED = re.compile(
    r"\b(?:not|never)\b(?:\s+\w+){0,3}\s+(?:collect|process|request|ask for)\w*|\bno sensitive\b", re.I
)
_WEB_ADDRESS = re.compile(r"(?:https?://|www\.)\S+", re.I)


def english_labels(text: str) -> set[str]:
    """Disclosure types an English sentence makes, by pattern (empty for anything not English)."""
    if not is_english(text):
        return set()
    # A web address is no wording: "https://…" is not a security measure (CR15), "…/contact" no contact.
    flat = " ".join(_WEB_ADDRESS.sub(" ", text).split())
    found = {label for label, rx in _compiled() if rx.search(flat)}
    if "CR16" in found and _NOT_COLLECTED.search(flat):
        found.discard("CR16")  # "sensitive information shall not be collected" informs of no such collection
    return found


#: A sentence that opens a list: "We collect the following information:", "We share it with:".
_LEAD_IN = re.compile(r"[:：]\s*$")
#: List items are short; a longer sentence after them is prose again.
_ITEM_MAX_WORDS = 25
_LIST_MAX_ITEMS = 40


def list_item_labels(
    texts: Sequence[str], is_heading: Sequence[bool], section_paths: Sequence[tuple[str, ...]]
) -> dict[int, set[str]]:
    """Labels of English list items read as the end of the sentence that opens their list.

    "We collect the following information:" followed by "- Your email address" says, item by item,
    "we collect your email address" (CR13); neither line says it alone. Items are the short English
    sentences after such a lead-in, in its section, up to a heading, another lead-in or longer prose.
    """
    out: dict[int, set[str]] = {}
    for i, lead in enumerate(texts):
        if is_heading[i] or not _LEAD_IN.search(lead) or not is_english(lead):
            continue
        for j in range(i + 1, min(len(texts), i + 1 + _LIST_MAX_ITEMS)):
            item = texts[j]
            if (
                is_heading[j]
                or section_paths[j] != section_paths[i]
                or _LEAD_IN.search(item)
                or len(item.split()) > _ITEM_MAX_WORDS
                or _CJK.search(item)
            ):
                break
            found = english_labels(f"{lead.rstrip(' :：')}: {item}") - english_labels(item)
            if found:
                out.setdefault(j, set()).update(found)
    return out
