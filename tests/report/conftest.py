"""Scan reports for the report tests: one built by hand from the real models, real ones from the sample apps."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

from appwarden.evidence.model import (
    ApiCall,
    CallPath,
    Component,
    Endpoint,
    Identity,
    IntentFilter,
    Permission,
    SdkEvidence,
    SdkMatch,
    Signer,
)
from appwarden.findings import (
    AppTypeCandidate,
    AppTypeDecision,
    EvidenceRef,
    Finding,
    LegalBasis,
    ScanReport,
    UndecidedRule,
)
from support import EXAMPLES

HOSTILE_LABEL = "<script>alert(1)</script>"


def _signer(scheme: str) -> Signer:
    return Signer(
        scheme=scheme,
        subject="CN=Example Operator,O=Example,C=CN",
        issuer="CN=Example Operator,O=Example,C=CN",
        serial_number="01",
        sha256="ab" * 32,
    )


def build_report(label: str = HOSTILE_LABEL, *, package: str = "com.example.shop") -> ScanReport:
    """A report with one finding per evidence kind the HTML and SARIF renderers treat specially."""
    api_call = ApiCall(
        api="Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;",
        kind="invoke",
        pi_types=["imei"],
        owner="umeng-analytics",
        caller_class="com.umeng.commonsdk.statistics.common.DeviceConfig",
        caller_method="getImei(Landroid/content/Context;)Ljava/lang/String;",
        dex="classes.dex",
        offset=42,
    )
    path = CallPath(
        entry_kind="application_create",
        entry="com.example.shop.ShopApp->onCreate()V",
        steps=["com.example.shop.ShopApp->onCreate()V", "com.example.shop.Tracker->start()V"],
        target="Landroid/location/LocationManager;->getLastKnownLocation(Ljava/lang/String;)Landroid/location/Location;",
        target_kind="api_call",
        pi_types=["location"],
        owner="app",
    )
    sdk = SdkMatch(
        id="umeng-analytics",
        name="Umeng Analytics",
        name_zh="友盟统计",
        vendor="Umeng (Alibaba)",
        vendor_zh="友盟同欣（北京）科技有限公司",
        evidence=[SdkEvidence(kind="package_prefix", value="com.umeng.analytics")],
        initialised=True,
        called=True,
        init_evidence=["com.example.shop.ShopApp->onCreate()V calls UMConfigure.init"],
        reaches_pi=["imei"],
    )
    receiver = Component(
        kind="receiver",
        name="cn.jpush.android.service.PushReceiver",
        exported=True,
        intent_filters=[IntentFilter(actions=["android.intent.action.BOOT_COMPLETED"])],
        wake_up_actions=["android.intent.action.BOOT_COMPLETED"],
        owner="jpush",
    )
    permission = Permission(
        name="android.permission.READ_CONTACTS", protection_level="dangerous", dangerous=True, pi_types=["contacts"]
    )
    endpoint = Endpoint(
        url="https://alog.umeng.com/app_logs",
        host="alog.umeng.com",
        scheme="https",
        owner="umeng-analytics",
        source="dex:com.umeng.commonsdk.statistics.internal.UMLogSender",
        third_party=True,
        sdk="umeng-analytics",
    )

    def ref(kind: str, summary: str, record: BaseModel) -> EvidenceRef:
        return EvidenceRef(kind=kind, summary=summary, data=record.model_dump(mode="json"))

    def finding(rule_id: str, severity: str, evidence: list[EvidenceRef], **extra: object) -> Finding:
        owner = str(extra.pop("owner", "app"))
        return Finding(
            rule_id=rule_id,
            title_zh=f"{rule_id} 中文标题",
            title_en=f"{rule_id} English title",
            severity=severity,
            confidence=str(extra.pop("confidence", "medium")),
            technique="STATIC",
            focus_area=extra.pop("focus_area", None),
            basis=[
                LegalBasis(doc="TAF078.6", clause="3.2", ref="R078.6-02"),
                LegalBasis(doc="RDM", clause="三.1", ref="RRD-3-01"),
            ],
            message_zh=f"{rule_id} 问题描述",
            message_en=f"{rule_id} problem description",
            advice_zh=f"{rule_id} 整改建议",
            advice_en=f"{rule_id} advice",
            owner=owner,
            sdk_vendor=extra.pop("sdk_vendor", None),
            evidence=evidence,
            fingerprint=Finding.make_fingerprint(rule_id, owner, *(e.summary for e in evidence)),
        )

    findings = [
        finding(
            "AW-CONSENT-001",
            "high",
            [ref("call_path", "application_create: ShopApp.onCreate -> getLastKnownLocation", path)],
            confidence="low",
        ),
        finding(
            "AW-SDK-001",
            "high",
            [
                ref("sdk", "SDK Umeng Analytics matched by package_prefix:com.umeng.analytics", sdk),
                ref("api_call", "DeviceConfig.getImei calls TelephonyManager.getDeviceId", api_call),
            ],
            owner="umeng-analytics",
            sdk_vendor="友盟同欣（北京）科技有限公司",
            focus_area="FA5",
        ),
        finding(
            "AW-MIN-001",
            "medium",
            [ref("permission", "uses-permission android.permission.READ_CONTACTS -> contacts", permission)],
            focus_area="FA1",
        ),
        finding(
            "AW-START-001",
            "medium",
            [ref("component", "<receiver> cn.jpush.android.service.PushReceiver (exported)", receiver)],
            owner="jpush",
            focus_area="FA1",
        ),
        finding(
            "AW-SHARE-001",
            "low",
            [ref("endpoint", "https://alog.umeng.com/app_logs in dex:UMLogSender", endpoint)],
            owner="umeng-analytics",
            sdk_vendor="友盟同欣（北京）科技有限公司",
            focus_area="FA4",
        ),
        finding(
            "AW-POLICY-001",
            "info",
            [EvidenceRef(kind="policy_absence", summary="0 bundled policy documents", data={"urls": []})],
        ),
    ]
    return ScanReport(
        engine_version="0.1.0",
        catalog_version="1.0.0+test",
        app=Identity(
            package=package,
            version_name="2.3.4",
            version_code=234,
            label=label,
            min_sdk=21,
            target_sdk=33,
            apk_sha256="cd" * 32,
            apk_size=123456,
            signers=[_signer("v1"), _signer("v2")],
        ),
        app_type=AppTypeDecision(
            inferred=[AppTypeCandidate(app_type="online_shopping", confidence=0.8, reasons=["label contains 商城"])],
            decided="online_shopping",
            reason="inferred online_shopping with confidence 0.80",
        ),
        findings=findings,
        undecided=[UndecidedRule(rule_id="AW-POLICY-002", reason="the policy URL was not read; give it with --policy")],
        not_implemented=["AW-M164-001", "AW-M26-001"],
    )


@pytest.fixture
def handmade_report() -> ScanReport:
    return build_report()


@pytest.fixture
def report_builder() -> Callable[..., ScanReport]:
    """``build_report`` itself, for tests that need reports with other labels or packages."""
    return build_report


@pytest.fixture(scope="session")
def sample_reports() -> dict[str, ScanReport]:
    """Reports of the bundled sample apps, scanned once per session (skips when they are not built)."""
    from appwarden.pipeline import scan_apk

    names = ("sdkdemo", "plain", "packed", "autostart")
    paths = {name: EXAMPLES / f"{name}.apk" for name in names}
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        pytest.skip(f"sample apps not built (run `make fixtures`): {', '.join(missing)}")
    return {name: scan_apk(Path(p)) for name, p in paths.items()}


@pytest.fixture(scope="session")
def sdkdemo_report(sample_reports: dict[str, ScanReport]) -> ScanReport:
    return sample_reports["sdkdemo"]
