"""Time: UTC microseconds for storage, local time for display, and waveform sample times from a counter."""

from __future__ import annotations

import time
from datetime import UTC, datetime

US_PER_S = 1_000_000
# A sample clock that disagrees with arrival by more than this was interrupted (a gap, a reconnect): re-anchor.
REANCHOR_THRESHOLD_US = 1_000_000


def now_us() -> int:
    """Host wall-clock time, UTC microseconds since the epoch."""
    return time.time_ns() // 1000


def monotonic_us() -> int:
    return time.monotonic_ns() // 1000


def to_datetime(t_us: int) -> datetime:
    return datetime.fromtimestamp(t_us / US_PER_S, tz=UTC)


def iso(t_us: int | None) -> str | None:
    """ISO-8601 in local time with its UTC offset, as exports and the command line print times."""
    if t_us is None:
        return None
    return to_datetime(t_us).astimezone().isoformat(timespec="milliseconds")


def from_iso(text: str) -> int:
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.astimezone()
    return round(dt.timestamp() * US_PER_S)


class SampleClock:
    """Gives each waveform chunk the time of its first sample from the running sample count.

    The first chunk anchors the clock at its arrival time minus its own duration. Later chunks follow the count, so
    serial or radio jitter never bends the waveform. When the counted time and the arrival time drift apart by more
    than a second (a gap, a replug, a device that runs fast) the clock re-anchors and reports it.
    """

    def __init__(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        self._anchor_us: int | None = None
        self._count = 0
        self.reanchors = 0

    def place(self, n_samples: int, arrival_us: int) -> int:
        chunk_us = round(n_samples * US_PER_S / self.rate_hz)
        if self._anchor_us is None:
            self._anchor_us = arrival_us - chunk_us
            self._count = 0
        start_us = self._anchor_us + round(self._count * US_PER_S / self.rate_hz)
        if abs(arrival_us - (start_us + chunk_us)) > REANCHOR_THRESHOLD_US:
            self.reanchors += 1
            self._anchor_us = arrival_us - chunk_us
            self._count = 0
            start_us = self._anchor_us
        self._count += n_samples
        return start_us

    def reset(self) -> None:
        self._anchor_us = None
        self._count = 0
