"""A clinic upgrading from before packed blocks (migration 0009): 50 ended sessions of an hour each, every
reading (SpO2 and pulse at 1 Hz) and every second of pleth a row, as kapmonitor recorded them until then.

Measures ``sessions list``'s query (``SessionRepository.list_sessions``) on those rows, the time the first
station start takes to pack them in the background (``pack_ended_sessions``), and the list again once packed.

Budgets: the packed listing < 0.2 s; the repack < 1 s per session-hour (it runs beside a live recording, one
session to a transaction, so a session's pack also bounds how long it holds SQLite's write lock).
"""

from __future__ import annotations

import sqlite3
import tempfile
import time

from alembic import command
from sqlalchemy import text

from bench.harness import Figure, median
from kapmonitor.store.db import alembic_config, engine_for, open_database, open_for_reading
from kapmonitor.store.packing import pack_ended_sessions
from kapmonitor.store.repository import SessionRepository
from kapmonitor.store.wave_codec import encode

SESSIONS = 50
SECONDS = 3600
T0, S = 1_700_000_000_000_000, 1_000_000


def _old_database(url: str) -> None:
    """The sessions as a database at migration 0008 holds them: rows only."""
    engine = engine_for(url)
    try:
        command.upgrade(alembic_config(engine), "0008")
        blob = encode([(i * 7) % 200 for i in range(75)])
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO patient (id, code) VALUES (1, 'P-0001')"))
            for sid in range(1, SESSIONS + 1):
                start = T0 + sid * 86_400 * S
                conn.execute(
                    text("INSERT INTO session (id, patient_id, protocol, room, bed, nurse, prescriber, status,"
                         " start_us, end_us) VALUES (:id, 1, '', '', 'chair 2', 'nina', '', 'ended', :t, :e)"),
                    {"id": sid, "t": start, "e": start + SECONDS * S},
                )
                conn.execute(
                    text("INSERT INTO device (id, session_id, device, protocol, address)"
                         " VALUES (:id, :id, 'nonin-df7@/dev/ttyUSB0', 'nonin-df7', '/dev/ttyUSB0')"),
                    {"id": sid},
                )
                conn.execute(
                    text("INSERT INTO numeric_reading (session_id, device_id, metric, t_us, value, flags)"
                         " VALUES (:s, :s, :m, :t, :v, '')"),
                    [{"s": sid, "m": m, "t": start + k * S, "v": base + k % 5}
                     for k in range(SECONDS) for m, base in (("spo2", 94.0), ("pulse_rate", 70.0))],
                )
                conn.execute(
                    text("INSERT INTO wave_chunk (session_id, device_id, metric, t_us, rate_hz, n_samples, samples,"
                         " flags) VALUES (:s, :s, 'pleth', :t, 75.0, 75, :b, '')"),
                    [{"s": sid, "t": start + k * S, "b": blob} for k in range(SECONDS)],
                )
    finally:
        engine.dispose()


def _list_s(url: str) -> float:
    engine = open_for_reading(url)
    try:
        repository = SessionRepository(engine)
        times = []
        for _ in range(3):
            started = time.perf_counter()
            listed = repository.list_sessions()
            times.append(time.perf_counter() - started)
        if len(listed) != SESSIONS:
            raise RuntimeError(f"listed {len(listed)} sessions, not {SESSIONS}")
        return median(times)
    finally:
        engine.dispose()


def _in_use_mb(path: str) -> float:
    with sqlite3.connect(path) as db:
        pages = db.execute("PRAGMA page_count").fetchone()[0] - db.execute("PRAGMA freelist_count").fetchone()[0]
        return float(pages * db.execute("PRAGMA page_size").fetchone()[0] / 1e6)


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/old.sqlite"
        url = f"sqlite:///{path}"
        _old_database(url)
        open_database(url).dispose()  # upgraded to the newest schema, as the clinic's first start does
        rows_mb, before = _in_use_mb(path), _list_s(url)
        engine = open_database(url)
        try:
            started = time.perf_counter()
            done = pack_ended_sessions(engine)
            repack_s = time.perf_counter() - started
        finally:
            engine.dispose()
        if len(done.sessions) != SESSIONS or done.failed:
            raise RuntimeError(f"packed {len(done.sessions)} of {SESSIONS} sessions; failed: {done.failed}")
        after, packed_mb = _list_s(url), _in_use_mb(path)
    hours = SESSIONS * SECONDS / 3600
    note = f"{SESSIONS} sessions x 1 h, SQLite; data {rows_mb:.0f} MB as rows, {packed_mb:.0f} MB packed"
    return [
        Figure("sessions list query, old sessions as rows", before, "s", None, note=note),
        Figure("sessions list query, once packed", after, "s", 0.2),
        Figure("packing them at a station's start, per session-hour", repack_s / hours, "s", 1.0,
               note=f"{repack_s:.1f} s for {hours:.0f} h, one session to a transaction"),
    ]
