"""Permissions the platform adds to the requested ones: AOSP's new and split permissions.

The rules are checked on their own (chains, target levels, maxSdkVersion) and against aapt,
which knows the older ones: `aapt dump badging` prints them as uses-implied-permission.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from appwarden.evidence.catalogs import permission_table
from appwarden.evidence.extract import extract_evidence
from appwarden.evidence.model import Permission
from appwarden.evidence.permissions import implied_permissions
from support import require_tool

FRAMEWORK_APK = Path("/usr/share/android-framework-res/framework-res.apk")
A = "android.permission."


def _implied(names: list[str], target: int | None, max_sdk: dict[str, int] | None = None) -> dict[str, tuple]:
    requested = [Permission(name=A + n, max_sdk_version=(max_sdk or {}).get(n)) for n in names]
    return {
        p.name.removeprefix(A): (
            p.implied_by.removeprefix(A) if p.implied_by else None,
            p.target_sdk_below,
            p.max_sdk_version,
        )
        for p in implied_permissions(requested, target, permission_table())
    }


def test_location_for_an_app_targeting_api_28_brings_background_location() -> None:
    assert _implied(["ACCESS_FINE_LOCATION"], 28) == {
        "ACCESS_COARSE_LOCATION": ("ACCESS_FINE_LOCATION", None, None),
        "ACCESS_BACKGROUND_LOCATION": ("ACCESS_FINE_LOCATION", 29, None),
    }
    # From API 29 on, background location must be asked for.
    assert _implied(["ACCESS_FINE_LOCATION"], 29) == {"ACCESS_COARSE_LOCATION": ("ACCESS_FINE_LOCATION", None, None)}
    # What the app requests itself is never implied.
    assert _implied(["ACCESS_FINE_LOCATION", "ACCESS_COARSE_LOCATION", "ACCESS_BACKGROUND_LOCATION"], 28) == {}


def test_an_implied_permission_splits_again_and_keeps_its_request_s_max_sdk() -> None:
    implied = _implied(["WRITE_EXTERNAL_STORAGE"], 28, {"WRITE_EXTERNAL_STORAGE": 28})
    assert implied["READ_EXTERNAL_STORAGE"] == ("WRITE_EXTERNAL_STORAGE", None, 28)
    # Platform order: WRITE's own ACCESS_MEDIA_LOCATION split comes after READ's, which is first.
    assert implied["ACCESS_MEDIA_LOCATION"] == ("READ_EXTERNAL_STORAGE", 29, 28)
    assert implied["READ_MEDIA_IMAGES"] == ("READ_EXTERNAL_STORAGE", 33, 28)
    assert implied["READ_MEDIA_VISUAL_USER_SELECTED"] == ("READ_MEDIA_IMAGES", None, 28)
    assert set(implied) == {
        "READ_EXTERNAL_STORAGE",
        "ACCESS_MEDIA_LOCATION",
        "READ_MEDIA_AUDIO",
        "READ_MEDIA_VIDEO",
        "READ_MEDIA_IMAGES",
        "READ_MEDIA_VISUAL_USER_SELECTED",
    }


def test_an_app_without_a_target_gets_api_4_s_new_permissions() -> None:
    implied = _implied([], None)
    assert implied["WRITE_EXTERNAL_STORAGE"] == (None, 4, None)
    assert implied["READ_PHONE_STATE"] == (None, 4, None)
    assert implied["READ_EXTERNAL_STORAGE"] == ("WRITE_EXTERNAL_STORAGE", None, None)
    assert _implied([], 4) == {}
    # Contacts bring the call log below API 16 only.
    assert _implied(["READ_CONTACTS", "WRITE_CONTACTS"], 15) == {
        "READ_CALL_LOG": ("READ_CONTACTS", 16, None),
        "WRITE_CALL_LOG": ("WRITE_CONTACTS", 16, None),
    }
    assert _implied(["READ_CONTACTS"], 16) == {}


def test_implied_permissions_carry_protection_level_and_pi_types() -> None:
    (background,) = [
        p
        for p in implied_permissions([Permission(name=A + "ACCESS_FINE_LOCATION")], 28, permission_table())
        if p.name == A + "ACCESS_BACKGROUND_LOCATION"
    ]
    assert background.dangerous and background.protection_level == "dangerous"
    assert background.pi_types, "background location gives access to location PI"


# ---------------------------------------------------------------- against aapt
#: What aapt knows to imply (Command.cpp); it predates the later splits.
_AAPT_KNOWS = {"WRITE_EXTERNAL_STORAGE", "READ_PHONE_STATE", "READ_EXTERNAL_STORAGE", "READ_CALL_LOG", "WRITE_CALL_LOG"}

#: target SDK, requested permissions, and what aapt implies (so that the comparison is never vacuous).
_CASES = {
    "no-uses-sdk": (None, ["INTERNET"], {"WRITE_EXTERNAL_STORAGE", "READ_PHONE_STATE", "READ_EXTERNAL_STORAGE"}),
    "api3-contacts": (
        3,
        ["READ_CONTACTS"],
        {"WRITE_EXTERNAL_STORAGE", "READ_PHONE_STATE", "READ_EXTERNAL_STORAGE", "READ_CALL_LOG"},
    ),
    "api15-contacts": (
        15,
        ["READ_CONTACTS", "WRITE_CONTACTS", "ACCESS_FINE_LOCATION"],
        {"READ_CALL_LOG", "WRITE_CALL_LOG"},
    ),
    "api16-contacts": (16, ["READ_CONTACTS", "WRITE_CONTACTS"], set()),
    "api28-storage": (28, ["WRITE_EXTERNAL_STORAGE", "ACCESS_FINE_LOCATION"], {"READ_EXTERNAL_STORAGE"}),
    "api30-both-storage": (30, ["WRITE_EXTERNAL_STORAGE", "READ_EXTERNAL_STORAGE"], set()),
}


def _build(tmp_path: Path, target: int | None, names: list[str]) -> Path:
    aapt = require_tool("aapt")
    if not FRAMEWORK_APK.exists():
        pytest.skip("android-framework-res is not installed")
    uses_sdk = (
        ""
        if target is None
        else f'<uses-sdk android:minSdkVersion="{min(target, 3)}" android:targetSdkVersion="{target}"/>'
    )
    permissions = "".join(f'<uses-permission android:name="{A}{n}"/>' for n in names)
    manifest = tmp_path / "AndroidManifest.xml"
    manifest.write_text(
        '<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="com.example.implied" '
        f'android:versionCode="1" android:versionName="1">{uses_sdk}{permissions}'
        '<application android:label="Implied"/></manifest>',
        encoding="utf-8",
    )
    apk = tmp_path / "implied.apk"
    subprocess.run(
        [aapt, "package", "-f", "-M", str(manifest), "-I", str(FRAMEWORK_APK), "-F", str(apk)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return apk


@pytest.mark.parametrize("case", sorted(_CASES))
def test_implied_permissions_agree_with_aapt_where_aapt_knows_them(case: str, tmp_path: Path) -> None:
    target, names, expected = _CASES[case]
    apk = _build(tmp_path, target, names)
    badging = subprocess.run(["aapt", "dump", "badging", str(apk)], capture_output=True, text=True, check=True).stdout
    by_aapt = {n.removeprefix(A) for n in re.findall(r"uses-implied-permission: name='([^']*)'", badging)}
    evidence = extract_evidence(apk)
    ours = {p.name.removeprefix(A) for p in evidence.implied_permissions}
    assert by_aapt == expected
    assert ours & _AAPT_KNOWS == by_aapt
    assert not ours & {p.name.removeprefix(A) for p in evidence.permissions}


def test_pi_reached_counts_what_implied_permissions_give(tmp_path: Path) -> None:
    # Background location (location_track, 行踪轨迹) comes with location for an app targeting API 28.
    evidence = extract_evidence(_build(tmp_path, 28, ["ACCESS_FINE_LOCATION"]))
    requested = {pi for p in evidence.permissions for pi in p.pi_types}
    assert "location_track" not in requested
    assert "location_track" in evidence.pi_reached()
