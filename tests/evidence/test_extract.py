"""extract_evidence on the bundled sample apps (skipped until they are built) and on edge inputs."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from appwarden.errors import HostileApkError, UnreadableInputError
from appwarden.evidence.extract import extract_evidence
from appwarden.evidence.model import Evidence
from support import ROOT, example_apk, require_tool

SAMPLES = ["plain", "sdkdemo", "autostart", "obfuscated", "multidex", "packed", "policy"]


def rezip(src: Path, replace: dict[str, bytes | None]) -> bytes:
    """A copy of the APK with entries replaced (None = dropped); signatures are not re-made."""
    out = io.BytesIO()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in replace:
                data = replace[info.filename]
                if data is not None:
                    zout.writestr(info.filename, data)
            else:
                zout.writestr(info.filename, zin.read(info.filename))
    return out.getvalue()


@pytest.mark.parametrize("name", SAMPLES)
def test_json_round_trip_and_deterministic(name: str) -> None:
    path = example_apk(name)
    first = extract_evidence(path)
    assert Evidence.model_validate_json(first.model_dump_json()) == first
    assert extract_evidence(path).model_dump_json() == first.model_dump_json()
    assert extract_evidence(path.read_bytes()).model_dump_json() == first.model_dump_json()


def test_sdkdemo_sdks_calls_and_early_paths() -> None:
    ev = extract_evidence(example_apk("sdkdemo"))
    assert ev.application_class == "com.appwarden.sample.sdkdemo.ShopApp"
    sdks = {s.id: s for s in ev.sdks}
    assert {"bugly", "极光推送", "amap-location", "umeng-analytics"} <= set(sdks)
    assert sdks["bugly"].initialised and sdks["bugly"].called
    assert any("initCrashReport" in e for e in sdks["bugly"].init_evidence)
    assert "installed_app_list" in sdks["bugly"].reaches_pi
    assert sdks["bugly"].vendor_zh and sdks["bugly"].country == "CN"
    jpush_calls = [c for c in ev.api_calls if c.owner == "极光推送"]
    assert any("ClipboardManager" in c.api for c in jpush_calls)
    clip = next(p for p in ev.early_paths if "ClipboardManager" in p.target)
    assert clip.entry_kind == "application_create" and clip.owner == "极光推送"
    assert any(p.target_kind == "sdk_init" and p.sdk == "amap-location" for p in ev.early_paths)
    contacts = [c for c in ev.api_calls if c.kind == "content_uri"]
    assert contacts and contacts[0].owner == "app" and "contacts" in contacts[0].pi_types
    third = {e.host: e for e in ev.endpoints}
    assert third["android.bugly.qq.com"].third_party and third["android.bugly.qq.com"].sdk == "bugly"
    assert third["api.shop.appwarden-sample.cn"].third_party is None
    assert [n.owner for n in ev.native_libs] == ["jcore"]
    assert {m.name: m.owner for m in ev.meta_data}["UMENG_APPKEY"] == "umeng-analytics"
    assert ev.privacy_policy.urls == ["https://www.appwarden-sample.cn/privacy.html"]


def test_autostart_receivers_and_clinit_paths() -> None:
    ev = extract_evidence(example_apk("autostart"))
    boot = next(c for c in ev.components if c.name.endswith("BootReceiver"))
    assert "android.intent.action.BOOT_COMPLETED" in boot.wake_up_actions and boot.exported
    kinds = {(p.entry_kind, p.steps[-1].split("->")[1]) for p in ev.early_paths}
    assert ("application_create", "<clinit>()V") in kinds
    assert ("provider_create", "onCreate()Z") in kinds


def test_obfuscated_sdk_code_is_attributed_to_the_sdk() -> None:
    ev = extract_evidence(example_apk("obfuscated"))
    owners = {c.caller_class: c.owner for c in ev.api_calls}
    assert owners["com.umeng.a.b"] == "umeng-analytics"
    assert owners["a.a"] == "app"


def test_packed_app_hides_code() -> None:
    ev = extract_evidence(example_apk("packed"))
    assert [p.id for p in ev.hardening.packers] == ["qihoo360_jiagu"]
    assert ev.hardening.encrypted_dex_assets == ["assets/classes.dex.dat"]
    assert ev.hardening.dynamic_code_loading and ev.hardening.hides_code


def test_policy_app_documents_and_consent() -> None:
    ev = extract_evidence(example_apk("policy"))
    paths = {d.path for d in ev.privacy_policy.bundled_documents}
    assert {"assets/privacy_policy.html", "res/raw/user_agreement.txt"} <= paths
    assert ev.privacy_policy.has_consent_dialog
    # Documents are hashed while streamed: the digest is the whole file's, as zipfile reads it.
    with zipfile.ZipFile(example_apk("policy")) as apk:
        for document in ev.privacy_policy.bundled_documents:
            content = apk.read(document.path)
            assert document.sha256 == hashlib.sha256(content).hexdigest()
            assert document.size == len(content)


def test_large_text_assets_are_read_one_at_a_time(tmp_path: Path) -> None:
    """Text assets (URL search) and policy candidates are streamed: five 4 MB corpora, as an
    input-method app bundles, must not all be in memory at once."""
    import tracemalloc

    source = example_apk("plain")
    apk = tmp_path / "corpora.apk"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(apk, "w", zipfile.ZIP_DEFLATED) as out:
        for item in original.infolist():
            out.writestr(item, original.read(item.filename))
        for n in range(5):
            words = base64.b64encode(random.Random(n).randbytes(3 << 20)).decode()  # 4 MB, not a "bomb"
            out.writestr(f"assets/corpus{n}.txt", words)
    baseline = extract_evidence(source)  # warm: lazy imports and catalogs are not counted
    assert baseline.identity.package
    tracemalloc.start()
    try:
        ev = extract_evidence(apk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert {d.path for d in ev.privacy_policy.bundled_documents}.isdisjoint({f"assets/corpus{n}.txt" for n in range(5)})
    assert peak < 12 * 2**20  # one 4 MB corpus (and its decoded text) at a time, not 20 MB


def test_plain_label_zh_and_multidex() -> None:
    ev = extract_evidence(example_apk("plain"))
    assert ev.identity.label == "Plain Sample" and ev.identity.label_zh == "普通示例"
    multi = extract_evidence(example_apk("multidex"))
    assert [d.name for d in multi.dex_files] == ["classes.dex", "classes2.dex"]
    assert any(c.dex == "classes2.dex" for c in multi.api_calls)


def test_corrupt_secondary_dex_is_a_warning_and_the_scan_continues() -> None:
    src = example_apk("multidex")
    data = rezip(src, {"classes2.dex": b"dex\n035\x00" + b"\xff" * 200})
    ev = extract_evidence(data)
    assert [d.name for d in ev.dex_files] == ["classes.dex"]
    assert any(w.code == "dex_unreadable" and w.where == "classes2.dex" for w in ev.warnings)


def test_missing_manifest_is_refused() -> None:
    data = rezip(example_apk("plain"), {"AndroidManifest.xml": None})
    with pytest.raises(UnreadableInputError, match=r"AndroidManifest\.xml"):
        extract_evidence(data)


def test_not_a_zip_is_refused() -> None:
    with pytest.raises(UnreadableInputError):
        extract_evidence(b"this is not an apk at all")


def _aapt_apks() -> list[Path]:
    """The samples, and the real-world corpus when bench/fetch_corpus.sh has fetched it."""
    corpus = ROOT / "bench" / "corpus"
    return [example_apk(name) for name in SAMPLES] + (sorted(corpus.glob("*.apk")) if corpus.is_dir() else [])


@pytest.mark.tools
@pytest.mark.parametrize("path", _aapt_apks(), ids=lambda p: p.name)
def test_permissions_match_aapt(path: Path) -> None:
    aapt = require_tool("aapt")
    out = subprocess.run([aapt, "dump", "permissions", str(path)], capture_output=True, text=True, check=True).stdout
    expected = set(re.findall(r"uses-permission(?:-sdk-23)?: name='([^']+)'", out))
    assert extract_evidence(path).permission_names() == expected


@pytest.mark.tools
@pytest.mark.parametrize("path", _aapt_apks(), ids=lambda p: p.name)
def test_identity_matches_aapt_badging(path: Path) -> None:
    aapt = require_tool("aapt")
    out = subprocess.run([aapt, "dump", "badging", str(path)], capture_output=True, text=True, check=True).stdout
    pkg = re.search(r"package: name='([^']*)' versionCode='([^']*)' versionName='([^']*)'", out)
    assert pkg
    ev = extract_evidence(path)
    assert ev.identity.package == pkg.group(1)
    assert str(ev.identity.version_code or "") == pkg.group(2)  # aapt prints '' for none
    assert (ev.identity.version_name or "") == pkg.group(3)
    label = re.search(r"^application-label:'([^']*)'", out, re.MULTILINE)
    assert ev.identity.label == (label.group(1) if label else None)  # test APKs have none
    zh = re.search(r"^application-label-zh(?:-CN)?:'([^']*)'", out, re.MULTILINE)
    if zh:  # aapt repeats an untranslated label per locale; label_zh is None then
        assert (ev.identity.label_zh or ev.identity.label) == zh.group(1)


def test_hostile_container_errors_propagate() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apk"))
    import hostile

    with pytest.raises(HostileApkError):
        extract_evidence(hostile.traversal("../../evil.txt"))
    with pytest.raises(HostileApkError):
        extract_evidence(hostile.duplicate_names())


def test_progress_stages_and_catalog_version() -> None:
    stages: list[str] = []
    ev = extract_evidence(example_apk("plain"), progress=stages.append)
    assert stages[0] == "archive" and stages[-1] == "done" and "dex" in stages
    assert ev.sdk_catalog_version and "+" in ev.sdk_catalog_version


def test_corrupt_resources_table_is_a_warning() -> None:
    data = rezip(example_apk("plain"), {"resources.arsc": b"\x02\x00\x0c\x00" + b"\xff" * 64})
    ev = extract_evidence(data)
    assert ev.identity.package == "com.appwarden.sample.plain" and ev.identity.label is None
    assert any(w.code == "arsc_unreadable" for w in ev.warnings)


def test_resource_texts_hold_the_apps_own_chinese_strings_only() -> None:
    from appwarden.evidence.extract import app_resource_texts

    texts = app_resource_texts(
        {
            "res:string/app_name": "手电筒",
            "res:string/abc_action_bar_home_description": "转到首页",  # AndroidX: not the app's words
            "res:string/hello": "hello",  # no Chinese
            "res:string/long": "很长" * 40,
            "res:string/title[zh-rCN]": "打开  闪光灯",
        }
    )
    assert texts == ["手电筒", "打开 闪光灯"]
