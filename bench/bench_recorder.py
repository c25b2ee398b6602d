"""The recorder keeping up with 16 simulated Nonin oximeters (75 Hz pleth, 1 Hz SpO2 and pulse each), in real time.

Budget (issue: foundation): < 5 % of one core. Measured as the process's CPU time over the run; the feeding loop
stands in for the hub (a batch every 20 ms) and costs next to nothing beside the recorder's writer thread.
"""

from __future__ import annotations

import resource
import tempfile
import time

from bench.harness import Figure
from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import Item, Reading, WaveChunk
from kapmonitor.store.db import open_database
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.repository import SessionRepository

OXIMETERS = 16
SECONDS = 20.0
BATCH_S = 0.02


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run() -> list[Figure]:
    devices = [f"nonin-df7@/dev/ttyUSB{k}" for k in range(OXIMETERS)]
    samples = tuple(range(1000, 1025))
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_database(f"sqlite:///{tmp}/bench.sqlite")
        session = SessionRepository(engine).start_session("BENCH-16")
        recorder = Recorder(engine)
        for d in devices:
            recorder.register_device(d, "nonin-df7", d.split("@")[1])
        recorder.begin(session)
        start_us = now_us()
        started_cpu, started = _cpu_s(), time.monotonic()
        packet, second = 0, 0
        while (elapsed := time.monotonic() - started) < SECONDS:
            batch: list[Item] = []
            while packet * (1 / 3) <= elapsed:  # a DF7 packet is 25 samples, three a second
                t = start_us + packet * 333_333
                batch += [WaveChunk("pleth", 75.0, samples, t_us=t, device=d) for d in devices]
                packet += 1
            while second <= elapsed:
                t = start_us + second * 1_000_000
                for d in devices:
                    batch += [
                        Reading("spo2", 97, "%", t_us=t, device=d),
                        Reading("pulse_rate", 72, "bpm", t_us=t, device=d),
                    ]
                second += 1
            recorder.write(batch)
            time.sleep(BATCH_S)
        recorder.flush()
        cpu = _cpu_s() - started_cpu
        wall = time.monotonic() - started
        recorder.stop()
        tracks = SessionRepository(engine).session_detail(session)["tracks"]  # staged or packed into blocks
        chunks = sum(t["samples"] for t in tracks if t["kind"] == "wave")
        numerics = sum(t["samples"] for t in tracks if t["kind"] == "numeric")
        engine.dispose()
    expected = packet * 25 * OXIMETERS
    return [
        Figure(
            "recorder, 16 oximeters, CPU",
            100 * cpu / wall,
            "% of a core",
            5.0,
            note=f"{wall:.0f} s; {chunks}/{expected} pleth samples, {numerics} numerics stored",
        )
    ]
