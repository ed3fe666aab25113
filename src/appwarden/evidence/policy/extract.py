"""Facts a lab reads out of a policy: PI types, SDKs and third parties, operator, contacts, dates.

Every fact keeps the index of the sentence it was read from, so a finding can
quote it. Extraction works on the segmented, normalised text (half-width
punctuation, Simplified characters).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from appwarden.evidence.policy.english import PURPOSE_PATTERN, is_english
from appwarden.evidence.policy.lexicon import SdkNameIndex, english_sdk_mentions, pi_lexicon, sdk_name_index
from appwarden.evidence.policy.model import (
    ContactChannel,
    DeclaredSdk,
    PiMention,
    PolicyDate,
    PolicyFacts,
)
from appwarden.evidence.policy.normalize import normalize_sentence


@dataclass(frozen=True)
class SentenceView:
    """What the extractors need of a sentence."""

    index: int
    text: str
    labels: frozenset[str]
    is_heading: bool
    in_table: bool
    section_path: tuple[str, ...]


# --------------------------------------------------------------------------- PI types


#: Lexicon terms too broad to read as a PI declaration on their own ("公司" is an employer only in a
#: sentence about the user's work, not in "本公司").
_BROAD_TERMS = frozenset({"公司", "工作", "单位", "地区", "电话", "邮箱", "地址"})
#: Sentences about the operator, its contacts and the policy's dates name no PI of the user.
_NO_PI_LABELS = frozenset({"CR1", "CR3", "CR4"})
#: Phrases where a PI term names something else: the channel a notice goes out by ("通过推送通知、短信等方式
#: 告知您", "以邮件形式通知"), or the guardian whose consent is asked ("在父母或监护人的同意下"). A term inside
#: one is not a declaration that the app collects that PI.
_NOT_DECLARING = (
    re.compile(
        r"(通过|以|采取|采用|经由|借助)[^，。；,;]{0,30}?(方式|形式|途径|渠道)[^，。；,;]{0,6}?"
        r"(通知|告知|提醒|发送|推送|公告|联系)"
    ),
    re.compile(r"(父母|家长|监护人)[^，。；,;]{0,12}?(同意|授权|陪同|指导|监护|阅读|许可|允许)"),
    # What the operator says it does not do: "我们不会调用您的通讯录", "不会与其共享您的个人身份信息".
    re.compile(
        r"(?:(?:不会|绝不|并不|从不|不得|无需)(?:主动|会|再|因此而?|向[^，。；,;]{0,10}?|与[^，。；,;]{0,10}?|将[^，。；,;]{0,16}?)?"
        r"(?:调用|收集|获取|读取|访问|申请|上传|提交|存储|保存|共享|分享|出售|结合|关联)[^，。；,;]{0,30}"
        r"|不(?:主动|再|通过[^，。；,;]{0,10}?|向[^，。；,;]{0,10}?|与[^，。；,;]{0,10}?)?"
        r"(?:调用|收集|获取|读取|访问|申请|上传|提交|存储|保存|共享|分享|出售)[^，。；,;]{0,30}"
        # "本应用关闭了SDK的IMEI、IMSI和应用列表采集": collection switched off.
        r"|关闭了?[^，。；,;]{0,40}?(?:采集|收集|获取|读取))"
        # ...and the list it goes on to give: "不会主动收集您的任何个人信息, 包括但不限于姓名、地理位置".
        r"(?:[，,]\s*(?:包括但不限于|包括|例如|比如|如|即)[^。；;]*)?"
    ),
    # The definition of (sensitive) PI, not what this app collects: "敏感个人信息是一旦泄露…, 包括宗教信仰…".
    re.compile(
        r"(?:个人敏感信息|敏感个人信息|个人信息)[^，。；,;]{0,6}?(?:是指|系指|指的是|是一旦|一旦泄露|[:：]\s*指)[^。；;]*"
    ),
    re.compile(r"(?:被认为是|被视为|视为|可能属于)(?:个人)?敏感(?:个人)?信息[^。；;]*"),
    # Messages the operator or its providers send: "代表我们发出电子邮件或推送通知的服务商".
    re.compile(r"(?:发出|发送|寄送|推送)(?:的)?(?:电子邮件|邮件|短信|通知)|(?:发送|推送|寄送)[^，。；,;]{0,10}?账单"),
    # How to reach the operator: "通过电子邮件联系我们".
    re.compile(r"通过(?:电子邮件|邮件|电话|短信|邮寄)[^，。；,;]{0,8}?(?:联系|与我们|反馈|投诉)"),
    # Where data goes or which court decides, not the user's country or work address.
    re.compile(
        r"(?:传送|传输|转移|存储)[^，。；,;]{0,12}?(?:国家|地区)|(?:其他|其它|境外|以外的)国家"
        r"|(?:公司)?所在地[^，。；,;]{0,8}?(?:法律|法规|管辖|法院|监管)"
    ),
    # The operator's contact details, not the user's: "通过本政策中提供的联系方式与我们联系".
    re.compile(
        r"(?:我们的|以下|如下|下列|提供的|公布的|公示的|页面的|政策[^，。；,;]{0,8}?)(?:联系方式|联系地址|通讯地址)"
        r"|联系方式[^，。；,;]{0,4}?(?:投诉|反馈|举报|联系我们|与我们联系|提出)"
    ),
    # Security measures: "使用密码对个人信息进行保护", "密码技术" - cryptography, not the user's password.
    re.compile(r"密码(?:技术|学|算法|机制)|使用密码[^，。；,;]{0,12}?(?:保护|加密)|(?:加密|安全)[^，。；,;]{0,8}?密码"),
    # Advice to the user about their own credentials and channels: "请妥善保管您的账号、密码", "请使用复杂密码",
    # "定期修改密码", "账户或密码发生泄露", "使用电子邮件、即时通讯、社交软件等与他人交流时".
    re.compile(
        r"(?:妥善保管|保管好|保管|复杂|定期(?:修改|更换)|不要?将|切勿|请勿)[^，。；,;]{0,12}?密码"
        r"|密码[^，。；,;]{0,12}?(?:泄露|丢失|被盗|告知他人|随意告知)"
        r"|电子邮件、即时通讯|电子邮件中的"
    ),
    # Business words that contain a PI word: 手机厂商 (SDKs of phone makers), 厂商标识 (IDFV), 收藏品 (a goods
    # category), a text message as a channel (短信发送/提示/退订/通知), the user's calls with customer service.
    re.compile(
        r"手机厂商|厂商(?:标识|sdk|推送|通道)|收藏品"
        r"|短信(?:发送|提示|退订|通知|方式)|与(?:我们|客服)[^，。；,;]{0,8}?(?:通信|通话)记录"
    ),
    # Recommendations "you may be interested in" and UI positions are not the user's interests or location.
    re.compile(
        r"(?:可能|更|会)?感兴趣的(?:内容|信息|商品|课程|服务|广告|产品|视频|文章)"
        r"|(?:位置|语言)设定|适当的?位置|显著(?:的)?位置|位置(?:发布|公布|展示)"
    ),
    # "非个人身份信息": information that is not PI.
    re.compile(r"非个人[^，。；,;]{0,6}?信息"),
    # Words that contain a PI term without meaning it: 个性化 (personalised), 国家安全, 实名制, 所在地法律, 仲裁语言.
    re.compile(
        r"个性化|国家(?:安全|信息安全|标准|法律|机关|有关|相关|规定|网信|政策|利益|秘密|主管|监管|部门|法规)|实名制"
        r"|(?:仲裁|合同|政策|协议)[^，。；,;]{0,4}?语言|版本[^、，。；,;]{0,4}?语言|语言版本"
        # A PI word across a word boundary: 维护|照片 is no passport (护照), 保护|照片 neither.
        r"|[维保防爱守]护照"
    ),
)


#: Disclosure types of sentences about what is collected, used or shared.
_COLLECTION_LABELS = frozenset({"CR11", "CR12", "CR13", "CR16", "CR18", "CR19", "CR20", "CR21", "CR22", "CR23"})
#: Words that say something is done with information (or a "类型: …" field that lists it).
_HANDLING = re.compile(
    r"[:：]|收集|获取|采集|读取|调用|使用|访问|申请|提供|共享|分享|上传|存储|保存|处理|记录|识别|开启|授权|填写|绑定|查询|"
    r"了解|获得|接收|查看|提交|需要|包括|包含|例如|比如"
)


#: A heading over what the app does not collect: "我们不收集", "我们不会收集的信息", "不获取的权限".
_NOT_COLLECTED_HEADING = re.compile(
    r"(?:不|不会|绝不|从不|无需)(?:主动)?(?:收集|获取|采集|索取|读取|调用)|do not collect", re.I
)


def extract_pi(sentences: Sequence[SentenceView]) -> list[PiMention]:
    """PI types the policy names, with the sentences naming them (headings and contact lines excluded)."""
    lex = pi_lexicon()
    found: dict[str, tuple[str, list[int]]] = {}
    for s in sentences:
        if s.is_heading or (s.labels and s.labels <= _NO_PI_LABELS):
            continue
        if s.section_path and _NOT_COLLECTED_HEADING.search(s.section_path[-1]):
            continue  # the items under "1.3 我们不收集的信息" are what the app does not collect
        if not (s.in_table or s.text.isascii() or s.labels & _COLLECTION_LABELS or _HANDLING.search(s.text)):
            # "我们非常重视对未成年人个人信息的保护", "请妥善保管您的用户名及密码": a PI word in a sentence that
            # neither is about collection or sharing nor says anything is done with the information.
            continue
        excluded = _not_declaring_spans(s.text)
        for pi_type, term, start in lex.find(s.text):
            if term in _BROAD_TERMS or any(a <= start < b for a, b in excluded):
                continue
            _, where = found.setdefault(pi_type, (term, []))
            if not where or where[-1] != s.index:
                where.append(s.index)
    return [
        PiMention(pi_type=t, term=term, sensitive=lex.types[t].sensitive, sentences=where[:20])
        for t, (term, where) in sorted(found.items())
    ]


def _not_declaring_spans(text: str) -> list[tuple[int, int]]:
    # lex.find reports offsets in the normalised sentence, so the spans are taken there too.
    norm = normalize_sentence(text)
    return [m.span() for rx in _NOT_DECLARING for m in rx.finditer(norm)]


# --------------------------------------------------------------------------- SDKs

_COL_NAME = re.compile(r"sdk\s*名称|第三方\s*(sdk|名称)|合作方名称|插件名称|sdk|名称|产品", re.I)
_COL_VENDOR = re.compile(
    r"公司|主体|提供方|提供者|运营方|运营者|开发者|开发商|厂商|供应商|所属|第三方名称|合作方", re.I
)
_COL_PURPOSE = re.compile(r"目的|用途|功能|场景|使用原因|业务", re.I)
_COL_PI = re.compile(
    r"个人信息|信息类型|收集.*信息|(?:共享|提供|传输|披露)的?信息|信息内容|字段|数据类型|权限|收集范围|涉及", re.I
)
_CELL_SPLIT = re.compile(r"\s*\|\s*")
#: "key: value"; a numbered key may be longer by its number ("(15)bilibili联运SDK: 用于…").
_KV = re.compile(
    r"^\s*[-•·*]?\s*((?:[(（]\s*\d{1,3}\s*[)）]|\d{1,3}(?:\.\d{1,3})*[.、)）]?)?\s*[^:：]{2,16})\s*[:：]\s*(.+)$"
)
_SDK_IN_TEXT = re.compile(r"([A-Za-z][\w.+\- ]{1,30}?|[\u4e00-\u9fff][\u4e00-\u9fffA-Za-z0-9+·\-]{1,20}?)\s?SDK", re.I)
_LEADING_NOISE = re.compile(
    r"^(我们|使用|接入|集成|嵌入|了|的|在|通过|为|与|和|及|以及|并且|并|还|同时|另外|包括|如|例如|等|由)+"
)
#: What may stand between SDK names listed together: "微信SDK和QQ SDK", "A SDK、B SDK及C SDK".
_JOINED = re.compile(r"\s*(?:和|与|及|以及|、|,|，|或)?\s*")


def _columns(header: list[str]) -> dict[str, int]:
    cols: dict[str, int] = {}
    for i, cell in enumerate(header):
        c = cell.lower()
        if "name" not in cols and _COL_NAME.search(c) and not _COL_PURPOSE.search(c) and not _COL_PI.search(c):
            cols["name"] = i
        elif "vendor" not in cols and _COL_VENDOR.search(c):
            cols["vendor"] = i
        elif "purpose" not in cols and _COL_PURPOSE.search(c):
            cols["purpose"] = i
        elif "pi" not in cols and _COL_PI.search(c):
            cols["pi"] = i
    return cols


def _is_header_row(cells: list[str]) -> bool:
    """A row of column titles: every cell a short title and no cell a known SDK.

    Two tables back to back read as one run of rows; the second one's header must not become an entry.
    """
    filled = [c for c in cells if c]
    if len(filled) < 2 or any(len(c) > 16 for c in filled):
        return False
    cols = _columns(cells)
    return "name" in cols and len(cols) == len(filled) and not any(sdk_name_index().match(c) for c in filled)


def _pi_types_of(text: str | None) -> list[str]:
    if not text:
        return []
    # The broad terms ("公司" in every company name) are not PI here either.
    return sorted({t for t, term, _ in pi_lexicon().find(text) if term not in _BROAD_TERMS})


def _declared(
    name: str,
    *,
    vendor: str | None,
    purpose: str | None,
    pi_text: str | None,
    sentence: int,
    source: Literal["table", "list", "sentence"],
) -> DeclaredSdk | None:
    name = name.strip(" |:：-•·*\"“”'")
    if not name or len(name) > 60 or not any(ch.isalnum() for ch in name):
        return None
    index = sdk_name_index()
    hit = index.match(name)
    if vendor is None:
        vendor = index.vendor_in(name) or (hit.vendor if hit else None)
    return DeclaredSdk(
        name=name,
        sdk_id=hit.sdk_id if hit else None,
        vendor=vendor.strip() if vendor else None,
        purpose=purpose.strip() if purpose else None,
        pi_text=pi_text.strip() if pi_text else None,
        pi_types=_pi_types_of(pi_text),
        sentence=sentence,
        source=source,
    )


def _cell(cells: list[str], cols: dict[str, int], key: str) -> str | None:
    i = cols.get(key)
    return cells[i] if i is not None and i < len(cells) and cells[i] else None


def _from_tables(sentences: Sequence[SentenceView]) -> list[DeclaredSdk]:
    out: list[DeclaredSdk] = []
    cols: dict[str, int] | None = None
    previous_table = False
    for s in sentences:
        if not s.in_table:
            previous_table = False
            cols = None
            continue
        cells = [c.strip() for c in _CELL_SPLIT.split(s.text)]
        if not previous_table or cols is None or "name" not in cols or _is_header_row(cells):
            candidate = _columns(cells)
            previous_table = True
            if "name" in candidate and len(candidate) >= 2:
                cols = candidate
                continue
            cols = None
            continue

        name = _cell(cells, cols, "name")
        if name:
            purpose, pi_text = _cell(cells, cols, "purpose"), _cell(cells, cols, "pi")
            # A cell holding labelled parts ("收集个人信息类型: …；使用目的: …") says which part is which.
            for cell in cells:
                for part in re.split(r"[;；]", cell):
                    field = _KV.match(part)
                    if field is None or len(field.group(1)) > 10:
                        continue
                    if _PURPOSE_KEY.search(field.group(1)):
                        if not purpose or purpose == cell:
                            purpose = field.group(2).strip()
                    elif _PI_KEY.search(field.group(1)) and (not pi_text or pi_text == cell):
                        pi_text = field.group(2).strip()
            d = _declared(
                name,
                vendor=_cell(cells, cols, "vendor"),
                purpose=purpose,
                pi_text=pi_text,
                sentence=s.index,
                source="table",
            )
            if d:
                out.append(d)
    return out


#: Numbering in front of a list entry: "(1)", "1.2.3", "①", "一、", "3、".
_ENTRY_NUMBER = re.compile(
    r"^\s*(?:[(（]\s*(?:\d{1,3}|[一二三四五六七八九十]{1,3})\s*[)）]|\d{1,3}(?:\.\d{1,3})*[.、)）]?"
    r"|[\u2460-\u2473\u2776-\u277f]|[一二三四五六七八九十]{1,3}[、.])\s*"
)
#: A key that labels the name field ("SDK名称", "第三方SDK", "插件名称") rather than being a name itself.
_NAME_LABEL = re.compile(
    r"^(?:使用|接入|集成|涉及|嵌入|调用)?的?\s*(?:第三方|合作方|三方)?\s*(?:sdk|插件|服务|产品|合作方|第三方)?\s*(?:名称|name)?$",
    re.I,
)
_NAME_KEY = re.compile(r"sdk|插件|第三方名称|合作方名称", re.I)
#: Field labels, never a party's name, even with "SDK" in them ("SDK厂家", "SDK描述", "SDK版本").
_NOT_NAME_KEY = re.compile(
    r"目的|信息|公司|主体|政策|链接|官网|网址|用途|功能|场景|类型|方式|权限|版本|厂家|厂商|描述|说明|简介|介绍|作用|"
    r"开发者|开发商|提供方|提供者|运营方|运营者"
)
_PURPOSE_KEY = re.compile(r"目的|用途|功能|场景|描述|说明|简介|介绍|作用|服务类型|服务内容")
_PI_KEY = re.compile(
    r"个人信息|信息类型|收集.*信息|(?:共享|提供|传输|披露|处理|获取|使用|涉及|所涉)的?信息|字段|权限|收集范围|收集方式|数据"
)
_VENDOR_KEY = re.compile(r"公司|主体|提供方|提供者|运营方|运营者|开发者|开发商|厂商|厂家|第三方名称|合作方名称")
#: "第三方名称: 某某有限公司" under an entry already named: the company behind it, not another party.
_COMPANY_VALUE = re.compile(r"(?:公司|集团|研究院|研究所|中心|inc\.?|ltd\.?|llc|gmbh|corporation)$", re.I)
#: Per-platform PI lines under an entry ("android版本: 设备信息(...)").
_PLATFORM_KEY = re.compile(r"^(?:android|安卓|ios|苹果|鸿蒙|harmonyos)\s*(?:版本|端|系统)?$", re.I)
_VENDOR_IN_VALUE = re.compile(r"由\s*[“\"「]?([^“”\"「」,，。;；]{2,40}?(?:公司)?)[”\"」]?\s*(?:提供|开发|运营)")
_PURPOSE_IN_VALUE = re.compile(
    r"(?:用于|以便|为了|目的[为是:：]?|为(?=[^,，。;；]{0,6}(?:用户|您|app|应用)))[“\"]?([^。;；”\"]{2,80})", re.I
)
#: Where an entry's description states its PI: "所分享的信息可能有…", "需要收集的个人信息包括: …".
_PI_LEAD = re.compile(
    r"(?:^|[,，;；])\s*(?:其|该sdk|我们)?\s*(?:所|需要|可能|会)?(?:分享|共享|收集|获取|使用|提供|处理)(?:或使用|和使用|或共享)?的?"
    r"[^。:：,，]{0,16}?(?:可能有|可能包括|包括|包含|如下|为|有)\s*[:：]?\s*(.{2,})$",
    re.I,
)
#: A purpose clause ends where the PI part of the description starts.
_PURPOSE_END = re.compile(r"[,，]\s*(?=所?(?:分享|共享|收集|获取|需要收集)|其?(?:收集|获取)的)")
_NAME_LINE_MAX = 40
#: A caption over a list ("我们接入的第三方SDK", "第三方SDK目录"), not one party's name.
_LIST_CAPTION = re.compile(
    r"我们|接入的|集成的|使用的|以下|如下|下列|列表|清单|目录|情况|说明|一览|路径|操作|入口|页面|步骤|方式|流程|设置"
)
#: A path through an app's screens ("我的 → 设置 → 隐私", "我的-设置-账号与安全").
_UI_PATH = re.compile(r"[→>»]|(?:我的|设置|首页)\s*[-—–]\s*[\u4e00-\u9fff]")
#: A field label with its value on the lines below ("收集的个人信息:").
_EMPTY_FIELD = re.compile(r"^\s*[-•·*]?\s*([^:：]{2,16})\s*[:：]\s*$")
#: Keys that start another field of the entry, ending a run of PI item lines.
_FIELD_KEY = re.compile(r"名称|目的|用途|功能|场景|提供方|运营方|主体|公司|开发者|政策|链接|官网|网址|sdk", re.I)
#: A value that describes the key as a third-party component: "该SDK由…提供", "本插件用于…".
_DESCRIBES_SDK = re.compile(r"^(?:该|本|此)\s*(?:sdk|插件|组件|服务)|^由[^,，。]{2,40}(?:提供|开发)", re.I)


#: A numbered entry naming its party in quotes, described after a comma: "1.2.12 “TBS” 腾讯浏览服务, 由…提供".
_QUOTED_ENTRY = re.compile(
    r"^\s*(?:[(（]\s*\d{1,3}\s*[)）]|\d{1,3}(?:\.\d{1,3})*[.、)）]?)\s*[“\"「]([^”\"」]{2,30})[”\"」]"
    r"[^,，。;；:：]{0,20}[,，]\s*(.+)$"
)


def _entry_name(text: str) -> str:
    return _ENTRY_NUMBER.sub("", text).strip(' *"“”「」『』【】[]《》:：')


def _names_sdk(name: str) -> bool:
    """A short line or key that is a third party's name: says SDK/插件, or is one the catalog knows."""
    if not name or len(name) > _NAME_LINE_MAX or re.search(r"[,，。;；!?！？]", name):
        return False
    if _NAME_LABEL.match(name.lower()) or _LIST_CAPTION.search(name):
        return False
    return bool(re.search(r"sdk|插件", name, re.I)) or sdk_name_index().match(name) is not None


def third_party_record_sentences(sentences: Sequence[SentenceView]) -> set[int]:
    """Sentences that are a third-party list's own lines (name, vendor, purpose, PI fields): what they say
    ("提供方: 某某有限公司", "隐私政策链接: https://…") is about that party, not the operator."""
    out: set[int] = set()
    _from_key_values(sentences, out)
    return out


def _from_key_values(sentences: Sequence[SentenceView], record_sentences: set[int] | None = None) -> list[DeclaredSdk]:
    """Lists with one entry per third party, in the shapes policies write them:

    - "SDK名称: X / 使用目的: Y / 收集个人信息类型: Z / 第三方主体: W" (the name under a label);
    - a name line ("OPPO推送SDK", often a heading) followed by "运营方: / 功能: / 收集个人信息类型:" lines;
    - "(1) X SDK: 用于Y;" with the PI in the next sentence ("所分享的信息可能有...");
    - "1.2.1 “X”: 该SDK由“W公司”提供, 用于Y。" with "android版本: ..." PI lines after it.

    ``record_sentences``, when given, receives the sentences that are the entries' own lines (name and fields).
    """
    out: list[DeclaredSdk] = []
    current: dict[str, str] = {}
    start = 0
    pending_name: tuple[str, int] | None = None
    members: list[int] = []

    def close() -> None:
        if "name" in current:
            d = _declared(
                current["name"],
                vendor=current.get("vendor"),
                purpose=current.get("purpose"),
                pi_text=current.get("pi"),
                sentence=start,
                source="list",
            )
            if d:
                out.append(d)
                if record_sentences is not None:
                    record_sentences.update(members)
        current.clear()
        members.clear()

    def open_entry(name: str, index: int) -> None:
        nonlocal start
        close()
        current["name"] = name
        start = index
        members.append(index)

    def describe(value: str) -> None:
        """Vendor, purpose and PI from an entry's free-text description."""
        vm = _VENDOR_IN_VALUE.search(value)
        if vm and "vendor" not in current:
            current["vendor"] = vm.group(1)
        pm = _PURPOSE_IN_VALUE.search(value)
        if pm and "purpose" not in current:
            current["purpose"] = _PURPOSE_END.split(pm.group(1).strip(), maxsplit=1)[0]
        lead = _PI_LEAD.search(value)
        if lead:
            # Stated as the entry's PI, so kept even when no lexicon term is in it ("WLAN热点的信息").
            pi = lead.group(1).strip()
            current["pi"] = f"{current['pi']}；{pi}" if "pi" in current else pi

    awaiting_pi = False  # after "收集的个人信息:" with the items on the lines below it
    pi_continues = False  # after a PI field cut at ";" (its next piece is one more item)
    for s in sentences:
        if pi_continues and current and not s.is_heading and not s.in_table and not _KV.match(s.text):
            item = s.text.strip(" -•·*;；")
            if item and not _names_sdk(_entry_name(s.text)):
                current["pi"] = f"{current['pi']}；{item}" if "pi" in current else item
                pi_continues = s.text.rstrip().endswith((";", "；"))
                members.append(s.index)
                continue
        pi_continues = False
        if s.in_table:
            pending_name = None
            awaiting_pi = False
            continue
        m = _KV.match(s.text) if not s.is_heading else None
        quoted = _QUOTED_ENTRY.match(s.text) if not m and not s.is_heading else None
        if quoted and not (_DESCRIBES_SDK.match(quoted.group(2)) or _VENDOR_IN_VALUE.search(quoted.group(2))):
            quoted = None
        if current and not s.is_heading:
            empty = _EMPTY_FIELD.match(s.text)
            if empty and _PI_KEY.search(empty.group(1)):
                awaiting_pi = True
                continue
            # The next entry ("1.2.2 “X”: 该SDK由…", "(2) Y SDK: 用于…", a name line) ends the PI items.
            if m is not None:
                starts_entry = bool(_DESCRIBES_SDK.match(m.group(2).strip()) or _names_sdk(_entry_name(m.group(1))))
            else:
                starts_entry = quoted is not None or _names_sdk(_entry_name(s.text))
            if awaiting_pi and not starts_entry and not (m and _FIELD_KEY.search(_entry_name(m.group(1)))):
                item = s.text.strip(" -•·*;；")
                current["pi"] = f"{current['pi']}；{item}" if "pi" in current else item
                members.append(s.index)
                continue
        awaiting_pi = False
        if quoted:
            # "1.2.12 “TBS” 腾讯浏览服务, 由腾讯科技(深圳)有限公司提供, 用于…": a numbered entry without a colon.
            open_entry(quoted.group(1).strip(), s.index)
            describe(quoted.group(2))
            pending_name = None
            continue
        if not m:
            name = _entry_name(s.text)
            labelled = _KV.match(name)
            if labelled and _NAME_KEY.search(labelled.group(1)) and _NAME_LABEL.match(labelled.group(1).lower()):
                name = labelled.group(2).strip()  # a heading "⑨ SDK名称: X"
            if _names_sdk(name):
                # A name line: an entry if field lines follow it.
                close()
                pending_name = (name, s.index)
            elif current and not s.is_heading:
                describe(s.text)
            elif s.is_heading:
                close()
                pending_name = None
            continue
        raw_key, value = m.group(1), m.group(2).strip().rstrip(";；。")
        key = _entry_name(raw_key).lower()
        numbered = _ENTRY_NUMBER.match(raw_key) is not None
        names_company = _COMPANY_VALUE.search(value) is not None and re.search(r"第三方名称|合作方名称", key)
        if names_company and (pending_name is not None or (current and "vendor" not in current)):
            # "第三方名称: 微软(中国)有限公司" below "SDK名称: X" (or a heading naming X) is X's vendor.
            if not current and pending_name is not None:
                open_entry(*pending_name)
            pending_name = None
            current["vendor"] = value
            members.append(s.index)
        elif _NAME_KEY.search(key) and not _NOT_NAME_KEY.search(key) and _NAME_LABEL.match(key):
            open_entry(value, s.index)
        elif _UI_PATH.search(value):
            continue  # "支付宝APP: 我的 → 设置 → 隐私": where to tap in an app, not a party
        elif not _NOT_NAME_KEY.search(key) and (
            _names_sdk(_entry_name(raw_key))
            or (_DESCRIBES_SDK.match(value) and len(_entry_name(raw_key)) <= _NAME_LINE_MAX)
        ):
            # "(1) X SDK: 用于Y" - the key is the name, the value describes it.
            open_entry(_entry_name(raw_key), s.index)
            describe(value)
            if "purpose" not in current and not _pi_types_of(value):
                current["purpose"] = value
        elif numbered:
            # A numbered item that names no SDK ("(39) 第三方物流公司: ...") ends the entry before it; it is
            # not a field of it. Recipients named this way are read by _from_recipients.
            close()
            pending_name = None
        else:
            if not current and pending_name is not None:
                open_entry(*pending_name)
            pending_name = None
            if not current:
                continue
            if _PI_KEY.search(key) and not re.search(r"目的|用途|作用|描述|说明", key):
                # Kept even without a known PI term: "无" (none) is an answer too.
                current["pi"] = f"{current['pi']}；{value}" if "pi" in current else value
                members.append(s.index)
                # "收集的个人信息: 设备型号; IP地址; Wi-Fi列表": the pieces after each ";" are read as
                # sentences of their own; they are still this field's items.
                pi_continues = s.text.rstrip().endswith((";", "；"))
            elif _PURPOSE_KEY.search(key):
                current.setdefault("purpose", value)
                members.append(s.index)
            elif _PLATFORM_KEY.match(key) and _pi_types_of(value):
                current["pi"] = f"{current['pi']}；{value}" if "pi" in current else value
                members.append(s.index)
            elif _VENDOR_KEY.search(key):
                current.setdefault("vendor", value)
                members.append(s.index)
            elif re.search(r"政策|链接|官网|网址|版本|包名", key):
                members.append(s.index)  # the party's own policy link, SDK version or package name
    close()
    return out


#: "…SDK, 其主体为：北京某某科技有限公司", "该SDK由某某有限公司提供".
_STATED_VENDOR = re.compile(
    r"^[^。;；]{0,40}?(?:主体|提供方|运营方|开发者|提供者|开发商)(?:名称)?\s*(?:为|是)?\s*[:：]?\s*"
    r"([\u4e00-\u9fff()（）A-Za-z0-9]{2,40}?(?:股份有限公司|有限责任公司|有限公司))"
    r"|^[^。;；]{0,20}?由\s*([\u4e00-\u9fff()（）A-Za-z0-9]{2,40}?(?:股份有限公司|有限责任公司|有限公司))\s*(?:提供|开发|运营)"
)


#: What an SDK named in running text is for: "用于统计分析", "以便…", or what it does for the user
#: ("为您提供定位服务", "向您推送消息") right after its name and any bracketed vendor.
_SDK_PURPOSE = re.compile(
    r"(?:用于|以便|为了|以实现|来实现)([^,，。;；]{2,40})"
    r"|^\s*(?:[(（][^)）]{0,60}[)）])?\s*(?:来|以)?(?:为您|向您|为用户|向用户|帮助您|帮您)((?:提供|推送|发送|展示|实现|完成)[^,，。;；]{2,30})"
)


_PURPOSE_CLAUSE = re.compile(r"(?:用于|以便|为了)[^,，。;；]{2,40}")
_COLLECTS = re.compile(r"收集|获取|读取|采集|上传|访问|调用")


def _without_purposes(text: str) -> str:
    """The text without its purpose clauses: "用于查找周边学校" names what the SDK is for, not PI it takes
    (a clause that itself collects, "用于获取您的位置信息", stays)."""
    return _PURPOSE_CLAUSE.sub(lambda m: m.group(0) if _COLLECTS.search(m.group(0)) else "", text)


def _from_sentences(sentences: Sequence[SentenceView]) -> list[DeclaredSdk]:
    """SDK names mentioned in running text ("我们接入了友盟SDK，用于统计分析")."""
    out: list[DeclaredSdk] = []
    index = sdk_name_index()
    for s in sentences:
        if s.in_table or s.is_heading:
            continue
        mentions = []
        for m in _SDK_IN_TEXT.finditer(s.text):
            name = _LEADING_NOISE.sub("", m.group(1).strip()).strip()
            if len(name) < 2 or name.lower() in ("第三方", "三方", "相关", "上述", "该", "此类", "以下", "其他"):
                continue
            hit = index.match(name)
            if hit is not None:
                mentions.append((m, name, hit))
        whole_sentence_pis = _pi_types_of(_without_purposes(s.text))
        for k, (_mention, name, hit) in enumerate(mentions):
            # A run-on sentence that names several SDKs gives each the words up to the next one, so one SDK's
            # purpose and PI are not read as another's ("…高德地图SDK用于定位, 收集位置信息, 极光推送SDK用于…");
            # SDKs named together ("微信SDK和QQ SDK, 用于分享") share the words after the last of them.
            last = k
            while last + 1 < len(mentions) and _JOINED.fullmatch(
                s.text[mentions[last][0].end() : mentions[last + 1][0].start()]
            ):
                last += 1
            start = mentions[k - 1][0].end() if k else 0
            end = mentions[last + 1][0].start() if last + 1 < len(mentions) else len(s.text)
            own = s.text[mentions[last][0].end() : end]
            purpose = None
            pm = _SDK_PURPOSE.search(own)
            if pm:
                purpose = pm.group(1) or pm.group(2)
            # Words shared by SDKs named together ("使用A SDK和B SDK, 收集设备信息") belong to each of them.
            pis = _pi_types_of(_without_purposes(own)) or whole_sentence_pis
            stated = _STATED_VENDOR.search(own)
            out.append(
                DeclaredSdk(
                    name=f"{name} SDK" if not name.lower().endswith("sdk") else name,
                    sdk_id=hit.sdk_id,
                    # The company the policy names for it wins over the catalog's brand name.
                    vendor=(stated.group(1) or stated.group(2))
                    if stated
                    else index.vendor_in(s.text[start:end]) or hit.vendor,
                    purpose=purpose,
                    pi_text=s.text if pis else None,
                    pi_types=pis,
                    sentence=s.index,
                    source="sentence",
                )
            )
        out.extend(_english_mentions(s))
        brands = _push_brand_list(s, index)
        if brands:
            # The list read brand by brand wins over a name cut from its end ("…vivo、魅族厂商推送SDK").
            listed = {d.sdk_id for d in brands if d.sdk_id}
            out = [d for d in out if not (d.sentence == s.index and d.sdk_id in listed)] + brands
    return out


#: Phone makers whose push channels apps embed; a policy often names only the brands
#: ("集成了三星/vivo/oppo/华为/小米SDK用于消息推送", "华为、小米、OPPO、vivo、魅族厂商推送SDK").
_PUSH_BRANDS = r"华为|荣耀|小米|oppo|vivo|魅族|三星|huawei|honor|xiaomi|meizu|samsung"
_PUSH_BRAND_LIST = re.compile(
    rf"((?:{_PUSH_BRANDS})(?:\s*[、/,，和及与]\s*(?:{_PUSH_BRANDS}))+)\s*(?:等)?\s*(?:手机)?(?:厂商|系统|官方)?\s*"
    r"(推送|push|消息推送|通道)?\s*(sdk|通道|服务)?",
    re.I,
)
_PUSH_CONTEXT = re.compile(r"推送|push|通知|消息", re.I)


def _push_brand_list(s: SentenceView, index: SdkNameIndex) -> list[DeclaredSdk]:
    """Each maker's push SDK of a brand list that names push (or SDKs in a sentence about push)."""
    if _CN_NOT_USED.search(s.text):
        return []
    out: list[DeclaredSdk] = []
    for m in _PUSH_BRAND_LIST.finditer(s.text):
        if not (m.group(2) or (m.group(3) and _PUSH_CONTEXT.search(s.text))):
            continue
        # The PI is what the sentence says besides the list ("厂商推送" names no device maker PI).
        pis = _pi_types_of(_without_purposes(s.text[: m.start()] + "，" + s.text[m.end() :]))
        for brand in re.split(r"\s*[、/,，和及与]\s*", m.group(1)):
            hit = index.match(f"{brand}推送")
            out.append(
                DeclaredSdk(
                    name=f"{hit.name if hit else brand + '推送'} SDK",
                    sdk_id=hit.sdk_id if hit else None,
                    vendor=hit.vendor if hit else brand,
                    purpose="消息推送",
                    pi_text=s.text if pis else None,
                    pi_types=pis,
                    sentence=s.index,
                    source="sentence",
                )
            )
    return out


#: An English sentence about third parties, and one that says the app does not use them.
_EN_THIRD_PARTY_CONTEXT = re.compile(
    r"third|partner|provider|sdk|service|analytic|advertis|\bads?\b|crash|track|collect|share|process|use|"
    r"privacy polic|integrat",
    re.I,
)
_EN_PURPOSE = re.compile(r"\b(?:for|to)\s+((?:the\s+)?[a-z][a-z ,\-]{3,60}?)(?:[.;,]|$)", re.I)


#: What the SDK named just before does: "(Google Analytics)进行流量分析", "Firebase用于崩溃统计".
_DOES_AFTER_NAME = re.compile(r"^[)）\s]*(?:来|以)?(?:进行|用来|用于)([^,，。;；]{2,30})")
_CN_NOT_USED = re.compile(r"(?:不|未|没有|并未|从未)(?:会)?(?:使用|接入|集成|嵌入|调用|与)")
_CN_THIRD_PARTY_CONTEXT = re.compile(r"第三方|服务|统计|分析|广告|合作|提供|使用|sdk", re.I)


def _english_mentions(s: SentenceView) -> list[DeclaredSdk]:
    """Catalog SDKs an English sentence names without the word SDK ("We use Firebase Crashlytics to …",
    a list line "AppsFlyer"): only in a sentence about third parties (or a bare name line), not negated."""
    pattern, names = english_sdk_mentions()
    if pattern is None:
        return []
    chinese = not s.text.isascii()
    if chinese:
        # "我们使用第三方服务(Google Analytics)进行流量分析": an English name inside a Chinese sentence about
        # third parties, not negated.
        if not _CN_THIRD_PARTY_CONTEXT.search(s.text) or _CN_NOT_USED.search(s.text):
            return []
    elif _EN_NEGATED.search(s.text):
        return []
    bare = len(s.text.split()) <= 5  # a list line: the name, perhaps "from <vendor>"
    if not chinese and not bare and not _EN_THIRD_PARTY_CONTEXT.search(s.text):
        return []
    out: list[DeclaredSdk] = []
    for m in pattern.finditer(s.text):
        hit = names[m.group(1).lower()]
        if chinese:
            after = s.text[m.end() :]
            cm = _DOES_AFTER_NAME.match(after) or _SDK_PURPOSE.search(after.lstrip(")） "))
            purpose = next((g for g in cm.groups() if g), None) if cm else None
            if purpose and not re.search(r"[(（]", purpose):
                purpose = purpose.rstrip(")） ")  # "(用于构建和崩溃分析)": the bracket it stood in
        else:
            pm = _EN_PURPOSE.search(s.text[m.end() :])
            purpose = pm.group(1).strip() if pm else None
        pis = _pi_types_of(s.text)
        out.append(
            DeclaredSdk(
                name=m.group(1),
                sdk_id=hit.sdk_id,
                vendor=hit.vendor,
                purpose=purpose,
                pi_text=s.text if pis else None,
                pi_types=pis,
                sentence=s.index,
                source="sentence",
            )
        )
    return out


#: The party PI goes to: a company named right after a sharing verb or 与/向/委托/交由 ("提供给顺丰速运有限公司",
#: "与财付通支付科技有限公司共享", "委托上海某某科技有限公司处理"), or listed after the verb's object
#: ("共享给提供配送服务的物流公司,例如顺丰速运有限公司、中国邮政速递物流股份有限公司").
_COMPANY_CORE = (
    r"[\u4e00-\u9fff()（）A-Za-z0-9]{2,30}?(?:股份有限公司|有限责任公司|有限公司|(?<!有限)股份公司|集团公司)"
)
_TO = r"(?:提供给|提供至|披露给|披露至|转让给|转移给|传输给|传输至|发送给|发送至|共享给|分享给|委托|交由|与|向)"
_ANCHORED_COMPANY = re.compile(f"{_TO}[^,，。;；:：]{{0,10}}?({_COMPANY_CORE})")
_LISTED_COMPANIES = re.compile(
    f"{_TO}[^。;；]{{0,40}}?[,，](?:例如|比如|如|包括|即)[:：]?((?:{_COMPANY_CORE})(?:[、和及](?:{_COMPANY_CORE}))*)"
)
_COMPANY = re.compile(f"({_COMPANY_CORE})")
#: The sentence hands PI over (not merely mentions a company).
_HANDS_OVER = re.compile(r"共享|分享|提供|披露|转让|转移|传输|发送|委托|交由|接收")
_PURPOSE_IN = re.compile(r"(?:为了|为完成|为实现|为便于|为向您|为|用于|以便|以)([^,，。;；]{2,30})")
#: Leading words a lazy name match may still carry ("我们的合作伙伴顺丰..." -> "顺丰...").
_RECIPIENT_NOISE = re.compile(
    r"^(?:我们的|我们|您的|合作伙伴|合作方|第三方|关联公司|服务商|如|例如|包括|即|其|该|本|上述|相关|此类|这些)+"
)
#: "We will not share with X": X is not a recipient.
_NEGATED = re.compile(r"不会|不得|不|未|禁止|拒绝|无需")
#: "The information above": the PI the previous sentence named is what is handed over.
_EARLIER_PI = re.compile(r"上述|前述|以上|该等|这些")
#: A company introduced as the operator ("深圳某某有限公司(以下简称“我们”)") is not a recipient.
_DEFINED_AS_US = re.compile(r"^\s*[(（]\s*(?:以下)?(?:简称|称)")


_COMPANY_SUFFIX = re.compile(r"(?:股份有限公司|有限责任公司|有限公司|股份公司|集团公司)$")
#: Words a lazy match can carry in front of the name: the verb's tail, enumeration and filler words.
_NAME_CUT = re.compile(r"^.*[的给至将向与或及、]")


def _company_name(matched: str) -> str:
    """The company's own name out of a lazy match, or "" when nothing name-like is left.

    "服务提供方（重庆某某有限公司" and "为平台提供服务的某某有限公司" give the name after the unclosed
    bracket or the last particle; "度小满科技(北京)有限公司" stays whole; "其集团公司" has no name.
    """
    name = matched.replace("（", "(").replace("）", ")")
    depth, cut, opened = 0, 0, 0
    for i, ch in enumerate(name):
        if ch == "(":
            depth += 1
            if depth == 1:
                opened = i
        elif ch == ")" and depth:
            depth -= 1
    if depth:
        cut = opened + 1
    name = _NAME_CUT.sub("", name[cut:])
    name = _RECIPIENT_NOISE.sub("", name.lstrip("()"))
    suffix = _COMPANY_SUFFIX.search(name)
    return name if suffix is not None and suffix.start() >= 2 else ""


#: English: the sharing verb, then "with" or "to" the party ("We share ... with Acme Analytics Inc.").
_EN_HANDS_OVER = re.compile(
    r"\b(?:share[sd]?|sharing|disclose[sd]?|disclosing|provide[sd]?|transfer(?:s|red)?|sen[dt]|sell|sold)\b"
    r"[^.;]{0,120}?\b(?:with|to)\b",
    re.IGNORECASE,
)
_EN_NEGATED = re.compile(r"\b(?:not|never|no|don't|won't)\b", re.IGNORECASE)


def _english_recipients(text: str) -> list[str]:
    """Companies an English sentence says PI goes to, by legal name (Inc., Ltd., GmbH...), unless negated."""
    if not is_english(text):
        return []
    names: list[str] = []
    for verb in _EN_HANDS_OVER.finditer(text):
        if _EN_NEGATED.search(text[max(0, verb.start() - 25) : verb.start()]):
            continue
        for m in _LEGAL_NAME_EN.finditer(text, verb.end(), verb.end() + 120):
            name = _EN_LEADING_WORDS.sub("", m.group(1)).strip()
            if name and name not in names:
                names.append(name)
    return names


def _from_recipients(sentences: Sequence[SentenceView]) -> list[DeclaredSdk]:
    """Companies the policy says it shares PI with, named in running text, with that sentence's purpose and PI."""
    out: list[DeclaredSdk] = []
    previous_pi: list[str] = []
    for s in sentences:
        if s.is_heading or s.in_table:
            continue
        own_pi = _pi_types_of(s.text)
        pis = own_pi or (previous_pi if _EARLIER_PI.search(s.text) else [])
        previous_pi = own_pi
        if not _HANDS_OVER.search(s.text) and not _EN_HANDS_OVER.search(s.text):
            continue
        candidates = [
            (m.start(1), m.group(1), m.end(1))
            for m in _ANCHORED_COMPANY.finditer(s.text)
            if not _NEGATED.search(s.text[max(0, m.start() - 8) : m.start()])
        ]
        for listed in _LISTED_COMPANIES.finditer(s.text):
            if _NEGATED.search(s.text[max(0, listed.start() - 8) : listed.start()]):
                continue
            candidates += [
                (listed.start(1) + c.start(1), c.group(1), listed.start(1) + c.end(1))
                for c in _COMPANY.finditer(listed.group(1))
            ]
        names: list[str] = []
        for _, matched, end in sorted(candidates):
            if _DEFINED_AS_US.match(s.text[end:]):
                continue
            name = _company_name(matched)
            if name and name not in names:
                names.append(name)
        names += [n for n in _english_recipients(s.text) if n not in names]
        if not names:
            continue
        purpose_match = _PURPOSE_IN.search(s.text)
        purpose = purpose_match.group(1) if purpose_match else None
        if purpose is None and is_english(s.text):
            english_purpose = PURPOSE_PATTERN.search(s.text)
            purpose = english_purpose.group(0).strip() if english_purpose else None
        for name in names:
            out.append(
                DeclaredSdk(
                    name=name,
                    vendor=name,
                    purpose=purpose,
                    pi_text=s.text if own_pi else None,
                    pi_types=pis,
                    sentence=s.index,
                    source="recipient",
                )
            )
    return out


#: A sentence that introduces the list below it ("我们接入了以下推送SDK，会收集您的设备标识符：").
_LEAD_IN = re.compile(r"以下|如下|下列|下述|[:：]\s*$")
_LEAD_IN_PURPOSE = re.compile(
    r"(?:用于|以便|为了|以实现|来实现)([^,，。;；:：]{2,40})|^\s*为(?!了)([^,，。;；:：]{2,30})[,，]"
)
#: The introduced list is one of third parties: "以下情形" before an SDK named in prose introduces no SDK.
_ABOUT_THIRD_PARTIES = re.compile(r"sdk|第三方|合作方|合作伙伴|服务商|服务提供|插件|组件", re.I)
#: "为实现相关功能": says there is a purpose, not which.
_VAGUE_PURPOSE = re.compile(
    r"^(?:实现|提供|保障|完成)?(?:相关|相应|部分|上述|各项|产品|应用)?(?:的)?(?:功能|服务|业务)$"
)
#: How many list lines may stand between an entry and the sentence that introduces the list.
_LEAD_IN_REACH = 40


def _with_lead_in(
    sentences: Sequence[SentenceView], declared: list[DeclaredSdk], record_sentences: set[int]
) -> list[DeclaredSdk]:
    """Entries of a list that say no purpose or PI of their own take those of the sentence introducing the list.

    "为向您推送消息，我们接入了以下SDK，会收集您的设备标识符：" followed by bare "1. 极光推送SDK，提供方：…"
    lines states purpose and PI for every entry; a reader does not call those entries unexplained.
    """
    position = {s.index: k for k, s in enumerate(sentences)}
    entries = {d.sentence for d in declared if d.sentence is not None and d.source in ("sentence", "list")}
    list_lines = entries | record_sentences
    out: list[DeclaredSdk] = []
    for d in declared:
        if d.source not in ("sentence", "list") or d.sentence not in position or (d.purpose and d.pi_types):
            out.append(d)
            continue
        entry = sentences[position[d.sentence]]
        lead: SentenceView | None = None
        for k in range(position[d.sentence] - 1, max(-1, position[d.sentence] - 1 - _LEAD_IN_REACH), -1):
            before = sentences[k]
            if before.is_heading or before.in_table or before.section_path != entry.section_path:
                break
            if before.index in list_lines:
                continue
            lead = before if _LEAD_IN.search(before.text) and _ABOUT_THIRD_PARTIES.search(before.text) else None
            break
        if lead is None:
            out.append(d)
            continue
        pm = _LEAD_IN_PURPOSE.search(lead.text)
        purpose = (pm.group(1) or pm.group(2)).strip() if pm else None
        pis = _pi_types_of(_without_purposes(lead.text))
        out.append(
            d.model_copy(
                update={
                    "purpose": d.purpose or (None if purpose is None or _VAGUE_PURPOSE.match(purpose) else purpose),
                    "pi_text": d.pi_text or (lead.text if pis else None),
                    "pi_types": d.pi_types or pis,
                }
            )
        )
    return out


def extract_sdks(sentences: Sequence[SentenceView]) -> list[DeclaredSdk]:
    """Third parties and SDKs the policy lists (tables first, then key/value lists, then running text),
    and the companies it says it shares PI with."""
    merged: dict[str, DeclaredSdk] = {}
    # One reading of the key/value lists gives their entries and the lines they span (``record_sentences``).
    record_sentences: set[int] = set()
    from_lists = _from_key_values(sentences, record_sentences)
    listed = _with_lead_in(
        sentences, [*_from_tables(sentences), *from_lists, *_from_sentences(sentences)], record_sentences
    )
    named = {d.vendor for d in listed if d.vendor} | {d.name for d in listed}
    # A recipient already listed (as an SDK's vendor) is that SDK, not a second party.
    recipients = [d for d in _from_recipients(sentences) if not any(d.name in n or n in d.name for n in named if n)]
    for d in [*listed, *recipients]:
        key = d.sdk_id or d.name.lower()
        if key not in merged:
            merged[key] = d
            continue
        old = merged[key]
        # Keep the richest description of the same SDK.
        merged[key] = old.model_copy(
            update={
                "vendor": old.vendor or d.vendor,
                "purpose": old.purpose or d.purpose,
                "pi_text": old.pi_text or d.pi_text,
                "pi_types": sorted(set(old.pi_types) | set(d.pi_types)),
            }
        )
    return list(merged.values())


# --------------------------------------------------------------------------- operator

_LEGAL_NAME = re.compile(
    r"([\u4e00-\u9fff()（）A-Za-z0-9]{2,40}?(?:股份有限公司|有限责任公司|有限公司|(?<!有限)股份公司|集团公司))"
)
# Sentence-initial words capitalised only by position ("The", "This app is run by") are not the name.
_EN_LEADING_WORDS = re.compile(
    r"^(?:(?:The|This|That|Our|We|By|From|And|Of|App|Application|Is|Run|Operated|Provided)\s+)+"
)
# English legal names: "Example Tech Co., Ltd.", "Acme Inc.", "Foo GmbH" (capitalised words before the form).
_LEGAL_NAME_EN = re.compile(
    r"((?:[A-Z][A-Za-z0-9&'\-]*\s+){0,6}[A-Z][A-Za-z0-9&'\-]*,?\s+"
    r"(?:Co\.,?\s*Ltd\.?|Ltd\.?|Limited|Inc\.?|LLC|L\.L\.C\.|GmbH|Corp\.|Corporation|S\.A\.|B\.V\.|Pte\.?\s*Ltd\.?|PLC|AG))"
)
#: Everything up to the last role word is the role, not the name ("XX商城的运营主体深圳某某有限公司").
_ROLE_PREFIX = re.compile(r"^.*(?:运营主体|经营主体|运营者|开发者|控制者|处理者|服务提供者|服务提供方)(?:为|是)?")
#: Words that end the text before a name, wherever they stand ("本应用由", "运营主体为", a list's "、").
_NAME_PREFIX_NOISE = re.compile(
    r"^.*(?:(?:政策|协议|指引|应用|产品|软件|服务|平台|网站|程序|app|游戏|功能)(?:由|系由|是由)|运营者为|运营主体为|开发者为|"
    r"适用于|系指|是指|属于|提供给|披露给|转让给|传输给|"
    r"发送给|共享给|交由|委托|、|:|\s)"
)
#: One-character function words that may end the text before a name. They are also inside names
#: ("华为", "和讯", "影与达"), so a cut there is taken only where a place name starts the rest.
_NAME_PREFIX_CHAR = re.compile(r"[即为由是指于与和及或向给的在设\d号楼室层座]")
_LEADING_FUNCTION_CHAR = re.compile(r"^[即为由是指于与及或向给的在设但且经]+")
_PLACE_AT_START = re.compile(
    r"^(?:中国|北京|上海|天津|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|"
    r"贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门|深圳|广州|杭州|南京|苏州|成都|武汉|西安|厦门|"
    r"珠海|东莞|佛山|宁波|青岛|大连|长沙|郑州|合肥|福州|济南|沈阳|哈尔滨|长春|昆明|南宁|贵阳|无锡|徐州|常州|温州|"
    r"[\u4e00-\u9fff]{2,3}(?:省|市))"
)
#: Not a legal name: a pronoun phrase ending in a company word ("我们的集团公司", "保护我们或其关联公司").
_NOT_A_NAME = re.compile(r"我们|您|你|其|该|本|此|上述|关联|任何|相关|第三方|合作")


def _trim_legal_name(name: str) -> str:
    """The legal name inside a match that ran on into the words before it."""
    name = _ROLE_PREFIX.sub("", name).lstrip("()（）")
    # "星辰游戏(星辰网络科技有限公司": a brand with the legal name in brackets after it; the bracket is
    # never closed inside the name, so the name starts after it.
    unclosed = max(name.rfind("("), name.rfind("（"))
    if unclosed >= 0 and not re.search(r"[)）]", name[unclosed:]) and len(name) - unclosed > 6:
        name = name[unclosed + 1 :]
    trimmed = _NAME_PREFIX_NOISE.sub("", name)
    if len(trimmed) >= 6:
        name = trimmed
    cut = None
    for m in _NAME_PREFIX_CHAR.finditer(name):
        rest = name[m.end() :]
        if len(rest) >= 6 and _PLACE_AT_START.match(rest):
            cut = rest  # the last one: "苏州市…1088号…1楼徐州某某有限公司" is the company in 徐州
    if cut is not None:
        return cut
    stripped = _LEADING_FUNCTION_CHAR.sub("", name)
    return stripped if len(stripped) >= 6 else name


#: Verbs that hand PI to another party; bare 提供 is left out: "由某某有限公司提供服务" names the provider.
_TO_PARTY = re.compile(r"提供给|提供至|共享|分享|披露|转让|转移给|传输给|传输至|发送给|出售|委托")


def _named_as_counterparty(text: str, name: str) -> bool:
    """The name stands after a sharing verb ("…共享给X有限公司", "do not sell … to X Inc."): the other party,
    shared with or refused, not the one who writes the policy."""
    at = text.find(name)
    if at < 0:
        return False
    return bool(_TO_PARTY.search(text[:at]) or _EN_HANDS_OVER.search(text[:at]))


_THIRD_PARTY_CONTEXT = re.compile(r"sdk|插件|第三方|合作方|合作伙伴|主体为|提供方|运营方", re.I)


def extract_operator(sentences: Sequence[SentenceView], third_party_names: set[str]) -> list[str]:
    """Legal names of the operator, most likely first (named in CR3 sentences, near 我们/简称/运营)."""
    weights: dict[str, float] = {}
    for s in sentences:
        # "沛肯信息科技 (上海) 有限公司": spaces around a bracket are layout, not a break in the name.
        text = re.sub(r"\s*([()（）])\s*", r"\1", s.text)
        found = [_trim_legal_name(m.group(1)) for m in _LEGAL_NAME.finditer(text)]
        found += [_EN_LEADING_WORDS.sub("", m.group(1)).strip() for m in _LEGAL_NAME_EN.finditer(text)]
        for name in found:
            name = name.lstrip("()（）")
            if len(name) < 6 or any(name in t or t in name for t in third_party_names if t):
                continue
            if _NOT_A_NAME.search(name) and not _LEGAL_NAME_EN.fullmatch(name):
                continue
            w = 1.0
            if "CR3" in s.labels:
                w += 3.0
            if re.search(
                r"我们|简称|运营|开发|本公司|提供者|控制者|处理者|注册地址|\b(?:we|us|our|operat\w+|provid\w+|controller)\b",
                s.text,
                re.IGNORECASE,
            ):
                w += 1.0
            if s.in_table:
                w -= 0.8
            if _THIRD_PARTY_CONTEXT.search(text) and "CR3" not in s.labels:
                w -= 1.0  # named next to an SDK or a third party: its provider, not the operator
            if _named_as_counterparty(text, name):
                w -= 1.5
            if s.index < 40:
                w += 0.5
            weights[name] = weights.get(name, 0.0) + w
    return [n for n, w in sorted(weights.items(), key=lambda kv: -kv[1]) if w > 0.5][:5]


# --------------------------------------------------------------------------- contacts

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(
    r"(?<![\d\-])(400\s*-?\s*\d{3}\s*-?\s*\d{4}|800\s*-?\s*\d{3}\s*-?\s*\d{4}|95\d{3,6}|1[3-9]\d{9}"
    r"|0\d{2,3}\s*-?\s*\d{7,8})(?![\d\-])"
)
_ADDRESS = re.compile(
    r"(?P<kind>注册地址|办公地址|联系地址|通讯地址|通信地址|邮寄地址|地址)\s*(?:为|是|位于|如下)?\s*[:：]?\s*(?P<value>[^;。|]{0,80})"
)
#: "IP地址", "MAC地址", "收货地址"...: the word 地址 as PI, not as the operator's address.
_PI_ADDRESS_BEFORE = re.compile(
    r"(?:ip|mac|蓝牙|wi-?fi|wlan|网卡|物理|硬件|设备|网络|收货|收件|配送|邮箱|电子邮件|邮件|网页|网站|链接|url|您的|用户|家庭|住址|常用)\s*$",
    re.I,
)
#: An address starts with a place (province, city, region) or is a street address.
_PLACE_START = re.compile(
    r"^(?:中国|中华人民共和国)?\s*[\u4e00-\u9fff]{2,8}?(?:省|市|自治区|特别行政区)|^[\u4e00-\u9fff]{2,12}(?:区|县)[\u4e00-\u9fff]"
)
_STREET = re.compile(r"[\u4e00-\u9fff\d]{2,}(?:路|街|道|大道|巷|弄|号)|大厦|园区|室|\d+\s*楼")
#: A URL given as the way to reach the operator ("请通过 https://… 与我们联系").
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#@!$&*+=%]+(?<![.,:;!?])", re.I)
_CONTACT_VERB = re.compile(r"联系我们|与我们联系|联系|反馈|投诉|举报|咨询|客服", re.I)
#: What right before a URL marks it as a link to a document or a third party, not a contact channel.
_LINK_TO_DOCUMENT = re.compile(
    r"(?:隐私政策|隐私权政策|隐私协议|隐私说明|privacy|第三方|sdk|链接|官网|规则|协议)[^,，。]{0,6}$", re.I
)


_RECIPIENT_AFTER_ADDRESS = re.compile(
    r"^(.*?(?:号|室|楼|层|座|单元))\s*(?=[^号室楼层座]*?(?:有限公司|有限责任公司|部门|收件人|[(（]收[)）]))"
)


def _address_value(value: str) -> str | None:
    """The address in ``value``, when it reads as one: a place first, no list of data items."""
    # "注册地址/常用办公地址: 中国(上海)…": the second label is not part of the address.
    value = re.sub(r"^\s*[/、或及和]\s*[\u4e00-\u9fff]{0,6}地址\s*[:：]?", "", value).strip(" ,，:：")
    if not (
        _PLACE_START.match(value) or (_STREET.search(value[:30]) and not value.startswith(("、", "和", "及", "等")))
    ):
        return None
    if value.count("、") >= 2 or re.search(r"\bip\b|\bmac\b|邮箱|电子邮件", value, re.I):
        return None  # a list of PI items that merely contains 地址
    # "…1088号天铂公寓1楼某某有限公司个人信息保护部门(收)": the recipient after the street address is not part of it.
    recipient = _RECIPIENT_AFTER_ADDRESS.match(value)
    return recipient.group(1) if recipient else value


#: Reaching the operator's customer service ("在应用内联络本应用客服", "联系我们的在线客服").
_IN_APP_SERVICE = re.compile(
    r"(?:联系|联络|咨询|致电)(?:我们的|本应用|本平台|本app|app内|应用内|游戏内)?(?:在线|人工)?客服"
)


def extract_contacts(sentences: Sequence[SentenceView]) -> list[ContactChannel]:
    out: list[ContactChannel] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: Literal["email", "phone", "address", "web_form"], value: str, index: int) -> None:
        key = (kind, value)
        if key not in seen:
            seen.add(key)
            out.append(ContactChannel(kind=kind, value=value, sentence=index))

    for position, s in enumerate(sentences):
        for m in _EMAIL.finditer(s.text):
            add("email", m.group(0), s.index)
        text_wo_dates = re.sub(r"(19|20)\d{2}[-年./]\d{1,2}[-月./]\d{1,2}", " ", s.text)
        if re.search(r"电话|热线|客服|致电|联系|拨打|手机|tel|phone", s.text, re.I):
            for m in _PHONE.finditer(text_wo_dates):
                add("phone", re.sub(r"\s*-\s*|\s+", "-", m.group(1)), s.index)
        for m in _ADDRESS.finditer(s.text):
            if m.group("kind") == "地址" and _PI_ADDRESS_BEFORE.search(s.text[: m.start()]):
                continue
            value = _address_value(m.group("value"))
            if value is None and not m.group("value").strip(" :：") and position + 1 < len(sentences):
                # "寄到如下地址：" with the address on the next line.
                nxt = sentences[position + 1]
                value = _address_value(nxt.text) if not nxt.is_heading else None
                if value:
                    add("address", value, nxt.index)
                continue
            if value:
                add("address", value, s.index)
        if _CONTACT_VERB.search(s.text) and not re.search(r"第三方|sdk", s.text, re.I):
            for m in _URL.finditer(s.text):
                if not _LINK_TO_DOCUMENT.search(s.text[max(0, m.start() - 16) : m.start()]):
                    add("web_form", m.group(0), s.index)
        if re.search(r"(在线客服|意见反馈|反馈入口|帮助与反馈|客服中心)", s.text) and "CR4" in s.labels:
            add("web_form", re.search(r"(在线客服|意见反馈|反馈入口|帮助与反馈|客服中心)", s.text).group(1), s.index)  # type: ignore[union-attr]
        elif (
            (in_app := _IN_APP_SERVICE.search(s.text))
            and re.search(r"您|你|请|选择|点击|进入|通过", s.text[: in_app.start()])
            and not re.search(r"第三方|sdk|合作方", s.text, re.I)
        ):
            # "请在应用内联络本应用客服": the operator's own customer service, reached in the app, is a channel.
            add("web_form", in_app.group(0), s.index)
    return out


# --------------------------------------------------------------------------- dates

_DATE = re.compile(r"((?:19|20)\d{2})\s*(?:年|[-./])\s*(\d{1,2})\s*(?:月|[-./])\s*(\d{1,2})\s*日?")


_MONTHS = {
    m: i
    for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)
}
# English dates: "March 1, 2024", "1 March 2024", "Mar. 1st, 2024".
_DATE_EN = re.compile(
    r"\b(?:(?P<m1>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(?P<d1>\d{1,2})(?:st|nd|rd|th)?,?\s+"
    r"(?P<y1>(?:19|20)\d{2})|(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+(?P<m2>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)"
    r"[a-z]*\.?,?\s+(?P<y2>(?:19|20)\d{2}))\b",
    re.IGNORECASE,
)


def _dates_in(text: str) -> Iterator[tuple[int, int, int, int, int]]:
    """(year, month, day, start, end) of every date written the Chinese/ISO or the English way."""
    for m in _DATE.finditer(text):
        yield int(m.group(1)), int(m.group(2)), int(m.group(3)), m.start(), m.end()
    for m in _DATE_EN.finditer(text):
        month = (m.group("m1") or m.group("m2")).lower()[:3]
        yield (
            int(m.group("y1") or m.group("y2")),
            _MONTHS[month],
            int(m.group("d1") or m.group("d2")),
            m.start(),
            m.end(),
        )


def extract_dates(sentences: Sequence[SentenceView]) -> list[PolicyDate]:
    out: list[PolicyDate] = []
    for s in sentences:
        for year, month, day, start, end in _dates_in(s.text):
            try:
                iso = dt.date(year, month, day).isoformat()
            except ValueError:
                continue
            window = s.text[max(0, start - 25) : end + 8]
            kind: Literal["effective", "updated", "published", "unknown"]
            if re.search(r"生效|施行|实施|effective|into (?:effect|force)", window, re.IGNORECASE):
                kind = "effective"
            elif re.search(r"更新|修订|修改|版本|updated|revised|modified|version", window, re.IGNORECASE):
                kind = "updated"
            elif re.search(r"发布|公布|published|issued", window, re.IGNORECASE):
                kind = "published"
            elif "CR1" in s.labels:
                kind = "unknown"
            else:
                continue
            if any(d.kind == kind and d.date == iso for d in out):
                continue
            out.append(PolicyDate(kind=kind, date=iso, text=s.text[:200], sentence=s.index))
        if len(out) >= 10:
            break
    return out


def extract_facts(sentences: Sequence[SentenceView]) -> PolicyFacts:
    """All facts of a classified, segmented policy."""
    sdks = extract_sdks(sentences)
    third = {d.vendor for d in sdks if d.vendor} | {d.name for d in sdks}
    return PolicyFacts(
        pi_mentions=extract_pi(sentences),
        sdks=sdks,
        operator_names=extract_operator(sentences, {t for t in third if len(t) >= 4}),
        contacts=extract_contacts(sentences),
        dates=extract_dates(sentences),
    )
