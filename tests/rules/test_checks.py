"""Each STATIC check with a fixture that should fire and one that should not."""

from __future__ import annotations

import pytest

from appwarden.evidence.model import (
    BundledPolicy,
    CallSite,
    ConsentString,
    Hardening,
    Packer,
    PrivacyPolicySignals,
)
from appwarden.rules.model import RuleNotApplicable

# -- minimum necessary -------------------------------------------------------------------


def test_min_001_flags_contacts_in_a_map_app(ef, run_rule) -> None:
    ev = ef.evidence(
        permissions=[
            ef.permission("READ_CONTACTS", ["contacts"]),
            ef.permission("ACCESS_FINE_LOCATION", ["precise_location", "location"]),
        ],
        api_calls=[ef.api_call(ef.CONTACTS_URI, ["contacts"])],
    )
    findings = run_rule("AW-MIN-001", ev, "map_navigation")
    assert len(findings) == 1
    f = findings[0]
    assert "address book" in f.message_en and "通讯录" in f.message_zh
    assert f.confidence == "high"  # permission plus a high-confidence call site
    kinds = sorted(e.kind for e in f.evidence)
    assert kinds == ["api_call", "permission"]
    assert all("LOCATION" not in e.summary for e in f.evidence)  # location is necessary for maps


def test_min_001_silent_when_pi_is_necessary(ef, run_rule) -> None:
    ev = ef.evidence(
        permissions=[ef.permission("ACCESS_FINE_LOCATION", ["precise_location", "location"])],
        api_calls=[ef.api_call(ef.LOCATION_API, ["location", "precise_location"])],
    )
    assert run_rule("AW-MIN-001", ev, "map_navigation") == []


def test_min_001_undecided_without_app_type(ef, run_rule) -> None:
    ev = ef.evidence(permissions=[ef.permission("READ_CONTACTS", ["contacts"])])
    with pytest.raises(RuleNotApplicable, match="app type not decided"):
        run_rule("AW-MIN-001", ev, None)


def test_min_001_groups_permissionless_reach_by_pi_family(ef, run_rule) -> None:
    apps_api = "Landroid/content/pm/PackageManager;->getInstalledPackages(I)Ljava/util/List;"
    ev = ef.evidence(
        permissions=[ef.permission("READ_CONTACTS", ["contacts"])],
        api_calls=[
            ef.api_call(ef.CONTACTS_URI, ["contacts"]),
            ef.api_call(apps_api, ["installed_app_list"], caller_class="com.example.app.Apps"),
        ],
    )
    findings = run_rule("AW-MIN-001", ev, "map_navigation")
    assert len(findings) == 2
    by_kinds = sorted(tuple(sorted({e.kind for e in f.evidence})) for f in findings)
    assert by_kinds == [("api_call",), ("api_call", "permission")]
    permissionless = next(f for f in findings if all(e.kind == "api_call" for e in f.evidence))
    assert "1 call site" in permissionless.message_en


def test_min_001_ignores_sdk_call_sites(ef, run_rule) -> None:
    ev = ef.evidence(sdks=[ef.sdk("umeng")], api_calls=[ef.api_call(ef.IMEI_API, ["imei"], owner="umeng")])
    assert run_rule("AW-MIN-001", ev, "map_navigation") == []


def test_min_002_flashlight_with_location_and_imei(ef, run_rule) -> None:
    ev = ef.evidence(
        label="Flashlight",
        permissions=[
            ef.permission("ACCESS_FINE_LOCATION", ["precise_location", "location"]),
            ef.permission("READ_PHONE_STATE", ["imei"]),
        ],
    )
    findings = run_rule("AW-MIN-002", ev, "utility_tools")
    assert len(findings) == 2  # one per PI family: location, device identifiers
    assert {f.severity for f in findings} == {"high"}
    assert run_rule("AW-MIN-001", ev, "utility_tools") == []  # no double report


def test_min_002_clean_tool_app_and_non_tool_type(ef, run_rule) -> None:
    clean = ef.evidence(permissions=[ef.permission("CAMERA", ["camera"])])  # camera itself is not judged PI
    assert run_rule("AW-MIN-002", clean, "utility_tools") == []
    shop = ef.evidence(permissions=[ef.permission("READ_CONTACTS", ["contacts"])])
    assert run_rule("AW-MIN-002", shop, "online_shopping") == []


def test_min_fingerprint_is_stable_across_versions(ef, run_rule) -> None:
    a = ef.evidence(
        permissions=[ef.permission("READ_CONTACTS", ["contacts"])],
        api_calls=[ef.api_call(ef.CONTACTS_URI, ["contacts"], offset=4)],
    )
    b = ef.evidence(
        permissions=[ef.permission("READ_CONTACTS", ["contacts"])],
        api_calls=[ef.api_call(ef.CONTACTS_URI, ["contacts"], offset=90)],
    )
    fa = run_rule("AW-MIN-001", a, "map_navigation")[0]
    fb = run_rule("AW-MIN-001", b, "map_navigation")[0]
    assert fa.fingerprint == fb.fingerprint


# -- permissions -------------------------------------------------------------------------


def test_perm_001_annex_d_permission_for_map_app(ef, run_rule) -> None:
    ev = ef.evidence(
        permissions=[ef.permission("READ_SMS", ["sms"]), ef.permission("ACCESS_FINE_LOCATION", ["location"])]
    )
    findings = run_rule("AW-PERM-001", ev, "map_navigation")
    assert len(findings) == 1
    assert "READ_SMS" in findings[0].message_en
    assert findings[0].evidence[0].data["name"] == "android.permission.READ_SMS"


def test_perm_001_silent_for_relevant_permission(ef, run_rule) -> None:
    ev = ef.evidence(permissions=[ef.permission("ACCESS_FINE_LOCATION", ["location"])])
    assert run_rule("AW-PERM-001", ev, "map_navigation") == []


def test_perm_001_undecided_for_type_without_annex_d_column(ef, run_rule) -> None:
    ev = ef.evidence(permissions=[ef.permission("READ_SMS", ["sms"])])
    with pytest.raises(RuleNotApplicable, match="Annex D"):
        run_rule("AW-PERM-001", ev, "utility_tools")


def test_perm_002_target_sdk_22(ef, run_rule) -> None:
    ev = ef.evidence(target_sdk=22, permissions=[ef.permission("CAMERA", ["camera"])])
    findings = run_rule("AW-PERM-002", ev)
    assert len(findings) == 1 and findings[0].severity == "high" and findings[0].confidence == "high"
    assert "22" in findings[0].message_en


def test_perm_002_target_sdk_23_and_missing(ef, run_rule) -> None:
    assert run_rule("AW-PERM-002", ef.evidence(target_sdk=23)) == []
    # No targetSdkVersion: Android uses minSdkVersion, with lower confidence.
    low = run_rule("AW-PERM-002", ef.evidence(target_sdk=None, min_sdk=19))
    assert len(low) == 1 and low[0].confidence == "medium" and low[0].severity == "low"
    with pytest.raises(RuleNotApplicable):
        run_rule("AW-PERM-002", ef.evidence(target_sdk=None))


def test_perm_003_unused_permission(ef, run_rule) -> None:
    ev = ef.evidence(permissions=[ef.permission("READ_PHONE_STATE", ["imei"])])
    findings = run_rule("AW-PERM-003", ev)
    assert len(findings) == 1 and findings[0].confidence == "medium"


def test_perm_003_used_permission_and_hidden_code(ef, run_rule) -> None:
    used = ef.evidence(
        permissions=[ef.permission("READ_PHONE_STATE", ["imei"])],
        api_calls=[ef.api_call(ef.IMEI_API, ["imei"], owner="umeng")],
    )
    assert run_rule("AW-PERM-003", used) == []
    packed = ef.evidence(
        permissions=[ef.permission("READ_PHONE_STATE", ["imei"])],
        hardening=Hardening(packers=[Packer(id="jiagu", name="360 Jiagu", evidence=["libjiagu.so"])]),
    )
    assert run_rule("AW-PERM-003", packed)[0].confidence == "low"
    with pytest.raises(RuleNotApplicable):
        run_rule("AW-PERM-003", ef.evidence(dex_files=[], permissions=[ef.permission("READ_PHONE_STATE", ["imei"])]))


# -- consent and SDKs --------------------------------------------------------------------


def test_consent_001_app_reads_imei_in_application_oncreate(ef, run_rule) -> None:
    ev = ef.evidence(early_paths=[ef.early_path(target=ef.IMEI_API, pi_types=["imei"])])
    findings = run_rule("AW-CONSENT-001", ev)
    assert len(findings) == 1
    assert findings[0].evidence[0].kind == "call_path"
    assert "App->onCreate" in findings[0].evidence[0].summary


def test_consent_001_ignores_sdk_paths_and_pi_free_paths(ef, run_rule) -> None:
    ev = ef.evidence(
        early_paths=[
            ef.early_path(target=ef.IMEI_API, pi_types=["imei"], owner="umeng"),
            ef.early_path(target="Landroid/util/Log;->d()V", pi_types=[]),
        ]
    )
    assert run_rule("AW-CONSENT-001", ev) == []


def test_sdk_001_sdk_initialised_in_application(ef, run_rule) -> None:
    ev = ef.evidence(
        sdks=[ef.sdk("umeng", reaches_pi=["imei"])],
        early_paths=[
            ef.early_path(target="com.umeng.commonsdk.UMConfigure->init()V", target_kind="sdk_init", sdk="umeng")
        ],
    )
    findings = run_rule("AW-SDK-001", ev)
    assert len(findings) == 1
    f = findings[0]
    assert f.owner == "umeng" and f.sdk_vendor == "Umeng Inc."
    assert {e.kind for e in f.evidence} == {"sdk", "call_path"}


def test_sdk_001_auto_init_provider_low_confidence_and_negative(ef, run_rule) -> None:
    provider = ef.component("provider", "com.umeng.InitProvider", owner="umeng")
    ev = ef.evidence(sdks=[ef.sdk("umeng", reaches_pi=["imei"])], components=[provider])
    findings = run_rule("AW-SDK-001", ev)
    assert len(findings) == 1 and findings[0].confidence == "low"
    # An SDK started later (no early path, no provider) is not reported.
    assert run_rule("AW-SDK-001", ef.evidence(sdks=[ef.sdk("umeng", reaches_pi=["imei"])])) == []


def test_sdk_002_attributes_call_sites_to_vendor(ef, run_rule) -> None:
    ev = ef.evidence(
        sdks=[ef.sdk("getui", categories=["push"])],
        api_calls=[
            ef.api_call(ef.IMEI_API, ["imei"], owner="getui", caller_class="com.igexin.a"),
            ef.api_call(ef.LOCATION_API, ["location"], owner="app"),
        ],
    )
    findings = run_rule("AW-SDK-002", ev)
    assert len(findings) == 1
    assert findings[0].owner == "getui" and findings[0].sdk_vendor == "Getui Inc."
    assert [e.data.get("caller_class") for e in findings[0].evidence if e.kind == "api_call"] == ["com.igexin.a"]
    assert run_rule("AW-SDK-002", ef.evidence(api_calls=[ef.api_call(ef.LOCATION_API, ["location"])])) == []


def test_sdk_003_sdk_beyond_type(ef, run_rule) -> None:
    ev = ef.evidence(sdks=[ef.sdk("ads")], api_calls=[ef.api_call(ef.IMEI_API, ["imei"], owner="ads")])
    assert len(run_rule("AW-SDK-003", ev, "utility_tools")) == 1
    map_sdk = ef.evidence(sdks=[ef.sdk("amap")], api_calls=[ef.api_call(ef.LOCATION_API, ["location"], owner="amap")])
    assert run_rule("AW-SDK-003", map_sdk, "map_navigation") == []


# -- self-start --------------------------------------------------------------------------


def test_start_001_boot_receiver(ef, run_rule) -> None:
    receiver = ef.component(
        "receiver",
        "com.example.app.Boot",
        exported=True,
        actions=["android.intent.action.BOOT_COMPLETED"],
        wake_up_actions=["android.intent.action.BOOT_COMPLETED"],
    )
    findings = run_rule("AW-START-001", ef.evidence(components=[receiver]))
    assert len(findings) == 1 and "BOOT_COMPLETED" in findings[0].message_en


def test_start_001_plain_receiver_and_disabled(ef, run_rule) -> None:
    plain = ef.component("receiver", "com.example.app.Local", actions=["com.example.app.REFRESH"])
    assert run_rule("AW-START-001", ef.evidence(components=[plain])) == []


def test_start_002_push_sdk_exported_service(ef, run_rule) -> None:
    service = ef.component(
        "service",
        "com.igexin.sdk.PushService",
        exported=True,
        owner="getui",
        actions=["com.igexin.sdk.action.service.message"],
    )
    ev = ef.evidence(sdks=[ef.sdk("getui", categories=["push"])], components=[service])
    findings = run_rule("AW-START-002", ev)
    assert len(findings) == 1 and findings[0].confidence == "medium" and findings[0].owner == "getui"


def test_start_002_protected_or_app_components_pass(ef, run_rule) -> None:
    protected = ef.component(
        "service",
        "com.igexin.sdk.PushService",
        exported=True,
        owner="getui",
        permission="com.example.app.permission.PUSH",
    )
    own = ef.component("service", "com.example.app.PushService", exported=True)
    ev = ef.evidence(sdks=[ef.sdk("getui", categories=["push"])], components=[protected, own])
    assert run_rule("AW-START-002", ev) == []


def test_start_003_device_admin(ef, run_rule) -> None:
    admin = ef.component("receiver", "com.example.app.Admin", permission="android.permission.BIND_DEVICE_ADMIN")
    assert len(run_rule("AW-START-003", ef.evidence(components=[admin]))) == 1
    assert run_rule("AW-START-003", ef.evidence(components=[ef.component("receiver", "com.example.app.R")])) == []


# -- sharing, notice, hardening ----------------------------------------------------------


def test_share_001_same_class_medium_same_sdk_low(ef, run_rule) -> None:
    ev = ef.evidence(
        api_calls=[ef.api_call(ef.IMEI_API, ["imei"], caller_class="com.example.app.Stats")],
        endpoints=[ef.endpoint("https://log.tracker.example/collect", source="dex:com.example.app.Stats")],
    )
    findings = run_rule("AW-SHARE-001", ev)
    assert len(findings) == 1 and findings[0].confidence == "medium"
    sdk_ev = ef.evidence(
        sdks=[ef.sdk("ads")],
        api_calls=[ef.api_call(ef.IMEI_API, ["imei"], owner="ads", caller_class="com.ads.A")],
        endpoints=[ef.endpoint("https://ads.example/x", source="dex:com.ads.B", owner="ads")],
    )
    assert run_rule("AW-SHARE-001", sdk_ev)[0].confidence == "low"


def test_share_001_first_party_or_unrelated_endpoints(ef, run_rule) -> None:
    ev = ef.evidence(
        api_calls=[ef.api_call(ef.IMEI_API, ["imei"], caller_class="com.example.app.Stats")],
        endpoints=[
            ef.endpoint("https://api.example.com/x", source="dex:com.example.app.Stats", third_party=False),
            ef.endpoint("https://cdn.other.example/y", source="dex:com.example.app.Ui"),
        ],
    )
    assert run_rule("AW-SHARE-001", ev) == []


def test_notice_001_no_consent_dialog(ef, run_rule) -> None:
    ev = ef.evidence(permissions=[ef.permission("READ_CONTACTS", ["contacts"])])
    findings = run_rule("AW-NOTICE-001", ev)
    assert len(findings) == 1 and findings[0].confidence == "low"
    assert findings[0].evidence[0].kind == "policy_absence"
    assert findings[0].evidence[0].data["pi_reached"] == ["contacts"]


def test_notice_001_dialog_present_or_no_pi(ef, run_rule) -> None:
    signals = PrivacyPolicySignals(
        bundled_documents=[
            BundledPolicy(path="assets/privacy.html", size=10, sha256="00" * 32, media_type="text/html")
        ],
        consent_strings=[ConsentString(source="string/agree", text="同意并继续")],
    )
    ev = ef.evidence(permissions=[ef.permission("READ_CONTACTS", ["contacts"])], privacy_policy=signals)
    assert run_rule("AW-NOTICE-001", ev) == []
    assert run_rule("AW-NOTICE-001", ef.evidence()) == []


def test_hard_001_info_when_packed_or_loading(ef, run_rule) -> None:
    loading = Hardening(
        dynamic_code_loading=[
            CallSite(caller_class="com.example.app.L", caller_method="load()V", dex="classes.dex", offset=2)
        ]
    )
    findings = run_rule("AW-HARD-001", ef.evidence(hardening=loading))
    assert len(findings) == 1 and findings[0].severity == "info"
    assert run_rule("AW-HARD-001", ef.evidence()) == []


def test_unknown_pi_types_and_sdk_owners_do_not_break_checks(ef, run_rule) -> None:
    """Evidence from a newer extractor may name PI types or SDKs this catalog does not know."""
    ev = ef.evidence(
        permissions=[ef.permission("READ_FUTURE_THING", ["future_pi_type"])],
        api_calls=[ef.api_call(ef.IMEI_API, ["imei", "future_pi_type"], owner="unknown-sdk")],
        early_paths=[ef.early_path(target=ef.IMEI_API, pi_types=["future_pi_type"], owner="unknown-sdk")],
    )
    for rule_id in ("AW-MIN-001", "AW-SDK-001", "AW-SDK-002", "AW-SDK-003", "AW-NOTICE-001", "AW-PERM-003"):
        findings = run_rule(rule_id, ev, "map_navigation")
        assert all(f.rule_id == rule_id for f in findings)
    sdk_finding = run_rule("AW-SDK-002", ev)[0]
    assert sdk_finding.owner == "unknown-sdk" and sdk_finding.sdk_vendor is None


def test_perm_003_storage_permission_is_low_confidence(ef, run_rule) -> None:
    ev = ef.evidence(permissions=[ef.permission("READ_EXTERNAL_STORAGE", ["picture", "video"])])
    findings = run_rule("AW-PERM-003", ev)
    assert len(findings) == 1 and findings[0].confidence == "low"
