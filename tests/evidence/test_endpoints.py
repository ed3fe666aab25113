"""URL extraction and vendor-domain attribution."""

from __future__ import annotations

from appwarden.evidence.catalogs import SdkCatalog, SdkDefinition, Vendor
from appwarden.evidence.endpoints import DomainIndex, collect_endpoints, find_urls

CATALOG = SdkCatalog(
    version="t",
    sdks=(
        SdkDefinition(id="bugly", name="Bugly", vendor="tencent", domains=("bugly.qq.com",)),
        SdkDefinition(id="gdt", name="GDT", vendor="tencent"),
    ),
    vendors={
        "tencent": Vendor("tencent", "Tencent", "腾讯", (), "CN", ("qq.com",)),
        "baidu": Vendor("baidu", "Baidu", "百度", (), "CN", ("baidu.com",)),
    },
)


def test_find_urls_trims_and_skips_schema_and_licence_hosts() -> None:
    text = (
        'see "https://api.shop.cn/v1/login?x=1", http://schemas.android.com/apk/res/android '
        "http://www.w3.org/2000/svg http://www.apache.org/licenses/LICENSE-2.0 (wss://push.example.cn/ws)."
    )
    assert find_urls(text) == ["https://api.shop.cn/v1/login?x=1", "wss://push.example.cn/ws"]
    assert find_urls("http://nohost") == []


def test_domain_attribution_prefers_sdk_specific_domains() -> None:
    idx = DomainIndex(CATALOG, detected_sdks=["gdt"])
    assert idx.owner("android.bugly.qq.com").sdk == "bugly"  # type: ignore[union-attr]
    assert idx.owner("mi.gdt.qq.com").sdk == "gdt"  # type: ignore[union-attr]  # vendor domain -> detected SDK of that vendor
    assert idx.owner("notqq.com") is None


def test_collect_endpoints_sources_owners_and_third_party() -> None:
    idx = DomainIndex(CATALOG)
    eps = collect_endpoints(
        code_strings=[
            ("com.tencent.bugly.Up", "bugly", "https://android.bugly.qq.com/rqd"),
            ("com.x.Api", "app", "https://api.x.cn/a"),
        ],
        resource_strings={"policy": "https://www.x.cn/privacy.html", "plain": "hello"},
        asset_texts=[("assets/cfg.json", '{"u": "https://www.baidu.com/s"}')],
        domains=idx,
        app_package="com.baidu.searchbox",
    )
    by_url = {e.url: e for e in eps}
    assert by_url["https://android.bugly.qq.com/rqd"].third_party is True
    assert (
        by_url["https://android.bugly.qq.com/rqd"].sdk == "bugly"
        and by_url["https://android.bugly.qq.com/rqd"].owner == "bugly"
    )
    assert by_url["https://api.x.cn/a"].third_party is None and by_url["https://api.x.cn/a"].source == "dex:com.x.Api"
    assert by_url["https://www.x.cn/privacy.html"].source == "res:string/policy"
    assert by_url["https://www.baidu.com/s"].third_party is False  # the operator's own vendor
    assert [e.url for e in eps] == sorted(e.url for e in eps)
