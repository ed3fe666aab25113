"""The case state machine: detected -> notice -> re-test -> closed, or on to the bad list.

::

    detected -> notice_issued -> closed                       (re-test passed)
                              -> publicly_named                (deadline passed or re-test failed)
                                 -> takedown_ordered           (an order to every store listing the app)
                                    -> removal_confirmed       (every store acknowledged, or monitoring saw it gone)
                                       -> operator_badlisted   (offence counted against the operator)

Every transition goes through :func:`transition`, which refuses moves the table does
not allow (:class:`InvalidTransition`), records a :class:`CaseEvent` (who, when, why,
documents) and an audit entry in the same transaction, and relies on the case's
``row_version`` so that of two concurrent transitions one wins and the other gets
:class:`ConcurrentModification`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from appwarden.governance import audit, notices
from appwarden.governance.errors import AlreadyExists, ConcurrentModification, InvalidInput, InvalidTransition, NotFound
from appwarden.governance.models import (
    App,
    BadListEntry,
    Campaign,
    Case,
    CaseEvent,
    CaseState,
    Listing,
    ListingStatus,
    Notice,
    Operator,
    Scan,
    ScanStatus,
    Store,
    TakedownOrder,
)
from appwarden.governance.workdays import WorkCalendar

#: Deadlines are dates in the regulator's calendar (China Standard Time, no DST).
PROGRAMME_TZ = timezone(timedelta(hours=8), "CST")

TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.DETECTED: frozenset({CaseState.NOTICE_ISSUED}),
    CaseState.NOTICE_ISSUED: frozenset({CaseState.CLOSED, CaseState.PUBLICLY_NAMED}),
    CaseState.PUBLICLY_NAMED: frozenset({CaseState.TAKEDOWN_ORDERED}),
    CaseState.TAKEDOWN_ORDERED: frozenset({CaseState.REMOVAL_CONFIRMED}),
    CaseState.REMOVAL_CONFIRMED: frozenset({CaseState.OPERATOR_BADLISTED}),
    CaseState.CLOSED: frozenset(),
    CaseState.OPERATOR_BADLISTED: frozenset(),
}
TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
#: Findings at this severity are not violations and neither open nor keep a case open.
NON_VIOLATION_SEVERITIES = frozenset({"info"})
SYSTEM_ACTOR = "system"


def local_date(moment: datetime) -> date:
    return moment.astimezone(PROGRAMME_TZ).date()


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} does not exist")
    return case


def _lock(session: Session, case: Case) -> None:
    """Take the case's row lock first (PostgreSQL), so every transaction locks case before audit head.

    Multi-step operations issue notices (which append to the audit log) before the
    case's versioned UPDATE; without this, two of them could lock in opposite order.
    SQLite ignores FOR UPDATE: it has one writer at a time anyway.
    """
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update())


def _documents(items: Sequence[Notice]) -> list[dict[str, Any]]:
    return [{"notice_id": n.id, "number": n.number, "kind": n.kind} for n in items]


def transition(
    session: Session,
    case: Case,
    to_state: CaseState,
    *,
    actor: str,
    reason: str,
    now: datetime,
    documents: Sequence[Notice] = (),
    detail: dict[str, Any] | None = None,
) -> CaseEvent:
    """Move ``case`` to ``to_state`` or raise InvalidTransition / ConcurrentModification."""
    current = CaseState(case.state)
    case_id = case.id
    if to_state not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "nothing (the case is finished)"
        raise InvalidTransition(
            f"case {case.id} is {current.value}; it cannot become {to_state.value}",
            detail=f"from {current.value} it can become: {allowed}",
        )
    if not reason.strip():
        raise InvalidInput("a case transition needs a reason")
    case.state = to_state.value
    case.updated_at = now
    try:
        # Flush the versioned UPDATE first: a concurrent writer blocks or loses here.
        session.flush()
    except StaleDataError:
        raise ConcurrentModification(
            f"case {case_id} was changed by someone else while you were deciding",
            detail="reload the case and try again",
        ) from None
    except OperationalError as exc:
        if any(word in str(exc).lower() for word in ("locked", "deadlock")):
            raise ConcurrentModification(f"case {case_id} is being changed by someone else", detail=str(exc)) from None
        raise
    event = CaseEvent(
        case_id=case.id,
        from_state=current.value,
        to_state=to_state.value,
        actor=actor,
        at=now,
        reason=reason,
        documents=_documents(documents),
        detail=detail or {},
    )
    session.add(event)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="case.transition",
        entity_type="case",
        entity_id=case.id,
        payload={
            "from": current.value,
            "to": to_state.value,
            "reason": reason,
            "documents": event.documents,
            "event_id": event.id,
            "detail": detail or {},
        },
        at=now,
    )
    return event


# --- opening ------------------------------------------------------------------------------------------------------


def violations(scan: Scan) -> list[str]:
    return sorted({f.fingerprint for f in scan.findings if f.severity not in NON_VIOLATION_SEVERITIES})


def open_case(
    session: Session, scan: Scan, *, actor: str, now: datetime, campaign: Campaign | None = None, reason: str = ""
) -> Case:
    """A new case in state ``detected`` for the app version a finished scan found problems in."""
    if scan.status != ScanStatus.DONE.value or scan.app_version is None:
        raise InvalidInput(f"scan {scan.id} is {scan.status}; a case needs a finished scan")
    if not violations(scan):
        raise InvalidInput(f"scan {scan.id} found no violation; there is nothing to open a case about")
    app = scan.app_version.app
    if app.operator_id is None:
        raise InvalidInput(
            f"app {app.package} has no operator on record",
            detail="register the operator (legal name + unified social credit code) and link the app first",
        )
    active = session.scalars(
        select(Case).where(Case.app_id == app.id, Case.state.not_in([s.value for s in TERMINAL]))
    ).first()
    if active is not None:
        raise AlreadyExists(f"app {app.package} already has an active case {active.id} ({active.state})")
    case = Case(
        state=CaseState.DETECTED.value,
        app_id=app.id,
        app_version_id=scan.app_version.id,
        operator_id=app.operator_id,
        campaign_id=campaign.id if campaign else (scan.campaign_id or None),
        scan_id=scan.id,
        opened_at=now,
        updated_at=now,
    )
    session.add(case)
    package = app.package
    try:
        session.flush()
    except IntegrityError:
        # The caller's transaction is spoiled; it must roll back (the API and CLI do).
        raise AlreadyExists(f"app {package} already has an active case (opened concurrently)") from None
    event = CaseEvent(
        case_id=case.id,
        from_state=None,
        to_state=CaseState.DETECTED.value,
        actor=actor,
        at=now,
        reason=reason or f"scan {scan.id} found {len(violations(scan))} problem(s)",
        documents=[],
        detail={"scan_id": scan.id},
    )
    session.add(event)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="case.open",
        entity_type="case",
        entity_id=case.id,
        payload={"scan_id": scan.id, "app": app.package, "fingerprints": violations(scan)},
        at=now,
    )
    return case


# --- notice and deadline ------------------------------------------------------------------------------------------


def deadline_for(case: Case, calendar: WorkCalendar, now: datetime, default_workdays: int) -> date:
    workdays = default_workdays
    if case.campaign is not None and case.campaign.deadline_workdays:
        workdays = case.campaign.deadline_workdays
    return calendar.add_workdays(local_date(now), workdays)


def issue_notices(
    session: Session,
    cases: Sequence[Case],
    *,
    actor: str,
    now: datetime,
    calendar: WorkCalendar,
    default_workdays: int,
) -> list[Notice]:
    """One rectification notice per operator covering its cases; each case moves to notice_issued."""
    if not cases:
        raise InvalidInput("no case given")
    for case in cases:
        if case.state != CaseState.DETECTED.value:
            raise InvalidTransition(
                f"case {case.id} is {case.state}; a rectification notice is issued only for detected cases"
            )
    for case in sorted(cases, key=lambda c: c.id):
        _lock(session, case)
    by_operator: dict[int, list[Case]] = {}
    for case in cases:
        by_operator.setdefault(case.operator_id, []).append(case)
    issued = []
    for operator_id, group in sorted(by_operator.items()):
        operator = session.get(Operator, operator_id)
        assert operator is not None
        deadline = max(deadline_for(c, calendar, now, default_workdays) for c in group)
        notice = notices.issue_rectification_notice(session, operator, group, deadline=deadline, actor=actor, now=now)
        for case in group:
            case.deadline = deadline_for(case, calendar, now, default_workdays)
            transition(
                session,
                case,
                CaseState.NOTICE_ISSUED,
                actor=actor,
                reason=f"rectification ordered by {case.deadline.isoformat()}",
                now=now,
                documents=[notice],
                detail={"deadline": case.deadline.isoformat()},
            )
        issued.append(notice)
    return issued


# --- re-test ------------------------------------------------------------------------------------------------------


@dataclass
class RetestComparison:
    """Finding-by-finding comparison by fingerprint."""

    fixed: list[str] = field(default_factory=list)
    still_present: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.still_present and not self.new

    def as_dict(self) -> dict[str, Any]:
        return {"fixed": self.fixed, "still_present": self.still_present, "new": self.new, "passed": self.passed}


def compare(first: Scan, retest: Scan) -> RetestComparison:
    before, after = set(violations(first)), set(violations(retest))
    return RetestComparison(
        fixed=sorted(before - after), still_present=sorted(before & after), new=sorted(after - before)
    )


def record_retest(session: Session, case: Case, retest: Scan, *, actor: str, now: datetime) -> RetestComparison:
    """Compare a re-test of a newer version with the first scan; close the case or name it publicly."""
    if case.state != CaseState.NOTICE_ISSUED.value:
        raise InvalidTransition(f"case {case.id} is {case.state}; a re-test is recorded only after a notice")
    if retest.status != ScanStatus.DONE.value or retest.app_version is None:
        raise InvalidInput(f"scan {retest.id} is {retest.status}; a re-test needs a finished scan")
    if retest.app_version.app_id != case.app_id:
        raise InvalidInput(f"scan {retest.id} is of another app than case {case.id}")
    first_version = case.app_version
    if retest.app_version.id == first_version.id:
        raise InvalidInput(f"scan {retest.id} is of the same APK as the one noticed; a re-test needs a newer version")
    if (
        retest.app_version.version_code is not None
        and first_version.version_code is not None
        and retest.app_version.version_code <= first_version.version_code
    ):
        raise InvalidInput(
            f"re-test version code {retest.app_version.version_code} is not newer than {first_version.version_code}"
        )
    _lock(session, case)
    comparison = compare(case.scan, retest)
    # Fingerprints are comparable across versions of the same engine and rule catalog; the
    # versions are recorded so a reader can judge a comparison made across catalog updates.
    versions = {
        "first": {"engine": case.scan.engine_version, "catalog": case.scan.catalog_version},
        "retest": {"engine": retest.engine_version, "catalog": retest.catalog_version},
    }
    case.retest_scan_id = retest.id
    if comparison.passed:
        transition(
            session,
            case,
            CaseState.CLOSED,
            actor=actor,
            reason=f"re-test scan {retest.id} passed: {len(comparison.fixed)} problem(s) fixed",
            now=now,
            detail={"retest_scan_id": retest.id, "versions": versions, **comparison.as_dict()},
        )
    else:
        transition(
            session,
            case,
            CaseState.PUBLICLY_NAMED,
            actor=actor,
            reason=(
                f"re-test scan {retest.id} failed: {len(comparison.still_present)} still present, "
                f"{len(comparison.new)} new"
            ),
            now=now,
            detail={"retest_scan_id": retest.id, "versions": versions, **comparison.as_dict()},
        )
    return comparison


# --- naming, takedown, removal, bad list --------------------------------------------------------------------------


def name_publicly(session: Session, case: Case, *, actor: str, reason: str, now: datetime) -> CaseEvent:
    return transition(session, case, CaseState.PUBLICLY_NAMED, actor=actor, reason=reason, now=now)


def order_takedown(
    session: Session, case: Case, *, actor: str, now: datetime, ack_hours: float, reason: str = ""
) -> list[TakedownOrder]:
    """An order (with its notice) to every store listing the app; the case moves to takedown_ordered."""
    if case.state != CaseState.PUBLICLY_NAMED.value:
        raise InvalidTransition(f"case {case.id} is {case.state}; a takedown is ordered only after public naming")
    _lock(session, case)
    listings = list(
        session.scalars(
            select(Listing)
            .where(Listing.app_id == case.app_id, Listing.status == ListingStatus.LISTED.value)
            .order_by(Listing.store_id)
        )
    )
    orders, documents = [], []
    for listing in listings:
        store = session.get(Store, listing.store_id)
        assert store is not None
        notice = notices.issue_takedown_notice(session, case, store, actor=actor, now=now)
        order = TakedownOrder(
            case_id=case.id,
            store_id=store.id,
            listing_id=listing.id,
            notice_id=notice.id,
            issued_at=now,
            due_at=now + timedelta(hours=ack_hours),
        )
        session.add(order)
        orders.append(order)
        documents.append(notice)
    transition(
        session,
        case,
        CaseState.TAKEDOWN_ORDERED,
        actor=actor,
        reason=reason or f"takedown ordered to {len(orders)} store(s)",
        now=now,
        documents=documents,
        detail={"stores": [o.store_id for o in orders]},
    )
    session.flush()
    if not orders:
        # Nothing is listed anywhere: removal is already a fact.
        transition(
            session,
            case,
            CaseState.REMOVAL_CONFIRMED,
            actor=SYSTEM_ACTOR,
            reason="no store lists the app",
            now=now,
        )
    return orders


def _confirm_if_removed_everywhere(session: Session, case: Case, now: datetime) -> bool:
    """Move the case to removal_confirmed when every order is acknowledged or seen removed.

    The case lock makes two stores acknowledging at once serialise, so the second
    sees the first's acknowledgement and confirms (PostgreSQL; SQLite has one writer).
    """
    if case.state != CaseState.TAKEDOWN_ORDERED.value:
        return False
    _lock(session, case)
    orders = list(
        session.scalars(
            select(TakedownOrder).where(TakedownOrder.case_id == case.id).execution_options(populate_existing=True)
        )
    )
    if all(o.acknowledged_at is not None or o.removal_observed_at is not None for o in orders):
        transition(
            session,
            case,
            CaseState.REMOVAL_CONFIRMED,
            actor=SYSTEM_ACTOR,
            reason=f"all {len(orders)} store(s) acknowledged the takedown or no longer list the app",
            now=now,
            detail={
                "acknowledged": [o.store_id for o in orders if o.acknowledged_at],
                "observed_removed": [o.store_id for o in orders if o.removal_observed_at and not o.acknowledged_at],
            },
        )
        return True
    return False


def acknowledge_order(session: Session, order: TakedownOrder, *, actor: str, now: datetime) -> TakedownOrder:
    """A store confirms it removed the app; the case is confirmed once every store has."""
    if order.acknowledged_at is not None:
        raise AlreadyExists(
            f"takedown order {order.id} was already acknowledged at {order.acknowledged_at.isoformat()}"
        )
    order.acknowledged_at = now
    order.acknowledged_by = actor
    if order.listing_id is not None:
        listing = session.get(Listing, order.listing_id)
        if listing is not None:
            listing.status = ListingStatus.REMOVED.value
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="takedown.acknowledge",
        entity_type="takedown_order",
        entity_id=order.id,
        payload={"case_id": order.case_id, "store_id": order.store_id},
        at=now,
    )
    _confirm_if_removed_everywhere(session, order.case, now)
    return order


def observe_removal(session: Session, order: TakedownOrder, *, now: datetime, source: str) -> None:
    """Monitoring saw the app gone from the store: counts as removal even without acknowledgement."""
    if order.removal_observed_at is not None:
        return
    order.removal_observed_at = now
    session.flush()
    audit.append(
        session,
        actor=SYSTEM_ACTOR,
        action="takedown.removal_observed",
        entity_type="takedown_order",
        entity_id=order.id,
        payload={"case_id": order.case_id, "store_id": order.store_id, "source": source},
        at=now,
    )
    _confirm_if_removed_everywhere(session, order.case, now)


def badlist_operator(session: Session, case: Case, *, actor: str, reason: str, now: datetime) -> BadListEntry:
    """Put the operator on the bad list for this case, counting repeat offences."""
    if case.state != CaseState.REMOVAL_CONFIRMED.value:
        raise InvalidTransition(
            f"case {case.id} is {case.state}; an operator is bad-listed only after removal is confirmed"
        )
    _lock(session, case)
    operator = case.operator
    operator.offence_count += 1
    operator.badlisted = True
    entry = BadListEntry(
        operator_id=operator.id, case_id=case.id, offence_number=operator.offence_count, listed_at=now, reason=reason
    )
    session.add(entry)
    transition(
        session,
        case,
        CaseState.OPERATOR_BADLISTED,
        actor=actor,
        reason=reason,
        now=now,
        detail={"offence_number": operator.offence_count, "operator_id": operator.id},
    )
    return entry


# --- the clock ----------------------------------------------------------------------------------------------------


@dataclass
class TickResult:
    named: list[int] = field(default_factory=list)
    escalated_orders: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)


def tick(session: Session, *, now: datetime) -> TickResult:
    """Escalate what time has overtaken: overdue notices are named, late takedown orders escalated.

    Commits per case so one conflicting case does not hold back the others.
    """
    result = TickResult()
    today = local_date(now)
    overdue = list(
        session.scalars(
            select(Case.id).where(Case.state == CaseState.NOTICE_ISSUED.value, Case.deadline < today).order_by(Case.id)
        )
    )
    for case_id in overdue:
        case = get_case(session, case_id)
        try:
            name_publicly(
                session,
                case,
                actor=SYSTEM_ACTOR,
                reason=f"rectification deadline {case.deadline.isoformat() if case.deadline else '?'} passed "
                "without a passing re-test",
                now=now,
            )
            session.commit()
            result.named.append(case_id)
        except (ConcurrentModification, InvalidTransition):
            session.rollback()
            result.conflicts.append(case_id)
    # Safety net: a case whose orders are all settled is confirmed even if no single
    # acknowledgement got to do it.
    settled = list(
        session.scalars(select(Case.id).where(Case.state == CaseState.TAKEDOWN_ORDERED.value).order_by(Case.id))
    )
    for case_id in settled:
        try:
            if _confirm_if_removed_everywhere(session, get_case(session, case_id), now):
                session.commit()
        except ConcurrentModification:
            session.rollback()
            result.conflicts.append(case_id)
    late = list(
        session.scalars(
            select(TakedownOrder)
            .where(
                TakedownOrder.acknowledged_at.is_(None),
                TakedownOrder.removal_observed_at.is_(None),
                TakedownOrder.escalated_at.is_(None),
                TakedownOrder.due_at < now,
            )
            .order_by(TakedownOrder.id)
        )
    )
    for order in late:
        order.escalated_at = now
        audit.append(
            session,
            actor=SYSTEM_ACTOR,
            action="takedown.escalate",
            entity_type="takedown_order",
            entity_id=order.id,
            payload={
                "case_id": order.case_id,
                "store_id": order.store_id,
                "due_at": order.due_at.isoformat(),
            },
            at=now,
        )
        session.commit()
        result.escalated_orders.append(order.id)
    return result


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput("a time must carry its timezone, e.g. 2026-12-01T00:00:00+00:00")
    return moment.astimezone(UTC)


def app_of(session: Session, app_id: int) -> App:
    app = session.get(App, app_id)
    if app is None:
        raise NotFound(f"app {app_id} does not exist")
    return app
