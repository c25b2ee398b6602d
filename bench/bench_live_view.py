"""Live view: one frame = new data in the buffers, the plot refresh, and the repaint Qt does for it.

Budget (issue: foundation): pleth + 3 trends + tiles at 30 fps, <= 8 ms median per frame, offscreen.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from bench.harness import Figure, median, percentile
from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import Reading, WaveChunk

OX = "nonin-df7@bench"
CUFF = "suntech-advantage@bench"
FRAMES = 300


def _fill_history(buffers: object, now: int) -> None:
    """An hour of 1-Hz numerics, NIBP every 5 min, and 30 s of 75-Hz pleth, as the window sees mid-session."""
    items: list[object] = []
    for k in range(3600):
        t = now - (3600 - k) * 1_000_000
        items.append(Reading("spo2", 97 + (k % 3), "%", t_us=t, device=OX))
        items.append(Reading("pulse_rate", 70 + 8 * np.sin(k / 60), "bpm", t_us=t, device=OX))
        if k % 300 == 0:
            for metric, value in (("nibp_systolic", 130), ("nibp_diastolic", 82), ("nibp_mean", 98)):
                items.append(Reading(metric, value, "mmHg", t_us=t, device=CUFF))
    start = now - 30_000_000
    samples = (30000 + 20000 * np.sin(np.arange(75 * 30) * 2 * np.pi * 1.2 / 75)).astype(int)
    for k in range(0, len(samples), 25):
        items.append(WaveChunk("pleth", 75.0, tuple(samples[k : k + 25]), t_us=start + k * 13_333, device=OX))
    buffers.write(items)  # type: ignore[attr-defined]


def run() -> list[Figure]:
    from PySide6.QtWidgets import QApplication

    from kapmonitor.bed.station import Station
    from kapmonitor.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        station = Station(f"sqlite:///{tmp}/bench.sqlite", record=False)
        clock = [now_us()]
        window = MainWindow(station, clock=lambda: clock[0])
        window.plot_timer.stop()
        window.status_timer.stop()
        window.resize(1600, 1000)
        window.show()
        _fill_history(station.buffers, clock[0])
        app.processEvents()
        times: list[float] = []
        phase = 0
        for frame in range(FRAMES):
            clock[0] += 33_333
            n = 3 if frame % 3 == 0 else 2  # 75 Hz at 30 fps
            wave = tuple(int(30000 + 20000 * np.sin((phase + i) * 2 * np.pi * 1.2 / 75)) for i in range(n))
            phase += n
            batch: list[object] = [WaveChunk("pleth", 75.0, wave, t_us=clock[0], device=OX)]
            if frame % 30 == 0:
                batch.append(Reading("spo2", 98, "%", t_us=clock[0], device=OX))
                batch.append(Reading("pulse_rate", 72, "bpm", t_us=clock[0], device=OX))
            station.buffers.write(batch)
            started = time.perf_counter()
            window.refresh_plots()
            if frame % 15 == 0:
                window.refresh_numbers()
            app.processEvents()  # the paint Qt schedules for what changed, as in the running app
            times.append((time.perf_counter() - started) * 1000)
        window.close()
        station.stop()
    return [
        Figure("live view frame, median", median(times), "ms", 8.0, note=f"{FRAMES} frames, 1600x1000"),
        Figure("live view frame, p95", percentile(times, 95), "ms", None),
    ]
