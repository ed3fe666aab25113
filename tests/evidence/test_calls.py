"""Sensitive API call sites over constructed programs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from appwarden.evidence.calls import MethodBody, descriptor_to_class, find_api_calls
from appwarden.evidence.catalogs import ApiSpec, api_specs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from program_builder import ProgramBuilder

DEVICE_ID = "Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;"
INSTALLED = "Landroid/content/pm/PackageManager;->getInstalledPackages(I)Ljava/util/List;"
SECURE_GET = "Landroid/provider/Settings$Secure;->getString(Landroid/content/ContentResolver;Ljava/lang/String;)Ljava/lang/String;"
CONTACTS_URI = "Landroid/provider/ContactsContract$CommonDataKinds$Phone;->CONTENT_URI:Landroid/net/Uri;"
QUERY = "Landroid/content/ContentResolver;->query(Landroid/net/Uri;[Ljava/lang/String;Ljava/lang/String;[Ljava/lang/String;Ljava/lang/String;)Landroid/database/Cursor;"
SERIAL = "Landroid/os/Build;->SERIAL:Ljava/lang/String;"


def owner(name: str) -> str:
    return "bugly" if name.startswith("com.tencent.bugly.") else "app"


def run(b: ProgramBuilder) -> list:  # type: ignore[type-arg]
    return find_api_calls(b.program, api_specs(), owner)


def test_invoke_one_record_per_method_and_api_with_first_offset() -> None:
    b = ProgramBuilder()
    b.method("Lcom/x/A;->f()V", invokes=[DEVICE_ID, DEVICE_ID])
    b.method("Lcom/tencent/bugly/B;->g()V", invokes=[DEVICE_ID])
    calls = run(b)
    assert [(c.caller_class, c.caller_method, c.offset, c.owner) for c in calls] == [
        ("com.tencent.bugly.B", "g()V", 2, "bugly"),
        ("com.x.A", "f()V", 2, "app"),
    ]
    assert set(calls[0].pi_types) >= {"imei"} and calls[0].kind == "invoke"


def test_invoke_through_hidden_subclass_and_app_subclass() -> None:
    b = ProgramBuilder()
    b.cls("Lcom/x/MyPm;", superclass="Landroid/content/pm/PackageManager;")
    b.method(
        "Lcom/x/A;->f()V", invokes=["Landroid/app/ApplicationPackageManager;->getInstalledPackages(I)Ljava/util/List;"]
    )
    b.method("Lcom/x/A;->g()V", invokes=["Lcom/x/MyPm;->getInstalledPackages(I)Ljava/util/List;"])
    calls = run(b)
    assert [(c.caller_method, c.api) for c in calls] == [("f()V", INSTALLED), ("g()V", INSTALLED)]


def test_string_argument_must_be_in_the_same_method() -> None:
    b = ProgramBuilder()
    b.method("Lcom/x/A;->withId()V", invokes=[SECURE_GET], strings=["android_id"])
    b.method("Lcom/x/A;->otherKey()V", invokes=[SECURE_GET], strings=["screen_brightness"])
    assert [c.caller_method for c in run(b)] == ["withId()V"]


def test_content_uri_needs_a_resolver_access_in_the_same_method() -> None:
    b = ProgramBuilder()
    b.method("Lcom/x/A;->read()V", invokes=[QUERY], fields=[CONTACTS_URI])
    b.method("Lcom/x/A;->pick()V", fields=[CONTACTS_URI])
    calls = [c for c in run(b) if c.kind == "content_uri"]
    assert [(c.caller_method, c.api, c.pi_types) for c in calls] == [("read()V", CONTACTS_URI, ["contacts"])]


def test_field_string_and_class_any_kinds() -> None:
    b = ProgramBuilder()
    b.method("Lcom/x/A;->serial()V", fields=[SERIAL])
    b.method("Lcom/x/A;->sms()V", strings=["content://sms/inbox"])
    b.method(
        "Lcom/x/A;->bt()V",
        invokes=["Landroid/bluetooth/BluetoothAdapter;->getDefaultAdapter()Landroid/bluetooth/BluetoothAdapter;"],
    )
    kinds = {(c.caller_method, c.kind, c.api) for c in run(b)}
    assert ("serial()V", "field", SERIAL) in kinds
    assert ("sms()V", "string", "content://sms") in kinds
    assert ("bt()V", "class_any", "Landroid/bluetooth/BluetoothAdapter;->*") in kinds
    sms = next(c for c in run(b) if c.caller_method == "sms()V")
    assert sms.confidence == "medium"  # URI present, no resolver call in the method


def test_output_is_sorted_and_deterministic() -> None:
    b = ProgramBuilder()
    for name in ("Lz/Z;", "La/A;", "Lm/M;"):
        b.method(f"{name}->f()V", invokes=[DEVICE_ID], fields=[SERIAL])
    first, second = run(b), run(b)
    assert first == second
    assert [c.caller_class for c in first] == sorted(c.caller_class for c in first)


def test_custom_spec_table() -> None:
    b = ProgramBuilder()
    b.method("Lcom/x/A;->f()V", invokes=["Lcom/v/Api;->exec(Ljava/lang/String;)V"], strings=["logcat -d"])
    spec = ApiSpec("Lcom/v/Api;->exec(Ljava/lang/String;)V", "invoke", ("logs",), string_argument=("logcat",))
    assert len(find_api_calls(b.program, [spec], owner)) == 1
    assert descriptor_to_class("Lcom/x/A$B;") == "com.x.A$B"


def test_method_table_builds_each_unbuilt_method_once_on_lookup() -> None:
    from array import array

    from appwarden.evidence.calls import ClassInfo, MethodTable, ProgramIndex

    built_for: list[tuple[str, str, int]] = []

    def factory(cls: str, sig: str, method_id: int) -> MethodBody:
        built_for.append((cls, sig, method_id))
        return MethodBody("classes.dex", cls, sig, [(0, "Lx/Y;->z()V")])

    eager = MethodBody("classes.dex", "La/B;", "run()V", [(2, "Landroid/os/Build;->getSerial()Ljava/lang/String;")])
    # Over 16 signatures: the table switches to its dictionary look-up.
    unbuilt = tuple(f"m{i}()V" for i in range(20))
    table = MethodTable("La/B;", {"run()V": eager}, unbuilt, array("I", range(100, 120)), factory)
    program = ProgramIndex({"La/B;": ClassInfo("La/B;", "classes.dex", methods=table)})

    assert "m7()V" in table and "run()V" in table and "nope()V" not in table
    assert len(table) == 21 and sorted(table) == sorted(["run()V", *unbuilt])
    assert [b.signature for b in program.built_methods()] == ["run()V"]  # nothing built by listing
    assert built_for == []
    body = program.method("La/B;->m7()V")
    assert body is not None and body.invokes == [(0, "Lx/Y;->z()V")]
    assert program.method("La/B;->m7()V") is body  # built once, then the same object
    assert built_for == [("La/B;", "m7()V", 107)]
    assert [b.signature for b in program.built_methods()] == ["m7()V", "run()V"]
    assert len(table) == 21
    with pytest.raises(KeyError):
        table["nope()V"]
    del table["m3()V"]
    assert "m3()V" not in table and table["m4()V"].signature == "m4()V"
    assert built_for[-1] == ("La/B;", "m4()V", 104)  # ids stay aligned after a removal
