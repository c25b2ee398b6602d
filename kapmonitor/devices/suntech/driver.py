"""The host side of a SunTech module: when to start a measurement, when to poll the cuff, when to read the result."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from kapmonitor.core.readings import Item, LinkEvent, LinkEventKind, Reading
from kapmonitor.devices.suntech.frames import GET_BP_DATA, GET_CUFF_PRESSURE, START_BP


@dataclass(frozen=True)
class NibpSchedule:
    """When to measure and how patiently to wait: the nurse sets ``interval_s`` (None = on demand only)."""

    interval_s: float | None = 300.0
    measure_at_start: bool = False
    cuff_poll_s: float = 1.0
    measurement_timeout_s: float = 180.0  # start to result; SunTech's own safety limit is shorter
    silence_timeout_s: float = 10.0  # no reply at all while measuring
    reply_timeout_s: float = 3.0  # per result query
    result_attempts: int = 3


class SuntechDriver:
    """The host side of a SunTech module, pure: the transport asks what to send and tells what came back.

    Transport contract (about every 0.1-0.5 s, also when nothing was read)::

        data = driver.poll(now_s)          # now_s: a monotonic clock in seconds
        if data: port.write(data)
        items = decoder.feed(port.read(...))
        driver.on_items(items)
        emit(items + driver.drain_events())

    ``request_now()`` and ``set_interval()`` may be called from the UI thread (they only set attributes).
    Events: ``LinkEventKind.MEASUREMENT_STARTED`` and ``LinkEventKind.MEASUREMENT_FAILED`` (with a plain reason).
    """

    def __init__(self, schedule: NibpSchedule | None = None) -> None:
        self.schedule = schedule or NibpSchedule()
        self.state = "idle"  # idle | measuring | reading
        self.next_due_s: float | None = None
        self._requested = False
        self._anchor: float | None = None  # the interval runs from here: first poll, then each start
        self._started_s = self._last_poll_s = self._last_heard_s = 0.0
        self._heard = self._complete = self._finished = False
        self._peak_mmhg = 0.0
        self._attempts = 0
        self._events: list[Item] = []

    def request_now(self) -> None:
        self._requested = True

    def set_interval(self, interval_s: float | None) -> None:
        self.schedule = replace(self.schedule, interval_s=interval_s)
        if self._anchor is not None:
            self.next_due_s = None if interval_s is None else self._anchor + interval_s

    def drain_events(self) -> list[Item]:
        events, self._events = self._events, []
        return events

    def on_items(self, items: Iterable[Item]) -> None:
        items = list(items)
        explained = any(isinstance(i, LinkEvent) and i.kind is LinkEventKind.MEASUREMENT_FAILED for i in items)
        for item in items:
            self._heard = True
            if isinstance(item, Reading) and item.metric == "cuff_pressure" and item.value is not None:
                self._peak_mmhg = max(self._peak_mmhg, item.value)
                # Deflated after having inflated: done even if the 'K' notice was lost.
                self._complete |= self._peak_mmhg >= 50 and item.value <= 10
            elif isinstance(item, LinkEvent) and item.kind is LinkEventKind.MEASUREMENT_COMPLETE:
                self._complete = True
            elif isinstance(item, Reading) and item.metric == "nibp_systolic" and self.state == "reading":
                self._finished = True
                if item.value is None and not explained:
                    failed = LinkEvent(LinkEventKind.MEASUREMENT_FAILED, "the NIBP module returned no values")
                    self._events.append(failed)

    def poll(self, now_s: float) -> bytes:
        if self._anchor is None:
            self._anchor = now_s
            interval = self.schedule.interval_s
            self.next_due_s = (
                now_s if self.schedule.measure_at_start else (None if interval is None else now_s + interval)
            )
        if self._heard:
            self._last_heard_s, self._heard = now_s, False
        if self.state == "measuring":
            return self._measuring(now_s)
        if self.state == "reading":
            return self._reading(now_s)
        due = self.next_due_s is not None and now_s >= self.next_due_s
        if self._requested or due:
            return self._start(now_s)
        return b""

    def _start(self, now_s: float) -> bytes:
        self._requested = self._complete = self._finished = False
        self._peak_mmhg = 0.0
        self.state, self._started_s = "measuring", now_s
        self._last_poll_s = self._last_heard_s = now_s
        self._anchor = now_s
        interval = self.schedule.interval_s
        self.next_due_s = None if interval is None else now_s + interval
        self._events.append(LinkEvent(LinkEventKind.MEASUREMENT_STARTED, "NIBP measurement started"))
        return START_BP

    def _measuring(self, now_s: float) -> bytes:
        s = self.schedule
        if now_s - self._started_s > s.measurement_timeout_s:
            return self._fail(f"no result from the cuff within {s.measurement_timeout_s:g} s")
        if now_s - self._last_heard_s > s.silence_timeout_s:
            return self._fail(f"the NIBP module stopped answering for {s.silence_timeout_s:g} s")
        if self._complete:
            self.state, self._attempts, self._last_poll_s = "reading", 1, now_s
            return GET_BP_DATA
        if now_s - self._last_poll_s >= s.cuff_poll_s:
            self._last_poll_s = now_s
            return GET_CUFF_PRESSURE
        return b""

    def _reading(self, now_s: float) -> bytes:
        if self._finished:
            self.state = "idle"
            return b""
        if now_s - self._last_poll_s < self.schedule.reply_timeout_s:
            return b""
        if self._attempts >= self.schedule.result_attempts:
            return self._fail("the NIBP module did not send the result")
        self._attempts += 1
        self._last_poll_s = now_s
        return GET_BP_DATA

    def _fail(self, reason: str) -> bytes:
        self.state = "idle"
        self._events.append(LinkEvent(LinkEventKind.MEASUREMENT_FAILED, reason))
        return b""
