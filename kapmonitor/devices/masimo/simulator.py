"""A Rad-8 in ASCII 1 mode, and the line it prints (the encoder tests and the simulator share)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kapmonitor.devices.masimo.decoder import PROTOCOL
from kapmonitor.devices.simulation.interface import DeviceSimulator, PatientModel


def _field(value: float | None, width: int, decimals: int) -> str:
    if value is None:
        return "-" * (width - decimals - 1) + "." + "-" * decimals if decimals else "-" * width
    return f"{value:0{width}.{decimals}f}"


def encode_line(
    t_device: datetime,
    spo2: float | None,
    pulse_rate: float | None,
    perfusion_index: float | None,
    *,
    alarm: int = 0,
    exc: int = 0x800,
    serial_number: str = "0000056661",
) -> bytes:
    """A Rad-8 ASCII 1 line, CR LF terminated (values are rounded as the device prints them)."""
    return (
        f"{t_device:%m/%d/%y %H:%M:%S} SN={serial_number} SPO2={_field(spo2, 3, 0)}% "
        f"BPM={_field(pulse_rate, 3, 0)} PI={_field(perfusion_index, 5, 2)}% SPCO=--.-% SPMET=--.-% "
        f"DESAT=-- PIDELTA=+-- ALARM={alarm:04X} EXC={exc:06X}\r\n"
    ).encode("ascii")


@dataclass
class MasimoSimulator(DeviceSimulator):
    """A Rad-8 in ASCII 1 mode: one line per second of simulated time."""

    model: PatientModel
    clock_start: datetime = datetime(2026, 1, 1, 9, 0, 0)
    protocol: str = PROTOCOL

    def __post_init__(self) -> None:
        self._t = 0.0
        self._lines = 0
        self._connected = True

    @property
    def connected(self) -> bool:
        return self._connected

    def advance(self, dt_s: float) -> bytes:
        self._t += dt_s
        out = bytearray()
        while self._lines + 1 <= self._t + 1e-6:  # summed float steps land just short of whole seconds
            self._lines += 1
            out += self._line(float(self._lines))
        return bytes(out)

    def _line(self, t_s: float) -> bytes:
        v = self.model.vitals(t_s)
        self._connected = v.connected
        if not v.connected:
            return b""
        exc = 0x800 | (0x20 if v.sensor_off else 0) | (0x10 if v.artifact else 0)
        off = v.sensor_off
        return encode_line(
            self.clock_start + timedelta(seconds=t_s),
            None if off else v.spo2,
            None if off else v.pulse_rate,
            None if off else v.perfusion_index,
            exc=exc,
        )
