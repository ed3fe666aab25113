"""`appwarden scan DIR`: one bad APK never stops the rest.

A folder of good APKs and hostile files must give one output per good APK, a summary, one
stderr line per bad file naming it and its reason, and the exit code of the worst input
(3 unreadable, 4 hostile), or 0 / 10 when every APK was read.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from apk import hostile
from appwarden.cli import app
from appwarden.cli import scan as scan_module
from robustness import mutate
from support import example_apk

runner = CliRunner()


def squeeze(text: str) -> str:
    """``text`` without whitespace: rich wraps stderr lines at the terminal width."""
    return "".join(text.split())


def scan(*args: str | Path) -> Result:
    return runner.invoke(app, ["scan", *map(str, args)])


def copy_samples(folder: Path, *names: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(example_apk(name), folder / f"{name}.apk")


#: Bad file name -> (bytes builder, words its stderr line must contain). All are refused as hostile (4)
#: or unreadable (3); the folder's exit code is the worst of them.
def bad_files() -> dict[str, tuple[bytes, tuple[str, ...]]]:
    plain = example_apk("plain").read_bytes()
    return {
        "truncated.apk": (hostile.truncated(), ("truncated",)),
        "random.apk": (hostile.random_bytes(), ("ZIP",)),
        "bomb.apk": (mutate.with_bomb_entry(plain, "classes.dex"), ("classes.dex", "inflates")),
        "traversal.apk": (hostile.traversal("../../evil.sh"), ("../../evil.sh", "traversal")),
    }


def test_mixed_folder_writes_good_json_and_names_every_bad_file(tmp_path: Path) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    copy_samples(folder, "plain", "sdkdemo")
    (folder / "sub").mkdir()
    shutil.copy(example_apk("multidex"), folder / "sub" / "multidex.apk")
    bad = bad_files()
    for name, (data, _) in bad.items():
        (folder / name).write_bytes(data)
    (folder / "notes.txt").write_text("not an APK, not scanned")

    result = scan(folder, "--format", "json", "-o", out, "--jobs", "2")

    assert result.exit_code == 4, result.stderr  # the worst input is hostile
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    # The output mirrors the input tree, so equal file names in two subfolders cannot collide.
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json"))
    assert written == ["plain.json", "sdkdemo.json", "sub/multidex.json"]
    for path in out.rglob("*.json"):
        evidence = json.loads(path.read_text(encoding="utf-8"))
        assert evidence["identity"]["package"] == f"com.appwarden.sample.{path.stem}"
    stderr = squeeze(result.stderr)
    assert squeeze("7 APKs") in stderr  # the summary counts every .apk, good or bad, and skips notes.txt
    for name, (_, words) in bad.items():
        line = next((ln for ln in result.stderr.split("\nerror ")[1:] if squeeze(name) in squeeze(ln)), None)
        assert line is not None, f"no error line for {name}: {result.stderr}"
        for word in words:
            assert squeeze(word) in squeeze(line), (name, word, line)
    assert "notes.txt" not in result.stderr


def test_unreadable_only_folder_exits_3(tmp_path: Path) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    copy_samples(folder, "plain")
    (folder / "truncated.apk").write_bytes(hostile.truncated())
    result = scan(folder, "--format", "json", "-o", out, "--jobs", "1")
    assert result.exit_code == 3, result.stderr
    assert [p.name for p in out.iterdir()] == ["plain.json"]
    assert "truncated.apk" in squeeze(result.stderr)


def test_good_folder_exits_0_and_prints_the_summary(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    copy_samples(folder, "plain", "policy")
    result = scan(folder, "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    stderr = squeeze(result.stderr)
    assert squeeze("2 APKs") in stderr
    assert "com.appwarden.sample.plain" in stderr and "com.appwarden.sample.policy" in stderr
    assert "error" not in result.stderr


def test_fail_on_is_met_across_a_folder_and_input_errors_outrank_it(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    copy_samples(folder, "sdkdemo", "plain")
    assert scan(folder, "--fail-on", "high", "--jobs", "1").exit_code == 10
    # A lab must not read "findings met the gate" when part of the batch was never scanned.
    (folder / "traversal.apk").write_bytes(hostile.traversal("../x"))
    result = scan(folder, "--fail-on", "high", "--jobs", "1")
    assert result.exit_code == 4, result.stderr


def test_sarif_report_per_good_apk(tmp_path: Path) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    copy_samples(folder, "plain", "policy")
    (folder / "random.apk").write_bytes(hostile.random_bytes())
    result = scan(folder, "--report", "sarif", "-o", out, "--jobs", "1")
    assert result.exit_code == 3, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["plain.sarif", "policy.sarif"]
    for path in out.iterdir():
        assert json.loads(path.read_text(encoding="utf-8"))["version"] == "2.1.0"


def test_report_xlsx_summarises_the_folder(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    folder, out = tmp_path / "in", tmp_path / "out"
    copy_samples(folder, "plain", "sdkdemo")
    result = scan(folder, "--report", "xlsx", "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    workbook = openpyxl.load_workbook(out / "summary.xlsx", read_only=True)
    cells = {str(c) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for c in row if c}
    assert any("com.appwarden.sample.plain" in c for c in cells)
    assert any("com.appwarden.sample.sdkdemo" in c for c in cells)


def test_folder_json_without_output_is_a_usage_error(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    copy_samples(folder, "plain")
    result = scan(folder, "--format", "json")
    assert result.exit_code == 2
    assert "-o" in result.stderr


def test_folder_without_apks_says_so(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("nothing here")
    result = scan(tmp_path)
    assert result.exit_code == 0
    assert "no .apk files" in squeeze(result.stderr).replace("no.apkfiles", "no .apk files")


def test_one_hostile_name_does_not_hide_the_other_errors(tmp_path: Path) -> None:
    """Regression: one markup-bearing entry name once crashed the listing and hid the other errors."""
    folder, out = tmp_path / "in", tmp_path / "out"
    copy_samples(folder, "plain")
    (folder / "a-markup.apk").write_bytes(hostile.traversal("../[/red]x"))
    (folder / "z-truncated.apk").write_bytes(hostile.truncated())
    result = scan(folder, "--format", "json", "-o", out, "--jobs", "1")
    assert result.exit_code == 4
    assert "Traceback" not in result.stderr
    assert "z-truncated.apk" in squeeze(result.stderr)


def _die_on_marked_apk(path: str, options: scan_module.ScanOptions) -> scan_module.ScanOutcome:
    """Stand-in for a worker killed mid-scan (segfault in the C DEX scanner, the kernel's OOM killer)."""
    if Path(path).name.startswith("a-dies"):
        os._exit(137)
    return _REAL_SCAN_ONE(path, options)


_REAL_SCAN_ONE = scan_module._scan_one


def test_a_dead_worker_does_not_stop_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for name in ("a-dies", "b", "c", "d"):  # a-dies sorts first: it dies while the others wait
        shutil.copy(example_apk("plain"), folder / f"{name}.apk")
    # Workers are forked, so they inherit the patched function.
    monkeypatch.setattr(scan_module, "_scan_one", _die_on_marked_apk)
    result = scan(folder, "--format", "json", "-o", out, "--jobs", "2")
    assert "Traceback" not in result.stderr
    assert "a-dies.apk" in squeeze(result.stderr)
    assert sorted(p.name for p in out.iterdir()) == ["b.json", "c.json", "d.json"], result.stderr


def test_same_file_name_in_two_subfolders_keeps_both_results(tmp_path: Path) -> None:
    folder, out = tmp_path / "in", tmp_path / "out"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    shutil.copy(example_apk("plain"), folder / "a" / "app.apk")
    shutil.copy(example_apk("sdkdemo"), folder / "b" / "app.apk")
    result = scan(folder, "--format", "json", "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    packages = {
        json.loads(p.read_text(encoding="utf-8"))["identity"]["package"] for p in out.rglob("*.json") if p.is_file()
    }
    assert packages == {"com.appwarden.sample.plain", "com.appwarden.sample.sdkdemo"}


def test_largest_apks_are_scanned_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Longest-processing-time order: a big APK submitted last would leave the other workers idle.
    # Size is code, not file: a DEX that compresses 100x outranks a bigger file of images; what
    # is not a readable ZIP is ranked by its file size.
    sizes = {"small.apk": 10, "huge.apk": 3000, "medium.apk": 500}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)
    with zipfile.ZipFile(tmp_path / "images.apk", "w", zipfile.ZIP_STORED) as z:
        z.writestr("classes.dex", b"\x00" * 1_000)
        z.writestr("res/raw/photo.jpg", random.Random(1).randbytes(200_000))
    with zipfile.ZipFile(tmp_path / "code.apk", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("classes.dex", b"\x00" * 100_000)
        z.writestr("classes2.dex", b"\x00" * 100_000)
    assert (tmp_path / "code.apk").stat().st_size < 3000 < (tmp_path / "images.apk").stat().st_size
    submitted: list[str] = []

    class RecordingPool:
        def __init__(self, *args: object, **kwargs: object) -> None:
            pass

        def __enter__(self) -> RecordingPool:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def submit(self, fn: object, path: str, options: object) -> object:
            from concurrent.futures import Future

            submitted.append(Path(path).name)
            future: Future[scan_module.ScanOutcome] = Future()
            future.set_result(scan_module.ScanOutcome(path, False, error_code="x", error_message="x", exit_code=1))
            return future

    monkeypatch.setattr(scan_module, "ProcessPoolExecutor", RecordingPool)
    outcomes: list[str] = []
    paths = sorted(tmp_path.glob("*.apk"))
    options = scan_module.ScanOptions(app_type=None, policy_path=None, with_rules=False)
    scan_module._run_pool(paths, options, 1, lambda apk, o: outcomes.append(apk.name))
    assert submitted == ["code.apk", "huge.apk", "images.apk", "medium.apk", "small.apk"]
    assert sorted(outcomes) == sorted([*sizes, "code.apk", "images.apk"])


def test_folder_summary_counts_come_from_each_result(tmp_path: Path) -> None:
    """The summary row of each APK gives the SDK and call counts of the JSON written for it: the
    worker reports them, so the parent never re-reads megabytes of JSON to print a table."""
    folder, out = tmp_path / "in", tmp_path / "out"
    copy_samples(folder, "plain", "sdkdemo")
    result = scan(folder, "--format", "json", "-o", out, "--jobs", "1")
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.stderr.splitlines() if line.count("│") >= 5}
    for name in ("plain", "sdkdemo"):
        evidence = json.loads((out / f"{name}.json").read_text(encoding="utf-8"))
        cells = [c.strip() for c in rows[f"{name}.apk"].split("│")]
        assert cells[-2] == f"{len(evidence['sdks'])} / {len(evidence['api_calls'])}"
        assert evidence["identity"]["package"].startswith(cells[3].rstrip("…"))
