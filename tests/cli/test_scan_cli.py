"""`appwarden scan FILE`: outputs, report formats, exit codes and error messages on bad input.

Exit codes (README): 0 done; 2 usage; 3 unreadable input; 4 hostile input; 10 a finding at
or above ``--fail-on``. Each hostile input must give a clear error naming the problem on
stderr — never a traceback.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import resource
import subprocess
import threading
import zlib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from typer.testing import CliRunner, Result

from apk import hostile
from appwarden.cli import app
from robustness import mutate
from support import EXAMPLES, ROOT, example_apk

SCHEMA_DIR = ROOT / "src" / "appwarden" / "report" / "schema"
APPWARDEN = ROOT / ".venv" / "bin" / "appwarden"
SAMPLES = sorted(p.stem for p in EXAMPLES.glob("*.apk")) or ["plain"]

runner = CliRunner()


@functools.cache
def validator(schema_file: str) -> jsonschema.Draft202012Validator:
    """A validator for a shipped schema file, read from disk (what a consumer of the JSON would use)."""
    schema = json.loads((SCHEMA_DIR / schema_file).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def assert_valid(document: Any, schema_file: str) -> None:
    errors = sorted(validator(schema_file).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def squeeze(text: str) -> str:
    """``text`` without whitespace: rich wraps stderr at the terminal width, anywhere in a message."""
    return "".join(text.split())


def scan(*args: str | Path) -> Result:
    return runner.invoke(app, ["scan", *map(str, args)])


def assert_clean_failure(result: Result, exit_code: int, *reason_parts: str) -> None:
    """The command failed with ``exit_code``, named the problem on stderr, and raised nothing."""
    assert result.exit_code == exit_code, f"exit {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    for part in reason_parts:
        assert squeeze(part) in squeeze(result.stderr), f"{part!r} not in stderr: {result.stderr}"


# ------------------------------------------------------------------------- outputs per sample
@pytest.mark.parametrize("name", SAMPLES)
def test_text_output_names_the_app(name: str) -> None:
    result = scan(example_apk(name))
    assert result.exit_code == 0, result.stderr
    assert squeeze(f"com.appwarden.sample.{name}") in squeeze(result.stdout)
    assert "privacy policy:" in result.stdout


@pytest.mark.parametrize("name", SAMPLES)
def test_json_output_is_schema_valid_evidence_of_this_file(name: str) -> None:
    path = example_apk(name)
    result = scan(path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    evidence = json.loads(result.stdout)
    assert_valid(evidence, "evidence.schema.json")
    assert evidence["identity"]["package"] == f"com.appwarden.sample.{name}"
    assert evidence["identity"]["apk_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_json_to_file_writes_valid_json_and_keeps_stdout_clean(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "plain.json"
    result = scan(example_apk("plain"), "--format", "json", "-o", target)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == ""
    assert squeeze(str(target)) in squeeze(result.stderr)
    assert_valid(json.loads(target.read_text(encoding="utf-8")), "evidence.schema.json")


# ------------------------------------------------------------------------------ report formats
def test_report_json_is_a_schema_valid_scan_report(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    result = scan(example_apk("sdkdemo"), "--report", "json", "-o", target)
    assert result.exit_code == 0, result.stderr
    document = json.loads(target.read_text(encoding="utf-8"))
    assert_valid(document, "scan-report.schema.json")
    assert document["app"]["package"] == "com.appwarden.sample.sdkdemo"
    assert document["findings"], "sdkdemo has findings (README: SDKs before consent, excess permissions...)"


def test_report_sarif_has_one_result_per_finding(tmp_path: Path) -> None:
    json_target, sarif_target = tmp_path / "report.json", tmp_path / "report.sarif"
    assert scan(example_apk("sdkdemo"), "--report", "json", "-o", json_target).exit_code == 0
    result = scan(example_apk("sdkdemo"), "--report", "sarif", "-o", sarif_target)
    assert result.exit_code == 0, result.stderr
    sarif = json.loads(sarif_target.read_text(encoding="utf-8"))
    findings = json.loads(json_target.read_text(encoding="utf-8"))["findings"]
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert len(results) == len(findings)
    assert {r["ruleId"] for r in results} == {f["rule_id"] for f in findings}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_html_names_the_app_and_its_rules(tmp_path: Path, lang: str) -> None:
    target = tmp_path / "report.html"
    result = scan(example_apk("sdkdemo"), "--report", "html", "--lang", lang, "-o", target)
    assert result.exit_code == 0, result.stderr
    html = target.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "com.appwarden.sample.sdkdemo" in html
    assert "AW-POLICY" in html or "AW-SDK" in html


def test_report_xlsx_is_a_workbook_naming_the_app(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    target = tmp_path / "report.xlsx"
    result = scan(example_apk("sdkdemo"), "--report", "xlsx", "-o", target)
    assert result.exit_code == 0, result.stderr
    workbook = openpyxl.load_workbook(target, read_only=True)
    cells = {str(c) for ws in workbook.worksheets for row in ws.iter_rows(values_only=True) for c in row if c}
    assert any("com.appwarden.sample.sdkdemo" in c for c in cells)


# ---------------------------------------------------------------------------------- --fail-on
def test_fail_on_high_exits_10_on_sdkdemo() -> None:
    result = scan(example_apk("sdkdemo"), "--fail-on", "high")
    assert result.exit_code == 10, result.stderr


@pytest.mark.parametrize("name", ["plain", "sdkdemo"])
def test_fail_on_gate_agrees_with_the_report(tmp_path: Path, name: str) -> None:
    """Exit 10 exactly when the report holds a finding at or above the threshold."""
    target = tmp_path / "r.json"
    assert scan(example_apk(name), "--report", "json", "-o", target).exit_code == 0
    severities = {f["severity"] for f in json.loads(target.read_text(encoding="utf-8"))["findings"]}
    order = ["info", "low", "medium", "high", "critical"]
    for threshold in ("critical", "high", "low"):
        met = any(order.index(s) >= order.index(threshold) for s in severities)
        result = scan(example_apk(name), "--fail-on", threshold)
        assert result.exit_code == (10 if met else 0), (threshold, severities, result.stderr)
    assert scan(example_apk(name), "--fail-on", "never").exit_code == 0


def test_fail_on_high_exits_0_on_plain() -> None:
    result = scan(example_apk("plain"), "--fail-on", "high")
    assert result.exit_code == 0, result.stdout


# ------------------------------------------------------------------------------- usage errors
def test_unknown_app_type_is_a_usage_error_listing_the_valid_types() -> None:
    result = scan(example_apk("plain"), "--app-type", "no_such_type")
    assert_clean_failure(result, 2, "no_such_type", "utility_tools", "online_shopping")


def test_unknown_app_type_fails_before_the_apk_is_read(tmp_path: Path) -> None:
    """A usage error wins over bad input: the user fixes the command line first."""
    junk = tmp_path / "junk.apk"
    junk.write_bytes(hostile.random_bytes(4096))
    result = scan(junk, "--app-type", "no_such_type")
    assert_clean_failure(result, 2, "no_such_type")


@pytest.mark.parametrize(
    "args",
    [
        ["--format", "yaml"],
        ["--report", "pdfx"],
        ["--fail-on", "severe"],
        ["--jobs", "0"],
        ["--no-such-option"],
    ],
)
def test_bad_options_are_usage_errors(args: list[str]) -> None:
    result = scan(example_apk("plain"), *args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert squeeze(args[0]) in squeeze(result.stderr)


def test_missing_target_is_a_usage_error(tmp_path: Path) -> None:
    result = scan(tmp_path / "absent.apk")
    # Typer draws this error in a box, which may split the path: check the shape, not the name.
    assert_clean_failure(result, 2, "Usage:")


# ---------------------------------------------------------------------------------- bad input
def _bad_inputs() -> dict[str, tuple[bytes, int, tuple[str, ...]]]:
    """name -> (file bytes, exit code, words the reason must contain)."""
    plain = (EXAMPLES / "plain.apk").read_bytes() if (EXAMPLES / "plain.apk").exists() else b""
    cases: dict[str, tuple[bytes, int, tuple[str, ...]]] = {
        "empty.apk": (hostile.empty(), 3, ("empty",)),
        "random.apk": (hostile.random_bytes(), 3, ("ZIP",)),
        "truncated.apk": (hostile.truncated(), 3, ("truncated",)),
        "traversal.apk": (hostile.traversal("../../evil.sh"), 4, ("../../evil.sh", "traversal")),
        "duplicate.apk": (hostile.duplicate_names(), 4, ("classes.dex", "duplicate")),
        "overlap.apk": (hostile.overlapping_entries(), 4, ()),
    }
    if plain:
        cases["bomb-declared.apk"] = (mutate.with_bomb_entry(plain, "classes.dex"), 4, ("classes.dex",))
        cases["bomb-ratio.apk"] = (mutate.with_bomb_entry(plain, "classes.dex", declared=None), 4, ("ratio",))
        cases["manifest-bomb.apk"] = (mutate.with_bomb_entry(plain, "AndroidManifest.xml"), 4, ("AndroidManifest",))
        cases["no-manifest.apk"] = (mutate.rezip_without(plain, "AndroidManifest.xml"), 3, ("AndroidManifest.xml",))
    return cases


BAD_INPUTS = _bad_inputs()


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_gets_its_exit_code_and_reason(tmp_path: Path, name: str) -> None:
    data, exit_code, words = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_bytes(data)
    for fmt in ("text", "json"):
        result = scan(path, "--format", fmt)
        assert_clean_failure(result, exit_code, name, *words)
        assert result.stdout.strip() == "", "no partial evidence is printed for a refused APK"


def test_bad_input_fails_the_same_way_with_rules(tmp_path: Path) -> None:
    path = tmp_path / "truncated.apk"
    path.write_bytes(hostile.truncated())
    result = scan(path, "--report", "json", "-o", tmp_path / "r.json")
    assert_clean_failure(result, 3, "truncated.apk")
    assert not (tmp_path / "r.json").exists()


def test_error_line_shows_the_machine_error_code(tmp_path: Path) -> None:
    """Regression: rich markup once ate "[hostile_apk]" off the error line."""
    path = tmp_path / "traversal.apk"
    path.write_bytes(hostile.traversal("../../evil.sh"))
    result = scan(path)
    assert "hostile_apk" in result.stderr


def test_entry_name_with_markup_is_reported_not_rendered(tmp_path: Path) -> None:
    """Regression: an entry name holding markup once crashed the error line (MarkupError, exit 1)."""
    path = tmp_path / "markup.apk"
    path.write_bytes(hostile.traversal("../[/red]x"))
    result = scan(path)
    assert_clean_failure(result, 4, "[/red]x", "traversal")


def test_json_output_to_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    """Regression: writing JSON onto a folder was once an IsADirectoryError traceback."""
    result = scan(example_apk("plain"), "--format", "json", "-o", tmp_path)
    assert_clean_failure(result, 2, str(tmp_path))


def test_report_to_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    """Regression: report.render's ConfigurationError once escaped the CLI as a traceback."""
    result = scan(example_apk("plain"), "--report", "html", "-o", tmp_path)
    assert_clean_failure(result, 2, "choose a writable --output path")


# ------------------------------------------------------------------------- the real executable
def _run(*args: str | Path, address_space: int | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed executable (wide terminal, no colour), optionally under RLIMIT_AS=``address_space``."""
    if not APPWARDEN.exists():
        pytest.skip(f"{APPWARDEN} is not installed (pip install -e . in the virtualenv)")

    def limit() -> None:
        if address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    return subprocess.run(
        [str(APPWARDEN), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
        preexec_fn=limit,
    )


def test_executable_exit_codes_and_stderr(tmp_path: Path) -> None:
    """Real processes: the installed entry point maps a refused APK to 4 and a met gate to 10 by itself."""
    traversal = tmp_path / "traversal.apk"
    traversal.write_bytes(hostile.traversal("../../evil.sh"))
    bad = _run("scan", traversal)
    assert bad.returncode == 4, bad.stderr
    assert "traversal.apk" in bad.stderr and "../../evil.sh" in bad.stderr and "traversal" in bad.stderr
    assert "Traceback" not in bad.stderr and bad.stdout.strip() == ""

    gate = _run("scan", example_apk("sdkdemo"), "--fail-on", "high")
    assert gate.returncode == 10, gate.stderr


def test_a_fifo_is_refused_not_waited_on(tmp_path: Path) -> None:
    """Regression: open() on a FIFO once blocked for ever waiting for a writer."""
    fifo = tmp_path / "pipe.apk"
    os.mkfifo(fifo)
    results: list[Result] = []
    worker = threading.Thread(target=lambda: results.append(scan(fifo)), daemon=True)
    worker.start()
    worker.join(3.0)  # a refusal takes milliseconds; a blocked open() never returns
    hung = worker.is_alive()
    if hung:
        # Unblock the reader so the thread ends: a writer that closes at once gives it end-of-file.
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        worker.join(5.0)
    assert not hung, "scanning a FIFO waited for a writer instead of refusing it"
    assert_clean_failure(results[0], 3, "pipe.apk")


def docx_bomb(inflated: int = 512 * 2**20, declared: int = 5000) -> bytes:
    """A DOCX whose word/document.xml inflates to ``inflated`` bytes but declares ``declared``."""
    types = (
        b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/'
        b'document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.'
        b'main+xml"/></Types>'
    )
    rels = (
        b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
        b'2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
        b'2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'
    )
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = compressor.compress(b'<?xml version="1.0"?><w:document xmlns:w="urn:w"><w:body><w:p><w:r><w:t>')
    head += compressor.flush(zlib.Z_FULL_FLUSH)
    # After a full flush the compressor forgets its history, so every 1 MiB block of spaces
    # compresses to the same bytes: compress one, repeat it (fast, unlike compressing 512 MiB).
    block = compressor.compress(b" " * 2**20) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = compressor.compress(b"</w:t></w:r></w:p></w:body></w:document>") + compressor.flush()
    payload = head + block * (inflated // 2**20) + tail
    builder = hostile.ZipBuilder()
    builder.add("[Content_Types].xml", types)
    builder.add("_rels/.rels", rels)
    builder.add("word/document.xml", b"", payload=payload, crc32=0, uncompressed_size=declared)
    return builder.build()


def test_policy_docx_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    bomb = tmp_path / "policy.docx"
    bomb.write_bytes(docx_bomb())  # 0.5 MB on disk, 512 MiB inflated
    # A normal scan with a policy runs in < 400 MiB; the bomb alone needs 512 MiB.
    result = _run("scan", example_apk("plain"), "--policy", bomb, address_space=512 * 2**20)
    assert result.returncode == 3, result.stderr
    assert "DOCX" in result.stderr
    assert "MemoryError" not in result.stderr, "the bomb was inflated until memory ran out, not refused"


def test_an_oversized_file_is_refused_by_size(tmp_path: Path) -> None:
    huge = tmp_path / "huge.apk"
    with huge.open("wb") as handle:
        handle.seek(3 * 2**30)  # a hole: no disk, no memory
        handle.write(hostile.minimal_apk().build())
    result = _run("scan", huge, address_space=2**30)
    assert result.returncode == 4, result.stderr
    assert "Cannot allocate memory" not in result.stderr


def _hostile_policies() -> dict[str, tuple[bytes, set[int]]]:
    """name -> (policy file bytes, acceptable exit codes: 0 read, 3 refused as unreadable)."""
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10 if i else "lol"}">' for i in range(10))
    return {
        "nested.html": (("<div>" * 100_000 + "我们收集您的手机号。" + "</div>" * 100_000).encode(), {0}),
        "laughs.html": (f'<?xml version="1.0"?><!DOCTYPE h [{laughs}]><html><body>&l9;</body></html>'.encode(), {0, 3}),
        "binary.html": (hostile.random_bytes(50_000), {3}),
        "empty.html": (b"", {3}),
        "fake.pdf": (b"%PDF-1.4\n1 0 obj<</Type/Pages/Kids[1 0 R]/Count 1>>endobj\ntrailer<</Root 1 0 R>>%%EOF", {3}),
    }


HOSTILE_POLICIES = _hostile_policies()


@pytest.mark.parametrize("name", sorted(HOSTILE_POLICIES))
def test_hostile_policy_file_is_read_or_refused(tmp_path: Path, name: str) -> None:
    data, allowed = HOSTILE_POLICIES[name]
    policy = tmp_path / name
    policy.write_bytes(data)
    result = scan(example_apk("plain"), "--policy", policy, "--report", "json", "-o", tmp_path / "r.json")
    assert result.exit_code in allowed, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stderr
    if result.exit_code == 3:
        assert "[policy_document]" in result.stderr, result.stderr


def test_refused_policy_error_names_the_policy_file(tmp_path: Path) -> None:
    policy = tmp_path / "privacy-policy.html"
    policy.write_bytes(b"")
    result = scan(example_apk("plain"), "--policy", policy)
    assert_clean_failure(result, 3, "privacy-policy.html")


def test_the_summary_says_which_policy_was_judged(tmp_path: Path) -> None:
    bundled = runner.invoke(app, ["scan", str(example_apk("policy")), "--fail-on", "critical"])
    assert bundled.exit_code == 0, bundled.output
    text = " ".join(bundled.output.split())
    assert "privacy policy judged: policy.apk!/assets/privacy_policy.html (54 sentences;" in text
    none = runner.invoke(app, ["scan", str(example_apk("plain")), "--fail-on", "critical"])
    assert "privacy policy judged: none (none given, bundled or fetched); POLICY rules did not run" in " ".join(
        none.output.split()
    )
