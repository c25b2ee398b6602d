"""The Nonin 25-frame packet shared by data formats #2 and #7 (protocols.md section 6.1-6.2).

Each 5-byte frame carries a STATUS byte, one pleth sample and one FLOAT byte; the FLOAT bytes of the 25 frames
of a packet follow a fixed schedule (HR, SpO2, firmware revision, timer, STAT2, ...). Frame 1 of a packet has
the SYNC bit. 75 frames/s, 3 packets/s.

Which values become readings: the *standard* HR (frames 1-2) and SpO2 (frame 3), not the "-D" display values.
The standard values are the device's 4-beat average updated every beat; the "-D" values are smoothed for a
display and, after the finger is removed, keep showing the last value for 10 s. kapmonitor draws its own
display and records what was measured, so a held number that is no longer a measurement must not reach the
record or the alarms.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from kapmonitor.core.metrics import unit_of
from kapmonitor.core.readings import DecodeError, Item, Reading, WaveChunk

FRAMES_PER_PACKET = 25
FRAME_RATE_HZ = 75.0
PACKETS_PER_READING = 3  # readings at 1 Hz

# STATUS byte
STATUS_BIT7 = 0x80
SNSD = 0x40  # sensor disconnected (OEM III; reserved and always 0 on the 9560)
ARTF = 0x20
OOT = 0x10
SNSA = 0x08  # sensor alarm: finger removed
PERFUSION_MASK = 0x06
GREEN = 0x02
RED = 0x04
YELLOW = 0x06
SYNC = 0x01

# STAT2 byte (frame 8)
STAT2_SPA = 0x20
STAT2_LOW_BAT = 0x01

HR_MISSING = 511
SPO2_MISSING = 127

# FLOAT schedule: frame position (0-based) within the packet
HR_MSB, HR_LSB, SPO2, SREV, TMR_MSB, TMR_LSB, STAT2 = 0, 1, 2, 3, 5, 6, 7
SPO2_D, SPO2_FAST, SPO2_BB = 8, 9, 10
E_HR_MSB, E_HR_LSB, E_SPO2, E_SPO2_D = 13, 14, 15, 16
HR_D_MSB, HR_D_LSB, E_HR_D_MSB, E_HR_D_LSB = 19, 20, 21, 22

# Yellow perfusion has no word in the shared vocabulary; Nonin calls it marginal, and so does this extra flag.
MARGINAL_PERFUSION = "marginal_perfusion"
SMARTPOINT = "smartpoint"

_STATUS_FLAGS = ((SNSD, "sensor_off"), (ARTF, "artifact"), (OOT, "out_of_track"), (SNSA, "sensor_off"))


@functools.cache  # 256 STATUS bytes: one frozenset each rather than one per frame (75 a second)
def status_flags(status: int) -> frozenset[str]:
    """Quality flags one STATUS byte carries."""
    flags = {name for bit, name in _STATUS_FLAGS if status & bit}
    perfusion = status & PERFUSION_MASK
    if perfusion == RED:
        flags.add("low_perfusion")
    elif perfusion == YELLOW:
        flags.add(MARGINAL_PERFUSION)
    return frozenset(flags)


def status_byte(flags: frozenset[str], *, sync: bool) -> int:
    """The STATUS byte a device reporting ``flags`` sends (the encoder side of :func:`status_flags`)."""
    status = STATUS_BIT7 | (SYNC if sync else 0)
    if "sensor_off" in flags:
        status |= SNSA
    if "artifact" in flags:
        status |= ARTF
    if "out_of_track" in flags:
        status |= OOT
    if "low_perfusion" in flags:
        status |= RED
    elif MARGINAL_PERFUSION in flags:
        status |= YELLOW
    elif "sensor_off" not in flags:
        status |= GREEN
    return status


def stat2_flags(stat2: int) -> frozenset[str]:
    flags = set()
    if stat2 & STAT2_SPA:
        flags.add(SMARTPOINT)
    if stat2 & STAT2_LOW_BAT:
        flags.add("low_battery")
    return frozenset(flags)


def heart_rate(msb: int, lsb: int) -> int | None:
    """The 9-bit HR; 511 means no value. (Not ``msb << 8 | lsb``: that reads HR 130 as 258.)"""
    value = ((msb & 0x03) << 7) | (lsb & 0x7F)
    return None if value == HR_MISSING else value


def spo2_value(byte: int) -> int | None:
    value = byte & 0x7F
    return None if value == SPO2_MISSING else value


def _hr_bytes(hr: int | None) -> tuple[int, int]:
    value = HR_MISSING if hr is None else max(0, min(int(hr), HR_MISSING - 1))
    return (value >> 7) & 0x03, value & 0x7F


def packet_float_bytes(
    spo2: int | None,
    pulse_rate: int | None,
    flags: frozenset[str] = frozenset(),
    *,
    timer: int = 0,
    firmware: int = 48,
) -> list[int]:
    """The 25 FLOAT bytes of one packet. Standard, extended and display values all carry the same numbers."""
    floats = [0] * FRAMES_PER_PACKET
    msb, lsb = _hr_bytes(pulse_rate)
    sat = SPO2_MISSING if spo2 is None else max(0, min(int(spo2), 100))
    for m, l_ in ((HR_MSB, HR_LSB), (E_HR_MSB, E_HR_LSB), (HR_D_MSB, HR_D_LSB), (E_HR_D_MSB, E_HR_D_LSB)):
        floats[m], floats[l_] = msb, lsb
    for i in (SPO2, SPO2_D, SPO2_FAST, SPO2_BB, E_SPO2, E_SPO2_D):
        floats[i] = sat
    floats[SREV] = firmware & 0x7F
    floats[TMR_MSB], floats[TMR_LSB] = (timer >> 7) & 0x7F, timer & 0x7F
    floats[STAT2] = (STAT2_SPA if SMARTPOINT in flags else 0) | (
        STAT2_LOW_BAT if "low_battery" in flags else 0
    )
    return floats


@dataclass(frozen=True)
class PacketValues:
    """What the FLOAT bytes of one complete packet say."""

    pulse_rate: int | None
    spo2: int | None
    flags: frozenset[str]  # from STAT2
    timer: int
    firmware: int


def parse_packet_floats(floats: Sequence[int]) -> PacketValues:
    return PacketValues(
        pulse_rate=heart_rate(floats[HR_MSB], floats[HR_LSB]),
        spo2=spo2_value(floats[SPO2]),
        flags=stat2_flags(floats[STAT2]),
        timer=((floats[TMR_MSB] & 0x7F) << 7) | (floats[TMR_LSB] & 0x7F),
        firmware=floats[SREV],
    )


def packet_readings(values: PacketValues, flags: frozenset[str]) -> list[Item]:
    """SpO2 and pulse-rate readings; no number while the sensor is off, whatever the FLOAT bytes say."""
    off = "sensor_off" in flags
    return [
        Reading("spo2", None if off or values.spo2 is None else float(values.spo2), unit_of("spo2"), flags),
        Reading(
            "pulse_rate",
            None if off or values.pulse_rate is None else float(values.pulse_rate),
            unit_of("pulse_rate"),
            flags,
        ),
    ]


class PacketAssembler:
    """Turns accepted frames into pleth chunks and, every third complete packet, SpO2 and pulse-rate readings.

    Pleth is kept from every accepted frame, in order. A chunk ends at each SYNC frame, after 25 samples, and
    when the decoder loses sync, so chunk boundaries depend on the byte stream only, never on how it was split
    into reads. FLOAT bytes count only inside a packet that began with a SYNC frame; a SYNC frame arriving
    before 25 frames were collected means frames were lost, and the partial packet's values are discarded.
    """

    def __init__(self, pleth_rate_hz: float = FRAME_RATE_HZ) -> None:
        self.pleth_rate_hz = pleth_rate_hz
        self.partial_packets = 0
        self.packets_complete = 0
        self._samples: list[int] = []
        self._wave_flags: set[str] = set()
        self._floats: list[int] | None = None  # None: not inside a packet (before the first SYNC)
        self._packet_offset = 0
        self._window_flags: set[str] = set()  # status flags since the last reading

    def frame(self, status: int, pleth: int, float_byte: int, offset: int) -> list[Item]:
        items: list[Item] = []
        if status & SYNC:
            if self._floats:
                self.partial_packets += 1
                detail = f"{len(self._floats)} of {FRAMES_PER_PACKET} frames before SYNC"
                items.append(DecodeError("partial_packet", self._packet_offset, detail))
            items += self._flush_wave()
            self._floats = []
            self._packet_offset = offset
        flags = status_flags(status)
        self._samples.append(pleth)
        if flags:  # most frames carry no flag: skip two set updates
            self._wave_flags |= flags
            self._window_flags |= flags
        floats = self._floats
        if floats is not None:
            floats.append(float_byte)
            if len(floats) == FRAMES_PER_PACKET:
                items += self._flush_wave()
                items += self._complete_packet(floats)
                self._floats = None
        if len(self._samples) >= FRAMES_PER_PACKET:
            items += self._flush_wave()
        return items

    def lost_sync(self) -> list[Item]:
        """Frames are missing from here on: the packet in progress cannot be completed."""
        self._floats = None
        return self._flush_wave()

    def _flush_wave(self) -> list[Item]:
        if not self._samples:
            return []
        chunk = WaveChunk("pleth", self.pleth_rate_hz, tuple(self._samples), frozenset(self._wave_flags))
        self._samples = []
        self._wave_flags = set()
        return [chunk]

    def _complete_packet(self, floats: list[int]) -> list[Item]:
        self.packets_complete += 1
        if (self.packets_complete - 1) % PACKETS_PER_READING:
            return []
        values = parse_packet_floats(floats)
        flags = frozenset(self._window_flags) | values.flags
        self._window_flags = set()
        return packet_readings(values, flags)


def encode_packet(
    encode_frame: Callable[[int, int, int], bytes],
    pleth_max: int,
    pleth: Sequence[int],
    *,
    spo2: int | None,
    pulse_rate: int | None,
    flags: frozenset[str] = frozenset(),
    timer: int = 0,
) -> bytes:
    """One 25-frame packet (1/3 s) in DF2 or DF7 framing: the pleth samples (clipped to 0..``pleth_max``),
    with the values and flags the packet reports spread over its FLOAT bytes."""
    if len(pleth) != FRAMES_PER_PACKET:
        raise ValueError(f"a packet has {FRAMES_PER_PACKET} pleth samples, not {len(pleth)}")
    floats = packet_float_bytes(spo2, pulse_rate, flags, timer=timer)
    return b"".join(
        encode_frame(status_byte(flags, sync=i == 0), max(0, min(int(p), pleth_max)), floats[i])
        for i, p in enumerate(pleth)
    )
