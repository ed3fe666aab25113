"""The governance commands against a SQLite database: db, users, stores, tick with a given time, audit verify."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from appwarden.cli import governance as gov_cli
from appwarden.config import load_settings
from appwarden.governance import cases, db
from governance.govkit import CAL, T0, setup_case

runner = CliRunner()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("APPWARDEN_HOME", str(tmp_path))
    root = typer.Typer()

    @root.callback()
    def _root() -> None:
        """test root"""

    gov_cli.register(root)
    return root


def test_db_users_stores_and_audit(cli: typer.Typer, tmp_path: Path) -> None:
    r = runner.invoke(cli, ["db", "upgrade"])
    assert r.exit_code == 0 and "0002" in r.output
    r = runner.invoke(cli, ["store", "create", "huawei", "华为应用市场", "--actor", "regulator:li"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["db", "create-user", "hw-bot", "--role", "store", "--store-id", "1"])
    assert r.exit_code == 0 and r.output.strip().startswith("aw_")
    r = runner.invoke(cli, ["db", "create-user", "dev", "--role", "developer"])
    assert r.exit_code == 2 and "operator" in r.output
    r = runner.invoke(cli, ["audit", "verify"])
    assert r.exit_code == 0 and "intact: 2 entries" in r.output
    engine = create_engine(f"sqlite:///{tmp_path / 'appwarden.db'}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'nobody' WHERE seq = 2"))
    engine.dispose()
    r = runner.invoke(cli, ["audit", "verify"])
    assert r.exit_code == 5 and "entry 2" in r.output


def test_tick_with_given_time(cli: typer.Typer, tmp_path: Path) -> None:
    settings = load_settings({}, home=tmp_path)
    engine = db.make_engine(settings)
    db.upgrade(engine)
    with db.make_sessionmaker(engine)() as s:
        case, _ = setup_case(s, tmp_path, stores_listing=0)
        cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=2)
        s.commit()
        case_id = case.id
    r = runner.invoke(cli, ["tick", "--now", (T0 + timedelta(days=1)).isoformat()])
    assert r.exit_code == 0 and "named 0 case(s)" in r.output
    r = runner.invoke(cli, ["tick", "--now", (T0 + timedelta(days=3)).isoformat()])
    assert r.exit_code == 0 and f"named 1 case(s) [{case_id}]" in r.output
    r = runner.invoke(cli, ["tick", "--now", "yesterday"])
    assert r.exit_code == 2 and "ISO time" in r.output
    r = runner.invoke(cli, ["case", "list", "--json"])
    assert '"publicly_named"' in r.output
    r = runner.invoke(cli, ["case", "badlist", str(case_id), "--reason", "x"])
    assert r.exit_code == 1 and "removal is confirmed" in r.output
    r = runner.invoke(cli, ["case", "takedown", str(case_id)])
    assert r.exit_code == 0 and "removal_confirmed" in r.output
    r = runner.invoke(cli, ["notice", "render", "1", "--format", "pdf", "--out", str(tmp_path / "n.pdf")])
    assert r.exit_code == 0 and (tmp_path / "n.pdf").read_bytes().startswith(b"%PDF")
    r = runner.invoke(cli, ["stats", "funnel", "--json"])
    assert r.exit_code == 0 and '"publicly_named": 1' in r.output
    engine.dispose()


def test_worker_runs_queued_scans(cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from appwarden.governance.models import Scan
    from governance.govkit import FINDINGS, fake_apk

    monkeypatch.setenv("APPWARDEN_SCANNER", "governance.govkit:fake_scan_apk")
    settings = load_settings({}, home=tmp_path)
    engine = db.make_engine(settings)
    db.upgrade(engine)
    with db.make_sessionmaker(engine)() as s:
        s.add(Scan(apk_sha256="0" * 64, apk_path=str(fake_apk(tmp_path, "com.w", findings=FINDINGS)), created_at=T0))
        s.commit()
    r = runner.invoke(cli, ["worker", "--once"])
    assert r.exit_code == 0 and "ran 1 scan(s)" in r.output
    with db.make_sessionmaker(engine)() as s:
        scan = s.query(Scan).one()
        assert scan.status == "done" and scan.verdict == "fail"
    engine.dispose()


def test_demo_section_runs_the_chain(tmp_path: Path) -> None:
    from io import StringIO

    from rich.console import Console

    from governance.govkit import FINDINGS, fake_apk, fake_scan_apk

    apks = [fake_apk(tmp_path, "com.demo.bad", findings=FINDINGS), fake_apk(tmp_path, "com.demo.clean", findings=[])]
    reports = {apk.name: fake_scan_apk(apk) for apk in apks}
    buffer = StringIO()
    gov_cli.demo_governance_section(apks, reports, tmp_path / "out", Console(file=buffer, width=200))
    printed = buffer.getvalue()
    assert "com.demo.bad" in printed and "operator_badlisted" in printed and "intact" in printed
    assert "com.demo.clean" not in printed.split("tested")[0], "a clean app opens no case"
    written = sorted(p.suffix for p in (tmp_path / "out" / "governance" / "notices").iterdir())
    assert written == [".csv", ".html", ".pdf", ".xlsx"]
