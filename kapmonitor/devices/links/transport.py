"""The part of a device that owns I/O: opening, reading, stamping arrival, reconnecting with back-off."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import Item, LinkEvent, LinkEventKind
from kapmonitor.devices.base import LinkStats

Publish = Callable[[Sequence[Item]], None]


class LinkState(StrEnum):
    STOPPED = "stopped"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"


@dataclass(frozen=True)
class DeviceStatus:
    """What the device strip and the Devices window show about one device."""

    device: str
    protocol: str
    address: str
    state: LinkState
    stats: LinkStats
    last_data_us: int | None
    message: str = ""
    reconnects: int = 0
    # Devices that speak only when asked (an NIBP module between measurements) are quiet by design: their
    # silence is not "no data".
    quiet_between_requests: bool = False

    def data_age_s(self, now: int | None = None) -> float | None:
        """Seconds since the last item arrived (None before any did)."""
        if self.last_data_us is None:
            return None
        return ((now_us() if now is None else now) - self.last_data_us) / 1_000_000


class Transport(ABC):
    """Base of every link. Subclasses implement :meth:`_run` (on their own thread or loop) and call
    :meth:`_emit` with stamped items and :meth:`_set_state` on every change, which is published as a LinkEvent."""

    quiet_between_requests = False

    def __init__(self, device: str, protocol: str, address: str) -> None:
        self.device = device
        self.protocol = protocol
        self.address = address
        self._state = LinkState.STOPPED
        self._message = ""
        self._last_data_us: int | None = None
        self.reconnects = 0  # links that come back after a gap count here
        self._publish: Publish | None = None
        self._status_lock = threading.Lock()

    @property
    def state(self) -> LinkState:
        return self._state

    @abstractmethod
    def start(self, publish: Publish) -> None: ...

    @abstractmethod
    def stop(self) -> None:
        """Close the link and join any thread. Idempotent."""

    @abstractmethod
    def stats(self) -> LinkStats: ...

    def request_measurement(self) -> bool:
        """Ask the device to measure now (an NIBP cuff the host drives); False when it cannot be asked."""
        return False

    def set_measurement_interval(self, interval_s: float | None) -> bool:
        """Measure every ``interval_s`` (None: on demand only) on a cuff the host drives; False when it cannot."""
        return False

    def status(self) -> DeviceStatus:
        with self._status_lock:
            return DeviceStatus(
                self.device,
                self.protocol,
                self.address,
                self._state,
                self.stats(),
                self._last_data_us,
                self._message,
                self.reconnects,
                self.quiet_between_requests,
            )

    def _set_state(self, state: LinkState, message: str = "") -> None:
        with self._status_lock:
            changed = state != self._state or message != self._message
            self._state, self._message = state, message
        if changed and self._publish is not None:
            self._publish([LinkEvent(LinkEventKind(state.value), message, now_us(), self.device)])

    def _emit(self, items: Sequence[Item]) -> None:
        if items and self._publish is not None:
            with self._status_lock:
                self._last_data_us = max(getattr(i, "t_us", 0) for i in items) or self._last_data_us
            self._publish(items)
