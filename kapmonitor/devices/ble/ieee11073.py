"""IEEE 11073-20601 numbers as Bluetooth health characteristics carry them: SFLOAT, FLOAT and Date Time.

The reserved "special" words (NaN, NRes, +/-infinity, reserved) are recognised only when the *whole* word
matches, as Wireshark does: 0xF7FF is 204.7, not NaN, because its exponent is -1. Every special value means
"no value" to the rest of kapmonitor, so :attr:`MedFloat.value` is ``None`` for all of them;
:attr:`MedFloat.special` says which.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class Special(StrEnum):
    NAN = "nan"  # invalid result
    NRES = "nres"  # not at this resolution
    POSITIVE_INFINITY = "+inf"
    NEGATIVE_INFINITY = "-inf"
    RESERVED = "reserved"


SFLOAT_SPECIALS: dict[int, Special] = {
    0x07FF: Special.NAN,
    0x0800: Special.NRES,
    0x07FE: Special.POSITIVE_INFINITY,
    0x0802: Special.NEGATIVE_INFINITY,
    0x0801: Special.RESERVED,
}
FLOAT_SPECIALS: dict[int, Special] = {
    0x007FFFFF: Special.NAN,
    0x00800000: Special.NRES,
    0x007FFFFE: Special.POSITIVE_INFINITY,
    0x00800002: Special.NEGATIVE_INFINITY,
    0x00800001: Special.RESERVED,
}
SFLOAT_NAN = b"\xff\x07"
FLOAT_NAN = b"\xff\xff\x7f\x00"


@dataclass(frozen=True, slots=True)
class MedFloat:
    """A decoded SFLOAT or FLOAT. The exponent is kept: it is the precision the device meant ("98" vs
    "98.0")."""

    mantissa: int
    exponent: int
    special: Special | None = None

    @property
    def value(self) -> float | None:
        if self.special is not None:
            return None
        return _scaled(self.mantissa, self.exponent)


def _scaled(mantissa: int, exponent: int) -> float:
    """mantissa * 10**exponent, correctly rounded (as ``float(Decimal(m).scaleb(e))``): integer arithmetic and
    Python's correctly rounded int/int division, without the cost of Decimal."""
    if exponent >= 0:
        return float(mantissa * 10**exponent)
    return mantissa / 10**-exponent


def _signed(raw: int, bits: int) -> int:
    return raw - (1 << bits) if raw & (1 << (bits - 1)) else raw


def sfloat_from_word(word: int) -> MedFloat:
    if word in SFLOAT_SPECIALS:
        return MedFloat(0, 0, SFLOAT_SPECIALS[word])
    return MedFloat(_signed(word & 0x0FFF, 12), _signed(word >> 12, 4))


def float_from_word(word: int) -> MedFloat:
    if word in FLOAT_SPECIALS:
        return MedFloat(0, 0, FLOAT_SPECIALS[word])
    return MedFloat(_signed(word & 0xFFFFFF, 24), _signed(word >> 24, 8))


@functools.cache  # 65536 words at most; a notification stream repeats a handful of them
def sfloat_value(word: int) -> float | None:
    return sfloat_from_word(word).value


def decode_sfloat(data: bytes, offset: int = 0) -> float | None:
    """The value of the little-endian SFLOAT at ``offset``; ``None`` for every special value."""
    return sfloat_value(int.from_bytes(data[offset : offset + 2], "little"))


def decode_float(data: bytes, offset: int = 0) -> float | None:
    return float_from_word(int.from_bytes(data[offset : offset + 4], "little")).value


def _mantissa_exponent(
    value: float, mantissa_bits: int, exponent_bits: int, reserved: set[int]
) -> tuple[int, int]:
    """The exact (mantissa, exponent) for ``value``, preferring exponent 0, then the nearest exponents."""
    low, high = -(1 << (mantissa_bits - 1)), (1 << (mantissa_bits - 1)) - 1
    e_low, e_high = -(1 << (exponent_bits - 1)), (1 << (exponent_bits - 1)) - 1
    exact = Decimal(repr(float(value)))
    for distance in range(0, max(-e_low, e_high) + 1):
        for exponent in sorted({-distance, distance}):
            if not e_low <= exponent <= e_high:
                continue
            scaled = exact.scaleb(-exponent)
            if scaled != scaled.to_integral_value() or not low <= scaled <= high:
                continue
            mantissa = int(scaled)
            if exponent == 0 and (mantissa & ((1 << mantissa_bits) - 1)) in reserved:
                continue
            return mantissa, exponent
    raise ValueError(f"{value!r} has no exact {mantissa_bits + exponent_bits}-bit IEEE 11073 representation")


def sfloat_word(value: float | None, exponent: int | None = None) -> int:
    """The 16-bit word for ``value`` (``None`` -> NaN). With ``exponent`` the value is rounded to that
    precision."""
    if value is None:
        return 0x07FF
    if exponent is None:
        mantissa, exponent = _mantissa_exponent(value, 12, 4, {0x7FE, 0x7FF, 0x800, 0x801, 0x802})
    else:
        mantissa = int(round(Decimal(repr(float(value))).scaleb(-exponent)))
        if not (-2048 <= mantissa <= 2047 and -8 <= exponent <= 7):
            raise ValueError(f"{value!r} does not fit an SFLOAT with exponent {exponent}")
    return ((exponent & 0xF) << 12) | (mantissa & 0x0FFF)


def encode_sfloat(value: float | None, exponent: int | None = None) -> bytes:
    return sfloat_word(value, exponent).to_bytes(2, "little")


def encode_float(value: float | None) -> bytes:
    if value is None:
        return FLOAT_NAN
    mantissa, exponent = _mantissa_exponent(value, 24, 8, {0x7FFFFE, 0x7FFFFF, 0x800000, 0x800001, 0x800002})
    return (((exponent & 0xFF) << 24) | (mantissa & 0xFFFFFF)).to_bytes(4, "little")


def encode_medfloat(number: MedFloat) -> bytes:
    """The SFLOAT word of an already decoded number, keeping its precision and its special kind."""
    if number.special is not None:
        word = next(w for w, s in SFLOAT_SPECIALS.items() if s == number.special)
    else:
        word = ((number.exponent & 0xF) << 12) | (number.mantissa & 0x0FFF)
    return word.to_bytes(2, "little")


DATE_TIME_SIZE = 7


@dataclass(frozen=True, slots=True)
class DateTime:
    """Date Time (0x2A08) as the device sent it. Zero year, month or day means "unknown"."""

    year: int
    month: int
    day: int
    hours: int
    minutes: int
    seconds: int

    def as_datetime(self) -> datetime | None:
        """The device's local time, or ``None`` when a part is unknown or the fields are not a real date."""
        try:
            return datetime(self.year, self.month, self.day, self.hours, self.minutes, self.seconds)
        except ValueError:
            return None

    @classmethod
    def from_datetime(cls, dt: datetime) -> DateTime:
        return cls(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second)


def decode_date_time(data: bytes, offset: int = 0) -> DateTime:
    year, month, day, hours, minutes, seconds = struct.unpack_from("<HBBBBB", data, offset)
    return DateTime(year, month, day, hours, minutes, seconds)


def encode_date_time(when: DateTime | datetime) -> bytes:
    if isinstance(when, datetime):
        when = DateTime.from_datetime(when)
    return struct.pack("<HBBBBB", when.year, when.month, when.day, when.hours, when.minutes, when.seconds)
