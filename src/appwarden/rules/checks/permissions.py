"""Manifest permission checks: Annex D low-relevance permissions, targetSdkVersion, unused permissions."""

from __future__ import annotations

from collections.abc import Iterator

from appwarden.evidence.model import Evidence
from appwarden.findings import Confidence, EvidenceRef, Finding
from appwarden.rules.checks._common import (
    apis_by_permission,
    call_site_refs,
    decided_app_type,
    permission_catalog,
    permission_ref,
)
from appwarden.rules.model import RuleContext, RuleNotApplicable
from appwarden.rules.registry import check

#: Android grants every permission at install below this target API level (runtime permissions came in 23).
RUNTIME_PERMISSIONS_API = 23

#: Permissions used through generic file and media APIs the API map cannot see (java.io.File on
#: shared storage): "no user found" is weak evidence for them.
_USED_THROUGH_FILES = frozenset(
    {
        "android.permission.READ_EXTERNAL_STORAGE",
        "android.permission.WRITE_EXTERNAL_STORAGE",
        "android.permission.MANAGE_EXTERNAL_STORAGE",
        "android.permission.READ_MEDIA_IMAGES",
        "android.permission.READ_MEDIA_VIDEO",
        "android.permission.READ_MEDIA_AUDIO",
        "android.permission.READ_MEDIA_VISUAL_USER_SELECTED",
        "android.permission.ACCESS_MEDIA_LOCATION",
    }
)


@check("permissions_beyond_app_type")
def permissions_beyond_app_type(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Requested permissions that PG20204A Annex D marks as low relevance (×) for the app's service type."""
    app_type = decided_app_type(ctx)
    if app_type.annex_d_service_type is None:
        raise RuleNotApplicable(f"PG20204A Annex D has no column for app type {app_type.id}")
    advised_against = set(app_type.not_recommended_permissions)
    catalog = permission_catalog()
    for p in sorted(ev.permissions, key=lambda p: p.name):
        info = catalog.get(p.name)
        short = info.short if info else p.name.rsplit(".", 1)[-1]
        if short not in advised_against:
            continue
        yield ctx.finding(
            message_zh=(
                f"App申请了{short}权限；TC260-PG-20204A附录D将其列为与“{app_type.annex_d_service_type}”服务类型"
                "相关程度较低、不建议申请的权限。"
            ),
            message_en=(
                f"The app requests {short}, which PG20204A Annex D marks as low relevance (not recommended) "
                f"for the '{app_type.name_en}' service type."
            ),
            evidence=[permission_ref(p)],
            confidence="high" if p.dangerous or (info and info.dangerous) else "medium",
            key_parts=(app_type.id, p.name),
        )


@check("target_sdk_below_23")
def target_sdk_below_23(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """targetSdkVersion < 23: every requested permission is granted at install (bundled authorisation)."""
    identity = ev.identity
    target = identity.target_sdk
    confidence: Confidence = "high"
    if target is None:
        if identity.min_sdk is None:
            raise RuleNotApplicable("the manifest gave neither targetSdkVersion nor minSdkVersion")
        # Android uses minSdkVersion as the target when targetSdkVersion is absent.
        target, confidence = identity.min_sdk, "medium"
    if target >= RUNTIME_PERMISSIONS_API:
        return
    dangerous = [p for p in ev.permissions if p.dangerous]
    yield ctx.finding(
        message_zh=(
            f"targetSdkVersion为{target}（低于23），安装时即一揽子授予全部{len(dangerous)}项危险权限，用户无法单独拒绝。"
        ),
        message_en=(
            f"targetSdkVersion is {target} (below 23): all {len(dangerous)} dangerous permission(s) are granted "
            "at install and the user cannot refuse them one by one."
        ),
        evidence=[
            EvidenceRef(
                kind="string",
                summary=f"targetSdkVersion={identity.target_sdk}, minSdkVersion={identity.min_sdk}",
                data={"target_sdk": identity.target_sdk, "min_sdk": identity.min_sdk},
            ),
            *(permission_ref(p) for p in sorted(dangerous, key=lambda p: p.name)),
        ],
        confidence=confidence,
        severity="high" if dangerous else "low",
    )


@check("permission_without_code_use")
def permission_without_code_use(ev: Evidence, ctx: RuleContext) -> Iterator[Finding]:
    """Dangerous permissions no call site in the code uses (by the permission->API map or PI type).

    Confidence is low when code is packed, encrypted or loaded at run time: the user
    may then be in code the scan cannot see.
    """
    if not ev.dex_files:
        raise RuleNotApplicable("no DEX code was analysed, so permission use cannot be judged")
    hidden = ev.hardening.hides_code or bool(ev.hardening.dynamic_code_loading)
    apis = apis_by_permission()
    catalog = permission_catalog()
    for p in sorted(ev.permissions, key=lambda p: p.name):
        info = catalog.get(p.name)
        if info is None or not info.dangerous or not info.pi_types:
            continue
        descriptors = apis.get(p.name, frozenset())
        wanted = set(info.pi_types)
        users = [c for c in ev.api_calls if c.api in descriptors or wanted.intersection(c.pi_types)]
        if users:
            continue
        weak = hidden or p.name in _USED_THROUGH_FILES
        if hidden:
            reason_en = "code is packed or loaded at run time, so the user may be hidden"
        elif p.name in _USED_THROUGH_FILES:
            reason_en = "it may be used through plain file APIs, which the API map does not cover"
        else:
            reason_en = "no call site found"
        yield ctx.finding(
            message_zh=f"App声明了{info.short}权限，但在代码中未发现使用该权限的调用。"
            + ("（App存在加固或动态加载，证据可能不完整）" if hidden else ""),
            message_en=f"The app declares {info.short} but no code that uses it was found ({reason_en}).",
            evidence=[permission_ref(p), *call_site_refs([])],
            confidence="low" if weak else "medium",
            key_parts=(p.name,),
        )
