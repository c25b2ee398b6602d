"""The simulated patient: pulse shape and timing, oximetry ranges, the ketamine BP response, episodes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.devices.simulation.physiology import PhysiologicalModel, ketamine_response
from kapmonitor.devices.simulation.scenario import Episode, PatientBaseline, Scenario

RATE = 100.0


def scenario(episodes: tuple[Episode, ...] = (), **patient: float) -> Scenario:
    return Scenario(patient=PatientBaseline(**patient), episodes=episodes)


def systolic_peaks(x: np.ndarray, rate: float) -> np.ndarray:
    """Indices of the main pulse peaks: highest within +-0.3 s and in the top 40 % of the local swing."""
    w, span = int(0.3 * rate), int(1.0 * rate)
    found = []
    for i in range(span, len(x) - span):
        local = x[i - span : i + span]
        if x[i] == x[i - w : i + w + 1].max() and x[i] > local.min() + 0.6 * np.ptp(local):
            found.append(i)
    return np.array(found)


def strict_local_maxima(x: np.ndarray) -> int:
    return int(np.sum((x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])))


def test_the_pleth_has_one_pulse_per_beat_at_the_set_heart_rate() -> None:
    model = PhysiologicalModel(scenario(pulse_rate=60, ketamine_pulse_rise=0), seed=3)
    x = model.pleth(100.0, int(60 * RATE), RATE)
    peaks = systolic_peaks(x, RATE)
    beats_in_window = model.beat_phase(np.array([159.0]))[0] - model.beat_phase(np.array([101.0]))[0]
    assert abs(len(peaks) - beats_in_window) <= 1.5
    assert 52 <= len(peaks) <= 64  # 60 bpm, give or take sinus arrhythmia and drift
    intervals = np.diff(peaks) / RATE
    assert intervals.min() > 0.8 and intervals.max() < 1.25
    assert intervals.std() > 0.005  # heart-rate variability: beats are not metronomic


def test_every_beat_has_a_dicrotic_notch_between_its_peak_and_the_next_upstroke() -> None:
    model = PhysiologicalModel(scenario(pulse_rate=70), seed=1)
    x = model.pleth(30.0, int(20 * RATE), RATE)
    peaks = systolic_peaks(x, RATE)
    assert len(peaks) >= 18
    for a, b in zip(peaks[:-1], peaks[1:], strict=True):
        beat = x[a:b]
        assert strict_local_maxima(beat) >= 1  # the dicrotic wave after the notch
        notch = a + int(np.argmin(beat[: len(beat) // 2]))
        assert x[notch] < x[a] and x[notch] > beat.min()  # the notch sits above the diastolic trough


def test_pulse_height_follows_perfusion() -> None:
    weak = PhysiologicalModel(scenario(perfusion_index=0.5)).pleth(0.0, 1000, RATE)
    strong = PhysiologicalModel(scenario(perfusion_index=6.0)).pleth(0.0, 1000, RATE)
    assert np.ptp(strong) > 1.5 * np.ptp(weak)
    assert strong.min() >= 0.0 and strong.max() <= 1.0


def test_a_seed_gives_the_same_patient_and_another_seed_a_different_one() -> None:
    a = PhysiologicalModel(seed=7).pleth(12.0, 500, 75.0)
    b = PhysiologicalModel(seed=7).pleth(12.0, 500, 75.0)
    c = PhysiologicalModel(seed=8).pleth(12.0, 500, 75.0)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


@settings(max_examples=30, deadline=None)
@given(t0=st.floats(0, 3000), first=st.integers(1, 200), second=st.integers(1, 200))
def test_pleth_chunks_join_without_a_seam(t0: float, first: int, second: int) -> None:
    model = PhysiologicalModel(seed=2)
    whole = model.pleth(t0, first + second, 75.0)
    joined = np.concatenate([model.pleth(t0, first, 75.0), model.pleth(t0 + first / 75.0, second, 75.0)])
    assert np.allclose(whole, joined, atol=1e-9)


def test_oximetry_stays_in_a_healthy_range_over_two_hours() -> None:
    model = PhysiologicalModel(scenario(spo2=98, perfusion_index=3.0), seed=5)
    snaps = [model.vitals(t) for t in np.arange(0, 7200, 10.0)]
    spo2 = np.array([s.spo2 for s in snaps])
    pi = np.array([s.perfusion_index for s in snaps])
    assert spo2.min() >= 97.0 and spo2.max() <= 99.0
    assert np.ptp(spo2) > 0.5  # it wanders
    assert pi.min() >= 1.0 and pi.max() <= 5.0


def test_blood_pressure_rises_about_16_over_11_at_40_minutes_after_the_dose_and_settles() -> None:
    model = PhysiologicalModel(scenario(systolic=120, diastolic=80, dose_at_s=600), seed=4)

    def mean_bp(start: float, stop: float) -> tuple[float, float]:
        snaps = [model.vitals(t) for t in np.arange(start, stop, 5.0)]
        return float(np.mean([s.systolic for s in snaps])), float(np.mean([s.diastolic for s in snaps]))

    sys0, dia0 = 120.0, 80.0
    sys40, dia40 = mean_bp(600 + 35 * 60, 600 + 45 * 60)
    assert 12 <= sys40 - sys0 <= 20
    assert 7 <= dia40 - dia0 <= 14
    sys4h, _ = mean_bp(600 + 4 * 3600, 600 + 4 * 3600 + 600)
    assert abs(sys4h - sys0) < 4
    before, _ = mean_bp(0, 600)
    assert abs(before - sys0) < 4
    assert model.vitals(900).mean == pytest.approx(
        model.vitals(900).diastolic + (model.vitals(900).systolic - model.vitals(900).diastolic) / 3
    )


def test_the_ketamine_response_peaks_at_40_minutes() -> None:
    t = np.arange(0, 4 * 3600, 60.0)
    assert t[np.argmax(ketamine_response(t))] == 40 * 60
    assert ketamine_response(-100.0) == 0.0


def test_a_desaturation_reaches_its_value_and_comes_back() -> None:
    dip = Episode("desaturation", start_s=100, duration_s=120, value=85)
    model = PhysiologicalModel(scenario((dip,), spo2=98))
    assert model.vitals(160).spo2 == pytest.approx(85, abs=0.2)
    assert 85 < model.vitals(110).spo2 < 97  # on the way down
    assert model.vitals(260).spo2 >= 96


def test_a_sensor_off_episode_reports_no_values_and_a_flat_pleth() -> None:
    off = Episode("sensor_off", start_s=50, duration_s=10)
    model = PhysiologicalModel(scenario((off,)))
    snap = model.vitals(55)
    assert snap.sensor_off
    assert (snap.spo2, snap.pulse_rate, snap.perfusion_index, snap.systolic) == (None, None, None, None)
    assert not model.pleth(55, 75, 75.0).any()
    assert model.vitals(61).spo2 is not None


def test_artifact_disconnect_and_pulse_episodes() -> None:
    episodes = (
        Episode("artifact", 10, 5),
        Episode("disconnect", 20, 5),
        Episode("bradycardia", 100, 60, 40),
        Episode("tachycardia", 200, 60, 130),
        Episode("bp_surge", 300, 300, 30),
    )
    model = PhysiologicalModel(scenario(episodes, systolic=120, diastolic=80, dose_at_s=10**6))
    assert model.vitals(12).artifact and not model.vitals(16).artifact
    assert not model.vitals(22).connected and model.vitals(26).connected
    assert model.vitals(130).pulse_rate == pytest.approx(40, abs=0.5)
    assert model.vitals(230).pulse_rate == pytest.approx(130, abs=0.5)
    assert model.vitals(450).systolic == pytest.approx(150, abs=4)
    assert model.vitals(450).diastolic == pytest.approx(98, abs=3)
    calm = model.pleth(30, 300, RATE)
    moving = model.pleth(11, 300, RATE)
    assert np.abs(np.diff(moving)).sum() > np.abs(np.diff(calm)).sum()


def test_an_episode_scoped_to_one_device_reaches_only_that_device() -> None:
    off = Episode("sensor_off", 0, 100, device="nonin-df7")
    model = PhysiologicalModel(scenario((off,)))
    assert model.for_device("nonin-df7").vitals(5).sensor_off
    assert not model.for_device("suntech-advantage").vitals(5).sensor_off
    assert model.vitals(5).sensor_off  # a model not told its device sees every episode
    assert model.for_device("x").vitals(500).spo2 == model.vitals(500).spo2  # the same patient
