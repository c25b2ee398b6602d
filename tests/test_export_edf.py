"""The EDF+ export read back with pyedflib's reader: every sample is a measured value (no part holds a second
a signal did not measure), one EDF+C file per part starting at its own time, NIBP as annotations, values within
one quantisation step of what `sessions show --json` and the recording hold."""

from __future__ import annotations

import dataclasses
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyedflib
import pytest
from export_session import (
    BP_TIMES_S,
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

from kapmonitor.export.edf_export import EdfPartsNeedAFolder, physical_range, write_edf
from kapmonitor.export.loader import NumericTrack, SessionData, WaveTrack
from kapmonitor.export.resample import nearest
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.audit import parse_head
from kapmonitor.store.db import engine_for


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionData]:
    recorded: RecordedSession = record_session(tmp_path_factory.mktemp("export-edf"))
    engine = engine_for(recorded.url)
    yield recorded.load(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def files(data: SessionData, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_edf(data, tmp_path_factory.mktemp("edf-out") / "visit")


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


def start_of(opened: Opened) -> float:
    return opened.reader.getStartdatetime().timestamp() - T0 / S  # seconds after T0


def test_parts_start_at_their_own_times_and_cover_only_measured_seconds(
    files: list[Path], opened: list[Opened]
) -> None:
    assert [p.name for p in files] == [f"session-1-{k}.edf" for k in range(1, 5)]
    spans = [(round(start_of(o)), o.reader.getFileDuration(), o.labels) for o in opened]
    assert spans == [
        (0, GAP[0], ["Pulse", "SpO2", "Pleth"]),  # until the finger came out of the probe
        (GAP[1], 1300 - GAP[1], ["Pulse", "SpO2", "Pleth"]),
        (1300, 1, ["Pulse", "Pleth"]),  # the SpO2 reading without a value: no SpO2 sample that second
        (1301, DURATION_S - 1301, ["Pulse", "SpO2", "Pleth"]),
    ]
    first = opened[0].reader
    assert first.getPatientCode() == PATIENT
    assert first.getTechnician() == "R. Ortiz"  # EDF+ writes spaces as underscores


def test_pleth_is_at_its_rate_numerics_at_1_hz_and_nibp_is_no_signal(opened: list[Opened]) -> None:
    reader = opened[0].reader
    rates = dict(zip(opened[0].labels, reader.getSampleFrequencies().tolist(), strict=True))
    assert rates == {"Pulse": 1, "SpO2": 1, "Pleth": 75}


def test_every_sample_read_back_is_the_value_measured_at_its_time(opened: list[Opened]) -> None:
    for part in opened:
        offset = round(start_of(part))
        pulse = part.signal("Pulse")
        seconds = np.arange(len(pulse)) + offset
        assert pulse == pytest.approx([pulse_at(s) for s in seconds], abs=part.step("Pulse"))
        if "SpO2" in part.labels:
            assert part.signal("SpO2") == pytest.approx([spo2_at(s) for s in seconds], abs=part.step("SpO2"))


def test_no_second_of_the_gap_is_in_any_part(opened: list[Opened]) -> None:
    for part in opened:
        start = start_of(part)
        end = start + part.reader.getFileDuration()
        assert end <= GAP[0] or start >= GAP[1]


def test_pleth_samples_are_placed_at_their_times(opened: list[Opened]) -> None:
    first = opened[0].signal("Pleth")
    assert len(first) == GAP[0] * 75
    assert first == pytest.approx([pleth_sample(i) for i in range(len(first))], abs=opened[0].step("Pleth"))
    second = opened[1].signal("Pleth")
    count = GAP[0] * 75  # the samples before the gap; after it the clock re-anchored at its own arrival
    assert second[:500] == pytest.approx([pleth_sample(count + i) for i in range(500)], abs=opened[1].step("Pleth"))


def annotations(opened: Opened) -> dict[str, float]:
    onsets, _, texts = opened.reader.readAnnotations()
    return {t: round(start_of(opened) + o, 3) for t, o in zip(texts.tolist(), onsets.tolist(), strict=True)}


def test_nibp_measurements_are_annotations_at_their_times(opened: list[Opened]) -> None:
    found: dict[str, list[float]] = {}
    for part in opened:
        onsets, _, texts = part.reader.readAnnotations()
        for text, onset in zip(texts.tolist(), onsets.tolist(), strict=True):
            if text.startswith("NIBP"):
                found.setdefault(text, []).append(round(start_of(part) + onset))
    expected: dict[str, list[float]] = {}
    for t in BP_TIMES_S:
        sys, dia, _ = bp_at(t)
        expected.setdefault(f"NIBP {sys:g}/{dia:g} mmHg", []).append(t)
    assert found == expected


def test_annotations_mark_doses_ratings_notes_and_alarms_at_their_times(opened: list[Opened]) -> None:
    first = annotations(opened[0])
    assert first["dose: esketamine 28 mg lot LOT-A1"] == FIRST_SPRAY_S
    assert first["dose: esketamine 28 mg lot LOT-B2"] == FIRST_SPRAY_S + 300
    assert first["rating: MOAA/S 5"] == 90
    assert first["note: Probe off while the patient adjust"] == 615  # typed in the gap: in the part before it
    last = annotations(opened[3])
    assert last["alarm: spo2_low active (medium)"] == 1500
    assert last["rating: CADSS 8"] == 2520
    assert last["discharged: patient discharged"] == 2640


def test_a_path_ending_in_edf_is_refused_when_there_are_several_parts(data: SessionData, tmp_path: Path) -> None:
    with pytest.raises(EdfPartsNeedAFolder, match="4 parts .* give --out a folder or a .zip"):
        write_edf(data, tmp_path / "visit.edf")
    assert list(tmp_path.iterdir()) == []


def test_a_zip_holds_the_parts(data: SessionData, tmp_path: Path) -> None:
    (archive,) = write_edf(data, tmp_path / "visit.zip")
    with zipfile.ZipFile(archive) as z:
        assert z.namelist() == [f"session-{data.info.id}-{k}.edf" for k in range(1, 5)]
    assert list(tmp_path.iterdir()) == [archive]


def before(track: NumericTrack, end_us: int) -> NumericTrack:
    keep = track.t_us < end_us
    flags = tuple(f for f, k in zip(track.flags, keep.tolist(), strict=True) if k)
    return NumericTrack(track.device, track.metric, track.t_us[keep], track.values[keep], flags)


def wave_before(wave: WaveTrack, end_us: int) -> WaveTrack:
    ends = wave.starts_us + np.array([len(c) for c in wave.chunks]) * S / wave.rates_hz
    n = int(np.count_nonzero(ends <= end_us))
    return WaveTrack(wave.device, wave.metric, wave.starts_us[:n], wave.rates_hz[:n], wave.chunks[:n], wave.flags[:n])


def test_one_part_writes_exactly_the_path_given_with_the_audit_head(data: SessionData, tmp_path: Path) -> None:
    before_gap = dataclasses.replace(
        data,
        numerics=tuple(before(t, T0 + 589 * S) for t in data.numerics),  # readings until 588 s
        waves=tuple(wave_before(w, T0 + 589 * S) for w in data.waves),  # pleth through 588.99 s
        audit_head="57:" + "3f" * 32,
    )
    (path,) = write_edf(before_gap, tmp_path / "a.edf")
    assert path == tmp_path / "a.edf"
    reader = pyedflib.EdfReader(str(path))
    try:
        _, _, texts = reader.readAnnotations()
        assert "audit head 57:" + "3f" * 13 in texts.tolist()  # 40 characters, edflib's most
    finally:
        reader.close()


@pytest.mark.parametrize("seq", [57, 123_456_789, 1_234_567_890, 999_999_999_999, 1_234_567_890_123])
def test_the_audit_head_read_back_keeps_16_hex_digits_whatever_its_sequence_number(
    data: SessionData, tmp_path: Path, seq: int
) -> None:
    digest = "0123456789abcdef" * 4
    short = dataclasses.replace(
        data,
        numerics=tuple(before(t, T0 + 589 * S) for t in data.numerics),
        waves=tuple(wave_before(w, T0 + 589 * S) for w in data.waves),
        audit_head=f"{seq}:{digest}",
    )
    (path,) = write_edf(short, tmp_path / "a.edf")
    reader = pyedflib.EdfReader(str(path))
    try:
        _, _, texts = reader.readAnnotations()
    finally:
        reader.close()
    (printed,) = [t for t in texts.tolist() if t.startswith(("audit head ", f"{seq}:"))]
    assert len(printed) <= 40
    read_seq, read_digest = parse_head(printed.removeprefix("audit head "))
    assert read_seq == seq and len(read_digest) >= 16 and digest.startswith(read_digest)


def test_a_reading_is_a_sample_only_within_a_second_of_it() -> None:
    times = np.array([0, 1_020_000, 1_990_000, 5_000_000])
    track = NumericTrack("oximeter", "spo2", times, np.array([97.0, 96.0, np.nan, 95.0]), ("", "", "sensor_off", ""))
    grid = np.arange(7, dtype=np.int64) * S
    held = nearest(track, grid)
    assert held[:2].tolist() == [97.0, 96.0]
    assert np.isnan(held[2:5]).all()  # "no value" at 2 s; nothing measured at 3 and 4 s
    assert held[5] == 95.0 and np.isnan(held[6])
    assert physical_range(np.array([np.nan])) == (-1.0, 1.0)


def test_a_rate_change_gets_its_own_channel_and_odd_rates_a_longer_record(data: SessionData, tmp_path: Path) -> None:
    chunks = (np.arange(150, dtype=np.int32), np.arange(125, dtype=np.int32))
    wave = WaveTrack(
        "masimo-ascii@sim", "pleth", np.array([T0, T0 + 2 * S], dtype=np.int64), np.array([75.0, 62.5]), chunks,
        ("", ""),
    )
    mixed = dataclasses.replace(data, numerics=(), waves=(wave,), record=SessionRecord())
    paths = write_edf(mixed, tmp_path / "mixed")
    readers = [pyedflib.EdfReader(str(p)) for p in paths]
    try:
        assert [r.getSignalLabels() for r in readers] == [["Pleth 2"], ["Pleth"]]
        assert [r.getSampleFrequencies().tolist() for r in readers] == [[75.0], [62.5]]
        assert readers[0].datarecord_duration == 2  # 62.5 Hz fits whole samples only into 2-s records
        assert readers[0].readSignal(0) == pytest.approx(np.arange(150), abs=150 / 30000)
        assert readers[1].readSignal(0)[:125] == pytest.approx(np.arange(125), abs=125 / 30000)
    finally:
        for r in readers:
            r.close()
