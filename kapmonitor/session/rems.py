"""The Spravato REMS Patient Monitoring Form, filled from the session's record and recorded vital signs.

The form (outpatient, after every session, due within 7 days) asks for the dose and lot, the time from the first
device to the end of monitoring, when the patient would have been ready to leave without the 2-hour rule,
whether vital signs were acceptable before dosing and at the end, three blood pressures (before dosing, about
40 minutes after, before the session ends) and whether sedation, dissociation, respiratory depression or a
blood-pressure increase occurred. Each answer here comes with what it was read from (``*_detail``), and
``missing`` names what the record cannot answer yet. What only the clinic knows (the patient's name, birth
date and sex, concomitant medications, the provider's and the setting's contact details) is ``NOT_IN_RECORD``.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kapmonitor.core.clock import US_PER_S
from kapmonitor.core.readings import Reading
from kapmonitor.session.discharge import discharge_checklist
from kapmonitor.session.entries import US_PER_MIN, Rating
from kapmonitor.session.templates import ProtocolTemplate
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.session.vitals import BpMeasurement, bp_measurements, spo2_values
from kapmonitor.session.wording import rating_words

# Asked by the form but not kept in a session record: the clinic writes these in.
NOT_IN_RECORD = (
    "patient's name, birth date and sex",
    "concomitant medications (benzodiazepines, non-benzodiazepine sedative hypnotics, psychostimulants, MAOIs)",
    "telephone and email of the provider who monitored",
    "healthcare setting's name and address",
    "serious adverse events, if any (reported separately)",
)


@dataclass(frozen=True)
class RemsRules:
    """How the form's yes/no answers and BP picks are read off the record (clinic-adjustable).

    BP picks (from complete NIBP measurements):
    - pre-dose: the last measurement at or before the first spray, at most ``pre_dose_window_min`` before;
    - ~40 min: the one closest to first spray + 40 min, within +-``at_40_window_min`` (a tie: the earlier);
    - discharge: the last one at or before the discharge time, at most ``discharge_window_min`` before.
    Dissociation: any CADSS rating after dosing, the full scale or a short form (CADSS-6), whose total is above
    ``dissociation_cadss_above``, or the patient's own 0-10 rating at or above ``dissociation_patient_at_least``.
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
    acceptable_systolic_max: float = 160.0  # vital signs "acceptable" before dosing and at the end
    acceptable_diastolic_max: float = 100.0


@dataclass(frozen=True)
class RemsDevice:
    t_us: int
    mg: float
    lot: str


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
    device_list: tuple[RemsDevice, ...] = ()
    discharge_us: int | None = None
    ready_to_leave_minutes: int | None = None  # from the first spray, as the form asks
    vitals_ok_pre_dose: bool | None = None
    vitals_ok_at_end: bool | None = None
    sedation_detail: str = ""
    dissociation_detail: str = ""
    respiratory_detail: str = ""
    bp_increase_detail: str = ""
    not_in_record: tuple[str, ...] = NOT_IN_RECORD


def _clock(t_us: int) -> str:
    return datetime.fromtimestamp(t_us / US_PER_S).astimezone().strftime("%H:%M")


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
        ready = discharge_checklist(template, record, [*bp_readings, *spo2_readings], now).ready_without_minimum_us
    spo2 = spo2_values(spo2_readings)
    sedation, sedation_detail = _sedation(record, first, rules)
    dissociation, dissociation_detail = _dissociation(record, first, rules)
    respiratory, respiratory_detail = _respiratory(record, spo2, first, rules)
    rise, rise_detail = _bp_rise(record, pre, after, first, rules)
    form = RemsForm(
        dose_mg=dose,
        dose_choice={56.0: "56", 84.0: "84"}.get(dose, "other"),
        lots=tuple(dict.fromkeys(s.lot for s in sprays if s.lot.strip())),
        devices=len(sprays),
        first_spray_us=first,
        monitoring_minutes=None if first is None or end is None else (end - first) // US_PER_MIN,
        bp_pre_dose=pre,
        bp_40_min=at40,
        bp_discharge=at_end,
        sedation=sedation,
        dissociation=dissociation,
        respiratory_depression=respiratory,
        bp_increase=rise,
        ready_to_leave_us=ready,
        missing=(),
        device_list=tuple(RemsDevice(s.t_us, s.mg, s.lot) for s in sprays),
        discharge_us=end,
        ready_to_leave_minutes=None if ready is None or first is None else round((ready - first) / US_PER_MIN),
        vitals_ok_pre_dose=_vitals_ok(pre, spo2, None, first, rules),
        vitals_ok_at_end=_vitals_ok(at_end, spo2, first, end, rules),
        sedation_detail=sedation_detail,
        dissociation_detail=dissociation_detail,
        respiratory_detail=respiratory_detail,
        bp_increase_detail=rise_detail,
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


def _vitals_ok(
    bp: BpMeasurement | None, spo2: list[tuple[int, float]], since: int | None, until: int | None, rules: RemsRules
) -> bool | None:
    """BP within the acceptable limits and the last SpO2 before ``until`` not below the respiratory limit."""
    if bp is None or until is None:
        return None
    sys_ok = bp.systolic <= rules.acceptable_systolic_max
    dia_ok = bp.diastolic is None or bp.diastolic <= rules.acceptable_diastolic_max
    recent = [v for t, v in spo2 if t <= until and (since is None or t >= since)]
    spo2_ok = not recent or recent[-1] >= rules.respiratory_spo2_below
    return sys_ok and dia_ok and spo2_ok


def _after(first: int | None, ratings: list[Rating]) -> list[Rating]:
    return [r for r in ratings if first is not None and r.t_us >= first]


def _sedation(record: SessionRecord, first: int | None, rules: RemsRules) -> tuple[bool | None, str]:
    scored = [r for r in _after(first, record.ratings("moaas")) if r.score is not None]
    if not scored:
        return None, ""
    low = min(scored, key=lambda r: (r.score, r.t_us))
    return (low.score or 0) <= rules.sedation_moaas_at_most, f"lowest {rating_words(low)} at {_clock(low.t_us)}"


def _dissociation(record: SessionRecord, first: int | None, rules: RemsRules) -> tuple[bool | None, str]:
    cadss = [r for r in _after(first, record.ratings("cadss")) if r.score is not None]  # every form, full or short
    own = [(r, r.value("dissociation")) for r in _after(first, record.ratings("patient-vas"))]
    own_rated = [(r, v) for r, v in own if v is not None]
    if not cadss and not own_rated:
        return None, ""
    details = []
    if cadss:
        peak = max(cadss, key=lambda r: (r.score or 0, -r.t_us))
        details.append(f"peak {rating_words(peak).split(' (items')[0]} at {_clock(peak.t_us)}")
    if own_rated:
        top, value = max(own_rated, key=lambda rv: (rv[1], -rv[0].t_us))
        details.append(f"patient's own rating up to {value}/10 at {_clock(top.t_us)}")
    happened = any((r.score or 0) > rules.dissociation_cadss_above for r in cadss) or any(
        v >= rules.dissociation_patient_at_least for _, v in own_rated
    )
    return happened, "; ".join(details)


def _flagged(record: SessionRecord, code: str, first: int | None) -> str | None:
    found = [e for e in record.quick_events() if e.code == code and (first is None or e.t_us >= first)]
    return f"{found[0].label} noted at {_clock(found[0].t_us)}" if found else None


def _respiratory(
    record: SessionRecord, spo2: list[tuple[int, float]], first: int | None, rules: RemsRules
) -> tuple[bool | None, str]:
    noted = _flagged(record, "respiratory-depression", first)
    if noted is not None:
        return True, noted
    after = [(t, v) for t, v in spo2 if first is not None and t >= first]
    if not after:
        return None, ""
    t_low, low = min(after, key=lambda tv: (tv[1], tv[0]))
    before = [v for t, v in spo2 if first is not None and t < first]
    baseline = f" (before dosing {statistics.median(before):.0f} %)" if before else ""
    return low < rules.respiratory_spo2_below, f"lowest SpO2 {low:.0f} % at {_clock(t_low)}{baseline}"


def _bp_rise(
    record: SessionRecord,
    pre: BpMeasurement | None,
    after: list[BpMeasurement],
    first: int | None,
    rules: RemsRules,
) -> tuple[bool | None, str]:
    noted = _flagged(record, "bp-increase", first)
    if noted is not None:
        return True, noted
    if pre is None or not after:
        return None, ""

    def rise(m: BpMeasurement) -> tuple[float, float | None]:
        dia = m.diastolic - pre.diastolic if m.diastolic is not None and pre.diastolic is not None else None
        return m.systolic - pre.systolic, dia

    def rose(m: BpMeasurement) -> bool:
        sys_rise, dia_rise = rise(m)
        return sys_rise >= rules.bp_rise_systolic or (dia_rise is not None and dia_rise >= rules.bp_rise_diastolic)

    top = max(after, key=lambda m: (rise(m)[0], -m.t_us))
    sys_rise, dia_rise = rise(top)
    dia = f"/{dia_rise:+.0f}" if dia_rise is not None else ""
    detail = f"largest rise {sys_rise:+.0f}{dia} mmHg ({top} at {_clock(top.t_us)}) over the pre-dose {pre}"
    return any(rose(m) for m in after), detail


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
