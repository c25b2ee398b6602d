"""Nonin data format #8: 4 bytes once per second, no checksum (protocols.md section 6.3).

    B1: 1 | SNSD | OOT | LPRF | MPRF | ARTF | HR8 | HR7     B2: 0 | HR6..HR0     B3: 0 | SpO2
    B4: 0 | R | SPA | R | SNSA | R | R | LOW BAT

Frames are found by the bit-7 pattern alone: set in byte 1, clear in bytes 2..4. Bit 6 of B1 is reserved on
the 9560 and is read as a sensor disconnect, as on older modules.
"""

from __future__ import annotations

import functools
import re

from kapmonitor.core.readings import Reading
from kapmonitor.devices.nonin.framing import FramedDecoder
from kapmonitor.devices.nonin.packet import (
    HR_MISSING,
    MARGINAL_PERFUSION,
    SMARTPOINT,
    SPO2_MISSING,
    PacketValues,
    heart_rate,
    packet_readings,
    spo2_value,
)

FRAME_LEN = 4
_FRAME = re.compile(rb"[\x80-\xff][\x00-\x7f]{3}")  # bit 7 set in byte 1, clear in bytes 2..4 (is_df8_frame)

_B1_FLAGS = (
    (0x40, "sensor_off"),
    (0x20, "out_of_track"),
    (0x10, "low_perfusion"),
    (0x08, MARGINAL_PERFUSION),
    (0x04, "artifact"),
)
_B4_FLAGS = ((0x20, SMARTPOINT), (0x08, "sensor_off"), (0x01, "low_battery"))


def is_df8_frame(frame: bytes) -> bool:
    return bool(frame[0] & 0x80) and not (frame[1] | frame[2] | frame[3]) & 0x80


def parse_df8_frame(frame: bytes) -> list[Reading]:
    """The SpO2 and pulse-rate readings of one frame (which must pass :func:`is_df8_frame`)."""
    return list(_frame_readings(bytes(frame)))


# A frame is a pure function of its 4 bytes and a patient's stream repeats few of them, so the (frozen)
# readings are built once per distinct frame.
@functools.lru_cache(maxsize=4096)
def _frame_readings(frame: bytes) -> tuple[Reading, ...]:
    flags = {name for bit, name in _B1_FLAGS if frame[0] & bit}
    flags |= {name for bit, name in _B4_FLAGS if frame[3] & bit}
    values = PacketValues(
        heart_rate(frame[0], frame[1]), spo2_value(frame[2]), frozenset(), timer=0, firmware=0
    )
    return tuple(r for r in packet_readings(values, frozenset(flags)) if isinstance(r, Reading))


class NoninDf8Decoder(FramedDecoder):
    protocol = "nonin-df8"

    def _decode(self) -> None:
        # The regex finds the next position where is_df8_frame holds, which is what sliding one byte at a
        # time finds, without a Python loop per byte (matches do not overlap: an accepted frame is consumed).
        for match in _FRAME.finditer(self._buf, self._pos):
            self._skip_bytes(match.start() - self._pos)
            self._accept(FRAME_LEN)
            self._emit_all(_frame_readings(match.group()))
        self._skip_bytes(self._available() - (FRAME_LEN - 1))  # no frame starts before the last 3 bytes


def encode_df8_frame(spo2: int | None, pulse_rate: int | None, flags: frozenset[str] = frozenset()) -> bytes:
    """One frame; ``sensor_off`` is sent as SNSA (the 9560 has no SNSD), one perfusion grade at a time."""
    hr = HR_MISSING if pulse_rate is None else max(0, min(int(pulse_rate), HR_MISSING - 1))
    sat = SPO2_MISSING if spo2 is None else max(0, min(int(spo2), 100))
    b1 = 0x80 | ((hr >> 7) & 0x03)
    b1 |= 0x20 if "out_of_track" in flags else 0
    b1 |= 0x10 if "low_perfusion" in flags else 0x08 if MARGINAL_PERFUSION in flags else 0
    b1 |= 0x04 if "artifact" in flags else 0
    b4 = (0x20 if SMARTPOINT in flags else 0) | (0x08 if "sensor_off" in flags else 0)
    b4 |= 0x01 if "low_battery" in flags else 0
    return bytes((b1, hr & 0x7F, sat, b4))
