"""Append-only, hash-chained audit log.

Each entry's hash covers its own fields and the previous entry's hash, so editing
an entry breaks its hash, deleting one breaks the chain (and the sequence), and
reordering breaks both. The ``audit_head`` row records the chain's end so that a
deleted *last* entry is noticed too; appends lock that row, which also serialises
concurrent writers on PostgreSQL. An entry is written in the same transaction as
the change it records: no change without its audit entry, and no entry for a
change that rolled back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.governance.models import AuditEntry, AuditHead, utcnow

GENESIS_HASH = "0" * 64
HEAD_ID = 1


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept (hashed byte for byte)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(
    prev_hash: str, seq: int, at: datetime, actor: str, action: str, entity_type: str, entity_id: str, payload: str
) -> str:
    body = canonical_json([prev_hash, seq, at.isoformat(), actor, action, entity_type, entity_id, payload])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: object,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add one entry at the end of the chain (flushed, committed with the caller's transaction)."""
    head = session.execute(select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=HEAD_ID, seq=0, hash=GENESIS_HASH)
        session.add(head)
    when = at or utcnow()
    body = canonical_json(payload or {})
    seq = head.seq + 1
    digest = entry_hash(head.hash, seq, when, actor, action, entity_type, str(entity_id), body)
    entry = AuditEntry(
        seq=seq,
        at=when,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        payload=body,
        prev_hash=head.hash,
        hash=digest,
    )
    session.add(entry)
    head.seq, head.hash = seq, digest
    session.flush()
    return entry


@dataclass
class AuditVerification:
    entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def iter_entries(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        # populate_existing: verify what the database holds now, not objects cached in this session.
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > last)
            .order_by(AuditEntry.seq)
            .limit(batch)
            .execution_options(populate_existing=True)
        )
        chunk = list(rows)
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].seq


def verify(session: Session) -> AuditVerification:
    """Walk the chain from the start; report every edited, missing or out-of-order entry."""
    result = AuditVerification()
    prev_hash, expected_seq = GENESIS_HASH, 1
    for entry in iter_entries(session):
        result.entries += 1
        if entry.seq != expected_seq:
            result.problems.append(f"entry {expected_seq} is missing (next entry found is {entry.seq}): deleted")
        if entry.prev_hash != prev_hash:
            result.problems.append(
                f"entry {entry.seq} does not follow the entry before it (prev_hash mismatch): deleted or reordered"
            )
        recomputed = entry_hash(
            entry.prev_hash,
            entry.seq,
            entry.at,
            entry.actor,
            entry.action,
            entry.entity_type,
            entry.entity_id,
            entry.payload,
        )
        if recomputed != entry.hash:
            result.problems.append(
                f"entry {entry.seq} ({entry.action}) was edited: its content does not match its hash"
            )
        prev_hash, expected_seq = entry.hash, entry.seq + 1
    head = session.get(AuditHead, HEAD_ID, populate_existing=True)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        result.problems.append(
            f"the chain ends at entry {expected_seq - 1} but the head records entry {head.seq}: "
            "entries at the end were deleted or the head was altered"
        )
    return result
