"""Blood Pressure Measurement 0x2A35 and Intermediate Cuff Pressure 0x2A36 (Blood Pressure Service 0x1810).

``Flags u8 | Systolic | Diastolic | MAP (SFLOAT) | [Date Time 7] | [Pulse Rate SFLOAT] | [User ID u8] |
[Measurement Status u16]``. The parser is strict; a device that bends the layout gets a :class:`Quirk` that
rewrites its payload into the spec's form before parsing (see :data:`BEURER_BM85`). RFU flag bits are
tolerated. For 0x2A36 the systolic field is the current cuff pressure and diastolic and MAP are unused.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from kapmonitor.core.metrics import kpa_to_mmhg
from kapmonitor.core.readings import Item
from kapmonitor.devices.ble.ieee11073 import (
    DATE_TIME_SIZE,
    DateTime,
    decode_date_time,
    decode_sfloat,
    encode_date_time,
    encode_sfloat,
    sfloat_value,
)
from kapmonitor.devices.ble.notification import NotificationDecoder, checked_reading, need, trailing_error

BLOOD_PRESSURE_SERVICE = 0x1810
BLOOD_PRESSURE_MEASUREMENT = 0x2A35
INTERMEDIATE_CUFF_PRESSURE = 0x2A36
BLOOD_PRESSURE_FEATURE = 0x2A49

PLAUSIBLE_SYSTOLIC_MMHG = (20.0, 300.0)
PLAUSIBLE_DIASTOLIC_MMHG = (10.0, 250.0)
PLAUSIBLE_MEAN_MMHG = (15.0, 280.0)
PLAUSIBLE_PULSE_RATE = (0.0, 300.0)
PLAUSIBLE_CUFF_PRESSURE_MMHG = (0.0, 350.0)
UNKNOWN_USER = 255

_KPA, _TIMESTAMP, _PULSE, _USER, _STATUS = 0x01, 0x02, 0x04, 0x08, 0x10
_RFU = 0xE0


class PulseRateRange(IntEnum):
    IN_RANGE = 0
    ABOVE_UPPER_LIMIT = 1
    BELOW_LOWER_LIMIT = 2
    RFU = 3


@dataclass(frozen=True, slots=True)
class MeasurementStatus:
    """The u16 status of 0x2A35/0x2A36, kept whole so RFU bits survive a round trip."""

    bits: int

    @property
    def pulse_rate_range(self) -> PulseRateRange:
        return PulseRateRange((self.bits >> 3) & 0b11)

    @property
    def flags(self) -> frozenset[str]:
        return _status_flags(self.bits)


_STATUS_FLAG_NAMES = {0x01: "body_movement", 0x02: "cuff_loose", 0x04: "irregular_pulse", 0x20: "improper_position"}


@functools.cache  # one frozenset per status word (u16), not one per measurement
def _status_flags(bits: int) -> frozenset[str]:
    return frozenset(name for bit, name in _STATUS_FLAG_NAMES.items() if bits & bit)


@dataclass(frozen=True, slots=True)
class BloodPressureMeasurement:
    """One 0x2A35 (or, with ``systolic`` as the cuff pressure, 0x2A36) payload, in the unit the device
    used."""

    systolic: float | None
    diastolic: float | None
    mean: float | None
    kpa: bool = False
    timestamp: DateTime | None = None
    pulse_rate: float | None = None
    pulse_rate_present: bool = False
    user_id: int | None = None
    status: MeasurementStatus | None = None
    rfu_flags: int = 0

    def mmhg(self, value: float | None) -> float | None:
        if value is None or not self.kpa:
            return value
        return round(kpa_to_mmhg(value), 1)


def required_length(flags: int) -> int:
    return (
        7
        + DATE_TIME_SIZE * bool(flags & _TIMESTAMP)
        + 2 * bool(flags & _PULSE)
        + bool(flags & _USER)
        + 2 * bool(flags & _STATUS)
    )


_REQUIRED_LENGTH = tuple(required_length(flags) for flags in range(256))


def parse_blood_pressure_measurement(data: bytes) -> tuple[BloodPressureMeasurement, int]:
    """The measurement and how many bytes its flags account for."""
    need(data, 1, "flags")
    flags = data[0]
    if len(data) < _REQUIRED_LENGTH[flags]:  # the message is formatted only when it is needed
        need(data, _REQUIRED_LENGTH[flags], f"flags 0x{flags:02X}")
    systolic, diastolic, mean = map(sfloat_value, struct.unpack_from("<3H", data, 1))
    offset = 7
    timestamp = pulse = user = status = None
    if flags & _TIMESTAMP:
        timestamp, offset = decode_date_time(data, offset), offset + DATE_TIME_SIZE
    if flags & _PULSE:
        pulse, offset = decode_sfloat(data, offset), offset + 2
    if flags & _USER:
        user, offset = data[offset], offset + 1
    if flags & _STATUS:
        status, offset = MeasurementStatus(struct.unpack_from("<H", data, offset)[0]), offset + 2
    m = BloodPressureMeasurement(
        systolic,
        diastolic,
        mean,
        bool(flags & _KPA),
        timestamp,
        pulse,
        bool(flags & _PULSE),
        user,
        status,
        flags & _RFU,
    )
    return m, offset


def encode_blood_pressure_measurement(m: BloodPressureMeasurement) -> bytes:
    flags = (_KPA if m.kpa else 0) | (m.rfu_flags & _RFU)
    body = b"".join(encode_sfloat(v) for v in (m.systolic, m.diastolic, m.mean))
    if m.timestamp is not None:
        flags |= _TIMESTAMP
        body += encode_date_time(m.timestamp)
    if m.pulse_rate_present or m.pulse_rate is not None:
        flags |= _PULSE
        body += encode_sfloat(m.pulse_rate)
    if m.user_id is not None:
        flags |= _USER
        body += bytes([m.user_id])
    if m.status is not None:
        flags |= _STATUS
        body += struct.pack("<H", m.status.bits)
    return bytes([flags]) + body


def encode_intermediate_cuff_pressure(m: BloodPressureMeasurement) -> bytes:
    """0x2A36: the cuff pressure in the systolic field; diastolic and MAP sent as NaN (as Spezi does)."""
    unused = BloodPressureMeasurement(
        m.systolic,
        None,
        None,
        m.kpa,
        m.timestamp,
        m.pulse_rate,
        m.pulse_rate_present,
        m.user_id,
        m.status,
        m.rfu_flags,
    )
    return encode_blood_pressure_measurement(unused)


@dataclass(frozen=True)
class Quirk:
    """A device model that bends the 0x2A35 layout. ``applies`` recognises its payloads; ``rewrite`` returns
    the payload the model meant, in spec form. ``names`` are advertised-name prefixes that select the
    quirk."""

    name: str
    names: tuple[str, ...]
    applies: Callable[[bytes], bool]
    rewrite: Callable[[bytes], bytes]


def _beurer_applies(data: bytes) -> bool:
    return (
        len(data) >= 1
        and data[0] & 0x40 != 0
        and not data[0] & _USER
        and len(data) == required_length(data[0]) + 1
    )


def _beurer_rewrite(data: bytes) -> bytes:
    """Beurer BM85: RFU bit 6 set, a user-id byte without flag bit 3, big-endian pulse rate and status, MAP
    0."""
    flags = (data[0] & ~0x40) | _USER
    out = bytearray(data)
    out[0] = flags
    if out[5:7] == b"\x00\x00":
        out[5:7] = encode_sfloat(None)  # MAP 0 means "not measured"
    offset = 7 + DATE_TIME_SIZE * bool(flags & _TIMESTAMP)
    if flags & _PULSE:
        out[offset : offset + 2] = data[offset : offset + 2][::-1]
        offset += 2
    offset += 1  # the user-id byte
    if flags & _STATUS:
        out[offset : offset + 2] = data[offset : offset + 2][::-1]
    return bytes(out)


BEURER_BM85 = Quirk("beurer-bm85", ("BM85", "Beurer BM"), _beurer_applies, _beurer_rewrite)
QUIRKS: dict[str, Quirk] = {BEURER_BM85.name: BEURER_BM85}


def quirks_for_name(advertised_name: str | None) -> tuple[Quirk, ...]:
    """The quirks a device with this advertised name needs."""
    if not advertised_name:
        return ()
    return tuple(q for q in QUIRKS.values() if advertised_name.startswith(q.names))


class _CuffDecoder(NotificationDecoder):
    def __init__(self, quirks: Sequence[Quirk] = ()) -> None:
        super().__init__()
        self.quirks = tuple(quirks)

    def _parse(self, payload: bytes) -> tuple[BloodPressureMeasurement, frozenset[str], datetime | None, list[Item]]:
        """The measurement, its status flags, the device time and any trailing-bytes error."""
        for quirk in self.quirks:
            if quirk.applies(payload):
                payload = quirk.rewrite(payload)
                break
        m, used = parse_blood_pressure_measurement(payload)
        flags = m.status.flags if m.status else frozenset()
        when = m.timestamp.as_datetime() if m.timestamp else None
        return m, flags, when, trailing_error(payload, used)


def _pulse_rate_reading(m: BloodPressureMeasurement, flags: frozenset[str], when: datetime | None) -> list[Item]:
    """The optional pulse rate both characteristics carry, right after the optional timestamp."""
    offset = 7 + DATE_TIME_SIZE * (m.timestamp is not None)
    return checked_reading("pulse_rate", m.pulse_rate, PLAUSIBLE_PULSE_RATE, flags, when, offset)


class BloodPressureDecoder(_CuffDecoder):
    """One 0x2A35 indication -> systolic, diastolic, mean (mmHg) and pulse rate, with the device time."""

    protocol = "ble-bpm"
    characteristic = BLOOD_PRESSURE_MEASUREMENT

    def decode(self, payload: bytes) -> list[Item]:
        m, flags, when, extra = self._parse(payload)
        mmhg = m.mmhg
        items = checked_reading("nibp_systolic", mmhg(m.systolic), PLAUSIBLE_SYSTOLIC_MMHG, flags, when, 1)
        items += checked_reading("nibp_diastolic", mmhg(m.diastolic), PLAUSIBLE_DIASTOLIC_MMHG, flags, when, 3)
        items += checked_reading("nibp_mean", mmhg(m.mean), PLAUSIBLE_MEAN_MMHG, flags, when, 5)
        if m.pulse_rate_present:
            items += _pulse_rate_reading(m, flags | _range_flag(m.status) if m.status else flags, when)
        return items + extra


class IntermediateCuffPressureDecoder(_CuffDecoder):
    """One 0x2A36 notification -> ``cuff_pressure`` (mmHg), and the pulse rate when the cuff sends one."""

    protocol = "ble-icp"
    characteristic = INTERMEDIATE_CUFF_PRESSURE

    def decode(self, payload: bytes) -> list[Item]:
        m, flags, when, extra = self._parse(payload)
        items = checked_reading("cuff_pressure", m.mmhg(m.systolic), PLAUSIBLE_CUFF_PRESSURE_MMHG, flags, when, 1)
        if m.pulse_rate_present:
            items += _pulse_rate_reading(m, flags, when)
        return items + extra


_RANGE_FLAGS = {
    PulseRateRange.ABOVE_UPPER_LIMIT: frozenset({"pulse_rate_above_range"}),
    PulseRateRange.BELOW_LOWER_LIMIT: frozenset({"pulse_rate_below_range"}),
}


def _range_flag(status: MeasurementStatus) -> frozenset[str]:
    return _RANGE_FLAGS.get(status.pulse_rate_range, frozenset())
