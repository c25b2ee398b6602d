"""Readings in, rows out: the recorder stores every value, flag and time exactly, in ~1 s waveform rows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, event
from store_fakes import DiskFull, rows, stored_readings

from kapmonitor.core.clock import SampleClock
from kapmonitor.core.readings import DecodeError, LinkEvent, Reading, WaveChunk
from kapmonitor.store.db import engine_for
from kapmonitor.store.pending import Pending
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.repository import SessionRepository
from kapmonitor.store.wave_codec import decode

T0 = 1_763_700_000_000_000  # 2025-11-21 04:40 UTC, in microseconds
DEV = "nonin-df7@/dev/ttyUSB0"


@pytest.fixture
def recorder(engine: Engine) -> Iterator[Recorder]:
    recorder = Recorder(engine)
    yield recorder
    recorder.stop()


def chunks(n_chunks: int, start_us: int = T0, size: int = 25, rate: float = 75.0) -> list[WaveChunk]:
    """Contiguous chunks placed by a sample clock, as a transport stamps them; sample values count up."""
    clock = SampleClock(rate)
    first_arrival = start_us + round(size * 1_000_000 / rate)
    return [
        WaveChunk("pleth", rate, tuple(range(k * size, (k + 1) * size)), frozenset(), 0, DEV).stamped(
            clock.place(size, first_arrival + round(k * size * 1_000_000 / rate)), DEV
        )
        for k in range(n_chunks)
    ]


def test_numeric_readings_are_stored_one_row_each_with_values_flags_and_times(
    engine: Engine, recorder: Recorder
) -> None:
    session = SessionRepository(engine).start_session("P-001")
    recorder.register_device(DEV, "nonin-df7", "/dev/ttyUSB0")
    recorder.begin(session)
    device_time = datetime(2025, 11, 21, 4, 40, 1, 500_000, tzinfo=UTC)
    recorder.write(
        [
            Reading("spo2", 97.0, "%", frozenset(), None, T0, DEV),
            Reading("spo2", None, "%", frozenset({"sensor_off", "artifact"}), None, T0 + 1_000_000, DEV),
            Reading(
                "pulse_rate", 72.0, "bpm", frozenset({"low_perfusion"}), device_time, T0 + 1_000_001, DEV
            ),
            DecodeError("checksum", 125, "", T0, DEV),  # kept in the link counters, not in the recording
            LinkEvent("connected", "/dev/ttyUSB0", T0 - 5, DEV),
        ]
    )
    assert recorder.flush(timeout=30)
    assert rows(
        engine, "SELECT metric, t_us, t_device_us, value, flags FROM numeric_reading ORDER BY id"
    ) == [
        ("spo2", T0, None, 97.0, ""),
        ("spo2", T0 + 1_000_000, None, None, "artifact,sensor_off"),
        ("pulse_rate", T0 + 1_000_001, 1_763_700_001_500_000, 72.0, "low_perfusion"),
    ]
    assert rows(engine, "SELECT t_us, kind, detail FROM link_event") == [
        (T0 - 5, "connected", "/dev/ttyUSB0")
    ]
    assert rows(engine, "SELECT session_id, device, protocol, address FROM device") == [
        (session, DEV, "nonin-df7", "/dev/ttyUSB0")
    ]


def test_third_of_a_second_chunks_become_one_second_rows_with_exact_sample_times(
    engine: Engine, recorder: Recorder
) -> None:
    recorder.begin(SessionRepository(engine).start_session("P-001"))
    sent = chunks(7)
    for chunk in sent:  # one hub batch each, as they arrive
        recorder.write([chunk])
    assert recorder.flush(timeout=30)
    stored = rows(engine, "SELECT t_us, rate_hz, n_samples, samples, flags FROM wave_chunk ORDER BY t_us")
    assert [(t, rate, n) for t, rate, n, _, _ in stored] == [
        (T0, 75.0, 75),
        (T0 + 1_000_000, 75.0, 75),
        (T0 + 2_000_000, 75.0, 25),
    ]
    values = np.concatenate([decode(blob, n) for _, _, n, blob, _ in stored])
    assert values.tolist() == list(range(7 * 25))
    assert [f for *_, f in stored] == ["", "", ""]


def test_a_gap_a_new_rate_or_new_flags_start_a_new_row(engine: Engine, recorder: Recorder) -> None:
    recorder.begin(SessionRepository(engine).start_session("P-001"))
    first = chunks(1)[0]
    after_gap = first.stamped(T0 + 5_000_000, DEV)
    flagged = WaveChunk("pleth", 75.0, (1, 2, 3), frozenset({"artifact"}), T0 + 5_333_333, DEV)
    faster = WaveChunk("pleth", 100.0, (4, 5), frozenset({"artifact"}), T0 + 5_373_333, DEV)
    recorder.write([first, after_gap, flagged, faster])
    assert recorder.flush(timeout=30)
    assert rows(engine, "SELECT t_us, rate_hz, n_samples, flags FROM wave_chunk ORDER BY t_us") == [
        (T0, 75.0, 25, ""),
        (T0 + 5_000_000, 75.0, 25, ""),
        (T0 + 5_333_333, 75.0, 3, "artifact"),
        (T0 + 5_373_333, 100.0, 2, "artifact"),
    ]


def test_a_row_written_early_is_extended_by_later_chunks(engine: Engine, recorder: Recorder) -> None:
    recorder.begin(SessionRepository(engine).start_session("P-001"))
    sent = chunks(3)
    recorder.write(sent[:1])
    assert recorder.flush(timeout=30)
    assert rows(engine, "SELECT t_us, n_samples FROM wave_chunk") == [(T0, 25)]
    recorder.write(sent[1:])
    assert recorder.flush(timeout=30)
    [(t_us, n, blob)] = rows(engine, "SELECT t_us, n_samples, samples FROM wave_chunk")
    assert (t_us, n, decode(blob, n).tolist()) == (T0, 75, list(range(75)))


def test_items_outside_a_session_are_not_stored(engine: Engine, recorder: Recorder) -> None:
    recorder.write([Reading("spo2", 95.0, "%", t_us=T0, device=DEV)])
    recorder.begin(SessionRepository(engine).start_session("P-001"))
    recorder.write([Reading("spo2", 96.0, "%", t_us=T0 + 1, device=DEV)])
    recorder.end()
    recorder.write([Reading("spo2", 97.0, "%", t_us=T0 + 2, device=DEV)])
    assert recorder.flush(timeout=30)
    assert [r.value for r in stored_readings(engine)] == [96.0]


def test_rows_are_committed_without_a_flush(engine: Engine, db_url: str, recorder: Recorder) -> None:
    recorder.begin(SessionRepository(engine).start_session("P-001"))
    recorder.write([Reading("spo2", 98.0, "%", t_us=T0, device=DEV), *chunks(1)])
    reader = engine_for(db_url)  # a second connection, as the review window or `sessions list` would be
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if rows(reader, "SELECT count(*) FROM numeric_reading") == [(1,)]:
                break
            time.sleep(0.05)
        assert rows(reader, "SELECT value FROM numeric_reading") == [(98.0,)]
        assert rows(reader, "SELECT n_samples FROM wave_chunk") == [(25,)]
    finally:
        reader.dispose()


def test_rows_survive_a_failing_database_and_arrive_after_recovery(
    engine: Engine, recorder: Recorder
) -> None:
    session = SessionRepository(engine).start_session("P-001")
    fault = DiskFull(engine)
    recorder.begin(session)
    recorder.write([Reading("spo2", 94.0, "%", frozenset({"artifact"}), None, T0, DEV), *chunks(2)])
    assert not recorder.flush(timeout=1.0)
    assert recorder.failure is not None and "database or disk is full" in recorder.failure
    recorder.write([Reading("spo2", None, "%", t_us=T0 + 1_000_000, device=DEV), *chunks(4)[2:]])
    assert rows(engine, "SELECT count(*) FROM numeric_reading") == [(0,)]

    fault.failing = False
    assert recorder.flush(timeout=30)
    assert recorder.failure is None
    assert rows(engine, "SELECT t_us, value, flags FROM numeric_reading ORDER BY t_us") == [
        (T0, 94.0, "artifact"),
        (T0 + 1_000_000, None, ""),
    ]
    stored = rows(engine, "SELECT t_us, n_samples, samples FROM wave_chunk ORDER BY t_us")
    assert [(t, n) for t, n, _ in stored] == [(T0, 75), (T0 + 1_000_000, 25)]
    assert np.concatenate([decode(b, n) for _, n, b in stored]).tolist() == list(range(100))
    assert rows(engine, "SELECT count(*) FROM device") == [(1,)]


def test_a_database_that_stays_broken_keeps_only_the_newest_rows(engine: Engine) -> None:
    session = SessionRepository(engine).start_session("P-001")
    fault = DiskFull(engine)
    recorder = Recorder(engine, max_pending_rows=3)
    try:
        recorder.begin(session)
        recorder.write([Reading("spo2", float(v), "%", t_us=T0 + v, device=DEV) for v in range(90, 95)])
        assert not recorder.flush(timeout=1.0)
        assert recorder.dropped_rows == 2
        assert recorder.failure is not None and "2 oldest rows dropped" in recorder.failure
        fault.failing = False
        assert recorder.flush(timeout=30)
    finally:
        recorder.stop()
    assert [r.value for r in stored_readings(engine)] == [92.0, 93.0, 94.0]


def test_stop_writes_what_is_queued_and_ends_the_thread(engine: Engine) -> None:
    recorder = Recorder(engine, commit_interval_s=30.0)
    recorder.begin(SessionRepository(engine).start_session("P-001"))
    recorder.write([Reading("spo2", 99.0, "%", t_us=T0, device=DEV)])
    recorder.stop()
    recorder.stop()
    assert recorder.flush(timeout=1.0)
    recorder.write(
        [Reading("spo2", 98.0, "%", t_us=T0 + 1, device=DEV)]
    )  # too late: the recorder has stopped
    assert [r.value for r in stored_readings(engine)] == [99.0]


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=30),
    rate=st.sampled_from([75.0, 100.0, 125.0, 62.5]),
)
def test_merged_rows_keep_every_sample_at_its_time(sizes: list[int], rate: float) -> None:
    clock, pending, count, expected = SampleClock(rate), Pending(), 0, []
    first_arrival = T0 + round(sizes[0] * 1_000_000 / rate)
    for n in sizes:
        t_us = clock.place(n, first_arrival + round((count + n - sizes[0]) * 1_000_000 / rate))
        pending.add(1, [WaveChunk("pleth", rate, tuple(range(count, count + n)), frozenset(), t_us, DEV)])
        expected += [(v, T0 + v * 1_000_000 / rate) for v in range(count, count + n)]
        count += n
    stored = []
    for row in pending.waves:
        samples = np.frombuffer(bytes(row.samples), dtype="<i4").tolist()
        assert row.n_samples == len(samples)
        assert row.n_samples < row.rate_hz + 60  # about a second: never more than one chunk past it
        stored += [(v, row.t_us + i * 1_000_000 / rate) for i, v in enumerate(samples)]
    assert [v for v, _ in stored] == [v for v, _ in expected]
    assert all(abs(t - want) <= 2 for (_, t), (_, want) in zip(stored, expected, strict=True))


def test_a_batch_of_readings_goes_in_bulk_not_one_statement_per_reading(engine: Engine, recorder: Recorder) -> None:
    """SQLite: one executemany; PostgreSQL: one COPY (which does not pass through SQLAlchemy's statements)."""
    statements: list[tuple[str, bool]] = []

    def seen(_conn: object, _cursor: object, statement: str, _params: object, _context: object, many: bool) -> None:
        statements.append((statement, many))

    event.listen(engine, "before_cursor_execute", seen)
    recorder.begin(SessionRepository(engine).start_session("P-001"))
    recorder.write([Reading("spo2", 90 + k % 10, "%", t_us=T0 + k * 1_000_000, device=DEV) for k in range(1000)])
    assert recorder.flush(timeout=30)
    event.remove(engine, "before_cursor_execute", seen)
    inserts = [many for statement, many in statements if statement.startswith("INSERT INTO numeric_reading")]
    assert inserts == ([True] if engine.dialect.name == "sqlite" else [])
    assert sorted(r.value for r in stored_readings(engine)) == sorted(float(90 + k % 10) for k in range(1000))
