"""The values that flow from a device to the screen, the alarms and the database.

All are frozen: they cross threads. A decoder creates them unstamped (``t_us == 0``, ``device == ""``); the
transport that received the bytes stamps them with the host receive time and its device id.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeAlias


@dataclass(frozen=True, slots=True)
class Reading:
    """One numeric value of one metric. ``value is None`` means the device reported "no value"."""

    metric: str
    value: float | None
    unit: str
    flags: frozenset[str] = frozenset()
    t_device: datetime | None = None  # the device's own clock, naive local time as the device keeps it
    t_us: int = 0  # host receive time, UTC microseconds since the epoch
    device: str = ""

    def stamped(self, t_us: int, device: str) -> Reading:
        return replace(self, t_us=t_us, device=device)


@dataclass(frozen=True, slots=True)
class WaveChunk:
    """Consecutive samples of a waveform at a fixed rate.

    ``t_us`` is the time of the first sample, derived by the transport's sample clock from the sample counter and
    the rate, anchored at arrival: never from per-packet arrival jitter.
    """

    metric: str
    rate_hz: float
    samples: tuple[int, ...]
    flags: frozenset[str] = frozenset()
    t_us: int = 0
    device: str = ""

    def stamped(self, t_us: int, device: str) -> WaveChunk:
        return replace(self, t_us=t_us, device=device)

    @property
    def duration_us(self) -> int:
        return round(len(self.samples) * 1_000_000 / self.rate_hz)


@dataclass(frozen=True, slots=True)
class DecodeError:
    """Bytes a decoder could not accept: a checksum failure, a resynchronisation, a malformed field."""

    reason: str
    offset: int  # position in the decoder's input stream (bytes fed since creation)
    detail: str = ""
    t_us: int = 0
    device: str = ""

    def stamped(self, t_us: int, device: str) -> DecodeError:
        return replace(self, t_us=t_us, device=device)


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """Something that happened to a device's link: connected, disconnected, reconnecting, stale, a command sent."""

    kind: str
    detail: str = ""
    t_us: int = 0
    device: str = ""
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)


Item: TypeAlias = Reading | WaveChunk | DecodeError | LinkEvent
