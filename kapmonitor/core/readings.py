"""The values that flow from a device to the screen, the alarms and the database.

All are frozen: they cross threads. A decoder creates them unstamped (``t_us == 0``, ``device == ""``); the
transport that received the bytes stamps them with the host receive time and its device id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
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


class LinkEventKind(StrEnum):
    """What a :class:`LinkEvent` says happened. The values are what the recording stores and JSON Lines show."""

    # The link's state (devices.links.transport.LinkState publishes each change under the same word).
    STOPPED = "stopped"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    # The device went quiet or away, and came back.
    DISCONNECTED = "disconnected"
    RECONNECTED = "reconnected"
    GAP = "gap"  # the data stopped (a port lost, a simulated device paused)
    STALE = "stale"  # a streaming Bluetooth device sent nothing for a while
    FRESH = "fresh"  # ... and notifications resumed
    PORT_MOVED = "port_moved"  # a USB adapter found again under another name
    DISCONNECT = "disconnect"  # a disconnect that failed
    ERROR = "error"  # handling the device's data failed
    # What the device itself reported.
    ACK = "ack"  # the device acknowledged a command (a keepalive, a mode change)
    DEVICE_NOTICE = "device_notice"
    BATTERY = "battery"
    FEATURES = "features"  # a Bluetooth oximeter's supported features
    RACP = "racp"  # a Record Access Control Point answer (extra["response"] is the RacpResponse)
    MODULE_REPLY = "module_reply"  # an NIBP module's reply with no reading in it
    MEASUREMENT_STARTED = "measurement_started"
    MEASUREMENT_COMPLETE = "measurement_complete"
    MEASUREMENT_FAILED = "measurement_failed"
    NIBP_FAILED = "nibp_failed"
    DEMO = "demo"  # a network monitor sending demonstration data
    PATIENT_DATA = "patient_data"  # ... and real patient data again
    # The station's own recorder.
    RECORDING_FAILED = "recording_failed"
    RECORDING_RESUMED = "recording_resumed"


_NO_EXTRA: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """Something that happened to a device's link: connected, disconnected, reconnecting, stale, a command sent.

    ``kind`` given as text is turned into its :class:`LinkEventKind` (an unknown word raises ValueError);
    ``extra`` is copied into a read-only mapping, so the event stays a value as it crosses threads.
    """

    kind: LinkEventKind
    detail: str = ""
    t_us: int = 0
    device: str = ""
    extra: Mapping[str, object] = field(default_factory=lambda: _NO_EXTRA, compare=False, hash=False)

    def __post_init__(self) -> None:
        if type(self.kind) is not LinkEventKind:
            object.__setattr__(self, "kind", LinkEventKind(self.kind))
        if type(self.extra) is not MappingProxyType:
            object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))


Item: TypeAlias = Reading | WaveChunk | DecodeError | LinkEvent
