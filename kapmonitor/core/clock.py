"""Time: UTC microseconds for storage, local time for display, and waveform sample times from a counter."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

US_PER_S = 1_000_000
# A sample clock that disagrees with arrival by more than this was interrupted (a gap, a reconnect): re-anchor.
REANCHOR_THRESHOLD_US = 1_000_000


def _elapsed_ns() -> int:
    """A clock that never steps and keeps counting while the computer sleeps (where the system offers one)."""
    if hasattr(time, "CLOCK_BOOTTIME"):  # Linux: CLOCK_MONOTONIC stops during suspend, BOOTTIME does not
        return time.clock_gettime_ns(time.CLOCK_BOOTTIME)
    if sys.platform == "darwin":  # macOS: CLOCK_MONOTONIC counts sleep; time.monotonic() does not
        return time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    return time.monotonic_ns()


class AnchoredClock:
    """UTC time as the wall clock said at the anchor, advanced by a monotonic clock since.

    A wall clock set back an hour (by hand, by a time server, at a daylight-saving mistake) would otherwise
    put later readings before earlier ones and make a session's duration wrong. The anchor moves only when
    :meth:`reanchor` is called (the station does so when a session starts); :meth:`wall_offset_us` says how far
    the wall clock has moved away since, so the user can be told.
    """

    def __init__(self) -> None:
        self.reanchor()

    def reanchor(self) -> None:
        # One tuple, assigned at once: a reader on another thread sees the old anchor or the new, never half.
        self._anchor = (time.time_ns(), _elapsed_ns())

    def now_us(self) -> int:
        wall_ns, elapsed_ns = self._anchor
        return (wall_ns + _elapsed_ns() - elapsed_ns) // 1000

    def wall_offset_us(self) -> int:
        """The wall clock minus this clock: non-zero (beyond NTP's slewing) once the wall clock jumped."""
        return time.time_ns() // 1000 - self.now_us()


HOST_CLOCK = AnchoredClock()


def now_us() -> int:
    """Host time, UTC microseconds since the epoch: the wall clock at the last anchor, advanced monotonically."""
    return HOST_CLOCK.now_us()


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
