"""Cold start: a new Python process to the main window's first drawn frame (database opened and migrated).

Budget (issue: foundation): <= 3 s. The first run also compiles bytecode; the figure is the median of five.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Figure, median

RUNS = 5


def run() -> list[Figure]:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(root)}
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(RUNS):
            db = f"sqlite:///{tmp}/cold{k}.sqlite"  # a new database each time: the migration is part of it
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "bench.cold_start_probe", db],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            if "painted" not in out.stdout:
                raise RuntimeError(f"cold start probe failed: {out.stderr.strip()[-500:]}")
            times.append(time.perf_counter() - started)
    return [
        Figure("cold start to first frame", median(times), "s", 3.0, note=f"median of {RUNS}, max {max(times):.2f} s")
    ]
