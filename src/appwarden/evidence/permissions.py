"""Requested and app-defined permissions, with protection level and PI types from regs/permissions.yaml."""

from __future__ import annotations

from typing import Any

from appwarden.evidence.catalogs import PermissionInfo
from appwarden.evidence.manifest import ManifestElement, ValueResolver, as_int, attr, child_elements
from appwarden.evidence.model import Permission

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
            level = info.protection_level if info else custom.get(name)
            # AOSP levels carry flags ("dangerous|instant"); the base level is what rules compare.
            level = level.split("|")[0] if level else None
            requested[name] = Permission(
                name=name,
                protection_level=level,
                dangerous=level == _DANGEROUS,
                pi_types=list(info.pi_types) if info else [],
                max_sdk_version=as_int(attr(element, "maxSdkVersion")),
                custom=name in custom,
            )
    return [requested[n] for n in sorted(requested)]


_PROTECTION_BASES = {0: "normal", 1: "dangerous", 2: "signature", 3: "signatureOrSystem", 4: "internal"}


def _protection_level_name(value: Any) -> str | None:
    if value is None:
        return "normal"  # Android's default for <permission>
    if isinstance(value, str):
        return value.split("|")[0] or None
    if isinstance(value, int) and not isinstance(value, bool):
        return _PROTECTION_BASES.get(value & 0xF)
    return None
