"""`appwarden scan`: one APK or a folder of APKs -> evidence and findings."""

from __future__ import annotations

import os
import resource
import signal
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from appwarden.errors import AppwardenError, ScanTimeoutError
from appwarden.evidence.model import APP_OWNER, Evidence
from appwarden.findings import SEVERITY_ORDER, ScanReport

console = Console()
err_console = Console(stderr=True)


class EvidenceFormat(StrEnum):
    text = "text"
    json = "json"


class ReportFormat(StrEnum):
    html = "html"
    json = "json"
    sarif = "sarif"
    xlsx = "xlsx"


class Lang(StrEnum):
    zh = "zh"
    en = "en"


class FailOn(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    info = "info"
    never = "never"


#: Exit code when --fail-on is met: distinct from input errors (3, 4) and usage errors (2).
EXIT_GATE_FAILED = 10


@dataclass(frozen=True)
class ScanOptions:
    app_type: str | None
    policy_path: str | None
    with_rules: bool
    trace_path: str | None = None
    timeout_seconds: float = 0.0
    policy_url: str | None = None
    fetch_linked_policy: bool = False
    allow_private_network: bool = False


@dataclass(frozen=True)
class ScanOutcome:
    """What one worker returns for one APK: the JSON text of its result, or the error."""

    path: str
    ok: bool
    result_json: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    exit_code: int = 0
    seconds: float = 0.0
    #: What the folder summary and the --fail-on gate read, taken by the worker from the result
    #: it already holds: the parent then never parses the JSON (megabytes for an app with 10^4
    #: call sites) unless it writes reports from it.
    package: str = ""
    count: str = ""
    max_severity: str | None = None


def _limit_worker_memory(megabytes: int) -> None:
    """Pool initializer: cap the worker's address space so a runaway APK fails alone with MemoryError."""
    if megabytes > 0:
        limit = megabytes * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class _Alarm:
    """Per-APK wall-clock limit via SIGALRM (only possible in a process's main thread)."""

    def __init__(self, seconds: float, path: str) -> None:
        self.seconds = seconds if threading.current_thread() is threading.main_thread() else 0.0
        self.path = path
        self.previous: Any = None

    def _fire(self, signum: int, frame: object) -> None:
        raise ScanTimeoutError(f"scanning took longer than the {self.seconds:g} s limit (--timeout)")

    def __enter__(self) -> None:
        if self.seconds > 0:
            self.previous = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.seconds > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)


def _scan_one(path: str, options: ScanOptions) -> ScanOutcome:
    """Scan one APK in a worker process; never raises for bad input."""
    with _Alarm(options.timeout_seconds, path):
        return _scan_one_unlimited(path, options)


def _scan_one_unlimited(path: str, options: ScanOptions) -> ScanOutcome:
    started = time.perf_counter()
    try:
        if options.with_rules:
            from appwarden.pipeline import scan_apk

            report = scan_apk(
                path,
                app_type=options.app_type,
                policy_path=options.policy_path,
                trace_path=options.trace_path,
                policy_url=options.policy_url,
                fetch_linked_policy=options.fetch_linked_policy,
                allow_private_network=options.allow_private_network,
            )
            # Indented here, in the worker: pydantic's serializer does it in a fraction of the time
            # the parent would need to re-parse and re-indent (megabytes for apps with 10^4 call sites).
            text = report.model_dump_json(indent=2)
            package, count, max_severity = report.app.package, str(len(report.findings)), report.max_severity()
        else:
            from appwarden.evidence.extract import extract_evidence

            evidence = extract_evidence(path)
            text = evidence.model_dump_json(indent=2)
            package, count, max_severity = (
                evidence.identity.package,
                f"{len(evidence.sdks)} / {len(evidence.api_calls)}",
                None,
            )
        return ScanOutcome(
            path=path,
            ok=True,
            result_json=text,
            seconds=time.perf_counter() - started,
            package=package,
            count=count,
            max_severity=max_severity,
        )
    except AppwardenError as exc:
        return ScanOutcome(
            path=path,
            ok=False,
            error_code=exc.code,
            error_message=str(exc),
            exit_code=exc.exit_code,
            seconds=time.perf_counter() - started,
        )
    except MemoryError:
        return ScanOutcome(
            path=path, ok=False, error_code="out_of_memory", error_message="ran out of memory", exit_code=4
        )
    except Exception as exc:  # a bug in appwarden: report it for this APK and carry on with the rest
        return ScanOutcome(
            path=path,
            ok=False,
            error_code="internal_error",
            error_message=f"{type(exc).__name__}: {exc}",
            exit_code=1,
            seconds=time.perf_counter() - started,
        )


def scan(
    target: Path = typer.Argument(..., help="An APK file, or a folder of APKs", exists=True),
    fmt: EvidenceFormat = typer.Option(
        EvidenceFormat.text,
        "--format",
        "-f",
        help="text: a summary; json: the evidence, or the whole scan report (findings + evidence) when rules run",
    ),
    report: ReportFormat | None = typer.Option(None, "--report", "-r", help="Write a findings report instead"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Output file (one APK) or folder (a folder)"),
    lang: Lang = typer.Option(Lang.zh, "--lang", help="Report language"),
    app_type: str | None = typer.Option(None, "--app-type", help="One of the 39 app types (see `rules app-types`)"),
    policy: Path | None = typer.Option(
        None,
        "--policy",
        exists=True,
        dir_okay=False,
        help="Privacy policy file (HTML, MHTML, Markdown, text, PDF, DOCX)",
    ),
    policy_url: str | None = typer.Option(
        None, "--policy-url", help="Fetch the privacy policy from this web page (one APK; http/https, public hosts)"
    ),
    fetch_linked_policy: bool = typer.Option(
        False,
        "--fetch-linked-policy",
        help="When no policy is given or bundled, fetch the policy page the app links (network access)",
    ),
    allow_private_network: bool = typer.Option(
        False, "--allow-private-network", help="Let policy fetching reach private and loopback addresses"
    ),
    trace: Path | None = typer.Option(
        None,
        "--trace",
        exists=True,
        dir_okay=False,
        help="Runtime trace (JSONL) recorded by appwarden's agent for this app (DYNAMIC rules)",
    ),
    fail_on: FailOn = typer.Option(FailOn.never, "--fail-on", help="Exit 10 when a finding has this severity or more"),
    jobs: int = typer.Option(min(2, os.cpu_count() or 1), "--jobs", "-j", min=1, help="Parallel workers (folders)"),
    timeout: float = typer.Option(900.0, "--timeout", min=0, help="Seconds one APK may take (0: no limit)"),
    memory_limit: int = typer.Option(
        4096, "--memory-limit", min=0, help="Address-space limit per worker in MiB, folder scans (0: none)"
    ),
) -> None:
    """Scan an APK (or every APK in a folder) and print or write its evidence or findings report."""
    with_rules = any(
        (report is not None, fail_on is not FailOn.never, app_type, policy, trace, policy_url, fetch_linked_policy)
    )
    if policy is not None and policy_url is not None:
        _error("--policy-url", "usage", "give the policy as a file (--policy) or a page (--policy-url), not both")
        raise typer.Exit(2)
    options = ScanOptions(
        app_type=app_type,
        policy_path=str(policy) if policy else None,
        with_rules=with_rules,
        trace_path=str(trace) if trace else None,
        timeout_seconds=timeout,
        policy_url=policy_url,
        fetch_linked_policy=fetch_linked_policy,
        allow_private_network=allow_private_network,
    )
    try:
        if target.is_dir():
            if policy_url is not None:
                _error("--policy-url", "usage", "a policy page belongs to one app: scan one APK with it")
                raise typer.Exit(2)
            raise typer.Exit(_scan_folder(target, fmt, report, output, lang, options, fail_on, jobs, memory_limit))
        if not target.is_file():
            # A FIFO or device would block or never end: only regular files are APKs.
            _error(str(target), "unreadable_input", "not a regular file")
            raise typer.Exit(3)
        if output is not None and output.is_dir() and report is None and fmt is EvidenceFormat.json:
            _error(str(output), "usage", "is a folder: give a file name for one APK's output")
            raise typer.Exit(2)
        raise typer.Exit(_scan_file(target, fmt, report, output, lang, options, fail_on))
    except AppwardenError as exc:
        _error(str(target), exc.code, str(exc))
        raise typer.Exit(exc.exit_code) from exc
    except OSError as exc:  # the output could not be written: say where, keep the exit code distinct
        _error(str(exc.filename or output or target), "output", exc.strerror or str(exc))
        raise typer.Exit(1) from exc


def _error(where: str, code: str | None, message: str | None) -> None:
    """One error line on stderr; names and messages come from hostile input, so never as markup."""
    err_console.print(f"[red]error[/red] {escape(where)}: {escape(f'[{code}]')} {escape(message or '')}")


def _scan_file(
    path: Path,
    fmt: EvidenceFormat,
    report: ReportFormat | None,
    output: Path | None,
    lang: Lang,
    options: ScanOptions,
    fail_on: FailOn,
) -> int:
    with console.status(f"scanning {escape(path.name)}…", spinner="dots"):
        outcome = _scan_one(str(path), options)
    if not outcome.ok:
        _error(str(path), outcome.error_code, outcome.error_message)
        return outcome.exit_code
    assert outcome.result_json is not None
    if options.with_rules:
        scan_report = ScanReport.model_validate_json(outcome.result_json)
        if report is not None:
            _write_report(scan_report, report, output, lang)
        elif fmt is EvidenceFormat.json:
            _emit(outcome.result_json, output)
        else:
            if scan_report.evidence is not None:
                print_evidence_summary(scan_report.evidence)
            print_findings_summary(scan_report)
        return _gate(scan_report.max_severity(), fail_on)
    if fmt is EvidenceFormat.json:
        _emit(outcome.result_json, output)
    else:
        print_evidence_summary(Evidence.model_validate_json(outcome.result_json))
    return 0


def _scan_folder(
    folder: Path,
    fmt: EvidenceFormat,
    report: ReportFormat | None,
    output: Path | None,
    lang: Lang,
    options: ScanOptions,
    fail_on: FailOn,
    jobs: int,
    memory_limit_mb: int = 0,
) -> int:
    apks = sorted(p for p in folder.rglob("*.apk") if p.is_file())  # is_file() skips FIFOs and devices
    if not apks:
        err_console.print(f"[yellow]no .apk files under {escape(str(folder))}[/yellow]")
        return 0
    if output is None and (fmt is EvidenceFormat.json or report is not None):
        err_console.print("[red]a folder scan writing json or reports needs -o OUTDIR[/red]")
        return 2
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
    outcomes: list[ScanOutcome] = []
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}"),
        console=err_console,
        transient=False,
    )

    def record(apk: Path, outcome: ScanOutcome) -> None:
        outcomes.append(outcome)
        progress.update(task, advance=1, current=escape(apk.name))
        if outcome.ok and output is not None and report is None:
            # Mirror the input tree: two app.apk in different subfolders must not overwrite each other.
            target = output / apk.relative_to(folder).with_suffix(".json")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text((outcome.result_json or "") + "\n", encoding="utf-8")

    with progress:
        task = progress.add_task("scan", total=len(apks), current="")
        suspects = _run_pool(apks, options, jobs, record, memory_limit_mb)
        # A worker died (crash, out-of-memory kill) and took the pool down with it: every APK it
        # left unfinished is tried again alone, so only the APK that kills its worker is lost.
        for apk in suspects:
            if _run_pool([apk], options, 1, record, memory_limit_mb):
                record(apk, ScanOutcome(str(apk), False, error_code="worker_died", error_message=_DIED, exit_code=1))
    outcomes.sort(key=lambda o: o.path)
    if options.with_rules and report is not None and output is not None:
        named = [
            (Path(o.path), ScanReport.model_validate_json(o.result_json)) for o in outcomes if o.ok and o.result_json
        ]
        _write_folder_reports(named, folder, report, output, lang)
    _print_folder_summary(outcomes, with_rules=options.with_rules)
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        _error(o.path, o.error_code, o.error_message)
    gate = 0
    if options.with_rules:
        for o in outcomes:
            if o.ok:
                gate = max(gate, _gate(o.max_severity, fail_on))
    if failed:
        return max(o.exit_code for o in failed)
    return gate


_DIED = "the worker process scanning this APK died (crash or out-of-memory kill), also when retried alone"


def _run_pool(
    apks: list[Path],
    options: ScanOptions,
    jobs: int,
    record: Callable[[Path, ScanOutcome], None],
    memory_limit_mb: int = 0,
) -> list[Path]:
    """Scan ``apks`` in a process pool, recording each outcome; returns the APKs a dead worker left unfinished."""
    unfinished: list[Path] = []
    workers = max(1, min(jobs, len(apks)))
    if workers > 1:  # once here: forked workers inherit the loaded modules and catalogs
        if options.with_rules:
            from appwarden.pipeline import warm_up

            warm_up()
        else:
            from appwarden.evidence.extract import warm_up_extraction

            warm_up_extraction()
    with ProcessPoolExecutor(workers, initializer=_limit_worker_memory, initargs=(memory_limit_mb,)) as pool:
        # Most code first: scan time grows with DEX size, and a big APK started last would keep
        # one worker busy while the others have nothing left (longest-processing-time order).
        by_size = sorted(apks, key=_work_estimate, reverse=True)
        futures: dict[Future[ScanOutcome], Path] = {pool.submit(_scan_one, str(p), options): p for p in by_size}
        for fut in as_completed(futures):
            apk = futures[fut]
            try:
                outcome = fut.result()
            except BrokenProcessPool:
                unfinished.append(apk)
                continue
            except Exception as exc:  # pickling or other executor failure for this APK: record, go on
                outcome = ScanOutcome(str(apk), False, error_code="worker_error", error_message=str(exc), exit_code=1)
            record(apk, outcome)
    return sorted(unfinished)


def _work_estimate(path: Path) -> int:
    """Bytes of DEX the central directory declares (the file size says little: DEX compresses 2x to 100x)."""
    from appwarden.apk.zip import declared_dex_size

    declared = declared_dex_size(path)
    if declared is not None:
        return declared
    try:
        return path.stat().st_size
    except OSError:
        return 0  # unreadable: its worker reports why


def _write_folder_reports(
    named: list[tuple[Path, ScanReport]], folder: Path, fmt: ReportFormat, output: Path, lang: Lang
) -> None:
    from appwarden.report.render import render

    if fmt is ReportFormat.xlsx:
        target = output / "summary.xlsx"
        render([r for _, r in named], fmt.value, target, lang=lang.value)
        err_console.print(f"wrote {escape(str(target))}")
        return
    for apk, r in named:
        target = output / apk.relative_to(folder).with_suffix(f".{fmt.value}")
        target.parent.mkdir(parents=True, exist_ok=True)
        render(r, fmt.value, target, lang=lang.value)
    err_console.print(f"wrote {len(named)} {fmt.value} reports to {escape(str(output))}")


def _gate(max_severity: str | None, fail_on: FailOn) -> int:
    if fail_on is FailOn.never or max_severity is None:
        return 0
    return EXIT_GATE_FAILED if SEVERITY_ORDER[max_severity] >= SEVERITY_ORDER[fail_on.value] else 0


def _emit(text: str, output: Path | None) -> None:
    pretty = text + "\n"  # indented by the worker
    if output is None:
        sys.stdout.write(pretty)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(pretty, encoding="utf-8")
        err_console.print(f"wrote {escape(str(output))}")


def _write_report(report: ScanReport, fmt: ReportFormat, output: Path | None, lang: Lang) -> None:
    from appwarden.report.render import render

    target = output or Path(f"{report.app.package}.{fmt.value}")
    render(report, fmt.value, target, lang=lang.value)
    err_console.print(f"wrote {escape(str(target))}")


# -- human-readable output ------------------------------------------------------------------------


def print_evidence_summary(ev: Evidence) -> None:
    """The text view of one app's evidence: identity, permissions, SDKs, calls, endpoints."""
    ident = ev.identity
    signer = ident.signers[0] if ident.signers else None
    lines = [
        f"[bold]{escape(ident.label or '?')}[/bold]  {escape(ident.package)}  "
        f"{escape(ident.version_name or '?')} ({ident.version_code})",
        f"min/target SDK {ident.min_sdk}/{ident.target_sdk}   APK sha256 {ident.apk_sha256}",
        f"signer {escape(signer.subject)} ({signer.scheme}, sha256 {signer.sha256[:16]}…)"
        if signer
        else "signer: none found",
    ]
    console.print(Panel("\n".join(lines), title="app", expand=False))

    if ev.permissions or ev.implied_permissions:  # API-4 apps get some without asking
        t = Table(title="permissions", show_lines=False)
        t.add_column("permission")
        t.add_column("level")
        t.add_column("PI types")
        for p in ev.permissions:
            level = p.protection_level or "?"
            style = "red" if p.dangerous else ""
            shown = escape(level)
            t.add_row(escape(p.name), f"[{style}]{shown}[/{style}]" if style else shown, escape(", ".join(p.pi_types)))
        for implied in ev.implied_permissions:
            level = escape(implied.protection_level or "?")
            why = (implied.implied_by or "every app").rsplit(".", 1)[-1]
            if implied.target_sdk_below is not None:
                why += f", target SDK < {implied.target_sdk_below}"
            t.add_row(
                f"[dim]{escape(implied.name)} (implied: {escape(why)})[/dim]",
                f"[red]{level}[/red]" if implied.dangerous else level,
                escape(", ".join(implied.pi_types)),
            )
        console.print(t)

    if ev.sdks:
        by_vendor: dict[str, list[str]] = defaultdict(list)
        for s in ev.sdks:
            state = "called" if s.called else ("initialised" if s.initialised else "present")
            pi = f" → {', '.join(s.reaches_pi)}" if s.reaches_pi else ""
            by_vendor[s.vendor_zh or s.vendor or "?"].append(f"{s.name} [{state}]{pi}")
        t = Table(title="third-party SDKs by vendor")
        t.add_column("vendor")
        t.add_column("SDKs")
        for vendor in sorted(by_vendor):
            t.add_row(escape(vendor), escape("\n".join(by_vendor[vendor])))
        console.print(t)

    if ev.api_calls:
        by_owner: dict[str, list[str]] = defaultdict(list)
        for c in ev.api_calls:
            api = c.api.split(";->")[-1] if ";->" in c.api else c.api
            cls = c.api.split(";->")[0].rsplit("/", 1)[-1] if ";->" in c.api else ""
            by_owner[c.owner].append(f"{cls}.{api.split('(')[0]} [{', '.join(c.pi_types)}] in {c.caller_class}")
        t = Table(title="sensitive API call sites by owner")
        t.add_column("owner")
        t.add_column("calls")
        for owner in sorted(by_owner, key=lambda o: (o != APP_OWNER, o)):
            t.add_row(escape(owner), escape("\n".join(sorted(set(by_owner[owner])))))
        console.print(t)

    if ev.early_paths:
        console.print(f"[bold]{len(ev.early_paths)} call paths run before the user can act[/bold]")
        for path in ev.early_paths[:10]:
            console.print(f"  {path.entry_kind}: {escape(' → '.join(path.steps))} → {escape(path.target)}")

    if ev.endpoints:
        t = Table(title="network endpoints")
        t.add_column("host")
        t.add_column("owner")
        t.add_column("third party")
        seen: set[tuple[str, str]] = set()
        for e in ev.endpoints:
            if (e.host, e.owner) in seen:
                continue
            seen.add((e.host, e.owner))
            t.add_row(escape(e.host), escape(e.owner), {True: "yes", False: "no", None: "?"}[e.third_party])
        console.print(t)

    pp = ev.privacy_policy
    console.print(
        f"privacy policy: {len(pp.bundled_documents)} bundled document(s), {len(pp.urls)} URL(s), "
        f"consent dialog {'found' if pp.consent_strings else 'not found'}"
    )
    if ev.hardening.packers or ev.hardening.encrypted_dex_assets:
        names = escape(", ".join(p.name for p in ev.hardening.packers) or "encrypted DEX assets")
        console.print(f"[yellow]hardened/packed ({names}): code evidence may be hidden[/yellow]")
    for w in ev.warnings:
        console.print(f"[yellow]warning[/yellow] {escape(w.code)}: {escape(w.message)}")


def print_findings_summary(report: ScanReport) -> None:
    decided = report.app_type.decided or "undecided"
    console.print(f"app type: {escape(decided)} ({escape(report.app_type.reason)})")
    if report.policy:
        # Say which policy the POLICY rules judged: a bundled or fetched one is not what the user gave.
        missing = report.policy.get("missing") or []
        console.print(
            f"privacy policy judged: {escape(str(report.policy.get('source')))} "
            f"({report.policy.get('sentences')} sentences; disclosures not found: {escape(' '.join(missing)) or '-'})"
        )
    elif report.evidence is not None:
        unread = [w for w in report.evidence.warnings if w.code.endswith("policy_unreadable")]
        reason = f": {unread[0].message}" if unread else " (none given, bundled or fetched)"
        console.print(f"privacy policy judged: none{escape(reason)}; POLICY rules did not run")
    t = Table(title=f"{len(report.findings)} findings")
    t.add_column("severity")
    t.add_column("rule")
    t.add_column("title")
    t.add_column("owner")
    t.add_column("basis")
    colours = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}
    for f in sorted(report.findings, key=lambda f: (-SEVERITY_ORDER[f.severity], f.rule_id)):
        basis = "; ".join(f"{b.doc} {b.clause or ''}".strip() for b in f.basis[:2])
        if len(f.basis) > 2:
            basis += f" (+{len(f.basis) - 2})"
        rule = f.rule_id + "".join(f"\n+{other}" for other in f.also_rule_ids)
        t.add_row(f"[{colours[f.severity]}]{f.severity}[/]", rule, escape(f.title_zh), escape(f.owner), escape(basis))
    console.print(t)


def _print_folder_summary(outcomes: list[ScanOutcome], *, with_rules: bool) -> None:
    t = Table(title=f"{len(outcomes)} APKs")
    t.add_column("file")
    t.add_column("status")
    t.add_column("package")
    t.add_column("seconds", justify="right")
    t.add_column("findings" if with_rules else "SDKs / calls", justify="right")
    for o in outcomes:
        name = Path(o.path).name
        if not o.ok:
            t.add_row(escape(name), f"[red]{escape(o.error_code or '')}[/red]", "", f"{o.seconds:.2f}", "")
            continue
        t.add_row(escape(name), "[green]ok[/green]", escape(o.package), f"{o.seconds:.2f}", o.count)
    err_console.print(t)
