"""Heart Rate Measurement 0x2A37: the vectors of protocols.md section 2, bytes in, readings out."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.readings import DecodeError, Reading
from kapmonitor.devices.ble.hrm import (
    HeartRateDecoder,
    HeartRateMeasurement,
    SensorContact,
    encode_heart_rate_measurement,
    parse_heart_rate_measurement,
)


def feed(hex_payload: str) -> list:
    return HeartRateDecoder().feed(bytes.fromhex(hex_payload))


def values(items: list, metric: str) -> list:
    return [i.value for i in items if isinstance(i, Reading) and i.metric == metric]


def test_uint8_heart_rate_without_contact_feature() -> None:
    items = feed("00 55")
    assert items == [Reading("heart_rate", 85.0, "bpm")]


def test_contact_supported_but_not_detected_flags_sensor_off() -> None:
    (reading,) = feed("04 FF")
    assert reading.value == 255.0 and reading.flags == {"sensor_off"}


def test_energy_expended_and_one_rr_interval() -> None:
    m, used = parse_heart_rate_measurement(bytes.fromhex("1E 55 32 00 21 00"))
    assert (m.heart_rate, m.sensor_contact, m.energy_expended_kj, m.rr_intervals) == (
        85,
        SensorContact.DETECTED,
        50,
        (33,),
    )
    assert used == 6
    items = feed("1E 55 32 00 21 00")
    assert values(items, "heart_rate") == [85.0]
    (rr,) = [i for i in items if isinstance(i, Reading) and i.metric == "rr_interval"]
    assert rr.value == pytest.approx(0.0322, abs=1e-4)
    assert "questionable" in rr.flags  # 32 ms is no heartbeat, but HRV keeps the slot


def test_uint16_heart_rate_with_three_rr_intervals_in_order() -> None:
    m, _ = parse_heart_rate_measurement(bytes.fromhex("1F 01 01 32 01 01 00 02 01 FF FF"))
    assert (m.heart_rate, m.energy_expended_kj, m.rr_intervals) == (257, 306, (1, 258, 65535))
    items = feed("1F 01 01 32 01 01 00 02 01 FF FF")
    assert values(items, "heart_rate") == [257.0]
    assert values(items, "rr_interval") == [1 / 1024, 258 / 1024, 65535 / 1024]


@pytest.mark.parametrize(
    ("payload", "rr"),
    [("16 3C 11 04", [1041 / 1024]), ("16 3C F5 03", [1013 / 1024]), ("06 3C", [])],
)
def test_polar_h7_captures(payload: str, rr: list[float]) -> None:
    items = feed(payload)
    assert values(items, "heart_rate") == [60.0]
    assert values(items, "rr_interval") == rr
    assert all(not i.flags for i in items)


def test_contact_bits_01_still_mean_not_supported() -> None:
    m, _ = parse_heart_rate_measurement(bytes.fromhex("02 48"))
    assert m.sensor_contact is SensorContact.NOT_SUPPORTED
    assert feed("02 48") == [Reading("heart_rate", 72.0, "bpm")]


def test_rr_flag_without_rr_bytes_is_short() -> None:
    assert feed("17 01 01") == [DecodeError("short", 3, "RR-interval flag set but no RR interval follows")]


def test_dangling_byte_after_rr_is_reported_and_the_reading_kept() -> None:
    items = feed("10 48 00 04 08")
    assert values(items, "heart_rate") == [72.0]
    assert values(items, "rr_interval") == [1.0]
    errors = [i for i in items if isinstance(i, DecodeError)]
    assert [(e.reason, e.offset) for e in errors] == [("trailing", 4)]


def test_error_offsets_count_the_whole_input_stream() -> None:
    decoder = HeartRateDecoder()
    decoder.feed(bytes.fromhex("00 55"))
    (error,) = decoder.feed(bytes.fromhex("01 01"))
    assert (error.reason, error.offset) == ("short", 4)
    assert decoder.stats.frames_ok == 1 and decoder.stats.bytes_in == 4


def test_zero_heart_rate_is_no_value_and_implausible_rate_is_invalid() -> None:
    assert feed("06 00") == [Reading("heart_rate", None, "bpm")]
    items = feed("07 90 01")  # 400 bpm
    assert items[0] == Reading("heart_rate", None, "bpm", frozenset({"invalid"}))
    assert isinstance(items[1], DecodeError) and items[1].reason == "implausible" and "400" in items[1].detail


def test_rfu_flag_bits_are_tolerated() -> None:
    assert values(feed("E0 55"), "heart_rate") == [85.0]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_arbitrary_payloads_never_raise(data: bytes) -> None:
    decoder = HeartRateDecoder()
    for item in decoder.feed(data):
        assert isinstance(item, Reading | DecodeError)


measurements = st.builds(
    HeartRateMeasurement,
    heart_rate=st.integers(0, 0xFFFF),
    sensor_contact=st.sampled_from(SensorContact),
    energy_expended_kj=st.none() | st.integers(0, 0xFFFF),
    rr_intervals=st.lists(st.integers(0, 0xFFFF), max_size=8).map(tuple),
    rfu_flags=st.sampled_from([0, 0x20, 0xE0]),
)


@settings(max_examples=200, deadline=None)
@given(measurements)
def test_encode_then_parse_round_trips(m: HeartRateMeasurement) -> None:
    data = encode_heart_rate_measurement(m)
    assert parse_heart_rate_measurement(data) == (m, len(data))
