"""Each DYNAMIC check on a trace that shows the behaviour (finding) and one that does not (none)."""

from __future__ import annotations

from pathlib import Path

import pytest

from appwarden.evidence.trace import TraceFormatError, default_owners
from appwarden.findings import Finding
from appwarden.pipeline import evaluate
from appwarden.rules import engine
from appwarden.rules.app_type import infer_app_type
from appwarden.rules.catalog_loader import load_catalog
from appwarden.rules.checks import dynamic_common
from appwarden.rules.checks.dynamic_consent import AFTER_REFUSAL, BEFORE_CONSENT
from appwarden.rules.checks.dynamic_frequency import CLIPBOARD, FREQUENCY
from appwarden.rules.checks.dynamic_permissions import REPROMPT, STARTUP_PROMPT
from appwarden.rules.checks.dynamic_sharing import CLEARTEXT, THIRD_PARTY
from appwarden.rules.checks.dynamic_start import SELF_START
from appwarden.rules.checks.dynamic_ui import POPUP
from dynamic.tracekit import (
    APP_STACK,
    CLIP_API,
    IMEI_API,
    LOCATION_API,
    SDK_STACK,
    UMENG_HOST,
    TraceBuilder,
    evidence,
    run_rule,
)

HOUR = 3_600_000


def _is_umeng(owner: str) -> bool:
    sdk = default_owners().catalog.by_id().get(owner)
    return sdk is not None and sdk.vendor == "umeng"


def _only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [f.message_en for f in findings]
    return findings[0]


def _trace_events(finding: Finding) -> list[dict[str, object]]:
    assert finding.evidence, "a finding must carry the trace events it rests on"
    assert all(ref.kind == "trace_event" for ref in finding.evidence)
    return [ref.data for ref in finding.evidence if "t_ms" in ref.data]


# -- before consent / after refusal -----------------------------------------------------------


def test_sdk_collecting_before_consent_is_attributed_to_the_sdk() -> None:
    trace = TraceBuilder().start(0).call(800, stack=SDK_STACK).consent(5_000, "agree").call(6_000).trace()
    finding = _only(run_rule("AW-T7806-005", trace))
    assert _is_umeng(finding.owner)
    assert finding.sdk_vendor is not None
    assert finding.confidence == "high"
    (event,) = _trace_events(finding)
    assert event["t_ms"] == 800 and event["api"] == IMEI_API and event["line"] == 3
    assert event["stack"][1]["class"] == "com.umeng.commonsdk.statistics.idtracking.ImeiTracker"  # type: ignore[index]
    assert "t=0.8s" in finding.evidence[0].summary
    assert run_rule("AW-T7806-002", trace) == []  # the app's own collection came after consent
    assert [f.owner for f in run_rule("AW-PG3-014", trace)] == [finding.owner]


def test_app_collecting_before_consent() -> None:
    trace = TraceBuilder().call(100).call(200, api=LOCATION_API, pi=["location"]).consent(1_000, "agree").trace()
    finding = _only(run_rule("AW-T7806-002", trace))
    assert finding.owner == "app"
    assert "IMEI" in finding.message_en or "imei" in finding.message_en.lower()
    assert len(_trace_events(finding)) == 2


def test_no_collection_before_consent() -> None:
    trace = TraceBuilder().start(0).consent(500, "agree").call(600).call(700, stack=SDK_STACK).trace()
    for rule_id in ("AW-T7806-002", "AW-T7806-005", "AW-PG3-014", "AW-RDM-009", "AW-PG5-018", "AW-M164-001"):
        assert run_rule(rule_id, trace) == [], rule_id


def test_permission_prompt_before_consent_counts_for_rdm_009() -> None:
    trace = TraceBuilder().prompt(100, "android.permission.READ_PHONE_STATE", "granted").consent(900, "agree").trace()
    finding = _only(run_rule("AW-RDM-009", trace))
    assert "READ_PHONE_STATE" in finding.message_en
    assert run_rule("AW-PG3-014", trace) == []  # a prompt alone is not a collection
    after = TraceBuilder().consent(0, "agree").prompt(100, "android.permission.READ_PHONE_STATE", "granted").trace()
    assert run_rule("AW-RDM-009", after) == []


def test_without_an_agree_confidence_drops() -> None:
    finding = _only(run_rule("AW-PG3-014", TraceBuilder().call(100).trace()))
    assert finding.confidence == "medium"
    assert "no consent recorded" in finding.message_en


def test_collection_after_withdrawal() -> None:
    trace = TraceBuilder().consent(0, "agree").call(100).consent(200, "withdraw").call(300, stack=SDK_STACK).trace()
    finding = _only(run_rule("AW-PG3-015", trace))
    assert _is_umeng(finding.owner)
    events = _trace_events(finding)
    assert [e["type"] for e in events] == ["consent", "api_call"]
    assert "withdraw" in finding.message_en


def test_no_collection_after_refusal_until_agreed_again() -> None:
    trace = TraceBuilder().consent(0, "disagree").consent(100, "agree").call(300).trace()
    assert run_rule("AW-PG3-015", trace) == []
    assert run_rule("AW-RDM-010", trace) == []


# -- frequency and clipboard ------------------------------------------------------------------


def _burst(builder: TraceBuilder, start: int, count: int, step: int, stack: list[dict[str, object]]) -> TraceBuilder:
    for i in range(count):
        builder.call(start + i * step, api=LOCATION_API, pi=["location"], stack=stack)
    return builder


def test_frequent_collection_by_sdk() -> None:
    trace = _burst(TraceBuilder().consent(0, "agree"), 1_000, 40, 500, SDK_STACK).trace()  # 40 in 20 s
    finding = _only(run_rule("AW-T7801-006", trace))
    assert _is_umeng(finding.owner)
    assert "40 times" in finding.message_en and "30 per minute" in finding.message_en
    assert len(finding.evidence) == 21  # 20 quoted events and a count of the rest
    assert run_rule("AW-T7801-003", trace) == []  # app scope
    assert _only(run_rule("AW-RDM-021", trace)).owner == finding.owner


def test_collection_below_the_policy_limit() -> None:
    trace = _burst(TraceBuilder(), 0, 40, 10_000, APP_STACK).trace()  # one every 10 s
    assert run_rule("AW-RDM-021", trace) == []


def test_policy_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("max_calls_per_minute: 5\n", encoding="utf-8")
    monkeypatch.setenv(dynamic_common.POLICY_ENV, str(path))
    trace = _burst(TraceBuilder(), 0, 8, 1_000, APP_STACK).trace()
    assert "5 per minute" in _only(run_rule("AW-T7801-003", trace)).message_en


def test_background_frequency_counts_only_background_calls() -> None:
    foreground = _burst(TraceBuilder().add("lifecycle", 0, state="foreground"), 1_000, 40, 500, APP_STACK)
    assert run_rule("AW-T7801-009", foreground.trace()) == []
    background = _burst(TraceBuilder().add("lifecycle", 0, state="background"), 1_000, 40, 500, APP_STACK)
    assert "in the background" in _only(run_rule("AW-T7801-009", background.trace())).message_en


def test_clipboard_read_in_background() -> None:
    trace = (
        TraceBuilder()
        .consent(0, "agree")
        .add("clipboard_read", 100, api=CLIP_API, stack=APP_STACK, foreground=False)
        .trace()
    )
    finding = _only(run_rule("AW-PG3-017", trace))
    assert "background" in finding.message_en and finding.confidence == "high"


def test_single_foreground_clipboard_read_after_consent_is_fine() -> None:
    trace = (
        TraceBuilder().consent(0, "agree").add("clipboard_read", 100, api=CLIP_API, stack=APP_STACK, foreground=True)
    ).trace()
    assert run_rule("AW-PG3-017", trace) == []


def test_frequent_clipboard_reads() -> None:
    builder = TraceBuilder().consent(0, "agree")
    for i in range(5):
        builder.add("clipboard_read", 1_000 + i * 1_000, api=CLIP_API, stack=APP_STACK, foreground=True)
    finding = _only(run_rule("AW-PG3-017", builder.trace()))
    assert "5 reads in one minute" in finding.message_en and finding.confidence == "medium"


# -- permissions ------------------------------------------------------------------------------

CAMERA = "android.permission.CAMERA"
CAMERA_API = "Landroid/hardware/Camera;->open()Landroid/hardware/Camera;"


def test_reprompt_within_48_hours_in_the_same_run() -> None:
    trace = (
        TraceBuilder()
        .start(0)
        .prompt(1_000, CAMERA, "denied")
        .prompt(2_000, CAMERA, "denied")
        .prompt(3_000, CAMERA, "granted")
        .trace()
    )
    finding = _only(run_rule("AW-PG3-012", trace))
    assert "48 h" in finding.message_en and "rerequest_interval" in finding.message_en
    assert [e["t_ms"] for e in _trace_events(finding)] == [1_000, 2_000, 3_000]
    assert _only(run_rule("AW-T7804-005", trace))
    assert run_rule("AW-T7804-006", trace) == []


def test_reprompt_after_relaunch() -> None:
    trace = (
        TraceBuilder()
        .start(0)
        .prompt(1_000, CAMERA, "denied")
        .start(HOUR)
        .prompt(HOUR + 500, CAMERA, "denied")
        .start(2 * HOUR)
        .prompt(2 * HOUR + 500, CAMERA, "denied")
        .trace()
    )
    assert "across a relaunch" in _only(run_rule("AW-T7804-006", trace)).message_en
    assert run_rule("AW-T7804-005", trace) == []


def test_one_reprompt_or_a_late_one_is_allowed() -> None:
    trace = (
        TraceBuilder()
        .prompt(0, CAMERA, "denied")
        .prompt(HOUR, CAMERA, "denied")
        .prompt(49 * HOUR, CAMERA, "granted")
        .trace()
    )
    for rule_id in ("AW-PG3-012", "AW-SAG-028", "AW-M164-005", "AW-T7804-005", "AW-T7804-006"):
        assert run_rule(rule_id, trace) == [], rule_id


def test_startup_prompt_for_an_unused_feature() -> None:
    trace = TraceBuilder().start(0).prompt(1_500, CAMERA, "granted").call(200_000, api=IMEI_API).trace()
    finding = _only(run_rule("AW-T7804-004", trace))
    assert finding.confidence == "low"
    assert [e["type"] for e in _trace_events(finding)] == ["app_start", "permission_prompt"]


def test_startup_prompt_followed_by_use_is_fine() -> None:
    trace = (
        TraceBuilder()
        .start(0)
        .prompt(1_500, CAMERA, "granted")
        .call(3_000, api=CAMERA_API, pi=["camera"])
        .prompt(30_000, "android.permission.ACCESS_FINE_LOCATION", "granted")
        .trace()
    )
    assert run_rule("AW-T7804-004", trace) == []


# -- self-start -------------------------------------------------------------------------------


def test_boot_and_push_starts_are_reported() -> None:
    trace = (
        TraceBuilder()
        .start(0, "boot", component="com.example.shop.BootReceiver", action="android.intent.action.BOOT_COMPLETED")
        .start(HOUR, "push", component="com.umeng.message.UmengIntentService", caller_package="com.other.app")
        .trace()
    )
    findings = run_rule("AW-T7810-001", trace)
    assert sorted(f.message_en.split(" records ")[1].split(" (")[0].split(",")[0] for f in findings) == [
        "1 self-start at boot",
        "1 start by a push channel",
    ]
    sdk = _only(run_rule("AW-T7810-004", trace))
    assert _is_umeng(sdk.owner) and "com.other.app" in sdk.message_en


def test_user_starts_are_not_self_start() -> None:
    trace = TraceBuilder().start(0).start(HOUR, "user").trace()
    for rule_id in ("AW-T7810-001", "AW-M164-006", "AW-M26-006", "AW-T7810-004"):
        assert run_rule(rule_id, trace) == [], rule_id


# -- sharing ----------------------------------------------------------------------------------


def test_pi_sent_to_third_party_before_consent() -> None:
    trace = (
        TraceBuilder()
        .request(500, f"https://{UMENG_HOST}/app_logs", body_keys=["imei", "oaid"])
        .consent(1_000, "agree")
        .trace()
    )
    finding = _only(run_rule("AW-T7805-002", trace))
    assert UMENG_HOST in finding.message_en and "before the user consented" in finding.message_en
    assert (_trace_events(finding)[0]["url"]) == f"https://{UMENG_HOST}/app_logs"
    assert _only(run_rule("AW-PG3-026", trace)).owner == finding.owner
    assert run_rule("AW-PG3-025", trace) == []


def test_pi_sent_after_consent_or_to_own_server_is_not_reported() -> None:
    trace = (
        TraceBuilder()
        .request(100, "https://api.example-shop.cn/login", body_keys=["imei"], stack=APP_STACK)
        .consent(500, "agree")
        .request(600, f"https://{UMENG_HOST}/app_logs", body_keys=["imei"])
        .trace()
    )
    for rule_id in ("AW-T7805-002", "AW-RDM-024", "AW-PG3-025", "AW-PG3-026"):
        assert run_rule(rule_id, trace) == [], rule_id


def test_cleartext_pi_by_sdk() -> None:
    trace = TraceBuilder().consent(0, "agree").request(100, f"http://{UMENG_HOST}/x", body_keys=["mac"]).trace()
    finding = _only(run_rule("AW-PG5-034", trace))
    assert "cleartext" in finding.message_en
    tls = TraceBuilder().consent(0, "agree").request(100, f"https://{UMENG_HOST}/x", body_keys=["mac"]).trace()
    assert run_rule("AW-PG5-034", tls) == []


# -- windows ----------------------------------------------------------------------------------


def test_window_problems() -> None:
    trace = (
        TraceBuilder()
        .ui(100, "popup", has_close_control=False)
        .ui(200, "dialog", close_control_size_dp=12)
        .ui(300, "popup", activity="com.example.shop.Promo", close_control_works=False, close_control_size_dp=40)
        .ui(400, "splash", activity="com.example.shop.Splash", has_close_control=False, countdown_s=6)
        .trace()
    )
    t7807 = sorted(f.message_en for f in run_rule("AW-T7807-001", trace))
    assert len(t7807) == 3
    expected = [
        "popup window in com.example.shop.MainActivity (the app's own code) that has no close control",
        "dialog window in com.example.shop.MainActivity (the app's own code) that has a close control smaller than "
        "the policy minimum (12dp < 24dp)",
        "popup window in com.example.shop.Promo (the app's own code) that has a close control that does not close it",
    ]
    assert all(any(text in message for message in t7807) for text in expected)
    m26 = run_rule("AW-M26-004", trace)
    assert len(m26) == 4
    assert any("cannot be skipped (6s > 3s)" in f.message_en for f in m26)


def test_windows_that_close_properly() -> None:
    trace = (
        TraceBuilder()
        .ui(100, "popup", close_control_size_dp=32, close_control_works=True)
        .ui(200, "splash", has_close_control=True, close_control_size_dp=30, countdown_s=5, skippable=True)
        .ui(300, "splash", has_close_control=False, countdown_s=2)
        .trace()
    )
    assert run_rule("AW-T7807-001", trace) == []
    assert run_rule("AW-M26-004", trace) == []


# -- engine and pipeline wiring ---------------------------------------------------------------


def test_dynamic_rules_run_only_with_a_trace() -> None:
    ev = evidence()
    decision = infer_app_type(ev)
    catalog = load_catalog()
    without = engine.run(ev, decision, catalog=catalog)
    assert "AW-T7806-005" in without.not_implemented
    assert not any(f.technique == "DYNAMIC" for f in without.findings)
    trace = TraceBuilder().call(100, stack=SDK_STACK).trace()
    with_trace = engine.run(ev, decision, catalog=catalog, trace=trace)
    assert "AW-T7806-005" not in with_trace.not_implemented
    # One problem under several standards is one finding; its other rules are listed with it.
    dynamic = {r for f in with_trace.findings if f.technique == "DYNAMIC" for r in (f.rule_id, *f.also_rule_ids)}
    assert {"AW-T7806-005", "AW-PG3-014", "AW-PG5-018"} <= dynamic
    mine = {*BEFORE_CONSENT, *AFTER_REFUSAL, *FREQUENCY, *CLIPBOARD, *REPROMPT, *STARTUP_PROMPT, *SELF_START}
    mine |= {*THIRD_PARTY, *CLEARTEXT, *POPUP}
    assert len(mine) == 33
    assert not [u for u in with_trace.undecided if u.rule_id in mine]
    assert all(catalog.by_id()[rule_id].technique == "DYNAMIC" for rule_id in mine)


def test_pipeline_refuses_a_trace_of_another_app() -> None:
    trace = TraceBuilder(package="com.other.app").call(1).trace()
    with pytest.raises(TraceFormatError, match=r"recorded for package com\.other\.app"):
        evaluate(evidence(), trace=trace)
    report = evaluate(evidence(), trace=TraceBuilder().call(1).trace())
    assert any("AW-T7806-002" in (f.rule_id, *f.also_rule_ids) for f in report.findings)
