"""Pulse Oximeter Service 0x1822: Spot-check 0x2A5E, Continuous 0x2A5F and Features 0x2A60.

The two measurements share sub-fields (SpO2 and pulse rate as SFLOAT, Measurement Status u16, Device and
Sensor Status u24, Pulse Amplitude Index SFLOAT) but **not** their flag bits, so each has its own flag table
below.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from datetime import datetime

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

PULSE_OXIMETER_SERVICE = 0x1822
PLX_SPOT_CHECK_MEASUREMENT = 0x2A5E
PLX_CONTINUOUS_MEASUREMENT = 0x2A5F
PLX_FEATURES = 0x2A60

PLAUSIBLE_SPO2 = (0.0, 100.0)
PLAUSIBLE_PULSE_RATE = (0.0, 350.0)
PLAUSIBLE_PERFUSION_INDEX = (0.0, 100.0)

# Measurement Status (u16) bit -> quality flag. Bits 0..4 are RFU; b5 "measurement ongoing" is normal
# operation.
MEASUREMENT_STATUS_FLAGS: dict[int, str] = {
    1 << 6: "early_estimate",
    1 << 9: "stored",  # data from measurement storage
    1 << 10: "demonstration",
    1 << 11: "testing",
    1 << 12: "searching",  # calibration ongoing
    1 << 13: "invalid",  # measurement unavailable
    1 << 14: "questionable",
    1 << 15: "invalid",
}
# Device and Sensor Status (u24) bit -> quality flag. Bits 16..23 are RFU.
DEVICE_SENSOR_STATUS_FLAGS: dict[int, str] = {
    1 << 1: "equipment_malfunction",
    1 << 2: "artifact",  # signal processing irregularity
    1 << 3: "low_signal",  # inadequate signal
    1 << 4: "low_signal",  # poor signal
    1 << 5: "low_perfusion",
    1 << 6: "artifact",  # erratic signal
    1 << 7: "low_signal",  # non-pulsatile signal
    1 << 8: "questionable",  # questionable pulse
    1 << 9: "searching",  # signal analysis ongoing
    1 << 10: "artifact",  # sensor interference
    1 << 11: "sensor_off",  # sensor unconnected to user
    1 << 12: "unknown_sensor",
    1 << 13: "sensor_displaced",
    1 << 14: "sensor_malfunction",
    1 << 15: "sensor_off",  # sensor disconnected
}


@functools.lru_cache(maxsize=4096)  # a device repeats a few status words: one frozenset each, not one per reading
def status_flags(measurement_status: int | None, device_sensor_status: int | None) -> frozenset[str]:
    found = set()
    for bits, table in (
        (measurement_status, MEASUREMENT_STATUS_FLAGS),
        (device_sensor_status, DEVICE_SENSOR_STATUS_FLAGS),
    ):
        if bits:
            found |= {name for bit, name in table.items() if bits & bit}
    return frozenset(found)


def _u24(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 3], "little")


@dataclass(frozen=True, slots=True)
class PlxSpotCheckMeasurement:
    spo2: float | None
    pulse_rate: float | None
    timestamp: DateTime | None = None
    measurement_status: int | None = None
    device_sensor_status: int | None = None
    pulse_amplitude_index: float | None = None
    pai_present: bool = False
    clock_not_set: bool = False
    rfu_flags: int = 0

    @property
    def flags(self) -> frozenset[str]:
        return status_flags(self.measurement_status, self.device_sensor_status)


@dataclass(frozen=True, slots=True)
class SpO2PulseRate:
    spo2: float | None
    pulse_rate: float | None


@dataclass(frozen=True, slots=True)
class PlxContinuousMeasurement:
    spo2: float | None  # SpO2PR-Normal
    pulse_rate: float | None
    fast: SpO2PulseRate | None = None
    slow: SpO2PulseRate | None = None
    measurement_status: int | None = None
    device_sensor_status: int | None = None
    pulse_amplitude_index: float | None = None
    pai_present: bool = False
    rfu_flags: int = 0

    @property
    def flags(self) -> frozenset[str]:
        return status_flags(self.measurement_status, self.device_sensor_status)


def _parse_status_fields(
    data: bytes, offset: int, flags: int
) -> tuple[int | None, int | None, float | None, int]:
    """The fields both measurements end with: Measurement Status, Device and Sensor Status and Pulse Amplitude
    Index, announced by ``flags`` bits 0, 1 and 2 (the caller shifts its own flag byte into place)."""
    status = dss = pai = None
    if flags & 0x01:
        need(data, offset + 2, "the measurement status")
        status, offset = struct.unpack_from("<H", data, offset)[0], offset + 2
    if flags & 0x02:
        need(data, offset + 3, "the device and sensor status")
        dss, offset = _u24(data, offset), offset + 3
    if flags & 0x04:
        need(data, offset + 2, "the pulse amplitude index")
        pai, offset = decode_sfloat(data, offset), offset + 2
    return status, dss, pai, offset


def _encode_status_fields(m: PlxSpotCheckMeasurement | PlxContinuousMeasurement) -> tuple[int, bytes]:
    """The inverse of :func:`_parse_status_fields`: its flag bits (0, 1, 2) and the fields' bytes."""
    flags, body = 0, b""
    if m.measurement_status is not None:
        flags |= 0x01
        body += struct.pack("<H", m.measurement_status)
    if m.device_sensor_status is not None:
        flags |= 0x02
        body += m.device_sensor_status.to_bytes(3, "little")
    if m.pai_present or m.pulse_amplitude_index is not None:
        flags |= 0x04
        body += encode_sfloat(m.pulse_amplitude_index)
    return flags, body


# Spot-check flags: b0 timestamp, b1 measurement status, b2 device & sensor status, b3 PAI, b4 clock not set.
def parse_plx_spot_check(data: bytes) -> tuple[PlxSpotCheckMeasurement, int]:
    need(data, 5, "flags, SpO2 and pulse rate")
    flags = data[0]
    spo2, pr = map(sfloat_value, struct.unpack_from("<2H", data, 1))
    offset, timestamp = 5, None
    if flags & 0x01:
        need(data, offset + DATE_TIME_SIZE, "the timestamp")
        timestamp, offset = decode_date_time(data, offset), offset + DATE_TIME_SIZE
    status, dss, pai, offset = _parse_status_fields(data, offset, flags >> 1)
    m = PlxSpotCheckMeasurement(
        spo2, pr, timestamp, status, dss, pai, bool(flags & 0x08), bool(flags & 0x10), flags & 0xE0
    )
    return m, offset


def encode_plx_spot_check(m: PlxSpotCheckMeasurement) -> bytes:
    flags = (0x10 if m.clock_not_set else 0) | (m.rfu_flags & 0xE0)
    body = encode_sfloat(m.spo2) + encode_sfloat(m.pulse_rate)
    if m.timestamp is not None:
        flags |= 0x01
        body += encode_date_time(m.timestamp)
    tail_flags, tail = _encode_status_fields(m)
    return bytes([flags | tail_flags << 1]) + body + tail


# Continuous flags: b0 SpO2PR-Fast, b1 SpO2PR-Slow, b2 measurement status, b3 device & sensor status, b4 PAI.
def parse_plx_continuous(data: bytes) -> tuple[PlxContinuousMeasurement, int]:
    need(data, 5, "flags, SpO2 and pulse rate")
    flags = data[0]
    spo2, pr = decode_sfloat(data, 1), decode_sfloat(data, 3)
    offset = 5
    fast = slow = None
    if flags & 0x01:
        need(data, offset + 4, "SpO2PR-Fast")
        fast, offset = SpO2PulseRate(decode_sfloat(data, offset), decode_sfloat(data, offset + 2)), offset + 4
    if flags & 0x02:
        need(data, offset + 4, "SpO2PR-Slow")
        slow, offset = SpO2PulseRate(decode_sfloat(data, offset), decode_sfloat(data, offset + 2)), offset + 4
    status, dss, pai, offset = _parse_status_fields(data, offset, flags >> 2)
    m = PlxContinuousMeasurement(spo2, pr, fast, slow, status, dss, pai, bool(flags & 0x10), flags & 0xE0)
    return m, offset


def encode_plx_continuous(m: PlxContinuousMeasurement) -> bytes:
    flags = m.rfu_flags & 0xE0
    body = encode_sfloat(m.spo2) + encode_sfloat(m.pulse_rate)
    for bit, pair in ((0x01, m.fast), (0x02, m.slow)):
        if pair is not None:
            flags |= bit
            body += encode_sfloat(pair.spo2) + encode_sfloat(pair.pulse_rate)
    tail_flags, tail = _encode_status_fields(m)
    return bytes([flags | tail_flags << 2]) + body + tail


@dataclass(frozen=True)
class PlxFeatures:
    features: int
    measurement_status_support: int | None = None
    device_sensor_status_support: int | None = None

    @property
    def spot_check_storage(self) -> bool:
        return bool(self.features & 0x04)

    @property
    def names(self) -> tuple[str, ...]:
        bits = (
            "measurement status",
            "device and sensor status",
            "spot-check storage",
            "spot-check timestamp",
            "SpO2PR-Fast",
            "SpO2PR-Slow",
            "pulse amplitude index",
            "multiple bonds",
        )
        return tuple(name for i, name in enumerate(bits) if self.features & (1 << i))


def parse_plx_features(data: bytes) -> tuple[PlxFeatures, int]:
    need(data, 2, "the features")
    features = struct.unpack_from("<H", data, 0)[0]
    offset, status_support, dss_support = 2, None, None
    if features & 0x01:
        need(data, offset + 2, "the measurement status support")
        status_support, offset = struct.unpack_from("<H", data, offset)[0], offset + 2
    if features & 0x02:
        need(data, offset + 3, "the device and sensor status support")
        dss_support, offset = _u24(data, offset), offset + 3
    return PlxFeatures(features, status_support, dss_support), offset


def encode_plx_features(f: PlxFeatures) -> bytes:
    """The features word decides which support fields follow (bits 0 and 1)."""
    out = struct.pack("<H", f.features)
    if f.features & 0x01:
        out += struct.pack("<H", f.measurement_status_support or 0)
    if f.features & 0x02:
        out += (f.device_sensor_status_support or 0).to_bytes(3, "little")
    return out


def _oximetry_readings(
    spo2: float | None,
    pr: float | None,
    pai: float | None,
    pai_offset: int | None,
    flags: frozenset[str],
    when: datetime | None,
) -> list[Item]:
    items = checked_reading("spo2", spo2, PLAUSIBLE_SPO2, flags, when, 1)
    items += checked_reading("pulse_rate", pr, PLAUSIBLE_PULSE_RATE, flags, when, 3)
    if pai_offset is not None:
        items += checked_reading("perfusion_index", pai, PLAUSIBLE_PERFUSION_INDEX, flags, when, pai_offset)
    return items


class PlxSpotCheckDecoder(NotificationDecoder):
    """One 0x2A5E indication -> spo2, pulse_rate, perfusion_index, with the device time unless its clock is
    unset. Records replayed from storage (status bit 9, e.g. after an RACP request) carry the "stored"
    flag."""

    protocol = "ble-plx-spot"
    characteristic = PLX_SPOT_CHECK_MEASUREMENT

    def decode(self, payload: bytes) -> list[Item]:
        m, used = parse_plx_spot_check(payload)
        when = None if m.clock_not_set or m.timestamp is None else m.timestamp.as_datetime()
        pai_offset = used - 2 if m.pai_present else None
        return _oximetry_readings(
            m.spo2, m.pulse_rate, m.pulse_amplitude_index, pai_offset, m.flags, when
        ) + (trailing_error(payload, used))


class PlxContinuousDecoder(NotificationDecoder):
    """One 0x2A5F notification -> spo2, pulse_rate (SpO2PR-Normal) and perfusion_index. Fast and slow averages
    stay in :class:`PlxContinuousMeasurement` for callers that want them."""

    protocol = "ble-plx-cont"
    characteristic = PLX_CONTINUOUS_MEASUREMENT

    def decode(self, payload: bytes) -> list[Item]:
        m, used = parse_plx_continuous(payload)
        pai_offset = used - 2 if m.pai_present else None
        return _oximetry_readings(
            m.spo2, m.pulse_rate, m.pulse_amplitude_index, pai_offset, m.flags, None
        ) + (trailing_error(payload, used))
