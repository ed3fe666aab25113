"""Normalisation, sections and sentences."""

from __future__ import annotations

from appwarden.evidence.policy.load import HEADING_MARK
from appwarden.evidence.policy.normalize import normalize_sentence, normalize_text, to_halfwidth, to_simplified
from appwarden.evidence.policy.segment import MAX_SENTENCE_CHARS, heading_style, segment, split_sentences


def test_traditional_to_simplified_and_fullwidth_to_halfwidth() -> None:
    assert to_simplified("隱私權政策與個人資訊") == "隐私权政策与个人资讯"
    assert to_halfwidth("ＩＭＥＩ１２３，（一）") == "IMEI123,(一)"
    assert normalize_sentence("　ＶＩＶＯ  隱私\u00a0政策 ") == "vivo 隐私 政策"
    assert normalize_text("第一行\u3000\n\n  第二行  ") == "第一行\n\n第二行"


def test_heading_styles() -> None:
    assert heading_style("第一章 总则") == "chapter"
    assert heading_style("第三条 信息收集") == "article"
    assert heading_style("一、我们如何收集信息") == "cn"
    assert heading_style("(二)共享") == "cn_paren"
    assert heading_style("1.1 设备信息") == "num2"
    assert heading_style("1.2.3 传感器") == "num3"
    assert heading_style("2. 注册登录") == "num"
    assert heading_style("(3)客服") == "num_paren"
    # A numbered sentence is body text, not a heading.
    assert heading_style("1. 我们会收集您的手机号码,用于注册账号和登录验证,并在您找回密码时核验您的身份。") is None
    assert heading_style("我们如何收集信息") is None
    assert heading_style("一、我们会收集信息。") is None


def test_sections_nest_by_numbering_style_order() -> None:
    text = "\n".join(
        [
            "一、我们如何收集信息",
            "(一)注册",
            "我们收集手机号码。用于登录!",
            "1. 短信验证",
            "验证码仅用于登录;",
            "(二)定位",
            "我们收集位置信息。",
            "二、如何联系我们",
            "邮箱:a@b.com",
        ]
    )
    seg = segment(text)
    body = [(s.text, s.section_path) for s in seg.segments if not s.is_heading]
    assert ("我们收集手机号码。", ("一、我们如何收集信息", "(一)注册")) in body
    assert ("用于登录!", ("一、我们如何收集信息", "(一)注册")) in body
    assert ("验证码仅用于登录;", ("一、我们如何收集信息", "(一)注册", "1. 短信验证")) in body
    assert ("我们收集位置信息。", ("一、我们如何收集信息", "(二)定位")) in body
    assert ("邮箱:a@b.com", ("二、如何联系我们",)) in body
    assert [o.level for o in seg.outline] == [1, 2, 3, 2, 1]


def test_markup_headings_and_title() -> None:
    text = f"{HEADING_MARK}1示例隐私政策\n更新日期:2024年1月1日\n{HEADING_MARK}2信息收集\n我们收集信息。\n{HEADING_MARK}3设备\n型号。"
    seg = segment(text)
    assert seg.title == "示例隐私政策"
    body = {s.text: s.section_path for s in seg.segments if not s.is_heading}
    assert body["更新日期:2024年1月1日"] == ()
    assert body["型号。"] == ("信息收集", "设备")


def test_long_runs_are_cut_and_table_rows_stay_whole() -> None:
    long = "我们收集信息," * 200
    parts = split_sentences(long)
    assert all(len(p) <= MAX_SENTENCE_CHARS for p in parts)
    assert "".join(parts) == long
    seg = segment("SDK名称 | 公司 | 目的\n友盟 | 友盟同欣 | 统计。分析")
    rows = [s for s in seg.segments if s.in_table]
    assert [r.text for r in rows] == ["SDK名称 | 公司 | 目的", "友盟 | 友盟同欣 | 统计。分析"]


def test_a_table_of_contents_opens_no_sections_and_names_the_real_chapter_headings() -> None:
    text = "\n".join(
        [
            "本政策将帮助您了解以下内容:",
            "1. 我们如何收集和使用个人信息",
            "2. 我们如何共享个人信息",
            "3. 联系我们",
            "1 我们如何收集和使用个人信息",  # the chapter's own heading, numbered without the dot
            "1.1 账号服务",
            "注册时我们会收集您的手机号码。",
            "2 我们如何共享个人信息",
            "未经您同意我们不会共享您的个人信息。",
            "3 联系我们",
            "邮箱:privacy@example.com。",
        ]
    )
    seg = segment(text)
    assert [o.path for o in seg.outline] == [
        ("1 我们如何收集和使用个人信息",),
        ("1 我们如何收集和使用个人信息", "1.1 账号服务"),
        ("2 我们如何共享个人信息",),
        ("3 联系我们",),
    ]
    by_text = {s.text: s for s in seg.segments}
    assert by_text["未经您同意我们不会共享您的个人信息。"].section_path == ("2 我们如何共享个人信息",)
    # The contents lines stay in the document, as headings that open nothing.
    assert by_text["2. 我们如何共享个人信息"].is_heading and by_text["2. 我们如何共享个人信息"].section_path == ()


def test_contents_followed_at_once_by_the_first_chapter_and_its_first_sub_heading() -> None:
    text = "\n".join(
        [
            "一、收集信息",
            "二、共享信息",
            "三、联系我们",
            "一、收集信息",
            "(一)注册",
            "我们收集手机号码。",
            "二、共享信息",
            "正文。",
            "三、联系我们",
            "邮箱:privacy@example.com。",
        ]
    )
    paths = [o.path for o in segment(text).outline]
    assert paths == [("一、收集信息",), ("一、收集信息", "(一)注册"), ("二、共享信息",), ("三、联系我们",)]


def test_a_higher_numbering_style_closes_lower_ones_opened_before_it() -> None:
    # Items "1、" before the first "一、" chapter: the chapter is not a child of the last item.
    text = "\n".join(
        ["1、昵称", "用于展示。", "2、相册", "用于上传头像。", "一、我们如何收集信息", "正文。", "(一)注册", "正文。"]
    )
    paths = [o.path for o in segment(text).outline]
    assert paths[-2:] == [("一、我们如何收集信息",), ("一、我们如何收集信息", "(一)注册")]


def test_sentence_ends_inside_brackets_do_not_split_and_unclosed_brackets_do_not_swallow_the_line() -> None:
    assert split_sentences("我们收集设备信息【用于广告投放。用于反作弊。】、应用信息。第二句。") == [
        "我们收集设备信息【用于广告投放。用于反作弊。】、应用信息。",
        "第二句。",
    ]
    unclosed = "说明(" + "很长的说明文字。" * 40 + "结尾。"
    assert len(split_sentences(unclosed)) > 10


def test_list_items_with_a_description_are_not_headings() -> None:
    assert heading_style("1. 设备适配: 确保应用在不同设备上正常运行和显示") is None
    assert heading_style("第一条: 总则") == "article"
    assert heading_style("一、我们如何收集信息:") == "cn"
    # A numbered record's first field, however short its value: its PI must be read as body text.
    assert heading_style("1、收集内容:个性签名") is None
    assert heading_style("3. SDK名称: 友盟") is None
    assert heading_style("2、信息安全:") == heading_style("2、我们如何保护您的信息") == "num"


def test_an_announced_contents_list_opens_no_sections_even_when_worded_differently() -> None:
    text = "\n".join(
        [
            "本政策将帮助您了解以下内容:",
            "一、我们如何收集和使用您的个人信息",
            "二、我们如何共享您的个人信息",
            "三、如何联系我们",
            "1. 引言",
            "本政策适用于本应用。",
            "2. 信息收集与使用",
            "我们会收集您的手机号码。",
        ]
    )
    assert [o.path for o in segment(text).outline] == [("1. 引言",), ("2. 信息收集与使用",)]


def test_english_sentences_end_at_a_full_stop_but_not_after_abbreviations_or_list_numbers() -> None:
    assert split_sentences(
        "We collect your device ID. We share it with Acme Co. Ltd. for analytics, e.g. Firebase. "
        "Contact us at privacy@example.com. 1. First item"
    ) == [
        "We collect your device ID.",
        "We share it with Acme Co. Ltd. for analytics, e.g. Firebase.",
        "Contact us at privacy@example.com.",
        "1. First item",
    ]
    # Version numbers and decimals are not sentence ends.
    assert split_sentences("Version 2.0 is out. It needs 1.5 MB.") == ["Version 2.0 is out.", "It needs 1.5 MB."]


def test_a_bold_caption_is_not_the_parent_of_the_numbered_chapters_after_it() -> None:
    text = "\n".join(
        [
            "本政策是我们的承诺。",
            f"{HEADING_MARK}7共享个人信息字段定义",
            "字段说明。",
            "一、我们如何收集信息",
            "正文。",
            f"{HEADING_MARK}7小节标题",
            "正文。",
            "二、我们如何共享信息",
        ]
    )
    paths = [o.path for o in segment(text).outline]
    assert paths == [
        ("共享个人信息字段定义",),
        ("一、我们如何收集信息",),
        ("一、我们如何收集信息", "小节标题"),
        ("二、我们如何共享信息",),
    ]


def test_a_numbered_line_introducing_a_list_is_not_a_heading() -> None:
    assert heading_style("3. 在以下情形中,您可以提出请求:") is None
    assert heading_style("2. 我们可能共享的信息包括:") is None
    assert heading_style("一、我们如何收集信息:") == "cn"
    # A numbered record's first field, however short its value: its PI must be read as body text.
    assert heading_style("1、收集内容:个性签名") is None
    assert heading_style("3. SDK名称: 友盟") is None
    assert heading_style("2、信息安全:") == heading_style("2、我们如何保护您的信息") == "num"
    # Sub-items numbered "1)" stay inside their "1." chapter.
    seg = segment(
        "\n".join([f"{HEADING_MARK}31. 我们收集的信息", "1) 账户信息", "手机号码。", f"{HEADING_MARK}32. 我们如何使用"])
    )
    assert [o.path for o in seg.outline] == [("1. 我们收集的信息",), ("2. 我们如何使用",)]


def test_a_contents_list_of_plain_lines_under_its_caption_and_a_second_one_in_the_preamble() -> None:
    text = "\n".join(
        [
            "目录",
            "概述",
            "我们如何收集信息",
            "我们如何对外提供信息",
            "本版发布日期:2019年03月14日",
            f"{HEADING_MARK}2概述",
            "我们深知个人信息的重要性。",
            "您可以根据以下索引阅读相应章节:",
            "一、我们如何收集信息",
            "二、我们如何对外提供信息",
            "三、概述",
            "我们是本政策的运营者。",
            f"{HEADING_MARK}2我们如何收集信息",
            "我们会收集您的手机号码。",
            f"{HEADING_MARK}2我们如何对外提供信息",
            "我们不会出售您的信息。",
        ]
    )
    paths = [o.path for o in segment(text).outline]
    assert paths == [("概述",), ("我们如何收集信息",), ("我们如何对外提供信息",)]


def test_short_data_items_under_an_announcing_line_are_not_a_contents_list() -> None:
    text = "\n".join(["我们会收集以下内容:", "手机号码", "设备型号", "位置信息", "用于提供服务。"])
    seg = segment(text)
    assert seg.outline == [] and not any(s.is_heading for s in seg.segments if s.text == "手机号码")


def test_numbered_items_of_an_announced_list_are_body_text_not_headings() -> None:
    seg = segment(
        "\n".join(
            [
                "某某App隐私政策",
                "一、我们收集的信息",
                "本政策涉及的个人信息包括:",
                "1. 账号密码信息",
                "2. 网络身份标识信息(包括IP地址、邮箱地址);通讯录",
                "3. 个人上网记录",
                "我们会在您使用相应功能时收集上述信息。",
                "二、我们如何使用信息",
                "1. 提供服务",
                "我们使用信息提供服务。",
            ]
        )
    )
    headings = [s.text for s in seg.segments if s.is_heading]
    assert headings == ["某某App隐私政策", "一、我们收集的信息", "二、我们如何使用信息", "1. 提供服务"]
    items = [s for s in seg.segments if "通讯录" in s.text or "账号密码" in s.text]
    assert items and all(not s.is_heading and s.section_path == ("一、我们收集的信息",) for s in items)


def test_sections_announced_by_a_colon_line_stay_headings() -> None:
    seg = segment(
        "\n".join(
            [
                "某某App隐私政策",
                "我们将按照如下方式收集和使用您的信息:",
                "(一)注册登录",
                "注册时我们会收集您的手机号码。",
                "(二)支付",
                "支付时我们会收集订单信息。",
            ]
        )
    )
    assert [s.text for s in seg.segments if s.is_heading] == ["某某App隐私政策", "(一)注册登录", "(二)支付"]


def test_a_web_address_ends_no_sentence() -> None:
    assert split_sentences("See https://support.google.com/admob/answer/9755590?hl=en for details. Then more.") == [
        "See https://support.google.com/admob/answer/9755590?hl=en for details.",
        "Then more.",
    ]
    # Outside an address the same marks still end sentences, also in half-width Chinese text.
    assert split_sentences("您同意吗?详见https://example.com/p?a=1;b=2。我们会收集信息;也会共享。") == [
        "您同意吗?",
        "详见https://example.com/p?a=1;b=2。",
        "我们会收集信息;",
        "也会共享。",
    ]


def test_english_lists_separated_by_semicolons_stay_one_sentence() -> None:
    assert split_sentences(
        "We collect: your name; your email address; your phone number; your device model; and your location. "
        "We use it to run the service."
    ) == [
        "We collect: your name; your email address; your phone number; your device model; and your location.",
        "We use it to run the service.",
    ]
    # Two full clauses still part at the ";", and Chinese lists part at "；" as before.
    assert (
        len(
            split_sentences(
                "We share your data with partners to provide the services you asked for; we also share it with "
                "authorities when the law requires it."
            )
        )
        == 2
    )
    assert split_sentences("设备信息；位置信息；我们会保护。") == ["设备信息；", "位置信息；", "我们会保护。"]
