"""Heart Rate Measurement 0x2A37 (Heart Rate Service 0x180D): parser, encoder and decoder.

``Flags u8 | HR u8|u16 | [Energy Expended u16, kJ] | [RR u16 ..., 1/1024 s, oldest first]``. Every RR interval
becomes its own reading: dropping one corrupts heart-rate variability.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import Enum

from kapmonitor.core.readings import Item
from kapmonitor.devices.ble.notification import (
    NotificationDecoder,
    ShortPayload,
    checked_reading,
    need,
    trailing_error,
)

HEART_RATE_MEASUREMENT = 0x2A37
HEART_RATE_SERVICE = 0x180D

MAX_PLAUSIBLE_HEART_RATE = 300  # bpm
MIN_PLAUSIBLE_RR_INTERVAL_S = 0.2  # 300 bpm
MAX_PLAUSIBLE_RR_INTERVAL_S = 3.0  # 20 bpm
RR_UNITS_PER_S = 1024

_UINT16_HR = 0x01
_CONTACT_MASK = 0x06
_ENERGY = 0x08
_RR = 0x10
_RFU = 0xE0


class SensorContact(Enum):
    NOT_SUPPORTED = "not supported"
    NOT_DETECTED = "not detected"
    DETECTED = "detected"


_CONTACT_BITS = {
    0b00: SensorContact.NOT_SUPPORTED,
    0b01: SensorContact.NOT_SUPPORTED,
    0b10: SensorContact.NOT_DETECTED,
    0b11: SensorContact.DETECTED,
}


@dataclass(frozen=True)
class HeartRateMeasurement:
    heart_rate: int  # bpm; 0 is what straps send without contact
    sensor_contact: SensorContact = SensorContact.NOT_SUPPORTED
    energy_expended_kj: int | None = None
    rr_intervals: tuple[int, ...] = ()  # raw, 1/1024 s
    rfu_flags: int = 0

    @property
    def rr_intervals_s(self) -> tuple[float, ...]:
        return tuple(rr / RR_UNITS_PER_S for rr in self.rr_intervals)


def parse_heart_rate_measurement(data: bytes) -> tuple[HeartRateMeasurement, int]:
    """The measurement and the number of bytes its flags account for (more bytes are trailing garbage)."""
    need(data, 2, "heart rate flags and value")
    flags = data[0]
    if flags & _UINT16_HR:
        need(data, 3, "a uint16 heart rate")
        heart_rate, offset = struct.unpack_from("<H", data, 1)[0], 3
    else:
        heart_rate, offset = data[1], 2
    energy = None
    if flags & _ENERGY:
        need(data, offset + 2, "energy expended")
        energy, offset = struct.unpack_from("<H", data, offset)[0], offset + 2
    rr: tuple[int, ...] = ()
    if flags & _RR:
        count = (len(data) - offset) // 2
        if count == 0:
            raise ShortPayload(len(data), "RR-interval flag set but no RR interval follows")
        rr = struct.unpack_from(f"<{count}H", data, offset)
        offset += 2 * count
    contact = _CONTACT_BITS[(flags & _CONTACT_MASK) >> 1]
    return HeartRateMeasurement(heart_rate, contact, energy, rr, flags & _RFU), offset


def encode_heart_rate_measurement(m: HeartRateMeasurement) -> bytes:
    contact = {
        SensorContact.NOT_SUPPORTED: 0,
        SensorContact.NOT_DETECTED: 0b100,
        SensorContact.DETECTED: 0b110,
    }
    flags = contact[m.sensor_contact] | (m.rfu_flags & _RFU)
    body = b""
    if m.heart_rate > 0xFF:
        flags |= _UINT16_HR
        body += struct.pack("<H", m.heart_rate)
    else:
        body += bytes([m.heart_rate])
    if m.energy_expended_kj is not None:
        flags |= _ENERGY
        body += struct.pack("<H", m.energy_expended_kj)
    if m.rr_intervals:
        flags |= _RR
        body += struct.pack(f"<{len(m.rr_intervals)}H", *m.rr_intervals)
    return bytes([flags]) + body


class HeartRateDecoder(NotificationDecoder):
    """One 0x2A37 notification -> ``heart_rate`` and one ``rr_interval`` reading per RR value (in order).

    An RR interval outside the plausible range keeps its value and is flagged "questionable": heart-rate
    variability needs every slot of the series. Contact "supported but not detected" flags "sensor_off"."""

    protocol = "ble-hrm"
    characteristic = HEART_RATE_MEASUREMENT

    def decode(self, payload: bytes) -> list[Item]:
        m, used = parse_heart_rate_measurement(payload)
        flags = frozenset({"sensor_off"}) if m.sensor_contact is SensorContact.NOT_DETECTED else frozenset()
        hr = None if m.heart_rate == 0 else float(m.heart_rate)
        items: list[Item] = checked_reading("heart_rate", hr, (1, MAX_PLAUSIBLE_HEART_RATE), flags, None, 1)
        rr_offset = used - 2 * len(m.rr_intervals)
        limits = (MIN_PLAUSIBLE_RR_INTERVAL_S, MAX_PLAUSIBLE_RR_INTERVAL_S)
        for i, rr in enumerate(m.rr_intervals_s):
            items += checked_reading(
                "rr_interval", rr, limits, flags, None, rr_offset + 2 * i, keep_implausible=True
            )
        return items + trailing_error(payload, used)
