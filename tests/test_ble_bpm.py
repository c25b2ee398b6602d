"""Blood Pressure Measurement 0x2A35 and Intermediate Cuff Pressure 0x2A36: protocols.md section 3."""

from __future__ import annotations

from datetime import datetime

import pytest
from ble_test_support import date_times, readings
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.readings import DecodeError, Reading
from kapmonitor.devices.ble.bpm import (
    BEURER_BM85,
    BloodPressureDecoder,
    BloodPressureMeasurement,
    IntermediateCuffPressureDecoder,
    MeasurementStatus,
    PulseRateRange,
    encode_blood_pressure_measurement,
    encode_intermediate_cuff_pressure,
    parse_blood_pressure_measurement,
    quirks_for_name,
)
from kapmonitor.devices.ble.ieee11073 import DateTime


def errors(items: list) -> list[tuple[str, int]]:
    return [(i.reason, i.offset) for i in items if isinstance(i, DecodeError)]


def test_nordic_full_mmhg_record_with_every_status_bit() -> None:
    payload = bytes.fromhex("1E 8A 00 58 00 78 00 00 00 04 11 14 29 3B 3C 00 01 27 00")
    m, used = parse_blood_pressure_measurement(payload)
    assert (m.systolic, m.diastolic, m.mean, m.kpa) == (138.0, 88.0, 120.0, False)
    assert m.timestamp == DateTime(0, 4, 17, 20, 41, 59)
    assert (m.pulse_rate, m.user_id, used) == (60.0, 1, 19)
    assert m.status is not None and m.status.pulse_rate_range is PulseRateRange.IN_RANGE
    r = readings(BloodPressureDecoder().feed(payload))
    assert {k: v.value for k, v in r.items()} == {
        "nibp_systolic": 138.0,
        "nibp_diastolic": 88.0,
        "nibp_mean": 120.0,
        "pulse_rate": 60.0,
    }
    assert r["nibp_systolic"].flags == {"body_movement", "cuff_loose", "irregular_pulse", "improper_position"}
    assert r["nibp_systolic"].t_device is None  # year 0: the cuff does not know the date
    assert r["nibp_systolic"].unit == "mmHg"


def test_kpa_record_is_converted_to_mmhg() -> None:
    items = BloodPressureDecoder().feed(bytes.fromhex("15 BD F0 0B 00 9F F0 3C 00 12 00"))
    r = readings(items)
    assert r["nibp_systolic"].value == pytest.approx(18.9 * 7.50062, abs=0.05)
    assert r["nibp_diastolic"].value == pytest.approx(11 * 7.50062, abs=0.05)
    assert r["nibp_mean"].value == pytest.approx(15.9 * 7.50062, abs=0.05)
    assert r["pulse_rate"].value == 60.0
    assert r["pulse_rate"].flags == {"cuff_loose", "pulse_rate_below_range"}
    assert errors(items) == []


def test_minimal_seven_byte_form() -> None:
    m, used = parse_blood_pressure_measurement(bytes.fromhex("00 BD F0 0B 00 9F F0"))
    assert (m.systolic, m.diastolic, m.mean, m.timestamp, m.pulse_rate, used) == (
        18.9,
        11.0,
        15.9,
        None,
        None,
        7,
    )
    items = BloodPressureDecoder().feed(bytes.fromhex("00 BD F0 0B 00 9F F0"))
    assert readings(items)["nibp_systolic"].value is None  # 18.9 mmHg systolic is implausible
    assert "invalid" in readings(items)["nibp_systolic"].flags
    assert errors(items) == [("implausible", 1)]


@pytest.mark.parametrize(
    ("status", "flag"),
    [("00 00", None), ("08 00", "pulse_rate_above_range"), ("10 00", "pulse_rate_below_range")],
)
def test_timestamped_record_with_pulse_rate_range(status: str, flag: str | None) -> None:
    payload = bytes.fromhex("16 7C 00 56 00 61 00 E8 07 06 0F 11 11 1B 33 00" + status)
    r = readings(BloodPressureDecoder().feed(payload))
    assert [r[m].value for m in ("nibp_systolic", "nibp_diastolic", "nibp_mean", "pulse_rate")] == [
        124,
        86,
        97,
        51,
    ]
    assert r["nibp_mean"].t_device == datetime(2024, 6, 15, 17, 17, 27)
    assert r["pulse_rate"].flags == ({flag} if flag else set())


def test_failed_reading_of_nans_is_never_displayed_as_2047() -> None:
    r = readings(BloodPressureDecoder().feed(bytes.fromhex("04 FF 07 FF 07 FF 07 FF 07")))
    assert [x.value for x in r.values()] == [None, None, None, None]


@pytest.mark.parametrize(("payload", "offset"), [("01 02 03 04 05 06", 6), ("03 02 03 04 05 06 07", 7)])
def test_short_payloads(payload: str, offset: int) -> None:
    (error,) = BloodPressureDecoder().feed(bytes.fromhex(payload))
    assert (error.reason, error.offset) == ("short", offset)
    assert "needs" in error.detail


BEURER = bytes.fromhex("56 6A 00 47 00 00 00 EA 07 08 0B 12 1F 00 00 3F 00 00 00")


def test_beurer_sample_parsed_strictly_is_implausible_not_a_number() -> None:
    items = BloodPressureDecoder().feed(BEURER)
    r = readings(items)
    assert (
        r["pulse_rate"].value is None and "invalid" in r["pulse_rate"].flags
    )  # strict: SFLOAT 0x3F00 = -256000
    assert ("trailing", 18) in errors(items)


def test_beurer_quirk_reads_what_the_cuff_meant() -> None:
    items = BloodPressureDecoder(quirks=[BEURER_BM85]).feed(BEURER)
    r = readings(items)
    assert r["nibp_systolic"].value == 106 and r["nibp_diastolic"].value == 71
    assert r["nibp_mean"].value is None  # the BM85 sends MAP 0 for "not measured"
    assert r["pulse_rate"].value == 63
    assert r["pulse_rate"].t_device == datetime(2026, 8, 11, 18, 31, 0)
    assert errors(items) == []


def test_quirk_leaves_spec_payloads_of_the_same_model_alone() -> None:
    spec = bytes.fromhex("16 7C 00 56 00 61 00 E8 07 06 0F 11 11 1B 33 00 00 00")
    assert BloodPressureDecoder(quirks=[BEURER_BM85]).feed(spec) == BloodPressureDecoder().feed(spec)


def test_quirks_are_chosen_by_advertised_name() -> None:
    assert quirks_for_name("BM85") == (BEURER_BM85,)
    assert quirks_for_name("BLEsmart_0000") == ()
    assert quirks_for_name(None) == ()


@pytest.mark.parametrize(
    ("payload", "pressure", "pulse"),
    [
        ("1E 04 00 00 00 00 00 00 00 04 11 14 29 3B 3C 00 01 00 00", 4.0, 60.0),
        ("15 6F F0 00 00 00 00 3C 00 12 00", round(11.1 * 7.50062, 1), 60.0),
        ("00 D7 F0 00 00 00 00", 21.5, None),
        ("00 96 00 FF 07 FF 07", 150.0, None),
    ],
)
def test_intermediate_cuff_pressure(payload: str, pressure: float, pulse: float | None) -> None:
    r = readings(IntermediateCuffPressureDecoder().feed(bytes.fromhex(payload)))
    assert r["cuff_pressure"].value == pressure
    assert r["cuff_pressure"].unit == "mmHg"
    assert (r["pulse_rate"].value if "pulse_rate" in r else None) == pulse
    assert "nibp_diastolic" not in r and "nibp_mean" not in r  # unused in 0x2A36


def test_icp_encoder_sends_nan_for_the_unused_fields() -> None:
    data = encode_intermediate_cuff_pressure(BloodPressureMeasurement(150.0, 80.0, 90.0))
    assert data == bytes.fromhex("00 96 00 FF 07 FF 07")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_arbitrary_payloads_never_raise(data: bytes) -> None:
    for decoder in (
        BloodPressureDecoder(),
        BloodPressureDecoder(quirks=[BEURER_BM85]),
        IntermediateCuffPressureDecoder(),
    ):
        assert all(isinstance(i, Reading | DecodeError) for i in decoder.feed(data))


pressures = st.none() | st.integers(-2045, 2045).map(float) | st.sampled_from([18.9, 15.9, 11.1, 0.5])


@st.composite
def cuff_measurements(draw: st.DrawFn) -> BloodPressureMeasurement:
    has_pulse = draw(st.booleans())
    return BloodPressureMeasurement(
        draw(pressures),
        draw(pressures),
        draw(pressures),
        draw(st.booleans()),
        draw(st.none() | date_times),
        draw(pressures) if has_pulse else None,
        has_pulse,
        draw(st.none() | st.integers(0, 255)),
        draw(st.none() | st.integers(0, 0xFFFF).map(MeasurementStatus)),
        draw(st.sampled_from([0, 0x40, 0xE0])),
    )


@settings(max_examples=200, deadline=None)
@given(cuff_measurements())
def test_encode_then_parse_round_trips(m: BloodPressureMeasurement) -> None:
    data = encode_blood_pressure_measurement(m)
    assert parse_blood_pressure_measurement(data) == (m, len(data))
