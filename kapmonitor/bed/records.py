"""The clinic's records as the screens see them: user accounts, the clinical record of a session, its recorded
readings and alarm log, the sessions a crash left open, and recorded sessions loaded for review and export.

One object over the database, so no screen builds a store object itself. The live screen reaches it as
``station.records`` (see :mod:`kapmonitor.bed.port`); the review screens take it on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

from sqlalchemy import Engine

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.core.readings import Reading
from kapmonitor.export.loader import SessionData, load_session
from kapmonitor.session.entries import SignOff
from kapmonitor.session.templates import ProtocolTemplate
from kapmonitor.store.alarm_log import alarm_events
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.clinical_log import ClinicalLog, session_status
from kapmonitor.store.record_proof import unvouched
from kapmonitor.store.recovery import InterruptedSession, SessionRecovery
from kapmonitor.store.repository import RecordedReadings, SessionRepository
from kapmonitor.store.signing import sign_session
from kapmonitor.store.tables import SESSION_STATUSES
from kapmonitor.store.users import UserDirectory


class ClinicRecords:
    """Reads and audited writes of the clinic's database ``database`` (a SQLAlchemy engine)."""

    statuses: tuple[str, ...] = tuple(SESSION_STATUSES)  # a session's states, in the order they happen

    def __init__(self, database: Engine, *, audit: AuditTrail | None = None) -> None:
        self.database = database
        self.audit = audit or AuditTrail(database)
        self.repository = SessionRepository(database, audit=self.audit)
        self._recovery = SessionRecovery(database, audit=self.audit)

    @cached_property
    def users(self) -> UserDirectory:
        """The clinic's user accounts (made on first use: it prepares a password hash)."""
        return UserDirectory(self.database, audit=self.audit)

    # ---- one session's record ------------------------------------------------------------------------

    def clinical_log(self, session_id: int, template: ProtocolTemplate | None = None) -> ClinicalLog:
        """The session's clinical record, each entry stored and audited the moment it is accepted."""
        return ClinicalLog(self.database, session_id, template, audit=self.audit)

    def recorded_readings(self, session_id: int, metrics: Sequence[str]) -> Callable[[], list[Reading]]:
        """The session's recorded readings of ``metrics`` (flags and all), read anew at each call."""
        return RecordedReadings(self.repository, session_id, metrics)

    def session_start_us(self, session_id: int) -> int | None:
        return self.repository.start_of(session_id)

    def session_protocol(self, session_id: int) -> str:
        return str(self.repository.session_detail(session_id).get("protocol") or "")

    def session_status(self, session_id: int) -> str:
        return session_status(self.database, session_id)

    def sign_session(self, session_id: int, *, username: str, password: str, entered_us: int) -> SignOff:
        """Sign as ``username``, whose password is checked again (see :func:`kapmonitor.store.signing.sign_session`)."""
        return sign_session(
            self.database, session_id, username=username, password=password, entered_us=entered_us, users=self.users
        )

    def alarm_log(self, session_id: int) -> tuple[AlarmEvent, ...]:
        """The session's stored alarm log, in time order."""
        return tuple(alarm_events(self.database, session_id))

    # ---- recorded sessions ---------------------------------------------------------------------------

    def list_sessions(self) -> list[dict[str, Any]]:
        """Every session, oldest first, in the ``sessions list --json`` shape."""
        return self.repository.list_sessions()

    def load_session(self, session_id: int, alarms: Sequence[AlarmEvent] | None = None) -> SessionData:
        """Everything recorded for one session, with its stored alarm log unless ``alarms`` are given."""
        return load_session(self.database, session_id, alarms=self.alarm_log(session_id) if alarms is None else alarms)

    def unvouched(self, session_id: int) -> str | None:
        """One line saying what of the session's record the audit trail does not vouch for; None when intact."""
        return unvouched(self.database, session_id)

    # ---- sessions a crash left in progress --------------------------------------------------------------

    def interrupted_sessions(self) -> list[InterruptedSession]:
        return self._recovery.interrupted()

    def close_interrupted(self, session_id: int, *, user: str) -> None:
        """End an interrupted session at its last recorded data, audited as ``user``'s decision."""
        self._recovery.close_interrupted(session_id, user=user)
