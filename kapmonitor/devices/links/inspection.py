"""What a technician's connection test sees: the raw bytes and the decoded items of one link, in the order
they happened, collected from the link's thread and drained by the window's timer.

Bounded: a test left running over lunch keeps only the newest entries.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import DecodeError, Item, Reading
from kapmonitor.devices.base import SerialSettings
from kapmonitor.devices.links.transport import DeviceStatus, LinkState

MAX_ENTRIES = 2000
SETTLE_S = 3.0  # a slow device sends its first frame within this; before it, silence proves nothing


@dataclass(frozen=True)
class RawBytes:
    """Bytes as read from the port, before decoding."""

    data: bytes
    t_us: int


Entry = RawBytes | Item


class LinkTap:
    """A publish target and a raw-byte tap for one link under test. Thread-safe."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._lock = threading.Lock()
        self._new: deque[Entry] = deque(maxlen=max_entries)
        self.latest: dict[str, Reading] = {}  # the last value of each metric, for the live read-out
        self.errors = 0

    def raw(self, data: bytes) -> None:
        with self._lock:
            self._new.append(RawBytes(bytes(data), now_us()))

    def __call__(self, items: Sequence[Item]) -> None:
        with self._lock:
            for item in items:
                self._new.append(item)
                if isinstance(item, Reading):
                    self.latest[item.metric] = item
                elif isinstance(item, DecodeError):
                    self.errors += 1

    def drain(self) -> list[Entry]:
        with self._lock:
            entries = list(self._new)
            self._new.clear()
            return entries

    def latest_values(self) -> dict[str, Reading]:
        with self._lock:
            return dict(self.latest)


def link_quality(status: DeviceStatus, now: int | None = None) -> str:
    """The link-quality counters of one device in one line: frames, errors, resyncs, discards, data age."""
    s = status.stats
    age = status.data_age_s(now)
    age_text = "no data yet" if age is None else f"data {max(0.0, age):.1f} s old"
    counts = (
        _count(s.frames_ok, "frame"),
        _count(s.checksum_errors, "checksum error"),
        _count(s.resyncs, "resync"),
        f"{_count(s.bytes_discarded, 'byte')} discarded",
    )
    return " · ".join((*counts, age_text))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def diagnosis(status: DeviceStatus, settings_text: str, elapsed_s: float) -> str:
    """What a connection test shows so far, with the likely cause when it is not working."""
    s = status.stats
    if status.state in (LinkState.RECONNECTING, LinkState.FAILED, LinkState.CONNECTING) and status.message:
        return status.message
    if s.frames_ok > 0:
        return f"receiving {status.protocol} from {status.address}"
    if elapsed_s < SETTLE_S:
        return f"listening on {status.address} at {settings_text} ..."
    if s.bytes_in == 0:
        return (
            f"nothing received from {status.address} in {elapsed_s:.0f} s: is the device switched on, the "
            "cable in, and is this the right port? (Detect tries every known model)"
        )
    return (
        f"{s.bytes_in} bytes received but none form a {status.protocol} frame: the baud rate or parity is "
        f"probably wrong ({settings_text} now), or the device is another model; try Detect"
    )


def settings_text(settings: SerialSettings) -> str:
    """``9600 8N1`` and the flow control, the way a device manual writes serial settings."""
    flow = " XON/XOFF" if settings.xonxoff else (" RTS/CTS" if settings.rtscts else "")
    return f"{settings.baudrate} {settings.bytesize}{settings.parity}{settings.stopbits:g}{flow}"
