"""tools/build_sdk_catalog.py: conversion rules, determinism, and the shipped file being current."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM = ROOT.parent / "shared" / "sdk" / "sdk_catalog.json"
DATA = ROOT / "src" / "appwarden" / "data" / "sdk"

spec = importlib.util.spec_from_file_location("build_sdk_catalog", ROOT / "tools" / "build_sdk_catalog.py")
assert spec and spec.loader
build_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_tool)


def test_regex_to_prefix() -> None:
    assert build_tool.regex_to_prefix(r"com\.bytedance\.sdk\.openadsdk\.(.*)") == "com.bytedance.sdk.openadsdk"
    assert build_tool.regex_to_prefix("com.alipay.(.*)") == "com.alipay"
    assert build_tool.regex_to_prefix(r"com\.bytedance\.mira\.stub\.p[0-9]*\.StubService[0-9]*$") is None


def test_broad_rule() -> None:
    assert build_tool.is_broad("okhttp3", set())
    assert build_tool.is_broad("com.umeng", {"com.umeng"})
    assert not build_tool.is_broad("com.umeng.analytics", {"com.umeng"})


def test_additions_merge_and_new_entries(tmp_path: Path) -> None:
    upstream = {
        "generated": "x",
        "vendors": {"v": {"name": "V", "name_zh": "维", "legal_names_zh": [], "country": "CN", "domains": []}},
        "sdks": [
            {
                "id": "a",
                "name": "A",
                "name_zh": None,
                "vendor": {"id": "v"},
                "country": "CN",
                "categories": ["ads"],
                "code_signatures": {
                    "prefixes": ["com.v", "com.v.a", "libx.so"],
                    "broad_prefixes": [],
                    "regex": [r"com\.v\.b\.(.*)"],
                },
                "manifest_signatures": [],
                "native_lib_signatures": {"names": [], "regex": []},
                "network_signatures": {"regex": [], "domains": []},
                "pi_collected": ["imei"],
                "sources": ["libchecker"],
            }
        ],
    }
    (tmp_path / "up.json").write_text(json.dumps(upstream))
    (tmp_path / "additions.yaml").write_text(
        "broad_namespaces: [com.v]\nvendor_domains: {v: [v.cn]}\n"
        "sdks:\n- {id: a, drop_prefixes: [com.v.a], prefixes: [com.v.c]}\n- {id: n, name: N, vendor: v, prefixes: [com.v.n, com.v.b]}\n"
    )
    out = build_tool.build(tmp_path / "up.json", tmp_path / "additions.yaml")
    sdks = {s["id"]: s for s in out["sdks"]}
    assert sdks["a"]["prefixes"] == ["com.v.c"] and sdks["a"]["broad_prefixes"] == ["com.v"]
    assert sdks["n"]["prefixes"] == ["com.v.b", "com.v.n"]  # curated entries win a contested prefix
    assert sdks["n"]["country"] == "CN" and out["vendors"]["v"]["domains"] == ["v.cn"]
    assert out == build_tool.build(tmp_path / "up.json", tmp_path / "additions.yaml")  # deterministic


@pytest.mark.skipif(not UPSTREAM.exists(), reason="shared upstream catalog /work/shared/sdk not present")
def test_shipped_catalog_is_current() -> None:
    built = build_tool.build(UPSTREAM, DATA / "additions.yaml")
    shipped = json.loads((DATA / "catalog.json").read_text(encoding="utf-8"))
    assert shipped == built, "catalog.json is stale: run tools/build_sdk_catalog.py"


def _upstream_sdk(sdk_id: str, prefixes: list[str], vendor: dict[str, str] | None) -> dict[str, object]:
    return {
        "id": sdk_id,
        "name": sdk_id.title(),
        "vendor": vendor,
        "code_signatures": {"prefixes": prefixes, "broad_prefixes": [], "regex": []},
        "sources": ["libchecker"],
    }


def test_every_sdk_names_a_vendor_the_catalog_defines(tmp_path: Path) -> None:
    upstream = {
        "generated": "x",
        "vendors": {"google": {"name": "Google", "country": "US"}},
        "sdks": [
            _upstream_sdk("inline", ["com.acra.core"], {"id": "v-acra", "name": "ACRA"}),  # vendor given inline only
            _upstream_sdk("jetpack-x", ["androidx.activity"], None),  # a trusted namespace
            _upstream_sdk("kotlin-y", ["kotlinx.coroutines"], None),
            _upstream_sdk("old-lib", ["com.koushikdutta.async"], None),  # the namespace's domain
            _upstream_sdk("uk-lib", ["uk.co.senab.photoview"], None),
            _upstream_sdk("native-only", [], None),  # nothing to go by
        ],
    }
    (tmp_path / "up.json").write_text(json.dumps(upstream))
    (tmp_path / "additions.yaml").write_text(
        "vendor_namespaces: {androidx: google, kotlin: jetbrains, kotlinx: jetbrains}\n"
        "vendors: {jetbrains: {name: JetBrains}}\n"
    )
    out = build_tool.build(tmp_path / "up.json", tmp_path / "additions.yaml")
    vendor_of = {s["id"]: s["vendor"] for s in out["sdks"]}
    assert vendor_of == {
        "inline": "v-acra",
        "jetpack-x": "google",
        "kotlin-y": "jetbrains",
        "old-lib": "ns-koushikdutta.com",
        "uk-lib": "ns-senab.co.uk",
        "native-only": None,
    }
    assert out["vendors"]["v-acra"]["name"] == "ACRA"
    assert out["vendors"]["ns-koushikdutta.com"]["name"] == "koushikdutta.com (package namespace owner)"
    assert {v for v in vendor_of.values() if v} <= set(out["vendors"])


def test_namespace_vendors_must_be_defined(tmp_path: Path) -> None:
    (tmp_path / "up.json").write_text(json.dumps({"generated": "x", "vendors": {}, "sdks": []}))
    (tmp_path / "additions.yaml").write_text("vendor_namespaces: {androidx: nobody}\n")
    with pytest.raises(SystemExit, match="nobody"):
        build_tool.build(tmp_path / "up.json", tmp_path / "additions.yaml")
