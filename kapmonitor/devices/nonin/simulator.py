"""Simulated Nonin oximeters: a patient model in, the bytes of data format #2, #7, #8 or #13 out.

Simulated time is kept as a count of frames already sent, so 75 frames/s (or one frame per second) holds
exactly however the runner splits time into ``advance`` calls.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from datetime import datetime, timedelta

import numpy as np

from kapmonitor.devices.nonin.df2 import PLETH_MAX as DF2_PLETH_MAX
from kapmonitor.devices.nonin.df2 import encode_df2_frame
from kapmonitor.devices.nonin.df7 import PLETH_MAX as DF7_PLETH_MAX
from kapmonitor.devices.nonin.df7 import encode_df7_frame
from kapmonitor.devices.nonin.df8 import encode_df8_frame
from kapmonitor.devices.nonin.df13 import encode_df13_record
from kapmonitor.devices.nonin.packet import (
    FRAME_RATE_HZ,
    FRAMES_PER_PACKET,
    MARGINAL_PERFUSION,
    SMARTPOINT,
    packet_float_bytes,
    status_byte,
)
from kapmonitor.devices.simulation.interface import DeviceSimulator, PatientModel, VitalsSnapshot

ACK = b"\x06"
NAK = b"\x15"
# Perfusion index (%) below which the simulated probe shows red / yellow perfusion. Nonin grades its own
# signal amplitude; these thresholds only make a scenario's falling PI visible in the status bits.
RED_PERFUSION_BELOW = 0.3
YELLOW_PERFUSION_BELOW = 0.6
_EPSILON = 1e-9  # float time sums such as 1/75 + ... must not lose a frame to rounding


def select_format_command(data_format: int) -> bytes:
    """``02 70 02 02 <fmt> 03``: make the device send data format ``fmt`` (kept in non-volatile memory)."""
    return bytes((0x02, 0x70, 0x02, 0x02, data_format, 0x03))


def vitals_flags(v: VitalsSnapshot) -> frozenset[str]:
    flags = set()
    if v.sensor_off:
        flags.add("sensor_off")
    if v.artifact:
        flags.add("artifact")
    if v.perfusion_index is not None and not v.sensor_off:
        if v.perfusion_index < RED_PERFUSION_BELOW:
            flags.add("low_perfusion")
        elif v.perfusion_index < YELLOW_PERFUSION_BELOW:
            flags.add(MARGINAL_PERFUSION)
    return frozenset(flags)


def reported(v: VitalsSnapshot) -> tuple[int | None, int | None]:
    """(SpO2, pulse rate) as the device reports them: missing while the sensor is off."""
    if v.sensor_off:
        return None, None
    spo2 = None if v.spo2 is None else round(v.spo2)
    pulse = None if v.pulse_rate is None else round(v.pulse_rate)
    return spo2, pulse


class _NoninSimulator(DeviceSimulator):
    """Frames at a fixed rate; subclasses encode frame number ``k`` (time ``k / frame_rate_hz``)."""

    frame_rate_hz: float
    data_format: int

    def __init__(self, model: PatientModel) -> None:
        self.model = model
        self._t = 0.0
        self._frames_sent = 0

    @property
    def connected(self) -> bool:
        return self.model.vitals(self._t).connected

    def advance(self, dt_s: float) -> bytes:
        self._t += max(0.0, dt_s)
        due = math.floor(self._t * self.frame_rate_hz + _EPSILON)
        first, self._frames_sent = self._frames_sent, max(due, self._frames_sent)
        if due <= first or not self.connected:
            return b""  # while unplugged the frames are simply never sent
        return self._frames(first, due - first)

    def receive(self, data: bytes) -> bytes:
        if data.startswith(bytes((0x02, 0x70))):
            return ACK if data == select_format_command(self.data_format) else NAK
        return b""

    @abstractmethod
    def _frames(self, first: int, n: int) -> bytes: ...


class _PacketSimulator(_NoninSimulator):
    """Data formats #2 and #7: 25-frame packets, values and flags fixed at each packet's start."""

    frame_rate_hz = FRAME_RATE_HZ
    pleth_max: int

    def __init__(self, model: PatientModel) -> None:
        super().__init__(model)
        self._packet_index = -1
        self._floats: list[int] = []
        self._flags: frozenset[str] = frozenset()

    def _frames(self, first: int, n: int) -> bytes:
        pleth = np.clip(self.model.pleth(first / self.frame_rate_hz, n, self.frame_rate_hz), 0.0, 1.0)
        samples = np.rint(pleth * self.pleth_max).astype(int)
        out = bytearray()
        for k, sample in zip(range(first, first + n), samples, strict=True):
            position = k % FRAMES_PER_PACKET
            if k // FRAMES_PER_PACKET != self._packet_index:
                self._start_packet(k // FRAMES_PER_PACKET)
            status = status_byte(self._flags, sync=position == 0)
            out += self._encode_frame(status, int(sample), self._floats[position])
        return bytes(out)

    def _start_packet(self, index: int) -> None:
        self._packet_index = index
        vitals = self.model.vitals(index * FRAMES_PER_PACKET / self.frame_rate_hz)
        self._flags = vitals_flags(vitals)
        spo2, pulse = reported(vitals)
        self._floats = packet_float_bytes(spo2, pulse, self._flags, timer=index & 0x3FFF)

    @abstractmethod
    def _encode_frame(self, status: int, pleth: int, float_byte: int) -> bytes: ...


class NoninDf7Simulator(_PacketSimulator):
    protocol = "nonin-df7"
    data_format = 0x07
    pleth_max = DF7_PLETH_MAX

    def _encode_frame(self, status: int, pleth: int, float_byte: int) -> bytes:
        return encode_df7_frame(status, pleth, float_byte)


class NoninDf2Simulator(_PacketSimulator):
    protocol = "nonin-df2"
    data_format = 0x02
    pleth_max = DF2_PLETH_MAX

    def _encode_frame(self, status: int, pleth: int, float_byte: int) -> bytes:
        return encode_df2_frame(status, pleth, float_byte)


class NoninDf8Simulator(_NoninSimulator):
    """One 4-byte frame per second."""

    protocol = "nonin-df8"
    data_format = 0x08
    frame_rate_hz = 1.0

    def _frames(self, first: int, n: int) -> bytes:
        out = bytearray()
        for k in range(first, first + n):
            vitals = self.model.vitals(k / self.frame_rate_hz)
            out += encode_df8_frame(*reported(vitals), vitals_flags(vitals))
        return bytes(out)


class NoninDf13Simulator(_NoninSimulator):
    """A SmartPoint spot check every ``interval_s`` seconds, stamped with the device's own clock."""

    protocol = "nonin-df13"
    data_format = 0x0D

    def __init__(
        self, model: PatientModel, *, interval_s: float = 30.0, clock_start: datetime | None = None
    ) -> None:
        super().__init__(model)
        self.frame_rate_hz = 1.0 / interval_s
        self.clock_start = (clock_start or datetime.now()).replace(microsecond=0)

    def _frames(self, first: int, n: int) -> bytes:
        out = bytearray()
        for k in range(first, first + n):
            t = (
                k + 1
            ) / self.frame_rate_hz  # a spot check is sent when it completes, at the end of its interval
            vitals = self.model.vitals(t)
            spo2, pulse = reported(vitals)
            # SmartPoint marks a high-quality measurement: not one taken through artifact or without a finger.
            flags = frozenset() if vitals.sensor_off or vitals.artifact else frozenset({SMARTPOINT})
            stamp = self.clock_start + timedelta(seconds=t)
            out += encode_df13_record(stamp, spo2, pulse, flags, no_measurement=vitals.sensor_off)
        return bytes(out)
