"""`appwarden policy`: analyse a privacy-policy document, or classify sentences in bulk."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from appwarden.errors import AppwardenError, PolicyDocumentError

if TYPE_CHECKING:
    from appwarden.evidence.policy.model import PolicyAnalysis
    from appwarden.findings import ScanReport

app = typer.Typer(no_args_is_help=True, help="Privacy-policy analysis: disclosures (CR1–CR26) and facts.")
console = Console()
err_console = Console(stderr=True)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def _plain(text: str) -> None:
    """Print text that comes from a document: no markup, no highlighting."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _fail(exc: AppwardenError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(exc.exit_code)


@app.command("analyse")
def analyse(
    file: Path | None = typer.Argument(None, help="Policy document: HTML, saved web page (MHTML), text, PDF or DOCX"),
    url: str | None = typer.Option(None, "--url", help="Fetch the policy from this web page instead of a file"),
    allow_private_network: bool = typer.Option(
        False, "--allow-private-network", help="Let --url reach private and loopback addresses"
    ),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format", "-f", help="text or json"),
) -> None:
    """Read one policy: facts, section outline with each sentence's disclosures, and the findings on the policy alone.

    The findings are the POLICY rules that judge the document by itself (missing disclosures, sensitive PI
    without a separate notice, minors, third parties without purpose or PI); comparing the policy with an
    app's code needs the app: ``appwarden scan APP.apk --policy FILE``.
    """
    from appwarden.evidence.policy.analyse import analyse_policy_file
    from appwarden.pipeline import judge_policy_document, read_policy_url
    from appwarden.rules import engine

    if (file is None) == (url is None):
        err_console.print("[red]error:[/red] give a policy file or --url (one of them)")
        raise typer.Exit(2)
    try:
        analysis = (
            analyse_policy_file(file)
            if file is not None
            else read_policy_url(str(url), allow_private_network=allow_private_network)
        )
    except AppwardenError as exc:
        raise _fail(exc) from exc
    name = file.name if file is not None else str(url)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps(judge_policy_document(analysis), ensure_ascii=False, indent=1))
        return
    judged = engine.run_document(analysis)
    from appwarden.evidence.policy.model import CR_IDS

    facts = analysis.facts
    console.print(f"[bold]{escape(analysis.title or name)}[/bold]  ({analysis.format}, {analysis.encoding or '-'})")
    console.print(
        f"{len(analysis.sentences)} sentences, {len(analysis.sections)} sections, {analysis.char_count} characters"
        + (" [yellow](truncated)[/yellow]" if analysis.truncated else "")
    )
    # Everything below the title comes from the document: printed without markup, so a policy
    # that contains "[/b]" or "[link=...]" can neither break nor style the output.
    _plain(f"operator: {facts.operator or '-'}")
    for c in facts.contacts:
        _plain(f"contact: {c.kind} {c.value}")
    for d in facts.dates:
        _plain(f"date: {d.kind} {d.date}")
    covered = [cr for cr in CR_IDS if analysis.covered(cr)]
    missing = [cr for cr in CR_IDS if not analysis.covered(cr)]
    console.print(f"covered: {' '.join(covered) or '-'}")
    console.print(f"not found: {' '.join(missing) or '-'}")
    _plain("PI types: " + (", ".join(f"{m.pi_type}({m.term})" for m in facts.pi_mentions) or "-"))
    for s in facts.sdks:
        _plain(
            f"SDK: {s.name} -> {s.sdk_id or '?'}; vendor: {s.vendor or '-'}; purpose: {s.purpose or '-'}; "
            f"PI: {', '.join(s.pi_types) or (s.pi_text or '-')}"
        )
    console.print("[bold]outline[/bold] (sentence number, disclosures, text):")
    for line in outline_lines(analysis):
        _plain(line)
    console.print(f"[bold]findings on the policy alone[/bold]: {len(judged.findings)}")
    for f in judged.findings:
        also = f" (also {', '.join(f.also_rule_ids)})" if f.also_rule_ids else ""
        _plain(f"  {f.rule_id}{also} [{f.severity}/{f.confidence}] {f.message_zh}")
        for ref in f.evidence:
            _plain(f"      {ref.summary}")
    for u in judged.undecided:
        _plain(f"  {u.rule_id} undecided: {u.reason}")


#: Characters of a sentence shown in the outline; the JSON output has every sentence whole.
OUTLINE_TEXT_CHARS = 60


def outline_lines(analysis: PolicyAnalysis) -> list[str]:
    """The policy as an indented outline: headings by level, each body sentence with its disclosure labels."""
    lines: list[str] = []
    opened = {section.sentence for section in analysis.sections}
    for sentence in analysis.sentences:
        depth = len(sentence.section_path)
        text = sentence.text if len(sentence.text) <= OUTLINE_TEXT_CHARS else sentence.text[:OUTLINE_TEXT_CHARS] + "…"
        if sentence.is_heading:
            # A heading line that opens no section is the title or a table-of-contents entry.
            mark = "#" if sentence.index in opened else "·"
            lines.append(f"{'  ' * depth}{mark} {text}")
            continue
        labels = " ".join(lb.label for lb in sentence.labels) or "-"
        lines.append(f"{'  ' * depth}{sentence.index:>4} {labels:<16} {text}")
    return lines


@app.command("classify")
def classify(
    jsonl: Path = typer.Option(..., "--jsonl", help="Input: one JSON object a line with 'text' (and 'id')"),
    out: Path = typer.Option(
        ..., "-o", "--out", help="Output JSONL: each row with predicted 'labels' (also as 'cr') and 'scores'"
    ),
    context: bool = typer.Option(
        True,
        "--context/--no-context",
        help="Use each row's chapter: its 'pc' or 'section_path'/'section'/'heading', else the one read from the "
        "order of the rows (headings and neighbouring sentences) when that order is shown to be coherent",
    ),
    encoder: bool = typer.Option(
        True,
        "--encoder/--no-encoder",
        help="Average in the fine-tuned sentence encoder when it is installed (about 17 sentences/s on 2 cores: "
        "most rows are read twice, without and with their chapter); --no-encoder uses the n-gram model alone "
        "(about 200x faster, macro-F1 about 0.016 lower)",
    ),
) -> None:
    """Classify sentences into disclosure types CR1–CR26.

    Each output row keeps the input fields; ``labels`` is the predicted list in CR order (``cr`` repeats it
    for earlier users; an input ``cr`` is kept as ``cr_gold``, an input ``labels`` as ``labels_gold``),
    ``chapter_used`` the chapter the row was read in (null: text alone), ``scores`` every label's probability.
    """
    from appwarden.evidence.policy.classify import PolicyClassifier, classify_rows, row_chapter, shipped_classifier

    rows: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    try:
        with jsonl.open("rb") as fh:
            for n, raw in enumerate(fh, 1):
                row, problem = _jsonl_row(raw, first=n == 1)
                if problem is not None:
                    bad.append(
                        {"line": n, "error": problem, "raw": raw[:300].decode("utf-8", "replace").rstrip("\r\n")}
                    )
                elif row is not None:
                    rows.append(row)
    except OSError as exc:
        raise _fail(PolicyDocumentError(f"cannot read {jsonl}", detail=exc.strerror)) from exc
    if bad and not rows:
        raise _fail(
            PolicyDocumentError(
                f"{jsonl}: no line holds a JSON object with a 'text' string",
                detail=f"line {bad[0]['line']}: {bad[0]['error']}",
            )
        )
    try:
        model = shipped_classifier()
        if not encoder:
            model = PolicyClassifier(model.ngram)
    except AppwardenError as exc:
        raise _fail(exc) from exc
    classified = classify_rows(
        [r["text"] for r in rows],
        [row_chapter(r) for r in rows],
        [r.get("id") for r in rows],
        context=context,
        model=model,
    )
    with out.open("w", encoding="utf-8") as fh:
        for row, result, chapter in zip(rows, classified.results, classified.chapters, strict=True):
            record = dict(row)
            if "cr" in record:
                record["cr_gold"] = record.pop("cr")
            if "labels" in record:
                record["labels_gold"] = record.pop("labels")
            predicted = [label for label, _ in result.labels]
            record["labels"] = predicted
            record["cr"] = list(predicted)
            record["chapter_used"] = chapter
            record["scores"] = {label: round(float(p), 4) for label, p in zip(model.labels, result.scores, strict=True)}
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    seq = classified.sequence
    how = f"; row order: {seq.reason}" if seq is not None else "; chapters not used (--no-context)"
    err_console.print(
        f"classified {len(rows)} sentences with {model.version} -> {out}{how}", highlight=False, markup=False
    )
    if bad:
        # Nothing is lost: the good rows are classified, the others listed with their line numbers.
        errors = out.with_name(out.name + ".errors.jsonl")
        with errors.open("w", encoding="utf-8") as fh:
            for entry in bad:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
        err_console.print(
            f"{len(bad)} line(s) could not be read and were not classified: {errors}", highlight=False, markup=False
        )
        raise typer.Exit(PolicyDocumentError.exit_code)


def _jsonl_row(raw: bytes, *, first: bool) -> tuple[dict[str, Any] | None, str | None]:
    """One input line: (row, None), (None, None) for a blank line, or (None, what is wrong with it)."""
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if not raw.strip():
        return None, None
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            # JSON Lines are UTF-8, but exports from Chinese tools are often GB18030.
            line = raw.decode("gb18030")
        except UnicodeDecodeError:
            return None, "not UTF-8 or GB18030 text"
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg}"
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        return None, "not a JSON object with a 'text' string"
    return row, None


def demo_policy_section(apks: list[Path], reports: dict[str, ScanReport], out: Console) -> None:
    """For each sample app whose scan read its bundled policy: what the policy says (facts, the start of its
    outline with each sentence's disclosures) and the POLICY findings the scan made against the app."""
    from rich.rule import Rule as RichRule

    from appwarden.pipeline import read_bundled_policy

    for apk in apks:
        report = reports.get(apk.name)
        if report is None or report.evidence is None or not report.policy:
            continue
        # The scan kept the policy's summary; the outline needs the analysis itself, read the same way.
        analysis, _ = read_bundled_policy(apk, report.evidence)
        if analysis is None:
            continue
        out.print(RichRule(f"privacy policy bundled in {apk.name}"))
        facts = analysis.facts
        out.print(f"source: {analysis.source}", markup=False)
        out.print(
            f"operator: {facts.operator or '-'}; contacts: {', '.join(c.value for c in facts.contacts) or '-'}",
            markup=False,
        )
        out.print(f"covered: {' '.join(report.policy.get('covered', [])) or '-'}", markup=False)
        out.print(f"not found: {' '.join(report.policy.get('missing', [])) or '-'}", markup=False)
        out.print(
            "SDKs and parties named: " + (", ".join(f"{s.name} ({s.sdk_id or '?'})" for s in facts.sdks) or "-"),
            markup=False,
        )
        lines = outline_lines(analysis)
        out.print(f"outline ({min(len(lines), DEMO_OUTLINE_LINES)} of {len(lines)} lines):")
        for line in lines[:DEMO_OUTLINE_LINES]:
            out.print(line, markup=False, highlight=False, soft_wrap=True)
        policy_findings = [f for f in report.findings if f.technique == "POLICY"]
        out.print(f"POLICY findings: {len(policy_findings)}")
        for f in policy_findings:
            also = f" (also {', '.join(f.also_rule_ids)})" if f.also_rule_ids else ""
            out.print(f"  {f.rule_id}{also} [{f.severity}/{f.confidence}] {f.message_zh}", markup=False)


#: Outline lines the demo prints of a bundled policy (``policy analyse`` prints them all).
DEMO_OUTLINE_LINES = 24
