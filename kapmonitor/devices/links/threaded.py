"""What every byte-stream link shares: its descriptor and decode path, a reader thread, start and stop.

A subclass says where its bytes come from in :meth:`_serve` (a serial port, an in-process simulator), runs until
``self._stop`` is set, and calls ``self._emit(self._path.feed(data, arrival_us))``.
"""

from __future__ import annotations

import logging
import threading
from abc import abstractmethod

from kapmonitor.devices.base import DeviceDescriptor, HostDriver, LinkStats
from kapmonitor.devices.links.stamping import DecodePath, resolve
from kapmonitor.devices.links.transport import LinkState, Publish, Transport

log = logging.getLogger(__name__)


class ThreadedLink(Transport):
    thread_prefix = "kapmonitor-link"

    def __init__(
        self, protocol: str | DeviceDescriptor, address: str, *, device: str | None, driver: HostDriver | None
    ) -> None:
        self.descriptor = resolve(protocol)
        name = self.descriptor.protocol
        super().__init__(device or f"{name}@{address}", name, address)
        self._path = DecodePath(self.descriptor, self.device, driver)
        self.quiet_between_requests = self._path.driver is not None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, publish: Publish) -> None:
        if self._thread is not None:
            return
        self._publish = publish
        self._stop.clear()
        self._opening()
        self._thread = threading.Thread(target=self._run, name=f"{self.thread_prefix}-{self.address}", daemon=True)
        self._thread.start()

    def request_measurement(self) -> bool:
        """A host-driven device (SunTech) starts a measurement at its driver's next poll."""
        driver = self._path.driver
        if driver is None:
            return False
        driver.request_now()
        return True

    def set_measurement_interval(self, interval_s: float | None) -> bool:
        """A host-driven device (SunTech) measures on this cycle from its driver's next poll."""
        driver = self._path.driver
        set_interval = getattr(driver, "set_interval", None)
        if set_interval is None:
            return False
        set_interval(interval_s)
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
            self._set_state(LinkState.STOPPED, "stopped")

    def stats(self) -> LinkStats:
        return self._path.stats()

    def _opening(self) -> None:
        """Runs in the caller of :meth:`start`, before the thread: a setting that cannot work fails there."""

    def _closing(self) -> None:
        """Runs on the link's thread as it ends, however it ends."""

    def _run(self) -> None:
        try:
            self._serve()
        except Exception as exc:  # a decoder, simulator or sink bug must show on the device strip, not vanish
            log.exception("link %s failed", self.device)
            self._set_state(LinkState.FAILED, f"{self._failure_words()}: {exc}")
        finally:
            self._closing()

    @abstractmethod
    def _serve(self) -> None: ...

    @abstractmethod
    def _failure_words(self) -> str:
        """What failed, in words, before the exception's own message."""
