"""Packing: the recorder's staged rows moved into blocks, on a real SQLite file and on the test run's PostgreSQL.

Readings in are readings out (times, device times, values, None, flags, order), whether a track is staged,
packed or both; the database refuses to lose a staged row no block holds and to change a block; a recorder
killed between staging and packing loses nothing, and whoever closes or resumes the session packs what it left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from sqlalchemy import Engine, event, exc, text
from store_fakes import rows, stored_readings, stored_wave_rows

from kapmonitor.core.clock import SampleClock
from kapmonitor.core.readings import Reading, WaveChunk
from kapmonitor.export.loader import load_session
from kapmonitor.store.chair_board import ChairBoard, Value
from kapmonitor.store.db import alembic_config, engine_for, open_database
from kapmonitor.store.packing import pack_session
from kapmonitor.store.pg_server import LocalServer
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.recovery import SessionRecovery
from kapmonitor.store.repository import RecordedReadings, SessionRepository
from kapmonitor.store.track_rows import last_data_us, snapshot
from kapmonitor.store.wave_codec import decode, decode_rows, encode

T0 = 1_763_700_000_000_000
S = 1_000_000
OX = "nonin-df7@/dev/ttyUSB0"
FLAGS = ("", "artifact", "low_perfusion,searching", "sensor_off")


def readings(seconds: int, start_s: int = 0) -> list[Reading]:
    """SpO2 and pulse once a second, with a missing value, flags and a device clock now and then."""
    found = []
    for s in range(start_s, start_s + seconds):
        flags = frozenset(f for f in FLAGS[s % 4].split(",") if f)
        device_time = datetime.fromtimestamp((T0 + s * S) / S - 2, UTC) if s % 7 == 0 else None
        spo2 = None if s % 11 == 0 else 90.0 + s % 9
        found.append(Reading("spo2", spo2, "%", flags, device_time, T0 + s * S, OX))
        found.append(Reading("pulse_rate", 60.0 + s % 13 + 0.5, "bpm", frozenset(), None, T0 + s * S, OX))
    return found


def pleth(seconds: int, clock: SampleClock, start_s: int = 0) -> list[WaveChunk]:
    return [
        WaveChunk("pleth", 75.0, tuple(range(k * 25, k * 25 + 25)), frozenset(), clock.place(25, T0 + k * S // 3), OX)
        for k in range(start_s * 3, (start_s + seconds) * 3)
    ]


def as_written(sent: list[Reading]) -> list[tuple[object, ...]]:
    return [
        (r.metric, r.t_us, None if r.t_device is None else int(r.t_device.timestamp() * S), r.value,
         ",".join(sorted(r.flags)))
        for r in sent
    ]


def as_stored(engine: Engine) -> list[tuple[object, ...]]:
    return [(r.metric, r.t_us, r.t_device_us, r.value, r.flags) for r in stored_readings(engine)]


def staged(engine: Engine, table: str) -> int:
    return int(rows(engine, f"SELECT count(*) FROM {table}")[0][0])


def wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def session(engine: Engine) -> int:
    return SessionRepository(engine).start_session("P-001")


@pytest.fixture
def recorder(engine: Engine) -> Iterator[Recorder]:
    recorder = Recorder(engine, pack_span_us=60 * S, pack_rows=100)
    yield recorder
    recorder.stop()


def test_a_running_session_packs_its_full_tracks_once_its_staged_rows_span_the_pack_span(
    engine: Engine, session: int, recorder: Recorder
) -> None:
    sent, clock = readings(150), SampleClock(75.0)
    chunks = pleth(152, clock)
    cuff = [Reading("nibp_systolic", 120.0 + k, "mmHg", t_us=T0 + k * 60 * S, device="cuff@x") for k in range(3)]
    recorder.begin(session)
    recorder.write([*sent, *cuff, *chunks[:451]])  # 150 s of pleth and a third of a second: its row still open
    assert recorder.flush(timeout=30)
    wait_for(lambda: staged(engine, "numeric_block") > 0)
    # SpO2 and pulse (150 readings each) moved into blocks; the cuff's three readings wait for more.
    assert rows(engine, "SELECT metric, n_rows FROM numeric_block ORDER BY metric") == [
        ("pulse_rate", 150), ("spo2", 150)
    ]
    assert rows(engine, "SELECT metric, count(*) FROM numeric_reading GROUP BY metric") == [("nibp_systolic", 3)]
    assert sorted(as_stored(engine), key=lambda r: (r[1], r[0])) == sorted(
        as_written([*sent, *cuff]), key=lambda r: (r[1], r[0])
    )
    # The newest pleth row stays staged: later chunks still extend it.
    assert staged(engine, "wave_chunk") == 1
    recorder.write(chunks[451:])
    assert recorder.flush(timeout=30)
    waves = stored_wave_rows(engine)
    assert decode_rows([w[3] for w in waves], [w[2] for w in waves]).tolist() == [
        v for k in range(152 * 3) for v in range(k * 25, k * 25 + 25)
    ]
    assert [w[0] for w in waves] == sorted(w[0] for w in waves)


def test_ending_a_session_packs_everything_and_the_review_reads_it_as_recorded(
    engine: Engine, session: int, recorder: Recorder
) -> None:
    sent, clock = readings(20), SampleClock(75.0)
    chunks = pleth(20, clock)
    recorder.begin(session)
    recorder.write([*sent, *chunks])
    assert recorder.flush(timeout=30)
    before = load_session(engine, session)
    recorder.end()
    wait_for(lambda: staged(engine, "numeric_reading") + staged(engine, "wave_chunk") == 0)
    after = load_session(engine, session)
    for old, new in zip(before.numerics, after.numerics, strict=True):
        assert (old.device, old.metric, old.flags) == (new.device, new.metric, new.flags)
        assert old.t_us.tolist() == new.t_us.tolist()
        np.testing.assert_array_equal(old.values, new.values)  # NaN where no value, in both
    [wave] = after.waves
    assert np.concatenate(wave.chunks).tolist() == [v for c in chunks for v in c.samples]
    assert wave.starts_us.tolist() == before.waves[0].starts_us.tolist()
    [listing] = SessionRepository(engine).list_sessions()
    listed = {(t["metric"], t["samples"], t["first"], t["last"]) for t in listing["tracks"]}
    assert ("spo2", 20, "2025-11-21T04:40:00.000+00:00", "2025-11-21T04:40:19.000+00:00") in listed
    assert any(m == "pleth" and n == 20 * 75 for m, n, _, _ in listed)


def test_a_reader_following_the_session_sees_each_reading_once_across_a_pack(engine: Engine, session: int) -> None:
    follow = RecordedReadings(SessionRepository(engine), session, ["spo2"])
    recorder = Recorder(engine, pack_span_us=10 * S, pack_rows=10)
    try:
        recorder.begin(session)
        recorder.write(readings(5))
        assert recorder.flush(timeout=30)
        assert len(follow()) == 5  # staged
        recorder.write(readings(20, start_s=5))
        assert recorder.flush(timeout=30)
        wait_for(lambda: staged(engine, "numeric_reading") == 0)
        recorder.write(readings(2, start_s=25))
        assert recorder.flush(timeout=30)
    finally:
        recorder.stop()
    seen = follow()
    assert [r.t_us for r in seen] == [T0 + s * S for s in range(27)]


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM numeric_reading",
        "UPDATE numeric_reading SET value = 50",
        "UPDATE numeric_block SET n_rows = n_rows",
        "DELETE FROM numeric_block",
        "DELETE FROM wave_chunk",
        "UPDATE wave_block SET n_rows = 0",
        "DELETE FROM wave_block",
    ],
)
def test_the_database_refuses_to_lose_an_unpacked_row_or_change_a_block(
    engine: Engine, session: int, statement: str
) -> None:
    recorder = Recorder(engine)
    recorder.begin(session)
    recorder.write([*readings(10), *pleth(3, SampleClock(75.0))])
    recorder.stop()  # packs what it staged
    with engine.begin() as conn:  # then a reading and a waveform row staged, as the next recorder would
        conn.execute(text("INSERT INTO numeric_reading (session_id, device_id, metric, t_us, value, flags)"
                          " SELECT session_id, device_id, 'spo2', :t, 97.0, '' FROM numeric_block"
                          " WHERE id IN (SELECT min(id) FROM numeric_block)"), {"t": T0 + 10 * S})
        conn.execute(text("INSERT INTO wave_chunk (session_id, device_id, metric, t_us, rate_hz, n_samples, samples,"
                          " flags) SELECT session_id, device_id, 'pleth', :t, 75.0, 2, :b, '' FROM wave_block"),
                     {"t": T0 + 3 * S, "b": encode([1, 2])})
    before, waves = as_stored(engine), stored_wave_rows(engine)
    assert len(before) == 21 and sum(w[2] for w in waves) == 3 * 75 + 2
    with pytest.raises(exc.DBAPIError, match="deleted only once|never changed"), engine.begin() as conn:
        conn.execute(text(statement))
    assert as_stored(engine) == before and stored_wave_rows(engine) == waves


def test_a_staged_waveform_row_may_still_be_extended(engine: Engine, session: int) -> None:
    recorder = Recorder(engine)
    recorder.begin(session)
    recorder.write(pleth(1, SampleClock(75.0))[:1])
    assert recorder.flush(timeout=30)
    recorder.stop()
    assert staged(engine, "wave_block") == 1 and staged(engine, "wave_chunk") == 0
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO wave_chunk (session_id, device_id, metric, t_us, rate_hz, n_samples, samples,"
                          " flags) SELECT session_id, device_id, 'pleth', :t, 75.0, 2, :b, '' FROM wave_block"),
                     {"t": T0 + S, "b": encode([1, 2])})
        conn.execute(text("UPDATE wave_chunk SET n_samples = 3, samples = :b"), {"b": encode([1, 2, 3])})
    assert [w[2] for w in stored_wave_rows(engine)] == [25, 3]


def test_postgresql_refuses_to_truncate_the_staging_or_the_blocks(pg_server: LocalServer) -> None:
    engine = open_database(pg_server.create_database(f"test_truncate_{os.getpid()}"))  # SQLite has no TRUNCATE
    try:
        for table in ("numeric_reading", "numeric_block", "wave_chunk", "wave_block"):
            with pytest.raises(exc.DBAPIError, match="packing|never changed"), engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {table}"))
    finally:
        engine.dispose()


def test_a_pack_that_fails_half_way_leaves_every_reading_staged(engine: Engine, session: int) -> None:
    recorder = Recorder(engine)  # five minutes' pack span: 30 s stay staged while the session runs
    try:
        recorder.begin(session)
        recorder.write(readings(30))
        assert recorder.flush(timeout=30)

        def fail_on_pulse(_c: object, _cur: object, statement: str, params: object, *_: object) -> None:
            if statement.lstrip().upper().startswith("DELETE FROM NUMERIC_READING") and "pulse" in str(params):
                raise RuntimeError("the server went away")

        event.listen(engine, "before_cursor_execute", fail_on_pulse)
        try:
            with pytest.raises(RuntimeError), engine.begin() as conn:
                pack_session(conn, session)  # SpO2's block written and its rows deleted, then pulse fails
        finally:
            event.remove(engine, "before_cursor_execute", fail_on_pulse)
        assert staged(engine, "numeric_block") == 0 and staged(engine, "numeric_reading") == 60
        assert as_stored(engine) == as_written(readings(30))
        recorder.end()
    finally:
        recorder.stop()
    assert staged(engine, "numeric_reading") == 0
    assert as_stored(engine) == as_written(readings(30))


_CRASHING_STATION = """
import sys, time
from kapmonitor.store.db import open_database
from kapmonitor.store.recorder import Recorder
sys.path.insert(0, {tests!r})
from test_store_packing import readings, pleth
from kapmonitor.core.clock import SampleClock
engine = open_database({url!r})
recorder = Recorder(engine, pack_span_us=3600 * 10**6)
recorder.begin({session})
recorder.write([*readings(90), *pleth(90, SampleClock(75.0))])
assert recorder.flush(timeout=60)
print("staged", flush=True)
time.sleep(600)
"""


def test_a_recorder_killed_between_staging_and_packing_loses_nothing(db_url: str) -> None:
    engine = open_database(db_url)
    try:
        repository = SessionRepository(engine)
        session = repository.start_session("P-001")
        SessionRecovery(engine).claim(session)
        script = _CRASHING_STATION.format(tests=str(Path(__file__).parent), url=db_url, session=session)
        station = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            assert station.stdout is not None and station.stdout.readline().strip() == "staged"
        finally:
            os.kill(station.pid, signal.SIGKILL)
            station.wait()
        assert staged(engine, "numeric_block") == 0
        assert as_stored(engine) == as_written(readings(90))  # on disk, staged
        with engine.begin() as conn:  # the dead station's owner row names a gone process: it is interrupted
            conn.execute(text("UPDATE session_owner SET pid = 999999999, process_start = ''"))
        SessionRecovery(engine).close_interrupted(session, user="nurse")
        assert staged(engine, "numeric_reading") + staged(engine, "wave_chunk") == 0
        assert as_stored(engine) == as_written(readings(90))
        waves = stored_wave_rows(engine)
        assert sum(w[2] for w in waves) == 90 * 75
    finally:
        engine.dispose()


def test_a_database_from_before_blocks_reads_its_rows_and_packs_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = engine_for(url)
    try:
        command.upgrade(alembic_config(engine), "0008")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO patient (id, code) VALUES (1, 'OLD-1')"))
            conn.execute(text("INSERT INTO session (id, patient_id, protocol, room, bed, nurse, prescriber, status,"
                              " start_us) VALUES (1, 1, '', '', '', '', '', 'ended', :t)"), {"t": T0})
            conn.execute(text("INSERT INTO device (id, session_id, device, protocol, address)"
                              " VALUES (1, 1, :d, 'nonin-df7', '/dev/ttyUSB0')"), {"d": OX})
            for s in range(5):
                conn.execute(text("INSERT INTO numeric_reading (session_id, device_id, metric, t_us, value, flags)"
                                  " VALUES (1, 1, 'spo2', :t, :v, '')"), {"t": T0 + s * S, "v": 95.0 + s})
                conn.execute(text("INSERT INTO wave_chunk (session_id, device_id, metric, t_us, rate_hz, n_samples,"
                                  " samples, flags) VALUES (1, 1, 'pleth', :t, 75.0, 75, :b, '')"),
                             {"t": T0 + s * S, "b": encode(list(range(s, s + 75)))})
        engine.dispose()
        engine = open_database(url)  # upgraded to the newest schema
        old = load_session(engine, 1)
        assert old.numerics[0].values.tolist() == [95.0, 96.0, 97.0, 98.0, 99.0]
        with engine.begin() as conn:
            pack_session(conn, 1)
        new = load_session(engine, 1)
        assert new.numerics[0].values.tolist() == old.numerics[0].values.tolist()
        assert new.numerics[0].t_us.tolist() == old.numerics[0].t_us.tolist()
        assert [c.tolist() for c in new.waves[0].chunks] == [list(range(s, s + 75)) for s in range(5)]
        assert decode(stored_wave_rows(engine)[0][3], 75).tolist() == list(range(75))
    finally:
        engine.dispose()


def test_the_central_station_and_crash_recovery_read_packed_readings(engine: Engine) -> None:
    """A chair whose readings are already in blocks: a central station opened now shows its latest values and
    NIBP times, its poll takes each later reading once, and recovery's "last data" is its newest reading."""
    repository = SessionRepository(engine)
    session = repository.start_session("P-001", bed="chair 1")
    recorder = Recorder(engine, pack_span_us=10 * S, pack_rows=10)
    try:
        recorder.begin(session)
        cuff = [Reading("nibp_systolic", 131.0, "mmHg", t_us=T0 + 5 * S, device="cuff@x")]
        recorder.write([*readings(30), *cuff])
        assert recorder.flush(timeout=30)
        wait_for(lambda: staged(engine, "numeric_block") >= 2)
        board = ChairBoard(engine)
        [chair] = board.poll(now=T0 + 30 * S)
        last = readings(30)[-2]  # the last SpO2
        assert (chair.spo2, chair.nibp[0]) == (Value(last.value, last.t_us), Value(131.0, T0 + 5 * S))
        with snapshot(engine) as conn:
            assert last_data_us(conn, session) == T0 + 29 * S
        recorder.write([Reading("spo2", 88.0, "%", t_us=T0 + 30 * S, device=OX)])
        assert recorder.flush(timeout=30)
        [chair] = board.poll(now=T0 + 31 * S)
        assert chair.spo2 == Value(88.0, T0 + 30 * S)
    finally:
        recorder.stop()
