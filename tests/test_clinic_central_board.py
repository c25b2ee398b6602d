"""The central station's board, read from the shared database: a tile per chair recording now, its latest
vitals, its alarms from the chair's alarm log, acknowledgements written back in the nurse's name, and a chair
whose station went quiet shown as a technical alarm. On SQLite and on PostgreSQL (``db_url``)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, select
from store_fakes import ScriptedMonitor

from kapmonitor.bed.station import Station
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.readings import Reading
from kapmonitor.session.entries import BolusDose
from kapmonitor.store.alarm_log import alarm_events
from kapmonitor.store.chair_board import ChairBoard, ChairView, acknowledge_at_central, pause_audio_at_central
from kapmonitor.store.clinical_log import ClinicalLog
from kapmonitor.store.db import open_database
from kapmonitor.store.record_proof import verify_record
from kapmonitor.store.tables import NumericReading

OXIMETER, CUFF = "nonin-df7@/dev/ttyUSB0", "suntech-advantage@/dev/ttyUSB1"


def wait_for(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def reading(metric: str, value: float, t_us: int, device: str = OXIMETER) -> Reading:
    unit = {"spo2": "%", "pulse_rate": "bpm"}.get(metric, "mmHg")
    return Reading(metric, value, unit, t_us=t_us, device=device)


@pytest.fixture
def chairs(db_url: str) -> Iterator[list[tuple[Station, ScriptedMonitor]]]:
    """Two bedside stations on the same database, each recording a session with a scripted oximeter and cuff."""
    made = []
    for bed, patient in (("chair 2", "KAP-0002"), ("chair 1", "KAP-0001")):
        station = Station(db_url, bed=bed)
        monitor = ScriptedMonitor(OXIMETER)
        station.add_transport(monitor)
        station.start()
        station.start_session(patient, "im-ketamine")
        made.append((station, monitor))
    yield made
    for station, _ in made:
        station.stop()


def tile(board: ChairBoard, bed: str, now: int | None = None) -> ChairView:
    return next(v for v in board.poll(now) if v.bed == bed)


def test_each_chair_recording_now_has_a_tile_with_its_latest_vitals(
    chairs: list[tuple[Station, ScriptedMonitor]], db_url: str
) -> None:
    (two, two_monitor), (one, one_monitor) = chairs
    t0 = now_us()
    one_monitor.send([reading("spo2", 97, t0), reading("pulse_rate", 72, t0)])
    two_monitor.send([reading("spo2", 93, t0), reading("pulse_rate", 88, t0),
                      reading("nibp_systolic", 131, t0 - 60 * US_PER_S, CUFF),
                      reading("nibp_diastolic", 84, t0 - 60 * US_PER_S, CUFF),
                      reading("nibp_mean", 99, t0 - 60 * US_PER_S, CUFF)])
    for station, _ in chairs:
        station.hub.sync()
        assert station.recorder is not None and station.recorder.flush(timeout=20)
    database = open_database(db_url)
    try:
        board = ChairBoard(database)
        views = board.poll()
        assert [(v.bed, v.patient, v.protocol) for v in views] == [
            ("chair 1", "KAP-0001", "im-ketamine"), ("chair 2", "KAP-0002", "im-ketamine")]
        chair_2 = views[1]
        assert (chair_2.spo2 and chair_2.spo2.value, chair_2.pulse and chair_2.pulse.value) == (93, 88)
        assert [v.value if v else None for v in chair_2.nibp] == [131, 84, 99]
        assert chair_2.nibp[0] is not None and chair_2.nibp[0].t_us == t0 - 60 * US_PER_S
        assert chair_2.dose == "no dose yet" and chair_2.alarms == ()
        one_monitor.send([reading("spo2", 95, t0 + US_PER_S)])  # only what is new is read on the next poll
        one.hub.sync()
        assert one.recorder is not None and one.recorder.flush(timeout=20)
        assert tile(board, "chair 1").spo2 == type(chair_2.spo2)(95, t0 + US_PER_S)
        one.stop()  # chair 1's session ends: its tile goes
        assert [v.bed for v in board.poll()] == ["chair 2"]
    finally:
        database.dispose()
    assert two.session_id is not None


def test_a_chair_alarm_shows_with_its_priority_and_is_acknowledged_from_the_central_station(
    chairs: list[tuple[Station, ScriptedMonitor]], db_url: str
) -> None:
    station, monitor = chairs[0]  # chair 2
    t0 = now_us()
    monitor.send([reading("spo2", 80, t0), reading("spo2", 79, t0 + 11 * US_PER_S)])  # below 85 for 11 s
    database = open_database(db_url)
    try:
        board = ChairBoard(database)
        wait_for(lambda: any(a.alarm == "spo2_desat" for a in tile(board, "chair 2").alarms))
        [desat] = [a for a in tile(board, "chair 2").alarms if a.alarm == "spo2_desat"]
        assert (desat.priority, desat.state, desat.kind) == ("high", "active", "physiological")
        assert tile(board, "chair 1").alarms == ()
        acknowledge_at_central(database, station.session_id or 0, desat, "RN Diaz")
        pause_audio_at_central(database, station.session_id or 0, "RN Diaz", seconds=60)
        # The chair's own station applies it: its engine no longer sounds the alarm
        wait_for(lambda: any(a.alarm == "spo2_desat" and a.state == "acknowledged"
                             for a in station.alarm_engine.active()))
        assert 0 < station.alarm_engine.pause_remaining_s() <= 60
        shown = [a for a in tile(board, "chair 2").alarms if a.alarm == "spo2_desat"]
        assert [(a.state, a.user) for a in shown] == [("acknowledged", "RN Diaz")]
        session_id = station.session_id or 0
        station.stop_session()
        logged = [(e.alarm, e.state, e.user, e.message) for e in alarm_events(database, session_id)]
        proof = verify_record(database)  # the central station's rows are vouched for like the chair's own
    finally:
        database.dispose()
    # The central station's request, then the chair's own engine silencing the alarm, both in the nurse's name
    acks = [m for a, s, u, m in logged if (a, s, u) == ("spo2_desat", "acknowledged", "RN Diaz")]
    assert len(acks) == 2 and acks[0] == "acknowledged at the central station"
    assert ("audio_paused", "paused", "RN Diaz", "audio paused for 60 s at the central station") in logged
    assert proof.lines() == [] and proof.intact


def test_a_chair_whose_station_stops_writing_is_a_technical_alarm_not_frozen_numbers(
    chairs: list[tuple[Station, ScriptedMonitor]], db_url: str
) -> None:
    t0 = now_us()
    chairs[0][1].send([reading("spo2", 96, t0)])
    chairs[0][0].hub.sync()
    assert chairs[0][0].recorder is not None and chairs[0][0].recorder.flush(timeout=20)
    database = open_database(db_url)
    try:
        board = ChairBoard(database)
        assert tile(board, "chair 2", t0 + 5 * US_PER_S).silent_s is None
        quiet = tile(board, "chair 2", t0 + 31 * US_PER_S)
        [silent] = [a for a in quiet.alarms if a.alarm == "chair_silent"]
        assert (silent.priority, silent.kind, silent.message) == ("high", "technical", "chair 2 silent for 31 s")
        assert quiet.alarms[0] == silent  # first on the tile
    finally:
        database.dispose()


def test_the_tile_tells_the_dose_given_and_the_next_due_check(
    chairs: list[tuple[Station, ScriptedMonitor]], db_url: str
) -> None:
    station = chairs[0][0]
    database = open_database(db_url)
    try:
        board = ChairBoard(database)
        before = tile(board, "chair 2")
        assert before.dose == "no dose yet" and before.next_prompt is not None and "BP" in before.next_prompt
        monitor = chairs[0][1]
        monitor.send([reading("nibp_systolic", 128, now_us(), CUFF)])  # the pre-dose blood pressure is taken
        station.hub.sync()
        assert station.recorder is not None and station.recorder.flush(timeout=20)
        assert "BP" not in (tile(board, "chair 2").next_prompt or "")
        t = now_us()
        ClinicalLog(database, station.session_id or 0).add(
            BolusDose(t_us=t, entered_us=t, author="RN Diaz", drug="ketamine", route="im", mg=35.0))
        after = tile(board, "chair 2")
        assert after.dose == "given 35.0 mg"
        # nothing is due right after the dose: the tile says what comes next, and when
        assert after.next_prompt in ("BP due (every 15 min) in 15 min", "MOAA/S due in 15 min")
    finally:
        database.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite lets one writer at a time
def test_a_reading_committed_after_a_newer_one_of_another_chair_still_reaches_its_tile(
    chairs: list[tuple[Station, ScriptedMonitor]], db_url: str
) -> None:
    """On PostgreSQL a row's id is handed out at insert and seen at commit: chair 1's NIBP, inserted first and
    committed after chair 2's SpO2, has the lower id, and the board has already read past it."""
    (two, two_monitor), (one, one_monitor) = chairs
    t0 = now_us()
    for station, monitor in chairs:
        monitor.send([reading("spo2", 97, t0)])
        station.hub.sync()
        assert station.recorder is not None and station.recorder.flush(timeout=20)
    numeric = NumericReading.__table__
    database = open_database(db_url)
    try:
        board = ChairBoard(database)
        board.poll()
        with database.connect() as conn:
            device_id = conn.execute(
                select(numeric.c.device_id).where(numeric.c.session_id == one.session_id)
            ).scalars().first()
        late = database.connect()
        transaction = late.begin()
        late.execute(insert(numeric).values(session_id=one.session_id, device_id=device_id,
                                            metric="nibp_systolic", t_us=t0 + US_PER_S, value=128.0, flags=""))
        two_monitor.send([reading("spo2", 95, t0 + 2 * US_PER_S)])
        two.hub.sync()
        assert two.recorder is not None and two.recorder.flush(timeout=20)
        assert tile(board, "chair 2").spo2 == type(tile(board, "chair 2").spo2)(95, t0 + 2 * US_PER_S)
        transaction.commit()
        late.close()
        systolic = tile(board, "chair 1").nibp[0]
        assert systolic is not None and systolic.value == 128
    finally:
        database.dispose()
