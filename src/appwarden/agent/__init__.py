"""The recording agent: a Frida script that writes appwarden runtime traces, and its hook list.

The hooks come from ONE source of truth, ``data/regs/apis.yaml``: :func:`hook_list`
derives them, and :func:`build_agent` prepends that list (and the lab's settings) to
``frida_agent.js``, which holds no API list of its own. The bundle is what a lab loads
with ``frida -l``; see README.md beside this file.

Which apis.yaml entries become hooks:

- ``invoke`` -> a hook on that exact overload (``params`` from the DEX descriptor;
  ``<init>`` is Frida's ``$init``). Clipboard reads and sensor registrations produce
  ``clipboard_read`` and ``sensor`` events, the rest ``api_call`` events. Entries with
  ``match.string_argument`` record only calls whose string arguments contain one of the
  values; entries with ``match.uri_argument`` take their PI types from the Uri argument.
- ``class_any`` -> every declared method of the class.
- ``content_uri`` and ``content://`` ``string`` entries -> URIs watched on the Uri-argument hooks.
- ``field``, ``manifest_feature`` and intent-action ``string`` entries cannot be observed by
  hooking a call (a field read is not a call; intent actions are the permission-free
  pickers the standards recommend) and are listed in :func:`unhookable` with the reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from appwarden.evidence.trace import TRACE_FORMAT, TRACE_VERSION
from appwarden.regs import load_regs

#: Version of the recording agent, written into every trace header.
AGENT_VERSION = "1.0.0"

_PRIMITIVES = {
    "Z": "boolean",
    "B": "byte",
    "C": "char",
    "S": "short",
    "I": "int",
    "J": "long",
    "F": "float",
    "D": "double",
}
_DESCRIPTOR = re.compile(
    r"^L(?P<cls>[^;]+);->(?P<member>[^(:]+)(?:\((?P<params>[^)]*)\)(?P<ret>.+)|:(?P<field_type>.+))?$"
)
_CLIPBOARD_CLASSES = frozenset({"android.content.ClipboardManager", "android.text.ClipboardManager"})
_CLIPBOARD_WRITES = frozenset({"setPrimaryClip", "setText", "clearPrimaryClip"})

EventKind = Literal["api_call", "clipboard_read", "sensor"]


@dataclass(frozen=True)
class MethodHook:
    """One method the agent hooks (``params`` None: every overload)."""

    descriptor: str
    class_name: str
    method: str
    params: tuple[str, ...] | None
    pi_types: tuple[str, ...]
    event: EventKind
    string_argument: tuple[str, ...] = ()
    uri_argument: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "descriptor": self.descriptor,
            "class": self.class_name,
            "method": self.method,
            "params": list(self.params) if self.params is not None else None,
            "pi_types": list(self.pi_types),
            "event": self.event,
            "string_argument": list(self.string_argument),
            "uri_argument": self.uri_argument,
        }


@dataclass(frozen=True)
class WatchedUri:
    """A content URI (static field to read at run time, or a literal prefix) and the PI it gives."""

    pi_types: tuple[str, ...]
    field_class: str | None = None
    field: str | None = None
    prefix: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "field_class": self.field_class,
            "field": self.field,
            "prefix": self.prefix,
            "pi_types": list(self.pi_types),
        }


def java_name(dex_type: str) -> str:
    """Frida's overload name of a DEX type: ``Ljava/lang/String;`` -> ``java.lang.String``, ``I`` -> ``int``.

    Arrays keep JNI form with dots (``[B``, ``[Ljava.lang.String;``), as ``overload()`` expects.
    """
    if dex_type.startswith("["):
        return dex_type.replace("/", ".")
    if dex_type in _PRIMITIVES:
        return _PRIMITIVES[dex_type]
    if dex_type.startswith("L") and dex_type.endswith(";"):
        return dex_type[1:-1].replace("/", ".")
    raise ValueError(f"not a DEX type: {dex_type!r}")


def split_params(params: str) -> list[str]:
    """DEX parameter list ``Ljava/lang/String;I[B`` -> its types, in order."""
    out: list[str] = []
    i = 0
    while i < len(params):
        start = i
        while params[i] == "[":
            i += 1
        if params[i] == "L":
            i = params.index(";", i)
        i += 1
        out.append(params[start:i])
    return out


def _apis() -> list[dict[str, Any]]:
    data = load_regs("apis.yaml")
    return list(data.get("apis") or [])


def _event_kind(class_name: str, method: str) -> EventKind:
    if class_name in _CLIPBOARD_CLASSES and method not in _CLIPBOARD_WRITES:
        return "clipboard_read"
    if class_name == "android.hardware.SensorManager" and method == "registerListener":
        return "sensor"
    return "api_call"


def _method_hook(api: dict[str, Any]) -> MethodHook:
    descriptor = str(api["descriptor"])
    m = _DESCRIPTOR.match(descriptor)
    if m is None:
        raise ValueError(f"apis.yaml descriptor {descriptor!r} is not Lpkg/Class;->member form")
    class_name = m["cls"].replace("/", ".")
    member = m["member"]
    method = "$init" if member == "<init>" else member  # '*' (class_any): every declared method
    params = None if m["params"] is None else tuple(java_name(t) for t in split_params(m["params"]))
    raw_match = api.get("match")
    match: dict[str, Any] = raw_match if isinstance(raw_match, dict) else {}
    strings = tuple(s for s in str(match.get("string_argument", "")).split("|") if s)
    return MethodHook(
        descriptor=descriptor,
        class_name=class_name,
        method=method,
        params=params,
        pi_types=tuple(api.get("pi_types") or ()),
        event=_event_kind(class_name, member),
        string_argument=strings,
        uri_argument="uri_argument" in match,
    )


@lru_cache(maxsize=1)
def hook_list() -> tuple[MethodHook, ...]:
    """Every method hook apis.yaml implies, in file order (``invoke`` exact overloads, ``class_any`` all)."""
    hooks: list[MethodHook] = []
    for api in _apis():
        kind = api.get("kind")
        if kind == "invoke" and api.get("descriptor"):
            hooks.append(_method_hook(api))
        elif kind == "class_any" and api.get("descriptor"):
            # The descriptor (Landroid/provider/ContactsContract$Contacts;->*) names the class in binary form.
            hooks.append(_method_hook(api))
    return tuple(hooks)


@lru_cache(maxsize=1)
def watched_uris() -> tuple[WatchedUri, ...]:
    """Content URIs whose queries count as collection (apis.yaml ``content_uri`` and ``content://`` strings)."""
    out: list[WatchedUri] = []
    for api in _apis():
        pis = tuple(api.get("pi_types") or ())
        descriptor = str(api.get("descriptor") or "")
        if api.get("kind") == "content_uri":
            m = _DESCRIPTOR.match(descriptor)
            if m is not None:
                out.append(WatchedUri(pis, field_class=m["cls"].replace("/", "."), field=m["member"]))
        elif api.get("kind") == "string" and descriptor.startswith("content://"):
            out.append(WatchedUri(pis, prefix=descriptor))
    return tuple(out)


def unhookable() -> list[tuple[str, str]]:
    """apis.yaml entries the agent cannot observe by hooking a call, with the reason."""
    reasons = {
        "field": "a static field read is not a method call",
        "manifest_feature": "a manifest declaration, judged statically",
        "string": "an intent action for a permission-free system picker (compliant alternative)",
    }
    out: list[tuple[str, str]] = []
    for api in _apis():
        kind = str(api.get("kind"))
        descriptor = str(api.get("descriptor") or api.get("class") or "")
        if kind in reasons and not descriptor.startswith("content://"):
            out.append((descriptor, reasons[kind]))
    return out


@dataclass(frozen=True)
class AgentSettings:
    """What a lab sets per recording: where the trace goes and how the consent moment is marked."""

    package: str | None = None  # the app under test; default: the process's package
    output_path: str | None = None  # on-device path; default /data/data/<package>/files/appwarden-trace.jsonl
    agree_ids: tuple[str, ...] = ()  # resource-id entry names whose click means 'agree'
    disagree_ids: tuple[str, ...] = ()
    withdraw_ids: tuple[str, ...] = ()
    dialog_ids: tuple[str, ...] = ()  # resource ids whose appearance means the consent dialog is shown
    device: str = "unknown"
    splash_activities: tuple[str, ...] = ()  # activity class names to inspect as splash screens
    max_events_per_api_per_second: int = 50
    stack_depth: int = 32

    def as_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "output_path": self.output_path,
            "consent": {
                "agree_ids": list(self.agree_ids),
                "disagree_ids": list(self.disagree_ids),
                "withdraw_ids": list(self.withdraw_ids),
                "dialog_ids": list(self.dialog_ids),
            },
            "device": self.device,
            "splash_activities": list(self.splash_activities),
            "max_events_per_api_per_second": self.max_events_per_api_per_second,
            "stack_depth": self.stack_depth,
        }


def agent_source() -> str:
    """The text of ``frida_agent.js`` (without hook list or settings)."""
    return (resources.files("appwarden.agent") / "frida_agent.js").read_text(encoding="utf-8")


def build_agent(settings: AgentSettings | None = None) -> str:
    """The loadable Frida script: the YAML-derived hooks and the settings, then ``frida_agent.js``."""
    settings = settings or AgentSettings()
    prelude = {
        "format": TRACE_FORMAT,
        "version": TRACE_VERSION,
        "agent_version": AGENT_VERSION,
        "hooks": [h.as_json() for h in hook_list()],
        "uris": [u.as_json() for u in watched_uris()],
        "settings": settings.as_json(),
    }
    return (
        "// Generated by appwarden.agent.build_agent from data/regs/apis.yaml: do not edit.\n"
        f"const APPWARDEN = {json.dumps(prelude, ensure_ascii=False, sort_keys=True)};\n" + agent_source()
    )
