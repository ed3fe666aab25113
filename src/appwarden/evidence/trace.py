"""Runtime traces: the JSONL file the recording agent writes, read strictly, and the facts derived from it.

Format ``appwarden-runtime-trace``, version 1. UTF-8, one JSON object per line:

- line 1, the header::

    {"type": "header", "format": "appwarden-runtime-trace", "version": 1,
     "package": "com.example.app", "version_code": 42, "device": "Pixel 4a / emulator",
     "android_api": 33, "recorded_at": "2026-11-29T08:00:00Z", "agent_version": "1.0.0",
     "consent_marker": "click:btn_agree"}

- then one event per line, each with ``type`` and ``t_ms`` (milliseconds since ``recorded_at``):

  ==================  ==========================================================================
  type                fields (``?`` = optional)
  ==================  ==========================================================================
  api_call            api (DEX descriptor), pi_types?, stack ([{class, method, file?, line?}]
                      innermost first), thread?
  consent             kind: agree | disagree | withdraw | dialog_shown; marker?: key|click|rpc;
                      resource_id?
  permission_prompt   permission, result: granted | denied | dismissed, stack?
  network             url, method, host, bytes_out, body_keys?, pi_types_in_payload?, stack?, thread?
  ui                  activity, kind: popup | splash | dialog, has_close_control,
                      close_control_size_dp?, close_control_works?, countdown_s?, skippable?,
                      window_class?
  app_start           cause: user | boot | broadcast | other_app | push, caller_package?,
                      component?, action?
  clipboard_read      api, stack?, thread?, foreground?
  sensor              sensor_type (Sensor.TYPE_* value), sampling_period_us?, stack?, thread?
  lifecycle           state: foreground | background
  ==================  ==========================================================================

Events may be written slightly out of order by concurrent threads; the loader orders
them by ``t_ms`` (stable, so equal times keep file order) and remembers each event's
line number so a finding can point a reviewer at it.

``load_trace`` refuses anything else with a :class:`TraceFormatError` naming the line:
unknown fields or event types, a newer version, oversized files or lines, NaN, duplicate
keys, nesting deeper than json's recursion limit. Limits are the ``MAX_*`` constants below.

Derived facts (collections before consent, after refusal, per-API call frequency,
re-prompts after a refusal, PI sent to third-party hosts) are pure functions of the
trace and the SDK catalog; the thresholds they are judged against are product policy
(:class:`TracePolicy`), except the 48-hour re-prompt rule, which comes from
``regs/permissions.yaml`` general rule ``rerequest_interval``.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from appwarden.errors import ConfigurationError, UnreadableInputError
from appwarden.evidence.catalogs import SdkCatalog, sdk_catalog
from appwarden.evidence.endpoints import DomainIndex
from appwarden.evidence.model import APP_OWNER
from appwarden.evidence.sdk import SdkDetector

TRACE_FORMAT = "appwarden-runtime-trace"
#: Versions this reader understands. Bump when a field changes meaning; add fields with defaults.
TRACE_VERSION = 1
SUPPORTED_VERSIONS = frozenset({1})

#: A trace file larger than this is refused before it is read.
MAX_TRACE_BYTES = 32 * 1024 * 1024
#: One line (one event) larger than this is refused: the agent caps stacks and key lists far below it.
MAX_LINE_BYTES = 256 * 1024
#: At most this many events per trace (a day of heavy recording stays well below it).
MAX_EVENTS = 200_000
#: Traces span at most 60 days (t_ms is relative to the header's recorded_at).
MAX_T_MS = 60 * 24 * 3600 * 1000
MAX_STACK_FRAMES = 128
#: Distinct stack frames per trace (frames are shared between events; real apps have far fewer call sites).
MAX_DISTINCT_FRAMES = 200_000
MAX_LIST_ITEMS = 256
_NAME = 512
_URL = 4096

MINUTE_MS = 60_000
HOUR_MS = 3_600_000


class TraceFormatError(UnreadableInputError):
    """A runtime trace is not a valid ``appwarden-runtime-trace`` file; the message names the line."""

    code = "runtime_trace"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class StackFrame(_Record):
    """One Java frame: ``class`` is the dotted class name, ``method`` the bare method name."""

    class_name: str = Field(alias="class", min_length=1, max_length=_NAME)
    method: str = Field(min_length=1, max_length=_NAME)
    file: str | None = Field(None, max_length=_NAME)
    line: int | None = Field(None, ge=-2, le=10_000_000)

    def __str__(self) -> str:
        return f"{self.class_name}.{self.method}"


Stack = Annotated[list[StackFrame], Field(max_length=MAX_STACK_FRAMES)]
Names = Annotated[list[Annotated[str, Field(max_length=_NAME)]], Field(max_length=MAX_LIST_ITEMS)]


class TraceHeader(_Record):
    type: Literal["header"]
    format: str
    version: int
    package: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$", max_length=_NAME)
    version_code: int | None = Field(None, ge=0)
    device: str = Field(max_length=_NAME)
    android_api: int = Field(ge=1, le=100)
    recorded_at: datetime
    agent_version: str = Field(max_length=64)
    consent_marker: str | None = Field(None, max_length=_NAME, description="How the consent moment was marked")

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value != TRACE_FORMAT:
            raise ValueError(f"format must be {TRACE_FORMAT!r}, not {value[:64]!r}")
        return value

    @field_validator("version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"trace format version {value} is not supported (this appwarden reads {sorted(SUPPORTED_VERSIONS)}); "
                "record with a matching agent or upgrade appwarden"
            )
        return value

    @field_validator("recorded_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("recorded_at needs a time zone, e.g. 2026-11-29T08:00:00Z")
        return value


class _Event(_Record):
    t_ms: int = Field(ge=0, le=MAX_T_MS, description="Milliseconds since the header's recorded_at")
    #: Line of the trace file the event was read from (set by the loader, 0 when built in code).
    line: int = Field(0, ge=0, exclude=True)


_E = TypeVar("_E", bound=_Event)


class _Located(_Event):
    stack: Stack = Field(default_factory=list, description="Innermost frame first")
    thread: str = Field("", max_length=_NAME)


class ApiCallEvent(_Located):
    type: Literal["api_call"]
    api: str = Field(min_length=1, max_length=_NAME, description="DEX descriptor of the hooked API")
    pi_types: Names = Field(default_factory=list)


class ConsentEvent(_Event):
    type: Literal["consent"]
    kind: Literal["agree", "disagree", "withdraw", "dialog_shown"]
    marker: Literal["key", "click", "rpc"] | None = None
    resource_id: str | None = Field(None, max_length=_NAME)


class PermissionPromptEvent(_Event):
    type: Literal["permission_prompt"]
    permission: str = Field(min_length=1, max_length=_NAME)
    result: Literal["granted", "denied", "dismissed"]
    stack: Stack = Field(default_factory=list)


class NetworkEvent(_Located):
    type: Literal["network"]
    url: str = Field(min_length=1, max_length=_URL)
    method: str = Field(pattern=r"^[A-Z]{1,16}$")
    host: str = Field(min_length=1, max_length=253)
    bytes_out: int = Field(ge=0)
    body_keys: Names = Field(default_factory=list)
    pi_types_in_payload: Names = Field(default_factory=list)

    @model_validator(mode="after")
    def _host_matches_url(self) -> NetworkEvent:
        try:
            parts = urlsplit(self.url)
            url_host = (parts.hostname or "").lower()
        except ValueError as exc:
            raise ValueError(f"url is not a URL: {exc}") from exc
        if parts.scheme.lower() not in {"http", "https", "ws", "wss"}:
            raise ValueError(f"url scheme must be http, https, ws or wss, not {parts.scheme[:16]!r}")
        if url_host != self.host.lower().rstrip("."):
            raise ValueError(f"host {self.host[:64]!r} differs from the url's host {url_host[:64]!r}")
        return self

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower()


class UiEvent(_Event):
    type: Literal["ui"]
    activity: str = Field(min_length=1, max_length=_NAME)
    kind: Literal["popup", "splash", "dialog"]
    has_close_control: bool
    close_control_size_dp: float | None = Field(None, ge=0, le=10_000, allow_inf_nan=False)
    close_control_works: bool | None = Field(None, description="Tapping the close control dismissed the window")
    countdown_s: float | None = Field(None, ge=0, le=3600, allow_inf_nan=False)
    skippable: bool | None = None
    window_class: str | None = Field(None, max_length=_NAME, description="Class that created the window (ad SDK)")


class AppStartEvent(_Event):
    type: Literal["app_start"]
    cause: Literal["user", "boot", "broadcast", "other_app", "push"]
    caller_package: str | None = Field(None, max_length=_NAME)
    component: str | None = Field(None, max_length=_NAME)
    action: str | None = Field(None, max_length=_NAME)


class ClipboardReadEvent(_Located):
    type: Literal["clipboard_read"]
    api: str = Field(min_length=1, max_length=_NAME)
    foreground: bool | None = Field(None, description="The app had a resumed activity at the time")


class SensorEvent(_Located):
    type: Literal["sensor"]
    sensor_type: int = Field(ge=-1, le=1_000_000)
    sampling_period_us: int | None = Field(None, ge=0)


class LifecycleEvent(_Event):
    type: Literal["lifecycle"]
    state: Literal["foreground", "background"]


#: Any one event of a trace (the plain union, for type hints).
AnyTraceEvent = (
    ApiCallEvent
    | ConsentEvent
    | PermissionPromptEvent
    | NetworkEvent
    | UiEvent
    | AppStartEvent
    | ClipboardReadEvent
    | SensorEvent
    | LifecycleEvent
)
#: The same union, tagged by ``type`` for parsing.
TraceEvent = Annotated[AnyTraceEvent, Field(discriminator="type")]
#: Events that collect PI on the device.
Collection = ApiCallEvent | ClipboardReadEvent | SensorEvent

_EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(TraceEvent)


@dataclass
class _TraceIndex:
    by_type: dict[type, list[Any]] = field(default_factory=dict)
    decisions: list[ConsentEvent] = field(default_factory=list)
    decision_times: list[int] = field(default_factory=list)
    lifecycle_times: list[int] = field(default_factory=list)
    lifecycle_states: list[str] = field(default_factory=list)


class RuntimeTrace(_Record):
    """A validated trace: its header and events ordered by time."""

    header: TraceHeader
    events: tuple[TraceEvent, ...]

    # Indexes built once per trace so the derived facts stay linear in the number of events.
    _index: _TraceIndex = PrivateAttr(default_factory=lambda: _TraceIndex())

    def model_post_init(self, context: Any, /) -> None:
        index = self._index
        for e in self.events:
            index.by_type.setdefault(type(e), []).append(e)
        index.decisions = [e for e in index.by_type.get(ConsentEvent, ()) if e.kind != "dialog_shown"]
        index.decision_times = [e.t_ms for e in index.decisions]
        lifecycle = index.by_type.get(LifecycleEvent, [])
        index.lifecycle_times = [e.t_ms for e in lifecycle]
        index.lifecycle_states = [e.state for e in lifecycle]

    def _ix(self) -> _TraceIndex:
        # Read the private dict directly: pydantic's attribute hook costs more than the lookups themselves.
        index: _TraceIndex = self.__pydantic_private__["_index"]  # type: ignore[index]
        return index

    def of_type(self, cls: type[_E]) -> list[_E]:
        """Events of one type, in time order."""
        return list(self._ix().by_type.get(cls, ()))

    @property
    def duration_ms(self) -> int:
        return self.events[-1].t_ms if self.events else 0

    # -- consent -------------------------------------------------------------------------

    def first_agree_ms(self) -> int | None:
        return next((e.t_ms for e in self._ix().decisions if e.kind == "agree"), None)

    def decision_at(self, t_ms: int) -> ConsentEvent | None:
        """The user's latest agree/disagree/withdraw at or before ``t_ms``."""
        ix = self._ix()
        index = bisect_right(ix.decision_times, t_ms)
        return ix.decisions[index - 1] if index else None

    def consent_state_at(self, t_ms: int) -> Literal["none", "agreed", "refused"]:
        """The user's latest consent decision at ``t_ms`` (decisions at the same instant count as before)."""
        latest = self.decision_at(t_ms)
        if latest is None:
            return "none"
        return "agreed" if latest.kind == "agree" else "refused"

    def refusal_before(self, t_ms: int) -> ConsentEvent | None:
        """The disagree/withdraw event in force at ``t_ms``, if the user's latest decision was a refusal."""
        latest = self.decision_at(t_ms)
        return latest if latest is not None and latest.kind != "agree" else None

    # -- collections ---------------------------------------------------------------------

    def collections(self) -> list[Collection]:
        """Events that collect PI: hooked API calls with PI types, clipboard reads, sensor registrations."""
        out: list[Collection] = []
        for e in self.events:
            if (isinstance(e, ApiCallEvent) and e.pi_types) or isinstance(e, ClipboardReadEvent | SensorEvent):
                out.append(e)
        return out

    def collections_before_consent(self) -> list[Collection]:
        """Collections strictly before the first ``agree`` (all of them when the user never agreed)."""
        first = self.first_agree_ms()
        return [e for e in self.collections() if first is None or e.t_ms < first]

    def collections_after_refusal(self) -> list[tuple[ConsentEvent, Collection]]:
        """Collections made while the user's latest decision was disagree or withdraw, with that decision."""
        out: list[tuple[ConsentEvent, Collection]] = []
        for e in self.collections():
            refusal = self.refusal_before(e.t_ms)
            if refusal is not None and refusal.t_ms < e.t_ms:
                out.append((refusal, e))
        return out

    def in_background_at(self, t_ms: int) -> bool:
        """True when the latest lifecycle event at or before ``t_ms`` says background (False without lifecycle data)."""
        ix = self._ix()
        index = bisect_right(ix.lifecycle_times, t_ms)
        return bool(index) and ix.lifecycle_states[index - 1] == "background"


# -- loading ---------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON here")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        raise ValueError(f"duplicate key {duplicate[:64]!r}")
    return out


#: One decoder for every line (building a decoder per call costs more than decoding a short line).
_DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys, parse_constant=_reject_constant)


def _parse_line(raw: bytes, number: int) -> dict[str, Any]:
    if len(raw) > MAX_LINE_BYTES:
        raise TraceFormatError(f"trace line {number} is {len(raw)} bytes, over the limit of {MAX_LINE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TraceFormatError(f"trace line {number} is not UTF-8 (byte {exc.start})") from exc
    try:
        value = _DECODER.decode(text)
    except (ValueError, RecursionError) as exc:  # json's C scanner raises RecursionError on deep nesting
        raise TraceFormatError(f"trace line {number} is not a JSON object: {str(exc)[:200]}") from exc
    if not isinstance(value, dict):
        raise TraceFormatError(f"trace line {number} is a JSON {type(value).__name__}, not an object")
    return value


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in _EVENT_TYPES)
    msg = str(first.get("msg", "invalid"))
    extra = f" ({exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
    return f"{where + ': ' if where else ''}{msg}{extra}"


_EVENT_TYPES = frozenset(
    {"api_call", "consent", "permission_prompt", "network", "ui", "app_start", "clipboard_read", "sensor", "lifecycle"}
)


_FRAME_KEYS = frozenset({"class", "method", "file", "line"})


def _share_frames(value: dict[str, Any], frames: dict[tuple[Any, ...], StackFrame]) -> None:
    """Replace stack-frame mappings by shared, validated StackFrame objects (in place).

    Real traces repeat the same frames in thousands of events; sharing one frozen object
    per distinct frame keeps a large trace's memory close to its distinct call sites.
    Raises ValidationError for a bad frame, like the event validation would.
    """
    stack = value.get("stack")
    if not isinstance(stack, list) or len(stack) > MAX_STACK_FRAMES:
        return  # left to the event validation, which reports it
    for index, frame in enumerate(stack):
        if not isinstance(frame, dict):
            continue
        if not frame.keys() <= _FRAME_KEYS:
            continue  # an unknown field: the event validation reports it
        key = (frame.get("class"), frame.get("method"), frame.get("file"), frame.get("line"))
        try:
            shared = frames.get(key)
        except TypeError:
            continue  # a list or object where a string belongs: the event validation reports it
        if shared is None:
            if len(frames) >= MAX_DISTINCT_FRAMES:
                raise TraceFormatError(
                    f"trace has more than {MAX_DISTINCT_FRAMES} distinct stack frames; split the recording"
                )
            shared = frames[key] = StackFrame.model_validate(frame)
        stack[index] = shared


def _read_source(source: str | Path | bytes) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > MAX_TRACE_BYTES:
            raise TraceFormatError(f"trace is {len(data)} bytes, over the limit of {MAX_TRACE_BYTES} bytes")
        return data
    path = Path(source)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise TraceFormatError(f"trace {path} is not a regular file")
        if size > MAX_TRACE_BYTES:
            raise TraceFormatError(
                f"trace {path} is {size} bytes, over the limit of {MAX_TRACE_BYTES} bytes; split the recording"
            )
        with path.open("rb") as handle:
            # Read one byte past the limit so a file that grows while read is still refused.
            data = handle.read(MAX_TRACE_BYTES + 1)
    except OSError as exc:
        raise TraceFormatError(f"cannot read trace {path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_TRACE_BYTES:
        raise TraceFormatError(f"trace {path} is over the limit of {MAX_TRACE_BYTES} bytes")
    return data


def _lines(data: bytes) -> Iterator[tuple[int, bytes]]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline that ends the last line
    for index, raw in enumerate(lines, start=1):
        yield index, raw[:-1] if raw.endswith(b"\r") else raw


def load_trace(source: str | Path | bytes) -> RuntimeTrace:
    """Read and validate a trace file (path) or its bytes.

    Raises :class:`TraceFormatError` whose message names the offending line and what is
    wrong with it; never anything else for bad input. The result's events are ordered by
    ``t_ms`` (equal times keep file order) and carry their line numbers.
    """
    data = _read_source(source)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a BOM from a Windows editor is harmless
    header: TraceHeader | None = None
    events: list[Any] = []
    frames: dict[tuple[Any, ...], StackFrame] = {}
    for number, raw in _lines(data):
        if not raw.strip():
            raise TraceFormatError(f"trace line {number} is empty; each line must hold one JSON object")
        value = _parse_line(raw, number)
        if number == 1:
            if value.get("type") != "header":
                raise TraceFormatError(
                    f"trace line 1 must be the header (type 'header', format {TRACE_FORMAT!r}), "
                    f"not {str(value.get('type'))[:32]!r}"
                )
            try:
                header = TraceHeader.model_validate(value)
            except ValidationError as exc:
                raise TraceFormatError(f"trace line 1 (header): {_validation_message(exc)}") from exc
            continue
        kind = value.get("type")
        if kind == "header":
            raise TraceFormatError(f"trace line {number} is a second header; concatenate recordings with the agent")
        if kind not in _EVENT_TYPES:
            raise TraceFormatError(
                f"trace line {number}: unknown event type {str(kind)[:32]!r} (expected one of {sorted(_EVENT_TYPES)})"
            )
        if len(events) >= MAX_EVENTS:
            raise TraceFormatError(f"trace has more than {MAX_EVENTS} events; split the recording")
        value["line"] = number  # set by the reader, whatever the file says
        try:
            _share_frames(value, frames)
            events.append(_EVENT_ADAPTER.validate_python(value))
        except ValidationError as exc:
            raise TraceFormatError(f"trace line {number} ({kind}): {_validation_message(exc)}") from exc
    if header is None:
        raise TraceFormatError("trace is empty: the first line must be the header")
    events.sort(key=lambda e: e.t_ms)  # stable: equal times keep file order
    return RuntimeTrace(header=header, events=tuple(events))


def dump_trace(trace: RuntimeTrace) -> str:
    """The JSONL text of ``trace`` (header first), as the agent would write it; ``load_trace`` reads it back."""
    lines = [trace.header.model_dump_json(by_alias=True, exclude_none=True)]
    lines.extend(e.model_dump_json(by_alias=True, exclude_none=True) for e in trace.events)
    return "\n".join(lines) + "\n"


# -- owners: which code made a call ---------------------------------------------------------

#: Frames of these packages are platform or plumbing: the caller is the first frame outside them.
FRAMEWORK_PREFIXES: tuple[str, ...] = (
    "android.",
    "androidx.",
    "com.android.",
    "dalvik.",
    "java.",
    "javax.",
    "jdk.",
    "kotlin.",
    "kotlinx.",
    "libcore.",
    "sun.",
    "org.apache.harmony.",
    "org.json.",
    "okhttp3.",
    "okio.",
    "retrofit2.",
    "com.google.gson.",
    "io.reactivex.",
    "com.squareup.okhttp.",
    "re.frida.",
)


def is_framework_frame(class_name: str) -> bool:
    return class_name.startswith(FRAMEWORK_PREFIXES) or class_name.startswith("$")


def caller_frame(stack: Sequence[StackFrame]) -> StackFrame | None:
    """The first (innermost) frame outside the platform and plumbing libraries."""
    return next((f for f in stack if not is_framework_frame(f.class_name)), None)


class TraceOwners:
    """Attributes trace events to the app or a catalogued SDK by the caller frame's package."""

    def __init__(self, catalog: SdkCatalog | None = None) -> None:
        self.catalog = catalog or sdk_catalog()
        self._detector = SdkDetector(self.catalog)
        self.domains = DomainIndex(self.catalog)
        self._by_id = self.catalog.by_id()

    def owner_of_stack(self, stack: Sequence[StackFrame]) -> str:
        frame = caller_frame(stack)
        return APP_OWNER if frame is None else self.owner_of_class(frame.class_name)

    def owner_of_class(self, class_name: str) -> str:
        return self._detector.owner_of(class_name)

    def sdk_label(self, owner: str) -> tuple[str, str | None]:
        """(SDK name, vendor name) for an SDK id; the id itself when it is not catalogued."""
        sdk = self._by_id.get(owner)
        if sdk is None:
            return owner, None
        vendor = self.catalog.vendors.get(sdk.vendor or "")
        return sdk.name_zh or sdk.name, (vendor.name_zh or vendor.name) if vendor else sdk.vendor

    def third_party_host(self, host: str, app_package: str) -> tuple[str, str | None] | None:
        """(vendor id, SDK id) when ``host`` is a catalogued vendor's domain other than the operator's own."""
        hit = self.domains.owner(host)
        if hit is None or hit.vendor is None:
            return None
        parts = app_package.split(".")
        # The operator's own vendor (com.baidu.* talking to baidu.com) is not a third party.
        if len(parts) > 1 and parts[1] == hit.vendor:
            return None
        return hit.vendor, hit.sdk


@lru_cache(maxsize=1)
def default_owners() -> TraceOwners:
    """Owners resolved against the packaged SDK catalog (built once per process)."""
    return TraceOwners()


# -- derived facts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CallFrequency:
    """The busiest one-minute window of one API called by one owner."""

    api: str
    owner: str
    peak_per_minute: int
    window_start_ms: int
    events: tuple[Collection, ...]


def collection_api(e: Collection) -> str:
    if isinstance(e, SensorEvent):
        return f"sensor:{e.sensor_type}"
    return e.api


def call_frequencies(
    trace: RuntimeTrace,
    owners: TraceOwners,
    *,
    only: Iterable[Collection] | None = None,
    window_ms: int = MINUTE_MS,
) -> list[CallFrequency]:
    """Peak calls per sliding ``window_ms`` for each (API, owner), busiest first then by name."""
    groups: dict[tuple[str, str], list[Collection]] = defaultdict(list)
    for e in trace.collections() if only is None else only:
        groups[(collection_api(e), owners.owner_of_stack(e.stack))].append(e)
    out: list[CallFrequency] = []
    for (api, owner), calls in groups.items():
        calls.sort(key=lambda e: e.t_ms)
        window: deque[Collection] = deque()
        best: tuple[int, int, tuple[Collection, ...]] = (0, 0, ())
        for e in calls:
            window.append(e)
            while window[0].t_ms <= e.t_ms - window_ms:
                window.popleft()
            if len(window) > best[0]:
                best = (len(window), window[0].t_ms, tuple(window))
        out.append(CallFrequency(api, owner, best[0], best[1], best[2]))
    return sorted(out, key=lambda f: (-f.peak_per_minute, f.api, f.owner))


@dataclass(frozen=True)
class RerequestRule:
    """The re-request interval of ``regs/permissions.yaml`` (general rule ``rerequest_interval``)."""

    rule_id: str
    max_prompts_after_refusal: int
    window_hours: float


@lru_cache(maxsize=1)
def rerequest_rule() -> RerequestRule:
    """The 48-hour rule as the standards data states it (not a product choice)."""
    text = (resources.files("appwarden") / "data" / "regs" / "permissions.yaml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    for rule in data.get("general_rules") or []:
        if rule.get("id") == "rerequest_interval":
            numeric = rule.get("numeric") or {}
            return RerequestRule(
                "rerequest_interval",
                int(numeric.get("max_prompts_after_refusal", 1)),
                float(numeric.get("window_hours", 48)),
            )
    return RerequestRule("rerequest_interval", 1, 48.0)


@dataclass(frozen=True)
class Reprompt:
    """Prompts for ``refusal.permission`` within the window after the user refused it."""

    refusal: PermissionPromptEvent
    prompts: tuple[PermissionPromptEvent, ...]
    relaunched: bool  # an app_start lies between the refusal and the last counted prompt


def reprompts_after_refusal(trace: RuntimeTrace, rule: RerequestRule | None = None) -> list[Reprompt]:
    """Refusals followed by more prompts for the same permission than the rule allows within its window.

    A refusal is a ``denied`` result (dismissing the dialog is not an explicit refusal).
    Prompts counted by one reported refusal are not reported again under a later one.
    """
    rule = rule or rerequest_rule()
    window = int(rule.window_hours * HOUR_MS)
    prompts = trace.of_type(PermissionPromptEvent)
    starts = [e.t_ms for e in trace.of_type(AppStartEvent)]
    out: list[Reprompt] = []
    consumed: set[int] = set()
    for i, refusal in enumerate(prompts):
        if refusal.result != "denied" or id(refusal) in consumed:
            continue
        later = tuple(
            p
            for p in prompts[i + 1 :]
            if p.permission == refusal.permission and refusal.t_ms < p.t_ms <= refusal.t_ms + window
        )
        if len(later) > rule.max_prompts_after_refusal:
            consumed.update(id(p) for p in later)
            last = later[-1].t_ms
            out.append(Reprompt(refusal, later, any(refusal.t_ms < s <= last for s in starts)))
    return out


#: Request-body keys that carry identifiers or PI, normalised (lower case, letters and digits only).
IDENTIFIER_KEYS: dict[str, str] = {
    "imei": "imei",
    "meid": "meid",
    "deviceid": "device_identifier",
    "imsi": "imsi",
    "iccid": "iccid",
    "androidid": "android_id",
    "aid": "android_id",
    "oaid": "oaid",
    "gaid": "gaid",
    "adid": "gaid",
    "advertisingid": "gaid",
    "idfa": "idfa",
    "caid": "caid",
    "mac": "mac_address",
    "macaddress": "mac_address",
    "wifimac": "mac_address",
    "bssid": "wifi_info",
    "ssid": "wifi_info",
    "serial": "hardware_serial",
    "lat": "location",
    "lng": "location",
    "lon": "location",
    "latitude": "location",
    "longitude": "location",
    "phone": "mobile_phone_number",
    "mobile": "mobile_phone_number",
    "phonenumber": "mobile_phone_number",
    "applist": "installed_app_list",
    "installedapps": "installed_app_list",
    "contacts": "contacts",
}


def payload_pi(event: NetworkEvent) -> list[str]:
    """PI types the request carries: declared by the agent, or recognised from identifier body keys."""
    found = set(event.pi_types_in_payload)
    for key in event.body_keys:
        hit = IDENTIFIER_KEYS.get(re.sub(r"[^a-z0-9]", "", key.lower()))
        if hit is not None:
            found.add(hit)
    return sorted(found)


@dataclass(frozen=True)
class ThirdPartyTransfer:
    event: NetworkEvent
    pi_types: tuple[str, ...]
    vendor: str
    host_sdk: str | None  # SDK whose domain the host is, when the catalog says
    sender: str | None  # owner of the code that sent it ('app' or an SDK id); None when the stack does not say


def third_party_transfers(trace: RuntimeTrace, owners: TraceOwners) -> list[ThirdPartyTransfer]:
    """Requests carrying PI to hosts of catalogued SDK vendors (not the operator's own vendor)."""
    out: list[ThirdPartyTransfer] = []
    for e in trace.of_type(NetworkEvent):
        pis = payload_pi(e)
        if not pis:
            continue
        hit = owners.third_party_host(e.host, trace.header.package)
        if hit is None:
            continue
        sender: str | None = owners.owner_of_stack(e.stack)
        if caller_frame(e.stack) is None:
            # Plumbing frames only (OkHttp dispatcher threads): the host's SDK is the best attribution.
            sender = hit[1]
        out.append(ThirdPartyTransfer(e, tuple(pis), hit[0], hit[1], sender))
    return out


def cleartext_pi_transfers(trace: RuntimeTrace) -> list[tuple[NetworkEvent, list[str]]]:
    """Requests over http:// or ws:// carrying PI."""
    return [(e, pis) for e in trace.of_type(NetworkEvent) if e.scheme in ("http", "ws") and (pis := payload_pi(e))]


# -- product policy --------------------------------------------------------------------------


class TracePolicy(_Record):
    """Thresholds no standard states: appwarden's documented, configurable product policy.

    The standards say "not more often than needed" and "a close control that is easy to
    see" without numbers (regs/SOURCE.md, "Known gaps"); these defaults are what a lab
    can defend and change. The 48-hour re-prompt rule is not here: it is in the standards.
    """

    max_calls_per_minute: int = Field(
        30, ge=1, description="Calls of one PI API by one owner in any 60 s window above which collection is frequent"
    )
    max_calls_per_minute_by_api: dict[str, int] = Field(
        default_factory=dict, description="Per-API overrides (DEX descriptor or 'sensor:<type>')"
    )
    max_clipboard_reads_per_minute: int = Field(3, ge=1)
    min_close_control_dp: float = Field(
        24.0, gt=0, description="Smallest close control accepted (Material's icon size; touch targets should be 48dp)"
    )
    max_unskippable_countdown_s: float = Field(3.0, ge=0, description="Longest splash countdown without a skip control")
    startup_window_ms: int = Field(10_000, ge=0, description="Prompts this soon after a start are start-up prompts")
    feature_use_window_ms: int = Field(
        60_000, ge=0, description="A start-up prompt whose permission is not used within this time is premature"
    )

    def call_limit(self, api: str) -> int:
        return self.max_calls_per_minute_by_api.get(api, self.max_calls_per_minute)


def load_trace_policy(source: str | Path | None = None) -> TracePolicy:
    """The default policy, or one read from a YAML/JSON mapping file; ConfigurationError if it is invalid."""
    if source is None:
        return TracePolicy()
    path = Path(source)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return TracePolicy.model_validate(data)
    except (OSError, yaml.YAMLError, ValidationError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"trace policy file {path} is invalid", detail=str(exc)[:300]) from exc


@lru_cache(maxsize=1)
def _sensor_pi_types() -> dict[int, str]:
    text = (resources.files("appwarden") / "data" / "regs" / "apis.yaml").read_text(encoding="utf-8")
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return {int(s["value"]): str(s["pi_type"]) for s in data.get("sensor_types") or [] if "pi_type" in s}


def collection_pi(e: Collection) -> list[str]:
    """PI types one collection event gathers (sensor types per regs/apis.yaml ``sensor_types``)."""
    if isinstance(e, ApiCallEvent):
        return list(e.pi_types)
    if isinstance(e, ClipboardReadEvent):
        return ["clipboard_content"]
    return [_sensor_pi_types().get(e.sensor_type, "sensor_data")]
