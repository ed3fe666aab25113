"""Packers, dynamic code loading, encrypted payloads, reflection."""

from __future__ import annotations

import sys
from pathlib import Path

from appwarden.evidence.hardening import detect_packers, encrypted_dex_assets, hardening_facts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from program_builder import ProgramBuilder


def test_packers_by_class_library_and_asset() -> None:
    found = {
        p.id: p
        for p in detect_packers(
            ["com.stub.StubApp", "com.x.Main"], ["libshella-2.10.so"], ["assets/libjiagu.so", "assets/classes.jar"]
        )
    }
    assert set(found) == {"qihoo360_jiagu", "tencent_legu"}
    assert found["qihoo360_jiagu"].evidence == ["class:com.stub.StubApp", "asset:libjiagu.so"]
    assert detect_packers(["com.x.Main"], [], ["assets/classes.jar"]) == []  # a generic asset alone is not a packer


def test_encrypted_dex_like_assets() -> None:
    assets = [
        ("assets/classes.dex.dat", b"\x13\x37garbage"),
        ("assets/plugin.jar", b"PK\x03\x04rest"),
        ("assets/real.dex", b"dex\n035\x00"),
        ("assets/image.png", b"\x89PNG"),
    ]
    assert encrypted_dex_assets(assets) == ["assets/classes.dex.dat"]


def test_dynamic_loading_and_reflection() -> None:
    b = ProgramBuilder()
    b.method(
        "Lcom/stub/StubApp;->attachBaseContext(Landroid/content/Context;)V",
        invokes=[
            "Ldalvik/system/DexClassLoader;-><init>(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/ClassLoader;)V",
            "Ljava/lang/Class;->forName(Ljava/lang/String;)Ljava/lang/Class;",
            "Ljava/lang/reflect/Method;->invoke(Ljava/lang/Object;[Ljava/lang/Object;)Ljava/lang/Object;",
        ],
    )
    facts = hardening_facts(b.program, ["com.stub.StubApp"], [], [])
    assert [(s.caller_class, s.offset) for s in facts.dynamic_code_loading] == [("com.stub.StubApp", 2)]
    assert facts.reflection_call_count == 2
    assert facts.hides_code  # the StubApp class marks a packer
