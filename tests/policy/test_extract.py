"""Facts read from policy sentences: PI types, SDKs, operator, contacts, dates."""

from __future__ import annotations

from appwarden.evidence.policy.extract import SentenceView, extract_facts
from appwarden.evidence.policy.lexicon import pi_lexicon, sdk_name_index
from appwarden.evidence.policy.model import DeclaredSdk


def views(*texts: str, labels: dict[int, set[str]] | None = None, table: set[int] | None = None) -> list[SentenceView]:
    labels = labels or {}
    table = table or set()
    return [
        SentenceView(
            index=i,
            text=t,
            labels=frozenset(labels.get(i, set())),
            is_heading=False,
            in_table=i in table,
            section_path=(),
        )
        for i, t in enumerate(texts)
    ]


def test_pi_terms_longest_match_and_ascii_word_boundaries() -> None:
    found = {t for t, _, _ in pi_lexicon().find("我们收集设备信息(IMEI、Android ID)、精确位置信息和手机号码")}
    assert {"imei", "android_id", "precise_location", "mobile_phone_number"} <= found
    # "sn" and "ip" are whole words only, also where they run into Chinese ("tip地址" is no IP address).
    assert not {t for t, _, _ in pi_lexicon().find("design tips and zip files, tip 地址")}
    # A space where Latin meets Chinese is layout: "IP 地址" is an IP address; wording the regulation lacks.
    assert {t for t, _, _ in pi_lexicon().find("收集IP 地址、MAC 地址和粘贴板内容")} == {
        "ip_address",
        "mac_address",
        "clipboard_content",
    }


def test_sdk_names_resolve_to_catalog_ids() -> None:
    index = sdk_name_index()
    hit = index.match("友盟+SDK")
    assert hit is not None and hit.sdk_id.startswith("umeng")
    hit = index.match("腾讯Bugly")
    assert hit is not None and hit.sdk_id == "bugly"
    assert index.match("某某不存在的组件SDK") is None


def test_sdk_table_rows_with_vendor_purpose_and_pi() -> None:
    facts = extract_facts(
        views(
            "我们接入的第三方SDK如下:",
            "SDK名称 | 第三方公司名称 | 使用目的 | 收集个人信息类型",
            "友盟统计SDK | 友盟同欣(北京)科技有限公司 | 统计分析 | Android ID、OAID、IP地址",
            "极光推送SDK | 深圳市和讯华谷信息技术有限公司 | |",
            table={1, 2, 3},
        )
    )
    by_name = {s.name: s for s in facts.sdks}
    umeng = by_name["友盟统计SDK"]
    assert umeng.sdk_id is not None and umeng.sdk_id.startswith("umeng")
    assert umeng.vendor == "友盟同欣(北京)科技有限公司"
    assert umeng.purpose == "统计分析"
    assert {"android_id", "oaid", "ip_address"} <= set(umeng.pi_types)
    jpush = by_name["极光推送SDK"]
    assert jpush.purpose is None and not jpush.pi_types
    # SDK vendors are third parties, not the operator.
    assert "友盟同欣(北京)科技有限公司" not in facts.operator_names


def test_sdk_key_value_lists_and_running_text() -> None:
    facts = extract_facts(
        views(
            "SDK名称:高德定位SDK",
            "使用目的:提供定位服务",
            "收集个人信息类型:位置信息、WLAN信息",
            "第三方主体:高德软件有限公司",
            "我们还集成了腾讯Bugly SDK,用于崩溃日志上报。",
        )
    )
    by_id = {s.sdk_id: s for s in facts.sdks}
    amap = next(s for s in facts.sdks if s.name == "高德定位SDK")
    assert amap.purpose == "提供定位服务" and amap.vendor == "高德软件有限公司"
    assert "location" in amap.pi_types or "wifi_info" in amap.pi_types or amap.pi_types
    assert by_id["bugly"].purpose == "崩溃日志上报"


def test_operator_contacts_and_dates() -> None:
    facts = extract_facts(
        views(
            "更新日期:2024年3月1日",
            "生效日期:2024-03-08",
            "本政策适用于杭州示例科技有限公司(以下简称“我们”)运营的App。",
            "可发送邮件至 privacy@example.com 或拨打客服电话 400-123-4567 与我们联系。",
            "公司注册地址:浙江省杭州市西湖区示例路88号。",
            "我们的服务热线为 13800138000。",
            labels={2: {"CR3"}},
        )
    )
    assert facts.operator_names[0] == "杭州示例科技有限公司"
    kinds = {(c.kind, c.value) for c in facts.contacts}
    assert ("email", "privacy@example.com") in kinds
    assert ("phone", "400-123-4567") in kinds
    assert ("phone", "13800138000") in kinds
    assert any(c.kind == "address" and c.value.startswith("浙江省杭州市") for c in facts.contacts)
    dates = {(d.kind, d.date) for d in facts.dates}
    assert ("updated", "2024-03-01") in dates and ("effective", "2024-03-08") in dates


def test_invalid_dates_and_date_like_numbers_are_not_facts() -> None:
    facts = extract_facts(views("更新日期:2024年13月45日", "订单号 2024-03-08 不是联系电话"))
    assert not facts.dates
    assert not [c for c in facts.contacts if c.kind == "phone"]


def test_notice_channels_and_guardians_are_not_pi_the_app_declares() -> None:
    facts = extract_facts(
        views(
            "如不幸发生安全事件，我们将以邮件、信函、电话、推送通知、短信等方式告知您。",
            "我们将在变更生效前，通过在页面显著位置提示、向您发送电子邮件等方式通知您。",
            "若您是未满14周岁的儿童，应在您的父母或其他监护人的同意下阅读本政策。",
        )
    )
    assert facts.pi_mentions == []
    # The same words where the app does collect them stay declarations.
    facts = extract_facts(
        views(
            "注册时我们会收集您的手机号码和电子邮件地址，并通过短信验证码验证您的身份。",
            "为提供亲情守护功能，我们会收集您父母的联系方式和位置信息。",
        )
    )
    declared = {m.pi_type for m in facts.pi_mentions}
    assert {"mobile_phone_number", "email_address", "verification_code", "family_relationship", "location"} <= declared


def test_companies_the_policy_shares_with_are_third_parties_not_the_operator() -> None:
    facts = extract_facts(
        views(
            "为完成商品配送,我们会将您的收货地址和手机号码提供给顺丰速运有限公司。",
            "我们会向服务提供方(重庆度小满信息技术有限公司)共享您的账号信息。",
            "我们会委托北京某某数据服务有限公司处理您的日志信息。",
            "我们接入了极光推送SDK,用于向您推送消息。",
            "本应用由上海示例网络科技有限公司(以下简称“我们”)运营。",
            labels={4: {"CR3"}},
        )
    )
    recipients = {d.name: d for d in facts.sdks if d.source == "recipient"}
    assert set(recipients) == {"顺丰速运有限公司", "重庆度小满信息技术有限公司", "北京某某数据服务有限公司"}
    express = recipients["顺丰速运有限公司"]
    assert express.purpose == "商品配送" and {"shipping_address", "mobile_phone_number"} <= set(express.pi_types)
    assert "employer" not in express.pi_types  # "公司" in a company's name is not PI
    assert recipients["北京某某数据服务有限公司"].purpose is None  # named without a purpose: a finding later
    assert all(d.sdk_id is None for d in recipients.values())
    assert facts.operator == "上海示例网络科技有限公司"
    # Mentioning a company without handing anything over does not make it a recipient; nor does the
    # operator's own name in a sharing sentence, or a company whose name holds a sharing word.
    for text in (
        "顺丰速运有限公司是一家物流企业。",
        "河南金途科技集团股份有限公司不会将您的个人信息传输至境外,如需向境外传输,河南金途科技集团股份有限公司将征求您的同意。",
        "2.宁波小遛共享信息科技有限公司(注册地址:浙江省宁波市)",
        "我们不会将您的信息出售给Canva及其集团公司以外的第三方。",
        "我们不会与北京某某数据有限公司共享您的个人信息。",
    ):
        assert not [d for d in extract_facts(views(text)).sdks if d.source == "recipient"], text


def test_recipients_listed_after_the_sharing_and_the_information_named_before() -> None:
    facts = extract_facts(
        views(
            "您下单时需提供收货人姓名、收货地址、联系电话。",
            "为完成配送,我们会将上述信息共享给为您提供配送服务的物流公司,例如顺丰速运有限公司、中国邮政速递物流股份有限公司。",
        )
    )
    recipients = {d.name: d for d in facts.sdks if d.source == "recipient"}
    assert set(recipients) == {"顺丰速运有限公司", "中国邮政速递物流股份有限公司"}
    # "上述信息": the PI of the sentence before is what is shared.
    assert {"name", "shipping_address", "mobile_phone_number"} <= set(recipients["顺丰速运有限公司"].pi_types)
    assert recipients["顺丰速运有限公司"].purpose == "配送"


def test_english_recipients_by_legal_name_and_the_operator_is_not_one_of_them() -> None:
    facts = extract_facts(
        views(
            "We do not sell your personal information to Data Brokers Inc. or anyone else.",
            "We share your email address and order details with Acme Logistics Ltd. to deliver your purchases.",
            "Example Weather Ltd. operates this app.",
        )
    )
    (acme,) = [d for d in facts.sdks if d.source == "recipient"]
    assert acme.name == "Acme Logistics Ltd." and acme.purpose == "to deliver your purchases"
    assert "email_address" in acme.pi_types
    # The refused party and the recipient rank below the company that runs the app.
    assert facts.operator == "Example Weather Ltd."
    zh = extract_facts(
        views("我们会与北京某某数据有限公司共享您的设备信息。", "本应用由上海示例网络科技有限公司提供。")
    )
    assert zh.operator == "上海示例网络科技有限公司"


def test_addresses_are_places_not_pi_items_named_address() -> None:
    facts = extract_facts(
        views(
            "我们会收集您的设备型号、IP地址和端口号、Android ID用于安全风控。",
            "为寄送奖品，我们会使用您的姓名、通信地址、联系方式等信息。",
            "我们会获取MAC地址信息、IMEI或OAID。",
            "收货地址、性别等信息可在“我的”页面中更正。",
            "您也可以拨打电话010-12345678或寄到如下地址：",
            "北京市海淀区某某路30号某某大厦415室",
            "注册地址：浙江省杭州市西湖区某某街道100号",
        )
    )
    addresses = [(c.value, c.sentence) for c in facts.contacts if c.kind == "address"]
    assert addresses == [("北京市海淀区某某路30号某某大厦415室", 5), ("浙江省杭州市西湖区某某街道100号", 6)]


def test_a_url_given_to_contact_the_operator_is_a_channel_and_document_links_are_not() -> None:
    facts = extract_facts(
        views(
            "如对本《隐私政策》有任何问题，请通过http://kf.example.com/与我们联系。",
            "您可以访问 https://help.example.cn/feedback 进行投诉或反馈.",
            "如需联系，可查看第三方的隐私政策链接：https://sdk.example.com/privacy",
            "本政策全文见 https://www.example.com/privacy.html 。",
        )
    )
    assert [c.value for c in facts.contacts if c.kind == "web_form"] == [
        "http://kf.example.com/",
        "https://help.example.cn/feedback",
    ]


def test_operator_names_are_not_cut_inside_the_name_nor_pronoun_phrases() -> None:
    facts = extract_facts(
        views(
            "为保护我们或我们的集团公司、用户的合法权益，我们可能会披露您的信息。",
            "邮寄地址：苏州市某某区某某街1088号某某公寓1楼徐州某某伊人信息技术有限公司(收)",
            "本政策由某某信息科技 (上海) 有限公司制定。",
            labels={2: {"CR3"}},
        )
    )
    assert facts.operator_names[:2] == ["某某信息科技(上海)有限公司", "徐州某某伊人信息技术有限公司"]
    assert not any("我们" in n or (n[-4:] == "集团公司" and len(n) < 8) for n in facts.operator_names)
    # "和", "为" and "与" inside a name are part of it.
    for name in ("深圳市和讯华谷信息技术有限公司", "华为终端有限公司", "上海影与达科技有限公司"):
        found = extract_facts(views(f"本应用由{name}（以下简称“我们”）开发。", labels={0: {"CR3"}})).operator_names
        assert found[:1] == [name], found


def test_pi_terms_in_negations_definitions_and_compounds_are_not_declarations() -> None:
    facts = extract_facts(
        views(
            "我们不会调用您的通讯录,也不会与第三方共享您的个人身份信息。",
            "敏感个人信息是一旦泄露或者非法使用,容易导致人格尊严受到侵害的个人信息,包括生物识别、宗教信仰、行踪轨迹等信息。",
            "某些个人信息可能被认为是敏感个人信息,例如您的种族、宗教、个人健康信息等。",
            "我们可能收集与您相关的非个人身份信息。",
            "为向您提供个性化的服务,并维护国家安全,我们遵守国家标准和您所在地的法律法规。",
            "我们委托代表我们发出电子邮件的服务商。",
            "注册时我们会收集您的手机号码和电子邮件地址。",
            "如您不提供身份证号码,将无法完成实名认证。",  # the user declining: still what the app asks for
        )
    )
    declared = facts.declared_pi_types
    assert {"mobile_phone_number", "email_address", "id_card"} <= declared
    for not_declared in ("contacts", "identity_document", "religious_belief", "location_track", "interests"):
        assert not_declared not in declared
    assert "country_region" not in declared and "home_address" not in declared
    # The e-mail address is declared by the collection sentence, not by the provider sending e-mails.
    email = next(m for m in facts.pi_mentions if m.pi_type == "email_address")
    assert email.sentences == [6]


def test_a_definitions_chapter_still_declares_what_the_policy_collects() -> None:
    # A policy's definitions say what its own words cover ("设备信息" = IMEI, Android ID...); they are how it
    # declares those types. Only the general definition of (sensitive) PI declares nothing.
    sentences = [
        SentenceView(
            0, "设备信息:指您使用的设备的IMEI、Android ID等标识符。", frozenset(), False, False, ("第一章 定义",)
        ),
        SentenceView(
            1,
            "敏感个人信息是指一旦泄露容易导致人身损害的个人信息,包括宗教信仰等。",
            frozenset(),
            False,
            False,
            ("第一章 定义",),
        ),
    ]
    declared = extract_facts(sentences).declared_pi_types
    assert {"imei", "android_id"} <= declared and "religious_belief" not in declared


def test_the_vendor_a_sentence_names_for_an_sdk_wins_over_the_catalog_brand() -> None:
    facts = extract_facts(
        views(
            "我们会集成穿山甲广告SDK,其主体为:北京巨量引擎网络技术有限公司,用于广告投放。",
            "我们接入了友盟SDK,用于统计分析。",
        )
    )
    vendors = {d.sdk_id: d.vendor for d in facts.sdks}
    assert vendors["pangle-sdk"] == "北京巨量引擎网络技术有限公司"
    assert vendors[next(k for k in vendors if k and k.startswith("umeng"))] == "友盟+"


def test_phone_numbers_written_with_spaces_and_pi_words_across_word_boundaries() -> None:
    facts = extract_facts(
        views(
            "客服电话:400- 919 - 9066,工作日接听。",
            "我们提供维护照片质量的功能,并收集网络设备硬件地址(MAC)。",
        )
    )
    assert [c.value for c in facts.contacts if c.kind == "phone"] == ["400-919-9066"]
    assert "passport" not in facts.declared_pi_types and "mac_address" in facts.declared_pi_types


def test_the_operators_contact_details_are_not_pi_the_app_collects() -> None:
    facts = extract_facts(
        views(
            "您可以通过本《隐私政策》中提供的联系方式提出您的请求。",
            "负责处理个人信息的部门、联系方式及投诉渠道发生变化时,我们会通知您。",
        )
    )
    assert "mobile_phone_number" not in facts.declared_pi_types
    assert "mobile_phone_number" in extract_facts(views("注册时我们会收集您的联系方式。")).declared_pi_types


def test_english_policies_name_sdks_without_the_word_sdk() -> None:
    facts = extract_facts(
        views(
            "Third party service providers used by the app:",
            "Crashlytics",
            "We use Firebase Analytics to understand how the app is used.",
            "We do not use AppsFlyer.",
            "Run the batch job nightly.",
        )
    )
    named = {d.name: d for d in facts.sdks}
    assert {"Crashlytics", "Firebase Analytics"} <= set(named)
    assert named["Firebase Analytics"].purpose == "understand how the app is used"
    assert "AppsFlyer" not in named and not any(d.name.lower() == "batch" for d in facts.sdks)


def test_a_pi_word_in_a_sentence_that_does_nothing_with_information_declares_nothing() -> None:
    facts = extract_facts(
        views(
            "我们非常重视对未成年人个人信息的保护。",
            "请妥善保管您的用户名及密码信息。",
            "我们会收集您的订单信息用于配送。",
        )
    )
    assert facts.declared_pi_types >= {"order_info"}
    assert not facts.declared_pi_types & {"minor_info", "account_id", "password"}


def test_an_sdk_provider_named_in_the_policy_is_not_taken_for_the_operator() -> None:
    facts = extract_facts(
        views(
            "本应用使用高德地图Android地图SDK,其主体为:高德软件有限公司。",
            "我们会集成穿山甲广告SDK,提供方为北京巨量引擎网络技术有限公司。",
        )
    )
    assert facts.operator_names == []


def test_hong_kong_and_taiwan_wording_and_a_legal_name_in_brackets_after_the_brand() -> None:
    facts = extract_facts(
        views(
            "欢迎您使用星辰游戏(星辰网络科技有限公司,以下简称“我们”)!",
            "在您同意后,我们会读取您的联络人资料,并记录您的IP位址及电邮地址。",
            labels={0: {"CR3"}},
        )
    )
    assert facts.operator_names[:1] == ["星辰网络科技有限公司"]
    assert {"contacts", "ip_address", "email_address"} <= facts.declared_pi_types


def test_an_app_path_is_no_sdk_cryptography_is_no_password_and_a_second_address_label_is_dropped() -> None:
    facts = extract_facts(
        views(
            "支付宝APP操作路径:我的-设置-安全设置-注销账户。",
            "支付宝APP:我的 → 设置 → 隐私 → 系统权限。",
            "支付宝APP:我的 → 设置 → 隐私 → 系统权限。",
            "我们在适当的位置使用密码对用户个人信息进行保护。",
            "注册地址/常用办公地址:中国(上海)自由贸易试验区银城中路501号17层",
        )
    )
    assert not any("路径" in d.name for d in facts.sdks)
    assert "password" not in facts.declared_pi_types
    assert [c.value for c in facts.contacts if c.kind == "address"] == ["中国(上海)自由贸易试验区银城中路501号17层"]


def test_wordings_published_policies_use_for_common_pi() -> None:
    facts = extract_facts(
        views(
            "我们会收集您的硬件型号、网页记录、充值记录、通话时数及银行卡信息。",
            "您可以通过我们的联系地址寄送信件。",
        )
    )
    assert {"device_model", "browsing_history", "transaction_record", "call_log", "bank_card_number"} <= (
        facts.declared_pi_types
    )
    assert "home_address" not in facts.declared_pi_types


def test_recommendations_ui_positions_and_longer_negations_declare_nothing() -> None:
    facts = extract_facts(
        views(
            "我们会向您推荐您可能感兴趣的内容。",
            "我们会在适当的位置发布这些更改,您可以在设置中调整语言设定、位置设定。",
            "我们不会因此而收集或存储您的银行卡信息或身份认证信息。",
            "我们不会将上述信息与您提供的个人身份信息相结合。",
        )
    )
    assert not facts.declared_pi_types & {"interests", "location", "language", "bank_card_number", "identity_document"}


def _sdks_by_id(*texts: str) -> dict[str | None, DeclaredSdk]:
    return {d.sdk_id: d for d in extract_facts(views(*texts)).sdks}


def test_sdks_named_in_one_run_on_sentence_keep_their_own_purpose_vendor_and_pi() -> None:
    by_id = _sdks_by_id(
        "我们接入了高德地图SDK用于定位,会收集您的位置信息,以及极光推送SDK用于推送消息,会收集设备标识符。",
        "我们使用微信SDK和QQ SDK,收集设备信息,以便您分享内容。",
    )
    amap, jpush = by_id["高德地图-sdk"], by_id["极光推送"]
    assert (amap.purpose, amap.pi_types) == ("定位", ["location"])
    assert jpush.name == "极光推送 SDK" and jpush.purpose == "推送消息"
    assert jpush.pi_types == ["device_identifier"] and jpush.vendor != amap.vendor
    # Named together, they share what follows the last of them.
    wechat, qq = by_id["tencent-wechat"], by_id["腾讯开放平台"]
    assert wechat.purpose == qq.purpose == "您分享内容" and "device_info" in wechat.pi_types


def test_what_an_sdk_does_for_the_user_is_its_purpose() -> None:
    by_id = _sdks_by_id(
        "我们使用高德地图SDK(提供方:高德软件有限公司)为您提供定位服务,该SDK会收集您的位置信息;",
        "我们使用极光推送SDK向您推送消息。",
    )
    assert by_id["高德地图-sdk"].purpose == "提供定位服务" and by_id["高德地图-sdk"].vendor == "高德软件有限公司"
    assert by_id["极光推送"].purpose == "推送消息"


def _declared_types(*texts: str, headings: tuple[str, ...] = ()) -> set[str]:
    sentences = [
        SentenceView(index=i, text=t, labels=frozenset(), is_heading=False, in_table=False, section_path=headings)
        for i, t in enumerate(texts)
    ]
    return set(extract_facts(sentences).declared_pi_types)


def test_a_negation_covers_the_list_it_goes_on_to_give() -> None:
    assert not _declared_types("本应用不会主动收集用户的任何个人信息,包括但不限于姓名、联系方式、地理位置、IP地址。")
    # A later clause that does collect is still read.
    assert _declared_types("我们不会收集您的通讯录;为完成注册,我们会收集您的手机号码。") == {"mobile_phone_number"}


def test_items_under_a_not_collected_heading_declare_nothing() -> None:
    items = ("包括:银行账号、证券账号、交易密码", "包括:精确定位信息(GPS)")
    assert not _declared_types(*items, headings=("隐私政策", "1.3 我们不收集"))
    assert _declared_types(*items, headings=("隐私政策", "1.2 我们收集的信息")) >= {
        "bank_card_number",
        "precise_location",
    }


def test_definitions_advice_and_business_words_declare_no_pi() -> None:
    assert not _declared_types("个人敏感信息:指包括身份证件号码、个人生物识别信息、银行账号、行踪轨迹等信息。")
    assert "password" not in _declared_types("我们建议您使用这些工具时请使用复杂密码,并妥善保管您的账号、密码。")
    assert "password" not in _declared_types("请您定期修改密码,一旦账户或密码发生泄露请及时联系我们。")
    assert "email_address" not in _declared_types("您在使用电子邮件、即时通讯等方式与他人交流时,请注意保护个人信息。")
    assert "device_manufacturer" not in _declared_types("我们接入的手机厂商SDK用于推送消息,会收集IDFV厂商标识。")
    assert "favorites" not in _declared_types("我们会根据珠宝、化妆品、收藏品等广告类别向您展示广告。")
    assert "sms" not in _declared_types("您可以通过短信提示回复退订营销信息。")
    assert "call_log" not in _declared_types("我们会保存您与客服的通话记录,以便处理您的问题。")
    # Still read: the phone maker as device information, a "version, language" list.
    assert {"device_manufacturer", "language"} <= _declared_types("我们会收集设备厂商、操作系统版本、语言设置。")


def test_fifth_probe_wordings() -> None:
    found = _declared_types(
        "我们会收集您的CPU信息、正在运行的应用列表、SIM序列号、搜索查询和支付记录,以及当前WiFi接入的状态。"
    )
    assert {"cpu_info", "running_app_list", "iccid", "search_history", "transaction_record", "wifi_info"} <= found
    assert "installed_app_list" not in found
    found = _declared_types("SDK会收集设备制造商、屏幕尺寸、安装列表和用户聊天信息。")
    assert {"device_manufacturer", "screen_resolution", "installed_app_list", "communication_content"} <= found


def test_a_brand_alias_does_not_land_on_the_brands_sdk_for_another_job() -> None:
    index = sdk_name_index()
    # 魅族 and 荣耀 aliases point at their push SDKs: a game/login SDK of the same brand is not one.
    assert index.match("魅族游戏SDK") is None and index.match("荣耀联运SDK") is None
    meizu_push, honor_push = index.match("魅族推送SDK"), index.match("荣耀推送")
    assert meizu_push is not None and meizu_push.sdk_id == "meizu-push"
    assert honor_push is not None and honor_push.sdk_id == "honor-push"
    # A name that says no function keeps the brand's entry.
    wechat = index.match("微信支付SDK")
    assert wechat is not None and wechat.sdk_id == "tencent-wechat"


def test_the_operator_named_in_a_definition_of_the_service_provider() -> None:
    facts = extract_facts(views("服务提供者:指本鲜果商城的互联网信息服务提供者杭州某果网络技术有限公司。"))
    assert facts.operator_names[:1] == ["杭州某果网络技术有限公司"]


def test_the_operators_customer_service_reached_in_the_app_is_a_contact_channel() -> None:
    facts = extract_facts(views("如您发现账号异常,请您立即在应用内联络本应用客服。"))
    assert [(c.kind, c.value) for c in facts.contacts] == [("web_form", "联络本应用客服")]
    # A third party's service and the staff who check identities are no channel to the operator.
    assert not extract_facts(views("如对第三方服务有疑问,请联系第三方客服。", "客服人员会核验您的身份。")).contacts


def test_the_recipient_written_after_a_postal_address_is_not_part_of_it() -> None:
    facts = extract_facts(views("联系地址:江苏省苏州市某某区某某街18号某某公寓2楼某某网络科技有限公司法务部(收)"))
    assert [c.value for c in facts.contacts if c.kind == "address"] == ["江苏省苏州市某某区某某街18号某某公寓2楼"]


def test_what_an_sdk_is_for_is_not_pi_it_takes() -> None:
    facts = extract_facts(views("我们接入了百度地图SDK,用于为您查找周边学校,会收集您的位置信息。"))
    (baidu,) = facts.sdks
    assert baidu.pi_types == ["location"]
    # A purpose clause that itself collects still gives its PI.
    (amap,) = extract_facts(views("我们接入了高德地图SDK,用于获取您的位置信息。")).sdks
    assert amap.pi_types == ["location"]


def test_sixth_probe_shapes_declare_no_pi() -> None:
    assert "id_card" not in _declared_types("我们不通过本游戏获取或保存您的身份证号码原文。")
    assert not _declared_types("本应用关闭了SDK的IMEI、IMSI、ICCID和应用列表采集。") & {"imei", "imsi", "iccid"}
    assert "password" not in _declared_types("我们不会向统计服务提交您的网盘账号、密码。")
    assert "email_address" not in _declared_types("如有疑问,您可以通过电子邮件联系我们。")
    assert "transaction_record" not in _declared_types("我们会使用您的手机号向您发送业务通知(含账单)。")
    assert not _declared_types("您的信息可能传送至您所在国家、地区以外的服务器,我们会采取保护措施。") & {
        "country_region",
        "home_address",
    }
    assert "work_address" not in _declared_types("争议提交公司所在地有管辖权的法院处理。")
    # The user's own country, given by the user, is still PI.
    assert "country_region" in _declared_types("注册时我们会收集您提供的国家/地区信息。")


def test_an_operator_name_after_a_conjunction_and_customer_service_named_by_an_sdk() -> None:
    facts = extract_facts(views("本应用由我们运营,但深圳市某某互娱科技有限公司负责技术支持。"))
    assert facts.operator_names[:1] == ["深圳市某某互娱科技有限公司"]
    # An SDK's feature list mentions customer service; it is no channel the operator offers.
    assert not extract_facts(views("客服SDK:可用于应用程序内聊天,联系客服。")).contacts


def test_english_sdk_names_by_their_usual_names_and_inside_chinese_sentences() -> None:
    by_id = _sdks_by_id(
        "This app uses AdMob, a third party service, to show ads.",
        "We use Google Analytics for Firebase to understand how the app is used.",
        "本网站使用第三方服务(Google Analytics)进行流量分析。",
        "应用使用Crashlytics用于统计崩溃。",
    )
    assert by_id["google-admob"].name == "AdMob" and by_id["google-admob"].purpose == "show ads"
    # The longest name wins: one entry, not Google Analytics with "Firebase" as its purpose.
    assert by_id["firebase-analytics"].name == "Google Analytics for Firebase"
    assert by_id["google-analytics"].purpose == "流量分析" and by_id["crashlytics"].purpose == "统计崩溃"
    assert not _sdks_by_id("我们不使用Google Analytics等第三方统计服务。")
