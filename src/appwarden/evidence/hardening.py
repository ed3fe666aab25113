"""Code hiding: packers (加固), dynamic code loading, encrypted DEX payloads, reflection.

Packers are recognised by their stub classes, native libraries and asset files (table
below, kept as data). A packed APK hides most of its code from static analysis, which
rules must know to qualify "not found" results.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from appwarden.evidence.calls import ProgramIndex, descriptor_to_class, split_member
from appwarden.evidence.model import CallSite, Hardening, Packer


@dataclass(frozen=True)
class PackerSignature:
    id: str
    name: str
    classes: tuple[str, ...] = ()  # dotted class names or package prefixes ending in '.'
    native_libs: tuple[str, ...] = ()  # file names (lib*.so); a trailing '*' is a prefix
    assets: tuple[str, ...] = ()  # asset paths (without 'assets/'); a trailing '*' is a prefix


PACKERS: tuple[PackerSignature, ...] = (
    PackerSignature(
        "qihoo360_jiagu",
        "360 加固 (Jiagu)",
        ("com.stub.StubApp", "com.qihoo.util."),
        ("libjiagu*", "libprotectClass.so"),
        ("libjiagu*", ".appkey"),
    ),
    PackerSignature(
        "tencent_legu",
        "腾讯乐固 (Legu)",
        ("com.tencent.StubShell.", "com.tencent.bugly.legu."),
        ("libshella*", "libshell*.so", "liblegudb.so", "libBugly-yaq.so"),
        ("tosversion", "0OO00l111l1l", "o0oooOO0ooOo.dat", "t86", "t64"),
    ),
    PackerSignature(
        "bangcle",
        "梆梆加固 (Bangcle/SecNeo)",
        ("com.secneo.apkwrapper.", "com.secshell.secData."),
        ("libsecexe*", "libsecmain*", "libSecShell*", "libDexHelper*"),
        ("secData0.jar", "bangcle_classes.jar", "classes.jar"),
    ),
    PackerSignature(
        "ijiami",
        "爱加密 (Ijiami)",
        ("com.shell.SuperApplication", "s.h.e.l.l."),
        ("libexec*", "libexecmain.so", "libijiami*"),
        ("ijiami.dat", "ijiami.ajm", "ijm_lib/*"),
    ),
    PackerSignature("baidu_protect", "百度加固", ("com.baidu.protect.",), ("libbaiduprotect*",), ("baiduprotect*",)),
    PackerSignature(
        "alibaba_jaq",
        "阿里聚安全加固",
        ("com.ali.mobisecenhance.", "com.ali.fixHelper"),
        ("libmobisec*", "libsgmain*", "libaliutils.so"),
        ("aliprotect.dat",),
    ),
    PackerSignature(
        "netease_yidun", "网易易盾加固", ("com.netease.nis.wrapper.",), ("libnesec*", "libnetsecsdk*"), ("nesec*",)
    ),
    PackerSignature(
        "naga",
        "娜迦加固 (Naga)",
        ("com.edog.AppWrapper",),
        ("libchaosvmp*", "libedog*", "libddog.so", "libfdog.so"),
        ("chaosvmp*",),
    ),
    PackerSignature("dingxiang", "顶象加固", ("com.dx.shield.",), ("libx3g.so", "libdx*"), ()),
    PackerSignature("kiwisec", "几维安全", ("com.kiwisec.",), ("libkwscmm.so", "libkwscr.so", "libkwslinker.so"), ()),
    PackerSignature("tongfudun", "通付盾加固", ("com.payegis.",), ("libegis*",), ()),
    PackerSignature("apkprotect", "APKProtect", (), ("libAPKProtect*",), ()),
    PackerSignature(
        "dexprotector",
        "DexProtector",
        ("com.dexprotector.",),
        ("libdexprotector*", "libdpboot.so"),
        ("dp.arm*", "dp.mp3"),
    ),
    PackerSignature("jiagu_vip", "顶象/梆梆企业版 (DexHelper)", (), ("libDexHelper.so", "libDexHelper-x86.so"), ()),
)

#: Asset names several packers and ordinary apps share; never evidence on their own.
GENERIC_ASSETS: frozenset[str] = frozenset({"classes.jar", "t86", "t64"})

DYNAMIC_LOADERS: frozenset[str] = frozenset(
    {
        "Ldalvik/system/DexClassLoader;",
        "Ldalvik/system/PathClassLoader;",
        "Ldalvik/system/InMemoryDexClassLoader;",
        "Ldalvik/system/BaseDexClassLoader;",
        "Ldalvik/system/DelegateLastClassLoader;",
    }
)
DYNAMIC_LOAD_METHODS: frozenset[str] = frozenset(
    {"Ldalvik/system/DexFile;->loadDex", "Ldalvik/system/DexFile;-><init>"}
)
REFLECTION_METHODS: frozenset[str] = frozenset(
    {
        "Ljava/lang/reflect/Method;->invoke",
        "Ljava/lang/Class;->forName",
        "Ljava/lang/Class;->getMethod",
        "Ljava/lang/Class;->getDeclaredMethod",
        "Ljava/lang/Class;->getDeclaredField",
        "Ljava/lang/Class;->getField",
        "Ljava/lang/reflect/Constructor;->newInstance",
        "Ljava/lang/reflect/Field;->get",
        "Ljava/lang/reflect/Field;->set",
    }
)

#: Classes whose invokes code_hiding looks at (loaders, DexFile, reflection).
CODE_HIDING_CLASSES: frozenset[str] = frozenset(
    {*DYNAMIC_LOADERS, *(m.split("->", 1)[0] for m in DYNAMIC_LOAD_METHODS | REFLECTION_METHODS)}
)

#: Asset names that suggest packaged code.
_CODE_LIKE_SUFFIXES = (".dex", ".jar", ".apk", ".odex", ".zip")
_CODE_MAGIC = (b"dex\n", b"PK\x03\x04", b"\x7fELF", b"PK\x05\x06")


def _matches(value: str, patterns: Iterable[str]) -> str | None:
    for p in patterns:
        if (p.endswith("*") and value.startswith(p[:-1])) or value == p:
            return p
    return None


def detect_packers(class_names: Iterable[str], native_libs: Iterable[str], asset_paths: Iterable[str]) -> list[Packer]:
    """Packers whose stub classes, native libraries or assets are present."""
    classes = sorted(set(class_names))
    libs = sorted(set(native_libs))
    assets = sorted({p.removeprefix("assets/") for p in asset_paths})
    found: list[Packer] = []
    for sig in PACKERS:
        evidence: list[str] = []
        for pattern in sig.classes:
            if pattern.endswith("."):
                # classes is sorted: the first name with this prefix, if any, sits where the prefix would.
                at = bisect.bisect_left(classes, pattern)
                hit = classes[at] if at < len(classes) and classes[at].startswith(pattern) else None
            else:
                hit = pattern if pattern in classes else None
            if hit:
                evidence.append(f"class:{hit}")
        evidence += [f"native_lib:{lib}" for lib in libs if _matches(lib, sig.native_libs)]
        evidence += [f"asset:{a}" for a in assets if _matches(a, sig.assets)]
        # Generic asset names (classes.jar) alone are too weak: need a class, a library or a specific asset.
        if any(not e.startswith("asset:") or e.removeprefix("asset:") not in GENERIC_ASSETS for e in evidence):
            found.append(Packer(id=sig.id, name=sig.name, evidence=evidence))
    return found


def encrypted_dex_assets(assets: Iterable[tuple[str, bytes]]) -> list[str]:
    """Assets named like code (.dex/.jar/.apk...) or containing 'dex' whose bytes are no known code format."""
    out: list[str] = []
    for path, head in assets:
        name = path.rsplit("/", 1)[-1].lower()
        if not (name.endswith(_CODE_LIKE_SUFFIXES) or "dex" in name):
            continue
        if len(head) < 4 or head.startswith(_CODE_MAGIC):
            continue
        out.append(path)
    return sorted(out)


def _hiding_verdict(callee: str) -> tuple[str, bool] | None:
    """(class->name, True) for a code-loading callee, (class->name, False) for reflection, else None."""
    cls, member = split_member(callee)
    name = member.split("(", 1)[0]
    key = f"{cls}->{name}"
    if (cls in DYNAMIC_LOADERS and name == "<init>") or key in DYNAMIC_LOAD_METHODS:
        return key, True
    if key in REFLECTION_METHODS:
        return key, False
    return None


def code_hiding(program: ProgramIndex) -> tuple[list[CallSite], int]:
    """Dynamic code loading call sites (first per caller and loader) and the reflection call count."""
    sites: dict[tuple[str, str], CallSite] = {}
    reflection = 0
    verdicts: dict[str, tuple[str, bool] | None] = {}  # callee -> (loader key, is loader) or None
    for body in program.methods():
        for offset, callee in body.invokes:
            if callee in verdicts:
                verdict = verdicts[callee]
            else:
                verdict = verdicts[callee] = _hiding_verdict(callee)
            if verdict is None:
                continue
            key, loader = verdict
            if loader:
                sites.setdefault(
                    (body.descriptor, key),
                    CallSite(
                        caller_class=descriptor_to_class(body.class_descriptor),
                        caller_method=body.signature,
                        dex=body.dex,
                        offset=offset,
                    ),
                )
            else:
                reflection += 1
    return [sites[k] for k in sorted(sites)], reflection


def hardening_facts(
    program: ProgramIndex,
    class_names: Iterable[str],
    native_libs: Iterable[str],
    assets: Iterable[tuple[str, bytes]],
) -> Hardening:
    asset_list = list(assets)
    loaders, reflection = code_hiding(program)
    return Hardening(
        packers=detect_packers(class_names, native_libs, [p for p, _ in asset_list]),
        dynamic_code_loading=loaders,
        encrypted_dex_assets=encrypted_dex_assets(asset_list),
        reflection_call_count=reflection,
    )
