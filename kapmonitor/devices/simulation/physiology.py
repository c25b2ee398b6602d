"""A simulated patient: beat timing with heart-rate variability, a pleth pulse, SpO2, perfusion, and blood
pressure that follows a ketamine response, plus the scenario's scripted episodes.

Everything is a deterministic function of simulated time and the seed, so two devices simulating the same
patient agree, and a test run is repeatable.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from kapmonitor.devices.simulation.interface import VitalsSnapshot
from kapmonitor.devices.simulation.scenario import Episode, Scenario

KETAMINE_PEAK_S = 40 * 60.0  # mean peak of the BP rise after IV ketamine (clinical.md)
RSA_BPM = 3.0  # respiratory sinus arrhythmia: +-3 bpm with each breath
HR_DRIFT_BPM = 3.0
SPO2_WANDER = 0.8
PI_WANDER = 0.35  # relative
BP_CYCLE_MMHG = 3.0  # slow BP cycles every few minutes
# Seconds to ramp into and out of an episode, per kind (steps for probe and cable events).
EPISODE_RAMP_S = {"desaturation": 20.0, "bp_surge": 60.0, "bradycardia": 10.0, "tachycardia": 10.0}
BEAT_GRID_S = 0.05  # resolution of the integrated beat phase
BEAT_GRID_BLOCK_S = 120.0


def ketamine_response(since_dose_s: float | np.ndarray) -> float | np.ndarray:
    """0 before the dose, 1 at 40 min, 0.4 at 2 h and 0.04 at 4 h (a gamma-variate shape)."""
    x = np.maximum(np.asarray(since_dose_s, dtype=float), 0.0) / KETAMINE_PEAK_S
    out = x * np.exp(1.0 - x)
    return float(out) if out.ndim == 0 else out


def _slow_wave(t: float | np.ndarray, waves: np.ndarray) -> float | np.ndarray:
    """A sum of slow sinusoids (rows: period_s, phase, weight) scaled to about -1..1."""
    t = np.asarray(t, dtype=float)
    total = sum(w * np.sin(2 * np.pi * t / p + ph) for p, ph, w in waves)
    out = total / waves[:, 2].sum()
    return float(out) if np.ndim(out) == 0 else out


def _beat_hash(beat: np.ndarray, salt: float) -> np.ndarray:
    """A repeatable pseudo-random number in 0..1 per beat index (so each beat keeps its own shape)."""
    v = np.sin(beat * 12.9898 + salt * 78.233) * 43758.5453
    return v - np.floor(v)


def pulse_shape(phase: np.ndarray, dicrotic: np.ndarray, systole: np.ndarray) -> np.ndarray:
    """One beat's pleth over phase 0..1: a steep systolic upstroke, a dicrotic notch, the diastolic runoff."""

    def half_gauss(x: np.ndarray, centre: np.ndarray, rise: float, fall: float) -> np.ndarray:
        width = np.where(x < centre, rise, fall)
        return np.exp(-((x - centre) ** 2) / (2 * width**2))

    peak = half_gauss(phase, systole, 0.055, 0.09)
    wave = dicrotic * half_gauss(phase, systole + 0.28, 0.05, 0.18)
    return peak + wave


class _Episodes:
    """The scenario's episodes that apply to one device, with their ramped strength at a time."""

    def __init__(self, episodes: tuple[Episode, ...]) -> None:
        self.episodes = episodes

    def strength(self, ep: Episode, t: float | np.ndarray) -> float | np.ndarray:
        t = np.asarray(t, dtype=float)
        ramp = min(EPISODE_RAMP_S.get(ep.kind, 0.0), ep.duration_s / 3)
        if ramp <= 0:
            out = np.where((t >= ep.start_s) & (t < ep.end_s), 1.0, 0.0)
            return float(out) if out.ndim == 0 else out
        rise = np.clip((t - ep.start_s) / ramp, 0.0, 1.0)
        fall = np.clip((ep.end_s - t) / ramp, 0.0, 1.0)
        out = np.minimum(rise, fall)
        return float(out) if out.ndim == 0 else out

    def active(self, kind: str, t: float) -> bool:
        return any(ep.kind == kind and ep.start_s <= t < ep.end_s for ep in self.episodes)

    def blend(
        self, kinds: tuple[str, ...], t: float | np.ndarray, base: float | np.ndarray
    ) -> float | np.ndarray:
        """``base`` pulled towards each matching episode's value by its ramped strength."""
        out = base
        for ep in self.episodes:
            if ep.kind in kinds and ep.value is not None:
                s = self.strength(ep, t)
                out = out + s * (ep.value - out)
        return out


class PhysiologicalModel:
    """Implements :class:`~kapmonitor.devices.simulation.interface.PatientModel` for a scenario and a seed."""

    def __init__(self, scenario: Scenario | None = None, seed: int = 0, *, device: str | None = None) -> None:
        self.scenario = scenario or Scenario.default()
        self.seed = seed
        self.device = device
        self._episodes = _Episodes(tuple(e for e in self.scenario.episodes if e.hits(device)))
        rng = np.random.default_rng(seed)

        def waves(periods: tuple[float, float]) -> np.ndarray:
            return np.column_stack(
                [rng.uniform(*periods, 3), rng.uniform(0, 2 * np.pi, 3), rng.uniform(0.5, 1.0, 3)]
            )

        self._hr_drift = waves((60.0, 400.0))
        self._spo2_wander = waves((90.0, 600.0))
        self._pi_wander = waves((40.0, 300.0))
        self._bp_cycle = waves((150.0, 420.0))  # "every few minutes"
        self._resp_phase = float(rng.uniform(0, 2 * np.pi))
        self._shape_salt = float(rng.uniform(0, 1000))
        self._grid_lock = threading.Lock()
        self._grid_t = np.zeros(1)
        self._grid_phase = np.zeros(1)

    def for_device(self, protocol: str) -> PhysiologicalModel:
        """The same patient (seed, scenario) as one device sees it: other devices' episodes left out."""
        return PhysiologicalModel(self.scenario, self.seed, device=protocol)

    # -- the patient -----------------------------------------------------------------------------------------

    def _since_dose(self, t: float | np.ndarray) -> float | np.ndarray:
        dose = self.scenario.patient.dose_at_s
        return (
            np.zeros_like(np.asarray(t, dtype=float)) if dose is None else np.asarray(t, dtype=float) - dose
        )

    def mean_heart_rate(self, t: float | np.ndarray) -> float | np.ndarray:
        """The pulse rate a monitor averages to, without the beat-to-beat sinus arrhythmia."""
        p = self.scenario.patient
        k = ketamine_response(self._since_dose(t))
        hr = p.pulse_rate + p.ketamine_pulse_rise * k + HR_DRIFT_BPM * _slow_wave(t, self._hr_drift)
        return self._episodes.blend(("bradycardia", "tachycardia"), t, hr)

    def _instant_heart_rate(self, t: np.ndarray) -> np.ndarray:
        breath = 2 * np.pi * self.scenario.patient.respiration_rate / 60.0
        rsa = RSA_BPM * np.sin(breath * t + self._resp_phase)
        return np.maximum(np.asarray(self.mean_heart_rate(t)) + rsa, 15.0)

    def beat_phase(self, t: np.ndarray) -> np.ndarray:
        """Beats elapsed since t = 0 (fractional): the integral of the instantaneous heart rate."""
        t = np.maximum(np.asarray(t, dtype=float), 0.0)
        with self._grid_lock:
            end = float(t.max()) if t.size else 0.0
            if end >= self._grid_t[-1]:
                self._extend_grid(end)
            grid_t, grid_phase = self._grid_t, self._grid_phase
        return np.interp(t, grid_t, grid_phase)

    def _extend_grid(self, until_s: float) -> None:
        start = self._grid_t[-1]
        stop = start + BEAT_GRID_BLOCK_S * math.ceil((until_s - start + BEAT_GRID_S) / BEAT_GRID_BLOCK_S)
        new_t = np.arange(1, round((stop - start) / BEAT_GRID_S) + 1) * BEAT_GRID_S + start
        mid = new_t - BEAT_GRID_S / 2  # midpoint rule for the integral
        new_phase = self._grid_phase[-1] + np.cumsum(self._instant_heart_rate(mid) / 60.0 * BEAT_GRID_S)
        self._grid_t = np.concatenate([self._grid_t, new_t])
        self._grid_phase = np.concatenate([self._grid_phase, new_phase])

    def perfusion_index(self, t: float | np.ndarray) -> float | np.ndarray:
        base = self.scenario.patient.perfusion_index
        out = np.maximum(0.05, base * (1.0 + PI_WANDER * np.asarray(_slow_wave(t, self._pi_wander))))
        return float(out) if out.ndim == 0 else out

    def vitals(self, t_s: float) -> VitalsSnapshot:
        ep, p = self._episodes, self.scenario.patient
        connected = not ep.active("disconnect", t_s)
        if ep.active("sensor_off", t_s):
            return VitalsSnapshot(None, None, None, None, None, None, sensor_off=True, connected=connected)
        spo2 = p.spo2 + SPO2_WANDER * float(_slow_wave(t_s, self._spo2_wander))
        spo2 = min(100.0, float(ep.blend(("desaturation",), t_s, spo2)))
        k = float(ketamine_response(self._since_dose(t_s)))
        cycle = BP_CYCLE_MMHG * float(_slow_wave(t_s, self._bp_cycle))
        surge = sum(
            float(ep.strength(e, t_s)) * (e.value or 0.0) for e in ep.episodes if e.kind == "bp_surge"
        )
        systolic = p.systolic + p.ketamine_systolic_rise * k + cycle + surge
        diastolic = p.diastolic + p.ketamine_diastolic_rise * k + 0.6 * cycle + 0.6 * surge
        return VitalsSnapshot(
            spo2=spo2,
            pulse_rate=float(self.mean_heart_rate(t_s)),
            perfusion_index=float(self.perfusion_index(t_s)),
            systolic=systolic,
            diastolic=diastolic,
            mean=diastolic + (systolic - diastolic) / 3.0,
            artifact=ep.active("artifact", t_s),
            connected=connected,
        )

    # -- the pleth -------------------------------------------------------------------------------------------

    def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
        """``n`` samples from ``t0_s``, 0.0 (trough) .. 1.0 (peak); the pulse's height follows perfusion."""
        t = t0_s + np.arange(n) / rate_hz
        phase = self.beat_phase(t)
        beat = np.floor(phase)
        within = phase - beat
        salt = self._shape_salt
        dicrotic = 0.28 + 0.14 * _beat_hash(beat, salt)
        systole = 0.16 + 0.03 * _beat_hash(beat, salt + 1)
        height = 0.93 + 0.07 * _beat_hash(beat, salt + 2)
        shape = height * pulse_shape(within, dicrotic, systole)
        amplitude = np.clip(0.3 + 0.14 * np.asarray(self.perfusion_index(t)), 0.15, 0.92)
        breath = 2 * np.pi * self.scenario.patient.respiration_rate / 60.0
        baseline = (1.0 - amplitude) / 2 + 0.03 * np.sin(breath * t + self._resp_phase + 1.0)
        out = baseline + amplitude * shape
        ep = self._episodes
        if ep.active("sensor_off", t0_s):
            return np.zeros(n)
        if ep.active("artifact", t0_s):
            out = out + self._motion(t)
        return np.clip(out, 0.0, 1.0)

    def _motion(self, t: np.ndarray) -> np.ndarray:
        """Motion artifact: large irregular swings a few times a second over the pulse."""
        swing = 0.25 * np.sin(2 * np.pi * 1.3 * t + 0.7) + 0.18 * np.sin(2 * np.pi * 3.1 * t + 2.0)
        return swing + 0.1 * (_beat_hash(np.round(t * 50), self._shape_salt + 3) - 0.5)
