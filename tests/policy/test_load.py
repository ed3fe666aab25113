"""Loading policy documents: formats, encodings, and input that must be refused cleanly."""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path

import pytest

from appwarden.errors import PolicyDocumentError
from appwarden.evidence.policy.load import HEADING_MARK, MAX_INPUT_BYTES, decode_text, html_to_text, load_document

ZH = "我们会收集您的位置信息和手机号码，用于提供天气预报服务。如您有任何疑问，请联系我们。"
ZH_TRAD = "我們會收集您的位置資訊和手機號碼，用於提供天氣預報服務。如您有任何疑問，請聯繫我們。"


def _page(body: str, charset: str | None, title: str = "隐私政策") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return f"<html><head>{meta}<title>{title}</title></head><body><h2>一、{title}</h2><p>{body}</p></body></html>"


@pytest.mark.parametrize(
    ("raw", "expected_encoding"),
    [
        (codecs.BOM_UTF8 + ZH.encode("utf-8"), "utf-8"),
        (ZH.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF16_LE + ZH.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + ZH.encode("utf-16-be"), "utf-16-be"),
        (ZH.encode("utf-16-le"), "utf-16-le"),
        (ZH.encode("utf-16-be"), "utf-16-be"),
        (("Privacy policy. " + ZH).encode("utf-16-le"), "utf-16-le"),
        (ZH.encode("gbk"), "gb18030"),
        (ZH.encode("gb18030"), "gb18030"),
    ],
)
def test_plain_text_decodes_in_every_supported_encoding(raw: bytes, expected_encoding: str) -> None:
    doc = load_document(raw, filename="policy.txt")
    assert ZH in doc.text
    assert doc.encoding == expected_encoding


def test_big5_traditional_text_decodes() -> None:
    doc = load_document(ZH_TRAD.encode("big5"), filename="policy.txt")
    assert ZH_TRAD in doc.text
    assert doc.encoding is not None and "big5" in doc.encoding


@pytest.mark.parametrize("declared", ["utf-8", "big5", "iso-8859-1", "shift_jis"])
def test_wrongly_declared_charset_still_decodes_gbk(declared: str) -> None:
    raw = _page(ZH, declared).encode("gbk")
    doc = load_document(raw, filename="policy.html")
    assert ZH in doc.text
    assert doc.encoding == "gb18030"


def test_big5_page_declared_gb2312_decodes_as_big5() -> None:
    raw = _page(ZH_TRAD, "gb2312", title="隱私權政策").encode("big5")
    doc = load_document(raw, filename="policy.html")
    assert ZH_TRAD in doc.text


def test_http_declared_charset_is_a_hint_not_an_order() -> None:
    text, encoding = decode_text(ZH.encode("gbk"), declared="big5")
    assert text == ZH
    assert encoding == "gb18030"


def test_html_keeps_headings_lists_tables_and_drops_scripts() -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style></head><body>"
        "<h1>隐私政策</h1><script>secret()</script><noscript>nojs</noscript>"
        "<ul><li>第一项</li><li>第二项</li></ul>"
        "<table><tr><th>SDK名称</th><th>目的</th></tr><tr><td>友盟</td><td>统计</td></tr></table>"
        "<p>正文<br>第二行</p></body></html>"
    )
    text, title = html_to_text(html)
    lines = text.split("\n")
    assert title == "T"
    assert f"{HEADING_MARK}1隐私政策" in lines
    assert "第一项" in lines and "第二项" in lines
    assert "SDK名称 | 目的" in lines and "友盟 | 统计" in lines
    assert "正文" in lines and "第二行" in lines
    assert "secret" not in text and "nojs" not in text and "p{}" not in text


def test_deeply_nested_html_does_not_exhaust_the_stack() -> None:
    depth = 50_000
    html = "<div>" * depth + "深层文本" + "</div>" * depth
    doc = load_document(html.encode("utf-8"), filename="deep.html")
    assert "深层文本" in doc.text


def test_huge_attributes_and_script_floods_are_dropped() -> None:
    attr = "x" * 3_000_000
    scripts = "<script>var a='攻击';</script>" * 20_000
    html = f'<html><body><div data-x="{attr}">{scripts}<p>{ZH}</p></div></body></html>'
    doc = load_document(html.encode("utf-8"), filename="hostile.html")
    assert ZH in doc.text
    assert "攻击" not in doc.text
    assert "xxxx" not in doc.text


def test_malformed_html_still_gives_text() -> None:
    html = "<html><body><p>未闭合<div><table><tr><td>单元格<p>" + ZH + "</b></i></html></table>"
    doc = load_document(html.encode("utf-8"), filename="broken.html")
    assert ZH in doc.text and "单元格" in doc.text


@pytest.mark.parametrize("raw", [b"", b"   \n\t  "])
def test_empty_input_is_refused(raw: bytes) -> None:
    with pytest.raises(PolicyDocumentError, match="empty"):
        load_document(raw)


def test_binary_input_is_refused() -> None:
    raw = bytes(range(256)) * 64
    with pytest.raises(PolicyDocumentError):
        load_document(raw, filename="policy.bin")


def test_oversized_input_is_refused_before_parsing() -> None:
    raw = b"a" * (MAX_INPUT_BYTES + 1)
    with pytest.raises(PolicyDocumentError, match="limit"):
        load_document(raw)


def test_zip_that_is_not_docx_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("classes.dex", b"dex\n035")
    with pytest.raises(PolicyDocumentError, match="DOCX"):
        load_document(buf.getvalue(), filename="policy.zip")


def test_docx_bomb_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"<" + b"a" * 5_000_000 + b">")
    with pytest.raises(PolicyDocumentError, match="expands"):
        load_document(buf.getvalue(), filename="bomb.docx")


def test_docx_headings_paragraphs_and_tables() -> None:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("一、我们收集的信息", level=1)
    document.add_paragraph(ZH)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "SDK名称"
    table.cell(0, 1).text = "使用目的"
    table.cell(1, 0).text = "友盟统计SDK"
    table.cell(1, 1).text = "统计分析"
    table.cell(1, 1).add_paragraph("崩溃上报")  # a second item in the same cell
    buf = io.BytesIO()
    document.save(buf)
    doc = load_document(buf.getvalue(), filename="policy.docx")
    assert doc.format == "docx"
    lines = doc.text.split("\n")
    assert f"{HEADING_MARK}1一、我们收集的信息" in lines
    assert ZH in lines
    assert "友盟统计SDK | 统计分析；崩溃上报" in lines


def _minimal_pdf(text: str) -> bytes:
    """A one-page PDF with one line of Helvetica text (ASCII), offsets computed so parsers accept it."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def test_pdf_text_is_extracted() -> None:
    doc = load_document(_minimal_pdf("Privacy Policy effective 2024-03-01"), filename="policy.pdf")
    assert doc.format == "pdf"
    assert "Privacy Policy effective 2024-03-01" in doc.text


def test_corrupt_pdf_is_refused() -> None:
    with pytest.raises(PolicyDocumentError):
        load_document(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 9 0 R >> garbage \x00\x01", filename="x.pdf")


def test_str_input_is_accepted_as_text_or_html() -> None:
    assert load_document(ZH).format == "text"
    assert load_document(_page(ZH, None)).format == "html"


def test_output_is_capped_and_flagged_as_truncated() -> None:
    from appwarden.evidence.policy.load import MAX_TEXT_CHARS

    text = ("我们收集位置信息。" * 200 + "\n") * (MAX_TEXT_CHARS // 1800 + 50)
    doc = load_document(text.encode("utf-8"), filename="long.txt")
    assert doc.truncated and len(doc.text) == MAX_TEXT_CHARS


def test_page_with_only_scripts_has_no_readable_text() -> None:
    html = "<html><head><script>a()</script></head><body><script>b()</script><style>p{}</style></body></html>"
    with pytest.raises(PolicyDocumentError, match="no readable text"):
        load_document(html.encode("utf-8"), filename="empty.html")


def test_docx_member_lying_about_its_size_is_not_inflated() -> None:
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    payload = compressor.compress(b"<w:document>" + b" " * (64 * 2**20)) + compressor.flush()
    with pytest.raises(PolicyDocumentError, match="DOCX"):
        load_document(_lying_docx(payload, declared=5000), filename="bomb.docx")


def _lying_docx(payload: bytes, declared: int) -> bytes:
    """A ZIP whose word/document.xml header declares ``declared`` bytes for a deflate ``payload``."""
    import struct

    name = b"word/document.xml"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, 0, len(payload), declared, len(name), 0)
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, 0, len(payload), declared, len(name), 0, 0, 0, 0, 0, 0
    )
    body = local + name + payload
    directory = central + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(directory), len(body), 0)
    return body + directory + end


def _chrome_mhtml(html: str, *, extra_parts: str = "") -> bytes:
    """A page as Chrome saves it ("Webpage, Single File"): quoted-printable HTML, CRLF lines."""
    import quopri

    body = quopri.encodestring(html.encode("utf-8")).decode("ascii").replace("\n", "\r\n")
    boundary = "----MultipartBoundary--Qx1----"
    return (
        "From: <Saved by Blink>\r\n"
        "Snapshot-Content-Location: https://example.cn/privacy.html\r\n"
        "Subject: =?utf-8?Q?=E9=9A=90=E7=A7=81=E6=94=BF=E7=AD=96?=\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/related;\r\n\ttype="text/html";\r\n\tboundary="{boundary}"\r\n\r\n\r\n'
        f"--{boundary}\r\n{extra_parts}"
        "Content-Type: text/html\r\nContent-ID: <frame-1@mhtml.blink>\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\nContent-Location: https://example.cn/privacy.html\r\n\r\n"
        f"{body}\r\n\r\n--{boundary}\r\n"
        "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-Location: https://example.cn/a.png\r\n\r\n"
        f"iVBORw0KGgo=\r\n\r\n--{boundary}--\r\n"
    ).encode("ascii")


POLICY_PAGE = (
    '<!DOCTYPE html><html><head><meta charset="utf-8"><title>示例隐私政策</title></head><body>'
    "<h1>示例隐私政策</h1><h2>一、我们如何收集和使用您的个人信息</h2>"
    "<p>注册时我们会收集您的手机号码,用于验证您的身份。</p></body></html>"
)


def test_a_page_saved_as_mhtml_reads_as_its_html() -> None:
    doc = load_document(_chrome_mhtml(POLICY_PAGE), filename="saved.mhtml")
    assert doc.format == "mhtml" and doc.title == "示例隐私政策" and doc.encoding == "utf-8"
    assert "注册时我们会收集您的手机号码,用于验证您的身份。" in doc.text
    assert f"{HEADING_MARK}2一、我们如何收集和使用您的个人信息\n" in doc.text
    # No quoted-printable or MIME residue reaches the text.
    assert "=E6" not in doc.text and "Content-Type" not in doc.text and "MultipartBoundary" not in doc.text
    # Sniffed by content: the name does not matter.
    assert load_document(_chrome_mhtml(POLICY_PAGE), filename="upload.txt").format == "mhtml"


def test_mhtml_page_in_gbk_base64_and_the_snapshot_part_chosen() -> None:
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    archive = MIMEMultipart("related")
    archive["Snapshot-Content-Location"] = "https://example.cn/privacy"
    frame = MIMEText("<html><body><p>广告位</p></body></html>", "html", "utf-8")
    frame["Content-Location"] = "https://ads.example/frame"
    page = MIMEText(POLICY_PAGE.replace('charset="utf-8"', 'charset="gbk"'), "html", "gbk")
    page["Content-Location"] = "https://example.cn/privacy"
    archive.attach(frame)
    archive.attach(page)
    doc = load_document(archive.as_bytes())
    assert doc.format == "mhtml" and doc.encoding in ("gbk", "gb18030")
    assert "手机号码" in doc.text and "广告位" not in doc.text


def test_bad_mhtml_is_a_clear_error() -> None:
    header = b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="b"\r\n\r\n'
    only_image = header + b"--b\r\nContent-Type: image/png\r\n\r\nPNG\r\n--b--\r\n"
    with pytest.raises(PolicyDocumentError, match="no HTML or text page"):
        load_document(only_image)
    with pytest.raises(PolicyDocumentError):
        load_document(header + b"--b\r\nContent-Type: text/html\r\n\r\n   \r\n--b--\r\n")
    # Cut in the middle of the page: what arrived is read, nothing crashes.
    cut = _chrome_mhtml(POLICY_PAGE)[:900]
    try:
        doc = load_document(cut)
    except PolicyDocumentError:
        pass
    else:
        assert doc.format == "mhtml" and "Content-Type" not in doc.text


def _nested_mhtml(depth: int, charset: str = "utf-8") -> bytes:
    head = b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="b0"\r\n\r\n'
    body = "".join(
        f'--b{i}\r\nContent-Type: multipart/related; boundary="b{i + 1}"\r\n\r\n' for i in range(depth)
    ).encode()
    page = f"--b{depth}\r\nContent-Type: text/html; charset={charset}\r\n\r\n<p>我们收集您的手机号码用于登录</p>\r\n"
    return head + body + page.encode()


def test_hostile_mhtml_nesting_and_charsets_are_handled() -> None:
    # The MIME parser recurses per level: thousands of levels would exhaust the stack.
    with pytest.raises(PolicyDocumentError, match="nests 3001 multipart sections"):
        load_document(_nested_mhtml(3000))
    assert "手机号码" in load_document(_nested_mhtml(150)).text
    # A bogus or path-like charset is a hint that loses to what decodes.
    for charset in ("x-bogus", "../../etc/passwd", "utf-32"):
        doc = load_document(_nested_mhtml(1, charset))
        assert doc.encoding == "utf-8" and "手机号码" in doc.text


def _docx_seed() -> bytes:
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_heading("一、我们收集的信息", level=1)
    document.add_paragraph(ZH)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("seed_name", ["html", "gbk", "mhtml", "markdown", "docx", "pdf"])
def test_mutated_documents_give_text_or_a_policy_error(seed_name: str, caplog: pytest.LogCaptureFixture) -> None:
    """Byte flips, cuts and insertions in every format: a document or PolicyDocumentError, nothing else."""
    import random

    html = (Path(__file__).parent / "data" / "sample_policy.html").read_bytes()
    seeds = {
        "html": (html, "p.html"),
        "gbk": (html.decode("utf-8").encode("gbk", "replace"), None),
        "mhtml": (_chrome_mhtml(POLICY_PAGE), None),
        "markdown": (MARKDOWN_POLICY.encode("utf-8"), "p.md"),
        "docx": (_docx_seed(), "p.docx") if seed_name == "docx" else (b"", None),
        "pdf": (_minimal_pdf("Privacy Policy effective 2024-03-01"), "p.pdf"),
    }
    base, filename = seeds[seed_name]
    rng = random.Random(seed_name)
    for _ in range(150):
        mutant = bytearray(base)
        for _ in range(rng.randint(1, 10)):
            pos = rng.randrange(len(mutant))
            op = rng.random()
            if op < 0.5:
                mutant[pos] = rng.randrange(256)
            elif op < 0.75:
                del mutant[pos : pos + rng.randint(1, 30)]
            else:
                mutant[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 10)))
        try:
            doc = load_document(bytes(mutant), filename=filename)
        except PolicyDocumentError:
            continue
        assert isinstance(doc.text, str) and doc.text.strip()
    # A damaged PDF is one error for the caller, not a warning per object on the terminal.
    assert not [r for r in caplog.records if r.name.startswith("pdfminer") and r.levelno < 40]


MARKDOWN_POLICY = """---
title: 示例隐私政策
date: 2019-01-02T10:00:00
---

# 示例隐私政策

更新日期：2024年3月1日

**一、我们如何收集和使用您的个人信息**

    我们会收集您的位置信息，用于提供天气预报服务。

<!-- 旧版条款：我们会收集您的发票信息 -->

## 二、第三方SDK目录

| SDK名称 | 第三方名称 | 使用目的 | 收集个人信息 |
| --- | --- | --- | --- |
| 极光推送SDK | 深圳市和讯华谷信息技术有限公司 | 消息推送 | 设备标识符 |

<table><tr><th>SDK名称</th><th>使用目的</th></tr>
<tr><td style="overflow: hidden; text-overflow: ellipsis;">Bugly SDK</td><td>崩溃分析</td></tr></table>

```yaml
存档日期: 2022-05-06
```
"""


def test_markdown_policy_keeps_headings_tables_and_drops_metadata() -> None:
    doc = load_document(MARKDOWN_POLICY.encode("utf-8"), filename="privacy.md")
    assert doc.format == "markdown"
    lines = doc.text.split("\n")
    headings = [ln[2:] for ln in lines if ln.startswith(HEADING_MARK)]
    # A bold line alone in its paragraph is a heading too, without its asterisks.
    assert headings == ["示例隐私政策", "一、我们如何收集和使用您的个人信息", "二、第三方SDK目录"]
    # Indented paragraphs are text, not code; table rows become "cell | cell" lines as in HTML.
    assert "我们会收集您的位置信息，用于提供天气预报服务。" in lines
    assert "极光推送SDK | 深圳市和讯华谷信息技术有限公司 | 消息推送 | 设备标识符" in lines
    assert "Bugly SDK | 崩溃分析" in lines
    for metadata in ("2019-01-02", "title:", "发票", "存档日期", "style=", "|---", "**"):
        assert metadata not in doc.text


def test_markdown_is_recognised_without_its_file_name() -> None:
    assert load_document(MARKDOWN_POLICY.encode("gb18030")).format == "markdown"
    assert load_document(MARKDOWN_POLICY, media_type="text/markdown").format == "markdown"
    # One "#" line in a plain text file is not enough to read it as Markdown.
    plain = "# 隐私政策\n" + ZH + "\n" + ZH
    assert load_document(plain.encode("utf-8"), filename="p.txt").format == "text"
    # A real HTML page that happens to contain "#" lines stays HTML.
    page = "<!doctype html><html><body><pre>\n# a\n# b\n</pre><p>" + ZH + "</p></body></html>"
    assert load_document(page.encode("utf-8")).format == "html"


@pytest.mark.parametrize(
    "hostile",
    [
        ">" * 50_000 + " 深层引用",
        "".join("  " * i + "- 项\n" for i in range(2_000)),
        "*" * 200_000,
        "[" * 100_000 + "]" * 100_000,
        "| a |\n| --- |\n" + "| 单元 |\n" * 50_000,
    ],
)
def test_hostile_markdown_gives_text_or_a_policy_error(hostile: str) -> None:
    try:
        doc = load_document(hostile.encode("utf-8"), filename="p.md")
    except PolicyDocumentError:
        return
    assert doc.format == "markdown" and isinstance(doc.text, str)


def test_markdown_ordered_lists_keep_their_numbers() -> None:
    text = (
        "# 隐私政策\n\n3. 我们如何共享您的个人信息\n4. 如何联系我们\n\n   我们的邮箱是a@example.com。\n\n- 无编号的项\n"
    )
    lines = load_document(text, filename="p.md").text.split("\n")
    assert "3. 我们如何共享您的个人信息" in lines and "4. 如何联系我们" in lines
    assert "无编号的项" in lines


def test_line_breaks_and_blocks_inside_a_table_cell_keep_the_row_on_one_line() -> None:
    html = (
        "<table><tr><th>SDK名称</th><th>使用目的</th><th>收集个人信息</th></tr>"
        "<tr><td>某支付SDK</td><td><p>支付</p><p>风控</p></td><td>设备标识符<br>IP地址</td></tr>"
        "<tr><td><ul><li>某推送SDK</li></ul></td><td>推送</td><td>无</td></tr></table><p>正文。</p>"
    )
    text, _ = html_to_text(html)
    assert text.split("\n") == [
        "SDK名称 | 使用目的 | 收集个人信息",
        "某支付SDK | 支付；风控 | 设备标识符；IP地址",
        "某推送SDK | 推送 | 无",
        "正文。",
    ]


def test_a_short_all_bold_paragraph_is_a_heading_and_bold_inside_text_is_not() -> None:
    html = (
        "<p><strong>我们可能收集的信息</strong></p><p>正文中<b>加粗的</b>词。</p>"
        "<p><strong>我们不会出售您的个人信息。</strong></p><p><b>生效日期:2025年9月17日</b></p>"
        "<table><tr><td><b>SDK名称</b></td><td>使用目的</td></tr></table>"
    )
    text, _ = html_to_text(html)
    assert text.split("\n") == [
        f"{HEADING_MARK}7我们可能收集的信息",
        "正文中加粗的词。",
        "我们不会出售您的个人信息。",  # a bold sentence is emphasis, not a heading
        "生效日期:2025年9月17日",  # nor is a bold field
        "SDK名称 | 使用目的",
    ]


def test_ordered_list_items_show_the_number_the_page_shows() -> None:
    html = '<ol start="3"><li>适用范围</li><li>\n  <p>信息安全</p><p>第二段。</p></li></ol><ul><li>无编号</li></ul>'
    text, _ = html_to_text(html)
    assert text.split("\n") == ["3. 适用范围", "4. 信息安全", "第二段。", "无编号"]


def test_markdown_lists_numbered_with_a_parenthesis_keep_it() -> None:
    text = "### 1. 我们收集的信息\n\n说明。\n\n1) 账户信息\n- 手机号码\n\n2) 设备信息\n- 设备型号\n"
    lines = load_document(text, filename="p.md").text.split("\n")
    assert "1) 账户信息" in lines and "2) 设备信息" in lines


def test_plain_text_headings_standing_alone_above_a_paragraph() -> None:
    text = (
        "示例浏览器隐私说明\n更新日期:2026年9月15日\n\n保存在手机上的资料\n"
        "书签、收藏与阅读进度、浏览记录保存在手机,这些资料不会因安装本应用就自动发送到开发者的服务器。\n\n"
        "同步、备份与删除\n只有在你连接云端账户后,应用才会读写这个应用专用的隐藏资料空间,不读取你的其他文件。\n\n"
        "短句没有下文\n\n一、编号标题\n正文。\n"
    )
    lines = load_document(text.encode("utf-8"), filename="p.txt").text.split("\n")
    assert f"{HEADING_MARK}2保存在手机上的资料" in lines and f"{HEADING_MARK}2同步、备份与删除" in lines
    # A short line with no paragraph under it, a field line and a numbered heading get no mark.
    assert "短句没有下文" in lines and "更新日期:2026年9月15日" in lines and "一、编号标题" in lines


def test_line_breaks_in_chinese_markdown_are_kept_and_english_hard_wraps_are_not() -> None:
    zh = "# 隐私政策\n二、我们如何保存您的个人信息\n我们将在本政策载明的期限内保存您的个人信息。\n"
    assert "二、我们如何保存您的个人信息" in load_document(zh, filename="p.md").text.split("\n")
    en = "# Privacy\nWe collect your device ID and\nyour IP address to run the service.\n"
    assert "We collect your device ID and your IP address to run the service." in load_document(
        en, filename="p.md"
    ).text.split("\n")


def test_site_navigation_is_not_policy_text() -> None:
    html = "<body><nav><a>海外</a> | <a>关于我们</a></nav><h1>隐私政策</h1><p>" + ZH + "</p></body>"
    text, _ = html_to_text(html)
    assert "海外" not in text and ZH in text
    from appwarden.evidence.policy.load import _strip_tags

    assert "海外" not in _strip_tags(html)[0]


def test_emphasis_markers_commonmark_leaves_as_text_are_dropped() -> None:
    text = "# 隐私政策\n\n一、您个人信息的收集**\n\n**我们会收集您的手机号码。\n"
    loaded = load_document(text, filename="p.md").text
    assert "**" not in loaded and "我们会收集您的手机号码。" in loaded.split("\n")


def test_a_bold_line_in_english_markdown_does_not_run_on_into_the_next() -> None:
    text = (
        "# Privacy Policy\n\n**2.1 Personal data**\nWe collect your name when you register.\nIt is kept for a year.\n"
    )
    lines = load_document(text, filename="p.md").text.split("\n")
    assert f"{HEADING_MARK}72.1 Personal data" in lines
    # The text under it is one paragraph still: English line breaks mean nothing.
    assert "We collect your name when you register. It is kept for a year." in lines
