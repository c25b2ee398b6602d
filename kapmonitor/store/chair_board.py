"""The central station's view of a clinic: every chair recording now, read from the shared database.

:class:`ChairBoard` polls what is new since its last look (rows with a higher id than it has seen, so a poll
reads only the last seconds' rows, on SQLite as on PostgreSQL; readings back to ``LATE_COMMIT_S`` ago, since a
row committed late can have a lower id than one already read) and keeps per chair: the latest SpO2 and pulse,
the last NIBP, the chair's alarms as its alarm log tells them, and when the chair's station was last heard from
(its newest row or its owner heartbeat). A chair not heard from for ``SILENT_AFTER_S`` is shown as a technical
alarm instead of numbers that look current. The clinical record (dose state, next due check) is re-read only
when a chair's record gains an entry, and the due check is worked out again every poll from it.

The only writes are :func:`acknowledge_at_central` and :func:`pause_audio_at_central`: a row in that chair's
alarm log with the user's name and origin "central", written with its audit entry as the chair's own rows are;
the chair's station applies it to its alarm engine.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, select

from kapmonitor.alarms.events import AUDIO_PAUSED, PRIORITY_RANK, AlarmEvent
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.readings import Reading
from kapmonitor.session.dosing import DosingError, cumulative_dose_mg, pump_state
from kapmonitor.session.entries import InfusionEvent
from kapmonitor.session.prompts import next_check, prompts_for
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.alarm_log import write_alarm_events
from kapmonitor.store.clinical_log import session_record
from kapmonitor.store.tables import (
    AlarmLogRow,
    ClinicalEntryRow,
    LinkEventRow,
    Patient,
    Session,
    SessionOwner,
    WaveChunkRow,
)
from kapmonitor.store.track_rows import last_data_us, readings_after, snapshot

SILENT_AFTER_S = 30.0
# PostgreSQL hands out a row's id when it is inserted and shows the row when it is committed, so one chair's
# readings can appear after another chair's with higher ids. The board reads readings again back to the highest
# id it had seen this long ago, skipping the ones it has taken already.
LATE_COMMIT_S = 10.0
CENTRAL = "central"  # the origin of alarm log rows written at the central station
SILENT = "chair_silent"  # the central station's own technical alarm for a chair that stopped writing
NIBP = ("nibp_systolic", "nibp_diastolic", "nibp_mean")
SHOWN_METRICS = ("spo2", "pulse_rate", *NIBP)

_session, _patient, _owner = Session.__table__, Patient.__table__, SessionOwner.__table__
_wave, _link = WaveChunkRow.__table__, LinkEventRow.__table__
_alarm, _entry = AlarmLogRow.__table__, ClinicalEntryRow.__table__


@dataclass(frozen=True)
class Value:
    value: float
    t_us: int


@dataclass(frozen=True)
class ChairAlarm:
    alarm_id: str
    alarm: str
    priority: str
    state: str  # active, acknowledged, paused, latched; or "silent" for a chair not heard from
    kind: str
    message: str
    since_us: int
    user: str = ""


@dataclass(frozen=True)
class ChairView:
    """One tile of the central station: a chair recording now."""

    session_id: int
    bed: str
    patient: str
    protocol: str
    start_us: int | None
    spo2: Value | None
    pulse: Value | None
    nibp: tuple[Value | None, Value | None, Value | None]  # systolic, diastolic, mean of the last measurement
    dose: str  # "Given 35.0 mg (0.50 mg/kg), infusion running" or "no dose yet"
    next_prompt: str | None  # the most pressing due check, e.g. "Vitals check overdue"
    alarms: tuple[ChairAlarm, ...]  # most urgent first
    last_heard_us: int | None
    silent_s: float | None  # seconds since last heard, when over SILENT_AFTER_S

    def elapsed_s(self, now: int) -> float | None:
        return None if self.start_us is None else max(0.0, (now - self.start_us) / US_PER_S)


@dataclass
class _Chair:
    session_id: int
    bed: str
    patient: str
    protocol: str
    start_us: int | None
    latest: dict[str, Value] = field(default_factory=dict)
    bp_times: list[int] = field(default_factory=list)  # every NIBP measurement's time: the protocol checks count them
    alarms: dict[str, ChairAlarm] = field(default_factory=dict)
    last_row_us: int | None = None
    heartbeat_us: int | None = None
    entries: int = -1  # clinical entries read so far (-1: never read)
    record: SessionRecord | None = None


def _nibp_time(latest: dict[str, Value]) -> int | None:
    systolic = latest.get("nibp_systolic")
    return systolic.t_us if systolic else None


class ChairBoard:
    """What the central station shows, refreshed by :meth:`poll` (call it a few times a second)."""

    def __init__(self, engine: Engine, *, silent_after_s: float = SILENT_AFTER_S) -> None:
        self.engine = engine
        self.silent_after_s = silent_after_s
        self._chairs: dict[int, _Chair] = {}
        self._seen = {"numeric": 0, "wave": 0, "link": 0, "alarm": 0}
        self._numeric_marks: deque[tuple[float, int]] = deque()  # (monotonic time, highest numeric id) per poll
        self._numerics_taken: set[int] = set()  # numeric ids above the floor, already taken
        self._templates = builtin_templates()

    def poll(self, now: int | None = None) -> list[ChairView]:
        now = now_us() if now is None else now
        with snapshot(self.engine) as conn:
            self._sessions(conn)
            if self._chairs:
                self._numerics(conn)
                self._activity(conn)
                self._alarms(conn)
                self._records(conn)
        return [self._view(c, now) for c in sorted(self._chairs.values(), key=lambda c: (c.bed, c.session_id))]

    # -- reading what is new --------------------------------------------------------------------------------

    def _sessions(self, conn: Connection) -> None:
        rows = conn.execute(
            select(
                _session.c.id, _session.c.bed, _patient.c.code, _session.c.protocol, _session.c.start_us,
                _owner.c.heartbeat_us,
            )
            .join(_patient, _patient.c.id == _session.c.patient_id)
            .outerjoin(_owner, _owner.c.session_id == _session.c.id)
            .where(_session.c.status == "in_progress")
        ).all()
        running = {r.id for r in rows}
        for gone in set(self._chairs) - running:
            del self._chairs[gone]
        new = [r for r in rows if r.id not in self._chairs]
        for r in rows:
            chair = self._chairs.get(r.id)
            if chair is None:
                chair = self._chairs[r.id] = _Chair(r.id, r.bed, r.code, r.protocol, r.start_us)
            chair.heartbeat_us = r.heartbeat_us
        if new:
            self._catch_up(conn, [r.id for r in new])

    def _catch_up(self, conn: Connection, session_ids: list[int]) -> None:
        """A chair seen for the first time: its latest values and its whole alarm log so far."""
        for sid in session_ids:
            chair = self._chairs[sid]
            seen = readings_after(conn, [sid], SHOWN_METRICS, 0)  # staged and packed: the whole session so far
            for r in seen:  # in row order: the last one of each metric is the latest
                if r.value is not None:
                    chair.latest[r.metric] = Value(r.value, r.t_us)
            chair.bp_times = sorted(r.t_us for r in seen if r.metric == NIBP[0] and r.value is not None)
            events = conn.execute(select(_alarm).where(_alarm.c.session_id == sid).order_by(_alarm.c.id)).all()
            for event in events:
                _apply_alarm(chair, event)
            chair.last_row_us = last_data_us(conn, sid)

    def _numeric_floor(self) -> int:
        """The highest numeric id seen ``LATE_COMMIT_S`` ago (or at the first poll): rows below it are read."""
        marks, now = self._numeric_marks, time.monotonic()
        while len(marks) > 1 and now - marks[1][0] >= LATE_COMMIT_S:
            marks.popleft()
        return marks[0][1] if marks else 0

    def _numerics(self, conn: Connection) -> None:
        ids = list(self._chairs)
        floor = self._numeric_floor()
        rows = readings_after(conn, ids, None, floor)  # a row packed since it was staged is read from its block
        taken = {i for i in self._numerics_taken if i > floor}
        fresh = [r for r in rows if r.row not in taken]
        self._numerics_taken = taken | {r.row for r in fresh}
        if rows:
            self._seen["numeric"] = max(self._seen["numeric"], rows[-1].row)
        self._numeric_marks.append((time.monotonic(), self._seen["numeric"]))
        for r in fresh:
            chair = self._chairs[r.session_id]
            chair.last_row_us = _max((chair.last_row_us, r.t_us))
            if r.metric == NIBP[0] and r.value is not None:
                chair.bp_times.append(r.t_us)
            if r.metric in SHOWN_METRICS and r.value is not None:
                held = chair.latest.get(r.metric)
                if held is None or r.t_us >= held.t_us:
                    chair.latest[r.metric] = Value(r.value, r.t_us)

    def _activity(self, conn: Connection) -> None:
        """The newest waveform and link-event rows: a chair with only a pleth flowing is still heard."""
        ids = list(self._chairs)
        for key, table in (("wave", _wave), ("link", _link)):
            rows = conn.execute(
                select(table.c.session_id, func.max(table.c.t_us), func.max(table.c.id))
                .where(table.c.id > self._seen[key], table.c.session_id.in_(ids))
                .group_by(table.c.session_id)
            ).all()
            for sid, t_us, top in rows:
                chair = self._chairs[sid]
                chair.last_row_us = _max((chair.last_row_us, t_us))
                self._seen[key] = max(self._seen[key], top)

    def _alarms(self, conn: Connection) -> None:
        rows = conn.execute(
            select(_alarm)
            .where(_alarm.c.id > self._seen["alarm"], _alarm.c.session_id.in_(list(self._chairs)))
            .order_by(_alarm.c.id)
        ).all()
        for row in rows:
            _apply_alarm(self._chairs[row.session_id], row)
            self._seen["alarm"] = max(self._seen["alarm"], row.id)

    def _records(self, conn: Connection) -> None:
        counts: dict[int, int] = dict(
            conn.execute(
                select(_entry.c.session_id, func.count())
                .where(_entry.c.session_id.in_(list(self._chairs)))
                .group_by(_entry.c.session_id)
            ).all()
        )
        for sid, chair in self._chairs.items():
            n = counts.get(sid, 0)
            if n != chair.entries:
                chair.entries = n
                chair.record = session_record(self.engine, sid) if n else None

    # -- the tile -------------------------------------------------------------------------------------------

    def _view(self, chair: _Chair, now: int) -> ChairView:
        heard = _max((chair.last_row_us, chair.heartbeat_us))
        silent = None if heard is None else (now - heard) / US_PER_S
        silent_s = silent if silent is not None and silent >= self.silent_after_s else None
        alarms = sorted(chair.alarms.values(), key=lambda a: (PRIORITY_RANK.get(a.priority, 9), -a.since_us))
        if silent_s is not None:
            alarms.insert(0, ChairAlarm(
                f"{SILENT}|{chair.bed}|", SILENT, "high", "silent", "technical",
                f"{chair.bed or 'chair'} silent for {silent_s:.0f} s", heard or now,
            ))
        latest = chair.latest
        nibp_t = _nibp_time(latest)
        nibp = tuple(
            latest.get(m) if nibp_t is not None and latest.get(m) and abs(latest[m].t_us - nibp_t) < 5 * US_PER_S
            else None
            for m in NIBP
        )
        return ChairView(
            session_id=chair.session_id,
            bed=chair.bed,
            patient=chair.patient,
            protocol=chair.protocol,
            start_us=chair.start_us,
            spo2=latest.get("spo2"),
            pulse=latest.get("pulse_rate"),
            nibp=(nibp[0], nibp[1], nibp[2]),
            dose=self._dose(chair.record, now),
            next_prompt=self._next_prompt(chair, now),
            alarms=tuple(alarms),
            last_heard_us=heard,
            silent_s=silent_s,
        )

    @staticmethod
    def _dose(record: SessionRecord | None, now: int) -> str:
        if record is None or not record.doses():
            return "no dose yet"
        try:
            mg = cumulative_dose_mg(record.doses(), now)
        except DosingError as error:
            return f"total not computable: {error}"
        weight = record.weight_kg
        text = f"given {mg:.1f} mg" + (f" ({mg / weight:.2f} mg/kg)" if weight else "")
        pump = pump_state(record.current_of(InfusionEvent))
        return text + (f", infusion {pump}" if pump != "idle" else "")

    def _next_prompt(self, chair: _Chair, now: int) -> str | None:
        template = self._templates.get((chair.record.protocol if chair.record else "") or chair.protocol)
        if template is None or chair.start_us is None:
            return None
        record = chair.record or SessionRecord(template.name)
        bp_times = sorted(chair.bp_times)
        readings = [Reading(NIBP[0], 0.0, "mmHg", frozenset(), None, t, "") for t in bp_times]
        prompts = prompts_for(template, record, readings, session_start_us=chair.start_us, now_us=now)
        order = {"overdue": 0, "due": 1, "missed": 2}  # what to do now first; a missed pre-dose check is history
        pressing = sorted(prompts, key=lambda p: (order.get(p.status, 3), p.due_us))
        if pressing and pressing[0].status != "missed":
            return pressing[0].text
        ahead = next_check(
            template, session_start_us=chair.start_us, first_dose_us=record.first_dose_us(), bp_times_us=bp_times,
            ratings=record.ratings(), now_us=now, infusion=record.current_of(InfusionEvent),
            discharged_us=record.discharged_us(),
        )
        if ahead is not None:
            minutes = max(1, round((ahead.due_us - now) / (60 * US_PER_S)))
            return f"{ahead.check.text} in {minutes} min"
        return pressing[0].text if pressing else None


def _max(values: Iterable[int | None]) -> int | None:
    found = [v for v in values if v is not None]
    return max(found) if found else None


def _apply_alarm(chair: _Chair, r: Row[Any]) -> None:
    """Follow one alarm log row: the chair's alarm as its station shows it now."""
    alarm_id, state = r.alarm_id, r.state
    if r.alarm == AUDIO_PAUSED:
        return
    if state == "cleared":
        chair.alarms.pop(alarm_id, None)
        return
    held = chair.alarms.get(alarm_id)
    if held is not None and state == "paused" and held.state == "acknowledged":
        return  # an acknowledged alarm stays acknowledged through an audio pause
    if held is not None and state in ("acknowledged", "paused"):
        chair.alarms[alarm_id] = replace(held, state=state, user=r.user_name)
        return
    chair.alarms[alarm_id] = ChairAlarm(
        alarm_id, r.alarm, r.priority, state, r.kind, r.message, held.since_us if held else r.t_us, r.user_name
    )


def acknowledge_at_central(engine: Engine, session_id: int, alarm: ChairAlarm, user: str) -> None:
    """Acknowledge ``alarm`` of that chair from the central station: a row in the chair's alarm log."""
    if not user.strip():
        raise ValueError("an acknowledgement needs the name of who acknowledged")
    alarm_name, device, metric = (alarm.alarm_id.split("|") + ["", ""])[:3]
    event = AlarmEvent(now_us(), alarm_name, alarm.priority, "acknowledged", alarm.kind,  # type: ignore[arg-type]
                       device, metric, message="acknowledged at the central station", user=user)
    _write_central(engine, session_id, event)


def pause_audio_at_central(engine: Engine, session_id: int, user: str, seconds: float = 120.0) -> None:
    """Pause that chair's alarm audio from the central station (the chair's station applies it)."""
    if not user.strip():
        raise ValueError("an audio pause needs the name of who paused it")
    if seconds <= 0:
        raise ValueError(f"an audio pause must last more than 0 seconds, got {seconds!r}")
    event = AlarmEvent(now_us(), AUDIO_PAUSED, "low", "paused", "technical", value=seconds,
                       message=f"audio paused for {seconds:g} s at the central station", user=user)
    _write_central(engine, session_id, event)


def _write_central(engine: Engine, session_id: int, event: AlarmEvent) -> None:
    """Through the alarm log's writer, so the row has its audit entry as the chair's own rows do."""
    write_alarm_events(engine, session_id, [event], origin=CENTRAL)


def newest_alarm_row(engine: Engine) -> int:
    """The alarm log's newest row id: a station applies central requests written after it."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(_alarm.c.id))).scalar() or 0)


def central_requests(engine: Engine, session_id: int, after_id: int) -> list[tuple[int, AlarmEvent]]:
    """Acknowledgements and audio pauses the central station wrote for this session after row ``after_id``."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(_alarm)
            .where(_alarm.c.session_id == session_id, _alarm.c.id > after_id, _alarm.c.origin == CENTRAL)
            .order_by(_alarm.c.id)
        ).all()
    return [
        (r.id, AlarmEvent(r.t_us, r.alarm, r.priority, r.state, r.kind, r.device, r.metric, r.value,
                          r.limit_value, r.message, r.user_name))
        for r in rows
    ]
