"""Nonin data format #13: SmartPoint spot-check records, the 9560's default (protocols.md section 6.4).

``00 02 | 00 0D | LL LL | 20 YY MM DD hh mm ss ff (BCD) | STAT MSB | STAT LSB | HR MSB | HR LSB | res | SpO2 |
[extension bytes] | CS | 03``. LL counts the data bytes (at least 14) and CS is the low byte of their sum.
"""

from __future__ import annotations

import functools
from datetime import datetime

from kapmonitor.core.metrics import unit_of
from kapmonitor.core.readings import DecodeError, Item, Reading
from kapmonitor.devices.nonin.framing import CHECKSUM, FramedDecoder
from kapmonitor.devices.nonin.packet import HR_MISSING, SMARTPOINT, SPO2_MISSING

HEADER = bytes((0x00, 0x02, 0x00, 0x0D))  # NUL, STX, packet type 0x000D
ETX = 0x03
MIN_DATA_LENGTH = 14
MAX_DATA_LENGTH = 1024  # "may grow" per the spec; a larger length field is taken for noise

STAT_SPA = 0x0200
STAT_NOMS = 0x0100  # no measurement
STAT_MEM = 0x0010  # a record replayed from the device's memory
STAT_LOW_BAT = 0x0001


_BCD = {(v // 10) << 4 | v % 10: v for v in range(100)}  # the 100 valid BCD bytes, looked up per digit pair


def _bcd(byte: int) -> int:
    value = _BCD.get(byte)
    if value is None:
        raise ValueError(f"{byte:02X} is not BCD")
    return value


def _to_bcd(value: int) -> int:
    return ((value // 10) << 4) | (value % 10)


def device_time(data: bytes) -> datetime:
    """The measurement time in the first 8 data bytes: century, year, month, day, hour, min, s, 1/100 s."""
    century, year, month, day, hour, minute, second, hundredths = map(_bcd, data[:8])
    return datetime(century * 100 + year, month, day, hour, minute, second, hundredths * 10_000)


def parse_df13_data(data: bytes, offset: int) -> list[Item]:
    """Readings (and a device-time error, if the date is not a date) from the data bytes of one record."""
    items: list[Item] = []
    try:
        t_device: datetime | None = device_time(data)
    except ValueError as exc:
        t_device = None
        items.append(
            DecodeError("device_time", offset, f"unreadable measurement time {data[:8].hex(' ')}: {exc}")
        )
    status = (data[8] << 8) | data[9]
    hr = (data[10] << 8) | data[11]
    spo2 = data[13]
    none = bool(status & STAT_NOMS)
    frozen = _status_flags(status & (STAT_SPA | STAT_MEM | STAT_LOW_BAT))
    items.append(Reading("spo2", None if none or spo2 == SPO2_MISSING else float(spo2), _SPO2_UNIT, frozen, t_device))
    items.append(
        Reading("pulse_rate", None if none or hr == HR_MISSING else float(hr), _PULSE_RATE_UNIT, frozen, t_device)
    )
    return items


_SPO2_UNIT, _PULSE_RATE_UNIT = unit_of("spo2"), unit_of("pulse_rate")


@functools.cache  # 8 combinations of the three flag bits: one frozenset each, not one per record
def _status_flags(status: int) -> frozenset[str]:
    flags = set()
    if status & STAT_SPA:
        flags.add(SMARTPOINT)
    if status & STAT_MEM:
        flags.add("stored")
    if status & STAT_LOW_BAT:
        flags.add("low_battery")
    return frozenset(flags)


class NoninDf13Decoder(FramedDecoder):
    protocol = "nonin-df13"

    def _decode(self) -> None:
        while self._available() >= len(HEADER) + 2:
            buf, pos = self._buf, self._pos  # read in place: a record is copied once, when it checks out
            length = buf[pos + 4] << 8 | buf[pos + 5]
            if buf[pos : pos + 4] != HEADER:
                # Jump to the next header (bytes before it cannot start a record), but not past the point
                # where the byte-by-byte search would stop for want of a whole header and length.
                found = self._buf.find(HEADER, self._pos + 1)
                last = len(self._buf) - (len(HEADER) + 1)
                self._skip_bytes(min(last if found < 0 else found, last) - self._pos)
                continue
            if not MIN_DATA_LENGTH <= length <= MAX_DATA_LENGTH:
                self._skip(1)
                continue
            total = len(HEADER) + 2 + length + 2
            if self._available() < total:
                return
            if buf[pos + total - 1] != ETX:
                self._skip(1)
                continue
            data = bytes(buf[pos + 6 : pos + 6 + length])
            if sum(data) & 0xFF != buf[pos + total - 2]:
                self.stats.checksum_errors += 1
                self._skip(1, CHECKSUM)
                continue
            offset = self._here()
            self._accept(total)
            self._emit_all(parse_df13_data(data, offset))


def encode_df13_record(
    t_device: datetime,
    spo2: int | None,
    pulse_rate: int | None,
    flags: frozenset[str] = frozenset(),
    *,
    no_measurement: bool = False,
    extension: bytes = b"",
) -> bytes:
    """One spot-check record. ``extension`` stands for data bytes a newer device appends (LL grows)."""
    status = (STAT_SPA if SMARTPOINT in flags else 0) | (STAT_NOMS if no_measurement else 0)
    status |= (STAT_MEM if "stored" in flags else 0) | (STAT_LOW_BAT if "low_battery" in flags else 0)
    hr = HR_MISSING if pulse_rate is None else max(0, min(int(pulse_rate), 0xFFFF))
    sat = SPO2_MISSING if spo2 is None else max(0, min(int(spo2), 100))
    stamp = (
        t_device.year // 100,
        t_device.year % 100,
        t_device.month,
        t_device.day,
        t_device.hour,
        t_device.minute,
        t_device.second,
        t_device.microsecond // 10_000,
    )
    data = bytes(_to_bcd(v) for v in stamp)
    data += bytes((status >> 8, status & 0xFF, hr >> 8, hr & 0xFF, 0, sat)) + extension
    return HEADER + len(data).to_bytes(2, "big") + data + bytes((sum(data) & 0xFF, ETX))
