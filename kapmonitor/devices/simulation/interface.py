"""The interface of a simulated device: a physiological model in, the device's own protocol bytes out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class DeviceSimulator(ABC):
    """Encodes what a real device of one protocol would send.

    The runner (a pseudo-terminal writer thread, an in-process link, or a fake Bluetooth client) calls
    :meth:`advance` with the time elapsed since the previous call and writes the returned bytes. Devices that answer
    commands (an NIBP module, an oximeter that needs a start command) implement :meth:`receive`.
    Simulated time is owned by the simulator, so a scenario runs faster than real time just as well.
    """

    protocol: str

    @abstractmethod
    def advance(self, dt_s: float) -> bytes:
        """The bytes the device emits during the next ``dt_s`` seconds of simulated time."""

    def receive(self, data: bytes) -> bytes:
        """Bytes written to the device by the host; returns any immediate reply."""
        return b""

    @property
    def connected(self) -> bool:
        """False while a scripted disconnection episode runs: the runner then drops the link."""
        return True


@dataclass(frozen=True)
class VitalsSnapshot:
    """What a simulated patient and probe present at one instant. ``None`` = the device would report no value."""

    spo2: float | None
    pulse_rate: float | None
    perfusion_index: float | None
    systolic: float | None
    diastolic: float | None
    mean: float | None
    sensor_off: bool = False
    artifact: bool = False
    connected: bool = True


class PatientModel(Protocol):
    """The physiological model every simulator encodes (kapmonitor.devices.simulation.physiology implements it).

    Times are seconds of simulated time since the model started.
    """

    def vitals(self, t_s: float) -> VitalsSnapshot: ...

    def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
        """``n`` pleth samples from ``t0_s`` at ``rate_hz``, scaled 0.0 (trough) .. 1.0 (peak)."""
        ...


class LaterPatient:
    """A patient model seen from ``offset_s`` seconds into its story: a simulator started now continues a session
    whose beginning was replayed (the demo opens 45 minutes into its scenario)."""

    def __init__(self, model: PatientModel, offset_s: float) -> None:
        self.model = model
        self.offset_s = offset_s

    def vitals(self, t_s: float) -> VitalsSnapshot:
        return self.model.vitals(t_s + self.offset_s)

    def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
        return self.model.pleth(t0_s + self.offset_s, n, rate_hz)
