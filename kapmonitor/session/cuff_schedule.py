"""The cuff on the protocol's clock: how often the NIBP module should measure in the session's current phase,
and which blood-pressure checks are due for a measurement now.

Pure functions of the template, the record and ``now``. The interval comes from the template's ``every`` BP
checks whose phase is running (an IV infusion: every 10 min while it runs, every 15 min after it stops); a
protocol with only fixed BP times (esketamine: before dosing, about 40 min after, before discharge) leaves the
cuff on demand and asks for a measurement when each of those checks falls due.
"""

from __future__ import annotations

from collections.abc import Sequence

from kapmonitor.core.readings import Reading
from kapmonitor.session.entries import InfusionEvent
from kapmonitor.session.prompts import Phases, Prompt, prompts_for
from kapmonitor.session.templates import ProtocolTemplate
from kapmonitor.session.timeline import SessionRecord


def bp_interval_min(template: ProtocolTemplate, record: SessionRecord, now_us: int) -> float | None:
    """The shortest ``every`` BP interval whose phase is running at ``now_us`` (None: no cycle, on demand)."""
    phases = Phases.of(record.first_dose_us(), record.current_of(InfusionEvent), record.discharged_us())
    running = []
    for check in template.checks:
        if check.measure != "bp" or check.when != "every" or check.every_min is None:
            continue
        begin, end = phases.span(check.during)
        if begin is not None and begin <= now_us and (end is None or now_us < end):
            running.append(check.every_min)
    return min(running, default=None)


def bp_checks_due(
    template: ProtocolTemplate,
    record: SessionRecord,
    readings: Sequence[Reading],
    *,
    session_start_us: int,
    now_us: int,
) -> list[Prompt]:
    """The BP checks due or overdue now (a pre-dose check already missed is not measured any more)."""
    prompts = prompts_for(template, record, readings, session_start_us=session_start_us, now_us=now_us)
    return [p for p in prompts if p.check.measure == "bp" and p.status in ("due", "overdue")]
