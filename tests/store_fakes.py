"""Test doubles for the store tests: devices that publish straight into a Station without bytes or a decoder,
a database that fails as a full disk does, and the rows a query gives.

``ScriptedMonitor`` sends exactly the items a test hands it; ``PacedMonitor`` streams a pleth waveform (75 Hz,
chunks of a third of a second, sample values counting up) and an SpO2 reading per chunk in real time on its
own thread. ``DiskFull`` makes every INSERT and UPDATE on an engine fail until ``failing`` is cleared.
``stored_readings`` and ``stored_wave_rows`` read back what was recorded, whether still staged or packed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, event, text

from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.readings import Item, Reading, WaveChunk
from kapmonitor.devices.base import LinkStats
from kapmonitor.devices.links.transport import LinkState, Publish, Transport
from kapmonitor.store.track_rows import StoredReading, readings_after, snapshot, tracks, wave_rows

PLETH_RATE_HZ = 75
CHUNK = 25  # samples: a third of a second, as the Nonin decoders deliver


class ScriptedMonitor(Transport):
    def __init__(self, name: str = "scripted@test") -> None:
        protocol, _, address = name.partition("@")
        super().__init__(name, protocol, address)

    def start(self, publish: Publish) -> None:
        self._publish = publish
        self._set_state(LinkState.CONNECTED, "scripted")

    def stop(self) -> None:
        if self._publish is not None:
            self._set_state(LinkState.STOPPED)
            self._publish = None

    def stats(self) -> LinkStats:
        return LinkStats()

    def send(self, items: Sequence[Item]) -> None:
        self._emit(items)


class PacedMonitor(Transport):
    def __init__(self, name: str = "paced@test") -> None:
        protocol, _, address = name.partition("@")
        super().__init__(name, protocol, address)
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, publish: Publish) -> None:
        self._publish = publish
        self._set_state(LinkState.CONNECTED)
        self._thread = threading.Thread(target=self._run, name="kapmonitor-test-paced", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def stats(self) -> LinkStats:
        return LinkStats()

    def _run(self) -> None:
        start_us = now_us()
        sent = 0
        while not self._halt.is_set():
            # Times follow the sample count (as a device's sample clock does), so the stream is
            # gap-free by design.
            due = (now_us() - start_us) * PLETH_RATE_HZ // US_PER_S
            while sent + CHUNK <= due:
                t_us = start_us + round(sent * US_PER_S / PLETH_RATE_HZ)
                chunk_end_us = start_us + round((sent + CHUNK) * US_PER_S / PLETH_RATE_HZ)
                self._emit(
                    [
                        WaveChunk(
                            "pleth",
                            PLETH_RATE_HZ,
                            tuple(range(sent, sent + CHUNK)),
                            t_us=t_us,
                            device=self.device,
                        ),
                        Reading("spo2", 97.0, "%", t_us=chunk_end_us, device=self.device),
                    ]
                )
                sent += CHUNK
            self._halt.wait(0.05)


class DiskFull:
    """A fault at the engine: every INSERT or UPDATE fails as SQLite does on a full disk, until ``failing`` is
    cleared."""

    def __init__(self, engine: Engine) -> None:
        self.failing = True
        event.listen(engine, "before_cursor_execute", self)

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.failing and statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            raise sqlite3.OperationalError("database or disk is full")


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    """What ``sql`` returns, as plain tuples."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def stored_readings(engine: Engine, metric: str | None = None) -> list[StoredReading]:
    """Every recorded reading in the database (of ``metric``), staged or packed into blocks, in the order they
    were stored (row id)."""
    with snapshot(engine) as conn:
        sessions = [sid for (sid,) in conn.execute(text("SELECT id FROM session"))]
        return readings_after(conn, sessions, None if metric is None else [metric], 0)


def stored_wave_rows(engine: Engine) -> list[tuple[int, float, int, bytes, str]]:
    """Every recorded waveform row ``(t_us, rate_hz, n_samples, samples, flags)``, staged or packed, in time
    order (``samples`` as ``wave_codec`` stores them)."""
    found: list[tuple[int, float, int, bytes, str]] = []
    with snapshot(engine) as conn:
        for (sid,) in conn.execute(text("SELECT id FROM session")).all():
            for device_id, _, metric in tracks(conn, sid, "wave"):
                w = wave_rows(conn, sid, device_id, metric)
                found += zip(
                    w.t_us.tolist(), w.rate_hz.tolist(), w.n_samples.tolist(), w.samples.tolist(), w.flags, strict=True
                )
    return sorted(found, key=lambda r: r[0])
