"""Doses that add up: per-drug totals from the infusion's rate segments, the prescription the record enforces,
and numbers no session can have refused in one line."""

from __future__ import annotations

from typing import Any

import pytest

from kapmonitor.session.dosing import drug_totals, infusion_delivered_mg
from kapmonitor.session.entries import (
    US_PER_MIN,
    BodyWeight,
    BolusDose,
    DoseOverride,
    InfusionEvent,
    IntranasalDevice,
    Prescription,
)
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import EntryError, MaxDoseExceeded, SessionRecord

T0 = 1_800_000_000_000_000


def at(minutes: float) -> dict[str, Any]:
    t = T0 + round(minutes * US_PER_MIN)
    return {"t_us": t, "entered_us": t, "author": "nina"}


def infusion(minutes: float, action: str, rate: float | None = None) -> InfusionEvent:
    return InfusionEvent(**at(minutes), action=action, rate=rate, weight_kg=70.0 if rate is not None else None)


def test_an_infusion_with_a_rate_change_a_pause_and_a_resume_totals_the_hand_calculation() -> None:
    record = SessionRecord.for_template(builtin_templates()["iv-infusion"])
    record.add(BodyWeight(**at(0), kg=70.0))
    for event in (
        infusion(0, "start", 0.5),  # 0.5 mg/kg/h x 70 kg = 35 mg/h for 20 min = 11.667 mg
        infusion(20, "rate", 0.75),  # 52.5 mg/h for 10 min = 8.75 mg
        infusion(30, "pause"),  # nothing for 5 min
        infusion(35, "resume"),  # 52.5 mg/h again for 10 min = 8.75 mg
        infusion(45, "stop"),
    ):
        record.add(event)
    hand = 35 * 20 / 60 + 52.5 * 10 / 60 + 52.5 * 10 / 60  # 29.167 mg

    (total,) = drug_totals(record.doses(), T0 + 90 * US_PER_MIN, record.weight_kg)
    assert total.drug == "ketamine"
    assert total.total_mg == pytest.approx(hand)
    assert total.total_mg_per_kg == pytest.approx(hand / 70)

    events = record.current_of(InfusionEvent)
    delivered = infusion_delivered_mg(events, T0 + 90 * US_PER_MIN)
    assert [round(delivered[i], 3) for i in range(5)] == [11.667, 8.75, 0.0, 8.75, 0.0]


def test_totals_are_per_drug() -> None:
    record = SessionRecord()
    record.add(BodyWeight(**at(0), kg=80.0))
    record.add(BolusDose(**at(1), mg=40.0, route="im"))
    record.add(BolusDose(**at(2), mg=2.0, route="iv", drug="midazolam"))
    totals = {t.drug: t for t in drug_totals(record.doses(), T0 + 60 * US_PER_MIN, record.weight_kg)}
    assert totals["ketamine"].total_mg == 40.0 and totals["ketamine"].total_mg_per_kg == pytest.approx(0.5)
    assert totals["midazolam"].total_mg == 2.0


def esketamine_record(mg: float, devices: int) -> SessionRecord:
    record = SessionRecord.for_template(builtin_templates()["intranasal-esketamine"])
    record.add(Prescription(**at(0), drug="esketamine", route="intranasal", mg=mg, devices=devices))
    return record


def test_a_device_past_the_prescription_needs_an_override_with_who_and_why() -> None:
    record = esketamine_record(56, 2)
    record.add(IntranasalDevice(**at(10), lot="A1"))
    record.add(IntranasalDevice(**at(15), lot="A2"))
    with pytest.raises(MaxDoseExceeded, match="device 3 of 2 prescribed.*override"):
        record.add(IntranasalDevice(**at(20), lot="A3"))
    override = DoseOverride(**at(20), reason="prescriber raised to 84 mg", limit_mg=56.0, projected_mg=84.0)
    record.add(IntranasalDevice(**at(20), lot="A3"), override=override)
    assert sum(s.mg for s in record.sprays()) == 84.0


def test_no_fourth_esketamine_device_whatever_the_override() -> None:
    record = esketamine_record(84, 3)
    for minutes, lot in ((10, "A1"), (15, "A2"), (20, "A3")):
        record.add(IntranasalDevice(**at(minutes), lot=lot))
    override = DoseOverride(**at(25), reason="more", limit_mg=84.0, projected_mg=112.0)
    with pytest.raises(EntryError, match="112 mg of esketamine is past the label's maximum of 84 mg"):
        record.add(IntranasalDevice(**at(25), lot="A4"), override=override)


def test_a_prescription_above_the_label_is_refused() -> None:
    with pytest.raises(EntryError, match="label's maximum is 84 mg"):
        esketamine_record(112, 4)


def test_the_prescriptions_cap_is_what_the_record_enforces() -> None:
    record = SessionRecord.for_template(builtin_templates()["im-ketamine"])
    record.add(BodyWeight(**at(0), kg=80.0))
    record.add(Prescription(**at(0), drug="ketamine", route="im", mg_per_kg=0.75, max_mg_per_kg=1.0))
    record.add(BolusDose(**at(5), mg=60.0, route="im", mg_per_kg=0.75))
    with pytest.raises(MaxDoseExceeded, match="exceeds the clinic maximum of 1 mg/kg"):
        record.add(BolusDose(**at(30), mg=30.0, route="im"))  # 90 mg = 1.125 mg/kg


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (BolusDose(**at(1), mg=100000.0, route="im"), "a dose of 100000 mg is more than 1000 mg"),
        (BodyWeight(**at(1), kg=5000.0), "a weight of 5000 kg is outside 2-400 kg"),
        (InfusionEvent(**at(1), action="start", rate=900.0, weight_kg=70.0), "900 mg/kg/h is more than 10"),
        (
            InfusionEvent(**at(1), action="start", rate=5.0, rate_unit="mL/h", concentration_mg_per_ml=500.0),
            "a concentration of 500 mg/mL",
        ),
    ],
)
def test_numbers_no_session_can_have_are_refused_even_without_a_protocol(entry: Any, message: str) -> None:
    record = SessionRecord()  # no protocol, no maximum
    with pytest.raises(EntryError, match=message):
        record.add(entry)
    assert record.log == []
