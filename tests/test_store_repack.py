"""Sessions that ended with rows still staged (recorded before packed blocks existed, or closed after their
recorder died) are packed when a station starts, on a real SQLite file and on the test run's PostgreSQL.

Their readings and waveforms read the same before and after; a session in progress is never touched, whether
its station is live or gone; two stations starting at once pack each session once; a pack that fails leaves
that session's rows staged and says so in one line.
"""

from __future__ import annotations

import logging
import threading

import pytest
from alembic import command
from sqlalchemy import Engine, event, text
from store_fakes import rows, stored_readings

from kapmonitor.bed.station import Station
from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import Reading
from kapmonitor.export.loader import load_session
from kapmonitor.store.db import alembic_config, engine_for, open_database
from kapmonitor.store.packing import Repacked, pack_ended_sessions
from kapmonitor.store.recovery import SessionRecovery
from kapmonitor.store.wave_codec import encode

T0 = 1_763_700_000_000_000
S = 1_000_000
OX = "nonin-df7@/dev/ttyUSB0"
SECONDS = 600  # each old session: ten minutes of SpO2, pulse and pleth, one row per reading or second
ENDED, SIGNED, LIVE, ABANDONED = 1, 2, 3, 4  # sessions of the old database


def old_database(url: str) -> None:
    """A database at migration 0008, before blocks: every reading and waveform second a row."""
    engine = engine_for(url)
    try:
        command.upgrade(alembic_config(engine), "0008")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO patient (id, code) VALUES (1, 'OLD-1')"))
            for sid, status in ((ENDED, "ended"), (SIGNED, "signed"), (LIVE, "in_progress"),
                                (ABANDONED, "in_progress")):
                start = T0 + sid * 3600 * S
                end = start + SECONDS * S if status != "in_progress" else None
                conn.execute(text("INSERT INTO session (id, patient_id, protocol, room, bed, nurse, prescriber,"
                                  " status, start_us, end_us) VALUES (:id, 1, '', '', '', '', '', :st, :t, :e)"),
                             {"id": sid, "st": status, "t": start, "e": end})
                conn.execute(text("INSERT INTO device (id, session_id, device, protocol, address)"
                                  " VALUES (:id, :id, :d, 'nonin-df7', '/dev/ttyUSB0')"), {"id": sid, "d": OX})
                conn.execute(
                    text("INSERT INTO numeric_reading (session_id, device_id, metric, t_us, value, flags)"
                         " VALUES (:s, :s, :m, :t, :v, :f)"),
                    [{"s": sid, "m": m, "t": start + k * S, "v": None if k % 11 == 0 else base + k % 7,
                      "f": "artifact" if k % 5 == 0 else ""}
                     for k in range(SECONDS) for m, base in (("spo2", 92.0), ("pulse_rate", 60.5))],
                )
                conn.execute(
                    text("INSERT INTO wave_chunk (session_id, device_id, metric, t_us, rate_hz, n_samples,"
                         " samples, flags) VALUES (:s, :s, 'pleth', :t, 75.0, 75, :b, '')"),
                    [{"s": sid, "t": start + k * S, "b": encode([(k + i) % 200 for i in range(75)])}
                     for k in range(SECONDS)],
                )
            if engine.dialect.name == "postgresql":  # the rows above were given their ids
                for table in ("patient", "session", "device"):
                    conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                                      f" (SELECT max(id) FROM {table}))"))
    finally:
        engine.dispose()


def staged(engine: Engine, session: int) -> int:
    return sum(
        int(rows(engine, f"SELECT count(*) FROM {table} WHERE session_id = {session}")[0][0])
        for table in ("numeric_reading", "wave_chunk")
    )


def blocks(engine: Engine, session: int) -> int:
    return sum(
        int(rows(engine, f"SELECT count(*) FROM {table} WHERE session_id = {session}")[0][0])
        for table in ("numeric_block", "wave_block")
    )


def recorded(engine: Engine, session: int) -> tuple[object, ...]:
    """Everything the review shows of the session: each track's times, values and flags, each waveform's rows."""
    loaded = load_session(engine, session)
    numerics = [(n.metric, n.t_us.tolist(), [None if v != v else v for v in n.values.tolist()], list(n.flags))
                for n in loaded.numerics]
    waves = [(w.metric, [c.tolist() for c in w.chunks]) for w in loaded.waves]
    return numerics, waves


@pytest.fixture
def old(db_url: str) -> str:
    old_database(db_url)
    return db_url


def test_a_station_starting_on_an_upgraded_database_packs_its_ended_sessions_and_nothing_in_progress(
    old: str,
) -> None:
    engine = open_database(old)  # upgraded to the newest schema: the old sessions are all rows
    try:
        SessionRecovery(engine).claim(LIVE)  # this process records LIVE; ABANDONED's station is gone
        before = {sid: recorded(engine, sid) for sid in (ENDED, SIGNED, LIVE, ABANDONED)}
        station = Station(old)
        station.start()
        try:  # a new session records at once, beside the packing
            new = station.start_session("P-002")
            now = now_us()
            sent = [Reading("spo2", 90.0 + k % 9, "%", frozenset(), None, now + k * S, OX) for k in range(120)]
            assert station.prefill(sent, timeout=60)
            deadline = threading.Event()
            for _ in range(600):
                if staged(engine, ENDED) == staged(engine, SIGNED) == 0:
                    break
                deadline.wait(0.05)
            assert station.recording_failure is None
        finally:
            station.stop()
        assert [(r.t_us, r.value) for r in stored_readings(engine) if r.session_id == new] == [
            (r.t_us, r.value) for r in sent
        ]
        assert staged(engine, ENDED) == staged(engine, SIGNED) == 0
        assert blocks(engine, ENDED) > 0 and blocks(engine, SIGNED) > 0
        assert staged(engine, LIVE) == staged(engine, ABANDONED) == 3 * SECONDS  # untouched
        assert blocks(engine, LIVE) == blocks(engine, ABANDONED) == 0
        assert {sid: recorded(engine, sid) for sid in before} == before
    finally:
        engine.dispose()


def test_closing_an_abandoned_session_packs_it_and_readings_stay_the_same(old: str) -> None:
    engine = open_database(old)
    try:
        before = recorded(engine, ABANDONED)
        SessionRecovery(engine).close_interrupted(ABANDONED, user="nurse")
        assert staged(engine, ABANDONED) == 0 and blocks(engine, ABANDONED) > 0
        assert recorded(engine, ABANDONED) == before
    finally:
        engine.dispose()


def test_two_stations_starting_at_once_pack_each_session_once(old: str) -> None:
    engines = [open_database(old), open_database(old)]
    try:
        before = {sid: recorded(engines[0], sid) for sid in (ENDED, SIGNED)}
        results: list[Repacked] = []
        start = threading.Barrier(2)

        def pack(engine: Engine) -> None:
            start.wait()
            results.append(pack_ended_sessions(engine))

        threads = [threading.Thread(target=pack, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r.failed for r in results] == [{}, {}]
        assert sorted(sid for r in results for sid in r.sessions) == [ENDED, SIGNED]  # each packed by one
        assert sum(r.packed.readings for r in results) == 2 * 2 * SECONDS
        assert sum(r.packed.wave_rows for r in results) == 2 * SECONDS
        assert {sid: recorded(engines[0], sid) for sid in before} == before
        assert pack_ended_sessions(engines[0]).sessions == []  # nothing left to pack
    finally:
        for e in engines:
            e.dispose()


def test_a_pack_that_fails_leaves_that_sessions_rows_staged_and_says_one_line(
    old: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_database(old)
    try:
        before = recorded(engine, ENDED)

        def disk_full_for_ended(_c: object, _cur: object, statement: str, params: object, *_: object) -> None:
            values = list(params.values()) if isinstance(params, dict) else list(params)  # type: ignore[attr-defined, call-overload]
            if statement.lstrip().upper().startswith("DELETE FROM WAVE_CHUNK") and values[0] == ENDED:
                raise OSError("disk I/O error")  # after ENDED's readings were packed, in the same transaction

        event.listen(engine, "before_cursor_execute", disk_full_for_ended)
        try:
            with caplog.at_level(logging.WARNING, logger="kapmonitor.store.packing"):
                done = pack_ended_sessions(engine)
        finally:
            event.remove(engine, "before_cursor_execute", disk_full_for_ended)
        assert done.sessions == [SIGNED]
        assert done.failed == {ENDED: "disk I/O error"}
        said = [r.getMessage() for r in caplog.records]
        assert said == [f"session {ENDED}: staged rows not packed, they stay readable as rows: disk I/O error"]
        assert staged(engine, ENDED) == 3 * SECONDS and blocks(engine, ENDED) == 0
        assert recorded(engine, ENDED) == before
        assert pack_ended_sessions(engine).sessions == [ENDED]  # the next start packs it
        assert recorded(engine, ENDED) == before
    finally:
        engine.dispose()


def test_closing_an_abandoned_session_whose_pack_fails_closes_it_says_one_line_and_the_next_start_packs_it(
    old: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_database(old)
    try:
        before = recorded(engine, ABANDONED)

        def lost_table(_c: object, _cur: object, statement: str, params: object, *_: object) -> tuple[str, object]:
            """The database itself refuses the first block (a table it no longer has): its own error, wrapped."""
            return statement.replace("INSERT INTO numeric_block", "INSERT INTO numeric_block_gone"), params

        event.listen(engine, "before_cursor_execute", lost_table, retval=True)
        try:
            with caplog.at_level(logging.WARNING, logger="kapmonitor.store.recovery"):
                SessionRecovery(engine).close_interrupted(ABANDONED, user="nurse")
        finally:
            event.remove(engine, "before_cursor_execute", lost_table)
        assert rows(engine, f"SELECT status FROM session WHERE id = {ABANDONED}") == [("ended",)]
        said = [r.getMessage() for r in caplog.records]
        assert len(said) == 1 and "\n" not in said[0] and "[SQL" not in said[0]
        assert said[0].startswith(f"session {ABANDONED} closed; its staged rows are packed at a station's next start")
        assert "numeric_block_gone" in said[0]
        assert staged(engine, ABANDONED) == 3 * SECONDS and recorded(engine, ABANDONED) == before
        assert ABANDONED in pack_ended_sessions(engine).sessions  # ended at its last data, long ago
        assert staged(engine, ABANDONED) == 0 and recorded(engine, ABANDONED) == before
    finally:
        engine.dispose()
