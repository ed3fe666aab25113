"""Governance commands: serve, worker, tick, db, audit, case, notice, store, stats.

``register(app)`` adds them all to the root ``appwarden`` command. Every command reads
the same settings as the server (``APPWARDEN_*`` variables), so ``appwarden tick`` run
from cron acts on the database the API serves.
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from appwarden.config import Settings, load_settings
from appwarden.errors import AppwardenError
from appwarden.findings import ScanReport
from appwarden.governance import audit, cases, db, jobs, notices, stats, stores
from appwarden.governance.errors import AuditChainBroken, InvalidInput
from appwarden.governance.models import AuditEntry, Case, CaseState, Notice, Role, Store, utcnow
from appwarden.governance.workdays import load_calendar

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

db_app = typer.Typer(no_args_is_help=True, help="Database schema and users.")
audit_app = typer.Typer(no_args_is_help=True, help="The append-only, hash-chained audit log.")
case_app = typer.Typer(
    no_args_is_help=True, help="Rectification cases: open, notice, re-test, name, takedown, bad list."
)
notice_app = typer.Typer(no_args_is_help=True, help="Issued notices: list and render (html, pdf, xlsx, csv, json).")
store_app = typer.Typer(no_args_is_help=True, help="App stores: registry, monitoring, compliance.")
stats_app = typer.Typer(no_args_is_help=True, help="Programme statistics (the funnel).")

ActorOption = typer.Option(None, "--actor", help="Who acts (recorded in the case history and audit log)")


def _settings() -> Settings:
    return load_settings()


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _run(action: Callable[[], T]) -> T:
    """Run a command body; a deliberate error prints its message and exits with its code."""
    try:
        return action()
    except AppwardenError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(exc.exit_code) from None


@contextmanager
def _session(migrate: bool = False) -> Iterator[Session]:
    engine = db.make_engine(_settings())
    try:
        if migrate:
            db.upgrade(engine)
        factory = db.make_sessionmaker(engine)
        with db.session_scope(factory) as session:
            yield session
    finally:
        engine.dispose()


def _factory() -> tuple[sessionmaker[Session], Callable[[], None]]:
    engine = db.make_engine(_settings())
    return db.make_sessionmaker(engine), engine.dispose


def _parse_time(value: str | None) -> datetime:
    if value is None:
        return utcnow()
    try:
        return cases.as_utc(datetime.fromisoformat(value))
    except ValueError:
        raise InvalidInput(f"{value!r} is not an ISO time, e.g. 2026-12-01T09:00:00+08:00") from None


def _print_json(value: Any) -> None:
    console.print_json(json.dumps(value, ensure_ascii=False, default=str))


# --- serve, worker, tick ------------------------------------------------------------------------------------------


def serve(
    host: str | None = typer.Option(None, help="Address to bind (default APPWARDEN_HOST or 127.0.0.1)"),
    port: int | None = typer.Option(None, help="Port (default APPWARDEN_PORT or 8000)"),
) -> None:
    """Run the REST API (migrating the database first)."""
    import uvicorn

    from appwarden.api.app import create_app

    settings = _settings()
    app = _run(lambda: create_app(settings))
    uvicorn.run(app, host=host or settings.host, port=port if port is not None else settings.port)


def worker(
    once: bool = typer.Option(False, help="Run the queued scans once and exit"),
    interval: float = typer.Option(2.0, min=0.1, help="Seconds between polls of the queue"),
) -> None:
    """Run queued scans from the database (the `queue` executor's workers)."""
    settings = _settings()
    factory, dispose = _factory()
    next_tick = 0.0
    try:
        while True:
            done = _run(
                lambda: jobs.run_queued_inline(
                    factory, settings.scanner, fetch_linked_policy=settings.fetch_linked_policies
                )
            )
            stores.deliver_callbacks(factory, timeout=settings.webhook_timeout_seconds)
            if settings.tick_interval_seconds > 0 and time.monotonic() >= next_tick:
                # Deadlines pass even when nobody runs `appwarden tick`.
                next_tick = time.monotonic() + settings.tick_interval_seconds
                with db.session_scope(factory) as session:
                    ticked = _run(lambda: cases.tick(session, now=utcnow()))
                if ticked.named or ticked.escalated_orders:
                    console.print(f"named {ticked.named}; escalated orders {ticked.escalated_orders}")
            if done:
                console.print(f"ran {done} scan(s)")
            if once:
                return
            time.sleep(interval)
    finally:
        dispose()


def tick(
    now: str | None = typer.Option(None, help="Act as if it were this time (ISO 8601 with timezone)"),
) -> None:
    """Escalate overdue cases to public naming and late takedown orders."""

    def body() -> cases.TickResult:
        moment = _parse_time(now)
        with _session() as session:
            return cases.tick(session, now=moment)

    result = _run(body)
    console.print(
        f"named {len(result.named)} case(s) {result.named}; escalated {len(result.escalated_orders)} order(s)"
        + (f"; conflicts {result.conflicts}" if result.conflicts else "")
    )


# --- db -----------------------------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply the packaged migrations up to REVISION."""

    def body() -> str | None:
        engine = db.make_engine(_settings())
        try:
            db.upgrade(engine, revision)
            return db.current_revision(engine)
        finally:
            engine.dispose()

    console.print(f"database at revision {_run(body)}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision."""
    engine = db.make_engine(_settings())
    try:
        console.print(_run(lambda: db.current_revision(engine)) or "empty (run `appwarden db upgrade`)")
    finally:
        engine.dispose()


@db_app.command("create-user")
def db_create_user(
    name: str,
    role: Role = typer.Option(..., help="regulator, lab, store, developer or auditor"),
    store_id: int | None = typer.Option(None, help="The store a store user acts for"),
    operator_id: int | None = typer.Option(None, help="The operator whose apps a developer sees"),
    actor: str | None = ActorOption,
) -> None:
    """Create a user and print its bearer token (shown once)."""
    from appwarden.api.auth import create_user

    def body() -> str:
        with _session(migrate=True) as session:
            _, token = create_user(
                session,
                name=name,
                role=role,
                store_id=store_id,
                operator_id=operator_id,
                actor=_actor(actor),
                now=utcnow(),
            )
            return token

    typer.echo(_run(body))


# --- audit --------------------------------------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 5 if an entry was edited, deleted or reordered."""

    def body() -> audit.AuditVerification:
        with _session() as session:
            return audit.verify(session)

    result = _run(body)
    if result.ok:
        console.print(f"audit log intact: {result.entries} entries")
        return
    for problem in result.problems:
        err_console.print(f"[red]broken:[/red] {problem}")
    raise typer.Exit(AuditChainBroken.exit_code)


@audit_app.command("list")
def audit_list(limit: int = typer.Option(50, min=1, max=10000), action: str | None = typer.Option(None)) -> None:
    """The latest audit entries."""
    with _session() as session:
        query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
        if action:
            query = query.where(AuditEntry.action == action)
        table = Table("seq", "at", "actor", "action", "entity", "hash")
        for e in session.scalars(query):
            table.add_row(
                str(e.seq), e.at.isoformat(), e.actor, e.action, f"{e.entity_type}:{e.entity_id}", e.hash[:12]
            )
    console.print(table)


# --- cases --------------------------------------------------------------------------------------------------------


@case_app.command("list")
def case_list(state: CaseState | None = typer.Option(None), as_json: bool = typer.Option(False, "--json")) -> None:
    """Cases, optionally in one state."""
    with _session() as session:
        query = select(Case).order_by(Case.id)
        if state is not None:
            query = query.where(Case.state == state.value)
        rows = [
            {
                "id": c.id,
                "state": c.state,
                "app": c.app.package,
                "operator": c.operator.legal_name,
                "deadline": c.deadline.isoformat() if c.deadline else None,
            }
            for c in session.scalars(query)
        ]
    if as_json:
        _print_json(rows)
        return
    table = Table("id", "state", "app", "operator", "deadline")
    for r in rows:
        table.add_row(*(str(r[k] or "") for k in ("id", "state", "app", "operator", "deadline")))
    console.print(table)


@case_app.command("show")
def case_show(case_id: int) -> None:
    """A case with its full history."""

    def body() -> dict[str, Any]:
        with _session() as session:
            case = cases.get_case(session, case_id)
            return {
                "id": case.id,
                "state": case.state,
                "app": case.app.package,
                "operator": case.operator.legal_name,
                "deadline": case.deadline,
                "events": [
                    {
                        "at": e.at,
                        "from": e.from_state,
                        "to": e.to_state,
                        "actor": e.actor,
                        "reason": e.reason,
                        "documents": e.documents,
                    }
                    for e in case.events
                ],
            }

    _print_json(_run(body))


@case_app.command("open")
def case_open(
    scan_id: int = typer.Option(..., "--scan"),
    campaign_id: int | None = typer.Option(None, "--campaign"),
    reason: str = typer.Option(""),
    actor: str | None = ActorOption,
) -> None:
    """Open a case from a finished scan with findings."""

    def body() -> int:
        with _session() as session:
            from appwarden.governance.models import Campaign

            campaign = session.get(Campaign, campaign_id) if campaign_id else None
            case = cases.open_case(
                session,
                jobs.get_scan(session, scan_id),
                actor=_actor(actor),
                now=utcnow(),
                campaign=campaign,
                reason=reason,
            )
            return case.id

    console.print(f"opened case {_run(body)}")


@case_app.command("notice")
def case_notice(case_ids: list[int], actor: str | None = ActorOption) -> None:
    """Issue rectification notices (one per operator) for detected cases."""
    settings = _settings()

    def body() -> list[str]:
        with _session() as session:
            issued = cases.issue_notices(
                session,
                [cases.get_case(session, i) for i in case_ids],
                actor=_actor(actor),
                now=utcnow(),
                calendar=load_calendar(settings),
                default_workdays=settings.default_deadline_workdays,
            )
            return [n.number for n in issued]

    console.print("issued " + ", ".join(_run(body)))


@case_app.command("retest")
def case_retest(case_id: int, scan_id: int = typer.Option(..., "--scan"), actor: str | None = ActorOption) -> None:
    """Compare a re-test of a newer version with the first scan, finding by finding."""

    def body() -> dict[str, Any]:
        with _session() as session:
            case = cases.get_case(session, case_id)
            result = cases.record_retest(
                session, case, jobs.get_scan(session, scan_id), actor=_actor(actor), now=utcnow()
            )
            return {"state": case.state, **result.as_dict()}

    _print_json(_run(body))


def _simple_transition(action: Callable[[Session, Case, str, datetime], object]) -> Callable[[int, str | None], None]:
    def command(case_id: int, actor: str | None) -> None:
        def body() -> str:
            with _session() as session:
                case = cases.get_case(session, case_id)
                action(session, case, _actor(actor), utcnow())
                return case.state

        console.print(f"case {case_id} is now {_run(body)}")

    return command


@case_app.command("name")
def case_name(case_id: int, reason: str = typer.Option(...), actor: str | None = ActorOption) -> None:
    """Name a case publicly (deadline passed or re-test failed)."""
    _simple_transition(lambda s, c, a, t: cases.name_publicly(s, c, actor=a, reason=reason, now=t))(case_id, actor)


@case_app.command("takedown")
def case_takedown(case_id: int, reason: str = typer.Option(""), actor: str | None = ActorOption) -> None:
    """Order every store listing the app to take it down."""
    hours = _settings().takedown_ack_hours
    _simple_transition(lambda s, c, a, t: cases.order_takedown(s, c, actor=a, now=t, ack_hours=hours, reason=reason))(
        case_id, actor
    )


@case_app.command("badlist")
def case_badlist(case_id: int, reason: str = typer.Option(...), actor: str | None = ActorOption) -> None:
    """Put the operator on the bad list (after removal is confirmed)."""
    _simple_transition(lambda s, c, a, t: cases.badlist_operator(s, c, actor=a, reason=reason, now=t))(case_id, actor)


# --- notices ------------------------------------------------------------------------------------------------------


@notice_app.command("list")
def notice_list() -> None:
    """Issued notices."""
    with _session() as session:
        table = Table("id", "number", "kind", "issued", "by")
        for n in session.scalars(select(Notice).order_by(Notice.id)):
            table.add_row(str(n.id), n.number, n.kind, n.issued_at.isoformat(), n.issued_by)
    console.print(table)


@notice_app.command("render")
def notice_render(
    notice_id: int,
    fmt: str = typer.Option("html", "--format", help="html, pdf, xlsx, csv or json"),
    out: Path = typer.Option(..., "--out", help="File to write"),
) -> None:
    """Render a notice from its frozen data."""

    def body() -> int:
        with _session() as session:
            content = notices.render(notices.get_notice(session, notice_id), fmt)
        out.write_bytes(content)
        return len(content)

    console.print(f"wrote {_run(body)} bytes to {out}")


# --- stores -------------------------------------------------------------------------------------------------------


@store_app.command("list")
def store_list() -> None:
    with _session() as session:
        table = Table("id", "code", "name", "webhook")
        for s in session.scalars(select(Store).order_by(Store.id)):
            table.add_row(str(s.id), s.code, s.name, s.webhook_url or "")
    console.print(table)


@store_app.command("create")
def store_create(
    code: str, name: str, webhook_url: str | None = typer.Option(None, "--webhook"), actor: str | None = ActorOption
) -> None:
    def body() -> int:
        with _session(migrate=True) as session:
            return stores.create_store(
                session, code=code, name=name, webhook_url=webhook_url, actor=_actor(actor), now=utcnow()
            ).id

    console.print(f"created store {_run(body)}")


@store_app.command("compliance")
def store_compliance(store_id: int) -> None:
    """Per-store figures: reviews, takedown acknowledgement, monitoring flags."""

    def body() -> dict[str, Any]:
        with _session() as session:
            return stores.compliance_summary(session, stores.get_store(session, store_id))

    _print_json(_run(body))


@store_app.command("monitor")
def store_monitor(store_id: int) -> None:
    """Apps under takedown still listed; apps the store approved that later failed."""

    def body() -> dict[str, Any]:
        with _session() as session:
            return stores.monitor(session, stores.get_store(session, store_id)).as_dict()

    _print_json(_run(body))


# --- stats --------------------------------------------------------------------------------------------------------


@stats_app.command("funnel")
def stats_funnel(
    by: str = typer.Option("total", help="total, problem, store or sdk_vendor"),
    campaign_id: int | None = typer.Option(None, "--campaign"),
    start: str | None = typer.Option(None, help="Period start, ISO 8601 with timezone"),
    end: str | None = typer.Option(None, help="Period end (exclusive)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """tested -> ordered to rectify -> publicly named -> taken down."""
    if by not in stats.DIMENSIONS:
        err_console.print(f"[red]error:[/red] --by must be one of {', '.join(stats.DIMENSIONS)}")
        raise typer.Exit(2)

    def body() -> list[stats.FunnelRow]:
        with _session() as session:
            return stats.funnel(
                session,
                by=by,
                campaign_id=campaign_id,
                start=_parse_time(start) if start else None,
                end=_parse_time(end) if end else None,
            )

    rows = _run(body)
    if as_json:
        _print_json([r.model_dump() for r in rows])
        return
    table = Table(by, "tested", "ordered to rectify", "publicly named", "taken down")
    for r in rows:
        table.add_row(r.key, str(r.tested), str(r.ordered_to_rectify), str(r.publicly_named), str(r.taken_down))
    console.print(table)


def register(root: typer.Typer) -> None:
    """Add the governance commands to the root ``appwarden`` command."""
    root.command("serve")(serve)
    root.command("worker")(worker)
    root.command("tick")(tick)
    root.add_typer(db_app, name="db")
    root.add_typer(audit_app, name="audit")
    root.add_typer(case_app, name="case")
    root.add_typer(notice_app, name="notice")
    root.add_typer(store_app, name="store")
    root.add_typer(stats_app, name="stats")


# --- demo ---------------------------------------------------------------------------------------------------------

#: A fictional operator for the demo (the check digit is computed, so the code validates).
_DEMO_OPERATOR_BODY = "91110108MA01ABCD2"


def demo_governance_section(apks: list[Path], reports: dict[str, ScanReport], out: Path, demo_console: Console) -> None:
    """Take already-scanned sample apps through the case chain on a fresh SQLite database under ``out``.

    Findings are recorded as the scans reported them (nothing is re-scanned); the
    deadline is passed with a simulated clock, and the public notification list is
    written in every format next to the database.
    """
    from datetime import timedelta

    from rich.rule import Rule as RichRule

    from appwarden.governance.models import Scan, ScanPurpose, ScanStatus, uscc_check_char
    from appwarden.governance.workdays import WorkCalendar

    home = out / "governance"
    home.mkdir(parents=True, exist_ok=True)
    (home / "appwarden.db").unlink(missing_ok=True)
    settings = load_settings({}, home=home)
    engine = db.make_engine(settings)
    db.upgrade(engine)
    factory = db.make_sessionmaker(engine)
    now = utcnow()
    regulator = "regulator:demo"
    demo_console.print(RichRule("governance: the case chain"))
    try:
        with factory() as session:
            operator = stores.upsert_operator(
                session,
                legal_name="示例科技有限公司 (demo)",
                credit_code=_DEMO_OPERATOR_BODY + uscc_check_char(_DEMO_OPERATOR_BODY),
                actor=regulator,
                now=now,
            )
            store_list = [
                stores.create_store(session, code=code, name=name, webhook_url=None, actor=regulator, now=now)
                for code, name in (("demo-store-a", "示例应用商店 A"), ("demo-store-b", "示例应用商店 B"))
            ]
            scans = []
            for apk in apks:
                report = reports.get(apk.name)
                if report is None:
                    continue
                scan = Scan(
                    status=ScanStatus.QUEUED.value,
                    purpose=ScanPurpose.LAB.value,
                    apk_sha256=report.app.apk_sha256,
                    apk_size=report.app.apk_size,
                    apk_path=str(apk),
                    operator_id=operator.id,
                    created_at=now,
                )
                session.add(scan)
                session.flush()
                scans.append(jobs.record_report(session, scan, report, now=now))
            packages = [stores.CatalogItem(package=r.app.package) for r in reports.values()]
            for store in store_list:
                stores.upload_snapshot(session, store, packages, taken_at=now, actor=f"store:{store.code}", now=now)
            opened = [
                cases.open_case(session, scan, actor="lab:demo", now=now) for scan in scans if cases.violations(scan)
            ]
            session.commit()
            if not opened:
                demo_console.print("no sample app has a violation: no case opened")
                return
            cases.issue_notices(session, opened, actor=regulator, now=now, calendar=WorkCalendar(), default_workdays=10)
            session.commit()
            later = now + timedelta(days=30)
            cases.tick(session, now=later)
            public = notices.issue_public_list(session, opened, actor=regulator, now=later)
            for case in opened:
                for order in cases.order_takedown(session, case, actor=regulator, now=later, ack_hours=48):
                    cases.acknowledge_order(session, order, actor=f"store:{order.store_id}", now=later)
                cases.badlist_operator(session, case, actor=regulator, reason="逾期未整改 (demo)", now=later)
            session.commit()
            notice_dir = home / "notices"
            notice_dir.mkdir(exist_ok=True)
            for fmt in ("html", "pdf", "xlsx", "csv"):
                (notice_dir / f"{public.number}.{fmt}").write_bytes(notices.render(public, fmt))
            table = Table("case", "app", "problems", "state", "transitions")
            for case in opened:
                table.add_row(
                    str(case.id),
                    case.app.package,
                    str(len(cases.violations(case.scan))),
                    case.state,
                    str(len(case.events)),
                )
            demo_console.print(table)
            funnel = Table("tested", "ordered to rectify", "publicly named", "taken down")
            for row in stats.funnel(session):
                funnel.add_row(
                    str(row.tested), str(row.ordered_to_rectify), str(row.publicly_named), str(row.taken_down)
                )
            demo_console.print(funnel)
            verification = audit.verify(session)
            demo_console.print(
                f"audit log: {verification.entries} entries, {'intact' if verification.ok else 'BROKEN'}; "
                f"public notification list in [bold]{notice_dir}[/bold]; database {home / 'appwarden.db'}"
            )
    except AppwardenError as exc:
        demo_console.print(f"[red]governance demo stopped:[/red] {exc}")
    finally:
        engine.dispose()
