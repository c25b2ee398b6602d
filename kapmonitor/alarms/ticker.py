"""The alarm engine's heartbeat in a live station: lets time pass about once a second (delays run out, data
goes stale, an audio pause ends even when nothing arrives) and hands every alarm event to the station's
alarm sinks (the alarm log, the window).

The engine is a hub sink, so items reach it on the hub thread; this thread only ticks and fans out. Events a
person caused (acknowledge, pause) wait in the engine's queue and go out with the next beat, or at once via
:meth:`AlarmTicker.pump`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import Item

log = logging.getLogger(__name__)

TICK_S = 1.0
AlarmSink = Callable[[Sequence[AlarmEvent]], None]
Check = Callable[[int], list[Item]]  # items about the station itself (a failing recorder), given the time


class AlarmTicker:
    def __init__(
        self,
        engine: AlarmEngine,
        *,
        interval_s: float = TICK_S,
        clock: Callable[[], int] = now_us,
        checks: Sequence[Check] = (),
    ) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self.clock = clock
        self.checks = list(checks)
        self._sinks: list[AlarmSink] = []
        self._lock = threading.Lock()  # one fan-out at a time, so sinks see events in order
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def subscribe(self, sink: AlarmSink) -> None:
        """``sink(events)`` is called on the ticker's thread (or the caller of :meth:`pump`); keep it short."""
        self._sinks.append(sink)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="kapmonitor-alarm-tick", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the beat after a last one, so events of the final moments are delivered. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.pump()

    def pump(self) -> list[AlarmEvent]:
        """One beat now: run the checks, tick the engine, deliver what is queued. Returns the events."""
        with self._lock:
            now = self.clock()
            for check in self.checks:
                items = check(now)
                if items:
                    self.engine.process(items)
            self.engine.tick(now)
            events = self.engine.drain_events()
            if events:
                for sink in self._sinks:
                    try:
                        sink(events)
                    except Exception:  # one broken consumer must not stop the alarm log or the bar
                        log.exception("alarm sink %r failed", sink)
            return events

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.pump()
