"""Lexicons the policy extractors match against: PI types and SDK names.

PI types come from ``data/regs/pi_types.yaml`` (its synonyms already merge the
VioDroid-Finder lexicon): a term matches case-insensitively, the longest term
wins at each position, and short ASCII terms (sn, ip, gps, imei...) only match
as whole words so "design" never reads as "sn".

SDK names are matched to catalog ids through the catalog's names (the shipped
``data/sdk/catalog.json``) and the hand-curated Chinese disclosure aliases
(``model_data/sdk_disclosure_aliases.json``: regex on the name as a policy
writes it -> Java package prefixes, resolved to the catalog entry with those
prefixes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from appwarden.evidence.policy.normalize import normalize_sentence
from appwarden.regs import load_regs


@dataclass(frozen=True)
class PiType:
    id: str
    name_zh: str
    sensitive: bool
    parent: str | None
    category: str


@dataclass(frozen=True, eq=False)  # hashed by identity: find() caches per (lexicon, text)
class PiLexicon:
    types: dict[str, PiType]
    term_to_type: dict[str, str]
    pattern: re.Pattern[str]

    def ancestors(self, pi_type: str) -> list[str]:
        """Parent chain of a PI type, nearest first (cycles are cut)."""
        out: list[str] = []
        current = self.types.get(pi_type)
        while current is not None and current.parent and current.parent not in out:
            out.append(current.parent)
            current = self.types.get(current.parent)
        return out

    def find(self, text: str) -> Iterator[tuple[str, str, int]]:
        """(pi_type, term as written, start) for each longest, non-overlapping term in ``text``."""
        yield from _find_terms(self, text)


@lru_cache(maxsize=65536)
def _find_terms(lexicon: PiLexicon, text: str) -> tuple[tuple[str, str, int], ...]:
    # The same sentence is read by several extractors (declared PI, SDK entries, recipients), and the
    # lexicon's pattern of a few thousand alternatives is the costliest step of reading a policy.
    lowered = normalize_sentence(text)
    return tuple(
        (lexicon.term_to_type[_SCRIPT_GAP.sub("", m.group(0))], m.group(0), m.start())
        for m in lexicon.pattern.finditer(lowered)
    )


#: A space between Latin letters and Chinese, taken out to look a matched term up.
_SCRIPT_GAP = re.compile(r"(?<=[a-z0-9])\s(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])\s(?=[a-z0-9])")

#: Chinese wordings seen in published policies that the regulation's synonym lists lack.
CHINESE_PI_TERMS: dict[str, str] = {
    "粘贴板": "clipboard_content",
    "粘贴板内容": "clipboard_content",
    "剪贴板内容": "clipboard_content",
    "硬件地址": "mac_address",
    "网络设备硬件地址": "mac_address",
    # Hong Kong and Taiwan wording (after Traditional -> Simplified): 位址, 联络人, 电邮, 资料.
    "ip位址": "ip_address",
    "mac位址": "mac_address",
    "联络人": "contacts",
    "联络人资料": "contacts",
    "通讯录资料": "contacts",
    "电邮地址": "email_address",
    "电邮": "email_address",
    "手提电话号码": "mobile_phone_number",
    "流动电话号码": "mobile_phone_number",
    "位置资料": "location",
    "定位资料": "location",
    # Wordings from published policies that the synonym lists lack (fourth probe).
    "网页记录": "browsing_history",
    "网页浏览记录": "browsing_history",
    "访问的页面": "browsing_history",
    "游戏时长": "app_usage_record",
    "使用时间": "app_usage_record",
    "使用频率": "app_usage_record",
    "硬件型号": "device_model",
    "设备类型": "device_model",
    "设备名称": "device_model",
    "充值记录": "transaction_record",
    "消费记录": "transaction_record",
    "社交媒体登录信息": "third_party_account",
    "第三方账号信息": "third_party_account",
    "通话时数": "call_log",
    "通话记录": "call_log",
    "银行卡信息": "bank_card_number",
    "网银账号": "payment_account",
    "基站信息": "cell_info",
    "wlan接入点": "wifi_info",
    "联系地址": "home_address",
    "常用的软件信息": "installed_app_list",
    # Fifth probe: wordings of ten more published policies.
    "cpu信息": "cpu_info",
    "处理器信息": "cpu_info",
    "支付记录": "transaction_record",
    "交易流水": "transaction_record",
    "健康数据": "health_status",
    "正在运行的应用列表": "running_app_list",
    "正在运行的应用": "running_app_list",
    "正在运行的任务": "running_app_list",
    "运行中的进程": "running_app_list",
    "运行中进程": "running_app_list",
    "运行中的应用": "running_app_list",
    "虚拟币余额": "virtual_property",
    "客服通话记录": "customer_service_record",
    "sim序列号": "iccid",
    "搜索查询": "search_history",
    "搜索词": "search_history",
    "查询记录": "search_history",
    "访问页面": "browsing_history",
    "硬件id": "hardware_serial",
    "留言信息": "user_published_content",
    "评论和互动记录": "user_published_content",
    "wifi接入的状态": "wifi_info",
    "wlan热点": "wifi_info",
    # Sixth probe: Wi-Fi written with its hyphen, and the Wi-Fi state (read with ACCESS_WIFI_STATE).
    "wi-fi列表": "wifi_info",
    "wi-fi信息": "wifi_info",
    "wifi状态": "wifi_info",
    "wi-fi状态": "wifi_info",
    "设备制造商": "device_manufacturer",
    "聊天信息": "communication_content",
    "屏幕尺寸": "screen_resolution",
    "安装列表": "installed_app_list",
    "应用软件列表": "installed_app_list",
}

#: English wording of the PI types mobile-app policies name most, beyond each type's name_en.
ENGLISH_PI_TERMS: dict[str, tuple[str, ...]] = {
    "device_identifier": (
        "device identifier",
        "device identifiers",
        "device id",
        "device ids",
        "unique device identifier",
    ),
    "imei": ("imei",),
    "imsi": ("imsi",),
    "android_id": ("android id", "androidid", "ssaid"),
    "oaid": ("oaid",),
    "idfa": ("idfa", "advertising id", "advertising ids", "advertising identifier", "advertising identifiers", "gaid"),
    "mac_address": ("mac address",),
    "ip_address": ("ip address",),
    "location": ("location", "location information", "geolocation"),
    "precise_location": ("precise location", "gps location", "gps"),
    "coarse_location": ("approximate location", "coarse location"),
    "contacts": ("contacts", "address book", "contact list"),
    "mobile_phone_number": ("phone number", "mobile number", "telephone number"),
    "email_address": ("email address", "e-mail address"),
    "installed_app_list": ("installed apps", "installed applications", "app list", "list of installed apps"),
    "running_app_list": ("running apps", "running applications"),
    "clipboard_content": ("clipboard",),
    "picture": ("photos", "pictures", "images", "photo album"),
    "camera": ("camera",),
    "audio_recording": ("microphone", "audio recordings", "voice recordings"),
    "sms": ("sms", "text messages"),
    "call_log": ("call log", "call logs", "call history"),
    "calendar": ("calendar",),
    "browsing_history": ("browsing history", "web history", "browsing activity"),
    # Seventh probe: the wordings of English app policies (app stores' data-safety labels).
    "app_log": ("crash logs", "crash reports", "diagnostics", "diagnostic data", "performance data"),
    "app_usage_record": ("usage data", "usage statistics", "usage information", "app interactions"),
    "age": ("age group", "age range"),
    "communication_content": ("in-app messages", "chat messages"),
    "device_model": ("device model",),
    "os_info": ("operating system version", "os version"),
    "hardware_serial": ("serial number",),
    "wifi_info": ("wi-fi information", "wifi information", "wi-fi network", "bssid", "ssid"),
    "bluetooth_info": ("bluetooth",),
    "sensor_data": ("sensor data", "accelerometer", "gyroscope"),
    "device_accounts": ("device accounts",),
    "fingerprint": ("fingerprint", "fingerprints"),
    "name": ("full name", "real name"),
}


def _english_names(name_en: str | None) -> list[str]:
    """name_en as a policy would write it: without the parenthetical, each '/' variant of two words or more."""
    if not name_en:
        return []
    plain = re.sub(r"\s*\([^)]*\)", "", name_en).strip()
    parts = [p.strip() for p in plain.split("/")] if "/" in plain else [plain]
    return [p for p in parts if len(p.split()) >= 2 or (len(parts) == 1 and len(p) >= 6)]


@lru_cache(maxsize=1)
def pi_lexicon() -> PiLexicon:
    """The PI-type lexicon (loaded once)."""
    data = load_regs("pi_types.yaml")
    types: dict[str, PiType] = {}
    term_to_type: dict[str, str] = {}
    for entry in data["pi_types"]:
        t = PiType(
            id=entry["id"],
            name_zh=entry.get("name_zh") or entry["id"],
            sensitive=bool(entry.get("sensitive")),
            parent=entry.get("parent"),
            category=entry.get("category") or "other",
        )
        types[t.id] = t
        english = [*_english_names(entry.get("name_en")), *ENGLISH_PI_TERMS.get(t.id, ())]
        for term in [t.name_zh, *(entry.get("synonyms_zh") or []), *english]:
            key = normalize_sentence(str(term))
            if len(key) >= 2 and key not in term_to_type:
                term_to_type[key] = t.id
    for term, pi_type in CHINESE_PI_TERMS.items():
        term_to_type.setdefault(normalize_sentence(term), pi_type)
    alternatives = []
    for term in sorted(term_to_type, key=lambda s: (-len(s), s)):
        escaped = re.escape(term)
        # "IP 地址", "MAC 地址": a space where Latin letters meet Chinese is layout, not a different word.
        escaped = re.sub(r"(?<=[a-z0-9])(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])(?=[a-z0-9])", r"\\s?", escaped)
        # Latin letters at a term's edge are whole-word edges: "ip" must not match inside "tip" or "zip",
        # nor "ip地址" inside "tip地址".
        if term[:1].isascii() and term[:1].isalnum():
            escaped = rf"(?<![a-z0-9]){escaped}"
        if term[-1:].isascii() and term[-1:].isalnum():
            escaped = rf"{escaped}(?![a-z0-9])"
        alternatives.append(escaped)
    return PiLexicon(types, term_to_type, re.compile("|".join(alternatives)))


# --------------------------------------------------------------------------- SDK names


@dataclass(frozen=True)
class SdkName:
    sdk_id: str
    name: str
    vendor: str | None


@dataclass(frozen=True)
class SdkNameIndex:
    exact: dict[str, SdkName]  # normalised name -> entry
    alias_rules: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]
    by_prefix: dict[str, SdkName]
    vendor_names: dict[str, str]  # normalised vendor name (zh/en/legal) -> vendor display name

    def match(self, written: str) -> SdkName | None:
        """The catalog SDK a name as written in a policy refers to, or None."""
        key = normalize_sentence(written)
        key = re.sub(r"\s*(sdk|软件开发工具包|插件)\s*$", "", key).strip()
        # A Chinese name with its English one beside it ("腾讯灯塔Beacon", "友盟+ Umeng") is also tried
        # by the Chinese part alone.
        chinese_part = re.sub(r"^[a-z0-9 .+_\-]+(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])[a-z0-9 .+_\-]+$", "", key)
        for candidate in dict.fromkeys((key, f"{key} sdk", chinese_part, f"{chinese_part} sdk")):
            hit = self.exact.get(candidate)
            if hit is not None:
                return hit
        for rx, prefixes in self.alias_rules:
            if rx.search(written) or rx.search(key):
                for p in prefixes:
                    hit = self.by_prefix.get(p)
                    if hit is not None:
                        return hit if _same_function(key, hit) else None
                return None
        return None

    def vendor_in(self, text: str) -> str | None:
        """A known SDK vendor named in ``text`` (longest name first), or None."""
        lowered = normalize_sentence(text)
        for name in sorted(self.vendor_names, key=len, reverse=True):
            if len(name) >= 2 and name in lowered:
                return self.vendor_names[name]
        return None


#: What an SDK does, as its name says it: an alias found by the brand alone ("魅族游戏SDK" -> 魅族) must not
#: land on the brand's SDK for another job (Meizu Push).
_SDK_FUNCTIONS = {
    "push": re.compile(r"推送|push", re.I),
    "game": re.compile(r"游戏|联运|game", re.I),
    "ads": re.compile(r"广告|\bads?\b|mobad", re.I),
    "analytics": re.compile(r"统计|分析|analytics|stat", re.I),
    "map": re.compile(r"地图|定位|map|location", re.I),
}


def _same_function(written: str, hit: SdkName) -> bool:
    said = {f for f, rx in _SDK_FUNCTIONS.items() if rx.search(written)}
    catalogued = {f for f, rx in _SDK_FUNCTIONS.items() if rx.search(f"{hit.name} {hit.sdk_id}")}
    return not said or not catalogued or bool(said & catalogued)


@lru_cache(maxsize=1)
def sdk_name_index() -> SdkNameIndex:
    """Index of SDK names from the shipped catalog and the disclosure aliases (loaded once)."""
    exact: dict[str, SdkName] = {}
    by_prefix: dict[str, SdkName] = {}
    vendor_names: dict[str, str] = {}
    try:
        from appwarden.evidence.catalogs import sdk_catalog

        catalog = sdk_catalog()
        vendors = catalog.vendors
        for v in vendors.values():
            display = v.name_zh or v.name
            for n in (v.name, v.name_zh, *v.legal_names_zh):
                if n and len(n) >= 2:
                    vendor_names.setdefault(normalize_sentence(n), display)
        for s in catalog.sdks:
            vendor = vendors.get(s.vendor or "")
            vendor_display = (vendor.name_zh or vendor.name) if vendor else s.vendor
            entry = SdkName(s.id, s.name_zh or s.name, vendor_display)
            for n in (s.name, s.name_zh):
                if n and len(n) >= 3:
                    exact.setdefault(normalize_sentence(n), entry)
            for p in s.prefixes:
                by_prefix.setdefault(p, entry)
    except Exception:  # no catalog (or an older format): names still extract, without catalog ids
        pass
    rules: list[tuple[re.Pattern[str], tuple[str, ...]]] = []
    ref = resources.files("appwarden.evidence.policy").joinpath("model_data").joinpath("sdk_disclosure_aliases.json")
    try:
        data = json.loads(ref.read_text(encoding="utf-8"))
        for pattern, prefixes in data.get("rules", []):
            rules.append((re.compile(pattern, re.I), tuple(prefixes)))
    except (FileNotFoundError, json.JSONDecodeError, re.error):
        pass
    return SdkNameIndex(exact, tuple(rules), by_prefix, vendor_names)


#: Catalog categories whose SDKs handle users' PI: the ones an English policy names as third parties.
_PI_SDK_CATEGORIES = frozenset(
    {"ads", "social", "analytics", "payment", "push", "authentication", "map", "crash", "location", "im",
     "customer_service", "device_identifier"}
)  # fmt: skip
#: Catalog names that are ordinary English words or too vague to stand for an SDK in running text.
_VAGUE_ENGLISH_NAMES = frozenset(
    {"batch", "mars", "matrix", "epic", "digits", "smack", "pag", "gme", "tbs", "file provider", "c++ shared",
     "libchrome", "easy mobile", "afinal", "maximono", "adtech", "libauth", "kakao", "adsdk", "mob social",
     "google play service", "google ads", "audience network", "omlet sdk", "outline games"}
)  # fmt: skip


#: Names English policies use for catalog SDKs besides the catalog's own ("AdMob", "Google Mobile Ads SDK").
_ENGLISH_SDK_ALIASES = {
    "admob": "Google AdMob",
    "google mobile ads": "Google AdMob",
    "google analytics for firebase": "Firebase Analytics",
}


@lru_cache(maxsize=1)
def english_sdk_mentions() -> tuple[re.Pattern[str] | None, dict[str, SdkName]]:
    """A pattern of the catalog's PI-handling SDKs by their English names ("Firebase Analytics",
    "Crashlytics", "AppsFlyer"), for English policies that name them without "SDK"; and name -> entry."""
    names: dict[str, SdkName] = {}
    try:
        from appwarden.evidence.catalogs import sdk_catalog

        catalog = sdk_catalog()
        for sdk in catalog.sdks:
            if not _PI_SDK_CATEGORIES & set(sdk.categories) or not sdk.name.isascii():
                continue
            key = sdk.name.lower()
            if len(key) >= 5 and key not in _VAGUE_ENGLISH_NAMES:
                hit = sdk_name_index().exact.get(normalize_sentence(sdk.name))
                if hit is not None:
                    names.setdefault(key, hit)
    except Exception:  # no catalog: no English mentions
        return None, {}
    index = sdk_name_index()
    for alias, catalog_name in _ENGLISH_SDK_ALIASES.items():
        hit = index.exact.get(normalize_sentence(catalog_name))
        if hit is not None:
            names.setdefault(alias, hit)
    if not names:
        return None, {}
    alternatives = sorted(names, key=lambda n: (-len(n), n))
    # ASCII edges: the name may touch Chinese text ("使用Firebase Analytics用于统计").
    pattern = re.compile(r"(?<![a-z0-9_.])(" + "|".join(re.escape(n) for n in alternatives) + r")(?![a-z0-9_])", re.I)
    return pattern, names
