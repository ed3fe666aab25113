"""Builders of Evidence records for rule tests: small, explicit, valid by construction."""

from __future__ import annotations

from typing import Any

import pytest

from appwarden.evidence.model import (
    ApiCall,
    CallPath,
    Component,
    DexSummary,
    Endpoint,
    Evidence,
    Identity,
    IntentFilter,
    Permission,
    SdkMatch,
)
from appwarden.findings import AppTypeDecision
from appwarden.rules.catalog_loader import load_catalog
from appwarden.rules.model import RuleContext


class EvidenceFactory:
    """Makes evidence records with sensible defaults; tests override only what they are about."""

    IMEI_API = "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;"
    LOCATION_API = (
        "Landroid/location/LocationManager;->getLastKnownLocation(Ljava/lang/String;)Landroid/location/Location;"
    )
    CONTACTS_URI = "content://com.android.contacts"

    def evidence(self, *, package: str = "com.example.app", label: str | None = None, **fields: Any) -> Evidence:
        identity_fields = {k: fields.pop(k) for k in ("target_sdk", "min_sdk", "label_zh") if k in fields}
        identity_fields.setdefault("target_sdk", 30)
        fields.setdefault(
            "dex_files",
            [
                DexSummary(
                    name="classes.dex", size=1000, version="035", class_count=10, method_count=50, string_count=100
                )
            ],
        )
        return Evidence(
            engine_version="test",
            identity=Identity(package=package, label=label, apk_sha256="ab" * 32, apk_size=1234, **identity_fields),
            **fields,
        )

    def permission(self, short: str, pi_types: list[str], *, dangerous: bool = True) -> Permission:
        return Permission(
            name=f"android.permission.{short}",
            protection_level="dangerous" if dangerous else "normal",
            dangerous=dangerous,
            pi_types=pi_types,
        )

    def api_call(
        self,
        api: str,
        pi_types: list[str],
        *,
        owner: str = "app",
        caller_class: str = "com.example.app.Main",
        offset: int = 4,
        confidence: str = "high",
    ) -> ApiCall:
        return ApiCall(
            api=api,
            kind="invoke",
            pi_types=pi_types,
            owner=owner,
            caller_class=caller_class,
            caller_method="run()V",
            dex="classes.dex",
            offset=offset,
            confidence=confidence,  # type: ignore[arg-type]
        )

    def sdk(self, sdk_id: str, *, categories: list[str] | None = None, reaches_pi: list[str] | None = None) -> SdkMatch:
        return SdkMatch(
            id=sdk_id,
            name=sdk_id.title(),
            vendor=f"{sdk_id.title()} Inc.",
            vendor_zh=None,
            categories=categories or [],
            reaches_pi=reaches_pi or [],
            initialised=True,
        )

    def component(
        self,
        kind: str,
        name: str,
        *,
        exported: bool = False,
        owner: str = "app",
        actions: list[str] | None = None,
        wake_up_actions: list[str] | None = None,
        permission: str | None = None,
    ) -> Component:
        filters = [IntentFilter(actions=actions)] if actions else []
        return Component(
            kind=kind,  # type: ignore[arg-type]
            name=name,
            exported=exported,
            owner=owner,
            intent_filters=filters,
            wake_up_actions=wake_up_actions or [],
            permission=permission,
        )

    def early_path(
        self,
        *,
        target: str,
        target_kind: str = "api_call",
        pi_types: list[str] | None = None,
        owner: str = "app",
        sdk: str | None = None,
        entry_kind: str = "application_create",
    ) -> CallPath:
        entry = "com.example.app.App->onCreate()V"
        return CallPath(
            entry_kind=entry_kind,  # type: ignore[arg-type]
            entry=entry,
            steps=[entry, "com.example.app.Init->start()V"],
            target=target,
            target_kind=target_kind,  # type: ignore[arg-type]
            pi_types=pi_types or [],
            owner=owner,
            sdk=sdk,
        )

    def endpoint(self, url: str, *, source: str, owner: str = "app", third_party: bool = True) -> Endpoint:
        host = url.split("//", 1)[-1].split("/", 1)[0]
        return Endpoint(
            url=url, host=host, scheme=url.split(":", 1)[0], owner=owner, source=source, third_party=third_party
        )


@pytest.fixture
def ef() -> EvidenceFactory:
    return EvidenceFactory()


def decision(app_type: str | None) -> AppTypeDecision:
    return AppTypeDecision(declared=app_type, decided=app_type, reason="test" if app_type else "undecided in test")


@pytest.fixture
def ctx_for():
    """ctx_for(rule_id, app_type=None, policy=None) -> RuleContext for that catalog rule."""
    catalog = load_catalog()

    def make(rule_id: str, app_type: str | None = None, policy: Any | None = None) -> RuleContext:
        rule = catalog.rule(rule_id)
        assert rule is not None, rule_id
        return RuleContext(rule=rule, app_type=decision(app_type), policy=policy, catalog_version=catalog.version)

    return make


@pytest.fixture
def run_rule(ctx_for):
    """run_rule(rule_id, evidence, app_type=None) -> findings of that rule's registered check."""
    from appwarden.rules.registry import check_for_rule

    def run(rule_id: str, evidence: Evidence, app_type: str | None = None, policy: Any | None = None) -> list:
        ctx = ctx_for(rule_id, app_type, policy)
        bound = check_for_rule(ctx.rule.id, ctx.rule.check)
        assert bound is not None, f"{rule_id} has no registered check"
        return list(bound[1](evidence, ctx))

    return run
