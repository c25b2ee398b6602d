"""Sessions as the command line, the review window and exports see them: who, when, and which tracks hold
data; and (:meth:`SessionRepository.reading`) one session's recording read back row by row, which
``kapmonitor.export.loader`` turns into arrays.

Track summaries come from SQL aggregates over the staged rows and the packed blocks (``track_rows``), so listing
a 4-hour recording does not read its samples.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, update

from kapmonitor.core.clock import iso, now_us
from kapmonitor.core.metrics import unit_of
from kapmonitor.core.readings import Reading
from kapmonitor.store import track_rows
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.db import inserted_id
from kapmonitor.store.header_proof import vouch_in
from kapmonitor.store.tables import Device, LinkEventRow, Patient, Session

_patient = Patient.__table__
_session = Session.__table__
_device = Device.__table__
_link = LinkEventRow.__table__


class UnknownSession(LookupError):
    def __str__(self) -> str:
        return f"no session {self.args[0]} in this database"


class SessionRepository:
    """Sessions read and written. Every write of a session or patient row is vouched for by an audit entry in the
    same transaction (``store/header_proof.py``), so ``audit verify`` names a header edited behind its back."""

    def __init__(self, engine: Engine, *, audit: AuditTrail | None = None) -> None:
        self.engine = engine
        self.audit = audit or AuditTrail(engine)

    def start_session(
        self,
        patient: str,
        protocol: str = "",
        room: str = "",
        nurse: str = "",
        prescriber: str = "",
        *,
        bed: str = "",
        user: str | None = None,
    ) -> int:
        """Open a session at ``bed`` for the patient with this pseudonymous code (created on first use); its id.
        ``user`` (default: ``nurse``) is audited as who started it."""
        who = nurse if user is None else user
        values = {
            "protocol": protocol,
            "room": room,
            "nurse": nurse,
            "prescriber": prescriber,
            "bed": bed,
            "status": "in_progress",
            "start_us": now_us(),
        }

        def write(conn: Connection) -> int:
            patient_id = conn.execute(select(_patient.c.id).where(_patient.c.code == patient)).scalar()
            if patient_id is None:
                patient_id = inserted_id(conn.execute(insert(_patient).values(code=patient)))
                vouch_in(conn, who, "patient.add", _patient, patient_id, subject=f"patient {patient}")
            session_id = inserted_id(conn.execute(insert(_session).values(patient_id=patient_id, **values)))
            about = {"patient": patient, "protocol": protocol, "room": room, "prescriber": prescriber, "bed": bed}
            vouch_in(conn, who, "session.start", _session, session_id, subject=f"session {session_id}", about=about)
            return session_id

        return self.audit.commit_with(write)

    def start_of(self, session_id: int) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(_session.c.start_us).where(_session.c.id == session_id)).scalar()

    def readings(self, session_id: int, metrics: Sequence[str], after_row: int = 0) -> list[tuple[int, Reading]]:
        """The session's recorded numeric readings of ``metrics`` stored after row ``after_row``, with their row
        ids and flags, in time order: what the protocol prompts, the discharge checklist and the REMS form are
        worked out from (see :class:`RecordedReadings` for following a running session). Staged and packed
        readings alike (a reading keeps its row id in its block)."""
        with track_rows.snapshot(self.engine) as conn:
            found = track_rows.readings_after(conn, [session_id], metrics, after_row)
        found.sort(key=lambda r: (r.t_us, r.row))
        return [
            (
                r.row,
                Reading(r.metric, r.value, unit_of(r.metric), frozenset(r.flags.split(",")) if r.flags else frozenset(),
                        None, r.t_us, r.device),
            )
            for r in found
        ]

    def backdate_start(self, session_id: int, start_us: int, *, user: str = "") -> None:
        """Set when a session began, for a session whose beginning is recorded after the fact (the demo replays
        its first minutes)."""
        self._change(session_id, user, "session.backdate", start_us=start_us)

    def set_span(self, session_id: int, start_us: int, end_us: int, *, user: str = "") -> None:
        """Set when a session began and ended, for a recording of something that happened at other times (a
        replayed scenario spans the scenario's own clock)."""
        self._change(session_id, user, "session.span", start_us=start_us, end_us=end_us)

    def end_session(self, session_id: int, *, user: str = "") -> None:
        """End a planned or running session now (audited as ``session.stop`` by ``user``); an ended one stays."""

        def write(conn: Connection) -> None:
            found = conn.execute(select(_session.c.status).where(_session.c.id == session_id)).scalar()
            if found is None:
                raise UnknownSession(session_id)
            if found in ("planned", "in_progress"):
                conn.execute(
                    update(_session).where(_session.c.id == session_id).values(status="ended", end_us=now_us())
                )
                vouch_in(conn, user, "session.stop", _session, session_id, subject=f"session {session_id}")

        self.audit.commit_with(write)

    def _change(self, session_id: int, user: str, action: str, **values: Any) -> None:
        def write(conn: Connection) -> None:
            done = conn.execute(update(_session).where(_session.c.id == session_id).values(**values))
            if not done.rowcount:
                raise UnknownSession(session_id)
            vouch_in(conn, user, action, _session, session_id, subject=f"session {session_id}")

        self.audit.commit_with(write)

    @contextmanager
    def reading(self, session_id: int) -> Iterator[StoredSession]:
        """One session's recording, read on one snapshot of the database (so the parts agree with each other,
        and a track's staged rows with its blocks)."""
        with track_rows.snapshot(self.engine) as conn:
            yield StoredSession(conn, session_id)

    def list_sessions(self) -> list[dict[str, Any]]:
        """Every session, oldest first, in the DESIGN.md ``sessions list --json`` shape."""
        return self._sessions(None)

    def session_detail(self, session_id: int) -> dict[str, Any]:
        """One session with its tracks, devices and link events."""
        found = self._sessions(session_id)
        if not found:
            raise UnknownSession(session_id)
        detail = found[0]
        with self.reading(session_id) as stored:
            devices = stored.devices()
            events = stored.link_events()
        detail["devices"] = [{"device": d, "protocol": p, "address": a} for d, p, a in devices]
        detail["link_events"] = [{"device": d, "t": iso(t), "kind": k, "detail": x} for d, t, k, x in events]
        return detail

    def _sessions(self, only: int | None) -> list[dict[str, Any]]:
        query = (
            select(
                _session.c.id,
                _patient.c.code,
                _session.c.protocol,
                _session.c.room,
                _session.c.bed,
                _session.c.nurse,
                _session.c.status,
                _session.c.start_us,
                _session.c.end_us,
            )
            .join(_patient, _patient.c.id == _session.c.patient_id)
            .order_by(_session.c.id)
        )
        if only is not None:
            query = query.where(_session.c.id == only)
        with track_rows.snapshot(self.engine) as conn:
            rows = conn.execute(query).all()
            tracks = _tracks(conn, only)
        return [
            {
                "id": sid,
                "patient": code,
                "protocol": protocol,
                "room": room,
                "bed": bed,
                "nurse": nurse,
                "status": status,
                "start": iso(start),
                "end": iso(end),
                "tracks": tracks.get(sid, []),
            }
            for sid, code, protocol, room, bed, nurse, status, start, end in rows
        ]


class StoredSession:
    """What is stored of one session, as plain rows: its header, devices, link events and each recorded
    track's rows in time order. Read from :meth:`SessionRepository.reading`."""

    def __init__(self, conn: Connection, session_id: int) -> None:
        self.conn, self.session_id = conn, session_id

    def header(self) -> Row[Any] | None:
        """The session row with its patient's ``code``; None when there is no such session."""
        return self.conn.execute(
            select(_session, _patient.c.code)
            .join(_patient, _patient.c.id == _session.c.patient_id)
            .where(_session.c.id == self.session_id)
        ).first()

    def devices(self) -> list[tuple[str, str, str]]:
        """(device id, protocol, address) of every device of the session, in the order they were added."""
        rows = self.conn.execute(
            select(_device.c.device, _device.c.protocol, _device.c.address)
            .where(_device.c.session_id == self.session_id)
            .order_by(_device.c.id)
        )
        return [(d, p, a) for d, p, a in rows]

    def link_events(self) -> list[tuple[str, int, str, str]]:
        """(device, t_us, kind, detail) of every link event, in time order."""
        rows = self.conn.execute(
            select(_device.c.device, _link.c.t_us, _link.c.kind, _link.c.detail)
            .join(_device, _device.c.id == _link.c.device_id)
            .where(_link.c.session_id == self.session_id)
            .order_by(_link.c.t_us, _link.c.id)
        )
        return [(d, t, k, x) for d, t, k, x in rows]

    def numeric_tracks(self) -> Iterator[tuple[str, str, track_rows.NumericRows]]:
        """Per (device, metric), its readings in time order (blocks and staged rows together), one track at a
        time."""
        yield from track_rows.numeric_tracks(self.conn, self.session_id)

    def wave_tracks(self) -> Iterator[tuple[str, str, track_rows.WaveRows]]:
        """Per (device, metric), its waveform rows in time order (``samples``: as ``wave_codec`` stores them),
        one track at a time."""
        for device_id, device, metric in track_rows.tracks(self.conn, self.session_id, "wave"):
            yield device, metric, track_rows.wave_rows(self.conn, self.session_id, device_id, metric)


def _tracks(conn: Connection, only: int | None) -> dict[int, list[dict[str, Any]]]:
    """Per session, one entry per (device, metric): sample count and times of the first and last sample."""
    found: dict[int, list[dict[str, Any]]] = {}
    for (sid, kind, device, metric), summary in track_rows.track_summaries(conn, only).items():
        found.setdefault(sid, []).append(
            _track(kind, device, metric, summary.samples, summary.first_us, summary.last_us)
        )
    for entries in found.values():
        entries.sort(key=lambda t: (t["device"], t["metric"], t["kind"]))
    return found


def _track(kind: str, device: str, metric: str, samples: int, first: int, last: int) -> dict[str, Any]:
    return {
        "device": device,
        "metric": metric,
        "kind": kind,
        "samples": samples,
        "first": iso(first),
        "last": iso(last),
    }


class RecordedReadings:
    """A running session's recorded readings of some metrics, read incrementally: each call asks the database
    only for rows stored since the last one (the clinical panels ask every few seconds for hours)."""

    def __init__(self, repository: SessionRepository, session_id: int, metrics: Iterable[str]) -> None:
        self.repository, self.session_id, self.metrics = repository, session_id, tuple(metrics)
        self._last_row = 0
        self._readings: list[Reading] = []

    def __call__(self) -> list[Reading]:
        new = self.repository.readings(self.session_id, self.metrics, self._last_row)
        if new:
            self._last_row = max(i for i, _ in new)
            self._readings.extend(r for _, r in new)
            self._readings.sort(key=lambda r: r.t_us)  # rows of one batch may be stored out of time order
        return list(self._readings)
