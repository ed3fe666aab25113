"""Build real DEX files from smali sources written here, with Debian's ``smali`` assembler.

The sample exercises what a call-site scanner gets wrong: switch and fill-array-data payloads in
the instruction stream, invoke/range, interfaces, static initialisers, const-string/jumbo,
field gets/puts, const-class and invoke-polymorphic.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SMALI = shutil.which("smali")
DEXDUMP = shutil.which("dexdump")

SAMPLE_SOURCES: dict[str, str] = {
    "com/example/Tracker.smali": """
.class public interface abstract Lcom/example/Tracker;
.super Ljava/lang/Object;

.method public abstract track(Ljava/lang/String;)V
.end method
""",
    "com/example/Main.smali": r"""
.class public Lcom/example/Main;
.super Landroid/app/Activity;
.implements Lcom/example/Tracker;
.source "Main.java"

.field private static sDeviceId:Ljava/lang/String;
.field public static final ENDPOINT:Ljava/lang/String; = "https://collect.example.com/v1"
.field private mCount:I

.method static constructor <clinit>()V
    .registers 1
    const-string v0, "init"
    sput-object v0, Lcom/example/Main;->sDeviceId:Ljava/lang/String;
    return-void
.end method

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method public track(Ljava/lang/String;)V
    .registers 3
    const-string v0, "AppTracker"
    invoke-static {v0, p1}, Landroid/util/Log;->d(Ljava/lang/String;Ljava/lang/String;)I
    return-void
.end method

.method public deviceId(Landroid/content/Context;)Ljava/lang/String;
    .registers 4
    const-string v0, "phone"
    invoke-virtual {p1, v0}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/telephony/TelephonyManager;
    invoke-virtual {v0}, Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;
    move-result-object v1
    sput-object v1, Lcom/example/Main;->sDeviceId:Ljava/lang/String;
    iget v2, p0, Lcom/example/Main;->mCount:I
    add-int/lit8 v2, v2, 0x1
    iput v2, p0, Lcom/example/Main;->mCount:I
    return-object v1
.end method

.method public pick(I)Ljava/lang/String;
    .registers 4
    packed-switch p1, :pswitch_data
    const-string v0, "none"
    goto :done
    :pswitch_0
    const-string v0, "zero"
    goto :done
    :pswitch_1
    invoke-static {}, Lcom/example/Main;->helper()V
    const-string v0, "one"
    :done
    sparse-switch p1, :sswitch_data
    :after
    const-class v1, Landroid/location/LocationManager;
    invoke-virtual {v1}, Ljava/lang/Class;->getName()Ljava/lang/String;
    return-object v0
    :sswitch_a
    invoke-static {}, Lcom/example/Main;->helper()V
    goto :after

    :pswitch_data
    .packed-switch 0x0
        :pswitch_0
        :pswitch_1
    .end packed-switch

    :sswitch_data
    .sparse-switch
        0x6e -> :sswitch_a
        0x1000 -> :sswitch_a
    .end sparse-switch
.end method

.method public table()[I
    .registers 3
    const/4 v0, 0x5
    new-array v0, v0, [I
    fill-array-data v0, :array_data
    # A payload whose first units look like invoke-virtual (0x6e) if decoded as code.
    const-string/jumbo v1, "jumbo string"
    invoke-static {v1}, Lcom/example/Main;->log(Ljava/lang/String;)V
    return-object v0

    :array_data
    .array-data 4
        0x6e 0x1234 0x6e 0x1 0x2
    .end array-data
.end method

.method public static varargs ranged(IIIIIII)V
    .registers 8
    invoke-static/range {p0 .. p6}, Lcom/example/Main;->ranged(IIIIIII)V
    return-void
.end method

.method public static helper()V
    .registers 1
    return-void
.end method

.method public static log(Ljava/lang/String;)V
    .registers 3
    sget-object v0, Ljava/lang/System;->out:Ljava/io/PrintStream;
    invoke-virtual {v0, p0}, Ljava/io/PrintStream;->println(Ljava/lang/String;)V
    const-string v1, "unicode \u00e9\u4e2d \ud83d\ude00 nul\u0000end"
    invoke-interface {p0, v1}, Lcom/example/Tracker;->track(Ljava/lang/String;)V
    return-void
.end method

.method public handle(Ljava/lang/invoke/MethodHandle;)Ljava/lang/Object;
    .registers 4
    const-string v0, "x"
    invoke-polymorphic {p1, v0}, Ljava/lang/invoke/MethodHandle;->invoke([Ljava/lang/Object;)Ljava/lang/Object;, (Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v1
    invoke-polymorphic/range {p1 .. p1}, Ljava/lang/invoke/MethodHandle;->invokeExact([Ljava/lang/Object;)Ljava/lang/Object;, ()Ljava/lang/Object;
    return-object v1
.end method
""",
    "com/example/sdk/Collector.smali": """
.class public final Lcom/example/sdk/Collector;
.super Ljava/lang/Object;

.method public static collect(Landroid/content/Context;)V
    .registers 3
    const-string v0, "wifi"
    invoke-virtual {p0, v0}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/net/wifi/WifiManager;
    invoke-virtual {v0}, Landroid/net/wifi/WifiManager;->getConnectionInfo()Landroid/net/wifi/WifiInfo;
    move-result-object v1
    invoke-virtual {v1}, Landroid/net/wifi/WifiInfo;->getMacAddress()Ljava/lang/String;
    return-void
.end method

.method private unused()V
    .registers 1
    return-void
.end method
""",
}

# A lambda as d8 desugars it for API 26+: invoke-custom through LambdaMetafactory.
LAMBDA_SOURCES: dict[str, str] = {
    "app/L.smali": """
.class public Lapp/L;
.super Ljava/lang/Object;

.method public static go()Ljava/lang/Runnable;
    .registers 1
    invoke-custom {}, call_site_0("run", ()Ljava/lang/Runnable;, ()V, invoke-static@Lapp/L;->lambda$go$0()V, ()V)@Ljava/lang/invoke/LambdaMetafactory;->metafactory(Ljava/lang/invoke/MethodHandles$Lookup;Ljava/lang/String;Ljava/lang/invoke/MethodType;Ljava/lang/invoke/MethodType;Ljava/lang/invoke/MethodHandle;Ljava/lang/invoke/MethodType;)Ljava/lang/invoke/CallSite;
    move-result-object v0
    return-object v0
.end method

.method private static synthetic lambda$go$0()V
    .registers 2
    const-string v0, "in lambda"
    invoke-static {v0, v0}, Landroid/util/Log;->d(Ljava/lang/String;Ljava/lang/String;)I
    return-void
.end method
""",
}


def assemble(sources: dict[str, str], out_dir: Path, api: int = 28) -> Path:
    """Write smali sources under ``out_dir/src`` and assemble them into ``out_dir/classes.dex``."""
    if SMALI is None:
        raise RuntimeError("smali is not installed")
    src = out_dir / "src"
    for rel, text in sources.items():
        path = src / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    dex = out_dir / "classes.dex"
    subprocess.run([SMALI, "a", "--api", str(api), "-o", str(dex), str(src)], check=True, capture_output=True)
    return dex


def generated_sources(n_classes: int, methods_per_class: int = 20) -> dict[str, str]:
    """A large synthetic app: every method calls a few APIs and its neighbour, loads strings, reads fields."""
    sources: dict[str, str] = {}
    for c in range(n_classes):
        lines = [f".class public Lgen/p{c % 50}/C{c};", ".super Ljava/lang/Object;", ".field public static f:I", ""]
        for m in range(methods_per_class):
            nxt = f"Lgen/p{(c + 1) % n_classes % 50}/C{(c + 1) % n_classes};->m{m}(Landroid/content/Context;I)V"
            lines += [
                f".method public static m{m}(Landroid/content/Context;I)V",
                "    .registers 6",
                f'    const-string v0, "key-{c}-{m}"',
                "    invoke-virtual {p0, v0}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;",
                "    move-result-object v1",
                f"    sget v2, Lgen/p{c % 50}/C{c};->f:I",
                "    packed-switch p1, :sw",
                f"    invoke-static {{p0, p1}}, {nxt}",
                "    :sw0",
                "    const-class v3, Landroid/telephony/TelephonyManager;",
                "    invoke-static {v0, v0}, Landroid/util/Log;->i(Ljava/lang/String;Ljava/lang/String;)I",
                "    return-void",
                "    :sw",
                "    .packed-switch 0x0",
                "        :sw0",
                "        :sw0",
                "    .end packed-switch",
                ".end method",
                "",
            ]
        sources[f"gen/p{c % 50}/C{c}.smali"] = "\n".join(lines)
    return sources
