"""SDK-level governance: which apps embed an SDK, which findings it causes, per vendor.

Findings whose ``owner`` is an SDK id are tracked against that SDK and its vendor;
the vendor notice (notices.issue_sdk_vendor_notice) lists the same data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appwarden.governance.errors import NotFound
from appwarden.governance.models import App, AppVersion, AppVersionSdk, Finding, Scan, Sdk, SdkVendor


def get_vendor(session: Session, vendor_id: int) -> SdkVendor:
    vendor = session.get(SdkVendor, vendor_id)
    if vendor is None:
        raise NotFound(f"SDK vendor {vendor_id} does not exist")
    return vendor


def sdk_profile(session: Session, sdk: Sdk) -> dict[str, Any]:
    """The apps (package, version) embedding ``sdk`` and its findings counted by rule."""
    apps = session.execute(
        select(App.package, AppVersion.version_name, AppVersion.version_code)
        .join(AppVersion, AppVersion.app_id == App.id)
        .join(AppVersionSdk, AppVersionSdk.app_version_id == AppVersion.id)
        .where(AppVersionSdk.sdk_id == sdk.id)
        .order_by(App.package, AppVersion.id)
    ).all()
    by_rule = session.execute(
        select(Finding.rule_id, Finding.severity, func.count(func.distinct(Scan.app_version_id)))
        .join(Scan, Scan.id == Finding.scan_id)
        .where(Finding.owner == sdk.sdk_key, Finding.severity != "info")
        .group_by(Finding.rule_id, Finding.severity)
        .order_by(Finding.rule_id)
    ).all()
    return {
        "sdk": sdk.sdk_key,
        "name": sdk.name,
        "vendor": sdk.vendor.name if sdk.vendor else None,
        "apps": [{"package": p, "version_name": vn, "version_code": vc} for p, vn, vc in apps],
        "findings": [{"rule_id": r, "severity": s, "app_versions": n} for r, s, n in by_rule],
    }


def vendor_profile(session: Session, vendor: SdkVendor) -> dict[str, Any]:
    sdks = list(session.scalars(select(Sdk).where(Sdk.vendor_id == vendor.id).order_by(Sdk.sdk_key)))
    return {
        "vendor_id": vendor.id,
        "vendor": vendor.name,
        "vendor_zh": vendor.name_zh,
        "sdks": [sdk_profile(session, s) for s in sdks],
    }
