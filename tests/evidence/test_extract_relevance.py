"""Relevance filtering (decide per reference, not per instruction) must not change any fact.

The reference path indexes every invoke, field read and const-string, as extract.py did before
filtering; the filtered path must give byte-identical Evidence on the sample apps and on the
real-world corpus APKs small enough for a unit test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appwarden.evidence import extract
from appwarden.evidence.catalogs import api_specs, sdk_catalog
from appwarden.evidence.extract import CONSENT_MARKERS, code_relevance, extract_evidence, mutf8
from appwarden.evidence.sdk import SdkDetector
from support import EXAMPLES, ROOT

SAMPLES = ["sdkdemo", "multidex", "obfuscated", "autostart", "policy", "packed", "plain"]
#: Real-world APKs from bench/fetch_corpus.sh that take a few seconds at most on the reference path.
CORPUS = ["settings_apk-debug.apk", "appium-uiautomator2-server-debug-androidTest.apk"]


def _both_paths(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    filtered = extract_evidence(path).model_dump_json()
    with monkeypatch.context() as patch:
        patch.setattr(extract, "_RELEVANCE", extract._keep_everything)
        reference = extract_evidence(path).model_dump_json()
    return filtered, reference


@pytest.mark.parametrize("name", SAMPLES)
def test_filtered_index_gives_the_same_evidence_on_samples(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = EXAMPLES / f"{name}.apk"
    if not path.exists():
        pytest.skip(f"{path.name} is not built")
    filtered, reference = _both_paths(path, monkeypatch)
    assert filtered == reference


@pytest.mark.parametrize("name", CORPUS)
def test_filtered_index_gives_the_same_evidence_on_corpus(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "bench" / "corpus" / name
    if not path.exists():
        pytest.skip(f"{name} is not fetched (bash bench/fetch_corpus.sh)")
    filtered, reference = _both_paths(path, monkeypatch)
    assert filtered == reference


def test_mutf8_matches_dex_string_data() -> None:
    assert mutf8("content://sms") == b"content://sms"
    assert mutf8("同意") == "同意".encode()
    assert mutf8("a\0b") == b"a\xc0\x80b"
    # Astral characters are stored as two 3-byte surrogates, not one 4-byte UTF-8 sequence.
    assert mutf8("\U0001f600") == b"\xed\xa0\xbd\xed\xb8\x80"


def test_relevance_keeps_what_the_fact_modules_match() -> None:
    catalog = sdk_catalog()
    detector = SdkDetector(catalog)
    defined = {
        "Lcom/example/Main;": {"Landroid/app/Activity;"},
        "Lcom/example/Other;": {"Ljava/lang/Object;"},
        "Lcom/example/Listener;": {"Landroid/service/notification/NotificationListenerService;"},
        "Lcom/example/SubListener;": {"Lcom/example/Listener;"},
    }
    relevance = code_relevance(api_specs(), catalog, detector, defined)
    # Defined: the call graph follows it.
    assert relevance.defines(["Lcom/example/Main;", "Ljava/lang/Object;"]) == [True, False]
    # An app class inheriting a catalogued API: invokes naming the subclass match that API.
    assert relevance.keep_class("Lcom/example/SubListener;")
    assert relevance.keep_class("Landroid/telephony/TelephonyManager;")  # catalogued API class
    assert relevance.keep_class("Ldalvik/system/DexClassLoader;")  # code hiding
    assert relevance.keep_class("Ljava/lang/reflect/Method;")
    assert relevance.keep_class("Landroid/app/Activity;")  # resolved through FRAMEWORK_SUPERCLASSES
    umeng = next((p for s in catalog.sdks for p in s.prefixes if p.startswith("com.umeng")), None)
    if umeng:
        # An SDK may own it: find_called_sdks reads such invokes by class pair, no body keeps them.
        assert relevance.sdk_class("L" + umeng.replace(".", "/") + "/Anything;")
        assert not relevance.keep_class("L" + umeng.replace(".", "/") + "/Anything;")
    assert not relevance.sdk_class("Lcom/example/Other;")
    assert not relevance.keep_class("Ljava/lang/StringBuilder;")
    assert not relevance.keep_class("Lcom/example/Other;")
    assert b"://" in relevance.string_needles
    assert all(mutf8(m) in relevance.string_needles for m in CONSENT_MARKERS)
    assert b"agree" in relevance.string_needles_ignore_case


def test_call_graph_completes_deferred_method_bodies() -> None:
    from appwarden.evidence.callgraph import EntryPoint, early_paths
    from appwarden.evidence.calls import ClassInfo, MethodBody, ProgramIndex
    from appwarden.evidence.model import ApiCall

    program = ProgramIndex()
    app = ClassInfo(descriptor="Lcom/example/App;", dex="classes.dex", superclass="Landroid/app/Application;")
    helper = ClassInfo(descriptor="Lcom/example/Helper;", dex="classes.dex")
    program.add_class(app)
    program.add_class(helper)
    on_create = MethodBody("classes.dex", app.descriptor, "onCreate()V", dispatch_offsets=set())
    collect = MethodBody("classes.dex", helper.descriptor, "collect()V", dispatch_offsets=set())
    app.methods[on_create.signature] = on_create
    helper.methods[collect.signature] = collect
    filled: list[str] = []

    def fill() -> None:  # what extract.py defers: a call-graph-only invoke of an app method
        filled.append(on_create.signature)
        on_create.invokes = [(3, "Lcom/example/Helper;->collect()V")]

    on_create.deferred = fill
    call = ApiCall(
        api="Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;",
        kind="invoke",
        pi_types=["device_id"],
        owner="app",
        caller_class="com.example.Helper",
        caller_method="collect()V",
        dex="classes.dex",
        offset=0,
    )
    paths = early_paths(program, [EntryPoint("application_create", on_create.descriptor)], [call], [])
    assert [p.steps for p in paths] == [["com.example.App->onCreate()V", "com.example.Helper->collect()V"]]
    assert filled == ["onCreate()V"] and on_create.deferred is None
    assert on_create.complete() is on_create and filled == ["onCreate()V"]  # runs once
