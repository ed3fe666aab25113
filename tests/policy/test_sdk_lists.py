"""Third-party lists in the shapes real policies write them, read end to end (document -> facts).

Each policy here is written for the test; the shapes are those seen in published Chinese policies:
a name line followed by field lines, "(n) X SDK: 用于..." with the PI in the next clause, and
"n.n “X”: 该SDK由“公司”提供" with per-platform PI lines.
"""

from __future__ import annotations

from appwarden.evidence.policy.analyse import analyse_policy
from appwarden.evidence.policy.model import DeclaredSdk


def _sdks(text: str, filename: str = "policy.md") -> dict[str, DeclaredSdk]:
    analysis = analyse_policy(text, filename=filename)
    return {d.name: d for d in analysis.facts.sdks if d.source in ("list", "table")}


NAME_LINE_THEN_FIELDS = """# 第三方SDK列表

为实现相关功能，我们接入了以下第三方SDK。

**小米推送SDK**

运营方：小米科技有限责任公司

功能：在小米手机上接收推送消息

收集个人信息类型：设备标识符（OAID、Android ID）、网络类型

## ② 高德定位SDK

主体名称：高德软件有限公司

使用目的：提供附近门店查询

数据类型：精确位置信息

## ③ SDK名称：某某加固SDK

主体名称：某某安全科技有限公司

使用目的：防止应用被篡改

收集个人信息类型：无
"""


def test_name_line_followed_by_field_lines() -> None:
    sdks = _sdks(NAME_LINE_THEN_FIELDS)
    mi = sdks["小米推送SDK"]
    assert mi.vendor == "小米科技有限责任公司" and mi.purpose == "在小米手机上接收推送消息"
    assert {"oaid", "android_id"} <= set(mi.pi_types)
    amap = sdks["高德定位SDK"]  # the name is a heading with its list number
    assert amap.vendor == "高德软件有限公司" and "precise_location" in amap.pi_types
    # A heading that labels the name ("SDK名称: X") names X; "无" is the policy's answer, kept as stated.
    guard = sdks["某某加固SDK"]
    assert guard.purpose == "防止应用被篡改" and guard.pi_text == "无"


NAME_AS_KEY = """一、我们如何共享您的个人信息

我们接入的第三方SDK如下：

（1）某游戏联运SDK：用于账号登录和支付；
所分享的信息可能有您的设备型号、操作系统版本、WLAN热点的信息；
（2）某广告联盟SDK：用于展示广告，所收集的信息包括粗略位置信息和设备标识符；
（3）第三方物流公司：为了向您寄送奖品，我们会向物流服务商提供您的收件人姓名、电话和地址；
（4）某统计SDK：用于统计分析。
"""


def test_numbered_name_key_with_purpose_and_pi_in_the_next_clause() -> None:
    sdks = _sdks(NAME_AS_KEY, filename="policy.txt")
    game = sdks["某游戏联运SDK"]
    assert game.purpose == "账号登录和支付"
    # Stated as the entry's PI: kept even where the lexicon knows only some of the terms.
    assert game.pi_text is not None and "WLAN热点的信息" in game.pi_text and "device_model" in game.pi_types
    ads = sdks["某广告联盟SDK"]
    assert ads.purpose == "展示广告" and {"coarse_location", "device_identifier"} <= set(ads.pi_types)
    # The numbered logistics item is not a field of the entry before it.
    assert sdks["某统计SDK"].vendor is None and sdks["某广告联盟SDK"].vendor is None
    assert "第三方物流公司" not in sdks


QUOTED_NAME_PROVIDED_BY = """# 隐私政策

## 1.2 第三方SDK

1.2.1 “某某推送”：该SDK由“深圳市某某信息技术有限公司”提供，用于及时向用户推送通知。
需要收集或使用的手机信息包括：
android版本：设备信息（IMEI、Android ID、OAID）、存储权限
ios版本：设备信息（IDFA）

1.2.2 “某某认证”：该SDK由“深圳市某某信息技术有限公司”提供，为APP提供一键登录能力。
android版本：手机号码、IP地址
"""


def test_quoted_name_with_provider_and_platform_pi_lines() -> None:
    sdks = _sdks(QUOTED_NAME_PROVIDED_BY)
    push = sdks["某某推送"]
    assert push.vendor == "深圳市某某信息技术有限公司" and push.purpose == "及时向用户推送通知"
    assert {"imei", "android_id", "oaid", "idfa"} <= set(push.pi_types)
    auth = sdks["某某认证"]
    assert {"mobile_phone_number", "ip_address"} <= set(auth.pi_types)
    assert "imei" not in auth.pi_types  # the first entry's PI lines stay with it


def test_two_tables_back_to_back_do_not_read_the_second_header_as_an_entry() -> None:
    text = (
        "# 第三方SDK目录\n\n| SDK名称 | 使用目的 | 收集个人信息 |\n| --- | --- | --- |\n| 某推送SDK | 消息推送 | 设备标识符 |\n\n"
        "<table><tr><th>SDK名称</th><th>使用目的</th></tr><tr><td>某地图SDK</td><td>定位</td></tr></table>\n"
    )
    sdks = _sdks(text)
    assert set(sdks) == {"某推送SDK", "某地图SDK"}
    assert sdks["某地图SDK"].purpose == "定位"


PI_ITEMS_BELOW_THEIR_LABEL = """# 第三方SDK

### 2.3.1 某推送SDK

- SDK名称: 某推送SDK
- 服务提供方: 某某互动股份有限公司
- 使用目的: 提供消息推送服务
- 收集的个人信息:
  - 设备信息: 设备标识符(Android ID、OAID)、设备型号
  - 网络信息: IP地址
- 隐私政策链接: https://example.com/privacy

### 2.3.2 某统计SDK

- SDK名称: 某统计SDK
- 使用目的: 统计分析
"""


def test_pi_items_on_the_lines_below_their_label_belong_to_the_entry() -> None:
    sdks = _sdks(PI_ITEMS_BELOW_THEIR_LABEL)
    push = sdks["某推送SDK"]
    assert push.vendor == "某某互动股份有限公司" and push.purpose == "提供消息推送服务"
    assert {"android_id", "oaid", "device_model", "ip_address"} <= set(push.pi_types)
    assert push.pi_text is not None and "example.com" not in push.pi_text
    assert sdks["某统计SDK"].pi_types == [] and sdks["某统计SDK"].pi_text is None


def test_a_caption_over_the_list_is_not_an_entry() -> None:
    text = "# 第三方SDK\n\n我们接入的第三方SDK:\n\n第三方名称: 某某公司\n\n使用目的: 推送\n"
    assert "我们接入的第三方SDK" not in _sdks(text)


def test_a_table_cell_with_labelled_parts_gives_purpose_and_pi() -> None:
    html = (
        "<h2>第三方SDK</h2><table><tr><th>SDK名称</th><th>第三方名称</th><th>收集个人信息</th></tr>"
        "<tr><td>某通道SDK</td><td>某某移动软件有限公司</td>"
        "<td>收集个人信息类型：设备标识信息（OAID、Android ID）<br>使用目的：提供终端设备的消息推送服务</td></tr></table>"
    )
    sdk = _sdks(html, filename="p.html")["某通道SDK"]
    assert sdk.purpose == "提供终端设备的消息推送服务"
    assert set(sdk.pi_types) >= {"oaid", "android_id"} and "使用目的" not in (sdk.pi_text or "")


NUMBERED_ENTRIES_OF_OTHER_SHAPES = """# 隐私政策

## 第三方SDK

**（15）bilibili游戏联运SDK：用于B站游戏平台登录和支付；所分享的信息可能有您的设备型号、当前WiFi接入的状态；**

**（16）腾讯灯塔Beacon：用于统计分析；所分享的信息可能有您的运行中进程信息；**

2.1.6 “OPPO Push”：由“广东欢太科技有限公司”提供，用于在OPPO手机上接收推送消息。需要收集的信息包括：
android版本：设备信息（OAID、Android ID）

2.1.7 “TBS” 腾讯浏览服务，由腾讯科技（深圳）有限公司提供，用于网页浏览。
android版本：国际移动用户识别码（IMSI）
"""


def test_numbered_entries_with_long_latin_names_english_aliases_and_no_colon() -> None:
    sdks = _sdks(NUMBERED_ENTRIES_OF_OTHER_SHAPES)
    assert set(sdks) == {"bilibili游戏联运SDK", "腾讯灯塔Beacon", "OPPO Push", "TBS"}
    # A key longer than a field label, because of its number and Latin name, still names the entry.
    assert sdks["bilibili游戏联运SDK"].purpose == "B站游戏平台登录和支付"
    assert "wifi_info" in sdks["bilibili游戏联运SDK"].pi_types
    # The Chinese name beside an English one finds the catalog entry.
    assert sdks["腾讯灯塔Beacon"].sdk_id == "腾讯灯塔-sdk" and sdks["腾讯灯塔Beacon"].pi_types == ["running_app_list"]
    # "“TBS” …, 由…提供": an entry of its own; its PI line is not added to the entry before it.
    assert sdks["TBS"].sdk_id == "tbs" and sdks["TBS"].vendor == "腾讯科技(深圳)有限公司"
    assert sdks["TBS"].pi_types == ["imsi"] and "imsi" not in sdks["OPPO Push"].pi_types
    assert {"oaid", "android_id"} <= set(sdks["OPPO Push"].pi_types)


LABELLED_BLOCKS_OF_OTHER_WORDINGS = """# 隐私政策

## 第三方信息共享清单

使用SDK名称：友盟SDK
服务类型：使用数据分析
收集个人信息类型：设备信息（IMEI/Android ID/IP地址）
隐私权政策链接：https://www.umeng.com/page/policy

使用SDK名称：百度地图SDK
服务类型：签到定位
收集个人信息类型：地理位置信息

SDK名称：移动智能终端补充设备标识体系统一调用SDK
SDK厂家：中国信息通信研究院
SDK描述：提供统一的补充设备标识获取接口
个人信息：OAID

第三方 SDK 名称：Azure 文本翻译 SDK
第三方名称：微软（中国）有限公司
使用目的：实现翻译功能
收集的个人信息：设备型号；IP 地址、操作系统；Wi-Fi 列表

SDK名称：TapSDK
提供方：易玩（上海）网络技术有限公司
可能处理的信息：OAID、Android ID、设备型号
"""


def test_labelled_blocks_whatever_their_labels_are_called() -> None:
    sdks = _sdks(LABELLED_BLOCKS_OF_OTHER_WORDINGS)
    # Field labels ("使用SDK名称", "SDK厂家", "SDK描述", "第三方名称") are never parties of their own.
    assert set(sdks) == {
        "友盟SDK",
        "百度地图SDK",
        "移动智能终端补充设备标识体系统一调用SDK",
        "Azure 文本翻译 SDK",
        "TapSDK",
    }
    assert sdks["友盟SDK"].purpose == "使用数据分析" and "imei" in sdks["友盟SDK"].pi_types
    assert sdks["百度地图SDK"].pi_types == ["location"]
    oaid = sdks["移动智能终端补充设备标识体系统一调用SDK"]
    assert oaid.vendor == "中国信息通信研究院" and oaid.purpose == "提供统一的补充设备标识获取接口"
    assert oaid.pi_types == ["oaid"]
    azure = sdks["Azure 文本翻译 SDK"]
    assert azure.vendor == "微软(中国)有限公司" and azure.purpose == "实现翻译功能"
    # A PI field cut into pieces at "；" keeps all of them.
    assert {"device_model", "ip_address", "os_info", "wifi_info"} <= set(azure.pi_types)
    assert {"oaid", "android_id", "device_model"} <= set(sdks["TapSDK"].pi_types)


def test_an_sdk_entrys_vendor_and_links_say_nothing_about_the_operator() -> None:
    text = """# 隐私政策

## 第三方SDK

SDK名称：TapSDK

服务提供方：易玩（上海）网络科技有限公司

使用目的：账号登录和实名认证

可能处理的信息：OAID、Android ID

隐私政策链接：https://example.com/tapsdk/privacy
"""
    analysis = analyse_policy(text, filename="policy.md")
    records = {s.index for s in analysis.sentences if "易玩" in s.text or "example.com" in s.text}
    assert records and not any(
        lb.label in ("CR3", "CR4") for s in analysis.sentences if s.index in records for lb in s.labels
    )
    assert not analysis.covered("CR3") and not analysis.facts.operator_names
    # The operator's own lines outside the list still count.
    text += "\n## 联系我们\n\n本应用由杭州某某网络科技有限公司运营，联系邮箱：privacy@example.cn。\n"
    assert analyse_policy(text, filename="policy.md").covered("CR4")


def _mentioned(text: str) -> dict[str | None, DeclaredSdk]:
    analysis = analyse_policy(f"<p>{text}</p>", filename="policy.html")
    return {d.sdk_id: d for d in analysis.facts.sdks if d.source == "sentence"}


def test_push_channels_named_by_brand_only() -> None:
    found = _mentioned("为了向您推送消息，我们集成了三星/vivo/oppo/华为/小米SDK，这些SDK会收集您的设备标识符。")
    assert {"vivo-push", "oppo-push", "huawei-push", "mipush"} <= set(found)
    assert found["huawei-push"].vendor == "华为" and found["huawei-push"].purpose == "消息推送"
    assert found["mipush"].pi_types == ["device_identifier"]
    # A brand the catalog has no push SDK for is still a declared third party, by its brand.
    assert found[None].name == "三星推送 SDK"


def test_a_brand_list_ending_in_the_sdk_word_gives_every_brand_its_own_vendor() -> None:
    found = _mentioned("消息推送：华为、小米、OPPO、vivo、魅族厂商推送SDK，收集设备标识符、推送令牌。")
    assert {d: found[d].vendor for d in ("huawei-push", "mipush", "oppo-push", "vivo-push", "meizu-push")} == {
        "huawei-push": "华为",
        "mipush": "小米",
        "oppo-push": "OPPO",
        "vivo-push": "vivo",
        "meizu-push": "魅族",
    }
    # "厂商推送" is part of the SDKs' name, not device-maker PI.
    assert "device_manufacturer" not in found["meizu-push"].pi_types


def test_brands_without_push_are_no_sdks() -> None:
    assert _mentioned("本应用支持华为、小米手机登录。") == {}
    assert not {"huawei-push", "mipush"} & set(_mentioned("我们不使用华为、小米推送服务。"))


LEAD_IN_THEN_BARE_ENTRIES = """# 隐私政策

## 一、第三方SDK

为向您推送消息通知，我们接入了以下推送SDK，这些SDK会收集您的设备标识符（OAID、Android ID）：

1. 极光推送SDK，提供方：深圳市和讯华谷信息技术有限公司

2. 个推SDK，提供方：每日互动股份有限公司

为实现相关功能，我们还使用了下列第三方SDK：

1. Bugly SDK，提供方：深圳市腾讯计算机系统有限公司

## 二、共享

我们会在以下情形中共享您的个人信息：

我们接入了友盟SDK。
"""


def test_bare_list_entries_take_the_purpose_and_pi_of_the_sentence_introducing_them() -> None:
    analysis = analyse_policy(LEAD_IN_THEN_BARE_ENTRIES, filename="policy.md")
    sdks = {d.sdk_id: d for d in analysis.facts.sdks}
    for sdk_id in ("极光推送", "个推"):
        entry = sdks[sdk_id]
        assert entry.purpose == "向您推送消息通知"
        assert {"oaid", "android_id"} <= set(entry.pi_types)
        assert entry.pi_text is not None and entry.pi_text.startswith("为向您推送消息通知")
    # "相关功能" names no purpose, and that lead-in names no PI: Bugly stays unexplained.
    assert sdks["bugly"].purpose is None and not sdks["bugly"].pi_types
    # A sentence about sharing "in these cases" introduces cases, not the SDK named after it.
    assert sdks["umeng-analytics"].purpose is None and not sdks["umeng-analytics"].pi_types
