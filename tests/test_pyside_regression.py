"""PySide6 6.12.0 on Python 3.11 drops a reference to None on every void Qt call and aborts the process
with "Fatal Python error: none_dealloc" within seconds of plotting. Keep that release out, and keep plotting
alive."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import PySide6

PLOT_FOR_THREE_SECONDS = textwrap.dedent(
    """
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    plot = pg.PlotWidget()
    plot.resize(800, 400)
    plot.show()
    curve = plot.plot(pen=pg.mkPen("c", width=1))
    x = np.arange(750) / 75.0
    frame = [0]

    def draw():  # many void Qt calls per frame, as the live view makes them
        frame[0] += 1
        curve.setData(x, np.sin(x * 7 + frame[0] * 0.1))
        plot.setXRange(0, 10, padding=0)
        plot.setTitle(f"frame {frame[0]}")

    timer = QTimer()
    timer.timeout.connect(draw)
    timer.start(16)
    QTimer.singleShot(3000, app.quit)
    app.exec()
    print("frames", frame[0])
    """
)


def test_the_installed_pyside6_is_not_the_release_that_aborts_on_python_3_11() -> None:
    if sys.version_info < (3, 12):
        assert PySide6.__version__ != "6.12.0", "PySide6 6.12.0 aborts with none_dealloc on Python 3.11"


def test_plotting_continuously_for_three_seconds_does_not_abort_the_process() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", PLOT_FOR_THREE_SECONDS], env=env, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "none_dealloc" not in done.stderr
    assert done.stdout.startswith("frames ")
