"""Crash recovery: sessions left "in_progress" by a kapmonitor that died, and what to do with them.

While a station records a session it owns it: a ``session_owner`` row names its host, process id and process
start time, and a heartbeat thread refreshes it. A session in progress is *interrupted* when no owner claims
it, when its owner's process is gone from this computer, or when an owner on another computer has not been heard
from for ``STALE_AFTER_S``. A live owner's session is never offered for recovery.

Recovery records the gap where it belongs, in the session's own link events (device ``STATION_DEVICE``), and
either continues the session in this process (:meth:`SessionRecovery.resume`) or ends it at its last data
(:meth:`SessionRecovery.close_interrupted`, which also packs the rows the dead recorder left staged; a resumed
session's are packed by its new recorder). Both are audited.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, exc, insert, select, update

from kapmonitor.core.clock import US_PER_S, iso, now_us
from kapmonitor.core.errors import UserError
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.db import inserted_id
from kapmonitor.store.header_proof import SESSION_INTERRUPTED, SESSION_RESUMED, vouch_in
from kapmonitor.store.packing import first_line, pack_session, reclaim_staging
from kapmonitor.store.tables import Device, LinkEventRow, Patient, Session, SessionOwner
from kapmonitor.store.track_rows import last_data_us, snapshot

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0
STALE_AFTER_S = 120.0  # an owner on another computer silent this long is taken to be gone
STATION_DEVICE = "kapmonitor@station"

_owner = SessionOwner.__table__
_session = Session.__table__
_device = Device.__table__


@dataclass(frozen=True)
class Owner:
    hostname: str
    pid: int
    process_start: str  # the kernel's start time of that pid, so a reused pid is not mistaken for the owner

    def describe(self) -> str:
        return f"process {self.pid} on {self.hostname}"


def _process_start(pid: int) -> str:
    try:  # Linux: field 22 of /proc/PID/stat, clock ticks since boot (after the parenthesised command name)
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return ""


def this_process() -> Owner:
    return Owner(socket.gethostname(), os.getpid(), _process_start(os.getpid()))


def _alive_here(owner: Owner) -> bool | None:
    """Whether the owner process runs on this computer; None where that cannot be told safely."""
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there
        return None
    try:
        os.kill(owner.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to another account
        pass
    return not owner.process_start or _process_start(owner.pid) == owner.process_start


class SessionHeldElsewhere(UserError):
    """A session belongs to another bed, or another live station is recording it: this one may not write it."""


@dataclass(frozen=True)
class InterruptedSession:
    session_id: int
    patient: str
    start_us: int | None
    last_data_us: int | None  # the newest thing recorded (reading, waveform, link event, heartbeat)
    owner: Owner | None  # None: no process ever claimed it


def _owner_is_live(owner: Owner, heartbeat_us: int, now: int) -> bool:
    if owner.hostname == socket.gethostname():
        alive = _alive_here(owner)
        if alive is not None:
            return alive
    return now - heartbeat_us < STALE_AFTER_S * US_PER_S


def interrupted_sessions(engine: Engine) -> list[InterruptedSession]:
    """Sessions still "in_progress" whose recording process is gone, oldest first."""
    patient = Patient.__table__
    now = now_us()
    found: list[InterruptedSession] = []
    with snapshot(engine) as conn:
        rows = conn.execute(
            select(
                _session.c.id,
                patient.c.code,
                _session.c.start_us,
                _owner.c.hostname,
                _owner.c.pid,
                _owner.c.process_start,
                _owner.c.heartbeat_us,
            )
            .join(patient, patient.c.id == _session.c.patient_id)
            .outerjoin(_owner, _owner.c.session_id == _session.c.id)
            .where(_session.c.status == "in_progress")
            .order_by(_session.c.id)
        ).all()
        for sid, code, start, host, pid, started, heartbeat in rows:
            owner = Owner(host, pid, started) if host is not None else None
            if owner is not None and _owner_is_live(owner, heartbeat, now):
                continue
            last = max((t for t in (last_data_us(conn, sid), heartbeat) if t is not None), default=None)
            found.append(InterruptedSession(sid, code, start, last, owner))
    return found


class SessionRecovery:
    def __init__(self, engine: Engine, *, user: str = "", audit: AuditTrail | None = None) -> None:
        self.engine = engine
        self.user = user
        self.audit = audit or AuditTrail(engine)

    # -- ownership, used by the station while it records ---------------------------------------------------

    def claim(self, session_id: int, bed: str = "") -> None:
        """Hold ``session_id`` for this process at ``bed``; :class:`SessionHeldElsewhere` when the session
        belongs to another bed or a live station (this process excepted) already records it."""
        me, t = this_process(), now_us()
        values = {
            "bed": bed,
            "hostname": me.hostname,
            "pid": me.pid,
            "process_start": me.process_start,
            "heartbeat_us": t,
        }
        try:
            with self.engine.begin() as conn:
                self._check_free(conn, session_id, bed, me, t)
                conn.execute(delete(_owner).where(_owner.c.session_id == session_id))
                conn.execute(insert(_owner).values(session_id=session_id, claimed_us=t, **values))
        except exc.IntegrityError as error:  # another station claimed it between our check and our insert
            raise SessionHeldElsewhere(f"session {session_id} was just claimed by another station") from error

    @staticmethod
    def _check_free(conn: Connection, session_id: int, bed: str, me: Owner, now: int) -> None:
        session_bed = conn.execute(select(_session.c.bed).where(_session.c.id == session_id)).scalar()
        if bed and session_bed and session_bed != bed:
            raise SessionHeldElsewhere(
                f"session {session_id} belongs to bed {session_bed!r}; it cannot be recorded at bed {bed!r}"
            )
        held = conn.execute(
            select(_owner.c.bed, _owner.c.hostname, _owner.c.pid, _owner.c.process_start, _owner.c.heartbeat_us)
            .where(_owner.c.session_id == session_id)
            .with_for_update()
        ).first()
        if held is None:
            return
        owner = Owner(held.hostname, held.pid, held.process_start)
        if owner != me and _owner_is_live(owner, held.heartbeat_us, now):
            where = f"at bed {held.bed!r} " if held.bed else ""
            raise SessionHeldElsewhere(
                f"session {session_id} is being recorded {where}by {owner.describe()}"
            )

    def heartbeat(self, session_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(_owner).where(_owner.c.session_id == session_id).values(heartbeat_us=now_us())
            )

    def release(self, session_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(_owner).where(_owner.c.session_id == session_id))

    # -- after a crash ---------------------------------------------------------------------------------------

    def interrupted(self) -> list[InterruptedSession]:
        return interrupted_sessions(self.engine)

    def resume(self, session_id: int, *, user: str | None = None, bed: str = "") -> InterruptedSession:
        """Continue an interrupted session in this process at ``bed``, recording the gap; the caller starts
        recording. A session is resumed only at its own bed."""
        found = self._interrupted(session_id)
        with self.engine.connect() as conn:
            self._check_free(conn, session_id, bed, this_process(), now_us())
        now = now_us()
        who = self.user if user is None else user

        def write(conn: Connection) -> None:
            self._gap_event(conn, found, until=now, user=who)
            device_id = _station_device(conn, session_id, who)
            detail = f"recording continued by {this_process().describe()}"
            _gap_row(conn, who, session_id, device_id, now, SESSION_RESUMED, detail)

        self.audit.commit_with(write)
        self.claim(session_id, bed)
        self.audit.append(who, "session.resume", f"session {session_id}", self._gap_payload(found, now))
        return found

    def close_interrupted(self, session_id: int, *, user: str | None = None) -> InterruptedSession:
        """End an interrupted session at its last recorded data, recording why it ended there."""
        found = self._interrupted(session_id)
        end = found.last_data_us if found.last_data_us is not None else found.start_us
        who = self.user if user is None else user

        def write(conn: Connection) -> None:
            self._gap_event(conn, found, until=None, user=who)
            conn.execute(
                update(_session).where(_session.c.id == session_id).values(status="ended", end_us=end)
            )
            conn.execute(delete(_owner).where(_owner.c.session_id == session_id))
            vouch_in(
                conn,
                who,
                "session.close_interrupted",
                _session,
                session_id,
                subject=f"session {session_id}",
                about=self._gap_payload(found),
            )

        self.audit.commit_with(write)
        try:  # what the dead recorder had staged, packed as its end would have
            with self.engine.begin() as conn:
                pack_session(conn, session_id)
            reclaim_staging(self.engine)
        except Exception as error:  # the session is closed; its rows stay staged, read as before
            why = first_line(error)
            log.warning("session %s closed; its staged rows are packed at a station's next start (%s)", session_id, why)
        return found

    def _interrupted(self, session_id: int) -> InterruptedSession:
        for found in self.interrupted():
            if found.session_id == session_id:
                return found
        with self.engine.connect() as conn:
            row = conn.execute(
                select(_session.c.status, _owner.c.hostname, _owner.c.pid)
                .outerjoin(_owner, _owner.c.session_id == _session.c.id)
                .where(_session.c.id == session_id)
            ).first()
        if row is None:
            raise UserError(f"no session {session_id} in this database")
        if row.status != "in_progress":
            raise UserError(f"session {session_id} is {row.status.replace('_', ' ')}, not interrupted")
        raise UserError(
            f"session {session_id} is still being recorded by process {row.pid} on {row.hostname}"
        )

    def _gap_event(self, conn: Connection, found: InterruptedSession, until: int | None, user: str) -> None:
        at = found.last_data_us if found.last_data_us is not None else (found.start_us or now_us())
        who = found.owner.describe() if found.owner else "a kapmonitor that left no owner record"
        span = (
            f"nothing recorded from {iso(at)} to {iso(until)}"
            if until
            else f"nothing recorded after {iso(at)}"
        )
        device_id = _station_device(conn, found.session_id, user)
        detail = f"recording stopped unexpectedly ({who}); {span}"
        _gap_row(conn, user, found.session_id, device_id, at, SESSION_INTERRUPTED, detail)

    @staticmethod
    def _gap_payload(found: InterruptedSession, until: int | None = None) -> dict[str, object]:
        payload: dict[str, object] = {"last_data_us": found.last_data_us, "resumed_us": until}
        if found.owner is not None:
            payload["owner"] = {"host": found.owner.hostname, "pid": found.owner.pid}
        return payload


def _gap_row(conn: Connection, user: str, session_id: int, device_id: int, t_us: int, kind: str, detail: str) -> None:
    """A link event of the station's own device that records a gap, vouched for by the audit trail."""
    values = {"session_id": session_id, "device_id": device_id, "t_us": t_us, "kind": kind, "detail": detail}
    row_id = inserted_id(conn.execute(insert(LinkEventRow.__table__).values(**values)))
    vouch_in(conn, user, "recovery.gap", LinkEventRow.__table__, row_id, subject=f"session {session_id} {kind}")


def _station_device(conn: Connection, session_id: int, user: str) -> int:
    """The row of the station's own "device" (its link events: gaps, resumptions), vouched for when added."""
    found = conn.execute(
        select(_device.c.id).where(_device.c.session_id == session_id, _device.c.device == STATION_DEVICE)
    ).scalar()
    if found is not None:
        return int(found)
    protocol, _, address = STATION_DEVICE.partition("@")
    values = {"session_id": session_id, "device": STATION_DEVICE, "protocol": protocol, "address": address}
    row_id = inserted_id(conn.execute(insert(_device).values(**values)))
    vouch_in(conn, user, "device.add", _device, row_id, subject=f"session {session_id} device {STATION_DEVICE}")
    return row_id


class SessionGuard:
    """Holds a session for this process while it records: claims it, beats every ``HEARTBEAT_S``, lets go."""

    def __init__(self, recovery: SessionRecovery, interval_s: float = HEARTBEAT_S) -> None:
        self.recovery = recovery
        self.interval_s = interval_s
        self._session_id: int | None = None
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, session_id: int, *, claimed: bool = False, bed: str = "") -> None:
        self.let_go()
        if not claimed:
            self.recovery.claim(session_id, bed)
        self._session_id = session_id
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="kapmonitor-heartbeat", daemon=True)
        self._thread.start()

    def let_go(self) -> None:
        if self._thread is not None:
            self._halt.set()
            self._thread.join()
            self._thread = None
        if self._session_id is not None:
            self.recovery.release(self._session_id)
            self._session_id = None

    def _beat(self) -> None:
        session_id = self._session_id
        while session_id is not None and not self._halt.wait(self.interval_s):
            try:
                self.recovery.heartbeat(session_id)
            except Exception as error:  # a busy or full database: the next beat tries again
                log.warning("session %s heartbeat not written: %s", session_id, error)
