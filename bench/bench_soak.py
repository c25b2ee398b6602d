"""Soak: four simulated hours through the station's hub, live buffers and recorder, at 240x, watching memory.

Budget (issue: trust): memory stays flat, here: resident set growth after warm-up <= 10 MB, and every reading
produced is in the database. Longer runs: ``python -m bench.soak --minutes N --speed X``.
"""

from __future__ import annotations

from bench.harness import Figure
from bench.soak import run as soak

MINUTES = 240
SPEED = 240


def run() -> list[Figure]:
    result = soak(MINUTES, SPEED)
    stored = f"{result.readings_stored}/{result.readings_sent} readings stored, {result.samples_stored} pleth samples"
    return [
        Figure(
            f"soak {MINUTES} min at {SPEED}x, RSS growth after warm-up",
            result.growth_mb,
            "MB",
            10.0,
            note=f"{stored}; RSS {result.rss_mb[0]:.0f} -> {max(result.rss_mb):.0f} MB; db {result.db_mb:.1f} MB",
        ),
        Figure(
            "soak, readings lost",
            float(result.readings_sent - result.readings_stored),
            "readings",
            0.0,
            note=f"{result.dropped} rows dropped by the recorder",
        ),
    ]
