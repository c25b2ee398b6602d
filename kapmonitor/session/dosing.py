"""Dose arithmetic: rate units, cumulative mg (infusion, boluses, sprays), mg/kg and the max check."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kapmonitor.core.clock import iso
from kapmonitor.session.entries import (
    US_PER_H,
    BodyWeight,
    BolusDose,
    Dose,
    DoseOverride,
    InfusionEvent,
    IntranasalDevice,
)

RATE_UNITS = ("mg/kg/h", "mg/h", "mL/h")
# Plausibility: numbers no ketamine session can have, whatever the protocol or the override. They catch a slip
# of the keyboard (an extra zero, mg typed as micrograms), not a clinical judgement; the clinic's maximum and
# the prescription are the clinical limits.
PLAUSIBLE_KG = (2.0, 400.0)
MAX_PLAUSIBLE_DOSE_MG = 1000.0  # one bolus, lozenge or device
MAX_PLAUSIBLE_MG_PER_KG = 10.0  # one dose ordered per kg
MAX_PLAUSIBLE_RATE = {"mg/kg/h": 10.0, "mg/h": 1000.0, "mL/h": 2000.0}
MAX_PLAUSIBLE_CONCENTRATION = 100.0  # mg/mL: the strongest ketamine vial
# The esketamine label: 28 mg devices, 56 or 84 mg a session; never more than 84 mg.
ESKETAMINE_MAX_MG = 84.0
INFUSION_ACTIONS = ("start", "rate", "pause", "resume", "stop")
SPRAY_REST_US = 5 * 60_000_000  # esketamine label: rest 5 minutes between devices


class DosingError(ValueError):
    """A dose or infusion sequence that cannot be computed, and why."""


def convert_rate(
    value: float,
    from_unit: str,
    to_unit: str,
    *,
    weight_kg: float | None = None,
    concentration_mg_per_ml: float | None = None,
) -> float:
    """Convert an infusion rate among mg/kg/h, mg/h and mL/h (with weight / concentration as needed)."""
    return _from_mg_per_h(
        _to_mg_per_h(value, from_unit, weight_kg, concentration_mg_per_ml),
        to_unit,
        weight_kg,
        concentration_mg_per_ml,
    )


def _to_mg_per_h(value: float, unit: str, weight_kg: float | None, conc: float | None) -> float:
    if unit == "mg/h":
        return value
    if unit == "mg/kg/h":
        return value * _positive(weight_kg, "a weight (kg)", unit)
    if unit == "mL/h":
        return value * _positive(conc, "a concentration (mg/mL)", unit)
    raise DosingError(f"unknown rate unit {unit!r} (use one of {', '.join(RATE_UNITS)})")


def _from_mg_per_h(mg_per_h: float, unit: str, weight_kg: float | None, conc: float | None) -> float:
    if unit == "mg/h":
        return mg_per_h
    if unit == "mg/kg/h":
        return mg_per_h / _positive(weight_kg, "a weight (kg)", unit)
    if unit == "mL/h":
        return mg_per_h / _positive(conc, "a concentration (mg/mL)", unit)
    raise DosingError(f"unknown rate unit {unit!r} (use one of {', '.join(RATE_UNITS)})")


def _positive(value: float | None, what: str, unit: str) -> float:
    if value is None or value <= 0:
        raise DosingError(f"a rate in {unit} needs {what} above zero (got {value})")
    return value


def pump_state(events: Iterable[InfusionEvent]) -> str:
    """The infusion pump as the record leaves it: "idle" (never started), "running", "paused" or "stopped"."""
    state = "idle"
    for ev in events:
        state = {"start": "running", "resume": "running", "pause": "paused", "stop": "stopped"}.get(
            ev.action, state
        )
    return state


def infusion_mg_per_h(event: InfusionEvent) -> float:
    if event.rate is None:
        raise DosingError(f"infusion {event.action} at {iso(event.t_us)} has no rate")
    if event.rate < 0:
        raise DosingError(f"infusion rate {event.rate} {event.rate_unit} is negative")
    return _to_mg_per_h(event.rate, event.rate_unit, event.weight_kg, event.concentration_mg_per_ml)


def bolus_from_mg_per_kg(mg_per_kg: float, weight_kg: float, **fields: object) -> BolusDose:
    """A bolus ordered per kg: mg worked out from the weight, the per-kg order kept with it."""
    mg = mg_per_kg * _positive(weight_kg, "a weight (kg)", "mg/kg")
    return BolusDose(mg=mg, mg_per_kg=mg_per_kg, **fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class InfusionSegment:
    start_us: int
    end_us: int
    mg_per_h: float

    @property
    def mg(self) -> float:
        return self.mg_per_h * (self.end_us - self.start_us) / US_PER_H


def infusion_segments(events: Iterable[InfusionEvent], until_us: int) -> list[InfusionSegment]:
    """The running stretches of the infusion up to ``until_us``; an impossible sequence raises DosingError."""
    segments: list[InfusionSegment] = []
    state, rate, since = "idle", 0.0, 0
    for ev in sorted(events, key=lambda e: e.t_us):
        if ev.t_us > until_us:
            break
        if state == "running" and ev.t_us > since:
            segments.append(InfusionSegment(since, ev.t_us, rate))
        state, rate = _next_state(state, rate, ev)
        since = ev.t_us
    if state == "running" and until_us > since:
        segments.append(InfusionSegment(since, until_us, rate))
    return segments


def _next_state(state: str, rate: float, ev: InfusionEvent) -> tuple[str, float]:
    when = iso(ev.t_us)
    allowed = {
        "idle": ("start",),
        "stopped": ("start",),
        "running": ("rate", "pause", "stop"),
        "paused": ("rate", "resume", "stop"),
    }[state]
    if ev.action not in INFUSION_ACTIONS:
        raise DosingError(f"unknown infusion action {ev.action!r} at {when}")
    if ev.action not in allowed:
        raise DosingError(f"infusion {ev.action} at {when} while the infusion is {state}")
    if ev.action in ("start", "rate"):
        new_rate = infusion_mg_per_h(ev)
        return ("paused" if state == "paused" else "running"), new_rate
    if ev.action == "resume":
        return "running", infusion_mg_per_h(ev) if ev.rate is not None else rate
    return ("paused" if ev.action == "pause" else "stopped"), rate


def implausible(entry: object) -> str | None:
    """Why a weight, dose or rate cannot be right whatever the protocol (None when it can be)."""
    if isinstance(entry, BodyWeight) and not PLAUSIBLE_KG[0] <= entry.kg <= PLAUSIBLE_KG[1]:
        return f"a weight of {entry.kg:g} kg is outside {PLAUSIBLE_KG[0]:g}-{PLAUSIBLE_KG[1]:g} kg"
    if isinstance(entry, BolusDose | IntranasalDevice):
        if not entry.mg > 0:
            return f"a dose of {entry.mg:g} mg: a dose must be above zero"
        if entry.mg > MAX_PLAUSIBLE_DOSE_MG:
            return f"a dose of {entry.mg:g} mg is more than {MAX_PLAUSIBLE_DOSE_MG:g} mg: check the number"
    if isinstance(entry, BolusDose) and entry.mg_per_kg is not None and entry.mg_per_kg > MAX_PLAUSIBLE_MG_PER_KG:
        return f"{entry.mg_per_kg:g} mg/kg is more than {MAX_PLAUSIBLE_MG_PER_KG:g} mg/kg: check the number"
    if isinstance(entry, InfusionEvent):
        limit = MAX_PLAUSIBLE_RATE.get(entry.rate_unit)
        if entry.rate is not None and limit is not None and entry.rate > limit:
            return f"an infusion rate of {entry.rate:g} {entry.rate_unit} is more than {limit:g}: check the number"
        conc = entry.concentration_mg_per_ml
        if conc is not None and not 0 < conc <= MAX_PLAUSIBLE_CONCENTRATION:
            return f"a concentration of {conc:g} mg/mL is outside 0-{MAX_PLAUSIBLE_CONCENTRATION:g} mg/mL"
        if entry.weight_kg is not None and not PLAUSIBLE_KG[0] <= entry.weight_kg <= PLAUSIBLE_KG[1]:
            return f"a weight of {entry.weight_kg:g} kg is outside {PLAUSIBLE_KG[0]:g}-{PLAUSIBLE_KG[1]:g} kg"
    return None


def infusion_delivered_mg(events: Sequence[InfusionEvent], until_us: int) -> dict[int, float]:
    """The mg each infusion event's setting delivered until the next event (or ``until_us``), keyed by the
    event's position in ``events``: a start or rate change carries what ran at its rate, a pause nothing."""
    order = sorted(range(len(events)), key=lambda i: events[i].t_us)
    delivered = {i: 0.0 for i in order}
    segments = infusion_segments(events, until_us)
    for i in order:
        t = events[i].t_us
        delivered[i] = sum(seg.mg for seg in segments if seg.start_us == t)
    return delivered


@dataclass(frozen=True)
class DrugTotal:
    """All of one drug given so far: mg, and mg/kg when the weight is known."""

    drug: str
    total_mg: float
    total_mg_per_kg: float | None
    routes: tuple[str, ...]


def drug_totals(doses: Sequence[Dose], at_us: int, weight_kg: float | None) -> list[DrugTotal]:
    """Per drug (in order of first use), the mg given up to ``at_us``: infusion segments integrated, boluses
    and devices added."""
    drugs = list(dict.fromkeys(d.drug for d in sorted(doses, key=lambda d: d.t_us)))
    totals = []
    for drug in drugs:
        mine = [d for d in doses if d.drug == drug]
        mg = cumulative_dose_mg(mine, at_us)
        per_kg = mg / weight_kg if weight_kg else None
        routes = tuple(
            dict.fromkeys(
                "iv infusion" if isinstance(d, InfusionEvent) else "intranasal" if isinstance(d, IntranasalDevice)
                else d.route
                for d in mine
            )
        )
        totals.append(DrugTotal(drug, mg, per_kg, routes))
    return totals


def cumulative_dose_mg(events: Iterable[object], at_us: int) -> float:
    """All drug given up to ``at_us``: infusion segments integrated exactly, plus boluses and sprays."""
    infusion: list[InfusionEvent] = []
    total = 0.0
    for ev in events:
        if isinstance(ev, InfusionEvent):
            infusion.append(ev)
        elif isinstance(ev, BolusDose | IntranasalDevice) and ev.t_us <= at_us:
            total += ev.mg
    return total + sum(seg.mg for seg in infusion_segments(infusion, at_us))


def cumulative_mg_per_kg(events: Iterable[object], at_us: int, weight_kg: float) -> float:
    return cumulative_dose_mg(events, at_us) / _positive(weight_kg, "a weight (kg)", "mg/kg")


def spray_rest_remaining_us(
    sprays: Sequence[IntranasalDevice], now_us: int, rest_us: int = SPRAY_REST_US
) -> int:
    """How long until the next device may be used (0 when the rest is over or no device has been used)."""
    if not sprays:
        return 0
    last = max(s.t_us for s in sprays)
    return max(0, last + rest_us - now_us)


def spray_too_soon(
    sprays: Sequence[IntranasalDevice], new: IntranasalDevice, rest_us: int = SPRAY_REST_US
) -> str | None:
    """A message when ``new`` comes inside the rest after an earlier device, else None."""
    earlier = [s.t_us for s in sprays if s.t_us <= new.t_us]
    if not earlier:
        return None
    gap = new.t_us - max(earlier)
    if gap >= rest_us:
        return None
    return (
        f"device used {gap / 60e6:.1f} min after the previous one; "
        f"the rest between devices is {rest_us / 60e6:g} min"
    )


@dataclass(frozen=True)
class MaxDoseWarning:
    limit_mg_per_kg: float
    projected_mg_per_kg: float
    projected_mg: float

    @property
    def message(self) -> str:
        return (
            f"{self.projected_mg:.1f} mg = {self.projected_mg_per_kg:.2f} mg/kg exceeds the clinic maximum "
            f"of {self.limit_mg_per_kg:g} mg/kg; an override (who, why) must be recorded"
        )


@dataclass(frozen=True)
class MaxDoseCheck:
    """Warns when the cumulative dose would pass the clinic's maximum mg/kg."""

    limit_mg_per_kg: float
    weight_kg: float

    def projected(
        self, given: Iterable[Dose], proposed: Dose, until_us: int | None = None
    ) -> MaxDoseWarning | None:
        """Check with ``proposed`` included, at its time or (an infusion) at its planned stop ``until_us``. Only
        the proposed drug counts: a cap in mg/kg of ketamine is not reached with milligrams of another drug."""
        events = [*(d for d in given if d.drug == proposed.drug), proposed]
        at_us = max(proposed.t_us, until_us or 0)
        mg = cumulative_dose_mg(events, at_us)
        per_kg = mg / _positive(self.weight_kg, "a weight (kg)", "mg/kg")
        if per_kg <= self.limit_mg_per_kg + 1e-9:
            return None
        return MaxDoseWarning(self.limit_mg_per_kg, per_kg, mg)

    @staticmethod
    def accepts(warning: MaxDoseWarning, override: DoseOverride | None) -> str | None:
        """None when the override covers the warning, else the message saying what is missing."""
        if override is None:
            return warning.message
        if not override.author.strip() or not override.reason.strip():
            return "an override above the maximum needs who decided (author) and why (reason)"
        if override.projected_mg_per_kg is None:
            return "an override above the maximum needs the mg/kg it allows"
        if override.projected_mg_per_kg + 1e-9 < warning.projected_mg_per_kg:
            return (
                f"the override covers {override.projected_mg_per_kg:.2f} mg/kg but the dose comes to "
                f"{warning.projected_mg_per_kg:.2f} mg/kg"
            )
        return None
