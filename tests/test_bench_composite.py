"""The benchmark's multidex composite: every DEX of several APKs in one app, largest first."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from support import EXAMPLES, ROOT

sys.path.insert(0, str(ROOT / "bench"))
from synth import build_multidex_composite


def _dex(apk: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(apk) as z:
        return [(n, z.read(n)) for n in z.namelist() if n.startswith("classes") and n.endswith(".dex")]


def test_composite_holds_every_dex_with_the_largest_app_first(tmp_path: Path) -> None:
    multidex, plain = EXAMPLES / "multidex.apk", EXAMPLES / "plain.apk"
    if not (multidex.exists() and plain.exists()):
        pytest.skip("examples/*.apk are not built")
    out = build_multidex_composite([plain, multidex], tmp_path / "composite.apk")
    assert out is not None
    apps = sorted([plain, multidex], key=lambda a: max(len(d) for _, d in _dex(a)), reverse=True)
    expected = [data for app in apps for _, data in sorted(_dex(app), key=lambda item: len(item[0]))]
    names = [n for n, _ in _dex(out)]
    assert names == ["classes.dex", *(f"classes{i}.dex" for i in range(2, len(expected) + 1))]
    assert [d for _, d in sorted(_dex(out), key=lambda item: int(item[0][7:-4] or 1))] == expected
    with zipfile.ZipFile(out) as z, zipfile.ZipFile(apps[0]) as base:
        assert "AndroidManifest.xml" in z.namelist()
        assert z.read("AndroidManifest.xml") == base.read("AndroidManifest.xml")
        assert not [n for n in z.namelist() if n.startswith("META-INF/")]

    from appwarden.evidence.extract import extract_evidence

    evidence = extract_evidence(out)
    assert [d.name for d in evidence.dex_files] == names


def test_composite_needs_two_apps_with_code(tmp_path: Path) -> None:
    plain = EXAMPLES / "plain.apk"
    if not plain.exists():
        pytest.skip("examples/*.apk are not built")
    assert build_multidex_composite([plain], tmp_path / "one.apk") is None
    junk = tmp_path / "junk.apk"
    junk.write_bytes(b"not a zip")
    assert build_multidex_composite([plain, junk], tmp_path / "two.apk") is None
