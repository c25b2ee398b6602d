"""Soak: a long session, accelerated, through the real hub, live buffers and recorder, watching memory.

    python -m bench.soak --minutes 240 --speed 120     # four simulated hours in about two minutes

Fast in-process monitors (a pulse oximeter: 75 Hz pleth in third-of-a-second chunks with SpO2 and pulse rate;
a heart-rate strap: 1 Hz) publish ``speed`` times faster than real time, with times following the simulated
clock. The resident set size is sampled every ``--every`` seconds of wall time; the summary line gives its
growth after warm-up, and checks that every reading produced reached the database.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from kapmonitor.bed.station import Station
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.readings import Reading, WaveChunk
from kapmonitor.devices.base import LinkStats
from kapmonitor.devices.links.transport import LinkState, Publish, Transport

PLETH_HZ = 75
CHUNK = 25
WARM_UP_FRACTION = 0.2  # RSS growth is measured from here: caches and the first pages of the database settle


def rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):  # not Linux: the peak is the best figure available
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 1e6 if sys.platform == "darwin" else peak / 1e3


class FastOximeter(Transport):
    """Publishes a simulated oximeter ``speed`` times faster than real time (bench only, no bytes)."""

    def __init__(self, device: str, speed: float, minutes: float) -> None:
        protocol, _, address = device.partition("@")
        super().__init__(device, protocol, address)
        self.speed = speed
        self.total_chunks = int(minutes * 60 * PLETH_HZ / CHUNK)
        self.sent_chunks = 0
        self.sent_readings = 0
        self.done = threading.Event()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, publish: Publish) -> None:
        self._publish = publish
        self._set_state(LinkState.CONNECTED, "bench")
        self._thread = threading.Thread(target=self._run, name="kapmonitor-bench-oximeter", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def stats(self) -> LinkStats:
        return LinkStats()

    def _run(self) -> None:
        origin_us, started = now_us(), time.monotonic()
        while not self._halt.is_set() and self.sent_chunks < self.total_chunks:
            due = min(self.total_chunks, int((time.monotonic() - started) * self.speed * PLETH_HZ / CHUNK))
            while self.sent_chunks < due:
                self._emit(self._chunk(origin_us, self.sent_chunks))
                self.sent_chunks += 1
            self._halt.wait(0.02)
        self.done.set()

    def _chunk(self, origin_us: int, k: int) -> list[Reading | WaveChunk]:
        first = k * CHUNK
        t_us = origin_us + round(first * US_PER_S / PLETH_HZ)
        samples = tuple(
            round(2000 + 1500 * math.sin(2 * math.pi * 1.2 * (first + i) / PLETH_HZ)) for i in range(CHUNK)
        )
        items: list[Reading | WaveChunk] = [
            WaveChunk("pleth", PLETH_HZ, samples, t_us=t_us, device=self.device)
        ]
        if k % 3 == 2:  # numerics once a second, as the oximeters send them
            end_us = t_us + round(CHUNK * US_PER_S / PLETH_HZ)
            spo2 = 97.0 - (k // 3) % 4
            items += [
                Reading("spo2", spo2, "%", t_us=end_us, device=self.device),
                Reading("pulse_rate", 70.0 + (k // 3) % 9, "bpm", t_us=end_us, device=self.device),
            ]
            self.sent_readings += 2
        return items


@dataclass(frozen=True)
class SoakResult:
    minutes: float
    speed: float
    wall_s: float
    readings_sent: int
    readings_stored: int
    samples_stored: int
    rss_mb: tuple[float, ...]  # sampled every --every seconds
    db_mb: float
    dropped: int
    failure: str | None

    @property
    def growth_mb(self) -> float:
        start = self.rss_mb[min(len(self.rss_mb) - 1, int(len(self.rss_mb) * WARM_UP_FRACTION))]
        return self.rss_mb[-1] - start

    def summary(self) -> str:
        lost = self.readings_sent - self.readings_stored
        return (
            f"soak: {self.minutes:g} simulated min at x{self.speed:g} in {self.wall_s:.1f} s; "
            f"{self.readings_stored}/{self.readings_sent} readings and {self.samples_stored} pleth samples stored"
            f"{f' ({lost} LOST)' if lost else ''}; RSS {self.rss_mb[0]:.1f} -> {self.rss_mb[-1]:.1f} MB "
            f"(peak {max(self.rss_mb):.1f}, growth after warm-up {self.growth_mb:+.1f} MB); "
            f"db {self.db_mb:.1f} MB; dropped {self.dropped}; failure {self.failure or 'none'}"
        )


def run(minutes: float, speed: float, every_s: float = 1.0, db_path: Path | None = None) -> SoakResult:
    with tempfile.TemporaryDirectory(prefix="kapmonitor-soak-") as scratch:
        path = db_path or Path(scratch) / "soak.sqlite"
        station = Station(f"sqlite:///{path}")
        oximeter = FastOximeter("bench-oximeter@soak", speed, minutes)
        samples = [rss_mb()]
        started = time.monotonic()
        station.start()
        try:
            session = station.start_session("SOAK-0001", "bench")
            # Added only once the session is open: on a loaded machine a short soak could otherwise finish
            # publishing before the session started, and nothing would be recorded against it.
            station.add_transport(oximeter)
            while not oximeter.done.wait(every_s):
                samples.append(rss_mb())
            station.hub.stop()  # deliver what the oximeter published
            station.stop_session()
        finally:
            station.stop()
        samples.append(rss_mb())
        wall_s = time.monotonic() - started
        recorder = station.recorder
        assert recorder is not None
        check = Station(f"sqlite:///{path}", record=False)
        try:
            detail = check.repository.session_detail(session)
        finally:
            check.stop()
        tracks = {t["metric"]: t["samples"] for t in detail["tracks"]}
        return SoakResult(
            minutes,
            speed,
            wall_s,
            oximeter.sent_readings,
            tracks.get("spo2", 0) + tracks.get("pulse_rate", 0),
            tracks.get("pleth", 0),
            tuple(samples),
            path.stat().st_size / 1e6 + _wal_mb(path),
            recorder.dropped_rows,
            recorder.failure,
        )


def _wal_mb(path: Path) -> float:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size / 1e6 if wal.exists() else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="simulated session length")
    parser.add_argument("--speed", type=float, default=60.0, help="how many times faster than real time")
    parser.add_argument(
        "--every", type=float, default=1.0, metavar="S", help="RSS sampling interval, wall seconds"
    )
    args = parser.parse_args(argv)
    result = run(args.minutes, args.speed, args.every)
    print(result.summary())
    return 0 if result.readings_stored == result.readings_sent and result.dropped == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
