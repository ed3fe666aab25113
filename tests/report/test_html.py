"""HTML report: every section a notice needs, in Chinese and English, escaped, self-contained."""

from __future__ import annotations

import re

import pytest
from selectolax.lexbor import LexborHTMLParser, LexborNode

from appwarden.errors import ConfigurationError
from appwarden.findings import RunInfo, ScanReport
from appwarden.report import i18n
from appwarden.report.html import readable_api, render_html

SECTIONS = ("identity", "versions", "app-type", "summary", "findings", "undecided", "not-implemented")


def _parse(html: str) -> LexborHTMLParser:
    return LexborHTMLParser(html)


def _node(tree: LexborHTMLParser | LexborNode, selector: str) -> LexborNode:
    node = tree.css_first(selector)
    assert node is not None, f"no element matches {selector}"
    return node


def _text(tree: LexborHTMLParser, selector: str) -> str:
    return _node(tree, selector).text(separator=" ")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_sections_and_identity(handmade_report: ScanReport, lang: str) -> None:
    tree = _parse(render_html(handmade_report, lang=lang))
    labels = i18n.LABELS[lang]
    for section in SECTIONS:
        _node(tree, f"section#{section} h2")
    assert _node(tree, "html").attributes["lang"] == ("zh-CN" if lang == "zh" else "en")
    assert _text(tree, "h1") == labels["report_title"]
    identity = _text(tree, "#identity")
    assert "com.example.shop" in identity
    assert "2.3.4" in identity and "234" in identity
    assert _text(tree, "#apk-sha256") == "cd" * 32
    # v1 and v2 carry the same certificate: one row listing both schemes.
    signer_rows = tree.css("#signers tbody tr")
    assert len(signer_rows) == 1
    assert "ab" * 32 in signer_rows[0].text() and "v1, v2" in signer_rows[0].text()
    versions = _text(tree, "#versions")
    assert "0.1.0" in versions and "1.0.0+test" in versions
    app_type = _text(tree, "#app-type")
    assert "online_shopping" in app_type
    assert ("网上购物类" if lang == "zh" else "Online shopping") in app_type


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_counts_by_severity_and_focus_area(handmade_report: ScanReport, lang: str) -> None:
    tree = _parse(render_html(handmade_report, lang=lang))
    cells = [c.text(strip=True) for c in tree.css("#summary-severity tbody td")]
    # critical, high, medium, low, info, total
    assert cells == ["0", "2", "2", "1", "1", "6"]
    focus_rows = {
        _node(r, "th").text(strip=True): r.css("td")[-1].text(strip=True)
        for r in tree.css("#summary-focus-area tbody tr")
    }
    assert focus_rows[i18n.focus_area_label("FA1", lang)] == "2"  # type: ignore[arg-type]
    assert focus_rows[i18n.focus_area_label("FA5", lang)] == "1"  # type: ignore[arg-type]
    assert focus_rows[i18n.focus_area_label(None, lang)] == "2"  # type: ignore[arg-type]
    owners = _text(tree, "#summary-owner")
    assert "umeng-analytics" in owners and "友盟同欣" in owners


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_each_finding_shows_basis_evidence_and_advice(handmade_report: ScanReport, lang: str) -> None:
    tree = _parse(render_html(handmade_report, lang=lang))
    articles = tree.css("article.finding")
    assert [a.attributes["data-rule-id"] for a in articles] == [f.rule_id for f in handmade_report.findings]
    for article, finding in zip(articles, handmade_report.findings, strict=True):
        text = article.text(separator=" ")
        assert (finding.title_zh if lang == "zh" else finding.title_en) in text
        assert (finding.message_zh if lang == "zh" else finding.message_en) in text
        assert str(finding.advice_zh if lang == "zh" else finding.advice_en) in _text_of(article, ".advice")
        basis = [r.text(separator=" ") for r in article.css(".basis-item")]
        assert len(basis) == len(finding.basis)
        for row, b in zip(basis, finding.basis, strict=True):
            assert b.doc in row and (b.clause or "") in row and (b.ref or "") in row
        # The document is named by its printed title, not only by its key.
        assert "T/TAF 078.6-2020" in basis[0]
        assert len(article.css(".evidence-item")) == len(finding.evidence)
        assert i18n.severity_label(finding.severity, lang) in _text_of(article, "table.meta")  # type: ignore[arg-type]
        assert i18n.confidence_label(finding.confidence, lang) == _text_of(article, ".confidence")  # type: ignore[arg-type]
        assert finding.fingerprint in text


def _text_of(node: LexborNode, selector: str) -> str:
    return _node(node, selector).text(separator=" ", strip=True)


def test_evidence_details_by_kind(handmade_report: ScanReport) -> None:
    tree = _parse(render_html(handmade_report, lang="en"))
    call_path = _node(tree, ".evidence-call_path")
    chain = [li.text(strip=True) for li in call_path.css("ol.chain li")]
    assert chain[0] == "com.example.shop.ShopApp->onCreate()V"
    assert chain[-1].startswith("Landroid/location/LocationManager;->getLastKnownLocation")
    assert "Application.onCreate" in call_path.text()
    api = _node(tree, ".evidence-api_call").text(separator=" ")
    assert "android.telephony.TelephonyManager.getDeviceId()" in api
    assert "com.umeng.commonsdk.statistics.common.DeviceConfig.getImei" in api  # caller class and method
    assert "classes.dex @ 42" in api
    assert "SDK umeng-analytics" in api  # the call site's owner
    sdk = _node(tree, ".evidence-sdk").text(separator=" ")
    assert "Umeng Analytics" in sdk and "Umeng (Alibaba)" in sdk and "package_prefix: com.umeng.analytics" in sdk
    component = _node(tree, ".evidence-component").text(separator=" ")
    assert "cn.jpush.android.service.PushReceiver" in component and "BOOT_COMPLETED" in component
    assert "READ_CONTACTS" in _node(tree, ".evidence-permission").text()
    assert i18n.pi_type_label("contacts", "en") in _node(tree, ".evidence-permission").text()  # PI type by name
    assert "alog.umeng.com" in _node(tree, ".evidence-endpoint").text()
    # A kind without a dedicated layout still shows its summary line.
    assert "0 bundled policy documents" in _node(tree, ".evidence-policy_absence").text()


def test_undecided_and_not_implemented_are_listed(handmade_report: ScanReport) -> None:
    for lang in ("zh", "en"):
        tree = _parse(render_html(handmade_report, lang=lang))
        undecided = [r.text(separator=" ") for r in tree.css(".undecided-rule")]
        assert len(undecided) == 1 and "AW-POLICY-002" in undecided[0] and "--policy" in undecided[0]
        listed = [_node(li, "code").text() for li in tree.css(".not-implemented-rule")]
        assert sorted(listed) == ["AW-M164-001", "AW-M26-001"]


def test_hostile_label_is_escaped(handmade_report: ScanReport) -> None:
    html = render_html(handmade_report)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    tree = _parse(html)
    assert tree.css("script") == []
    assert "<script>alert(1)</script>" in _text(tree, "#identity")  # shown as text, not run


def test_hostile_evidence_text_is_escaped(handmade_report: ScanReport) -> None:
    finding = handmade_report.findings[0]
    hostile_ref = finding.evidence[0].model_copy(
        update={"summary": '"><img src=x onerror=alert(2)>', "data": {"steps": ["<b>x</b>"], "target": "</li>"}}
    )
    hostile = handmade_report.model_copy(
        update={"findings": [finding.model_copy(update={"evidence": [hostile_ref], "message_zh": "<iframe>"})]}
    )
    html = render_html(hostile)
    tree = _parse(html)
    assert tree.css("img") == [] and tree.css("iframe") == [] and tree.css("b") == []
    assert "&lt;iframe&gt;" in html


def test_self_contained_no_external_resources(sdkdemo_report: ScanReport) -> None:
    html = render_html(sdkdemo_report, lang="en")
    tree = _parse(html)
    assert tree.css("script") == [] and tree.css("link") == [] and tree.css("img") == []
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    style = _text(tree, "style")
    assert "size: A4" in style and "break-before: page" in style


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_real_report_renders_every_finding(sdkdemo_report: ScanReport, lang: str) -> None:
    tree = _parse(render_html(sdkdemo_report, lang=lang))
    assert len(tree.css("article.finding")) == len(sdkdemo_report.findings)
    assert len(tree.css("#findings-index tbody tr")) == len(sdkdemo_report.findings)
    assert sdkdemo_report.app.apk_sha256 == _text(tree, "#apk-sha256")
    sdk_rows = tree.css("#sdk-inventory tbody tr")
    assert sdkdemo_report.evidence is not None and len(sdk_rows) == len(sdkdemo_report.evidence.sdks)
    # Every not-run rule is listed once, grouped by the technique it needs.
    assert len(tree.css(".not-implemented-rule")) == len(sdkdemo_report.not_implemented)


def test_run_metadata_is_shown_when_given(handmade_report: ScanReport) -> None:
    run = RunInfo(started_at="2026-11-29T07:00:00Z", finished_at="2026-11-29T07:00:03Z", duration_seconds=3.0)
    with_run = _text(_parse(render_html(handmade_report, lang="en", run=run)), "#versions")
    without = _text(_parse(render_html(handmade_report, lang="en")), "#versions")
    assert "2026-11-29T07:00:00Z" in with_run and "3.00" in with_run
    assert "2026-11-29" not in without


def test_english_report_has_no_chinese_labels(handmade_report: ScanReport) -> None:
    report = handmade_report.model_copy(update={"app": handmade_report.app.model_copy(update={"label": "Shop"})})
    tree = _parse(render_html(report, lang="en"))
    # Headings and label cells only: data (vendor names, document titles) is printed as issued.
    for node in tree.css("thead th, table.kv th, h1, h2, h4, .ev-kind"):
        assert not re.search(r"[\u4e00-\u9fff]", node.text()), node.text()


def test_unknown_language_is_refused(handmade_report: ScanReport) -> None:
    with pytest.raises(ConfigurationError, match="zh, en"):
        render_html(handmade_report, lang="fr")


def test_label_tables_have_the_same_keys() -> None:
    assert set(i18n.LABELS["zh"]) == set(i18n.LABELS["en"])
    for table in (
        i18n.SEVERITY_LABELS,
        i18n.CONFIDENCE_LABELS,
        i18n.TECHNIQUE_LABELS,
        i18n.FOCUS_AREA_LABELS,
        i18n.EVIDENCE_KIND_LABELS,
        i18n.ENTRY_KIND_LABELS,
        i18n.POLICY_FIELD_LABELS,
    ):
        assert set(table["zh"]) == set(table["en"])


def test_readable_api() -> None:
    assert readable_api("Landroid/location/LocationManager;->getLastKnownLocation(Ljava/lang/String;)V") == (
        "android.location.LocationManager.getLastKnownLocation()"
    )
    assert readable_api("Landroid/os/Build;->SERIAL:Ljava/lang/String;") == "android.os.Build.SERIAL"
    assert readable_api("content://sms/inbox") == "content://sms/inbox"


def test_policy_summary_is_shown_and_escaped(handmade_report: ScanReport) -> None:
    policy = {
        "source": "policy.html",
        "title": "<b>隐私政策</b>",
        "sentences": 120,
        "missing": ["CR-RETENTION", "CR-CANCEL"],
        "pi_types": ["contacts"],
        "operator": None,
    }
    tree = _parse(render_html(handmade_report.model_copy(update={"policy": policy}), lang="en"))
    rows = {_node(r, "th").text(strip=True): _node(r, "td").text(strip=True) for r in tree.css("#policy-summary tr")}
    labels = i18n.POLICY_FIELD_LABELS["en"]
    assert rows[labels["title"]] == "<b>隐私政策</b>"
    assert rows[labels["sentences"]] == "120"
    assert rows[labels["missing"]] == "CR-RETENTION, CR-CANCEL"
    assert rows[labels["pi_types"]] == i18n.pi_type_label("contacts", "en")
    assert labels["operator"] not in rows  # empty values are left out
    assert tree.css("#summary b") == []
    assert _parse(render_html(handmade_report)).css("#policy-summary") == []


def test_oversized_evidence_is_cut_in_the_page(handmade_report: ScanReport) -> None:
    finding = handmade_report.findings[0]
    steps = [f"com.example.F{i}->m()V" for i in range(500)]
    big = finding.evidence[0].model_copy(update={"data": {**finding.evidence[0].data, "steps": steps}})
    api = handmade_report.findings[1].evidence[1]
    long_api = api.model_copy(update={"data": {**api.data, "caller_class": "a" * 100_000}})
    report = handmade_report.model_copy(
        update={
            "findings": [
                finding.model_copy(update={"evidence": [big]}),
                handmade_report.findings[1].model_copy(update={"evidence": [long_api]}),
            ]
        }
    )
    html = render_html(report, lang="en")
    tree = _parse(html)
    chain = [li.text(strip=True) for li in _node(tree, ".evidence-call_path").css("ol.chain li")]
    assert len(chain) == 42 and chain[40] == "… (+460)" and "getLastKnownLocation" in chain[41]
    assert len(html) < 200_000


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_finding_lists_the_other_rules_it_stands_for(handmade_report: ScanReport, lang: str) -> None:
    first = handmade_report.findings[0].model_copy(update={"also_rule_ids": ["AW-RDM-031", "AW-SAG-016"]})
    report = handmade_report.model_copy(update={"findings": [first, *handmade_report.findings[1:]]})
    tree = _parse(render_html(report, lang=lang))
    also = _text_of(tree.css("article.finding")[0], ".also-rules")
    assert "AW-RDM-031" in also and "AW-SAG-016" in also
    assert i18n.label("also_rules", lang) in also  # type: ignore[arg-type]
    assert len(tree.css("article.finding")[1].css(".also-rules")) == 0
