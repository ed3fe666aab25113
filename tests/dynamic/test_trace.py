"""The runtime-trace format: strict loading with line-numbered errors, hostile input, derived facts."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appwarden.errors import ConfigurationError, UnreadableInputError
from appwarden.evidence import trace as trace_module
from appwarden.evidence.trace import (
    ApiCallEvent,
    ClipboardReadEvent,
    NetworkEvent,
    TraceFormatError,
    TracePolicy,
    call_frequencies,
    cleartext_pi_transfers,
    collection_pi,
    default_owners,
    dump_trace,
    load_trace,
    load_trace_policy,
    payload_pi,
    reprompts_after_refusal,
    rerequest_rule,
    third_party_transfers,
)
from dynamic.tracekit import APP_STACK, CLIP_API, IMEI_API, PACKAGE, SDK_STACK, UMENG_HOST, TraceBuilder, header

REGS = Path(__file__).resolve().parents[2] / "src" / "appwarden" / "data" / "regs"


def _with(*lines: str) -> bytes:
    return (json.dumps(header()) + "\n" + "\n".join(lines) + "\n").encode()


# -- loading -----------------------------------------------------------------------------------


def test_round_trip_orders_events_by_time_and_keeps_line_numbers() -> None:
    built = TraceBuilder().call(500).consent(100, "agree").start(0)
    trace = built.trace()
    assert [e.type for e in trace.events] == ["app_start", "consent", "api_call"]
    assert [e.line for e in trace.events] == [4, 3, 2]
    assert trace.header.package == PACKAGE
    again = load_trace(dump_trace(trace).encode())
    assert [e.model_dump() for e in again.events] == [e.model_dump() for e in trace.events]
    first = trace.events[2]
    assert isinstance(first, ApiCallEvent)
    assert first.stack[1].class_name == "com.example.shop.DeviceInfo"


def test_load_from_path_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(TraceBuilder().call(1).jsonl())
    assert len(load_trace(path).events) == 1
    with pytest.raises(TraceFormatError, match="cannot read trace"):
        load_trace(tmp_path / "absent.jsonl")
    with pytest.raises(TraceFormatError, match="not a regular file"):
        load_trace(tmp_path)


def test_crlf_and_bom_are_accepted() -> None:
    data = b"\xef\xbb\xbf" + TraceBuilder().call(1).jsonl().replace(b"\n", b"\r\n")
    assert len(load_trace(data).events) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "trace is empty"),
        (b'{"type": "api_call", "t_ms": 1, "api": "x"}\n', "line 1 must be the header"),
        (json.dumps(header(format="other")).encode(), r"line 1 \(header\): format: .*appwarden-runtime-trace"),
        (json.dumps(header(version=2)).encode(), "version 2 is not supported"),
        (json.dumps(header(recorded_at="2026-11-29T08:00:00")).encode(), "needs a time zone"),
        (json.dumps(header(package="not a package")).encode(), r"line 1 \(header\): package"),
        (json.dumps(header(extra=1)).encode(), "extra"),
    ],
)
def test_bad_headers_are_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(TraceFormatError, match=message):
        load_trace(data)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2 is not a JSON object"),
        ("[1, 2]", "line 2 is a JSON list"),
        ('{"type": "teleport", "t_ms": 1}', "line 2: unknown event type 'teleport'"),
        ('{"type": "api_call", "t_ms": -5, "api": "x"}', r"line 2 \(api_call\): t_ms"),
        ('{"type": "api_call", "t_ms": 5, "api": "x", "secret": 1}', r"line 2 \(api_call\): secret"),
        ('{"type": "consent", "t_ms": 5, "kind": "maybe"}', r"line 2 \(consent\): kind"),
        ('{"type": "consent", "t_ms": 5, "kind": "agree", "kind": "agree"}', "duplicate key 'kind'"),
        ('{"type": "sensor", "t_ms": NaN, "sensor_type": 1}', "NaN is not valid JSON"),
        (
            '{"type": "ui", "t_ms": 1, "activity": "A", "kind": "popup", "has_close_control": true, '
            '"close_control_size_dp": 1e999}',
            r"line 2 \(ui\)",
        ),
        (
            '{"type": "network", "t_ms": 1, "url": "https://a.com/x", "method": "POST", "host": "b.com", "bytes_out": 1}',
            "differs from the url's host",
        ),
        (
            '{"type": "network", "t_ms": 1, "url": "file:///etc/passwd", "method": "GET", "host": "", "bytes_out": 1}',
            r"line 2 \(network\)",
        ),
        (json.dumps(header()), "line 2 is a second header"),
        ("", "line 2 is empty"),
        ("[" * 100_000, "line 2 is not a JSON object: maximum recursion depth"),
        ('{"type": "consent", "t_ms": 1, "kind": ' + "[" * 50 + "]" * 50 + "}", r"line 2 \(consent\): kind"),
        ('{"type": "api_call", "t_ms": ' + "9" * 5000 + ', "api": "x"}', "line 2"),
    ],
)
def test_bad_event_lines_name_the_line(line: str, message: str) -> None:
    with pytest.raises(TraceFormatError, match=message):
        load_trace(_with(line))


def test_error_is_an_unreadable_input_error_with_a_stable_code() -> None:
    with pytest.raises(UnreadableInputError) as caught:
        load_trace(b"\xff\xfe")
    assert caught.value.code == "runtime_trace"
    assert caught.value.exit_code == 3


def test_non_utf8_line_is_named() -> None:
    with pytest.raises(TraceFormatError, match="line 2 is not UTF-8"):
        load_trace(json.dumps(header()).encode() + b'\n{"type": "consent", "t_ms": 1, "kind": "agree\xff"}\n')


def test_size_limits(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(trace_module, "MAX_LINE_BYTES", 300)
    with pytest.raises(TraceFormatError, match=r"line 2 is .* over the limit of 300 bytes"):
        load_trace(_with(json.dumps({"type": "api_call", "t_ms": 1, "api": "x" * 400})))
    monkeypatch.setattr(trace_module, "MAX_TRACE_BYTES", 1000)
    big = TraceBuilder()
    for i in range(20):
        big.call(i)
    with pytest.raises(TraceFormatError, match="over the limit of 1000 bytes"):
        load_trace(big.jsonl())
    path = tmp_path / "big.jsonl"
    path.write_bytes(big.jsonl())
    with pytest.raises(TraceFormatError, match="split the recording"):
        load_trace(path)


def test_event_count_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace_module, "MAX_EVENTS", 3)
    built = TraceBuilder()
    for i in range(4):
        built.consent(i, "dialog_shown")
    with pytest.raises(TraceFormatError, match="more than 3 events"):
        load_trace(built.jsonl())


def test_stack_depth_is_bounded() -> None:
    frames = [{"class": f"com.x.C{i}", "method": "m"} for i in range(trace_module.MAX_STACK_FRAMES + 1)]
    with pytest.raises(TraceFormatError, match=r"line 2 \(api_call\): stack"):
        load_trace(TraceBuilder().call(1, stack=frames).jsonl())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_escape_as_anything_but_trace_errors(blob: bytes) -> None:
    with contextlib.suppress(TraceFormatError):
        load_trace(json.dumps(header()).encode() + b"\n" + blob)


_VALID = TraceBuilder().start(0).consent(10, "agree").call(20).request(30, f"https://{UMENG_HOST}/x").jsonl()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(_VALID) - 1), st.integers(0, 255))
def test_mutated_traces_load_or_fail_cleanly(position: int, byte: int) -> None:
    data = bytearray(_VALID)
    data[position] = byte
    try:
        trace = load_trace(bytes(data))
    except TraceFormatError:
        return
    assert trace.events == tuple(sorted(trace.events, key=lambda e: e.t_ms))


# -- derived facts ------------------------------------------------------------------------------


def test_consent_state_and_collections_around_consent() -> None:
    trace = TraceBuilder().call(5).consent(10, "agree").call(20).consent(30, "withdraw").call(40).trace()
    assert trace.consent_state_at(5) == "none"
    assert trace.consent_state_at(10) == "agreed"
    assert trace.consent_state_at(35) == "refused"
    assert [e.t_ms for e in trace.collections_before_consent()] == [5]
    after = trace.collections_after_refusal()
    assert [(r.kind, e.t_ms) for r, e in after] == [("withdraw", 40)]


def test_no_agree_means_every_collection_is_before_consent() -> None:
    trace = TraceBuilder().consent(1, "dialog_shown").call(5).call(50).trace()
    assert trace.first_agree_ms() is None
    assert len(trace.collections_before_consent()) == 2


def test_owner_is_the_first_non_framework_frame() -> None:
    owners = default_owners()
    trace = TraceBuilder().call(1, stack=APP_STACK).call(2, stack=SDK_STACK).call(3, stack=APP_STACK[:1]).trace()
    got = [owners.owner_of_stack(e.stack) for e in trace.of_type(ApiCallEvent)]
    assert got[0] == "app"
    assert got[1].startswith("umeng")
    assert got[2] == "app"  # framework frames only: nothing says an SDK did it


def test_call_frequency_uses_a_sliding_minute() -> None:
    burst = TraceBuilder()
    for i in range(31):
        burst.call(100_000 + i * 1_900)  # 31 calls within 57 s
    spread = TraceBuilder()
    for i in range(31):
        spread.call(i * 10_000)  # one call every 10 s: at most 6 in any minute
    owners = default_owners()
    (busy,) = call_frequencies(burst.trace(), owners)
    assert (busy.api, busy.owner, busy.peak_per_minute, busy.window_start_ms) == (IMEI_API, "app", 31, 100_000)
    assert len(busy.events) == 31
    (calm,) = call_frequencies(spread.trace(), owners)
    assert calm.peak_per_minute == 6


def test_rerequest_rule_is_read_from_permissions_yaml() -> None:
    data = yaml.safe_load((REGS / "permissions.yaml").read_text(encoding="utf-8"))
    (rule,) = [r for r in data["general_rules"] if r["id"] == "rerequest_interval"]
    loaded = rerequest_rule()
    assert loaded.rule_id == "rerequest_interval"
    assert loaded.window_hours == rule["numeric"]["window_hours"] == 48
    assert loaded.max_prompts_after_refusal == rule["numeric"]["max_prompts_after_refusal"]


def test_reprompts_within_and_beyond_48_hours() -> None:
    hour = 3_600_000
    perm = "android.permission.CAMERA"
    nagging = (
        TraceBuilder()
        .prompt(0, perm, "denied")
        .prompt(hour, perm, "denied")
        .start(2 * hour)
        .prompt(3 * hour, perm, "denied")
    )
    (found,) = reprompts_after_refusal(nagging.trace())
    assert found.refusal.t_ms == 0
    assert [p.t_ms for p in found.prompts] == [hour, 3 * hour]
    assert found.relaunched
    patient = TraceBuilder().prompt(0, perm, "denied").prompt(hour, perm, "denied").prompt(50 * hour, perm, "granted")
    assert reprompts_after_refusal(patient.trace()) == []
    dismissed = TraceBuilder().prompt(0, perm, "dismissed").prompt(1, perm, "dismissed").prompt(2, perm, "dismissed")
    assert reprompts_after_refusal(dismissed.trace()) == []


def test_payload_pi_from_keys_and_agent_taint() -> None:
    trace = (
        TraceBuilder()
        .request(1, "https://a.example.org/x", body_keys=["Android_ID", "page", "lat"], pi=["imei"])
        .trace()
    )
    (event,) = trace.of_type(NetworkEvent)
    assert payload_pi(event) == ["android_id", "imei", "location"]


def test_third_party_transfers_match_vendor_domains_not_the_operator() -> None:
    owners = default_owners()
    trace = (
        TraceBuilder()
        .request(1, f"https://{UMENG_HOST}/app_logs", body_keys=["imei"])
        .request(2, "https://api.example.com/login", body_keys=["imei"], stack=APP_STACK)
        .request(3, f"https://{UMENG_HOST}/ping", body_keys=["page"])
        .trace()
    )
    (transfer,) = third_party_transfers(trace, owners)
    assert transfer.event.host == UMENG_HOST
    assert transfer.vendor == "umeng"
    assert transfer.sender is not None and transfer.sender.startswith("umeng")
    own = TraceBuilder(package="com.umeng.app").request(1, f"https://{UMENG_HOST}/x", body_keys=["imei"]).trace()
    assert third_party_transfers(own, owners) == []


def test_cleartext_transfers_need_pi() -> None:
    trace = (
        TraceBuilder()
        .request(1, "http://plain.example.com/x", body_keys=["oaid"])
        .request(2, "http://plain.example.com/y", body_keys=["page"])
        .request(3, "https://tls.example.com/x", body_keys=["oaid"])
        .trace()
    )
    assert [(e.url, pis) for e, pis in cleartext_pi_transfers(trace)] == [("http://plain.example.com/x", ["oaid"])]


def test_collection_pi_of_sensors_and_clipboard_comes_from_the_regs() -> None:
    trace = TraceBuilder().add("sensor", 1, sensor_type=19).add("clipboard_read", 2, api=CLIP_API).trace()
    sensor, clip = trace.collections()
    assert collection_pi(sensor) == ["step_count"]
    assert isinstance(clip, ClipboardReadEvent)
    assert collection_pi(clip) == ["clipboard_content"]


def test_trace_policy_defaults_and_file(tmp_path: Path) -> None:
    assert load_trace_policy() == TracePolicy()
    path = tmp_path / "policy.yaml"
    path.write_text("max_calls_per_minute: 5\nmax_calls_per_minute_by_api: {x: 2}\n", encoding="utf-8")
    policy = load_trace_policy(path)
    assert (policy.call_limit("x"), policy.call_limit("y")) == (2, 5)
    path.write_text("max_calls_per_minute: -1\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="trace policy file"):
        load_trace_policy(path)
