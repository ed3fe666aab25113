"""`appwarden rules`: the rule catalog — what is implemented, what is not, and why each rule exists."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

import typer
from rich.console import Console
from rich.table import Table

from appwarden.errors import AppwardenError
from appwarden.rules import engine
from appwarden.rules.app_type import app_types
from appwarden.rules.catalog_loader import Catalog, load_catalog
from appwarden.rules.model import Rule
from appwarden.rules.registry import check_for_rule

app = typer.Typer(no_args_is_help=True, help="The rule catalog: list rules, show one, list app types.")
console = Console()
err_console = Console(stderr=True)


class TechniqueOption(StrEnum):
    STATIC = "STATIC"
    POLICY = "POLICY"
    DYNAMIC = "DYNAMIC"
    STORE = "STORE"
    MANUAL = "MANUAL"


def _catalog() -> Catalog:
    try:
        return load_catalog()
    except AppwardenError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(exc.exit_code) from exc


def _implemented(rule: Rule) -> bool:
    return engine.implemented(rule)


def _docs(rule: Rule) -> list[str]:
    return sorted({b.doc for b in rule.basis})


@app.command("list")
def list_rules(
    technique: TechniqueOption | None = typer.Option(None, "--technique", "-t", help="Primary technique"),
    doc: str | None = typer.Option(None, "--doc", "-d", help="Source document key, e.g. TAF078.6, RDM, PG5"),
    implemented: bool | None = typer.Option(
        None, "--implemented/--not-implemented", help="Only implemented (or only not implemented) rules"
    ),
) -> None:
    """List catalog rules with their basis and whether a check implements them, then coverage."""
    catalog = _catalog()
    selected = [
        r
        for r in catalog.rules
        if (technique is None or r.technique == technique.value)
        and (doc is None or any(b.doc.lower() == doc.lower() for b in r.basis))
        and (implemented is None or _implemented(r) == implemented)
    ]
    table = Table(title=f"Rule catalog {catalog.version}: {len(selected)} of {len(catalog.rules)} rules")
    table.add_column("id", no_wrap=True)
    table.add_column("technique")
    table.add_column("severity")
    table.add_column("implemented")
    table.add_column("basis")
    table.add_column("title")
    for r in selected:
        basis = "; ".join(f"{b.doc} {b.clause or ''}".strip() + (f" [{b.ref}]" if b.ref else "") for b in r.basis)
        table.add_row(
            r.id,
            r.technique,
            r.severity,
            "[green]yes[/green]" if _implemented(r) else "no",
            basis,
            f"{r.title.zh}\n{r.title.en}",
        )
    console.print(table)
    _print_coverage(catalog, selected)


def _print_coverage(catalog: Catalog, selected: list[Rule]) -> None:
    by_technique = Table(title="Coverage by technique (primary)")
    by_technique.add_column("technique")
    by_technique.add_column("rules", justify="right")
    by_technique.add_column("implemented", justify="right")
    total = Counter(r.technique for r in selected)
    done = Counter(r.technique for r in selected if _implemented(r))
    for t in sorted(total):
        by_technique.add_row(t, str(total[t]), str(done[t]))
    console.print(by_technique)

    # Per source document: how many violation-catalog items an implemented rule rests on.
    items_by_doc: dict[str, set[str]] = {}
    implemented_refs: dict[str, set[str]] = {}
    for r in selected:
        for b in r.basis:
            items_by_doc.setdefault(b.doc, set())
            implemented_refs.setdefault(b.doc, set())
            if b.ref:
                items_by_doc[b.doc].add(b.ref)
                if _implemented(r):
                    implemented_refs[b.doc].add(b.ref)
    by_doc = Table(title="Coverage by source document (violation-catalog items)")
    by_doc.add_column("document")
    by_doc.add_column("items", justify="right")
    by_doc.add_column("basis of an implemented rule", justify="right")
    for d in sorted(items_by_doc):
        if items_by_doc[d]:
            by_doc.add_row(d, str(len(items_by_doc[d])), str(len(implemented_refs[d])))
        else:  # cited for a clause only (e.g. PG20204A, GB/T 35273): no catalog items of its own
            by_doc.add_row(d, "-", "clauses cited")
    console.print(by_doc)


@app.command("show")
def show_rule(rule_id: str = typer.Argument(..., metavar="ID", help="Rule id, e.g. AW-SDK-001")) -> None:
    """Every field of one rule, in Chinese and English."""
    catalog = _catalog()
    rule = catalog.rule(rule_id.strip().upper())
    if rule is None:
        err_console.print(f"[red]error:[/red] no rule {rule_id!r} in catalog {catalog.version}; see `rules list`")
        raise typer.Exit(2)
    bound = check_for_rule(rule.id, rule.check)
    table = Table(show_header=False, title=rule.id)
    table.add_column("field", style="bold")
    table.add_column("value")
    table.add_row("title (zh)", rule.title.zh)
    table.add_row("title (en)", rule.title.en)
    table.add_row("technique", rule.technique)
    table.add_row("techniques", ", ".join(rule.all_techniques))
    table.add_row("focus area", rule.focus_area or "-")
    table.add_row("severity", rule.severity)
    table.add_row("default confidence", rule.confidence_default)
    for b in rule.basis:
        table.add_row("basis", f"{b.doc} {b.clause or ''}".strip() + (f" [{b.ref}]" if b.ref else ""))
    table.add_row("advice (zh)", rule.advice.zh)
    table.add_row("advice (en)", rule.advice.en)
    if rule.notes:
        table.add_row("notes", rule.notes)
    if bound is not None and engine.implemented(rule):
        table.add_row("check", f"{bound[0]} (implemented)")
    elif bound is not None:
        table.add_row("check", f"{bound[0]} (registered, but appwarden cannot run {rule.technique} yet)")
    elif rule.check is not None:
        table.add_row("check", f"{rule.check} (NOT registered)")
    else:
        table.add_row("check", "not implemented")
    table.add_row("rule version", str(rule.version))
    table.add_row("catalog version", catalog.version)
    console.print(table)


@app.command("app-types")
def list_app_types() -> None:
    """The 39 app types (--app-type values) with their necessary PI."""
    table = Table(title="App types (常见类型App必要个人信息范围规定 第五条)")
    table.add_column("#", justify="right")
    table.add_column("id")
    table.add_column("name")
    table.add_column("necessary PI")
    for t in sorted(app_types().values(), key=lambda t: t.seq):
        necessary = "none (no PI necessary)" if t.no_pi_necessary else ", ".join(t.necessary_pi)
        table.add_row(str(t.seq), t.id, f"{t.name_zh}\n{t.name_en}", necessary)
    console.print(table)
