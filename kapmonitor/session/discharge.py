"""The discharge checklist evaluated against the record, and the discharge itself (with an override when items
are still open). The Spravato REMS monitoring form filled from the record is ``session.rems``.

Only evidence after the first dose counts towards recovery (a pre-dose MOAA/S 5 says nothing about it).
A criterion is met *since* the first of the unbroken run of satisfying observations ending with the latest;
the patient was ready when the last criterion became met.
"""

from __future__ import annotations

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
