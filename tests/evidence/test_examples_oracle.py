"""examples/README.md is the oracle: every catalogued call site and every endpoint it lists is found.

Rows whose API is not in regs/apis.yaml (framework calls listed for context, packer loaders) are
checked elsewhere (hardening); here only APIs appwarden catalogues are required.
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from appwarden.evidence.catalogs import api_specs
from appwarden.evidence.extract import extract_evidence
from appwarden.evidence.model import Evidence
from support import EXAMPLES

README = EXAMPLES / "README.md"
ROW = re.compile(r"^\| `(L[^`]+;)->([^`]+)` \| `([^`]+)` \| ([^|]+) \|", re.MULTILINE)
ENDPOINT_ROW = re.compile(r"^\| `([a-z]+://[^`]+)` \| (code|resource) `([^`]+)` \| ([^|]+) \|", re.MULTILINE)


def sections() -> dict[str, str]:
    if not README.exists():
        pytest.skip("examples/README.md (the sample-app oracle) is not present")
    text = README.read_text(encoding="utf-8")
    parts = re.split(r"^### (\w+)\s*$", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


@cache
def evidence(name: str) -> Evidence:
    path = EXAMPLES / f"{name}.apk"
    if not path.exists():
        pytest.skip(f"{path.name} is not built")
    return extract_evidence(path)


def _table(section: str, title: str) -> str:
    start = section.find(f"**{title}**")
    if start < 0:
        return ""
    end = section.find("\n\n", section.find("|", start))
    return section[start : end if end > 0 else None]


SAMPLE_NAMES = ["sdkdemo", "multidex", "obfuscated", "autostart", "policy", "packed", "plain"]


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_catalogued_call_sites_are_found_with_their_owner(name: str) -> None:
    section = sections().get(name)
    if section is None:
        pytest.skip(f"no section for {name}")
    catalogued = {s.descriptor for s in api_specs()}
    ev = evidence(name)
    found = {(c.caller_class, c.caller_method, c.api): c for c in ev.api_calls}
    rows = ROW.findall(_table(section, "Call sites"))
    checked = 0
    for cls, method, api, owner in rows:
        if api not in catalogued:
            continue
        caller = cls[1:-1].replace("/", ".")
        call = found.get((caller, method, api))
        assert call is not None, f"{name}: missing {caller}->{method} calls {api}"
        expected_owner = owner.split()[0]
        assert call.owner == expected_owner, f"{name}: {caller} owner {call.owner} != {expected_owner}"
        checked += 1
    if name == "plain":
        assert ev.api_calls == []
    elif name != "packed":
        assert checked, f"{name}: oracle rows not parsed"


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_endpoints_are_found_in_the_named_place(name: str) -> None:
    section = sections().get(name)
    if section is None:
        pytest.skip(f"no section for {name}")
    ev = evidence(name)
    by_url: dict[str, list[str]] = {}
    for e in ev.endpoints:
        by_url.setdefault(e.url, []).append(e.source)
    for url, where, place, owner in ENDPOINT_ROW.findall(_table(section, "Endpoints")):
        source = f"dex:{place[1:-1].replace('/', '.')}" if where == "code" else f"res:{place}"
        assert source in by_url.get(url, []), f"{name}: {url} not found in {source} ({by_url.get(url)})"
        expected_owner = owner.split()[0]
        got = next(e for e in ev.endpoints if e.url == url and e.source == source)
        assert got.owner == expected_owner.rstrip(":"), f"{name}: {url} owner {got.owner}"


def test_sdkdemo_lists_the_seven_sdks_of_the_oracle() -> None:
    section = sections().get("sdkdemo", "")
    table = section[section.find("| SDK id |") : section.find("**Call sites**")]
    expected = set(re.findall(r"^\| `([^`]+)`(?: \([^)]*\))? \| ", table, re.MULTILINE))
    assert expected, "SDK table not parsed"
    assert {s.id for s in evidence("sdkdemo").sdks} == expected


def test_early_paths_of_the_oracle() -> None:
    sdkdemo = evidence("sdkdemo")
    kinds = {(p.entry_kind, p.target, p.owner) for p in sdkdemo.early_paths}
    clip = "Landroid/content/ClipboardManager;->getPrimaryClip()Landroid/content/ClipData;"
    assert ("application_create", clip, "极光推送") in kinds
    assert ("boot_receiver", clip, "极光推送") in kinds  # PushReceiver wakes up on USER_PRESENT
    assert not any("ContactReader" in s for p in sdkdemo.early_paths for s in p.steps)  # contacts only after a click
    policy = evidence("policy")
    assert not [p for p in policy.early_paths if p.target_kind == "api_call" and p.pi_types]
    multidex = evidence("multidex")
    assert any(
        p.steps[-1].endswith("DeviceIdReader->read(Landroid/content/Context;)Ljava/lang/String;")
        for p in multidex.early_paths
    )
