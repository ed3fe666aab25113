"""`appwarden demo`: the main job on embedded defaults, over the bundled sample apps.

Scans every sample app, prints its evidence and findings, writes HTML/JSON/SARIF
reports, analyses the bundled privacy policy against the app's behaviour, and takes
the sample apps through the regulator's whole case chain on SQLite, ending with the
programme funnel. Needs no JDK, no Android tools and no network.
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from appwarden.cli.scan import print_evidence_summary, print_findings_summary
from appwarden.findings import ScanReport

console = Console()

#: Where the bundled sample apps live in a source checkout.
DEFAULT_EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def demo(
    examples: Path = typer.Option(DEFAULT_EXAMPLES, "--examples", help="Folder of sample APKs"),
    out: Path = typer.Option(Path("out/demo"), "--out", "-o", help="Where reports and the demo database go"),
    lang: str = typer.Option("zh", "--lang", help="Report language (zh or en)"),
) -> None:
    """Run the main job on the bundled sample apps."""
    apks = sorted(examples.glob("*.apk"))
    if not apks:
        console.print(f"[red]no sample APKs in {examples}[/red]")
        raise typer.Exit(3)
    out.mkdir(parents=True, exist_ok=True)
    reports = _scan_and_report(apks, out, lang)
    _policy_section(apks, reports)
    _governance_section(apks, reports, out)
    console.print(Rule("done"))
    console.print(f"reports in [bold]{out / 'reports'}[/bold]")


def _scan_and_report(apks: list[Path], out: Path, lang: str) -> dict[str, ScanReport]:
    from appwarden.pipeline import scan_apk
    from appwarden.report.render import render

    report_dir = out / "reports"
    report_dir.mkdir(parents=True, exist_ok=True)
    reports: dict[str, ScanReport] = {}
    overview = Table(title="sample apps scanned")
    for col in ("apk", "package", "app type", "SDKs", "call sites", "early paths", "findings", "max severity", "s"):
        overview.add_column(col)
    for apk in apks:
        console.print(Rule(f"scan {apk.name}"))
        started = time.perf_counter()
        report = scan_apk(str(apk))
        seconds = time.perf_counter() - started
        reports[apk.name] = report
        if report.evidence is not None:
            print_evidence_summary(report.evidence)
        print_findings_summary(report)
        stem = f"{report.app.package}-{report.app.version_code or 0}"
        for fmt, suffix in (("html", "html"), ("json", "json"), ("sarif", "sarif")):
            render(report, fmt, report_dir / f"{stem}.{suffix}", lang=lang)
        ev = report.evidence
        overview.add_row(
            apk.name,
            report.app.package,
            report.app_type.decided or "undecided",
            str(len(ev.sdks)) if ev else "-",
            str(len(ev.api_calls)) if ev else "-",
            str(len(ev.early_paths)) if ev else "-",
            str(len(report.findings)),
            report.max_severity() or "-",
            f"{seconds:.2f}",
        )
    render(list(reports.values()), "xlsx", report_dir / "summary.xlsx", lang=lang)
    console.print(Rule("overview"))
    console.print(overview)
    return reports


def _policy_section(apks: list[Path], reports: dict[str, ScanReport]) -> None:
    """Analyse the privacy policy bundled in the sample app that has one."""
    from appwarden.cli.policy import demo_policy_section

    demo_policy_section(apks, reports, console)


def _governance_section(apks: list[Path], reports: dict[str, ScanReport], out: Path) -> None:
    """Take the sample apps through the whole case chain on SQLite and print the funnel."""
    from appwarden.cli.governance import demo_governance_section

    demo_governance_section(apks, reports, out, console)
