"""A simulated session as data: the patient's baseline, scripted episodes, and the devices to simulate.

Scenarios are TOML files (format in docs/scenarios.md). Tables this module does not know (``[[dose]]``,
``[[rating]]``, ``[[note]]``, ...) are kept raw in :attr:`Scenario.sections` for the clinical record to read.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the file, the entry and the problem."""


# What each kind of episode does, and whether it needs a `value` (and what that value means).
EPISODE_KINDS: dict[str, str | None] = {
    "desaturation": "the SpO2 (%) reached at the bottom of the dip",
    "bp_surge": "the systolic rise (mmHg); the diastolic rises by 0.6 x that",
    "bradycardia": "the pulse rate (bpm) reached",
    "tachycardia": "the pulse rate (bpm) reached",
    "sensor_off": None,
    "artifact": None,
    "disconnect": None,
}

# Plausibility limits for the numbers a scenario may set (a typo like spo2 = 980 should fail loudly).
LIMITS: dict[str, tuple[float, float]] = {
    "spo2": (50.0, 100.0),
    "pulse_rate": (20.0, 250.0),
    "systolic": (60.0, 260.0),
    "diastolic": (30.0, 160.0),
    "perfusion_index": (0.05, 20.0),
    "respiration_rate": (4.0, 40.0),
    "ketamine_systolic_rise": (0.0, 80.0),
    "ketamine_diastolic_rise": (0.0, 60.0),
    "ketamine_pulse_rise": (0.0, 60.0),
}
EPISODE_VALUE_LIMITS: dict[str, tuple[float, float]] = {
    "desaturation": (50.0, 100.0),
    "bp_surge": (-60.0, 120.0),
    "bradycardia": (20.0, 250.0),
    "tachycardia": (20.0, 250.0),
}


@dataclass(frozen=True)
class PatientBaseline:
    """The patient before any drug effect. ``dose_at_s`` is when ketamine is given (None: no dose)."""

    spo2: float = 98.0
    pulse_rate: float = 72.0
    systolic: float = 122.0
    diastolic: float = 78.0
    perfusion_index: float = 3.0
    respiration_rate: float = 15.0  # breaths/min; sets the sinus-arrhythmia rhythm (15/min = 0.25 Hz)
    dose_at_s: float | None = 0.0
    # IV ketamine, Yale series: mean peak +16/+11 mmHg at 40 min (clinical.md)
    ketamine_systolic_rise: float = 16.0
    ketamine_diastolic_rise: float = 11.0
    ketamine_pulse_rise: float = 6.0


@dataclass(frozen=True)
class Episode:
    """A scripted event: ``kind`` from :data:`EPISODE_KINDS`, over ``start_s`` .. ``start_s + duration_s``.

    ``device`` limits it to one protocol (for example a sensor coming off one oximeter only).
    """

    kind: str
    start_s: float
    duration_s: float
    value: float | None = None
    device: str | None = None

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def hits(self, protocol: str | None) -> bool:
        """Whether this episode applies to a device; a model not told its device sees every episode."""
        return protocol is None or self.device is None or self.device == protocol


@dataclass(frozen=True)
class Scenario:
    patient: PatientBaseline = field(default_factory=PatientBaseline)
    episodes: tuple[Episode, ...] = ()
    duration_s: float | None = None
    devices: tuple[str, ...] = ("nonin-df7",)
    sections: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    source: str = "<default>"

    @classmethod
    def default(cls) -> Scenario:
        """A calm session: baseline vitals, a ketamine dose at t = 0, no episodes."""
        return cls()

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError(f"{path}: no such scenario file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(f"{path}: cannot read the scenario ({exc})") from None
        return cls.from_toml(text, source=str(path))

    @classmethod
    def from_toml(cls, text: str, *, source: str = "<text>") -> Scenario:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(f"{source}: not valid TOML: {exc}") from None
        return cls.from_dict(data, source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> Scenario:
        rest = dict(data)
        patient = _patient(rest.pop("patient", {}), source)
        episodes = _episodes(rest.pop("episode", []), source)
        duration = rest.pop("duration_s", None)
        if duration is not None:
            duration = _number(duration, f"{source}: duration_s")
            if duration <= 0:
                raise ScenarioError(f"{source}: duration_s must be more than 0, not {duration:g}")
        devices = _devices(rest.pop("devices", list(cls.devices)), source)
        loose = [k for k, v in rest.items() if not isinstance(v, dict | list)]
        if loose:
            raise ScenarioError(f"{source}: unknown top-level setting(s): {', '.join(sorted(loose))}")
        return cls(patient, episodes, duration, devices, rest, source)


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScenarioError(f"{where} must be a number, not {value!r}")
    return float(value)


def _in_range(value: float, limits: tuple[float, float], where: str) -> float:
    low, high = limits
    if not low <= value <= high:
        raise ScenarioError(f"{where} = {value:g} is outside {low:g}..{high:g}")
    return value


def _patient(table: object, source: str) -> PatientBaseline:
    if not isinstance(table, dict):
        raise ScenarioError(f"{source}: [patient] must be a table")
    known = {f.name for f in fields(PatientBaseline)}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ScenarioError(
            f"{source}: [patient] has unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    values: dict[str, float | None] = {}
    for key, raw in table.items():
        where = f"{source}: [patient] {key}"
        number = _number(raw, where)
        if key == "dose_at_s" and number < 0:
            raise ScenarioError(f"{where} must be 0 or more, not {number:g}")
        values[key] = _in_range(number, LIMITS[key], where) if key in LIMITS else number
    patient = PatientBaseline(**values)  # type: ignore[arg-type]
    if patient.diastolic >= patient.systolic:
        raise ScenarioError(
            f"{source}: [patient] diastolic {patient.diastolic:g} must be below systolic {patient.systolic:g}"
        )
    return patient


def _episodes(entries: object, source: str) -> tuple[Episode, ...]:
    if not isinstance(entries, list):
        raise ScenarioError(f"{source}: episodes are written as [[episode]] tables")
    return tuple(_episode(entry, f"{source}: [[episode]] #{i}", source) for i, entry in enumerate(entries, 1))


def _episode(entry: object, where: str, source: str) -> Episode:
    if not isinstance(entry, dict):
        raise ScenarioError(f"{where} must be a table")
    unknown = sorted(set(entry) - {"kind", "start_s", "duration_s", "value", "device"})
    if unknown:
        raise ScenarioError(f"{where} has unknown key(s) {', '.join(unknown)}")
    kind = entry.get("kind")
    if kind not in EPISODE_KINDS:
        raise ScenarioError(f"{where}: kind {kind!r} is not one of {', '.join(EPISODE_KINDS)}")
    where = f"{where} ({kind})"
    for key in ("start_s", "duration_s"):
        if key not in entry:
            raise ScenarioError(f"{where} needs {key}")
    start = _number(entry["start_s"], f"{where} start_s")
    duration = _number(entry["duration_s"], f"{where} duration_s")
    if start < 0 or duration <= 0:
        raise ScenarioError(f"{where}: start_s must be 0 or more and duration_s more than 0")
    meaning = EPISODE_KINDS[kind]
    value = entry.get("value")
    if meaning is None and value is not None:
        raise ScenarioError(f"{where}: a {kind} episode takes no value")
    if meaning is not None:
        if value is None:
            raise ScenarioError(f"{where} needs value: {meaning}")
        value = _in_range(_number(value, f"{where} value"), EPISODE_VALUE_LIMITS[kind], f"{where} value")
    device = entry.get("device")
    if device is not None and (not isinstance(device, str) or not device):
        raise ScenarioError(f'{where}: device must be a protocol name such as "nonin-df7"')
    return Episode(kind, start, duration, value, device)


def _devices(value: object, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(d, str) and d for d in value):
        raise ScenarioError(
            f'{source}: devices must be a list of protocol names, e.g. devices = ["nonin-df7"]'
        )
    return tuple(value)
