"""A clinic on one PostgreSQL server (issue 16): eight chairs recording, the central station watching them.

Budgets:
- recorder: 8 chairs (each a 75 Hz oximeter with SpO2, pulse and PI at 1 Hz, and a cuff measuring) recording in
  real time into one server, < 5 % of a core per chair. Measured as the CPU time of the eight recorder threads
  (from /proc, per thread) over the run, divided by the run's length and by eight; the server's own processes
  are reported beside it, not budgeted.
- central station: one frame with 8 chairs (the tiles redrawn from the board's answer and painted) < 8 ms median
  at 30 fps; the board's poll of the server with 8 chairs recording is reported beside it.
- alarm onset at a chair (the moment its station delivers the alarm to its bedside alarm bar and alarm log) to
  the central station's banner, < 1 s p95, over repeated desaturations.
- a 4-hour session on disk (the review benchmark's session) within 1.5x the size of the same data as a .vital
  file written by vitaldb's own writer, on SQLite (the file) and on PostgreSQL (the tables, their indexes and
  TOAST, without the empty database's catalogue).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from bench.central_views import eight_chairs
from bench.fixtures import T0, _cuff, _oximeter
from bench.harness import Figure, median, percentile
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.readings import Reading
from kapmonitor.store.chair_board import ChairBoard
from kapmonitor.store.db import open_database
from kapmonitor.store.pg_server import LocalServer, start_local_server
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.repository import SessionRepository

CHAIRS = 8
SECONDS = 40.0
BATCH_S = 0.02  # the hub hands the recorder a batch about every 20 ms
FRAMES = 300
ALARMS = 20
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _thread_cpu_s(native_id: int) -> float:
    fields = Path(f"/proc/self/task/{native_id}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime, stime


def _server_cpu_s(server: LocalServer) -> float:
    """CPU time of the server's processes (the postmaster's children, still running) so far."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "postgres" not in text.partition(")")[0]:
            continue
        cmdline = (stat.parent / "cmdline").read_bytes()
        fields = text.rpartition(")")[2].split()
        if str(server.port).encode() in cmdline or _parent_is_server(int(fields[1]), server):
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICKS_PER_S
    return total


def _parent_is_server(ppid: int, server: LocalServer) -> bool:
    try:
        return str(server.port).encode() in Path(f"/proc/{ppid}/cmdline").read_bytes()
    except OSError:
        return False


@contextmanager
def _server() -> Iterator[LocalServer]:
    server = start_local_server()
    try:
        yield server
    finally:
        server.cleanup()


def _record_eight(server: LocalServer) -> tuple[float, float, float]:
    """(recorder CPU per chair as a fraction of a core, server CPU as a fraction of a core, central poll ms)."""
    url = server.create_database("bench_chairs")
    engines = [open_database(url) for _ in range(CHAIRS)]
    recorders, sessions = [], []
    for k, engine in enumerate(engines):
        sessions.append(SessionRepository(engine).start_session(f"BENCH-{k}", "iv-infusion", bed=f"chair {k + 1}"))
        recorders.append(Recorder(engine))
    start_us = now_us()
    shift = start_us - T0
    feeds = []
    for recorder, session in zip(recorders, sessions, strict=True):
        items = [replace(i, t_us=i.t_us + shift) for i in (*_oximeter(int(SECONDS) + 1, ()), *_cuff(61))
                 if i.t_us >= T0]
        for device in {i.device for i in items}:
            recorder.register_device(device, device.partition("@")[0], device.partition("@")[2])
        recorder.begin(session)
        feeds.append(sorted(items, key=lambda i: i.t_us))
    board = ChairBoard(open_database(url))
    polls: list[float] = []
    threads = [r._thread for r in recorders]  # noqa: SLF001 - the writer threads whose CPU time is the figure
    cpu_before = sum(_thread_cpu_s(t.native_id or 0) for t in threads)
    server_before = _server_cpu_s(server)
    started = time.monotonic()
    positions = [0] * CHAIRS
    next_poll = started
    while (elapsed := time.monotonic() - started) < SECONDS:
        due_us = start_us + round(elapsed * US_PER_S)
        for k, feed in enumerate(feeds):
            end = positions[k]
            while end < len(feed) and feed[end].t_us <= due_us:
                end += 1
            if end > positions[k]:
                recorders[k].write(feed[positions[k] : end])
                positions[k] = end
        if time.monotonic() >= next_poll:  # the central station polls twice a second
            t = time.perf_counter()
            board.poll()
            polls.append((time.perf_counter() - t) * 1000)
            next_poll += 0.5
        time.sleep(BATCH_S)
    for recorder in recorders:
        recorder.flush(timeout=60)
    wall = time.monotonic() - started
    cpu = sum(_thread_cpu_s(t.native_id or 0) for t in threads) - cpu_before
    server_cpu = _server_cpu_s(server) - server_before
    assert len(board.poll()) == CHAIRS
    for recorder in recorders:
        recorder.stop()
    for engine in (*engines, board.engine):
        engine.dispose()
    return cpu / wall / CHAIRS, server_cpu / wall, median(polls)


def _central_frames() -> list[float]:
    from PySide6.QtWidgets import QApplication

    from kapmonitor.bed.clinic import ClinicBoard
    from kapmonitor.ui.central.window import CentralWindow
    from kapmonitor.ui.widgets.tones import Backend, TonePlayer

    app = QApplication.instance() or QApplication([])
    database = open_database("sqlite://")
    window = CentralWindow(ClinicBoard(database), "bench", player=TonePlayer(Backend("")), poll_ms=None)
    window.resize(1920, 1080)
    window.show()
    app.processEvents()
    times = []
    for frame in range(FRAMES):
        now = now_us()
        views = eight_chairs(now, frame)
        started = time.perf_counter()
        window.show_views(views, now)
        app.processEvents()  # the paint Qt schedules for the changed tiles
        times.append((time.perf_counter() - started) * 1000)
    window.close()
    database.dispose()
    return times


def _alarm_to_banner(server: LocalServer) -> list[float]:
    from PySide6.QtWidgets import QApplication

    from kapmonitor.bed.clinic import ClinicBoard
    from kapmonitor.bed.station import Station
    from kapmonitor.ui.central.window import CentralWindow
    from kapmonitor.ui.widgets.tones import Backend, TonePlayer

    url = server.create_database("bench_alarms")
    station = Station(url, bed="chair 5")
    onset: list[float] = []
    station.subscribe_alarms(
        lambda events: onset.extend(time.monotonic() for e in events if e.alarm == "spo2_desat" and e.state == "active")
    )
    station.start()
    station.start_session("BENCH-ALARM", "iv-infusion")
    app = QApplication.instance() or QApplication([])
    database = open_database(url)
    window = CentralWindow(ClinicBoard(database), "bench", player=TonePlayer(Backend("")))
    window.show()
    delays = []
    device = "nonin-df7@/dev/ttyUSB0"
    try:
        for _ in range(ALARMS):
            t0 = now_us()
            station.hub.publish([Reading("spo2", 80, "%", t_us=t0, device=device),
                                 Reading("spo2", 79, "%", t_us=t0 + 11 * US_PER_S, device=device)])
            before = len(onset)
            while not ("desaturation" in window.banner.text() and window.banner.isVisible()):
                app.processEvents()
                time.sleep(0.002)
            shown = time.monotonic()
            deadline = time.monotonic() + 5
            while len(onset) == before and time.monotonic() < deadline:
                time.sleep(0.01)
            delays.append((shown - onset[-1]) * 1000)
            for alarm in station.alarm_engine.active():
                station.alarm_engine.acknowledge(alarm.alarm_id, "bench")
            station.hub.publish([Reading("spo2", 97, "%", t_us=t0 + 12 * US_PER_S, device=device)])
            while window.banner.isVisible():
                app.processEvents()
                time.sleep(0.002)
    finally:
        window.close()
        station.stop()
        database.dispose()
    return delays


def _on_disk(server: LocalServer) -> tuple[float, float, float]:
    """MB of one 4-hour session: SQLite file, PostgreSQL tables, and the same data as a .vital file."""
    import tempfile

    from sqlalchemy import text

    from bench.bench_review import _write_vital
    from bench.fixtures import record_review_session
    from kapmonitor.export.loader import load_session

    with tempfile.TemporaryDirectory() as tmp:
        sqlite_path = Path(tmp) / "review.sqlite"
        engine = open_database(f"sqlite:///{sqlite_path}")
        session_id = record_review_session(engine, 4 * 3600).session_id
        _write_vital(load_session(engine, session_id), Path(tmp) / "review.vital")
        engine.dispose()
        sqlite_mb = sqlite_path.stat().st_size / 1e6
        vital_mb = (Path(tmp) / "review.vital").stat().st_size / 1e6
    engine = open_database(server.create_database("bench_size"))
    record_review_session(engine, 4 * 3600)
    with engine.connect() as conn:
        pg_bytes = conn.execute(text(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )).scalar()
    engine.dispose()
    return sqlite_mb, int(pg_bytes or 0) / 1e6, vital_mb


def run() -> list[Figure]:
    with _server() as server:
        per_chair, server_cores, poll_ms = _record_eight(server)
        delays = _alarm_to_banner(server)
        sqlite_mb, pg_mb, vital_mb = _on_disk(server)
    frames = _central_frames()
    return [
        Figure("clinic: 4-h session on disk / .vital, SQLite", sqlite_mb / vital_mb, "x", 1.5,
               note=f"{sqlite_mb:.1f} MB against {vital_mb:.1f} MB"),
        Figure("clinic: 4-h session on disk / .vital, PostgreSQL", pg_mb / vital_mb, "x", 1.5,
               note=f"{pg_mb:.1f} MB (tables, indexes, TOAST) against {vital_mb:.1f} MB"),
        Figure("clinic: recorder CPU per chair, 8 chairs into one PostgreSQL", per_chair * 100, "%", 5.0,
               note=f"{SECONDS:g} s real time; the server used {server_cores * 100:.0f} % of a core for all 8"),
        Figure("clinic: central station poll, 8 chairs recording, median", poll_ms, "ms", None,
               note="only rows newer than the last poll"),
        Figure("clinic: central station frame, 8 chairs, median", median(frames), "ms", 8.0,
               note=f"{FRAMES} frames, 1920x1080"),
        Figure("clinic: alarm onset at a chair to the central banner, p95", percentile(delays, 95), "ms", 1000.0,
               note=f"{ALARMS} desaturations; median {median(delays):.0f} ms; polled every 0.5 s"),
    ]

