"""Builders of runtime traces for the dynamic tests: JSONL as the agent writes it, plus a check runner."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from appwarden.evidence.model import DexSummary, Evidence, Identity
from appwarden.evidence.trace import RuntimeTrace, load_trace
from appwarden.findings import AppTypeDecision, Finding
from appwarden.rules.catalog_loader import load_catalog
from appwarden.rules.model import RuleContext
from appwarden.rules.registry import check_for_rule

PACKAGE = "com.example.shop"
IMEI_API = "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;"
LOCATION_API = "Landroid/location/LocationManager;->getLastKnownLocation(Ljava/lang/String;)Landroid/location/Location;"
CLIP_API = "Landroid/content/ClipboardManager;->getPrimaryClip()Landroid/content/ClipData;"

#: Stacks as the agent records them: the hooked framework method first, then its callers.
APP_STACK = [
    {"class": "android.telephony.TelephonyManager", "method": "getDeviceId"},
    {"class": "com.example.shop.DeviceInfo", "method": "collect", "file": "DeviceInfo.java", "line": 12},
    {"class": "com.example.shop.ShopApp", "method": "onCreate"},
    {"class": "android.app.Instrumentation", "method": "callApplicationOnCreate"},
]
SDK_STACK = [
    {"class": "android.telephony.TelephonyManager", "method": "getDeviceId"},
    {"class": "com.umeng.commonsdk.statistics.idtracking.ImeiTracker", "method": "f"},
    {"class": "com.umeng.commonsdk.UMConfigure", "method": "init"},
    {"class": "com.example.shop.ShopApp", "method": "onCreate"},
]
UMENG_HOST = "alog.umeng.com"


def header(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "header",
        "format": "appwarden-runtime-trace",
        "version": 1,
        "package": PACKAGE,
        "version_code": 7,
        "device": "emulator-5554",
        "android_api": 33,
        "recorded_at": "2026-11-29T08:00:00Z",
        "agent_version": "1.0.0",
    }
    base.update(overrides)
    return base


class TraceBuilder:
    """Appends events; ``jsonl()`` gives the file bytes, ``trace()`` the loaded RuntimeTrace."""

    def __init__(self, **header_overrides: Any) -> None:
        self.lines: list[dict[str, Any]] = [header(**header_overrides)]

    def add(self, type_: str, t_ms: int, **fields: Any) -> TraceBuilder:
        self.lines.append({"type": type_, "t_ms": t_ms, **fields})
        return self

    def start(self, t_ms: int, cause: str = "user", **fields: Any) -> TraceBuilder:
        return self.add("app_start", t_ms, cause=cause, **fields)

    def consent(self, t_ms: int, kind: str) -> TraceBuilder:
        return self.add("consent", t_ms, kind=kind, marker="click")

    def call(
        self, t_ms: int, api: str = IMEI_API, pi: Iterable[str] = ("imei",), stack: list[dict[str, Any]] | None = None
    ) -> TraceBuilder:
        return self.add("api_call", t_ms, api=api, pi_types=list(pi), stack=stack or APP_STACK, thread="main")

    def prompt(self, t_ms: int, permission: str, result: str) -> TraceBuilder:
        return self.add("permission_prompt", t_ms, permission=permission, result=result)

    def request(
        self, t_ms: int, url: str, *, body_keys: Iterable[str] = (), pi: Iterable[str] = (), stack: Any = None
    ) -> TraceBuilder:
        host = url.split("://", 1)[1].split("/", 1)[0].split(":")[0]
        return self.add(
            "network",
            t_ms,
            url=url,
            method="POST",
            host=host,
            bytes_out=120,
            body_keys=list(body_keys),
            pi_types_in_payload=list(pi),
            stack=stack if stack is not None else SDK_STACK,
        )

    def ui(self, t_ms: int, kind: str = "popup", **fields: Any) -> TraceBuilder:
        fields.setdefault("activity", "com.example.shop.MainActivity")
        fields.setdefault("has_close_control", True)
        return self.add("ui", t_ms, kind=kind, **fields)

    def jsonl(self) -> bytes:
        return ("\n".join(json.dumps(line, ensure_ascii=False) for line in self.lines) + "\n").encode("utf-8")

    def trace(self) -> RuntimeTrace:
        return load_trace(self.jsonl())


def evidence(package: str = PACKAGE) -> Evidence:
    return Evidence(
        engine_version="test",
        identity=Identity(package=package, apk_sha256="ab" * 32, apk_size=1234, target_sdk=33),
        dex_files=[
            DexSummary(name="classes.dex", size=1000, version="035", class_count=10, method_count=50, string_count=100)
        ],
    )


def run_rule(rule_id: str, trace: RuntimeTrace) -> list[Finding]:
    """Findings of one catalog rule's bound check on ``trace`` (as the engine would call it)."""
    catalog = load_catalog()
    rule = catalog.rule(rule_id)
    assert rule is not None, rule_id
    bound = check_for_rule(rule.id, rule.check)
    assert bound is not None, f"no check bound to {rule_id}"
    ctx = RuleContext(
        rule=rule,
        app_type=AppTypeDecision(reason="test"),
        policy=None,
        catalog_version=catalog.version,
        trace=trace,
    )
    return list(bound[1](evidence(), ctx))
