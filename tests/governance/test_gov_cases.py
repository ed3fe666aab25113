"""The case state machine on both databases: the full chain, refusals, re-test, tick, concurrency."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from appwarden.governance import audit, cases, jobs, stores
from appwarden.governance.errors import AlreadyExists, ConcurrentModification, InvalidInput, InvalidTransition
from appwarden.governance.models import (
    BadListEntry,
    Case,
    CaseEvent,
    CaseState,
    Listing,
    Scan,
    Store,
    TakedownOrder,
)
from appwarden.governance.workdays import WorkCalendar
from governance.govkit import CAL, FINDINGS, T0, Database, at, credit_code, scanned, setup_case


def test_full_chain_to_bad_list(database: Database, tmp_path: Path) -> None:
    with database.sessions() as s:
        case, _ = setup_case(s, tmp_path)
        (notice,) = cases.issue_notices(s, [case], actor="regulator:r", now=T0, calendar=CAL, default_workdays=5)
        s.commit()
        assert case.state == "notice_issued"
        assert case.deadline == date(2026, 3, 9)
        assert notice.number.startswith("RN-2026-")
        # Before the deadline nothing happens; the day after it, tick names the case.
        assert cases.tick(s, now=at("2026-03-09T23:00:00+08:00")).named == []
        assert cases.tick(s, now=at("2026-03-10T00:30:00+08:00")).named == [case.id]
        s.refresh(case)
        assert case.state == "publicly_named"
        orders = cases.order_takedown(s, case, actor="regulator:r", now=T0 + timedelta(days=9), ack_hours=48)
        s.commit()
        assert len(orders) == 2 and case.state == "takedown_ordered"
        cases.acknowledge_order(s, orders[0], actor="store:s0", now=T0 + timedelta(days=9, hours=1))
        assert case.state == "takedown_ordered", "one store acknowledged, the other has not"
        cases.acknowledge_order(s, orders[1], actor="store:s1", now=T0 + timedelta(days=9, hours=2))
        s.commit()
        assert case.state == "removal_confirmed"
        assert all(listing.status == "removed" for listing in s.scalars(select(Listing)))
        entry = cases.badlist_operator(s, case, actor="regulator:r", reason="逾期未整改", now=T0 + timedelta(days=10))
        s.commit()
        assert entry.offence_number == 1 and case.operator.badlisted
        states = [
            e.to_state for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
        ]
        assert states == [
            "detected",
            "notice_issued",
            "publicly_named",
            "takedown_ordered",
            "removal_confirmed",
            "operator_badlisted",
        ]
        events = list(s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
        assert events[1].documents[0]["number"] == notice.number
        assert all(e.actor and e.reason and e.at for e in events)
        assert audit.verify(s).ok


def test_repeat_offence_is_counted(database: Database, tmp_path: Path) -> None:
    with database.sessions() as s:
        for n, package in enumerate(["com.example.one", "com.example.two"], start=1):
            case, _ = setup_case(s, tmp_path, package, stores_listing=0) if n == 1 else (None, None)
            if case is None:
                operator = s.scalars(select(case_operator_type())).first()
                scan = scanned(s, tmp_path, package, operator=operator)
                case = cases.open_case(s, scan, actor="lab:a", now=T0)
            cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=1)
            cases.name_publicly(s, case, actor="r", reason="deadline passed", now=T0 + timedelta(days=3))
            cases.order_takedown(s, case, actor="r", now=T0 + timedelta(days=3), ack_hours=1)
            assert case.state == "removal_confirmed", "no store lists it: removal is immediate"
            entry = cases.badlist_operator(s, case, actor="r", reason="again", now=T0 + timedelta(days=4))
            assert entry.offence_number == n
        s.commit()
        assert len(list(s.scalars(select(BadListEntry)))) == 2


def case_operator_type():  # the Operator model, imported lazily to keep the test readable
    from appwarden.governance.models import Operator

    return Operator


def test_invalid_transitions_are_refused(sqlite_database: Database, tmp_path: Path) -> None:
    with sqlite_database.sessions() as s:
        case, _ = setup_case(s, tmp_path)
        with pytest.raises(InvalidTransition, match="detected; it cannot become publicly_named"):
            cases.name_publicly(s, case, actor="r", reason="x", now=T0)
        with pytest.raises(InvalidTransition):
            cases.order_takedown(s, case, actor="r", now=T0, ack_hours=1)
        with pytest.raises(InvalidTransition):
            cases.badlist_operator(s, case, actor="r", reason="x", now=T0)
        cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=5)
        with pytest.raises(InvalidTransition):
            cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=5)
        with pytest.raises(InvalidInput, match="needs a reason"):
            cases.transition(s, case, CaseState.PUBLICLY_NAMED, actor="r", reason=" ", now=T0)
        assert case.state == "notice_issued"


def test_open_case_checks(sqlite_database: Database, tmp_path: Path) -> None:
    with sqlite_database.sessions() as s:
        clean = scanned(s, tmp_path, "com.clean", findings=[{"rule": "AW-X", "severity": "info"}])
        with pytest.raises(InvalidInput, match="no violation"):
            cases.open_case(s, clean, actor="r", now=T0)
        orphan = scanned(s, tmp_path, "com.orphan")
        with pytest.raises(InvalidInput, match="no operator"):
            cases.open_case(s, orphan, actor="r", now=T0)
        _case, scan = setup_case(s, tmp_path, "com.twice", stores_listing=0)
        with pytest.raises(AlreadyExists, match="active case"):
            cases.open_case(s, scan, actor="r", now=T0)


@pytest.mark.parametrize(
    ("retest_findings", "expected_state", "fixed", "still", "new"),
    [
        ([{"rule": "AW-INFO-1", "key": "x", "severity": "info"}], "closed", 2, 0, 0),
        ([FINDINGS[0]], "publicly_named", 1, 1, 0),
        ([{"rule": "AW-NEW", "key": "y"}], "publicly_named", 2, 0, 1),
    ],
)
def test_retest_compares_finding_by_finding(
    database: Database, tmp_path: Path, retest_findings, expected_state, fixed, still, new
) -> None:
    with database.sessions() as s:
        case, _ = setup_case(s, tmp_path, stores_listing=0)
        cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=5)
        retest = scanned(s, tmp_path, "com.example.app", version_code=2, findings=retest_findings)
        result = cases.record_retest(s, case, retest, actor="lab:a", now=T0 + timedelta(days=2))
        s.commit()
        assert (len(result.fixed), len(result.still_present), len(result.new)) == (fixed, still, new)
        assert case.state == expected_state
        assert case.events[-1].detail["retest_scan_id"] == retest.id
        assert case.events[-1].detail["versions"]["retest"] == {"engine": "test-engine", "catalog": "test-catalog"}


def test_retest_needs_a_newer_version(sqlite_database: Database, tmp_path: Path) -> None:
    with sqlite_database.sessions() as s:
        case, scan = setup_case(s, tmp_path, stores_listing=0)
        cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=5)
        with pytest.raises(InvalidInput, match="newer version"):
            cases.record_retest(s, case, scan, actor="r", now=T0)
        older = scanned(s, tmp_path, "com.example.app", version_code=0, findings=[])
        with pytest.raises(InvalidInput, match="not newer"):
            cases.record_retest(s, case, older, actor="r", now=T0)
        other = scanned(s, tmp_path, "com.other.app", version_code=5, findings=[])
        with pytest.raises(InvalidInput, match="another app"):
            cases.record_retest(s, case, other, actor="r", now=T0)


def test_campaign_deadline_and_holidays(sqlite_database: Database, tmp_path: Path) -> None:
    from appwarden.governance.models import Campaign

    with sqlite_database.sessions() as s:
        campaign = Campaign(name="2026 专项整治", deadline_workdays=3, created_at=T0)
        s.add(campaign)
        case, _ = setup_case(s, tmp_path, stores_listing=0)
        case.campaign_id = campaign.id
        s.flush()
        s.refresh(case)
        calendar = WorkCalendar(holidays=frozenset({date(2026, 3, 4)}))
        cases.issue_notices(s, [case], actor="r", now=T0, calendar=calendar, default_workdays=10)
        # Mon + 3 working days, skipping the Wednesday holiday: Tue, Thu, Fri.
        assert case.deadline == date(2026, 3, 6)


def test_tick_escalates_unacknowledged_orders(database: Database, tmp_path: Path) -> None:
    with database.sessions() as s:
        case, _ = setup_case(s, tmp_path, stores_listing=1)
        cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=1)
        cases.name_publicly(s, case, actor="r", reason="deadline", now=T0 + timedelta(days=2))
        (order,) = cases.order_takedown(s, case, actor="r", now=T0 + timedelta(days=2), ack_hours=24)
        s.commit()
        assert cases.tick(s, now=T0 + timedelta(days=2, hours=23)).escalated_orders == []
        assert cases.tick(s, now=T0 + timedelta(days=3, hours=1)).escalated_orders == [order.id]
        assert cases.tick(s, now=T0 + timedelta(days=4)).escalated_orders == [], "escalated once only"
        s.refresh(order)
        assert order.escalated_at is not None


def test_monitoring_observes_removal(database: Database, tmp_path: Path) -> None:
    with database.sessions() as s:
        case, _ = setup_case(s, tmp_path, stores_listing=2)
        cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=1)
        cases.name_publicly(s, case, actor="r", reason="deadline", now=T0 + timedelta(days=2))
        orders = cases.order_takedown(s, case, actor="r", now=T0 + timedelta(days=2), ack_hours=24)
        s.commit()
        store0, store1 = (s.get(Store, o.store_id) for o in orders)
        still = [stores.CatalogItem(package="com.example.app"), stores.CatalogItem(package="com.other")]
        stores.upload_snapshot(
            s, store0, still, taken_at=T0 + timedelta(days=3), actor="store", now=T0 + timedelta(days=3)
        )
        report = stores.monitor(s, store0)
        assert [r["package"] for r in report.still_listed_under_takedown] == ["com.example.app"]
        stores.upload_snapshot(
            s, store0, still[1:], taken_at=T0 + timedelta(days=4), actor="store", now=T0 + timedelta(days=4)
        )
        assert stores.monitor(s, store0).still_listed_under_takedown == []
        assert case.state == "takedown_ordered"
        cases.acknowledge_order(s, orders[1], actor="store:1", now=T0 + timedelta(days=4))
        s.commit()
        assert case.state == "removal_confirmed"
        assert case.events[-1].detail["observed_removed"] == [store0.id]
        summary = stores.compliance_summary(s, store1, now=T0 + timedelta(days=5))
        assert summary["takedown_orders"] == 1 and summary["acknowledged"] == 1 and summary["overdue"] == 0


def test_concurrent_transitions_one_wins(database: Database, tmp_path: Path) -> None:
    """Two sessions decide on the same case version: one commits, the other gets a conflict."""
    with database.sessions() as s:
        case, _ = setup_case(s, tmp_path, stores_listing=0)
        cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=1)
        s.commit()
        case_id = case.id
    a, b = database.sessions(), database.sessions()
    try:
        case_a, case_b = a.get(Case, case_id), b.get(Case, case_id)
        assert case_a is not None and case_b is not None
        assert case_a.row_version == case_b.row_version
        cases.name_publicly(a, case_a, actor="regulator:a", reason="deadline passed", now=T0 + timedelta(days=5))
        a.commit()
        with pytest.raises(ConcurrentModification, match="changed by someone else"):
            retest = None  # b decides to close the case on the stale version it read
            cases.transition(b, case_b, CaseState.CLOSED, actor="lab:b", reason=f"re-test {retest}", now=T0)
            b.commit()
        b.rollback()
    finally:
        a.close()
        b.close()
    with database.sessions() as s:
        final = s.get(Case, case_id)
        assert final is not None and final.state == "publicly_named"
        assert [e.to_state for e in final.events].count("publicly_named") == 1
        assert "closed" not in [e.to_state for e in final.events]
        assert audit.verify(s).ok


def test_concurrent_transitions_in_threads(database: Database, tmp_path: Path) -> None:
    """Racing threads on one case: exactly one transition lands."""
    with database.sessions() as s:
        case, _ = setup_case(s, tmp_path, stores_listing=0)
        s.commit()
        case_id = case.id
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(n: int) -> None:
        with database.sessions() as session:
            mine = session.get(Case, case_id)
            assert mine is not None
            barrier.wait()
            try:
                cases.issue_notices(session, [mine], actor=f"r{n}", now=T0, calendar=CAL, default_workdays=5)
                session.commit()
                result = "won"
            except (ConcurrentModification, InvalidTransition):
                session.rollback()
                result = "conflict"
            except Exception as exc:  # the database refused the second writer outright
                session.rollback()
                result = f"conflict:{type(exc).__name__}" if "lock" in str(exc).lower() else f"error:{exc!r}"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes.count("won") == 1, outcomes
    assert all(o.startswith("conflict") for o in outcomes if o != "won"), outcomes
    with database.sessions() as s:
        final = s.get(Case, case_id)
        assert final is not None and final.state == "notice_issued"
        assert [e.to_state for e in final.events].count("notice_issued") == 1
        assert audit.verify(s).ok


def test_takedown_targets_every_listing_store(sqlite_database: Database, tmp_path: Path) -> None:
    with sqlite_database.sessions() as s:
        case, _ = setup_case(s, tmp_path, stores_listing=3)
        cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=1)
        cases.name_publicly(s, case, actor="r", reason="deadline", now=T0)
        orders = cases.order_takedown(s, case, actor="r", now=T0, ack_hours=1)
        s.commit()
        assert sorted(o.store_id for o in orders) == sorted(s.scalars(select(Store.id)))
        assert all(o.notice_id for o in orders)
        with pytest.raises(AlreadyExists):
            cases.acknowledge_order(s, orders[0], actor="x", now=T0)
            cases.acknowledge_order(s, orders[0], actor="x", now=T0)
        assert len(list(s.scalars(select(TakedownOrder)))) == 3


def test_monitoring_flags_approved_apps_that_later_fail(database: Database, tmp_path: Path) -> None:
    with database.sessions() as s:
        store = stores.create_store(s, code="gate", name="Gate", webhook_url=None, actor="r", now=T0)
        meta = stores.ListingMetadata(
            name="Good", developer="D", operator_name="丁公司", operator_credit_code="91350100M000100Y43"
        )
        apk = fake_apk_path(tmp_path, "com.good", [])
        review = stores.submit_listing_review(
            s,
            store,
            apk_path=str(apk),
            apk_sha256="0" * 64,
            apk_size=1,
            metadata=meta,
            callback_url=None,
            app_type=None,
            requested_by_id=None,
            actor="store",
            now=T0,
        )
        from governance.govkit import fake_scan_apk

        jobs.record_report(s, review, fake_scan_apk(apk), now=T0)
        assert stores.monitor(s, store).approved_then_failed == []
        later = scanned(s, tmp_path, "com.good", version_code=2)
        later.finished_at = T0 + timedelta(days=30)
        s.commit()
        (flag,) = stores.monitor(s, store).approved_then_failed
        assert flag["package"] == "com.good" and flag["failing_scan_id"] == later.id
        assert stores.compliance_summary(s, store)["approved_then_failed"] == 1


def fake_apk_path(tmp_path: Path, package: str, findings: list) -> Path:  # type: ignore[type-arg]
    from governance.govkit import fake_apk

    return fake_apk(tmp_path, package, findings=findings)


def test_simultaneous_acknowledgements_confirm_removal(database: Database, tmp_path: Path) -> None:
    """Two stores acknowledge at the same moment: the second sees the first, the case is confirmed."""
    with database.sessions() as s:
        case, _ = setup_case(s, tmp_path, stores_listing=2)
        cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=1)
        cases.name_publicly(s, case, actor="r", reason="deadline", now=T0)
        order_ids = [o.id for o in cases.order_takedown(s, case, actor="r", now=T0, ack_hours=1)]
        s.commit()
        case_id = case.id
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def ack(order_id: int) -> None:
        try:
            with database.sessions() as session:
                order = session.get(TakedownOrder, order_id)
                assert order is not None
                barrier.wait()
                cases.acknowledge_order(session, order, actor=f"store:{order_id}", now=T0 + timedelta(hours=1))
                session.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=ack, args=(i,)) for i in order_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with database.sessions() as s:
        final = s.get(Case, case_id)
        assert final is not None
        if errors:
            # SQLite may refuse the second writer outright; the tick's safety net must then settle it.
            assert all("lock" in str(e).lower() or isinstance(e, ConcurrentModification) for e in errors), errors
            pending = s.scalars(select(TakedownOrder).where(TakedownOrder.acknowledged_at.is_(None))).all()
            for order in pending:
                cases.acknowledge_order(s, order, actor="store:retry", now=T0 + timedelta(hours=2))
            s.commit()
        s.refresh(final)
        if not errors:
            assert final.state == "removal_confirmed", "the later acknowledgement must see the earlier one"
        cases.tick(s, now=T0 + timedelta(hours=3))
        s.refresh(final)
        assert final.state == "removal_confirmed"
        assert [e.to_state for e in final.events].count("removal_confirmed") == 1


def test_concurrent_opens_make_one_case(database: Database, tmp_path: Path) -> None:
    """The database, not only the check in open_case, allows one active case per app."""
    with database.sessions() as s:
        operator = stores.upsert_operator(s, legal_name="戊公司", credit_code=credit_code(3), actor="t", now=T0)
        scan_id = scanned(s, tmp_path, "com.race", operator=operator).id
        s.commit()
    a, b = database.sessions(), database.sessions()
    try:
        scan_a, scan_b = a.get(Scan, scan_id), b.get(Scan, scan_id)
        assert scan_a is not None and scan_b is not None and scan_b.app_version is not None
        cases.open_case(a, scan_a, actor="lab:a", now=T0)
        # b passed open_case's check before a committed: its insert must still be refused.
        b.add(
            Case(
                app_id=scan_b.app_version.app_id,
                app_version_id=scan_b.app_version.id,
                operator_id=operator.id,
                scan_id=scan_id,
                opened_at=T0,
                updated_at=T0,
            )
        )
        a.commit()
        with pytest.raises(IntegrityError):
            b.commit()
        b.rollback()
        with pytest.raises(AlreadyExists):
            cases.open_case(b, scan_b, actor="lab:b", now=T0)
    finally:
        a.close()
        b.close()
    with database.sessions() as s:
        assert len(s.scalars(select(Case)).all()) == 1
