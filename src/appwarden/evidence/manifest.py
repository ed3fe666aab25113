"""Manifest facts: identity, permissions, components, meta-data, features.

Functions here take the parsed manifest (an element tree with the apk/axml interface:
``tag``, ``attributes`` keyed ``(namespace, name)``, ``children``) and a value resolver, so
they are testable with small constructed trees and know nothing about ZIP or ARSC bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from appwarden.evidence.model import APP_OWNER, Component, ComponentKind, IntentFilter, MetaData

ANDROID_NS = "http://schemas.android.com/apk/res/android"

#: Broadcast actions that start an app without the user (self-start / associated start).
#: Kept as data: add an action here and every receiver listening for it is flagged.
WAKE_UP_ACTIONS: frozenset[str] = frozenset(
    {
        "android.intent.action.BOOT_COMPLETED",
        "android.intent.action.LOCKED_BOOT_COMPLETED",
        "android.intent.action.QUICKBOOT_POWERON",
        "com.htc.intent.action.QUICKBOOT_POWERON",
        "android.intent.action.REBOOT",
        "android.intent.action.MY_PACKAGE_REPLACED",
        "android.net.conn.CONNECTIVITY_CHANGE",
        "android.net.wifi.STATE_CHANGE",
        "android.net.wifi.WIFI_STATE_CHANGED",
        "android.intent.action.PACKAGE_ADDED",
        "android.intent.action.PACKAGE_REMOVED",
        "android.intent.action.PACKAGE_REPLACED",
        "android.intent.action.PACKAGE_CHANGED",
        "android.intent.action.PACKAGE_RESTARTED",
        "android.intent.action.USER_PRESENT",
        "android.intent.action.USER_UNLOCKED",
        "android.intent.action.SCREEN_ON",
        "android.intent.action.SCREEN_OFF",
        "android.intent.action.BATTERY_CHANGED",
        "android.intent.action.BATTERY_LOW",
        "android.intent.action.BATTERY_OKAY",
        "android.intent.action.ACTION_POWER_CONNECTED",
        "android.intent.action.ACTION_POWER_DISCONNECTED",
        "android.intent.action.MEDIA_MOUNTED",
        "android.intent.action.MEDIA_UNMOUNTED",
        "android.intent.action.MEDIA_EJECT",
        "android.intent.action.TIME_SET",
        "android.intent.action.TIMEZONE_CHANGED",
        "android.intent.action.DATE_CHANGED",
        "android.intent.action.TIME_TICK",
        "android.intent.action.LOCALE_CHANGED",
        "android.intent.action.AIRPLANE_MODE",
        "android.intent.action.HEADSET_PLUG",
        "android.intent.action.PHONE_STATE",
        "android.intent.action.NEW_OUTGOING_CALL",
        "android.provider.Telephony.SMS_RECEIVED",
        "android.bluetooth.adapter.action.STATE_CHANGED",
        "android.intent.action.ACTION_SHUTDOWN",
    }
)

#: Wake-up actions that mean "start at boot"; receivers for these are call-graph entry points.
BOOT_ACTIONS: frozenset[str] = frozenset(
    {
        "android.intent.action.BOOT_COMPLETED",
        "android.intent.action.LOCKED_BOOT_COMPLETED",
        "android.intent.action.QUICKBOOT_POWERON",
        "com.htc.intent.action.QUICKBOOT_POWERON",
    }
)

_COMPONENT_TAGS: dict[str, ComponentKind] = {
    "activity": "activity",
    "activity-alias": "activity-alias",
    "service": "service",
    "receiver": "receiver",
    "provider": "provider",
}


class ManifestElement(Protocol):
    """The part of apk/axml's XmlElement the evidence stage relies on."""

    tag: str
    attributes: Any
    children: Any


class ValueResolver(Protocol):
    """Turns attribute values (str/int/bool/resource references) into text."""

    def text(self, value: object, locale: str | None = None) -> str | None: ...

    def reference_name(self, value: object) -> str | None: ...


class LiteralResolver:
    """Resolver used when there is no resource table: references stay unresolved."""

    def text(self, value: object, locale: str | None = None) -> str | None:
        if value is None or is_reference(value):
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def reference_name(self, value: object) -> str | None:
        ref_id = getattr(value, "id", None)
        return f"@0x{ref_id:08x}" if isinstance(ref_id, int) else None


def is_reference(value: object) -> bool:
    """True for a resource reference (the axml ResourceRef, or anything with an int ``id``)."""
    return not isinstance(value, str | int | bool | float) and isinstance(getattr(value, "id", None), int)


def attr(element: ManifestElement, name: str, ns: str | None = ANDROID_NS) -> Any:
    """Attribute value by (namespace, name); falls back to the bare name under any namespace.

    The fallback matters because obfuscated manifests sometimes drop or rename the android
    namespace URI while the platform still reads the attribute by resource id.
    """
    attributes = element.attributes or {}
    if (ns, name) in attributes:
        return attributes[(ns, name)]
    for key, value in attributes.items():
        if isinstance(key, tuple) and len(key) == 2 and key[1] == name:
            return value
        if key == name:
            return value
    return None


def child_elements(element: ManifestElement, tag: str | None = None) -> Iterator[ManifestElement]:
    for child in element.children or []:
        if hasattr(child, "tag") and (tag is None or child.tag == tag):
            yield child


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value, 0)
        except ValueError:
            return None
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        if value.lower() in {"true", "1"}:
            return True
        if value.lower() in {"false", "0"}:
            return False
    return None


def qualify_class_name(package: str, name: str) -> str:
    """Android's rule: '.Foo' and 'Foo' (no dot) are relative to the manifest package."""
    name = name.strip()
    if name.startswith("."):
        return package + name
    if "." not in name and package:
        return f"{package}.{name}"
    return name


@dataclass(frozen=True)
class ManifestBasics:
    package: str
    version_name: str | None
    version_code: int | None
    min_sdk: int | None
    target_sdk: int | None
    application_class: str | None
    label_value: Any


def read_basics(root: ManifestElement, resolver: ValueResolver) -> ManifestBasics:
    """Package, version, SDK levels, Application class and the raw label value."""
    package = resolver.text(attr(root, "package", None)) or ""
    version_name = resolver.text(attr(root, "versionName"))
    version_code = as_int(attr(root, "versionCode"))
    min_sdk = target_sdk = None
    for uses_sdk in child_elements(root, "uses-sdk"):
        min_sdk = as_int(attr(uses_sdk, "minSdkVersion"))
        target_sdk = as_int(attr(uses_sdk, "targetSdkVersion"))
    if target_sdk is None:
        target_sdk = min_sdk  # Android's rule: targetSdkVersion defaults to minSdkVersion
    app = next(child_elements(root, "application"), None)
    application_class = None
    label_value = None
    if app is not None:
        app_name = resolver.text(attr(app, "name"))
        if app_name:
            application_class = qualify_class_name(package, app_name)
        label_value = attr(app, "label")
    return ManifestBasics(package, version_name, version_code, min_sdk, target_sdk, application_class, label_value)


def _intent_filters(element: ManifestElement, resolver: ValueResolver) -> list[IntentFilter]:
    filters = []
    for f in child_elements(element, "intent-filter"):
        actions = [a for a in (resolver.text(attr(x, "name")) for x in child_elements(f, "action")) if a]
        categories = [c for c in (resolver.text(attr(x, "name")) for x in child_elements(f, "category")) if c]
        schemes = [s for s in (resolver.text(attr(x, "scheme")) for x in child_elements(f, "data")) if s]
        filters.append(
            IntentFilter(
                actions=actions,
                categories=categories,
                data_schemes=sorted(set(schemes)),
                priority=as_int(attr(f, "priority")),
            )
        )
    return filters


def effective_exported(kind: ComponentKind, explicit: bool | None, has_filters: bool, target_sdk: int | None) -> bool:
    """Android's exported rule.

    An explicit android:exported wins. Otherwise activities, services and receivers are
    exported exactly when they have an intent filter (targetSdk 31+ must state it, and the
    platform refuses to install such an app, so the implied value is what older targets get).
    Providers default to exported only for targetSdk 16 and below.
    """
    if explicit is not None:
        return explicit
    if kind == "provider":
        return target_sdk is not None and target_sdk <= 16
    return has_filters


def read_components(
    root: ManifestElement,
    resolver: ValueResolver,
    *,
    package: str,
    target_sdk: int | None,
    owner_of: Callable[[str], str] = lambda _name: APP_OWNER,
) -> list[Component]:
    """All components declared under <application>, in manifest order."""
    components: list[Component] = []
    app = next(child_elements(root, "application"), None)
    if app is None:
        return components
    for element in child_elements(app):
        kind = _COMPONENT_TAGS.get(element.tag)
        if kind is None:
            continue
        raw_name = resolver.text(attr(element, "name"))
        if not raw_name:
            continue
        name = qualify_class_name(package, raw_name)
        filters = _intent_filters(element, resolver)
        explicit = _as_bool(attr(element, "exported"))
        enabled = _as_bool(attr(element, "enabled"))
        authorities_text = resolver.text(attr(element, "authorities")) or ""
        wake_up = sorted({a for f in filters for a in f.actions if a in WAKE_UP_ACTIONS}) if kind == "receiver" else []
        components.append(
            Component(
                kind=kind,
                name=name,
                exported=effective_exported(kind, explicit, bool(filters), target_sdk),
                exported_explicit=explicit,
                enabled=True if enabled is None else enabled,
                permission=resolver.text(attr(element, "permission")),
                process=resolver.text(attr(element, "process")),
                authorities=[a for a in authorities_text.split(";") if a],
                intent_filters=filters,
                wake_up_actions=wake_up,
                init_order=as_int(attr(element, "initOrder")) if kind == "provider" else None,
                owner=owner_of(name),
            )
        )
    return components


def read_meta_data(
    root: ManifestElement,
    resolver: ValueResolver,
    *,
    package: str,
    owner_of_key: Callable[[str, str], str] = lambda _key, _scope: APP_OWNER,
) -> list[MetaData]:
    """<meta-data> under <application> and under each component, values resolved."""
    records: list[MetaData] = []
    app = next(child_elements(root, "application"), None)
    if app is None:
        return records

    def collect(parent: ManifestElement, scope: str) -> None:
        for md in child_elements(parent, "meta-data"):
            key = resolver.text(attr(md, "name"))
            if not key:
                continue
            raw_value = attr(md, "value")
            raw_resource = attr(md, "resource")
            value = resolver.text(raw_value) if raw_value is not None else None
            resource = resolver.reference_name(raw_resource) if raw_resource is not None else None
            records.append(
                MetaData(name=key, value=value, resource=resource, scope=scope, owner=owner_of_key(key, scope))
            )

    collect(app, "application")
    for element in child_elements(app):
        if element.tag in _COMPONENT_TAGS:
            raw_name = resolver.text(attr(element, "name"))
            if raw_name:
                collect(element, qualify_class_name(package, raw_name))
    return records


def read_uses_features(root: ManifestElement, resolver: ValueResolver) -> list[str]:
    names = (resolver.text(attr(f, "name")) for f in child_elements(root, "uses-feature"))
    return sorted({n for n in names if n})


def launcher_activities(
    components: Iterable[Component], root: ManifestElement, resolver: ValueResolver, package: str
) -> list[str]:
    """Activities started from the home screen (MAIN + LAUNCHER); aliases resolve to their target."""
    targets: dict[str, str] = {}
    app = next(child_elements(root, "application"), None)
    if app is not None:
        for alias in child_elements(app, "activity-alias"):
            name = resolver.text(attr(alias, "name"))
            target = resolver.text(attr(alias, "targetActivity"))
            if name and target:
                targets[qualify_class_name(package, name)] = qualify_class_name(package, target)
    launchers: list[str] = []
    for c in components:
        if c.kind not in ("activity", "activity-alias"):
            continue
        if any(
            "android.intent.action.MAIN" in f.actions and "android.intent.category.LAUNCHER" in f.categories
            for f in c.intent_filters
        ):
            name = targets.get(c.name, c.name)
            if name not in launchers:
                launchers.append(name)
    return launchers
