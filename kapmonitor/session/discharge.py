"""The discharge checklist evaluated against the record, and the Spravato REMS monitoring form filled from it.

Only evidence after the first dose counts towards recovery (a pre-dose MOAA/S 5 says nothing about it).
A criterion is met *since* the first of the unbroken run of satisfying observations ending with the latest;
the patient was ready when the last criterion became met.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from kapmonitor.core.access import User
from kapmonitor.core.readings import Reading
from kapmonitor.session.entries import US_PER_MIN, Discharged, Rating
from kapmonitor.session.templates import DischargeCriterion, ProtocolTemplate
from kapmonitor.session.timeline import EntryError, SessionRecord
from kapmonitor.session.vitals import BpMeasurement, bp_measurements, spo2_values


@dataclass(frozen=True)
class CriterionStatus:
    criterion: DischargeCriterion
    met: bool
    met_since_us: int | None
    detail: str


@dataclass(frozen=True)
class DischargeStatus:
    items: tuple[CriterionStatus, ...]

    @property
    def ready(self) -> bool:
        return all(item.met for item in self.items)

    @property
    def ready_us(self) -> int | None:
        return _latest_since(self.items)

    @property
    def ready_without_minimum_us(self) -> int | None:
        """When the patient would have been ready without the minimum monitoring time (the REMS form asks)."""
        return _latest_since(tuple(i for i in self.items if i.criterion.kind != "minimum-time"))

    @property
    def outstanding(self) -> list[str]:
        return [f"{i.criterion.label}: {i.detail}" for i in self.items if not i.met]


def _latest_since(items: tuple[CriterionStatus, ...]) -> int | None:
    if not items or not all(i.met for i in items):
        return None
    return max(i.met_since_us for i in items if i.met_since_us is not None)


def discharge_checklist(
    template: ProtocolTemplate, record: SessionRecord, readings: Sequence[Reading], now_us: int
) -> DischargeStatus:
    first = record.first_dose_us()
    items = tuple(_evaluate(c, template, record, readings, first, now_us) for c in template.discharge)
    return DischargeStatus(items)


def _evaluate(
    c: DischargeCriterion,
    template: ProtocolTemplate,
    record: SessionRecord,
    readings: Sequence[Reading],
    first: int | None,
    now_us: int,
) -> CriterionStatus:
    if c.kind == "confirm":
        done = [x for x in record.confirmations() if x.item == c.key and x.t_us <= now_us]
        if done:
            return CriterionStatus(c, True, done[0].t_us, f"confirmed by {done[0].author}")
        return CriterionStatus(c, False, None, "not confirmed yet")
    if first is None:
        return CriterionStatus(c, False, None, "no dose recorded")
    if c.kind == "minimum-time":
        earliest = first + round(template.minimum_monitoring_min * US_PER_MIN)
        left = (earliest - now_us) / US_PER_MIN
        return CriterionStatus(
            c, now_us >= earliest, earliest, "time is up" if left <= 0 else f"{left:.0f} min to go"
        )
    if c.kind == "rating":
        return _rating(c, [r for r in record.ratings(c.scale) if first <= r.t_us <= now_us])
    if c.kind == "bp":
        return _bp(c, [m for m in bp_measurements(readings) if first <= m.t_us <= now_us])
    return _spo2(c, spo2_values(readings), first, now_us)


def _final_run(observations: list[tuple[int, bool]]) -> int | None:
    """Since when every observation up to the latest satisfied the criterion (None: the latest did not)."""
    since = None
    for t_us, ok in observations:
        since = (since if since is not None else t_us) if ok else None
    return since


def _rating(c: DischargeCriterion, ratings: list[Rating]) -> CriterionStatus:
    values = [(r.t_us, r.value(c.item) if c.item else r.score) for r in ratings]
    values = [(t, v) for t, v in values if v is not None]
    if not values:
        return CriterionStatus(
            c, False, None, f"no {c.scale} {c.item} rating since the dose".replace("  ", " ")
        )

    def ok(v: float) -> bool:
        return (c.at_least is None or v >= c.at_least) and (c.at_most is None or v <= c.at_most)

    since = _final_run([(t, ok(v)) for t, v in values])  # type: ignore[arg-type]
    return CriterionStatus(c, since is not None, since, f"latest {values[-1][1]}")


def _bp(c: DischargeCriterion, measured: list[BpMeasurement]) -> CriterionStatus:
    if not measured:
        return CriterionStatus(c, False, None, "no BP measured since the dose")

    def within(m: BpMeasurement) -> bool:
        sys_ok = c.systolic_max is None or m.systolic <= c.systolic_max
        dia_ok = c.diastolic_max is None or m.diastolic is None or m.diastolic <= c.diastolic_max
        return sys_ok and dia_ok

    def falling(i: int) -> bool:
        return i >= 2 and measured[i].systolic < measured[i - 1].systolic < measured[i - 2].systolic

    marks = [(m.t_us, within(m) or (c.trending_down and falling(i))) for i, m in enumerate(measured)]
    since = _final_run(marks)
    return CriterionStatus(c, since is not None, since, f"latest {measured[-1]}")


def _spo2(c: DischargeCriterion, values: list[tuple[int, float]], first: int, now_us: int) -> CriterionStatus:
    before = [v for t, v in values if t < first]
    if not before:
        return CriterionStatus(c, False, None, "no pre-dose SpO2 to compare with")
    baseline = statistics.median(before)
    after = [(t, v) for t, v in values if first <= t <= now_us]
    if not after:
        return CriterionStatus(c, False, None, "no SpO2 since the dose")
    since = _final_run([(t, v >= baseline - c.spo2_drop_max) for t, v in after])
    return CriterionStatus(
        c, since is not None, since, f"latest {after[-1][1]:.0f} % (baseline {baseline:.0f} %)"
    )


class DischargeRefused(EntryError):
    """A discharge with open checklist items and no reason, or by someone who may not override."""


def record_discharge(
    record: SessionRecord,
    status: DischargeStatus,
    *,
    user: User,
    t_us: int,
    entered_us: int,
    reason: str = "",
) -> Discharged:
    """Add the discharge to ``record`` as ``user``. A complete checklist needs nothing more; open items need
    ``reason`` and the ``discharge.override`` permission (a clinician, or a role the clinic grants it), and the
    entry keeps who, why and which items were open."""
    open_items = tuple(status.outstanding)
    if open_items:
        if not reason.strip():
            raise DischargeRefused(
                f"not ready: {len(open_items)} open ({'; '.join(open_items)}); "
                "recording the discharge anyway needs a reason"
            )
        if not user.may("discharge.override"):
            raise DischargeRefused(
                f"{user.username} may not record a discharge with open items: it needs a role the clinic allows "
                "to override the checklist (a clinician by default)"
            )
    entry = Discharged(
        t_us=t_us,
        entered_us=entered_us,
        author=user.username,
        override_reason=reason.strip() if open_items else "",
        open_items=open_items,
    )
    record.add(entry)
    return entry


# ---- Spravato REMS patient monitoring form ------------------------------------------------------------


@dataclass(frozen=True)
class RemsRules:
    """How the form's yes/no answers and BP picks are read off the record (clinic-adjustable).

    BP picks (from complete NIBP measurements):
    - pre-dose: the last measurement at or before the first spray, at most ``pre_dose_window_min`` before;
    - ~40 min: the one closest to first spray + 40 min, within +-``at_40_window_min`` (a tie: the earlier);
    - discharge: the last one at or before the discharge time, at most ``discharge_window_min`` before.
    """

    pre_dose_window_min: float = 60.0
    at_40_window_min: float = 15.0
    discharge_window_min: float = 30.0
    sedation_moaas_at_most: int = 4  # any MOAA/S below 5 after dosing counts as sedation
    dissociation_cadss_above: int = 4
    dissociation_patient_at_least: int = 3  # the patient's own 0-10 rating
    respiratory_spo2_below: float = 90.0
    bp_rise_systolic: float = 40.0  # label: a rise of >= 40 systolic and/or >= 25 diastolic
    bp_rise_diastolic: float = 25.0


@dataclass(frozen=True)
class RemsForm:
    dose_mg: float
    dose_choice: str  # "56", "84" or "other"
    lots: tuple[str, ...]
    devices: int
    first_spray_us: int | None
    monitoring_minutes: int | None
    bp_pre_dose: BpMeasurement | None
    bp_40_min: BpMeasurement | None
    bp_discharge: BpMeasurement | None
    sedation: bool | None
    dissociation: bool | None
    respiratory_depression: bool | None
    bp_increase: bool | None
    ready_to_leave_us: int | None
    missing: tuple[str, ...]  # required fields the record cannot fill: sign-off waits for these


def rems_form(
    record: SessionRecord,
    bp_readings: Sequence[Reading],
    *,
    template: ProtocolTemplate | None = None,
    spo2_readings: Sequence[Reading] = (),
    rules: RemsRules = RemsRules(),
) -> RemsForm:
    sprays = record.sprays()
    first = min((s.t_us for s in sprays), default=None)
    dose = sum(s.mg for s in sprays)
    choice = {56.0: "56", 84.0: "84"}.get(dose, "other")
    lots = tuple(dict.fromkeys(s.lot for s in sprays if s.lot.strip()))
    end = record.discharged_us()
    measured = bp_measurements(bp_readings)
    pre = at40 = at_end = None
    if first is not None:
        pre = _last_before(measured, first, rules.pre_dose_window_min)
        at40 = _closest(measured, first + 40 * US_PER_MIN, rules.at_40_window_min)
    if end is not None:
        at_end = _last_before(
            [m for m in measured if first is None or m.t_us > first], end, rules.discharge_window_min
        )
    after = [m for m in measured if first is not None and m.t_us > first]
    ready = None
    if template is not None and first is not None:
        now = end if end is not None else max([first, *(e.entry.t_us for e in record.current())])
        ready = discharge_checklist(
            template, record, [*bp_readings, *spo2_readings], now
        ).ready_without_minimum_us
    form = RemsForm(
        dose_mg=dose,
        dose_choice=choice,
        lots=lots,
        devices=len(sprays),
        first_spray_us=first,
        monitoring_minutes=None if first is None or end is None else (end - first) // US_PER_MIN,
        bp_pre_dose=pre,
        bp_40_min=at40,
        bp_discharge=at_end,
        sedation=_sedation(record, first, rules),
        dissociation=_dissociation(record, first, rules),
        respiratory_depression=_respiratory(record, spo2_readings, first, rules),
        bp_increase=_bp_rise(record, pre, after, first, rules),
        ready_to_leave_us=ready,
        missing=(),
    )
    return _with_missing(form, sprays_without_lot=sum(1 for s in sprays if not s.lot.strip()))


def _last_before(measured: list[BpMeasurement], t_us: int, window_min: float) -> BpMeasurement | None:
    earliest = t_us - round(window_min * US_PER_MIN)
    found = [m for m in measured if earliest <= m.t_us <= t_us]
    return found[-1] if found else None


def _closest(measured: list[BpMeasurement], target_us: int, window_min: float) -> BpMeasurement | None:
    window = round(window_min * US_PER_MIN)
    found = [m for m in measured if abs(m.t_us - target_us) <= window]
    return min(found, key=lambda m: (abs(m.t_us - target_us), m.t_us), default=None)


def _after(first: int | None, ratings: list[Rating]) -> list[Rating]:
    return [r for r in ratings if first is not None and r.t_us >= first]


def _sedation(record: SessionRecord, first: int | None, rules: RemsRules) -> bool | None:
    scores = [r.score for r in _after(first, record.ratings("moaas")) if r.score is not None]
    return any(s <= rules.sedation_moaas_at_most for s in scores) if scores else None


def _dissociation(record: SessionRecord, first: int | None, rules: RemsRules) -> bool | None:
    cadss = [r.score for r in _after(first, record.ratings("cadss")) if r.score is not None and not r.form]
    own = [r.value("dissociation") for r in _after(first, record.ratings("patient-vas"))]
    own_values = [v for v in own if v is not None]
    if not cadss and not own_values:
        return None
    return any(s > rules.dissociation_cadss_above for s in cadss) or any(
        v >= rules.dissociation_patient_at_least for v in own_values
    )


def _flagged(record: SessionRecord, code: str, first: int | None) -> bool:
    return any(e.code == code and (first is None or e.t_us >= first) for e in record.quick_events())


def _respiratory(
    record: SessionRecord, spo2_readings: Sequence[Reading], first: int | None, rules: RemsRules
) -> bool | None:
    if _flagged(record, "respiratory-depression", first):
        return True
    values = [v for t, v in spo2_values(spo2_readings) if first is not None and t >= first]
    return any(v < rules.respiratory_spo2_below for v in values) if values else None


def _bp_rise(
    record: SessionRecord,
    pre: BpMeasurement | None,
    after: list[BpMeasurement],
    first: int | None,
    rules: RemsRules,
) -> bool | None:
    if _flagged(record, "bp-increase", first):
        return True
    if pre is None or not after:
        return None

    def rose(m: BpMeasurement) -> bool:
        dia_rise = (
            m.diastolic is not None
            and pre.diastolic is not None
            and m.diastolic - pre.diastolic >= rules.bp_rise_diastolic
        )
        return m.systolic - pre.systolic >= rules.bp_rise_systolic or dia_rise

    return any(rose(m) for m in after)


def _with_missing(form: RemsForm, sprays_without_lot: int) -> RemsForm:
    missing = []
    if form.devices == 0:
        missing.append("no intranasal device recorded")
    if sprays_without_lot:
        missing.append(f"{sprays_without_lot} device(s) without a lot number")
    checks = [
        ("monitoring_minutes", "discharge time"),
        ("bp_pre_dose", "pre-dose BP"),
        ("bp_40_min", "BP at ~40 min"),
        ("bp_discharge", "discharge BP"),
        ("sedation", "sedation assessment (MOAA/S)"),
        ("dissociation", "dissociation assessment"),
        ("respiratory_depression", "respiratory assessment (SpO2)"),
        ("bp_increase", "BP increase assessment"),
        ("ready_to_leave_us", "time ready to leave"),
    ]
    missing += [label for name, label in checks if getattr(form, name) is None]
    return dataclasses.replace(form, missing=tuple(missing))
