"""What the DYNAMIC checks share: the trace they judge, owner labels, trace-event references and product policy.

DYNAMIC checks are bound to catalog rules by rule id (``@check("AW-T7806-002")``), so
the catalog stays as generated; one check function serves several catalog items that
test the same behaviour for a different subject (app code, SDK, any), named in a
``scope`` table beside the function.

Product policy (thresholds no standard states) is :class:`TracePolicy`; a lab
overrides the defaults with a YAML file named by ``APPWARDEN_TRACE_POLICY``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Literal

from appwarden.evidence.model import APP_OWNER
from appwarden.evidence.trace import (
    AnyTraceEvent,
    ApiCallEvent,
    AppStartEvent,
    ClipboardReadEvent,
    ConsentEvent,
    NetworkEvent,
    PermissionPromptEvent,
    RuntimeTrace,
    SensorEvent,
    TraceOwners,
    TracePolicy,
    UiEvent,
    caller_frame,
    default_owners,
    load_trace_policy,
)
from appwarden.findings import EvidenceRef
from appwarden.rules.model import RuleContext, RuleNotApplicable

#: Who a rule is about: the app's own code, embedded SDKs, or whoever did it.
Scope = Literal["app", "sdk", "any"]

#: At most this many trace events are quoted in one finding; the rest are counted.
MAX_TRACE_EVENTS = 20

#: Environment variable naming a YAML/JSON file that overrides :class:`TracePolicy` defaults.
POLICY_ENV = "APPWARDEN_TRACE_POLICY"

AnyEvent = AnyTraceEvent


def require_trace(ctx: RuleContext) -> RuntimeTrace:
    """The runtime trace of this scan, or RuleNotApplicable (the engine only runs DYNAMIC rules with one)."""
    if ctx.trace is None:
        raise RuleNotApplicable("no runtime trace was given for this scan")
    return ctx.trace


@lru_cache(maxsize=4)
def _policy_from(path: str | None) -> TracePolicy:
    return load_trace_policy(path)


def trace_policy() -> TracePolicy:
    """The product policy in force: defaults, or the file named by ``APPWARDEN_TRACE_POLICY``."""
    return _policy_from(os.environ.get(POLICY_ENV) or None)


def owners() -> TraceOwners:
    return default_owners()


def in_scope(owner: str, scope: Scope) -> bool:
    return scope == "any" or (owner == APP_OWNER) == (scope == "app")


def who(owner: str) -> tuple[str, str]:
    """How a message names the owner: (zh, en)."""
    if owner == APP_OWNER:
        return "App自有代码", "the app's own code"
    name, _vendor = owners().sdk_label(owner)
    return f"第三方SDK {name}", f"SDK {name}"


def vendor_of(owner: str) -> str | None:
    return None if owner == APP_OWNER else owners().sdk_label(owner)[1]


def seconds(t_ms: int) -> str:
    return f"{t_ms / 1000:.1f}s"


def _describe(e: AnyEvent) -> str:
    if isinstance(e, ApiCallEvent):
        return f"api_call {e.api}" + (f" ({', '.join(e.pi_types)})" if e.pi_types else "")
    if isinstance(e, ClipboardReadEvent):
        where = "" if e.foreground is None else (" in foreground" if e.foreground else " in background")
        return f"clipboard_read {e.api}{where}"
    if isinstance(e, SensorEvent):
        return f"sensor type {e.sensor_type} registered"
    if isinstance(e, ConsentEvent):
        return f"consent {e.kind}" + (f" ({e.marker})" if e.marker else "")
    if isinstance(e, PermissionPromptEvent):
        return f"permission_prompt {e.permission} -> {e.result}"
    if isinstance(e, NetworkEvent):
        return f"network {e.method} {e.url} ({e.bytes_out} bytes)"
    if isinstance(e, UiEvent):
        close = f"close control {'yes' if e.has_close_control else 'no'}"
        if e.close_control_size_dp is not None:
            close += f" {e.close_control_size_dp:g}dp"
        if e.close_control_works is False:
            close += " (does not close)"
        countdown = f", countdown {e.countdown_s:g}s" if e.countdown_s else ""
        return f"ui {e.kind} in {e.activity}: {close}{countdown}"
    if isinstance(e, AppStartEvent):
        by = f" by {e.caller_package}" if e.caller_package else ""
        return f"app_start cause={e.cause}{by}" + (f" component {e.component}" if e.component else "")
    return f"lifecycle {e.state}"


def trace_ref(e: AnyEvent) -> EvidenceRef:
    """A reference to one trace event: time, what happened, the calling frame, and the event itself."""
    stack = getattr(e, "stack", None) or []
    frame = caller_frame(stack)
    by = f" by {frame}" if frame is not None else ""
    data = e.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["line"] = e.line
    return EvidenceRef(
        kind="trace_event",
        summary=f"t={seconds(e.t_ms)} (line {e.line}) {_describe(e)}{by}",
        data=data,
    )


def trace_refs(events: Iterable[AnyEvent]) -> list[EvidenceRef]:
    """References to at most MAX_TRACE_EVENTS events in time order, plus a count of the rest."""
    ordered: Sequence[AnyEvent] = sorted(events, key=lambda e: (e.t_ms, e.line))
    refs = [trace_ref(e) for e in ordered[:MAX_TRACE_EVENTS]]
    if len(ordered) > MAX_TRACE_EVENTS:
        refs.append(
            EvidenceRef(
                kind="trace_event",
                summary=f"... and {len(ordered) - MAX_TRACE_EVENTS} more trace events",
                data={"omitted": len(ordered) - MAX_TRACE_EVENTS},
            )
        )
    return refs
