"""Pulse Oximeter Service: 0x2A5E, 0x2A5F, 0x2A60 and RACP 0x2A52, with the vectors of protocols.md section
4."""

from __future__ import annotations

from datetime import datetime

import pytest
from ble_test_support import date_times, readings
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.readings import DecodeError, LinkEvent, Reading
from kapmonitor.devices.ble.ieee11073 import DateTime
from kapmonitor.devices.ble.plx import (
    PlxContinuousDecoder,
    PlxContinuousMeasurement,
    PlxFeatures,
    PlxSpotCheckDecoder,
    PlxSpotCheckMeasurement,
    SpO2PulseRate,
    encode_plx_continuous,
    encode_plx_features,
    encode_plx_spot_check,
    parse_plx_continuous,
    parse_plx_features,
    parse_plx_spot_check,
)
from kapmonitor.devices.ble.racp import (
    REPORT_ALL_STORED_RECORDS,
    REPORT_NUMBER_OF_ALL_RECORDS,
    RacpDecoder,
    RacpResponse,
    RacpResponseCode,
    parse_racp_request,
    parse_racp_response,
)


def cont(payload: str) -> list:
    return PlxContinuousDecoder().feed(bytes.fromhex(payload))


@pytest.mark.parametrize("payload", ["00 E8 F3 84 F3", "00 64 00 5A 00"])
def test_continuous_normal_only(payload: str) -> None:
    r = readings(cont(payload))
    assert (r["spo2"].value, r["pulse_rate"].value) == (100.0, 90.0)
    assert (r["spo2"].unit, r["pulse_rate"].unit) == ("%", "bpm")
    assert "perfusion_index" not in r


def test_continuous_with_status_and_pulse_amplitude_index() -> None:
    m, used = parse_plx_continuous(bytes.fromhex("1C 5F 00 5A 00 20 00 00 00 00 57 F0"))
    assert (m.spo2, m.pulse_rate, m.measurement_status, m.device_sensor_status, m.pulse_amplitude_index) == (
        95.0,
        90.0,
        0x0020,
        0,
        8.7,
    )
    assert used == 12
    r = readings(cont("1C 5F 00 5A 00 20 00 00 00 00 57 F0"))
    assert r["perfusion_index"].value == 8.7 and r["perfusion_index"].unit == "%"
    assert r["spo2"].flags == frozenset()  # "measurement ongoing" is normal operation


def test_continuous_with_fast_and_slow() -> None:
    payload = bytes.fromhex("1F DE F3 CA F3 CA F3 5A F5 D4 F3 B2 F2 20 01 00 00 00 7A E3")
    m, _ = parse_plx_continuous(payload)
    assert (m.spo2, m.pulse_rate) == (99.0, 97.0)
    assert m.fast == SpO2PulseRate(97.0, 137.0)
    assert m.slow == SpO2PulseRate(98.0, 69.0)
    assert (m.measurement_status, m.device_sensor_status, m.pulse_amplitude_index) == (0x0120, 0, 8.9)
    r = readings(PlxContinuousDecoder().feed(payload))
    assert (r["spo2"].value, r["pulse_rate"].value, r["perfusion_index"].value) == (99.0, 97.0, 8.9)


def test_continuous_finger_out() -> None:
    r = readings(cont("08 FF 07 FF 07 00 88 00"))
    assert r["spo2"].value is None and r["pulse_rate"].value is None
    assert "sensor_off" in r["spo2"].flags  # D&S 0x008800: sensor unconnected to user + disconnected


def test_truncated_continuous_payload_is_short() -> None:
    (error,) = cont("1C 5F 00 5A 00 20 00")
    assert error.reason == "short" and error.offset == 7


def test_spot_check_full_record() -> None:
    payload = bytes.fromhex("0F AC F3 BE F5 E8 07 0B 1D 17 08 39 20 40 22 00 00 66 E3")
    m, used = parse_plx_spot_check(payload)
    assert (m.spo2, m.pulse_rate, m.timestamp) == (94.0, 147.0, DateTime(2024, 11, 29, 23, 8, 57))
    assert (m.measurement_status, m.device_sensor_status, m.pulse_amplitude_index, used) == (
        0x4020,
        0x22,
        8.7,
        19,
    )
    r = readings(PlxSpotCheckDecoder().feed(payload))
    assert (r["spo2"].value, r["pulse_rate"].value, r["perfusion_index"].value) == (94.0, 147.0, 8.7)
    assert r["spo2"].t_device == datetime(2024, 11, 29, 23, 8, 57)
    assert r["spo2"].flags == {"questionable", "equipment_malfunction", "low_perfusion"}


def test_spot_check_unavailable_and_sensor_disconnected() -> None:
    r = readings(PlxSpotCheckDecoder().feed(bytes.fromhex("06 FF 07 FF 07 00 20 00 80 00")))
    assert r["spo2"].value is None and r["pulse_rate"].value is None
    assert {"invalid", "sensor_off"} <= r["spo2"].flags


def test_spot_check_replayed_from_storage_is_flagged_stored() -> None:
    r = readings(PlxSpotCheckDecoder().feed(bytes.fromhex("02 61 00 3C 00 00 02")))
    assert (r["spo2"].value, r["pulse_rate"].value) == (97.0, 60.0)
    assert r["spo2"].flags == {"stored"}


def test_spot_check_with_unset_clock_has_no_device_time() -> None:
    payload = encode_plx_spot_check(
        PlxSpotCheckMeasurement(97.0, 60.0, DateTime(2000, 1, 1, 0, 0, 5), clock_not_set=True)
    )
    assert payload[0] == 0x11
    assert readings(PlxSpotCheckDecoder().feed(payload))["spo2"].t_device is None


def test_features() -> None:
    f, used = parse_plx_features(bytes.fromhex("A3 00 40 10 80 01 00"))
    assert f == PlxFeatures(0x00A3, 0x1040, 0x000180) and used == 7
    assert f.names == ("measurement status", "device and sensor status", "SpO2PR-Slow", "multiple bonds")
    assert not f.spot_check_storage
    assert encode_plx_features(f) == bytes.fromhex("A3 00 40 10 80 01 00")


def test_implausible_spo2_is_invalid_not_a_number() -> None:
    items = cont("00 E9 03 5A 00")  # 1001 %
    assert readings(items)["spo2"].value is None
    assert [e.reason for e in items if isinstance(e, DecodeError)] == ["implausible"]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("06 00 01 01", RacpResponse(0x01, RacpResponseCode.SUCCESS)),
        ("05 00 02 01", RacpResponse(number_of_records=258)),
        ("06 00 01 06", RacpResponse(0x01, RacpResponseCode.NO_RECORDS_FOUND)),
        ("06 00 0C 02", RacpResponse(0x0C, RacpResponseCode.OP_CODE_NOT_SUPPORTED)),
        ("06 00 02 08", RacpResponse(0x02, RacpResponseCode.PROCEDURE_NOT_COMPLETED)),
    ],
)
def test_racp_responses(payload: str, expected: RacpResponse) -> None:
    assert parse_racp_response(bytes.fromhex(payload)) == expected
    (event,) = RacpDecoder().feed(bytes.fromhex(payload))
    assert isinstance(event, LinkEvent) and event.kind == "racp" and event.extra["response"] == expected
    assert expected.encode() == bytes.fromhex(payload)


def test_racp_descriptions_are_plain() -> None:
    assert (
        RacpResponse(0x01, RacpResponseCode.NO_RECORDS_FOUND).describe()
        == "report stored records: no records found"
    )
    assert RacpResponse(number_of_records=258).describe() == "258 stored record(s)"


def test_racp_malformed_response_operator_must_be_null() -> None:
    (error,) = RacpDecoder().feed(bytes.fromhex("06 01 01"))
    assert error.reason == "malformed" and "operator" in error.detail


def test_racp_requests() -> None:
    assert REPORT_ALL_STORED_RECORDS.encode() == bytes.fromhex("01 01")
    assert REPORT_NUMBER_OF_ALL_RECORDS.encode() == bytes.fromhex("04 01")
    assert parse_racp_request(bytes.fromhex("01 01")) == REPORT_ALL_STORED_RECORDS


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_arbitrary_payloads_never_raise(data: bytes) -> None:
    for decoder in (PlxSpotCheckDecoder(), PlxContinuousDecoder(), RacpDecoder()):
        assert all(isinstance(i, Reading | DecodeError | LinkEvent) for i in decoder.feed(data))


values = st.none() | st.integers(0, 2045).map(float) | st.sampled_from([94.0, 97.5, 8.7, 0.25])
statuses16 = st.none() | st.integers(0, 0xFFFF)
statuses24 = st.none() | st.integers(0, 0xFFFFFF)


@st.composite
def spot_checks(draw: st.DrawFn) -> PlxSpotCheckMeasurement:
    has_pai = draw(st.booleans())
    return PlxSpotCheckMeasurement(
        draw(values),
        draw(values),
        draw(st.none() | date_times),
        draw(statuses16),
        draw(statuses24),
        draw(values) if has_pai else None,
        has_pai,
        draw(st.booleans()),
        draw(st.sampled_from([0, 0x20, 0xE0])),
    )


@st.composite
def continuous(draw: st.DrawFn) -> PlxContinuousMeasurement:
    has_pai = draw(st.booleans())
    pairs = st.none() | st.builds(SpO2PulseRate, values, values)
    return PlxContinuousMeasurement(
        draw(values),
        draw(values),
        draw(pairs),
        draw(pairs),
        draw(statuses16),
        draw(statuses24),
        draw(values) if has_pai else None,
        has_pai,
        draw(st.sampled_from([0, 0x20, 0xE0])),
    )


@settings(max_examples=200, deadline=None)
@given(spot_checks())
def test_spot_check_round_trips(m: PlxSpotCheckMeasurement) -> None:
    data = encode_plx_spot_check(m)
    assert parse_plx_spot_check(data) == (m, len(data))


@settings(max_examples=200, deadline=None)
@given(continuous())
def test_continuous_round_trips(m: PlxContinuousMeasurement) -> None:
    data = encode_plx_continuous(m)
    assert parse_plx_continuous(data) == (m, len(data))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFF))
def test_features_round_trip(features: int, status: int, dss: int) -> None:
    f = PlxFeatures(features, status if features & 1 else None, dss if features & 2 else None)
    data = encode_plx_features(f)
    assert parse_plx_features(data) == (f, len(data))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([0x01, 0x02, 0x0C]), st.integers(1, 9), st.integers(0, 0xFFFF))
def test_racp_responses_round_trip(op: int, code: int, count: int) -> None:
    for response in (RacpResponse(op, code), RacpResponse(number_of_records=count)):
        assert parse_racp_response(response.encode()) == response
