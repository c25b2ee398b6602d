"""IEEE 11073 SFLOAT, FLOAT and Date Time, with the vectors of protocols.md section 1."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.devices.ble.ieee11073 import (
    SFLOAT_SPECIALS,
    DateTime,
    MedFloat,
    Special,
    decode_date_time,
    decode_float,
    decode_sfloat,
    encode_date_time,
    encode_float,
    encode_medfloat,
    encode_sfloat,
    sfloat_from_word,
)

SFLOAT_VECTORS = [
    ("02 00", 0, 2, 2.0),
    ("14 F0", -1, 20, 2.0),
    ("C8 E0", -2, 200, 2.0),
    ("02 10", 1, 2, 20.0),
    ("2E 0B", 0, -1234, -1234.0),
    ("78 00", 0, 120, 120.0),
    ("BD F0", -1, 189, 18.9),
    ("E8 F3", -1, 1000, 100.0),
    ("66 E3", -2, 870, 8.70),
    ("FF F7", -1, 2047, 204.7),  # NOT NaN: the exponent is -1
    ("78 80", -8, 120, 1.2e-06),  # NOT 120: the exponent is two's complement
    ("FF FF", -1, -1, -0.1),
]


@pytest.mark.parametrize(("wire", "exponent", "mantissa", "value"), SFLOAT_VECTORS)
def test_sfloat_vectors(wire: str, exponent: int, mantissa: int, value: float) -> None:
    data = bytes.fromhex(wire)
    assert decode_sfloat(data) == value
    number = sfloat_from_word(int.from_bytes(data, "little"))
    assert (number.exponent, number.mantissa, number.special) == (exponent, mantissa, None)
    assert encode_medfloat(number) == data


@pytest.mark.parametrize(
    ("wire", "special"),
    [
        ("FF 07", Special.NAN),
        ("00 08", Special.NRES),
        ("FE 07", Special.POSITIVE_INFINITY),
        ("02 08", Special.NEGATIVE_INFINITY),
        ("01 08", Special.RESERVED),
    ],
)
def test_sfloat_special_values_are_no_value(wire: str, special: Special) -> None:
    data = bytes.fromhex(wire)
    assert decode_sfloat(data) is None
    assert sfloat_from_word(int.from_bytes(data, "little")).special is special


def test_sfloat_encodes_the_values_cuffs_and_oximeters_send() -> None:
    assert encode_sfloat(120) == bytes.fromhex("78 00")
    assert encode_sfloat(18.9) == bytes.fromhex("BD F0")
    assert encode_sfloat(100.0, exponent=-1) == bytes.fromhex("E8 F3")
    assert encode_sfloat(None) == bytes.fromhex("FF 07")


def test_sfloat_refuses_values_it_cannot_carry_exactly() -> None:
    with pytest.raises(ValueError):
        encode_sfloat(2047)  # exponent 0 would be the NaN word
    with pytest.raises(ValueError):
        encode_sfloat(3.14159)


@pytest.mark.parametrize(
    ("wire", "value"),
    [
        ("14 00 00 FF", 2.0),
        ("2E FB FF 00", -1234.0),
        ("72 01 00 FF", 37.0),
        ("FF FF 7F 00", None),
        ("00 00 80 00", None),
        ("FE FF 7F 00", None),
        ("02 00 80 00", None),
        ("01 00 80 00", None),
    ],
)
def test_float_vectors(wire: str, value: float | None) -> None:
    assert decode_float(bytes.fromhex(wire)) == value


def test_float_encodes() -> None:
    assert decode_float(encode_float(37.0)) == 37.0
    assert encode_float(None) == bytes.fromhex("FF FF 7F 00")


def test_date_time_vectors() -> None:
    known = decode_date_time(bytes.fromhex("E8 07 06 0F 11 11 1B"))
    assert known.as_datetime() == datetime(2024, 6, 15, 17, 17, 27)
    unknown_year = decode_date_time(bytes.fromhex("00 00 04 11 14 29 3B"))
    assert unknown_year == DateTime(0, 4, 17, 20, 41, 59)
    assert unknown_year.as_datetime() is None  # a device time we cannot place is no time
    assert encode_date_time(datetime(2024, 6, 15, 17, 17, 27)) == bytes.fromhex("E8 07 06 0F 11 11 1B")
    assert encode_date_time(unknown_year) == bytes.fromhex("00 00 04 11 14 29 3B")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 0xFFFF))
def test_every_sfloat_word_decodes_and_round_trips(word: int) -> None:
    number = sfloat_from_word(word)
    data = word.to_bytes(2, "little")
    assert encode_medfloat(number) == data
    if word in SFLOAT_SPECIALS:
        assert number.value is None
    else:
        assert number.value is not None
        assert decode_sfloat(encode_sfloat(number.value)) == number.value


@settings(max_examples=200, deadline=None)
@given(st.integers(-(2**23), 2**23 - 1), st.integers(-128, 127))
def test_float_value_round_trips(mantissa: int, exponent: int) -> None:
    value = MedFloat(mantissa, exponent).value
    assert value is not None
    word = ((exponent & 0xFF) << 24) | (mantissa & 0xFFFFFF)
    decoded = decode_float(word.to_bytes(4, "little"))
    if decoded is None:  # the value collided with a special word
        assert exponent == 0
        return
    assert decoded == value
    assert decode_float(encode_float(decoded)) == decoded


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=7, max_size=7))
def test_any_seven_bytes_are_a_date_time_that_round_trips(data: bytes) -> None:
    when = decode_date_time(data)
    when.as_datetime()  # never raises, whatever the fields
    assert encode_date_time(when) == data
