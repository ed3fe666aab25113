"""Permission facts: protection level, PI types, custom and unknown permissions."""

from __future__ import annotations

from appwarden.apk.axml import ANDROID_NS, XmlElement
from appwarden.evidence.catalogs import permission_table
from appwarden.evidence.manifest import LiteralResolver
from appwarden.evidence.permissions import read_permissions


def uses(name: str, tag: str = "uses-permission", **attrs: object) -> XmlElement:
    attributes: dict[tuple[str | None, str], object] = {(ANDROID_NS, "name"): name}
    attributes.update({(ANDROID_NS, k): v for k, v in attrs.items()})
    return XmlElement(tag=tag, attributes=attributes)  # type: ignore[arg-type]


def test_levels_pi_types_custom_unknown_and_dedup() -> None:
    root = XmlElement(
        tag="manifest",
        children=[
            uses("com.x.permission.C2D", tag="permission", protectionLevel=2),
            uses("android.permission.READ_CONTACTS"),
            uses("android.permission.READ_CONTACTS"),
            uses("android.permission.CAMERA", tag="uses-permission-sdk-23"),
            uses("com.x.permission.C2D"),
            uses("com.vendor.UNKNOWN", maxSdkVersion=28),
        ],
    )
    perms = {p.name: p for p in read_permissions(root, LiteralResolver(), permission_table())}
    assert list(perms) == sorted(perms)
    contacts = perms["android.permission.READ_CONTACTS"]
    assert contacts.protection_level == "dangerous" and contacts.dangerous and "contacts" in contacts.pi_types
    camera = perms["android.permission.CAMERA"]
    assert camera.protection_level == "dangerous" and camera.dangerous  # "dangerous|instant" -> base level
    custom = perms["com.x.permission.C2D"]
    assert custom.custom and custom.protection_level == "signature"
    unknown = perms["com.vendor.UNKNOWN"]
    assert unknown.protection_level is None and not unknown.custom and unknown.max_sdk_version == 28
