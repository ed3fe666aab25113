"""Which of the 39 common app types an app is, and how sure we are.

The minimum-necessary rules judge PI against the necessary PI of an app type
(《常见类型移动互联网应用程序必要个人信息范围规定》, data/regs/app_types.yaml). A wrong
type makes wrong findings, so the engine judges against an inferred type only
when the inference is confident; otherwise those rules are reported as
undecided with the reason, and the user can give ``--app-type``.

Inference combines independent signals, each with a weight (its own
confidence): words in the app label (zh/en), tokens of the package name,
manifest structure (an input-method service is an input method; a camera-flash
feature supports a torch tool) and the SDK
mix (a map SDK plus ride-hailing words). Signals for one type combine as a
noisy-OR, ``1 - prod(1 - w)``, so two weak signals beat one.

Decision threshold (documented, and asserted by tests): a type is decided when
its confidence is at least ``DECIDE_THRESHOLD`` (0.6) and exceeds the runner-up
by at least ``DECIDE_MARGIN`` (0.2). A label-word match alone (0.6) is enough; a
package token alone (0.35) is not; a package token plus a supporting manifest
feature (0.35 + 0.4 -> 0.61) is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from appwarden.errors import ConfigurationError
from appwarden.evidence.model import Evidence
from appwarden.findings import AppTypeCandidate, AppTypeDecision
from appwarden.regs import load_regs

DECIDE_THRESHOLD = 0.6
DECIDE_MARGIN = 0.2

#: libyaml's C loader when available (10x faster on the standards data), else the pure-Python one.

LABEL_WEIGHT = 0.6
PACKAGE_WEIGHT = 0.35
SDK_WEIGHT = 0.2
MANIFEST_WEIGHT = 0.75
FEATURE_WEIGHT = 0.4
# What the app's own string resources talk about: never enough to decide alone (below
# DECIDE_THRESHOLD), but it confirms a package token or an SDK mix.
RESOURCE_WEIGHT = 0.4
RESOURCE_MIN_TEXTS = 3


@dataclass(frozen=True)
class AppType:
    """One of the 39 types of the 2021 provisions, with what it needs and what Annex D advises against."""

    id: str
    seq: int
    name_zh: str
    name_en: str
    necessary_pi: tuple[str, ...]
    no_pi_necessary: bool
    source: str
    not_recommended_permissions: tuple[str, ...]
    annex_d_service_type: str | None


@dataclass(frozen=True)
class _Hints:
    label_words: tuple[str, ...] = ()  # substrings of the label (lower-cased); zh words and en words
    package_tokens: tuple[str, ...] = ()  # whole tokens of the package name, split at . and _
    sdk_categories: tuple[str, ...] = ()


# Keyword tables: the types' own names plus common product words. Label words
# are matched as substrings, so keep them specific ("手电筒", not "灯").
_HINTS: dict[str, _Hints] = {
    "map_navigation": _Hints(
        ("地图", "导航", "map", "navigation", "navi"), ("map", "maps", "navi", "navigation", "amap"), ("map",)
    ),
    "ride_hailing": _Hints(
        ("打车", "约车", "出行", "专车", "快车", "taxi", "ride"),
        ("taxi", "didi", "ride", "cab", "chuxing"),
        ("map", "location"),
    ),
    "instant_messaging": _Hints(
        ("聊天", "即时通", "信使", "messenger", "chat"), ("im", "chat", "messenger", "talk"), ("im",)
    ),
    "online_community": _Hints(("社区", "论坛", "贴吧", "community", "forum"), ("bbs", "forum", "community", "tieba")),
    "online_payment": _Hints(("支付", "钱包", "pay", "wallet"), ("pay", "wallet", "alipay"), ("payment",)),
    "online_shopping": _Hints(
        ("商城", "购物", "优选", "shop", "mall", "store"), ("shop", "mall", "taobao", "jd", "ecommerce")
    ),
    "food_delivery": _Hints(("外卖", "美食", "点餐", "food", "delivery"), ("waimai", "food", "eleme", "meituan")),
    "postal_express": _Hints(
        ("快递", "物流", "寄件", "express", "courier"), ("express", "kuaidi", "logistics", "courier")
    ),
    "transport_ticketing": _Hints(
        ("火车票", "机票", "车票", "12306", "航空", "ticket"), ("train", "flight", "ticket", "airline", "rail")
    ),
    "dating": _Hints(("婚恋", "相亲", "交友", "dating"), ("dating", "date", "love", "marry")),
    "job_recruitment": _Hints(("招聘", "求职", "直聘", "job", "career"), ("job", "jobs", "zhipin", "hr", "recruit")),
    "online_lending": _Hints(("借款", "贷款", "借钱", "loan", "lend"), ("loan", "credit", "jiekuan", "daikuan")),
    "housing_rental_sale": _Hints(("租房", "房产", "二手房", "house", "rent"), ("house", "fang", "rent", "home")),
    "used_car_trading": _Hints(("二手车", "used car"), ("usedcar", "guazi", "che")),
    "medical_consultation": _Hints(
        ("挂号", "问诊", "医院", "医生", "doctor", "hospital"), ("doctor", "hospital", "health", "yiyuan")
    ),
    "travel_services": _Hints(("旅游", "旅行", "travel", "trip"), ("travel", "trip", "tour", "lvyou")),
    "hotel_services": _Hints(("酒店", "民宿", "hotel"), ("hotel", "jiudian")),
    "online_games": _Hints(("游戏", "game"), ("game", "games", "youxi"), ("game", "game_engine")),
    "learning_education": _Hints(
        ("学习", "教育", "课堂", "作业", "learn", "education", "school"),
        ("edu", "learn", "school", "study", "kid", "kids"),
    ),
    "local_life": _Hints(("团购", "本地生活", "点评", "local"), ("dianping", "local", "tuan")),
    "womens_health": _Hints(("经期", "月经", "孕", "period tracker"), ("period", "pregnancy", "meiyou")),
    "vehicle_services": _Hints(
        ("租车", "共享单车", "加油", "停车", "car rental", "parking"), ("car", "bike", "parking", "zuche")
    ),
    "investment": _Hints(
        ("理财", "基金", "证券", "股票", "invest", "fund", "stock"), ("invest", "fund", "stock", "securities", "licai")
    ),
    "mobile_banking": _Hints(("银行", "bank"), ("bank", "banking", "cmb", "icbc", "ccb", "boc", "abc")),
    "email_cloud_storage": _Hints(
        ("邮箱", "网盘", "云盘", "mail", "cloud drive"), ("mail", "email", "pan", "drive", "disk")
    ),
    "remote_meeting": _Hints(("会议", "meeting", "conference"), ("meeting", "conference", "meet"), ("rtc_media",)),
    "live_streaming": _Hints(("直播", "live"), ("live", "zhibo"), ("rtc_media",)),
    "online_audio_video": _Hints(
        ("音乐", "影视", "视频", "电台", "播放器", "music", "player", "radio"),
        ("music", "video", "player", "radio", "tv"),
    ),
    "short_video": _Hints(("短视频", "小视频", "short video"), ("douyin", "kuaishou", "shortvideo", "tiktok")),
    "news": _Hints(("新闻", "资讯", "头条", "日报", "news"), ("news", "toutiao", "xinwen")),
    "sports_fitness": _Hints(
        ("运动", "健身", "跑步", "计步", "fitness", "workout", "running"),
        ("fitness", "sport", "sports", "run", "keep", "step"),
    ),
    "browser": _Hints(("浏览器", "browser"), ("browser",), ("webview",)),
    "input_method": _Hints(
        ("输入法", "键盘", "keyboard", "input method"), ("ime", "input", "inputmethod", "keyboard", "pinyin")
    ),
    "security_management": _Hints(
        ("安全", "管家", "清理", "杀毒", "加速", "cleaner", "antivirus", "security"),
        ("security", "cleaner", "clean", "antivirus", "guard", "booster"),
    ),
    "ebooks": _Hints(
        ("小说", "阅读", "书城", "电子书", "reader", "ebook", "novel"), ("reader", "book", "ebook", "novel", "read")
    ),
    "photo_beautification": _Hints(
        ("相机", "美颜", "修图", "拍照", "滤镜", "camera", "photo editor", "beauty"),
        ("camera", "beauty", "photo", "meitu", "filter"),
    ),
    "app_store": _Hints(
        ("应用商店", "应用市场", "app store", "app market"), ("appstore", "market", "appmarket"), ("app_market",)
    ),
    "utility_tools": _Hints(
        (
            "手电筒",
            "计算器",
            "指南针",
            "闹钟",
            "天气",
            "扫码",
            "二维码",
            "文件管理",
            "备忘录",
            "记事本",
            "翻译",
            "日历",
            "录音机",
            "万年历",
            "flashlight",
            "torch",
            "calculator",
            "compass",
            "alarm",
            "weather",
            "qr scanner",
            "file manager",
            "notepad",
            "translator",
        ),
        (
            "flashlight",
            "torch",
            "calculator",
            "calc",
            "compass",
            "alarm",
            "clock",
            "weather",
            "qrcode",
            "scanner",
            "filemanager",
            "notepad",
            "notes",
            "translate",
            "translator",
            "tools",
            "tool",
            "utility",
            "utils",
        ),
    ),
    "performance_ticketing": _Hints(
        ("演出", "票务", "演唱会", "大麦", "concert"), ("damai", "concert", "show", "ticket")
    ),
}

_INPUT_METHOD_ACTION = "android.view.InputMethod"
#: Manifest features that point at a tool app (a torch needs the flash, nothing else).
_TOOL_FEATURES = ("android.hardware.camera.flash",)


@lru_cache(maxsize=1)
def app_types() -> dict[str, AppType]:
    """The 39 app types by id, read from the packaged data/regs/app_types.yaml."""
    raw: dict[str, Any] = load_regs("app_types.yaml")
    out: dict[str, AppType] = {}
    for entry in raw["app_types"]:
        cross = entry.get("cross_reference") or {}
        out[entry["id"]] = AppType(
            id=entry["id"],
            seq=int(entry["seq"]),
            name_zh=entry["name_zh"],
            name_en=entry["name_en"],
            necessary_pi=tuple(entry.get("necessary_pi") or ()),
            no_pi_necessary=bool(entry.get("no_pi_necessary")),
            source=str(entry.get("source") or "R39 Art. 5"),
            not_recommended_permissions=tuple(cross.get("pg20204a_not_recommended_permissions") or ()),
            annex_d_service_type=cross.get("pg20204a_annex_d_service_type"),
        )
    return out


def resolve_app_type(name: str) -> AppType:
    """The app type named by id (``map_navigation``), Chinese name (``地图导航类``/``地图导航``) or number (1-39).

    Raises ConfigurationError listing the valid ids when the name is unknown.
    """
    types = app_types()
    key = name.strip()
    if key in types:
        return types[key]
    for t in types.values():
        if key in (t.name_zh, t.name_zh.removesuffix("类"), str(t.seq)) or key.lower() == t.name_en.lower():
            return t
    raise ConfigurationError(
        f"unknown app type {name!r}",
        detail="use one of: " + ", ".join(sorted(types)),
    )


def _package_tokens(package: str) -> set[str]:
    return {t for t in re.split(r"[._\-]", package.lower()) if t}


def _score_candidates(evidence: Evidence) -> dict[str, list[tuple[float, str]]]:
    identity = evidence.identity
    labels = [x.lower() for x in (identity.label, identity.label_zh) if x]
    tokens = _package_tokens(identity.package)
    sdk_categories = {c for s in evidence.sdks for c in s.categories}
    resources = [t.lower() for t in evidence.resource_texts]
    signals: dict[str, list[tuple[float, str]]] = {}
    for type_id, hints in _HINTS.items():
        found: list[tuple[float, str]] = []
        for label in labels:
            word = next((w for w in hints.label_words if w in label), None)
            if word is not None:
                found.append((LABEL_WEIGHT, f"label {label!r} contains {word!r}"))
                break
        texts = [t for t in resources if any(w in t for w in hints.label_words)]
        if len(texts) >= RESOURCE_MIN_TEXTS:
            found.append((RESOURCE_WEIGHT, f"{len(texts)} string resources speak of it, e.g. {texts[0]!r}"))
        token = next((t for t in hints.package_tokens if t in tokens), None)
        if token is not None:
            found.append((PACKAGE_WEIGHT, f"package {identity.package} has token {token!r}"))
        # The SDK mix only supports a type other signals already point at: a map SDK
        # is in many apps that are not map apps.
        if found:
            category = next((c for c in hints.sdk_categories if c in sdk_categories), None)
            if category is not None:
                found.append((SDK_WEIGHT, f"embeds a {category} SDK"))
        if found:
            signals[type_id] = found
    feature = next((f for f in _TOOL_FEATURES if f in evidence.uses_features), None)
    if feature is not None:
        signals.setdefault("utility_tools", []).append((FEATURE_WEIGHT, f"uses-feature {feature}"))
    for component in evidence.components:
        if component.kind == "service" and any(_INPUT_METHOD_ACTION in f.actions for f in component.intent_filters):
            signals.setdefault("input_method", []).append(
                (MANIFEST_WEIGHT, f"service {component.name} implements an input method")
            )
            break
    return signals


def infer_app_type(evidence: Evidence, declared: str | None = None) -> AppTypeDecision:
    """Candidates for the app's type with confidences, and the type to judge against (if any).

    A declared type (``--app-type``) is always judged against; the inference is
    still reported so a reviewer sees when the declaration looks wrong.
    """
    signals = _score_candidates(evidence)
    candidates: list[AppTypeCandidate] = []
    for type_id, found in signals.items():
        miss = 1.0
        for weight, _ in found:
            miss *= 1.0 - weight
        candidates.append(
            AppTypeCandidate(app_type=type_id, confidence=round(1.0 - miss, 3), reasons=[r for _, r in found])
        )
    candidates.sort(key=lambda c: (-c.confidence, c.app_type))
    candidates = candidates[:5]
    if declared is not None:
        chosen = resolve_app_type(declared)
        return AppTypeDecision(
            declared=chosen.id,
            inferred=candidates,
            decided=chosen.id,
            reason=f"declared by the user: {chosen.id} ({chosen.name_zh})",
        )
    if not candidates:
        return AppTypeDecision(
            inferred=[],
            decided=None,
            reason="no signal for any of the 39 app types in the label, package name, string resources or manifest; give --app-type",
        )
    top = candidates[0]
    runner_up = candidates[1].confidence if len(candidates) > 1 else 0.0
    if top.confidence >= DECIDE_THRESHOLD and top.confidence - runner_up >= DECIDE_MARGIN:
        return AppTypeDecision(
            inferred=candidates,
            decided=top.app_type,
            reason=f"inferred {top.app_type} with confidence {top.confidence:.2f} (threshold {DECIDE_THRESHOLD}, "
            f"margin {top.confidence - runner_up:.2f} >= {DECIDE_MARGIN}): " + "; ".join(top.reasons),
        )
    if top.confidence < DECIDE_THRESHOLD:
        why = f"best candidate {top.app_type} has confidence {top.confidence:.2f} < {DECIDE_THRESHOLD}"
    else:
        why = (
            f"{top.app_type} ({top.confidence:.2f}) and {candidates[1].app_type} ({runner_up:.2f}) "
            f"are closer than the margin {DECIDE_MARGIN}"
        )
    return AppTypeDecision(inferred=candidates, decided=None, reason=f"not confident: {why}; give --app-type")
