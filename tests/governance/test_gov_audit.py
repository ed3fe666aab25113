"""The audit log: a hash chain that exposes an edited, deleted or reordered entry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, text, update

from appwarden.governance import audit
from appwarden.governance.models import AuditEntry
from governance.govkit import Database, at

T0 = at("2026-03-02T09:00:00+00:00")


def _fill(database: Database, n: int = 5) -> None:
    with database.sessions() as s:
        for i in range(n):
            audit.append(
                s,
                actor=f"regulator:{i}",
                action="case.transition",
                entity_type="case",
                entity_id=i,
                payload={"reason": f"原因 {i}", "n": i},
                at=T0 + timedelta(minutes=i),
            )
        s.commit()


def test_intact_chain_verifies(database: Database) -> None:
    _fill(database)
    with database.sessions() as s:
        result = audit.verify(s)
        assert result.ok and result.entries == 5


def test_edited_entry_is_detected(database: Database) -> None:
    _fill(database)
    with database.sessions() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(payload='{"n":3,"reason":"edited"}'))
        s.commit()
        result = audit.verify(s)
    assert not result.ok
    assert any("entry 3" in p and "edited" in p for p in result.problems)


def test_edited_actor_is_detected(database: Database) -> None:
    _fill(database)
    with database.sessions() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor="someone-else"))
        s.commit()
        assert any("entry 2" in p for p in audit.verify(s).problems)


def test_deleted_entry_is_detected(database: Database) -> None:
    _fill(database)
    with database.sessions() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
        s.commit()
        problems = audit.verify(s).problems
    assert any("entry 2 is missing" in p for p in problems)
    assert any("entry 3 does not follow" in p for p in problems)


def test_deleted_last_entry_is_detected(database: Database) -> None:
    _fill(database)
    with database.sessions() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 5))
        s.commit()
        assert any("head records entry 5" in p for p in audit.verify(s).problems)


def test_reordered_entries_are_detected(database: Database) -> None:
    """Swap the contents of entries 2 and 4 while keeping their sequence numbers."""
    _fill(database)
    with database.sessions() as s:
        rows = {e.seq: e for e in s.query(AuditEntry).order_by(AuditEntry.seq)}
        two, four = rows[2], rows[4]
        fields = ("at", "actor", "action", "entity_type", "entity_id", "payload", "prev_hash", "hash")
        saved_two = {f: getattr(two, f) for f in fields}
        saved_four = {f: getattr(four, f) for f in fields}
        # Move hashes out of the way first: the hash column is unique.
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(hash="x" * 64))
        s.execute(update(AuditEntry).where(AuditEntry.seq == 4).values(hash="y" * 64))
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(**saved_four))
        s.execute(update(AuditEntry).where(AuditEntry.seq == 4).values(**saved_two))
        s.commit()
        problems = audit.verify(s).problems
    assert problems, "a reordering must not verify"
    assert any("entry 2" in p for p in problems)


def test_recomputed_hash_still_breaks_the_chain(database: Database) -> None:
    """An editor who recomputes the edited entry's hash breaks the link to the next entry."""
    _fill(database)
    with database.sessions() as s:
        e = s.get(AuditEntry, 3)
        assert e is not None
        payload = '{"n":3,"reason":"forged"}'
        forged = audit.entry_hash(e.prev_hash, e.seq, e.at, e.actor, e.action, e.entity_type, e.entity_id, payload)
        s.execute(text("UPDATE audit_log SET payload = :p, hash = :h WHERE seq = 3"), {"p": payload, "h": forged})
        s.commit()
        problems = audit.verify(s).problems
    assert any("entry 4 does not follow" in p for p in problems)


def test_canonical_json_is_stable() -> None:
    assert audit.canonical_json({"b": 1, "a": "中"}) == '{"a":"中","b":1}'
