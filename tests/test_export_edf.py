"""The EDF+ export read back with pyedflib's reader: one file per continuous stretch, values within one
quantisation step, annotations at the entries' times."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pyedflib
import pytest
from export_session import (
    DURATION_S,
    FIRST_SPRAY_S,
    GAP,
    PATIENT,
    T0,
    RecordedSession,
    S,
    bp_at,
    pleth_sample,
    pulse_at,
    record_session,
    spo2_at,
)

from kapmonitor.export.edf_export import NO_DATA, digital, edf_paths, physical_range, write_edf
from kapmonitor.export.loader import SessionData, WaveTrack
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.db import engine_for


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionData]:
    recorded: RecordedSession = record_session(tmp_path_factory.mktemp("export-edf"))
    engine = engine_for(recorded.url)
    yield recorded.load(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def files(data: SessionData, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_edf(data, tmp_path_factory.mktemp("edf-out") / "visit.edf")


class Opened:
    def __init__(self, path: Path) -> None:
        self.reader = pyedflib.EdfReader(str(path))
        self.labels = self.reader.getSignalLabels()

    def signal(self, label: str) -> np.ndarray:
        return self.reader.readSignal(self.labels.index(label))

    def digital(self, label: str) -> np.ndarray:
        return self.reader.readSignal(self.labels.index(label), digital=True)

    def step(self, label: str) -> float:
        i = self.labels.index(label)
        return (self.reader.getPhysicalMaximum(i) - self.reader.getPhysicalMinimum(i)) / 65535


@pytest.fixture
def opened(files: list[Path]) -> Iterator[list[Opened]]:
    found = [Opened(p) for p in files]
    yield found
    for f in found:
        f.reader.close()


def test_a_gap_gives_two_files_that_start_at_their_own_times(files: list[Path], opened: list[Opened]) -> None:
    assert [p.name for p in files] == ["visit-1.edf", "visit-2.edf"]
    first, second = (f.reader for f in opened)
    assert first.getStartdatetime() == datetime.fromtimestamp(T0 / S)
    assert second.getStartdatetime() == datetime.fromtimestamp(T0 / S + GAP[1])
    assert first.getFileDuration() == GAP[0]
    assert second.getFileDuration() == DURATION_S - GAP[1]
    assert first.getPatientCode() == PATIENT
    assert first.getTechnician() == "R. Ortiz"  # EDF+ writes spaces as underscores


def test_channels_are_pleth_at_its_rate_and_numerics_at_1_hz(opened: list[Opened]) -> None:
    reader = opened[0].reader
    rates = dict(zip(opened[0].labels, reader.getSampleFrequencies().tolist(), strict=True))
    assert rates == {"Pulse": 1, "SpO2": 1, "NIBP dia": 1, "NIBP mean": 1, "NIBP sys": 1, "Pleth": 75}
    for i in range(reader.signals_in_file):
        assert (reader.getDigitalMinimum(i), reader.getDigitalMaximum(i)) == (-32768, 32767)


def test_numerics_read_back_within_one_quantisation_step(opened: list[Opened]) -> None:
    for part, offset in ((opened[0], 0), (opened[1], GAP[1])):
        spo2, pulse = part.signal("SpO2"), part.signal("Pulse")
        seconds = np.arange(len(spo2)) + offset
        ok = seconds != 1300  # the reading without a value
        assert spo2[ok] == pytest.approx([spo2_at(s) for s in seconds[ok]], abs=part.step("SpO2"))
        assert pulse == pytest.approx([pulse_at(s) for s in seconds], abs=part.step("Pulse"))


def test_a_missing_value_is_the_digital_minimum_and_nibp_is_not_bridged(opened: list[Opened]) -> None:
    second = opened[1]
    spo2 = second.digital("SpO2")
    assert spo2[1300 - GAP[1]] == NO_DATA
    assert (spo2[np.arange(len(spo2)) != 1300 - GAP[1]] > NO_DATA).all()
    systolic = opened[0].digital("NIBP sys")
    shown = np.flatnonzero(systolic > NO_DATA)
    assert shown.tolist() == [s for t in (60, 360) for s in range(t, t + 10)]
    assert opened[0].signal("NIBP sys")[60] == pytest.approx(bp_at(60)[0], abs=opened[0].step("NIBP sys"))


def test_pleth_samples_are_placed_at_their_times(opened: list[Opened]) -> None:
    first, second = opened[0].signal("Pleth"), opened[1].signal("Pleth")
    assert len(first) == GAP[0] * 75
    step = opened[0].step("Pleth")
    assert first == pytest.approx([pleth_sample(i) for i in range(len(first))], abs=step)
    count = GAP[0] * 75
    # The second stretch's clock re-anchored after the gap: its samples start within a chunk of the file start.
    valid = np.flatnonzero(opened[1].digital("Pleth") > NO_DATA)
    assert valid[0] < 25
    assert second[valid[0] : valid[0] + 500] == pytest.approx(
        [pleth_sample(count + i) for i in range(500)], abs=opened[1].step("Pleth")
    )


def test_annotations_mark_doses_ratings_notes_and_alarms_at_their_times(opened: list[Opened]) -> None:
    onsets, _, texts = opened[0].reader.readAnnotations()
    found = dict(zip(texts.tolist(), onsets.tolist(), strict=True))
    assert found["dose: esketamine 28 mg lot LOT-A1"] == pytest.approx(FIRST_SPRAY_S)
    assert found["dose: esketamine 28 mg lot LOT-B2"] == pytest.approx(FIRST_SPRAY_S + 300)
    assert found["rating: moaas 5"] == pytest.approx(90)
    assert found["NIBP 128/82 mmHg"] == pytest.approx(60)
    # The note typed during the gap stays with the stretch before it, at its own time.
    assert found["note: Probe off while the patient adjust"] == pytest.approx(615)
    onsets, _, texts = opened[1].reader.readAnnotations()
    later = dict(zip(texts.tolist(), onsets.tolist(), strict=True))
    assert later["alarm: spo2_low active (medium)"] == pytest.approx(1500 - GAP[1])
    assert later["rating: cadss 8"] == pytest.approx(2520 - GAP[1])
    assert later["discharged: patient discharged"] == pytest.approx(2640 - GAP[1])


def test_physical_range_leaves_the_digital_minimum_for_no_data() -> None:
    values = np.array([95.0, 97.0, np.nan, 99.0])
    low, high = physical_range(values)
    coded = digital(values, low, high)
    assert coded[2] == NO_DATA and (coded[[0, 1, 3]] > NO_DATA).all()
    assert physical_range(np.array([np.nan])) == (-1.0, 1.0)


def test_one_stretch_writes_exactly_the_path_given(tmp_path: Path) -> None:
    assert edf_paths(tmp_path / "a.edf", 1) == [tmp_path / "a.edf"]
    assert edf_paths(tmp_path / "a", 2) == [tmp_path / "a-1.edf", tmp_path / "a-2.edf"]


def test_a_rate_change_gets_its_own_channel_and_odd_rates_a_longer_record(data: SessionData, tmp_path: Path) -> None:
    chunks = (np.arange(75, dtype=np.int32), np.arange(125, dtype=np.int32))
    wave = WaveTrack(
        "masimo-ascii@sim", "pleth", np.array([T0, T0 + S], dtype=np.int64), np.array([75.0, 62.5]), chunks, ("", "")
    )
    mixed = dataclasses.replace(data, numerics=(), waves=(wave,), record=SessionRecord())
    (path,) = write_edf(mixed, tmp_path / "mixed.edf")
    reader = pyedflib.EdfReader(str(path))
    try:
        assert reader.getSignalLabels() == ["Pleth", "Pleth 2"]
        assert reader.getSampleFrequencies().tolist() == [62.5, 75.0]
        assert reader.datarecord_duration == 2  # 62.5 Hz fits whole samples only into 2-s records
        at_75 = reader.readSignal(1, digital=True)
        assert (at_75[:75] > NO_DATA).all() and set(at_75[75:].tolist()) == {NO_DATA}
        assert reader.readSignal(0)[62:187] == pytest.approx(np.arange(125), abs=reader.getPhysicalMaximum(0) / 30000)
    finally:
        reader.close()
