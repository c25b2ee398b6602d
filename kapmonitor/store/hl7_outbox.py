"""The HL7 outbox: messages for a clinic's interface engine, persisted before any attempt to send them.

Nothing is lost while the engine (or the network, or kapmonitor) is down: a message is a row from the moment it
is queued until the engine accepts it. The sender takes the oldest pending row of its destination, and only that
one, so messages arrive in the order they were queued; a NAK or a network error is written on the row (attempts,
the reason) and the same message is tried again. A message the engine will never take can be skipped by the
technician (it stays in the table, marked, and the skip is audited).

Each queueing is audited with a digest of every message it added (``store/record_proof.py``), so ``audit verify``
finds a message edited, deleted or slipped in afterwards by someone holding the database file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, func, insert, select, update

from kapmonitor.core.clock import now_us
from kapmonitor.core.errors import UserError
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.record_proof import outbox_audit_line
from kapmonitor.store.tables import Hl7OutboxMessage

_table = Hl7OutboxMessage.__table__
QUEUE_USER = "kapmonitor"  # the audit author of a queueing: the outbound sender, or the technician's command


class OutboxError(UserError):
    """An outbox request that cannot be carried out (one sentence)."""


@dataclass(frozen=True)
class OutboxRow:
    id: int
    session_id: int | None
    destination: str
    control_id: str
    t_us: int
    queued_us: int
    message: str
    status: str
    attempts: int
    last_attempt_us: int | None
    last_error: str
    sent_us: int | None


@dataclass(frozen=True)
class QueuedMessage:
    control_id: str
    t_us: int
    text: str


class Hl7Outbox:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def enqueue(self, destination: str, messages: Iterable[QueuedMessage], session_id: int | None = None) -> int:
        """Queue messages in the order given, audited together; one already queued for this destination (same
        control id) is not queued twice. Returns how many were added."""
        messages = list(messages)
        trail = AuditTrail(self.engine)

        def work(conn: Connection) -> int:
            known = set(conn.execute(select(_table.c.control_id).where(_table.c.destination == destination)).scalars())
            queued = now_us()
            rows = [
                {
                    "session_id": session_id,
                    "destination": destination,
                    "control_id": m.control_id,
                    "t_us": m.t_us,
                    "queued_us": queued,
                    "message": m.text,
                    "status": "pending",
                    "attempts": 0,
                    "last_error": "",
                }
                for m in messages
                if m.control_id not in known
            ]
            if rows:
                ids = conn.execute(insert(_table).returning(_table.c.id, sort_by_parameter_order=True), rows)
                trail.append_in(conn, QUEUE_USER, *outbox_audit_line(list(zip(ids.scalars().all(), rows, strict=True))))
            return len(rows)

        with self.engine.connect() as conn:  # nothing new (a recording session's repeated sweeps): no transaction
            known = set(conn.execute(select(_table.c.control_id).where(_table.c.destination == destination)).scalars())
        if all(m.control_id in known for m in messages):
            return 0
        return trail.commit_with(work)

    def next_pending(self, destination: str) -> OutboxRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_table)
                .where(_table.c.destination == destination, _table.c.status == "pending")
                .order_by(_table.c.id)
                .limit(1)
            ).first()
        return OutboxRow(**row._mapping) if row is not None else None

    def mark_sent(self, row_id: int) -> None:
        now = now_us()
        with self.engine.begin() as conn:
            conn.execute(
                update(_table)
                .where(_table.c.id == row_id)
                .values(status="sent", sent_us=now, last_attempt_us=now, attempts=_table.c.attempts + 1)
            )

    def mark_failed(self, row_id: int, reason: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(_table)
                .where(_table.c.id == row_id)
                .values(last_error=reason[:500], last_attempt_us=now_us(), attempts=_table.c.attempts + 1)
            )

    def skip(self, row_id: int, user: str, reason: str) -> OutboxRow:
        """Take a pending message the engine will never accept out of the queue (it stays, marked ``skipped``),
        so the messages behind it can go; audited with who and why."""
        if not reason.strip():
            raise OutboxError("say why the message is skipped (--reason)")
        trail = AuditTrail(self.engine)

        def work(conn: Connection) -> OutboxRow:
            row = conn.execute(select(_table).where(_table.c.id == row_id)).first()
            if row is None or row.status != "pending":
                raise OutboxError(f"no pending HL7 message {row_id} in the outbox")
            conn.execute(update(_table).where(_table.c.id == row_id).values(status="skipped"))
            payload = {"control_id": row.control_id, "destination": row.destination, "reason": reason,
                       "attempts": row.attempts, "last_error": row.last_error}  # fmt: skip
            trail.append_in(conn, user, "hl7.skip", f"hl7 message {row.control_id}", payload)
            return OutboxRow(**{**row._mapping, "status": "skipped"})

        return trail.commit_with(work)

    def rows(self, *, destination: str | None = None, include_sent: bool = False) -> list[OutboxRow]:
        query = select(_table).order_by(_table.c.id)
        if destination is not None:
            query = query.where(_table.c.destination == destination)
        if not include_sent:
            query = query.where(_table.c.status == "pending")
        with self.engine.connect() as conn:
            return [OutboxRow(**r._mapping) for r in conn.execute(query)]

    def counts(self) -> dict[tuple[str, str], int]:
        """(destination, status) -> messages."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(_table.c.destination, _table.c.status, func.count()).group_by(
                    _table.c.destination, _table.c.status
                )
            ).all()
        return {(d, s): n for d, s, n in found}
