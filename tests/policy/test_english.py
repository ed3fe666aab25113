"""English policies: disclosure patterns, facts and PI types (appwarden.evidence.policy.english)."""

from __future__ import annotations

import pytest

from appwarden.evidence.policy.analyse import analyse_policy
from appwarden.evidence.policy.classify import rule_labels
from appwarden.evidence.policy.english import english_labels, is_english, list_item_labels
from appwarden.evidence.policy.lexicon import ENGLISH_PI_TERMS, pi_lexicon
from appwarden.evidence.policy.normalize import normalize_sentence


def test_only_english_sentences_are_read_as_english() -> None:
    assert is_english("We collect your location to show nearby stores.")
    assert not is_english("我们会收集您的位置信息以向您展示附近的门店。")
    assert not is_english("我们使用 Android ID 和 IMEI 识别设备")  # Chinese with English terms
    assert not is_english("Privacy Policy")  # a heading, too short to say
    assert english_labels("我们会与第三方共享您的设备信息") == set()


CASES = [
    ("Last updated: March 1, 2024", {"CR1"}),
    ("This Privacy Policy applies to all of our apps and services.", {"CR2"}),
    ('Example Tech Co., Ltd. ("we", "us") operates the app.', {"CR3"}),
    ("If you have any questions, contact us at privacy@example.com.", {"CR4"}),
    ("To contact Example Games for any reason, please email <hello@example.com>", {"CR4"}),
    ("Children under 14 must obtain the consent of a parent or guardian before using the app.", {"CR5"}),
    ("Before we collect your personal information we will ask for your consent.", {"CR6"}),
    ("If we make material changes to this policy we will notify you by a pop-up notice.", {"CR7"}),
    ("You may withdraw your consent at any time in Settings.", {"CR8"}),
    ("You can turn off personalized ads in Settings > Privacy.", {"CR9", "CR12"}),
    ("You have the right to access, correct or delete your personal information.", {"CR10"}),
    ("We collect your location to show you nearby stores.", {"CR11", "CR13"}),
    ("We keep your data for 6 months and then delete it.", {"CR14"}),
    ("We protect your personal information with encryption and access controls.", {"CR15"}),
    ("Some of the data we process is sensitive personal information, such as biometric data.", {"CR16"}),
    ("In the event of a security incident we will notify you without delay.", {"CR17"}),
    ("We share your device information with advertising partners to measure ad performance.", {"CR18", "CR21", "CR22"}),
    ("We will not share your personal information with third parties without your consent.", {"CR18", "CR19"}),
    ("Our third-party SDKs include Firebase Analytics and AppsFlyer.", {"CR20"}),
    ("We share your device identifiers with our analytics partner Firebase Analytics to measure usage.", {"CR20"}),
    ("Payments are processed by our payment service provider Stripe.", {"CR20"}),
    (
        "Your information may be transferred to servers outside mainland China with your separate consent.",
        {"CR23", "CR24"},
    ),
    ("We use cookies and similar technologies to remember your preferences.", {"CR11"}),
    ("We may process your information on a server outside the country where you live.", {"CR23"}),
]


@pytest.mark.parametrize(("sentence", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_each_disclosure_type_has_a_pattern(sentence: str, expected: set[str]) -> None:
    found = rule_labels(normalize_sentence(sentence))  # as the classifier applies them
    assert expected <= found, (sentence, found)


@pytest.mark.parametrize(
    ("sentence", "absent"),
    [
        ("We collect your location to show you nearby stores.", {"CR18", "CR20", "CR23"}),
        ("You may withdraw your consent at any time in Settings.", {"CR18", "CR13", "CR3"}),
        ("The app shows the weather forecast for your city every morning.", {f"CR{i}" for i in range(1, 27)}),
        ("We use Google Maps to show the weather near you.", {"CR20"}),
        ("Our partners may adjust the prices of their offers.", {"CR20"}),
    ],
)
def test_patterns_do_not_fire_on_unrelated_sentences(sentence: str, absent: set[str]) -> None:
    assert not (rule_labels(normalize_sentence(sentence)) & absent)


POLICY = """Privacy Policy
Last updated: March 1, 2024
1. Who we are
Example Tech Ltd. operates this app. Contact us at privacy@example.com.
2. Information we collect
We collect your device identifier (IMEI, Android ID), location and contacts to provide the service.
3. How we share information
We share your device information with third-party SDK providers such as Firebase Analytics for crash reporting.
4. Children
If you are under 14, please obtain consent from your parent or guardian before using the app.
5. Your rights
You may access, correct or delete your personal information, or withdraw consent, in Settings.
"""


def test_an_english_policy_gets_its_facts_and_disclosures() -> None:
    analysis = analyse_policy(POLICY.encode(), filename="policy.txt")
    facts = analysis.facts
    assert facts.operator == "Example Tech Ltd."
    assert [(d.kind, d.date) for d in facts.dates] == [("updated", "2024-03-01")]
    assert {"imei", "android_id", "location", "contacts", "device_identifier"} <= facts.declared_pi_types
    for cr in ("CR1", "CR3", "CR4", "CR5", "CR8", "CR10", "CR11", "CR13", "CR18", "CR20"):
        assert analysis.covered(cr), cr
    assert not analysis.covered("CR23")


def test_english_pi_terms_name_real_pi_types() -> None:
    lexicon = pi_lexicon()
    assert set(ENGLISH_PI_TERMS) <= set(lexicon.types)
    found = {t for t, _, _ in lexicon.find("We read the clipboard and your installed apps, but not your SMS.")}
    assert {"clipboard_content", "installed_app_list", "sms"} <= found
    assert not {t for t, _, _ in lexicon.find("The design of the zip file")}  # whole words only


def test_english_data_safety_wordings_are_pi_types() -> None:
    from appwarden.evidence.policy.lexicon import pi_lexicon
    from appwarden.evidence.policy.normalize import normalize_sentence

    text = "We collect crash logs, usage data, your age group and advertising identifiers."
    found = {t for t, _, _ in pi_lexicon().find(normalize_sentence(text))}
    assert {"app_log", "app_usage_record", "age", "idfa"} <= found
    # Generic words stay out: "legitimate interests", "the laws of your country".
    assert not {t for t, _, _ in pi_lexicon().find(normalize_sentence("We rely on legitimate interests."))}


def test_a_web_address_is_no_disclosure() -> None:
    from appwarden.evidence.policy.classify import classify_sentences

    for line in (
        "https://firebase.google.com/support",
        "Google Analytics for Firebase: https://firebase.google.com/policies",
    ):
        assert classify_sentences([line])[0].labels == [], line
    # Wording around an address still counts, and a Chinese line with a link is the model's to read.
    assert "CR4" in dict(classify_sentences(["Contact us at https://example.com/contact for questions."])[0].labels)
    assert classify_sentences(["AndroidID/IDFA/OPENUDID/GUID/"])[0].labels


def test_sensitive_information_not_collected_is_no_sensitive_pi_notice() -> None:
    from appwarden.evidence.policy.english import english_labels

    assert "CR16" not in english_labels("Any sensitive information shall not be collected by the app.")
    assert "CR16" not in english_labels("We do not collect sensitive personal information about you.")
    assert "CR16" in english_labels("We collect sensitive personal information such as your precise location.")


def test_list_items_are_read_as_the_end_of_the_sentence_opening_their_list() -> None:
    texts = [
        "Information We Collect",
        "We collect the following information when you use the app:",
        "Your email address and phone number",
        "Precise location, to show nearby stores",
        "Device identifiers such as the Android ID",
        "We keep your account for as long as it is open and delete it within thirty days after you close it.",
        "Contact",
        "Email address",
    ]
    headings = [True, False, False, False, False, False, True, False]
    paths = [("Information We Collect",)] * 6 + [("Contact",)] * 2
    got = list_item_labels(texts, headings, paths)
    assert got[2] == {"CR13"} and got[4] == {"CR13"}
    assert {"CR11", "CR13"} <= got[3]
    # Longer prose ends the list; a heading does; the lead-in itself gains nothing.
    assert 1 not in got and 5 not in got and 7 not in got
    assert english_labels("Your email address and phone number") == set()


def test_a_list_stops_at_another_lead_in_and_never_reads_chinese_items() -> None:
    texts = ["We collect the following information:", "您的手机号码", "We share it with:", "Your email address"]
    got = list_item_labels(texts, [False] * 4, [("s",)] * 4)
    assert 1 not in got
    # "We share it with: Your email address" is read for what the second lead-in starts, not the first.
    assert "CR13" not in got.get(3, set())


def test_an_english_policy_that_lists_what_it_collects_covers_cr13() -> None:
    doc = (
        "# Privacy Policy\n\n## Information We Collect\n\nWe collect the following information when you use the app:\n\n"
        "- Your email address and phone number\n- Device identifiers such as the Android ID\n"
    )
    analysis = analyse_policy(doc, filename="policy.md")
    covered = {c.label: c.sentences for c in analysis.coverage}
    items = [s.index for s in analysis.sentences if s.text.startswith(("Your email", "Device identifiers"))]
    assert len(items) == 2 and set(items) <= set(covered["CR13"])


@pytest.mark.parametrize(
    "sentence",
    [
        "We collect your mobile phone number to register your account.",
        "We use your email address to create and manage your account.",
        "We collect your location to book a ride for you.",
        "We use your phone number to sign you in.",
    ],
)
def test_account_and_booking_purposes_are_purposes(sentence: str) -> None:
    assert "CR11" in english_labels(sentence)


def test_a_purpose_verb_without_personal_information_is_no_purpose() -> None:
    assert "CR11" not in english_labels("Books are great to read in the evening with friends.")
