"""Dose arithmetic: rate units, an IV infusion with rate changes and a pause, sprays, the max mg/kg."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.session.dosing import (
    DosingError,
    MaxDoseCheck,
    bolus_from_mg_per_kg,
    convert_rate,
    cumulative_dose_mg,
    cumulative_mg_per_kg,
    infusion_segments,
    spray_rest_remaining_us,
    spray_too_soon,
)
from kapmonitor.session.entries import BodyWeight, BolusDose, DoseOverride, InfusionEvent, IntranasalDevice
from kapmonitor.session.timeline import EntryError, MaxDoseExceeded, SessionRecord

T0 = 1_700_000_000_000_000
MIN = 60_000_000


def at(minutes: float) -> int:
    return T0 + round(minutes * MIN)


def infusion(action: str, minute: float, rate: float | None = None, unit: str = "mg/kg/h") -> InfusionEvent:
    return InfusionEvent(
        t_us=at(minute),
        entered_us=at(minute),
        author="rn",
        action=action,
        rate=rate,
        rate_unit=unit,
        weight_kg=80.0,
        concentration_mg_per_ml=1.0,
    )


def test_rates_convert_among_mg_per_kg_per_h_mg_per_h_and_ml_per_h() -> None:
    # 0.5 mg/kg over 40 min for 80 kg = 0.75 mg/kg/h = 60 mg/h; at 2 mg/mL that is 30 mL/h.
    kw = {"weight_kg": 80.0, "concentration_mg_per_ml": 2.0}
    assert convert_rate(0.75, "mg/kg/h", "mg/h", **kw) == pytest.approx(60.0)
    assert convert_rate(0.75, "mg/kg/h", "mL/h", **kw) == pytest.approx(30.0)
    assert convert_rate(30.0, "mL/h", "mg/kg/h", **kw) == pytest.approx(0.75)
    assert convert_rate(60.0, "mg/h", "mL/h", **kw) == pytest.approx(30.0)


def test_a_conversion_without_weight_or_concentration_says_which_is_missing() -> None:
    with pytest.raises(DosingError, match="needs a weight"):
        convert_rate(0.5, "mg/kg/h", "mg/h")
    with pytest.raises(DosingError, match="needs a concentration"):
        convert_rate(10, "mg/h", "mL/h", weight_kg=70)
    with pytest.raises(DosingError, match="unknown rate unit 'mg/min'"):
        convert_rate(1, "mg/min", "mg/h")


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.01, 500),
    st.sampled_from(["mg/kg/h", "mg/h", "mL/h"]),
    st.sampled_from(["mg/kg/h", "mg/h", "mL/h"]),
    st.floats(20, 200),
    st.floats(0.5, 50),
)
def test_converting_there_and_back_returns_the_rate(
    rate: float, a: str, b: str, kg: float, conc: float
) -> None:
    kw = {"weight_kg": kg, "concentration_mg_per_ml": conc}
    assert convert_rate(convert_rate(rate, a, b, **kw), b, a, **kw) == pytest.approx(rate)


# An 80 kg patient, 1 mg/mL bag:
#   0-10 min   0.75 mg/kg/h = 60 mg/h  -> 10 mg
#  10-20 min   30 mL/h      = 30 mg/h  ->  5 mg
#  20-25 min   paused                  ->  0 mg
#  25-30 min   resumed at 30 mg/h      ->  2.5 mg
#  30-45 min   90 mg/h                 -> 22.5 mg   (stopped at 45)  total 40 mg = 0.5 mg/kg
IV = [
    infusion("start", 0, 0.75),
    infusion("rate", 10, 30, "mL/h"),
    infusion("pause", 20),
    infusion("resume", 25),
    infusion("rate", 30, 90, "mg/h"),
    infusion("stop", 45),
]


@pytest.mark.parametrize(
    ("minute", "mg"),
    [(0, 0), (5, 5), (10, 10), (15, 12.5), (22, 15), (25, 15), (30, 17.5), (40, 32.5), (45, 40), (90, 40)],
)
def test_iv_infusion_with_rate_changes_and_a_pause_integrates_exactly(minute: float, mg: float) -> None:
    assert cumulative_dose_mg(IV, at(minute)) == pytest.approx(mg)


def test_mg_per_kg_and_a_bolus_on_top() -> None:
    assert cumulative_mg_per_kg(IV, at(60), 80.0) == pytest.approx(0.5)
    bolus = bolus_from_mg_per_kg(0.1, 80.0, t_us=at(50), entered_us=at(50), author="md", route="iv")
    assert bolus.mg == pytest.approx(8.0) and bolus.mg_per_kg == 0.1
    assert cumulative_dose_mg([*IV, bolus], at(49)) == pytest.approx(40.0)
    assert cumulative_mg_per_kg([*IV, bolus], at(60), 80.0) == pytest.approx(0.6)


def test_the_order_events_are_given_in_does_not_matter() -> None:
    assert cumulative_dose_mg(list(reversed(IV)), at(45)) == pytest.approx(40.0)
    segments = infusion_segments(IV, at(45))
    assert [(s.start_us, s.end_us) for s in segments] == [
        (at(0), at(10)),
        (at(10), at(20)),
        (at(25), at(30)),
        (at(30), at(45)),
    ]


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([infusion("rate", 0, 1)], "infusion rate at .* while the infusion is idle"),
        ([infusion("start", 0, 1), infusion("resume", 5)], "resume at .* while the infusion is running"),
        ([infusion("start", 0, None)], "has no rate"),
        (
            [infusion("start", 0, 1), infusion("stop", 5), infusion("pause", 6)],
            "pause .* while the infusion is stopped",
        ),
        ([infusion("start", 0, 1, "mg/kg/min")], "unknown rate unit"),
    ],
)
def test_an_impossible_infusion_sequence_is_explained(events: list[InfusionEvent], message: str) -> None:
    with pytest.raises(DosingError, match=message):
        cumulative_dose_mg(events, at(60))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 120), min_size=2, max_size=6))
def test_the_cumulative_dose_never_falls(minutes: list[float]) -> None:
    doses = [cumulative_dose_mg(IV, at(m)) for m in sorted(minutes)]
    assert doses == sorted(doses)


def spray(minute: float, lot: str) -> IntranasalDevice:
    return IntranasalDevice(t_us=at(minute), entered_us=at(minute), author="rn", lot=lot)


def test_two_intranasal_devices_with_their_lots_and_the_rest_between() -> None:
    first, second = spray(0, "LOT-A1"), spray(5, "LOT-B2")
    assert spray_rest_remaining_us([first], at(2)) == 3 * MIN
    assert spray_rest_remaining_us([first], at(5)) == 0
    assert spray_too_soon([first], spray(4, "LOT-B2")) == (
        "device used 4.0 min after the previous one; the rest between devices is 5 min"
    )
    assert spray_too_soon([first], second) is None
    assert cumulative_dose_mg([first, second], at(10)) == 56.0
    assert cumulative_dose_mg([first, second], at(3)) == 28.0


def test_max_dose_check_warns_above_the_clinic_limit() -> None:
    check = MaxDoseCheck(limit_mg_per_kg=1.0, weight_kg=70.0)
    dose = BolusDose(t_us=at(0), entered_us=at(0), author="rn", mg=60, route="im")
    assert check.projected([], dose) is None
    warning = check.projected(
        [dose], BolusDose(t_us=at(20), entered_us=at(20), author="rn", mg=20, route="im")
    )
    assert warning is not None and warning.projected_mg == 80
    assert "1.14 mg/kg exceeds the clinic maximum of 1 mg/kg" in warning.message


def test_a_dose_above_the_max_needs_a_recorded_override_with_who_and_why() -> None:
    record = SessionRecord("im-ketamine", max_mg_per_kg=1.0)
    big = BolusDose(t_us=at(1), entered_us=at(1), author="rn", mg=80, route="im")
    with pytest.raises(EntryError, match="record the patient's weight first"):
        record.add(big)
    record.add(BodyWeight(t_us=at(0), entered_us=at(0), author="rn", kg=70.0))
    with pytest.raises(MaxDoseExceeded, match="an override \\(who, why\\) must be recorded"):
        record.add(big)
    vague = DoseOverride(
        t_us=at(1),
        entered_us=at(1),
        author="dr lee",
        reason=" ",
        limit_mg_per_kg=1.0,
        projected_mg_per_kg=1.2,
    )
    with pytest.raises(MaxDoseExceeded, match="needs who decided"):
        record.add(big, override=vague)
    override = DoseOverride(
        t_us=at(1),
        entered_us=at(1),
        author="dr lee",
        reason="tolerance after 6 sessions",
        limit_mg_per_kg=1.0,
        projected_mg_per_kg=80 / 70,
    )
    ref = record.add(big, override=override)
    assert record.entry_at(ref) == big and record.entry_at(ref - 1) == override
    assert record.doses() == [big]


def test_an_infusion_is_checked_at_its_planned_stop() -> None:
    record = SessionRecord("iv-infusion", max_mg_per_kg=1.0)
    record.add(BodyWeight(t_us=at(0), entered_us=at(0), author="rn", kg=80.0))
    start = infusion("start", 0, 1.5)  # 1.5 mg/kg/h for 40 min would reach 1.0 mg/kg: allowed
    record.add(start, until_us=at(40))
    with pytest.raises(MaxDoseExceeded, match="1.25 mg/kg"):
        record.add(infusion("rate", 10, 2.0), until_us=at(40))  # 0.25 mg/kg so far + 30 min at 2 mg/kg/h


def test_a_third_esketamine_device_without_a_prescription_needs_an_override_as_past_the_default() -> None:
    record = SessionRecord("intranasal-esketamine")  # as a stored record is read back: the protocol's name only

    def device(minute: int, lot: str) -> IntranasalDevice:
        t = T0 + minute * MIN
        return IntranasalDevice(t_us=t, entered_us=t, author="RN Ito", lot=lot, mg=28.0, drug="esketamine")

    record.add(device(0, "EK1"))
    record.add(device(5, "EK2"))
    with pytest.raises(MaxDoseExceeded, match="device 3 of 2 in the protocol's default: no prescription is recorded"):
        record.add(device(10, "EK3"))
    assert len(record.sprays()) == 2
    override = DoseOverride(
        t_us=T0 + 10 * MIN,
        entered_us=T0 + 10 * MIN,
        author="RN Ito",
        reason="84 mg ordered",
        limit_mg=56.0,
        projected_mg=84.0,
    )
    record.add(device(10, "EK3"), override=override)
    assert [s.lot for s in record.sprays()] == ["EK1", "EK2", "EK3"]
    assert record.current_of(DoseOverride) == [override]
    assert SessionRecord("im-ketamine").checked_prescription is None  # a per-kg protocol: its cap, not devices
