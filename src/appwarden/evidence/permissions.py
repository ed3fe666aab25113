"""Requested, implied and app-defined permissions, with protection level and PI types from regs/permissions.yaml."""

from __future__ import annotations

from typing import Any

from appwarden.evidence.catalogs import PermissionInfo
from appwarden.evidence.manifest import ManifestElement, ValueResolver, as_int, attr, child_elements
from appwarden.evidence.model import ImpliedPermission, Permission

_DANGEROUS = "dangerous"


def read_permissions(
    root: ManifestElement, resolver: ValueResolver, table: dict[str, PermissionInfo]
) -> list[Permission]:
    """Requested permissions (uses-permission and uses-permission-sdk-23), sorted by name.

    Protection level and PI types come from regs/permissions.yaml; a permission the app itself
    defines (<permission>) is marked custom and carries its declared protection level.
    """
    custom: dict[str, str | None] = {}
    for element in child_elements(root, "permission"):
        name = resolver.text(attr(element, "name"))
        if name:
            custom[name] = _protection_level_name(attr(element, "protectionLevel"))
    requested: dict[str, Permission] = {}
    for tag in ("uses-permission", "uses-permission-sdk-23", "uses-permission-sdk-m"):
        for element in child_elements(root, tag):
            name = resolver.text(attr(element, "name"))
            if not name or name in requested:
                continue
            info = table.get(name)
            level = _base_level(info.protection_level if info else custom.get(name))
            requested[name] = Permission(
                name=name,
                protection_level=level,
                dangerous=level == _DANGEROUS,
                pi_types=list(info.pi_types) if info else [],
                max_sdk_version=as_int(attr(element, "maxSdkVersion")),
                custom=name in custom,
            )
    return [requested[n] for n in sorted(requested)]


def _base_level(level: str | None) -> str | None:
    """AOSP levels carry flags ("dangerous|instant"); the base level is what rules compare."""
    return level.split("|")[0] if level else None


_ANDROID = "android.permission."

#: Permissions Android adds to an app targeting an API level below the second value, whatever it
#: requests (PermissionManager.NEW_PERMISSIONS: the first dangerous permissions, API 4).
_NEW_PERMISSIONS: tuple[tuple[str, int], ...] = (
    (_ANDROID + "WRITE_EXTERNAL_STORAGE", 4),
    (_ANDROID + "READ_PHONE_STATE", 4),
)

#: AOSP's split permissions (frameworks/base/data/etc/platform.xml, Android 14, in its order, which
#: the platform applies in one pass, so a split permission implied earlier splits again): an app
#: requesting the first and targeting an API level below the third (None: any) also gets the second.
_SPLIT_PERMISSIONS: tuple[tuple[str, str, int | None], ...] = tuple(
    (_ANDROID + split, _ANDROID + new, target)
    for split, new, target in (
        ("ACCESS_FINE_LOCATION", "ACCESS_COARSE_LOCATION", None),
        ("WRITE_EXTERNAL_STORAGE", "READ_EXTERNAL_STORAGE", None),
        ("READ_CONTACTS", "READ_CALL_LOG", 16),
        ("WRITE_CONTACTS", "WRITE_CALL_LOG", 16),
        ("ACCESS_FINE_LOCATION", "ACCESS_BACKGROUND_LOCATION", 29),
        ("ACCESS_COARSE_LOCATION", "ACCESS_BACKGROUND_LOCATION", 29),
        ("READ_EXTERNAL_STORAGE", "ACCESS_MEDIA_LOCATION", 29),
        ("WRITE_EXTERNAL_STORAGE", "ACCESS_MEDIA_LOCATION", 29),
        ("BLUETOOTH", "BLUETOOTH_SCAN", 31),
        ("BLUETOOTH", "BLUETOOTH_CONNECT", 31),
        ("BLUETOOTH", "BLUETOOTH_ADVERTISE", 31),
        ("BLUETOOTH_ADMIN", "BLUETOOTH_SCAN", 31),
        ("BLUETOOTH_ADMIN", "BLUETOOTH_CONNECT", 31),
        ("BLUETOOTH_ADMIN", "BLUETOOTH_ADVERTISE", 31),
        ("BODY_SENSORS", "BODY_SENSORS_BACKGROUND", 33),
        ("READ_EXTERNAL_STORAGE", "READ_MEDIA_AUDIO", 33),
        ("READ_EXTERNAL_STORAGE", "READ_MEDIA_VIDEO", 33),
        ("READ_EXTERNAL_STORAGE", "READ_MEDIA_IMAGES", 33),
        ("WRITE_EXTERNAL_STORAGE", "READ_MEDIA_AUDIO", 33),
        ("WRITE_EXTERNAL_STORAGE", "READ_MEDIA_VIDEO", 33),
        ("WRITE_EXTERNAL_STORAGE", "READ_MEDIA_IMAGES", 33),
        ("READ_MEDIA_IMAGES", "READ_MEDIA_VISUAL_USER_SELECTED", None),
        ("READ_MEDIA_VIDEO", "READ_MEDIA_VISUAL_USER_SELECTED", None),
        ("ACCESS_MEDIA_LOCATION", "READ_MEDIA_VISUAL_USER_SELECTED", None),
    )
)


def implied_permissions(
    requested: list[Permission], target_sdk: int | None, table: dict[str, PermissionInfo]
) -> list[ImpliedPermission]:
    """What the platform adds to ``requested`` for an app targeting ``target_sdk``, sorted by name.

    As Android's package parser does it (ParsingPackageUtils.convertNewPermissions, then
    convertSplitPermissions over the split list in order): a permission is implied only when the
    app does not request it, and an implied one counts as requested for the splits after it. An
    app without a target (no uses-sdk) targets API 1. Each implied permission carries the
    maxSdkVersion of the request it comes from.
    """
    target = 1 if target_sdk is None else target_sdk
    held: dict[str, int | None] = {p.name: p.max_sdk_version for p in requested}
    implied: dict[str, ImpliedPermission] = {}

    def imply(name: str, by: str | None, below: int | None, max_sdk: int | None) -> None:
        info = table.get(name)
        level = _base_level(info.protection_level if info else None)
        implied[name] = ImpliedPermission(
            name=name,
            implied_by=by,
            target_sdk_below=below,
            max_sdk_version=max_sdk,
            protection_level=level,
            dangerous=level == _DANGEROUS,
            pi_types=list(info.pi_types) if info else [],
        )
        held[name] = max_sdk

    for name, new_below in _NEW_PERMISSIONS:
        if target >= new_below:
            break
        if name not in held:
            imply(name, None, new_below, None)
    for split, new, split_below in _SPLIT_PERMISSIONS:
        if (split_below is not None and target >= split_below) or split not in held or new in held:
            continue
        imply(new, split, split_below, held[split])
    return [implied[n] for n in sorted(implied)]


_PROTECTION_BASES = {0: "normal", 1: "dangerous", 2: "signature", 3: "signatureOrSystem", 4: "internal"}


def _protection_level_name(value: Any) -> str | None:
    if value is None:
        return "normal"  # Android's default for <permission>
    if isinstance(value, str):
        return value.split("|")[0] or None
    if isinstance(value, int) and not isinstance(value, bool):
        return _PROTECTION_BASES.get(value & 0xF)
    return None
