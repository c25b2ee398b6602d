"""The recorded vital signs the clinical record reads: NIBP measurements and usable SpO2 values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kapmonitor.core.readings import Reading

# Readings carrying one of these flags say nothing trustworthy about the patient.
UNUSABLE_FLAGS = frozenset({"sensor_off", "artifact", "invalid", "out_of_track", "searching", "questionable"})


@dataclass(frozen=True)
class BpMeasurement:
    t_us: int
    systolic: float
    diastolic: float | None
    device: str = ""

    def __str__(self) -> str:
        dia = "--" if self.diastolic is None else f"{self.diastolic:.0f}"
        return f"{self.systolic:.0f}/{dia}"


def usable(reading: Reading) -> bool:
    return reading.value is not None and not (reading.flags & UNUSABLE_FLAGS)


def bp_measurements(readings: Sequence[Reading]) -> list[BpMeasurement]:
    """One measurement per NIBP cycle: the systolic and diastolic a device stamped with the same time."""
    diastolic = {(r.device, r.t_us): r.value for r in readings if r.metric == "nibp_diastolic" and usable(r)}
    found = [
        BpMeasurement(r.t_us, float(r.value), diastolic.get((r.device, r.t_us)), r.device)  # type: ignore[arg-type]
        for r in readings
        if r.metric == "nibp_systolic" and usable(r)
    ]
    return sorted(found, key=lambda m: m.t_us)


def spo2_values(readings: Sequence[Reading]) -> list[tuple[int, float]]:
    return sorted((r.t_us, float(r.value)) for r in readings if r.metric == "spo2" and usable(r))  # type: ignore[arg-type]
