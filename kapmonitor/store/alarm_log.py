"""The alarm log on disk: one row per alarm event (raised, acknowledged, paused, latched, cleared), with the
session it happened in and who acted.

:class:`AlarmLog` is the sink the station feeds; it writes each batch in one transaction on the caller's thread
(the alarm tick thread), because alarm events are few: state changes, not samples. A database that refuses a
write keeps the rows in memory and retries with the next batch, and ``failure`` says what is wrong.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, insert, select

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.store.tables import AlarmLogRow

log = logging.getLogger(__name__)
MAX_UNWRITTEN = 10_000  # events kept in memory while the database refuses writes


_table = AlarmLogRow.__table__
def _row(session_id: int, event: AlarmEvent) -> dict[str, Any]:
    row: dict[str, Any] = event.to_row()
    # "limit" and "user" are reserved words in SQL: the table names those columns apart
    row["limit_value"], row["user_name"] = row.pop("limit"), row.pop("user")
    return {**row, "session_id": session_id}


def write_alarm_events(engine: Engine, session_id: int, events: Sequence[AlarmEvent]) -> None:
    """Store ``events`` for the session in one transaction (raises what the database raises)."""
    if events:
        with engine.begin() as conn:
            conn.execute(insert(_table), [_row(session_id, e) for e in events])


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
                with self.engine.begin() as conn:
                    conn.execute(insert(_table), [_row(s, e) for s, e in self._unwritten])
            except Exception as error:  # keep the rows, say so, retry with the next batch
                message = f"cannot write the alarm log ({type(error).__name__}: {error}); retrying"
                if message != self.failure:
                    log.error("%s", message)
                self.failure = message
                del self._unwritten[:-MAX_UNWRITTEN]
                return
            self._unwritten.clear()
            self.failure = None
