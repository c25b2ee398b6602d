"""Drives the bed's NIBP modules on the protocol's clock (see ``session.cuff_schedule``): sets each host-driven
cuff's interval for the session's phase, and starts one measurement when a BP check falls due (once per check
and due time, so a check that stays due while the cuff works does not start it again and again)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kapmonitor.core.readings import Reading
from kapmonitor.devices.links.transport import Transport
from kapmonitor.session.cuff_schedule import bp_checks_due, bp_interval_min
from kapmonitor.session.templates import ProtocolTemplate
from kapmonitor.session.timeline import SessionRecord


class CuffClock:
    def __init__(self, transports: Callable[[], Sequence[Transport]]) -> None:
        self.transports = transports
        self.interval_min: float | None = None
        self._set_once = False
        self._asked: set[tuple[str, int]] = set()
        self.measurements_started = 0  # how many measurements a due check has started (the prompts say so)

    def tick(
        self,
        template: ProtocolTemplate,
        record: SessionRecord,
        readings: Sequence[Reading],
        *,
        session_start_us: int,
        now_us: int,
    ) -> list[str]:
        """Bring the cuffs in line with the protocol at ``now_us``; returns what was done, in words."""
        done: list[str] = []
        interval = bp_interval_min(template, record, now_us)
        if interval != self.interval_min or not self._set_once:
            seconds = None if interval is None else interval * 60
            told = sum(t.set_measurement_interval(seconds) for t in self.transports())
            if told:
                self._set_once = True
                self.interval_min = interval
                done.append(f"every {interval:g} min" if interval is not None else "on demand")
        for prompt in bp_checks_due(template, record, readings, session_start_us=session_start_us, now_us=now_us):
            key = (prompt.check.text, prompt.due_us)
            if key in self._asked:
                continue
            if sum(t.request_measurement() for t in self.transports()):
                self._asked.add(key)
                self.measurements_started += 1
                done.append(f"measuring for {prompt.check.text}")
        return done
