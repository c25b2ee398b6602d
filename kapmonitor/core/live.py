"""Preallocated ring buffers per track, written by the hub and read by the UI timer."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kapmonitor.core.readings import Item, Reading, WaveChunk

TrackKey = tuple[str, str]  # (device, metric)


class Ring:
    """A fixed-capacity ring of (time, value) pairs. Times are UTC seconds as float64; missing values are NaN."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._t = np.zeros(capacity, dtype=np.float64)
        self._v = np.full(capacity, np.nan, dtype=np.float64)
        self._head = 0  # next write position
        self._size = 0
        self.total = 0

    def extend(self, t: np.ndarray, v: np.ndarray) -> None:
        n = len(t)
        if n >= self.capacity:
            t, v, n = t[-self.capacity :], v[-self.capacity :], self.capacity
        end = self._head + n
        if end <= self.capacity:
            self._t[self._head : end] = t
            self._v[self._head : end] = v
        else:
            first = self.capacity - self._head
            self._t[self._head :] = t[:first]
            self._v[self._head :] = v[:first]
            self._t[: n - first] = t[first:]
            self._v[: n - first] = v[first:]
        self._head = end % self.capacity
        self._size = min(self.capacity, self._size + n)
        self.total += n

    def arrays(self, since_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Copies in time order, optionally only samples at or after ``since_s``."""
        if self._size < self.capacity:
            t, v = self._t[: self._size].copy(), self._v[: self._size].copy()
        else:
            t = np.concatenate((self._t[self._head :], self._t[: self._head]))
            v = np.concatenate((self._v[self._head :], self._v[: self._head]))
        if since_s is not None and len(t):
            start = int(np.searchsorted(t, since_s, side="left"))
            t, v = t[start:], v[start:]
        return t, v


@dataclass(frozen=True)
class Latest:
    """The newest numeric value of a track, for the big tiles."""

    value: float | None
    flags: frozenset[str]
    t_us: int


class LiveBuffers:
    """Every track's recent history. ``write`` is a hub sink; the UI reads ``arrays`` and ``latest``."""

    def __init__(self, wave_seconds: float = 30.0, trend_seconds: float = 3600.0) -> None:
        self.wave_seconds = wave_seconds
        self.trend_seconds = trend_seconds
        self._rings: dict[TrackKey, Ring] = {}
        self._latest: dict[TrackKey, Latest] = {}
        self._lock = threading.Lock()

    def _ring(self, key: TrackKey, capacity: int) -> Ring:
        ring = self._rings.get(key)
        if ring is None:
            ring = self._rings[key] = Ring(capacity)
        return ring

    def write(self, items: Sequence[Item]) -> None:
        with self._lock:
            for item in items:
                if isinstance(item, WaveChunk):
                    n = len(item.samples)
                    ring = self._ring((item.device, item.metric), int(item.rate_hz * self.wave_seconds) + 1)
                    t = item.t_us / 1e6 + np.arange(n) / item.rate_hz
                    ring.extend(t, np.asarray(item.samples, dtype=np.float64))
                elif isinstance(item, Reading):
                    key = (item.device, item.metric)
                    ring = self._ring(key, int(self.trend_seconds * 2) + 16)
                    value = np.nan if item.value is None else item.value
                    ring.extend(np.array([item.t_us / 1e6]), np.array([value]))
                    self._latest[key] = Latest(item.value, item.flags, item.t_us)

    def arrays(self, key: TrackKey, since_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            ring = self._rings.get(key)
            if ring is None:
                return np.empty(0), np.empty(0)
            return ring.arrays(since_s)

    def latest(self, key: TrackKey) -> Latest | None:
        with self._lock:
            return self._latest.get(key)

    def latest_for_metric(self, metric: str) -> tuple[str, Latest] | None:
        """The freshest value of a metric across devices, with the device it came from."""
        with self._lock:
            best = None
            for (device, m), latest in self._latest.items():
                if m == metric and (best is None or latest.t_us > best[1].t_us):
                    best = (device, latest)
            return best

    def tracks(self) -> list[TrackKey]:
        with self._lock:
            return list(self._rings)

    def total(self, key: TrackKey) -> int:
        with self._lock:
            ring = self._rings.get(key)
            return 0 if ring is None else ring.total
