"""The HTML report in a real headless Chromium: it renders to a screenshot and prints to an A4 PDF."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from appwarden.findings import ScanReport
from appwarden.report.html import render_html

pytestmark = pytest.mark.browser


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium is not installed (apt-get install chromium) — browser rendering not checked")


def _command(browser: str, profile: Path, *args: str) -> list[str]:
    # Every network-using feature off: the report must render from the file alone.
    return [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]


def test_report_renders_and_prints_in_chromium(sdkdemo_report: ScanReport, tmp_path: Path) -> None:
    browser = _chromium()
    page = tmp_path / "report.html"
    page.write_text(render_html(sdkdemo_report, lang="zh"), encoding="utf-8")
    png = tmp_path / "report.png"
    pdf = tmp_path / "report.pdf"

    # Chromium takes seconds to start here: run the screenshot and the print side by side.
    commands = [
        _command(browser, tmp_path / "p1", f"--screenshot={png}", "--window-size=1200,2000", page.as_uri()),
        _command(browser, tmp_path / "p2", f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri()),
    ]
    processes = [subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in commands]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr.decode("utf-8", "replace")[-2000:]

    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 2000)
    assert len(data) > 50_000  # a blank page compresses to a few kB; text and tables do not

    document = pdf.read_bytes()
    assert document.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page\b", document))
    assert pages >= 3, f"{pages} pages: the findings section should start on its own page"
    # @page { size: A4 } is honoured: 595 x 842 points.
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", document)
    assert boxes, "no MediaBox found"
    assert all(abs(float(w) - 595.3) < 2 and abs(float(h) - 841.9) < 2 for w, h in boxes)
