"""Bundled policy documents, policy URLs and consent strings."""

from __future__ import annotations

import hashlib

from appwarden.evidence.policy_signals import PackagedFile, decode_text, policy_signals


def test_documents_by_name_or_content_urls_and_consent() -> None:
    html = "<html><head><title>隐私政策</title></head><body>我们收集…</body></html>".encode()
    agreement = "用户协议\n欢迎使用".encode("gb18030")
    files = [
        PackagedFile("assets/privacy_policy.html", len(html), html),
        PackagedFile("res/raw/terms.txt", len(agreement), agreement),
        PackagedFile("assets/readme.txt", 20, "本应用的隐私政策如下".encode()),
        PackagedFile("assets/config.json", 2, b"{}"),
        PackagedFile("res/layout/privacy.xml", 2, b"<x/>"),
    ]
    signals = policy_signals(
        files,
        urls=["https://x.cn/privacy.html", "https://x.cn/api", "https://x.cn/yinsi"],
        strings={
            "res:string/consent": "请阅读《隐私政策》，点击同意即表示您同意",
            "res:string/agree_only": "同意",
            "res:string/title": "隐私政策",
        },
        code_strings=[("dex:com.x.Dialog", "I agree to the Privacy Policy of this app")],
    )
    docs = {d.path: d for d in signals.bundled_documents}
    assert set(docs) == {"assets/privacy_policy.html", "res/raw/terms.txt", "assets/readme.txt"}
    assert (
        docs["assets/privacy_policy.html"].title == "隐私政策"
        and docs["assets/privacy_policy.html"].media_type == "text/html"
    )
    assert docs["assets/privacy_policy.html"].sha256 == hashlib.sha256(html).hexdigest()
    assert docs["res/raw/terms.txt"].title == "用户协议"
    assert signals.urls == ["https://x.cn/privacy.html", "https://x.cn/yinsi"]
    assert [c.source for c in signals.consent_strings] == ["dex:com.x.Dialog", "res:string/consent"]
    assert signals.has_consent_dialog


def test_decode_text_never_raises() -> None:
    assert decode_text("中文".encode("utf-16")) == "中文"
    assert isinstance(decode_text(bytes(range(256))), str)
