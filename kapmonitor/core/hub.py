"""Thread-safe fan-out from device transports to the live view, the alarm engine and the recorder.

Producers (serial threads, the Bluetooth loop, simulators) call :meth:`Hub.publish` with lists of items. One
dispatcher thread hands each sink a whole batch every ``batch_s`` seconds at most, so no consumer ever sees one call
(or one Qt signal) per sample.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

from kapmonitor.core.readings import Item

log = logging.getLogger(__name__)

Sink = Callable[[Sequence[Item]], None]


class Hub:
    def __init__(self, batch_s: float = 0.02) -> None:
        self.batch_s = batch_s
        self._queue: queue.SimpleQueue[list[Item] | threading.Event | None] = queue.SimpleQueue()
        self._sinks: list[Sink] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.sink_errors = 0

    def subscribe(self, sink: Sink) -> None:
        with self._lock:
            self._sinks = [*self._sinks, sink]

    def unsubscribe(self, sink: Sink) -> None:
        with self._lock:
            self._sinks = [s for s in self._sinks if s is not sink]

    def publish(self, items: Sequence[Item]) -> None:
        if items:
            self._queue.put(list(items))

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kapmonitor-hub", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Deliver everything already published, then stop. Safe to call twice."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def sync(self, timeout: float = 5.0) -> bool:
        """Block until everything published before this call has been delivered to every sink.

        Ending a session uses it, so readings that were on their way when the nurse pressed Stop still count.
        """
        if self._thread is None:
            self.drain()
            return True
        marker = threading.Event()
        self._queue.put(marker)
        return marker.wait(timeout)

    def drain(self) -> None:
        """Deliver what is queued now, on the caller's thread (for tests and headless replay)."""
        batch, _ = self._collect(block=False)
        if batch:
            self._deliver(batch)

    def _collect(self, block: bool) -> tuple[list[Item], bool]:
        batch: list[Item] = []
        stopping = False
        try:
            first = self._queue.get(timeout=0.5) if block else self._queue.get_nowait()
        except queue.Empty:
            return batch, stopping
        if first is None:
            stopping = True
        elif isinstance(first, threading.Event):
            first.set()  # nothing was queued before this marker that is not already delivered
            return batch, stopping
        else:
            batch.extend(first)
        deadline = time.monotonic() + self.batch_s
        while not stopping:
            remaining = deadline - time.monotonic()
            try:
                more = self._queue.get(timeout=remaining) if remaining > 0 and block else self._queue.get_nowait()
            except queue.Empty:
                break
            if more is None:
                stopping = True
            elif isinstance(more, threading.Event):
                self._deliver(batch)  # everything before the marker, then the marker
                batch = []
                more.set()
            else:
                batch.extend(more)
        return batch, stopping

    def _run(self) -> None:
        while True:
            batch, stopping = self._collect(block=True)
            if batch:
                self._deliver(batch)
            if stopping:
                return

    def _deliver(self, batch: list[Item]) -> None:
        for sink in self._sinks:
            try:
                sink(batch)
            except Exception:  # one failing consumer must not starve the others (or lose the recording)
                self.sink_errors += 1
                log.exception("hub sink %r failed", sink)
