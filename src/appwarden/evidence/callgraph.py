"""Early call paths: what code runs before the user can act, and what it reaches.

For each kind of entry point (Application, provider, static initialiser, wake-up receiver,
launcher activity) one breadth-first walk starts from all entries of that kind at once
(multi-source BFS) with one visited set, so every method is expanded at most once per kind:
the cost is linear in the size of the code (times at most six), whatever the number of
entry points. Each reached method remembers its parent, which gives the shortest path (in
calls) from the nearest entry point to every sensitive call site and SDK initialisation.

Call resolution (static, deliberately over-approximate but bounded):

* a method reference resolves to the method defined on the named class, else on its nearest
  app-defined superclass (Java's virtual lookup);
* virtual/interface calls also reach overriding methods with the same name and prototype on
  app-defined subtypes of the named class, at most ``MAX_OVERRIDES`` of them;
* constructing an app class (``<init>``) also reaches its callback bodies in
  ``CALLBACK_SIGNATURES`` (Runnable.run, Callable.call, Kotlin lambdas...), because such
  objects are created precisely to be run, usually on another thread;
* touching an app class (constructor, static call or field read) reaches its ``<clinit>``.

The walk stops at ``MAX_DEPTH`` calls from an entry point.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from appwarden.evidence.calls import ProgramIndex, descriptor_to_class, split_member
from appwarden.evidence.model import APP_OWNER, ApiCall, CallPath

#: Calls followed from an entry point before the walk stops (documented bound).
MAX_DEPTH = 12
#: Overriding methods considered per virtual call site (bounds the fan-out of e.g. run()V).
MAX_OVERRIDES = 16
#: Subtypes examined per class when looking for overrides.
MAX_SUBTYPES = 256

CALLBACK_SIGNATURES: tuple[str, ...] = (
    "run()V",
    "call()Ljava/lang/Object;",
    "invoke()Ljava/lang/Object;",
    "handleMessage(Landroid/os/Message;)V",
)

EntryKind = Literal[
    "application_attach",
    "application_create",
    "provider_create",
    "static_init",
    "boot_receiver",
    "launcher_activity_create",
]


@dataclass(frozen=True)
class EntryPoint:
    kind: EntryKind
    method: str  # DEX descriptor Lcls;->name(params)ret


@dataclass(frozen=True)
class InitSite:
    """A method that invokes an SDK initialisation API."""

    sdk: str
    caller: str  # DEX descriptor of the calling method
    api: str  # DEX descriptor of the init API


def frame(descriptor: str) -> str:
    """'Lcom/a/B;->m()V' -> 'com.a.B->m()V' (how paths are printed)."""
    cls, member = split_member(descriptor)
    return f"{descriptor_to_class(cls)}->{member}"


class CallResolver:
    """Resolves invoked method references to methods defined in the app (see module doc)."""

    def __init__(self, program: ProgramIndex) -> None:
        self.program = program
        # Subclasses by parent, for parents the app defines: overrides are looked for below app
        # classes only, and a list for each framework parent (java.lang.Object's holds nearly
        # every class) would stay for the whole walk unread. Each list in descriptor order, held
        # as the directory's class numbers (a str per subclass cost 1 MB on a 15-DEX app).
        children: dict[str, list[tuple[str, int]]] = {}
        for parent, descriptor, key in program.classes.subclass_pairs():
            children.setdefault(parent, []).append((descriptor, key))
        self._children: dict[str, array[int]] = {
            parent: array("q", [key for _, key in sorted(found)]) for parent, found in children.items()
        }
        del children
        self._decoded_children: dict[str, tuple[str, ...]] = {}
        self._cache: dict[str, tuple[str, ...]] = {}

    def _lookup_up(self, cls: str, sig: str) -> str | None:
        return _lookup(self.program, cls, sig)

    def _overrides(self, cls: str, sig: str) -> list[str]:
        out: list[str] = []
        queue = deque(self._subclasses(cls))
        seen: set[str] = set()
        while queue and len(seen) < MAX_SUBTYPES and len(out) < MAX_OVERRIDES:
            sub = queue.popleft()
            if sub in seen:
                continue
            seen.add(sub)
            info = self.program.classes.get(sub)
            if info is not None and sig in info.methods:
                out.append(f"{sub}->{sig}")
            queue.extend(self._subclasses(sub))
        return out

    def _subclasses(self, cls: str) -> tuple[str, ...]:
        """The direct subclasses of ``cls``, decoded on the first walk below it and kept (the walk
        comes back to the same parents; it visits a fraction of them)."""
        found = self._decoded_children.get(cls)
        if found is None:
            describe = self.program.classes.descriptor_of
            found = self._decoded_children[cls] = tuple(describe(key) for key in self._children.get(cls, ()))
        return found

    def static_init_of(self, member: str) -> str | None:
        """The <clinit> a static field access on an app class runs first, if the class has one."""
        cls = split_member(member)[0]
        info = self.program.classes.get(cls)
        if info is not None and "<clinit>()V" in info.methods:
            return f"{cls}-><clinit>()V"
        return None

    def targets(self, callee: str, dispatch: bool = True) -> tuple[str, ...]:
        """App-defined methods an invoke of ``callee`` may run (cached per reference).

        Overrides are considered only for dispatching invokes (virtual/interface) on a class the
        app defines: ``super.onCreate()`` must not reach every other Activity's onCreate.
        """
        key = callee if dispatch else "!" + callee
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        cls, sig = split_member(callee)
        found: list[str] = []
        direct = self._lookup_up(cls, sig)
        if direct:
            found.append(direct)
        if dispatch and not sig.startswith("<") and cls in self.program.classes:
            found.extend(o for o in self._overrides(cls, sig) if o not in found)
        info = self.program.classes.get(cls)
        if info is not None:
            if sig.startswith("<init>"):
                found.extend(f"{cls}->{cb}" for cb in CALLBACK_SIGNATURES if cb in info.methods)
            clinit = f"{cls}-><clinit>()V"
            if "<clinit>()V" in info.methods and clinit not in found:
                found.append(clinit)
        result = tuple(found)
        self._cache[key] = result
        return result


def _lookup(program: ProgramIndex, cls: str, sig: str) -> str | None:
    """Java virtual lookup restricted to app-defined classes: own method, else nearest superclass's."""
    seen: set[str] = set()
    current: str | None = cls
    while current and current not in seen:
        seen.add(current)
        info = program.classes.get(current)
        if info is None:
            return None
        if sig in info.methods:
            return f"{current}->{sig}"
        current = info.superclass
    return None


def early_entry_points(
    program: ProgramIndex,
    *,
    application_class: str | None,
    providers: Iterable[str] = (),
    boot_receivers: Iterable[str] = (),
    launcher_activities: Iterable[str] = (),
) -> list[EntryPoint]:
    """Entry points that run before the user can act, for the classes the manifest names."""
    entries: list[EntryPoint] = []

    def add(kind: EntryKind, class_name: str, sig: str) -> None:
        method = _lookup(program, "L" + class_name.replace(".", "/") + ";", sig)
        if method and all(e.method != method for e in entries):
            entries.append(EntryPoint(kind, method))

    if application_class:
        add("static_init", application_class, "<clinit>()V")
        add("application_attach", application_class, "attachBaseContext(Landroid/content/Context;)V")
        add("application_create", application_class, "onCreate()V")
    for provider in providers:
        add("static_init", provider, "<clinit>()V")
        add("provider_create", provider, "onCreate()Z")
    for receiver in boot_receivers:
        add("boot_receiver", receiver, "onReceive(Landroid/content/Context;Landroid/content/Intent;)V")
    for activity in launcher_activities:
        add("launcher_activity_create", activity, "onCreate(Landroid/os/Bundle;)V")
    return entries


def _walk(
    program: ProgramIndex, resolver: CallResolver, entries: list[EntryPoint]
) -> tuple[dict[str, str | None], dict[str, EntryPoint]]:
    """One multi-source BFS: parent links and nearest entry for every reached method."""
    parent: dict[str, str | None] = {}
    entry_of: dict[str, EntryPoint] = {}
    depth: dict[str, int] = {}
    queue: deque[str] = deque()
    for e in entries:
        if e.method not in parent:
            parent[e.method] = None
            entry_of[e.method] = e
            depth[e.method] = 0
            queue.append(e.method)
    while queue:
        current = queue.popleft()
        if depth[current] >= MAX_DEPTH:
            continue
        body = program.method(current)
        if body is None:
            continue
        body.complete()  # the walk needs the references only it uses
        dispatching = body.dispatch_offsets
        reached = [
            t
            for offset, callee in body.invokes
            for t in resolver.targets(callee, dispatching is None or offset in dispatching)
        ]
        reached += [t for _, fld in body.field_reads if (t := resolver.static_init_of(fld))]
        for target in reached:
            if target not in parent:
                parent[target] = current
                entry_of[target] = entry_of[current]
                depth[target] = depth[current] + 1
                queue.append(target)
    return parent, entry_of


def early_paths(
    program: ProgramIndex,
    entries: Iterable[EntryPoint],
    api_calls: Iterable[ApiCall],
    init_sites: Iterable[InitSite],
    *,
    owner_of: Callable[[str], str] = lambda _name: APP_OWNER,
) -> list[CallPath]:
    """Shortest paths from the early entry points to sensitive call sites and SDK inits.

    One walk per entry kind (at most six), each a multi-source BFS over all entries of that
    kind: a call site reached both from Application.onCreate and from a boot receiver gets a
    path for each, because "collects before consent" and "collects on self-start" are
    different facts. Within a kind, the nearest entry wins.
    """
    entry_list = list(entries)
    calls = list(api_calls)
    sites = list(init_sites)
    resolver = CallResolver(program)
    paths: dict[tuple[str, str, str, str], CallPath] = {}
    kinds = sorted({e.kind for e in entry_list})
    for kind in kinds:
        parent, entry_of = _walk(program, resolver, [e for e in entry_list if e.kind == kind])

        def steps_to(method: str, parent: dict[str, str | None] = parent) -> list[str]:
            chain: list[str] = []
            node: str | None = method
            while node is not None:
                chain.append(frame(node))
                node = parent[node]
            return list(reversed(chain))

        for call in calls:
            method = "L" + call.caller_class.replace(".", "/") + ";->" + call.caller_method
            key = (kind, method, call.api, "api_call")
            if method in parent and key not in paths:
                paths[key] = CallPath(
                    entry_kind=kind,
                    entry=frame(entry_of[method].method),
                    steps=steps_to(method),
                    target=call.api,
                    target_kind="api_call",
                    pi_types=list(call.pi_types),
                    owner=call.owner,
                )
        for site in sites:
            key = (kind, site.caller, site.api, "sdk_init")
            if site.caller in parent and key not in paths:
                paths[key] = CallPath(
                    entry_kind=kind,
                    entry=frame(entry_of[site.caller].method),
                    steps=steps_to(site.caller),
                    target=site.api,
                    target_kind="sdk_init",
                    owner=owner_of(descriptor_to_class(split_member(site.caller)[0])),
                    sdk=site.sdk,
                )
    return [paths[k] for k in sorted(paths)]
