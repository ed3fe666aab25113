"""SDK catalog invariants and detection (prefix matching, evidence, init and call facts)."""

from __future__ import annotations

import sys
from pathlib import Path

from appwarden.evidence.catalogs import ApiSpec, InitApi, SdkCatalog, SdkDefinition, Vendor, sdk_catalog
from appwarden.evidence.model import Component, MetaData
from appwarden.evidence.sdk import (
    MAX_EXAMPLE_CLASSES,
    PrefixMatcher,
    SdkDetector,
    build_sdk_matches,
    find_called_sdks,
    find_init_sites,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from program_builder import ProgramBuilder

TOY = SdkCatalog(
    version="test",
    sdks=(
        SdkDefinition(
            id="umeng",
            name="Umeng",
            vendor="umeng",
            prefixes=("com.umeng.analytics", "com.umeng.commonsdk"),
            broad_prefixes=("com.umeng",),
            meta_data_keys=("UMENG_APPKEY",),
        ),
        SdkDefinition(id="umeng-push", name="Umeng Push", vendor="umeng", prefixes=("com.umeng.message",)),
        SdkDefinition(id="umeng-push-inbox", name="Inbox", vendor="umeng", prefixes=("com.umeng.message.inbox",)),
        SdkDefinition(
            id="jcore",
            name="JCore",
            vendor="jiguang",
            native_libs=("libjcore.so",),
            manifest_components=("cn.jpush.android.service.PushService",),
        ),
        SdkDefinition(id="mob", name="Mob", vendor="mob", prefixes=("com.mob.MobSDK",)),
    ),
    vendors={"umeng": Vendor("umeng", "Umeng", "友盟+", ("友盟同欣（北京）科技有限公司",), "CN", ("umeng.com",))},
    init_apis=(InitApi("umeng", "Lcom/umeng/commonsdk/UMConfigure;", frozenset({"init", "preInit"})),),
)


def test_longest_prefix_wins_and_segments_are_respected() -> None:
    m = PrefixMatcher({"com.umeng.message": "push", "com.umeng.message.inbox": "inbox"})
    assert m.match("com.umeng.message.inbox.Box") == ("inbox", "com.umeng.message.inbox")
    assert m.match("com.umeng.message.Agent") == ("push", "com.umeng.message")
    assert m.match("com.umeng.messageX.Agent") is None  # not a segment boundary
    assert m.match("Toplevel") is None


def test_prefix_may_name_a_class_and_its_inner_classes() -> None:
    m = PrefixMatcher({"com.mob.MobSDK": "mob"})
    assert m.match("com.mob.MobSDK") == ("mob", "com.mob.MobSDK")
    assert m.match("com.mob.MobSDK$1") == ("mob", "com.mob.MobSDK")
    assert m.match("com.mob.Other") is None


def test_a_package_verdict_never_hides_a_class_the_detector_may_own() -> None:
    # package_ownership(p) agrees with may_own for every class in p ("none": never, "sdk"/"all": always): checked on
    # the shipped catalog for packages at, above, below and beside every prefix, and on
    # obfuscated-looking packages under each vendor root.
    for catalog in (TOY, sdk_catalog()):
        det = SdkDetector(catalog)
        packages = {"", "java.lang", "android.app", "com.example.app", "a.b", "a.b.c"}
        for sdk in catalog.sdks:
            for prefix in sdk.prefixes:
                parts = prefix.split(".")
                packages.update(".".join(parts[:k]) for k in range(1, len(parts) + 1))
                packages.update({f"{prefix}.internal", f"{prefix}x", ".".join([*parts[:2], "a"])})
        said = {"sdk": 0, "all": 0, "some": 0, "none": 0}
        classes = ["Main", "a", "Main$1", *{p.rpartition(".")[2] for p in catalog_prefixes(catalog)}]
        for package in sorted(packages):
            ownership = det.package_ownership(package)
            said[ownership] += 1
            if ownership == "some":
                continue
            for simple in classes:
                name = f"{package}.{simple}" if package else simple
                assert det.may_own(name) == (ownership != "none"), (name, ownership)
                if ownership == "sdk":  # an SDK owns it whatever is detected
                    assert det.prefixes.match(name) is not None, name
        assert said["sdk"] > 3 and said["none"] > 3  # the shortcut decides packages both ways


def catalog_prefixes(catalog: SdkCatalog) -> list[str]:
    return [p for sdk in catalog.sdks for p in sdk.prefixes]


def test_broad_prefixes_never_identify_alone() -> None:
    det = SdkDetector(TOY)
    found = det.detect(["com.umeng.socialize.Share"])
    assert found == {}
    assert det.owner_of("com.umeng.socialize.Share") == "app"


def test_detection_collects_evidence_and_caps_examples() -> None:
    det = SdkDetector(TOY)
    classes = [f"com.umeng.analytics.C{i}" for i in range(9)] + ["com.umeng.message.inbox.Box", "com.app.Main"]
    comps = [Component(kind="service", name="cn.jpush.android.service.PushService", exported=False)]
    found = det.detect(
        classes,
        native_libs=["libjcore.so", "libother.so"],
        components=comps,
        meta_data=[MetaData(name="UMENG_APPKEY", value="k")],
    )
    assert set(found) == {"umeng", "umeng-push-inbox", "jcore"}
    matches = {m.id: m for m in build_sdk_matches(det, found)}
    umeng = matches["umeng"]
    assert umeng.class_count == 9
    kinds = [e.kind for e in umeng.evidence]
    assert kinds.count("class") == MAX_EXAMPLE_CLASSES and "meta_data" in kinds
    assert [e.value for e in umeng.evidence if e.kind == "package_prefix"] == ["com.umeng.analytics"]
    assert umeng.vendor == "Umeng" and umeng.vendor_zh == "友盟同欣（北京）科技有限公司"
    jcore = matches["jcore"]
    assert {(e.kind, e.value) for e in jcore.evidence} == {
        ("native_lib", "libjcore.so"),
        ("manifest_component", "cn.jpush.android.service.PushService"),
    }


def test_obfuscated_classes_are_adopted_by_the_detected_sdk_of_their_vendor_root() -> None:
    det = SdkDetector(TOY)
    found = det.detect(["com.umeng.analytics.A", "com.umeng.a.b", "com.umeng.socialize.Share"], app_package="com.x.app")
    assert det.owner_of("com.umeng.a.b") == "umeng"  # obfuscated segment: adopted
    assert det.owner_of("com.umeng.socialize.Share") == "app"  # readable: never by this rule
    assert found["umeng"].class_count == 2


def test_init_sites_and_called_sdks() -> None:
    b = ProgramBuilder()
    b.method(
        "Lcom/x/App;->onCreate()V",
        invokes=[
            "Lcom/umeng/commonsdk/UMConfigure;->init(Landroid/content/Context;)V",
            "Lcom/umeng/message/inbox/Box;->open()V",
        ],
    )
    b.method("Lcom/umeng/commonsdk/Inner;->boot()V", invokes=["Lcom/umeng/commonsdk/UMConfigure;->preInit()V"])
    det = SdkDetector(TOY)
    sites = find_init_sites(b.program, TOY, det.owner_of)
    assert [(s.sdk, s.caller) for s in sites] == [
        ("umeng", "Lcom/x/App;->onCreate()V")
    ]  # the SDK calling itself does not count
    assert find_called_sdks(b.program, det.owner_of) == {"umeng", "umeng-push-inbox"}


def test_called_sdks_from_class_pairs_count_only_app_callers() -> None:
    # Invokes kept only as (caller class, callee class) pairs, as extract.py records them.
    b = ProgramBuilder()
    b.program.class_invokes = {
        "Lcom/x/App;": frozenset({"Lcom/umeng/message/inbox/Box;", "Lcom/x/Util;"}),
        "Lcom/umeng/commonsdk/Inner;": frozenset({"Lcom/umeng/commonsdk/UMConfigure;"}),
    }
    det = SdkDetector(TOY)
    # App code calls the inbox SDK; the SDK calling itself and app calling app do not count.
    assert find_called_sdks(b.program, det.owner_of) == {"umeng-push-inbox"}


def test_shipped_catalog_invariants() -> None:
    catalog = sdk_catalog()
    ids = {s.id for s in catalog.sdks}
    assert len(ids) == len(catalog.sdks) > 1000
    seen: dict[str, str] = {}
    for sdk in catalog.sdks:
        for p in sdk.prefixes:
            assert "." in p and p not in {"com.umeng", "com.tencent", "com.baidu", "com.bytedance", "com.google"}, (
                sdk.id,
                p,
            )
            assert p not in seen, (p, sdk.id, seen.get(p))
            seen[p] = sdk.id
    for api in catalog.init_apis:
        assert api.sdk in ids, api
        assert api.class_descriptor.startswith("L") and api.class_descriptor.endswith(";")
    assert set(catalog.init_components.values()) <= ids
    for wanted in (
        "umeng-analytics",
        "极光推送",
        "个推",
        "bugly",
        "tbs",
        "pangle-sdk",
        "腾讯广告-sdk",
        "amap-location",
        "jverification",
        "shumei",
        "tongdun",
        "geetest",
        "sophix",
        "growingio",
        "talkingdata",
        "sharesdk",
        "mipush",
        "oppo-push",
        "vivo-push",
        "huawei-push",
    ):
        assert wanted in ids, wanted
    chinese_with_domains = [v for v in catalog.vendors.values() if v.country == "CN" and v.domains]
    assert len(chinese_with_domains) >= 20
    # Every SDK's vendor is a catalog vendor; only SDKs with nothing to go by have none.
    assert all(s.vendor is None or s.vendor in catalog.vendors for s in catalog.sdks)
    assert sum(1 for s in catalog.sdks if s.vendor is None) < 150
    assert {s.id: s.vendor for s in catalog.sdks if s.id in {"jetpack-activity", "tbs"}} == {
        "jetpack-activity": "google",
        "tbs": "tencent",
    }


def test_shipped_catalog_identifies_common_chinese_sdks() -> None:
    det = SdkDetector(sdk_catalog())
    expectations = {
        "com.umeng.commonsdk.UMConfigure": "umeng-analytics",
        "cn.jpush.android.api.JPushInterface": "极光推送",
        "com.igexin.sdk.PushManager": "个推",
        "com.tencent.bugly.crashreport.CrashReport": "bugly",
        "com.bytedance.sdk.openadsdk.TTAdSdk": "pangle-sdk",
        "com.qq.e.comm.managers.GDTAdSdk": "腾讯广告-sdk",
        "com.tencent.mm.opensdk.openapi.WXAPIFactory": "tencent-wechat",
        "com.amap.api.location.AMapLocationClient": "amap-location",
        "com.tencent.smtt.sdk.QbSdk": "tbs",
    }
    for cls, sdk_id in expectations.items():
        assert det.owner_of(cls) == sdk_id, cls
    assert det.owner_of("com.tencent.mm.ui.LauncherUI") == "app"  # the WeChat app itself is not the OpenSDK


def test_api_spec_type_is_used_for_reaches_pi() -> None:
    # reaches_pi is passed in by extract; build_sdk_matches sorts and dedups it.
    det = SdkDetector(TOY)
    found = det.detect(["com.umeng.analytics.A"])
    m = build_sdk_matches(det, found, reaches_pi={"umeng": ["imei", "android_id", "imei"]}, called=["umeng"])
    assert m[0].reaches_pi == ["android_id", "imei"] and m[0].called and not m[0].initialised
    assert ApiSpec("x", "invoke", ()).confidence == "high"
