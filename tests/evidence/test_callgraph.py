"""Early call paths: multi-source BFS, call resolution, bounds."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from appwarden.evidence import callgraph as cg
from appwarden.evidence.calls import find_api_calls
from appwarden.evidence.catalogs import api_specs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from program_builder import ProgramBuilder

DEVICE_ID = "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;"
INIT = "Lcom/umeng/commonsdk/UMConfigure;->init(Landroid/content/Context;)V"


def app_program() -> ProgramBuilder:
    b = ProgramBuilder()
    b.cls("Lcom/x/App;", superclass="Landroid/app/Application;")
    b.method("Lcom/x/App;->onCreate()V", invokes=["Lcom/x/Long;->a()V", "Lcom/x/Short;->b()V", INIT])
    b.method("Lcom/x/Long;->a()V", invokes=["Lcom/x/Long;->a2()V"])
    b.method("Lcom/x/Long;->a2()V", invokes=["Lcom/x/Sink;->read()V"])
    b.method("Lcom/x/Short;->b()V", invokes=["Lcom/x/Sink;->read()V"])
    b.method("Lcom/x/Sink;->read()V", invokes=[DEVICE_ID])
    return b


def paths_for(b: ProgramBuilder, **entries: object) -> list:  # type: ignore[type-arg]
    calls = find_api_calls(b.program, api_specs(), lambda _n: "app")
    sites = [cg.InitSite("umeng", "Lcom/x/App;->onCreate()V", INIT)]
    eps = cg.early_entry_points(b.program, **entries)  # type: ignore[arg-type]
    return cg.early_paths(b.program, eps, calls, sites)


def test_shortest_path_to_sensitive_call_and_sdk_init() -> None:
    paths = paths_for(app_program(), application_class="com.x.App")
    api = next(p for p in paths if p.target_kind == "api_call")
    assert api.entry_kind == "application_create" and api.entry == "com.x.App->onCreate()V"
    assert api.steps == ["com.x.App->onCreate()V", "com.x.Short->b()V", "com.x.Sink->read()V"]
    init = next(p for p in paths if p.target_kind == "sdk_init")
    assert init.sdk == "umeng" and init.target == INIT and init.steps == ["com.x.App->onCreate()V"]


def test_unreached_code_gives_no_path() -> None:
    assert [p for p in paths_for(app_program(), application_class=None) if p.target_kind == "api_call"] == []


def test_inherited_entry_virtual_overrides_callbacks_and_clinit() -> None:
    b = ProgramBuilder()
    b.cls("Lcom/x/Base;", superclass="Landroid/app/Application;")
    b.cls("Lcom/x/App;", superclass="Lcom/x/Base;")
    b.cls("Lcom/x/Task;", interfaces=("Ljava/lang/Runnable;",))
    b.cls("Lcom/x/Impl;", superclass="Lcom/x/Api;")
    b.cls("Lcom/x/Api;")
    b.method(
        "Lcom/x/Base;->onCreate()V",
        invokes=["Lcom/x/Task;-><init>()V", "Lcom/x/Api;->go()V"],
        fields=["Lcom/x/Holder;->ID:Ljava/lang/String;"],
    )
    b.method("Lcom/x/Task;-><init>()V")
    b.method("Lcom/x/Task;->run()V", invokes=[DEVICE_ID])
    b.method("Lcom/x/Impl;->go()V", invokes=[DEVICE_ID])
    b.method("Lcom/x/Holder;-><clinit>()V", invokes=[DEVICE_ID])
    paths = paths_for(b, application_class="com.x.App")
    callers = {p.steps[-1] for p in paths if p.target_kind == "api_call"}
    assert callers == {"com.x.Task->run()V", "com.x.Impl->go()V", "com.x.Holder-><clinit>()V"}
    assert all(p.entry == "com.x.Base->onCreate()V" for p in paths)


def test_entry_kinds_for_providers_receivers_and_launchers() -> None:
    b = ProgramBuilder()
    b.method("Lcom/x/P;->onCreate()Z", invokes=[DEVICE_ID])
    b.method("Lcom/x/P;-><clinit>()V")
    b.method("Lcom/x/R;->onReceive(Landroid/content/Context;Landroid/content/Intent;)V")
    b.method("Lcom/x/M;->onCreate(Landroid/os/Bundle;)V")
    eps = cg.early_entry_points(
        b.program,
        application_class=None,
        providers=["com.x.P"],
        boot_receivers=["com.x.R"],
        launcher_activities=["com.x.M"],
    )
    assert [e.kind for e in eps] == ["static_init", "provider_create", "boot_receiver", "launcher_activity_create"]


def test_depth_bound_stops_the_walk() -> None:
    b = ProgramBuilder()
    chain = [f"Lcom/x/C{i};->f()V" for i in range(cg.MAX_DEPTH + 3)]
    b.method("Lcom/x/App;->onCreate()V", invokes=[chain[0]])
    for here, nxt in itertools.pairwise(chain):
        b.method(here, invokes=[nxt])
    b.method(chain[-1], invokes=[DEVICE_ID])
    assert [p for p in paths_for(b, application_class="com.x.App") if p.target_kind == "api_call"] == []


def test_walk_is_linear_each_method_expanded_once() -> None:
    # A dense layered graph: a walk without one shared visited set would enumerate 2^10 paths.
    b = ProgramBuilder()
    layers = 10
    b.method("Lcom/x/App;->onCreate()V", invokes=["Lcom/x/L0a;->f()V", "Lcom/x/L0b;->f()V"])
    for i in range(layers):
        nxt = [f"Lcom/x/L{i + 1}a;->f()V", f"Lcom/x/L{i + 1}b;->f()V"]
        b.method(f"Lcom/x/L{i}a;->f()V", invokes=nxt)
        b.method(f"Lcom/x/L{i}b;->f()V", invokes=nxt)
    b.method(f"Lcom/x/L{layers}a;->f()V", invokes=[DEVICE_ID])
    b.method(f"Lcom/x/L{layers}b;->f()V")
    api = [p for p in paths_for(b, application_class="com.x.App") if p.target_kind == "api_call"]
    assert len(api) == 1 and len(api[0].steps) == layers + 2


def test_super_and_framework_calls_do_not_fan_out_to_sibling_overrides() -> None:
    b = ProgramBuilder()
    b.cls("Lcom/x/Base;", superclass="Landroid/app/Activity;")
    b.cls("Lcom/x/Main;", superclass="Lcom/x/Base;")
    b.cls("Lcom/x/Other;", superclass="Lcom/x/Base;")
    main = b.method(
        "Lcom/x/Main;->onCreate(Landroid/os/Bundle;)V",
        invokes=[
            "Lcom/x/Base;->onCreate(Landroid/os/Bundle;)V",
            "Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V",
        ],
    )
    main.dispatch_offsets = set()  # both are invoke-super
    b.method("Lcom/x/Base;->onCreate(Landroid/os/Bundle;)V")
    b.method("Lcom/x/Other;->onCreate(Landroid/os/Bundle;)V", invokes=[DEVICE_ID])
    paths = paths_for(b, application_class=None, launcher_activities=["com.x.Main"])
    assert [p for p in paths if p.target_kind == "api_call"] == []


def test_one_path_per_entry_kind() -> None:
    b = app_program()
    b.method(
        "Lcom/x/Boot;->onReceive(Landroid/content/Context;Landroid/content/Intent;)V", invokes=["Lcom/x/Sink;->read()V"]
    )
    paths = [
        p
        for p in paths_for(b, application_class="com.x.App", boot_receivers=["com.x.Boot"])
        if p.target_kind == "api_call"
    ]
    assert sorted(p.entry_kind for p in paths) == ["application_create", "boot_receiver"]
