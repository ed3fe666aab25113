"""Manifest facts from small constructed manifests (apk/axml's XmlElement)."""

from __future__ import annotations

from appwarden.apk.axml import ANDROID_NS, ResourceRef, XmlElement
from appwarden.evidence import manifest as mf


def el(tag: str, children: list[XmlElement] | None = None, /, **attrs: object) -> XmlElement:
    attributes: dict[tuple[str | None, str], object] = {}
    for key, value in attrs.items():
        if key == "package":
            attributes[(None, "package")] = value
        else:
            attributes[(ANDROID_NS, key)] = value
    return XmlElement(tag=tag, attributes=attributes, children=children or [])  # type: ignore[arg-type]


def receiver(name: str, actions: list[str], **attrs: object) -> XmlElement:
    return el("receiver", [el("intent-filter", [el("action", name=a) for a in actions])], name=name, **attrs)


class FakeResolver(mf.LiteralResolver):
    def __init__(self, values: dict[int, dict[str | None, str]]) -> None:
        self.values = values

    def text(self, value: object, locale: str | None = None) -> str | None:
        if isinstance(value, ResourceRef):
            by_locale = self.values.get(value.id, {})
            return by_locale.get(locale, by_locale.get(None))
        return super().text(value, locale)

    def reference_name(self, value: object) -> str | None:
        return "@xml/config" if isinstance(value, ResourceRef) else None


def sample_manifest(target_sdk: int = 30) -> XmlElement:
    app = el(
        "application",
        [
            el("meta-data", name="UMENG_APPKEY", value="abc"),
            el("meta-data", name="flag", value=True),
            el("meta-data", name="res", resource=ResourceRef(0x7F100001)),
            el(
                "activity",
                [
                    el(
                        "intent-filter",
                        [
                            el("action", name="android.intent.action.MAIN"),
                            el("category", name="android.intent.category.LAUNCHER"),
                        ],
                    )
                ],
                name=".MainActivity",
            ),
            el("activity", name="Settings"),
            receiver("com.x.BootReceiver", ["android.intent.action.BOOT_COMPLETED", "com.x.CUSTOM"]),
            receiver("com.x.Quiet", ["android.intent.action.USER_PRESENT"], exported=False),
            el("service", [el("meta-data", name="svc_key", value=7)], name="com.x.Svc", enabled=False),
            el("provider", name="com.x.Prov", authorities="a.b;c.d", initOrder=5),
            el(
                "activity-alias",
                [
                    el(
                        "intent-filter",
                        [
                            el("action", name="android.intent.action.MAIN"),
                            el("category", name="android.intent.category.LAUNCHER"),
                        ],
                    )
                ],
                name=".Alias",
                targetActivity=".Settings",
            ),
        ],
        name=".App",
        label=ResourceRef(0x7F010000),
    )
    return el(
        "manifest",
        [
            el("uses-sdk", minSdkVersion=21, targetSdkVersion=target_sdk),
            el("uses-feature", name="android.hardware.camera"),
            el("uses-feature", name="android.hardware.camera"),
            app,
        ],
        package="com.x",
        versionCode=42,
        versionName="4.2",
    )


def test_basics_resolve_package_version_sdk_and_application_class() -> None:
    basics = mf.read_basics(sample_manifest(), mf.LiteralResolver())
    assert (basics.package, basics.version_code, basics.version_name) == ("com.x", 42, "4.2")
    assert (basics.min_sdk, basics.target_sdk) == (21, 30)
    assert basics.application_class == "com.x.App"
    resolver = FakeResolver({0x7F010000: {None: "Shop", "zh-rCN": "商城"}})
    assert resolver.text(basics.label_value) == "Shop"
    assert resolver.text(basics.label_value, "zh-rCN") == "商城"


def test_target_sdk_defaults_to_min_sdk() -> None:
    root = el("manifest", [el("uses-sdk", minSdkVersion=19)], package="p")
    assert mf.read_basics(root, mf.LiteralResolver()).target_sdk == 19


def test_components_effective_exported_wake_up_and_names() -> None:
    comps = {
        c.name: c for c in mf.read_components(sample_manifest(), mf.LiteralResolver(), package="com.x", target_sdk=30)
    }
    assert comps["com.x.MainActivity"].exported is True  # implied by its intent filter
    assert comps["com.x.MainActivity"].exported_explicit is None
    assert comps["com.x.Settings"].exported is False  # no filter
    boot = comps["com.x.BootReceiver"]
    assert boot.exported and boot.wake_up_actions == ["android.intent.action.BOOT_COMPLETED"]
    quiet = comps["com.x.Quiet"]
    assert quiet.exported is False and quiet.exported_explicit is False  # explicit wins over the filter
    assert quiet.wake_up_actions == ["android.intent.action.USER_PRESENT"]
    assert comps["com.x.Svc"].enabled is False
    prov = comps["com.x.Prov"]
    assert prov.authorities == ["a.b", "c.d"] and prov.init_order == 5 and prov.exported is False


def test_provider_default_exported_for_old_targets() -> None:
    assert mf.effective_exported("provider", None, False, 16) is True
    assert mf.effective_exported("provider", None, False, 17) is False
    assert mf.effective_exported("receiver", None, True, 30) is True
    assert mf.effective_exported("receiver", False, True, 30) is False


def test_component_owner_comes_from_the_callback() -> None:
    comps = mf.read_components(
        sample_manifest(),
        mf.LiteralResolver(),
        package="com.x",
        target_sdk=30,
        owner_of=lambda n: "sdk" if n.endswith("Svc") else "app",
    )
    assert {c.name: c.owner for c in comps}["com.x.Svc"] == "sdk"


def test_meta_data_values_resources_and_scopes() -> None:
    records = mf.read_meta_data(sample_manifest(), FakeResolver({}), package="com.x")
    by_name = {m.name: m for m in records}
    assert by_name["UMENG_APPKEY"].value == "abc" and by_name["UMENG_APPKEY"].scope == "application"
    assert by_name["flag"].value == "true"
    assert by_name["res"].resource == "@xml/config" and by_name["res"].value is None
    assert by_name["svc_key"].scope == "com.x.Svc" and by_name["svc_key"].value == "7"


def test_features_sorted_unique_and_launchers_resolve_aliases() -> None:
    root = sample_manifest()
    assert mf.read_uses_features(root, mf.LiteralResolver()) == ["android.hardware.camera"]
    comps = mf.read_components(root, mf.LiteralResolver(), package="com.x", target_sdk=30)
    assert mf.launcher_activities(comps, root, mf.LiteralResolver(), "com.x") == [
        "com.x.MainActivity",
        "com.x.Settings",
    ]


def test_attribute_lookup_falls_back_when_namespace_is_stripped() -> None:
    element = XmlElement(tag="activity", attributes={("http://evil/ns", "name"): "com.x.A"})
    assert mf.attr(element, "name") == "com.x.A"


def test_qualify_class_name() -> None:
    assert mf.qualify_class_name("com.x", ".A") == "com.x.A"
    assert mf.qualify_class_name("com.x", "A") == "com.x.A"
    assert mf.qualify_class_name("com.x", "org.y.A") == "org.y.A"
