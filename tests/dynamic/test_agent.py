"""The recording agent: its hook list is the one apis.yaml implies, the JS is valid, and what it writes loads."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from appwarden.agent import AgentSettings, agent_source, build_agent, hook_list, java_name, split_params, unhookable
from appwarden.agent.__main__ import main as agent_main
from appwarden.agent.record import TraceSink, consent_message
from appwarden.evidence.trace import ApiCallEvent, ConsentEvent, default_owners, load_trace

ROOT = Path(__file__).resolve().parents[2]
APIS = ROOT / "src" / "appwarden" / "data" / "regs" / "apis.yaml"
MOCK = Path(__file__).with_name("frida_mock.js")
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed: cannot check the Frida script")


def _yaml_hook_descriptors() -> set[str]:
    """Read apis.yaml directly (not through appwarden.agent): invoke and class_any entries are hooked."""
    apis = yaml.safe_load(APIS.read_text(encoding="utf-8"))["apis"]
    return {a["descriptor"] for a in apis if a["kind"] in ("invoke", "class_any") and a.get("descriptor")}


def test_hook_list_is_derived_from_apis_yaml() -> None:
    hooks = hook_list()
    assert {h.descriptor for h in hooks} == _yaml_hook_descriptors()
    assert len(hooks) == len(_yaml_hook_descriptors())
    by_descriptor = {h.descriptor: h for h in hooks}
    imei = by_descriptor["Landroid/telephony/TelephonyManager;->getDeviceId(I)Ljava/lang/String;"]
    assert (imei.class_name, imei.method, imei.params, imei.event) == (
        "android.telephony.TelephonyManager",
        "getDeviceId",
        ("int",),
        "api_call",
    )
    android_id = by_descriptor[
        "Landroid/provider/Settings$Secure;->getString(Landroid/content/ContentResolver;Ljava/lang/String;)Ljava/lang/String;"
    ]
    assert android_id.string_argument == ("android_id",)
    assert android_id.class_name == "android.provider.Settings$Secure"
    assert by_descriptor["Landroid/content/ClipboardManager;->getPrimaryClip()Landroid/content/ClipData;"].event == (
        "clipboard_read"
    )
    assert by_descriptor["Landroid/content/ClipboardManager;->setPrimaryClip(Landroid/content/ClipData;)V"].event == (
        "api_call"
    )
    assert by_descriptor["Landroid/media/AudioRecord;-><init>(IIIII)V"].method == "$init"
    assert all(h.event == "sensor" for h in hooks if h.method == "registerListener")


def test_every_unhooked_entry_has_a_reason() -> None:
    apis = yaml.safe_load(APIS.read_text(encoding="utf-8"))["apis"]
    hooked = _yaml_hook_descriptors()
    reasons = dict(unhookable())
    for api in apis:
        descriptor = api.get("descriptor") or api.get("class")
        if descriptor in hooked or str(descriptor).startswith("content://") or api["kind"] == "content_uri":
            continue
        assert reasons.get(descriptor), f"{descriptor} is neither hooked nor explained"


@pytest.mark.parametrize(
    ("dex", "java"),
    [
        ("I", "int"),
        ("Ljava/lang/String;", "java.lang.String"),
        ("[B", "[B"),
        ("[Ljava/lang/String;", "[Ljava.lang.String;"),
    ],
)
def test_java_names_for_frida_overloads(dex: str, java: str) -> None:
    assert java_name(dex) == java


def test_split_params() -> None:
    assert split_params("Ljava/lang/String;JF[[ILandroid/os/Looper;Z") == [
        "Ljava/lang/String;",
        "J",
        "F",
        "[[I",
        "Landroid/os/Looper;",
        "Z",
    ]
    with pytest.raises(ValueError, match="not a DEX type"):
        java_name("Q")


def test_the_script_holds_no_api_list_of_its_own() -> None:
    source = agent_source()
    assert not re.search(r"L[a-z]+/[\w/$]+;->", source), "DEX descriptors belong in apis.yaml only"
    for name in ("getDeviceId", "getLastKnownLocation", "getInstalledPackages", "getPrimaryClip"):
        assert name not in source


@needs_node
def test_javascript_parses(tmp_path: Path) -> None:
    assert NODE is not None
    source = ROOT / "src" / "appwarden" / "agent" / "frida_agent.js"
    subprocess.run([NODE, "--check", str(source)], check=True, capture_output=True, timeout=60)
    bundle = tmp_path / "agent.js"
    bundle.write_text(build_agent(AgentSettings(agree_ids=("btn_agree",))), encoding="utf-8")
    subprocess.run([NODE, "--check", str(bundle)], check=True, capture_output=True, timeout=60)


def _run_mock(tmp_path: Path) -> dict[str, Any]:
    assert NODE is not None
    bundle = tmp_path / "agent.js"
    bundle.write_text(build_agent(AgentSettings(package="com.example.shop", device="pixel")), encoding="utf-8")
    done = subprocess.run([NODE, str(MOCK), str(bundle)], check=True, capture_output=True, timeout=60, text=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@needs_node
def test_bundle_installs_exactly_the_yaml_hooks(tmp_path: Path) -> None:
    result = _run_mock(tmp_path)
    assert set(result["installed"]) == _yaml_hook_descriptors()
    installs = {
        (i["class"], i["method"], tuple(i["params"]) if i["params"] is not None else None) for i in result["installs"]
    }
    for hook in hook_list():
        method = "declaredMethod" if hook.method == "*" else hook.method
        assert (hook.class_name, method, hook.params) in installs, hook.descriptor


@needs_node
def test_what_the_agent_writes_is_a_valid_trace(tmp_path: Path) -> None:
    lines = _run_mock(tmp_path)["lines"]
    trace = load_trace(("\n".join(lines) + "\n").encode())
    assert trace.header.package == "com.example.shop"
    assert trace.header.device == "pixel"
    call, consent = trace.events
    assert isinstance(call, ApiCallEvent) and isinstance(consent, ConsentEvent)
    assert call.pi_types and "imei" in call.pi_types
    owner = default_owners().owner_of_stack(call.stack)
    assert default_owners().catalog.by_id()[owner].vendor == "umeng"
    assert (consent.kind, consent.marker) == ("agree", "rpc")


def test_recorder_saves_trace_lines_and_maps_keys() -> None:
    out = io.StringIO()
    logged: list[str] = []
    sink = TraceSink(out, logged.append)
    sink.on_message({"type": "send", "payload": {"appwarden_trace_line": '{"type":"header"}'}})
    sink.on_message({"type": "send", "payload": {"appwarden_ready": {"hooks": 3}}})
    sink.on_message({"type": "error", "description": "boom"})
    assert out.getvalue() == '{"type":"header"}\n' and sink.lines == 1
    assert logged == ["agent: {'appwarden_ready': {'hooks': 3}}", "agent error: boom"]
    assert consent_message("a\n") == {"type": "consent", "kind": "agree"}
    assert consent_message("W") == {"type": "consent", "kind": "withdraw"}
    assert consent_message("x") is None


def test_cli_builds_the_bundle_and_lists_hooks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "agent.js"
    assert agent_main(["build", "-o", str(out), "--agree-id", "btn_ok", "--package", "com.example.shop"]) == 0
    text = out.read_text(encoding="utf-8")
    prelude = json.loads(text.split("const APPWARDEN = ", 1)[1].split(";\n", 1)[0])
    assert prelude["settings"]["consent"]["agree_ids"] == ["btn_ok"]
    assert {h["descriptor"] for h in prelude["hooks"]} == _yaml_hook_descriptors()
    assert agent_main(["hooks"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert len(listing["hooks"]) == len(_yaml_hook_descriptors())
