"""The alarm log on disk: one row per alarm event (raised, acknowledged, paused, latched, cleared), with the
session it happened in and who acted.

:class:`AlarmLog` is the sink the station feeds; it writes each batch in one transaction on the caller's thread
(the alarm tick thread), because alarm events are few: state changes, not samples. A database that refuses a
write keeps the rows in memory and retries with the next batch, and ``failure`` says what is wrong.

Each row is written with its audit entry in the same transaction (``store/record_proof.py``), so ``audit
verify`` finds an alarm event that was edited, deleted or slipped in afterwards.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.record_proof import alarm_audit_line
from kapmonitor.store.tables import AlarmLogRow

log = logging.getLogger(__name__)
MAX_UNWRITTEN = 10_000  # events kept in memory while the database refuses writes


_table = AlarmLogRow.__table__
SYSTEM_USER = "kapmonitor"  # the audit author of an alarm no person acted on


def _row(session_id: int, event: AlarmEvent, origin: str = "") -> dict[str, Any]:
    row: dict[str, Any] = event.to_row()
    # "limit" and "user" are reserved words in SQL: the table names those columns apart
    row["limit_value"], row["user_name"] = row.pop("limit"), row.pop("user")
    return {**row, "session_id": session_id, "origin": origin}


def write_alarm_events(engine: Engine, session_id: int, events: Sequence[AlarmEvent], origin: str = "") -> None:
    """Store ``events`` for the session in one transaction, each with its audit entry (raises what the database
    raises). ``origin`` "" is the chair's own station; "central" a request from the central station."""
    if events:
        _store(engine, [_row(session_id, e, origin) for e in events])


def _store(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """The rows and one audit entry for each, committed together."""

    def write(conn: Connection) -> None:
        ids = conn.execute(insert(_table).returning(_table.c.id, sort_by_parameter_order=True), rows).scalars().all()
        # The rows as stored (column defaults filled in) are what the audit entries vouch for.
        stored = {r["id"]: dict(r) for r in conn.execute(select(_table).where(_table.c.id.in_(ids))).mappings()}
        for row_id in ids:
            row = stored[row_id]
            AuditTrail.append_in(conn, row["user_name"] or SYSTEM_USER, *alarm_audit_line(row_id, row))

    AuditTrail(engine).commit_with(write)


def alarm_events(engine: Engine, session_id: int) -> list[AlarmEvent]:
    """The session's alarm log, oldest first (the order they happened in)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_table).where(_table.c.session_id == session_id).order_by(_table.c.t_us, _table.c.id)
        ).all()
    return [
        AlarmEvent(
            t_us=r.t_us,
            alarm=r.alarm,
            priority=r.priority,
            state=r.state,
            kind=r.kind,
            device=r.device,
            metric=r.metric,
            value=r.value,
            limit=r.limit_value,
            message=r.message,
            user=r.user_name,
        )
        for r in rows
    ]


class AlarmLog:
    """Writes alarm events into the running session. ``session_id`` None: events are not stored."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.session_id: int | None = None
        self.failure: str | None = None
        self._lock = threading.Lock()
        self._unwritten: list[tuple[int, AlarmEvent]] = []

    def write(self, events: Sequence[AlarmEvent]) -> None:
        """Store the events (the session's, if one is running) and any left over from a failed write."""
        with self._lock:
            if self.session_id is not None:
                self._unwritten += [(self.session_id, e) for e in events]
            if not self._unwritten:
                return
            try:
                _store(self.engine, [_row(s, e) for s, e in self._unwritten])
            except Exception as error:  # keep the rows, say so, retry with the next batch
                message = f"cannot write the alarm log ({type(error).__name__}: {error}); retrying"
                if message != self.failure:
                    log.error("%s", message)
                self.failure = message
                del self._unwritten[:-MAX_UNWRITTEN]
                return
            self._unwritten.clear()
            self.failure = None
