"""Which of the protocol's checks are due now, and the rest timer between intranasal devices.

Pure functions of the template, the times things were recorded and ``now``: the UI asks every few seconds.
A check is satisfied by a BP reading or a rating of its scale inside the check's window:
- ``pre-dose``: any reading between opening the session and the first dose (after the dose it is "missed");
- ``after-dose``: any reading from ``at_min - window_before_min`` on; overdue after
  ``at_min + window_after_min``;
- ``every``: due ``every_min`` after the last reading in the phase (or the phase start); overdue
  ``overdue_after_min`` later; phases: the infusion (start to stop), after the infusion, after the first dose;
- ``before-discharge``: any reading from ``lead_min`` before the earliest discharge (first dose + minimum).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kapmonitor.core.readings import Reading
from kapmonitor.session.dosing import spray_rest_remaining_us
from kapmonitor.session.entries import US_PER_MIN, InfusionEvent, IntranasalDevice, Rating
from kapmonitor.session.templates import Check, ProtocolTemplate
from kapmonitor.session.timeline import SessionRecord

BP_METRIC = "nibp_systolic"  # one NIBP measurement = one systolic reading (with its diastolic and mean)


@dataclass(frozen=True)
class Prompt:
    check: Check
    status: str  # "due", "overdue", "missed" (a pre-dose check not done before the dose), or "upcoming"
    due_us: int

    @property
    def text(self) -> str:
        base = self.check.text
        if self.status == "due":
            return base
        return base.replace(" due", f" {self.status}", 1)


@dataclass(frozen=True)
class RestTimer:
    remaining_us: int
    ready_at_us: int
    devices_given: int
    mg_given: float

    @property
    def resting(self) -> bool:
        return self.remaining_us > 0


@dataclass(frozen=True)
class Phases:
    first_dose_us: int | None
    infusion_start_us: int | None = None
    infusion_stop_us: int | None = None
    discharged_us: int | None = None

    @classmethod
    def of(
        cls, first_dose_us: int | None, infusion: Sequence[InfusionEvent], discharged_us: int | None
    ) -> Phases:
        starts = [e.t_us for e in infusion if e.action == "start"]
        stops = [e.t_us for e in infusion if e.action == "stop" and starts and e.t_us >= max(starts)]
        return cls(first_dose_us, min(starts, default=None), max(stops, default=None), discharged_us)

    def span(self, phase: str) -> tuple[int | None, int | None]:
        if phase == "infusion":
            return self.infusion_start_us, self.infusion_stop_us
        if phase == "after-infusion":
            return self.infusion_stop_us, self.discharged_us
        return self.first_dose_us, self.discharged_us


def due_checks(
    template: ProtocolTemplate,
    *,
    session_start_us: int,
    first_dose_us: int | None,
    bp_times_us: Sequence[int],
    ratings: Sequence[Rating],
    now_us: int,
    infusion: Sequence[InfusionEvent] = (),
    discharged_us: int | None = None,
) -> list[Prompt]:
    """The template's checks that are due, overdue or missed at ``now_us``, most urgent first."""
    phases = Phases.of(first_dose_us, infusion, discharged_us)
    prompts: list[Prompt] = []
    for check in template.checks:
        if check.measure == "bp":
            times = [t for t in bp_times_us if t <= now_us]
        else:
            times = [r.t_us for r in ratings if r.scale == check.measure and r.t_us <= now_us]
        prompt = _evaluate(check, template, times, session_start_us, phases, now_us)
        if prompt is not None:
            prompts.append(prompt)
    order = {"missed": 0, "overdue": 1, "due": 2}
    return sorted(prompts, key=lambda p: (order[p.status], p.due_us))


def next_check(
    template: ProtocolTemplate,
    *,
    session_start_us: int,
    first_dose_us: int | None,
    bp_times_us: Sequence[int],
    ratings: Sequence[Rating],
    now_us: int,
    infusion: Sequence[InfusionEvent] = (),
    discharged_us: int | None = None,
) -> Prompt | None:
    """The check that falls due next after ``now_us`` (status "upcoming", ``due_us`` when), for a board that
    shows what comes next while nothing is due; None when no check is ahead."""
    phases = Phases.of(first_dose_us, infusion, discharged_us)
    if phases.discharged_us is not None and now_us >= phases.discharged_us:
        return None
    ahead: list[Prompt] = []
    first = phases.first_dose_us
    for check in template.checks:
        if check.measure == "bp":
            times = [t for t in bp_times_us if t <= now_us]
        else:
            times = [r.t_us for r in ratings if r.scale == check.measure and r.t_us <= now_us]
        due: int | None = None
        if check.when == "every" and check.every_min is not None:
            begin, end = phases.span(check.during)
            if begin is not None:
                due = max((t for t in times if t >= begin), default=begin) + round(check.every_min * US_PER_MIN)
                due = None if end is not None and due >= end else due
        elif check.when == "after-dose" and check.at_min is not None and first is not None:
            opens = first + round((check.at_min - check.window_before_min) * US_PER_MIN)
            due = None if any(t >= opens for t in times) else first + round(check.at_min * US_PER_MIN)
        if due is not None and due > now_us:
            ahead.append(Prompt(check, "upcoming", due))
    return min(ahead, key=lambda p: p.due_us, default=None)


def _evaluate(
    check: Check, template: ProtocolTemplate, times: list[int], start_us: int, phases: Phases, now_us: int
) -> Prompt | None:
    first = phases.first_dose_us
    if phases.discharged_us is not None and now_us >= phases.discharged_us:
        return None
    if check.when == "pre-dose":
        if first is None:
            return None if any(t >= start_us for t in times) else Prompt(check, "due", start_us)
        return None if any(start_us <= t <= first for t in times) else Prompt(check, "missed", first)
    if first is None:
        return None
    if check.when == "after-dose":
        assert check.at_min is not None
        opens = first + round((check.at_min - check.window_before_min) * US_PER_MIN)
        if now_us < opens or any(t >= opens for t in times):
            return None
        closes = first + round((check.at_min + check.window_after_min) * US_PER_MIN)
        return Prompt(
            check, "overdue" if now_us > closes else "due", first + round(check.at_min * US_PER_MIN)
        )
    if check.when == "every":
        return _every(check, times, phases, now_us)
    opens = first + round((template.minimum_monitoring_min - check.lead_min) * US_PER_MIN)
    if now_us < opens or any(t >= opens for t in times):
        return None
    return Prompt(check, "due", opens)


def _every(check: Check, times: list[int], phases: Phases, now_us: int) -> Prompt | None:
    assert check.every_min is not None
    begin, end = phases.span(check.during)
    if begin is None or now_us < begin or (end is not None and now_us >= end):
        return None
    last = max((t for t in times if t >= begin), default=begin)
    due = last + round(check.every_min * US_PER_MIN)
    if now_us < due:
        return None
    overdue = now_us >= due + round(check.overdue_after_min * US_PER_MIN)
    return Prompt(check, "overdue" if overdue else "due", due)


def rest_timer(
    template: ProtocolTemplate, sprays: Sequence[IntranasalDevice], now_us: int
) -> RestTimer | None:
    """Time left in the rest between intranasal devices; None without devices in the protocol or used."""
    if template.dosing.form != "intranasal" or not sprays:
        return None
    rest_us = round((template.dosing.rest_between_devices_min or 0) * US_PER_MIN)
    given = [s for s in sprays if s.t_us <= now_us]
    if not given:
        return None
    remaining = spray_rest_remaining_us(given, now_us, rest_us)
    return RestTimer(remaining, max(s.t_us for s in given) + rest_us, len(given), sum(s.mg for s in given))


def bp_times(readings: Sequence[Reading]) -> list[int]:
    """The times of the NIBP measurements among recorded readings (one per completed measurement)."""
    return sorted(r.t_us for r in readings if r.metric == BP_METRIC and r.value is not None)


def prompts_for(
    template: ProtocolTemplate,
    record: SessionRecord,
    readings: Sequence[Reading],
    *,
    session_start_us: int,
    now_us: int,
) -> list[Prompt]:
    """``due_checks`` fed from a session record and the recorded vital-sign readings."""
    return due_checks(
        template,
        session_start_us=session_start_us,
        first_dose_us=record.first_dose_us(),
        bp_times_us=bp_times(readings),
        ratings=record.ratings(),
        now_us=now_us,
        infusion=record.current_of(InfusionEvent),
        discharged_us=record.discharged_us(),
    )
