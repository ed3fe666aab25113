"""Synthetic APKs of growing DEX size, for the linearity column of the benchmark.

Generates a smali tree whose classes call a mix of ordinary and privacy-sensitive
APIs, assembles it with Debian's `smali`, and puts the DEX next to the manifest and
resources of a bundled sample app. The code shape (many small methods, switch
payloads, string constants) resembles real apps more than one giant method would.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

SENSITIVE_CALLS = [
    ("Landroid/telephony/TelephonyManager;", "getDeviceId", "()Ljava/lang/String;"),
    ("Landroid/net/wifi/WifiInfo;", "getMacAddress", "()Ljava/lang/String;"),
    ("Landroid/content/pm/PackageManager;", "getInstalledPackages", "(I)Ljava/util/List;"),
    ("Landroid/content/ClipboardManager;", "getPrimaryClip", "()Landroid/content/ClipData;"),
]
ORDINARY_CALLS = [
    ("Ljava/lang/StringBuilder;", "append", "(Ljava/lang/String;)Ljava/lang/StringBuilder;"),
    ("Ljava/lang/String;", "length", "()I"),
    ("Ljava/util/ArrayList;", "size", "()I"),
    ("Ljava/lang/Object;", "hashCode", "()I"),
]
PACKAGES = ["com/acme/app", "com/acme/app/ui", "com/umeng/commonsdk/internal", "com/tencent/bugly/crashreport/a"]


def _method(rng: random.Random, cls: str, idx: int, n_classes_here: int) -> str:
    body = [f".method public m{idx}(Ljava/lang/Object;I)I", "    .registers 6"]
    body.append(f'    const-string v0, "k{rng.randrange(1 << 30)}"')
    for _ in range(rng.randint(2, 6)):
        owner, name, proto = rng.choice(ORDINARY_CALLS if rng.random() < 0.9 else SENSITIVE_CALLS)
        body.append(f"    invoke-virtual {{p1}}, {owner}->{name}{proto}")
    target = rng.randrange(n_classes_here)
    body.append(f"    invoke-static {{}}, {cls[:-1].rsplit('/', 1)[0]}/C{target};->s()V")
    body += [
        "    packed-switch p2, :sw",
        "    const/4 v1, 0x0",
        "    return v1",
        "    :sw",
        "    .packed-switch 0x0",
        "        :c0",
        "        :c1",
        "    .end packed-switch",
        "    :c0",
        "    const/4 v1, 0x1",
        "    return v1",
        "    :c1",
        "    const/4 v1, 0x2",
        "    return v1",
        ".end method",
    ]
    return "\n".join(body)


def write_smali_tree(root: Path, n_classes: int, methods_per_class: int = 12, seed: int = 7) -> None:
    rng = random.Random(seed)
    per_pkg = max(1, n_classes // len(PACKAGES))
    for pkg in PACKAGES:
        d = root / pkg
        d.mkdir(parents=True, exist_ok=True)
        for c in range(per_pkg):
            cls = f"L{pkg}/C{c};"
            parts = [f".class public {cls}", ".super Ljava/lang/Object;", ""]
            parts.append(".method public static s()V\n    .registers 1\n    return-void\n.end method\n")
            parts += [_method(rng, cls, m, per_pkg) for m in range(methods_per_class)]
            (d / f"C{c}.smali").write_text("\n".join(parts) + "\n", encoding="utf-8")


def build_synthetic_apk(base_apk: Path, out: Path, n_classes: int) -> Path | None:
    """An APK with the base app's manifest/resources and a generated classes.dex; None without smali."""
    smali = shutil.which("smali")
    if smali is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        write_smali_tree(src, n_classes)
        dex = Path(tmp) / "classes.dex"
        subprocess.run([smali, "a", "-o", str(dex), str(src)], check=True, capture_output=True)
        with zipfile.ZipFile(base_apk) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in zin.infolist():
                if item.filename.startswith("META-INF/") or item.filename.endswith(".dex"):
                    continue
                zout.writestr(item, zin.read(item.filename))
            zout.write(dex, "classes.dex")
    return out


def build_multidex_composite(apks: list[Path], out: Path) -> Path | None:
    """One APK holding every classes*.dex of ``apks``: the manifest and resources of the APK with
    the largest DEX, its DEX files first, then the others' as classes{N}.dex in the order given.

    No corpus app has many large DEX files, as big apps do; this one measures how memory grows
    with the total code once the largest DEX is fixed. The apps share libraries (androidx,
    kotlin), so many classes are defined twice: the later definitions are dropped as Android
    drops them, and the composite understates the code a real app of this size defines.
    None when fewer than two APKs hold DEX files.
    """
    sources: list[tuple[Path, list[tuple[str, int]]]] = []
    for apk in apks:
        try:
            with zipfile.ZipFile(apk) as z:
                dex = sorted(
                    ((i.filename, i.file_size) for i in z.infolist() if _dex_number(i.filename) is not None),
                    key=lambda item: _dex_number(item[0]) or 0,
                )
        except (OSError, zipfile.BadZipFile):
            continue
        if dex:
            sources.append((apk, dex))
    if len(sources) < 2:
        return None
    sources.sort(key=lambda item: max(size for _, size in item[1]), reverse=True)
    base = sources[0][0]
    number = 0
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            if item.filename.startswith("META-INF/") or _dex_number(item.filename) is not None:
                continue
            zout.writestr(item, zin.read(item.filename))
        for apk, dex in sources:
            with zipfile.ZipFile(apk) as z:
                for name, _ in dex:
                    number += 1
                    zout.writestr("classes.dex" if number == 1 else f"classes{number}.dex", z.read(name))
    return out


def _dex_number(name: str) -> int | None:
    """1 for classes.dex, N for classesN.dex, None for any other entry."""
    if not (name.startswith("classes") and name.endswith(".dex") and "/" not in name):
        return None
    middle = name[len("classes") : -len(".dex")]
    if middle == "":
        return 1
    return int(middle) if middle.isdigit() else None
