"""The CSV export read back with the csv module: values and ISO times match the database row for row, columns
name the metric, unit and device model, --out is exactly what is written, and no cell runs as a formula."""

from __future__ import annotations

import csv
import dataclasses
import zipfile
from pathlib import Path

import pytest
from export_session import (
    CUFF,
    DURATION_S,
    FIRST_SPRAY_S,
    GAP,
    OXIMETER,
    PATIENT,
    T0,
    RecordedSession,
    S,
    pleth_sample,
    record_session,
)
from store_fakes import stored_readings

from kapmonitor.core.clock import from_iso, iso
from kapmonitor.export.csv_export import iso_many, number, write_csv
from kapmonitor.export.csv_export import text as csv_text
from kapmonitor.session.entries import BolusDose, Note
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.db import engine_for

MODELS = {OXIMETER: "Nonin oximeter", CUFF: "SunTech Advantage"}
WORDS = {"spo2": "SpO2", "pulse_rate": "Pulse", "nibp_systolic": "Systolic", "nibp_diastolic": "Diastolic",
         "nibp_mean": "Mean"}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> RecordedSession:
    return record_session(tmp_path_factory.mktemp("export-csv"))


@pytest.fixture(scope="module")
def files(recorded: RecordedSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    engine = engine_for(recorded.url)
    try:
        written = write_csv(recorded.load(engine), tmp_path_factory.mktemp("csv-out") / "visit")
    finally:
        engine.dispose()
    return dict(zip(("long", "1hz", "waves"), written, strict=True))


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def db_numerics(url: str) -> list[tuple[str, str, int, float | None, str]]:
    """Every stored reading, staged or packed into blocks (the recorder packs a session when it ends)."""
    engine = engine_for(url)
    try:
        return [(r.device, r.metric, r.t_us, r.value, r.flags) for r in stored_readings(engine)]
    finally:
        engine.dispose()


def test_long_format_has_every_reading_with_its_time_value_and_flags(
    recorded: RecordedSession, files: dict[str, Path]
) -> None:
    numeric = [r for r in rows(files["long"]) if r["kind"] == "numeric"]
    stored = db_numerics(recorded.url)
    assert len(numeric) == len(stored)
    got = sorted((r["device"], r["metric"], r["time"], r["value"], r["flags"]) for r in numeric)
    want = sorted((MODELS[d], WORDS[m], iso(t), "" if v is None else f"{v:.10g}", f) for d, m, t, v, f in stored)
    assert got == want
    units = {r["metric"]: r["unit"] for r in numeric}
    assert units == {"SpO2": "%", "Pulse": "bpm", "Systolic": "mmHg", "Diastolic": "mmHg", "Mean": "mmHg"}


def test_metadata_rows_name_the_session_the_audit_head_and_each_devices_address(
    recorded: RecordedSession, files: dict[str, Path]
) -> None:
    table = rows(files["long"])
    meta = [r for r in table if not r["time"]]
    assert [r["kind"] for r in meta] == ["session", "audit", "device", "device", "dose total"]
    assert meta[0]["detail"].startswith(f"session {recorded.session_id}, patient {PATIENT}, ")
    assert meta[1]["metric"] == "audit head"
    assert {(r["device"], r["detail"]) for r in meta[2:4]} == {(MODELS[OXIMETER], OXIMETER), (MODELS[CUFF], CUFF)}
    total = meta[4]  # the two 28 mg esketamine devices
    assert (total["metric"], total["value"], total["unit"]) == ("esketamine", "56", "mg")
    assert all(r["time"] for r in table[len(meta):])  # the metadata comes first, then the timed rows


def test_long_format_times_carry_an_offset_and_are_in_order(files: dict[str, Path]) -> None:
    times = [r["time"] for r in rows(files["long"]) if r["time"]]
    assert all(t[-6] in "+-" and t[-3] == ":" for t in times)
    assert [from_iso(t) for t in times] == sorted(from_iso(t) for t in times)


def test_clinical_entries_and_alarms_are_rows_too(recorded: RecordedSession, files: dict[str, Path]) -> None:
    table = rows(files["long"])
    doses = [r for r in table if r["kind"] == "dose"]
    assert [(r["time"], r["metric"], r["value"], r["unit"]) for r in doses] == [
        (iso(T0 + FIRST_SPRAY_S * S), "esketamine", "28", "mg"),
        (iso(T0 + (FIRST_SPRAY_S + 300) * S), "esketamine", "28", "mg"),
    ]
    assert "lot LOT-A1" in doses[0]["detail"] and doses[0]["author"] == "R. Ortiz"
    ratings = [(r["metric"], r["value"]) for r in table if r["kind"] == "rating"]
    assert ratings[:2] == [("moaas", "5"), ("moaas", "4")] and ("cadss", "8") in ratings
    notes = [r["detail"] for r in table if r["kind"] == "note"]
    assert notes[0] == "Probe off while the patient adjusted the eyeshades"
    alarms = [r for r in table if r["kind"] == "alarm"]
    assert [(r["device"], r["metric"], r["value"]) for r in alarms] == [
        (MODELS[OXIMETER], "spo2_low", "95"),
        (MODELS[OXIMETER], "spo2_low", ""),
    ]
    assert [r["metric"] for r in table if r["kind"] == "link"] == ["connected", "disconnected", "connected"]


def test_wide_table_is_one_row_per_second_and_shows_only_measured_values(files: dict[str, Path]) -> None:
    table = rows(files["1hz"])
    spo2 = f"SpO2 (%) {MODELS[OXIMETER]}"
    systolic = f"Systolic (mmHg) {MODELS[CUFF]}"
    addresses, data_rows = table[0], table[1:]
    assert addresses["time"] == "device" and addresses[spo2] == OXIMETER and addresses[systolic] == CUFF
    seconds = [from_iso(r["time"]) for r in data_rows]
    assert seconds == [T0 + i * S for i in range(DURATION_S)]
    by_second = {(from_iso(r["time"]) - T0) // S: r for r in data_rows}
    assert by_second[5][spo2] == "97"
    assert by_second[1300][spo2] == ""  # the device said "no value"
    assert all(by_second[s][spo2] == "" for s in range(GAP[0], GAP[1]))  # nothing carried into the gap
    assert by_second[GAP[1]][spo2] == "97"
    # NIBP every 5 min: at the second it was measured, and nowhere else.
    assert by_second[60][systolic] == "128"
    assert by_second[61][systolic] == "" and by_second[359][systolic] == ""


def test_waves_file_has_every_pleth_sample_at_its_time(recorded: RecordedSession, files: dict[str, Path]) -> None:
    table = rows(files["waves"])
    expected = (DURATION_S - (GAP[1] - GAP[0])) * 75
    assert len(table) == expected
    assert [int(r["value"]) for r in table[:200]] == [pleth_sample(i) for i in range(200)]
    assert {r["rate_hz"] for r in table} == {"75"} and {r["device"] for r in table} == {MODELS[OXIMETER]}
    first = from_iso(table[0]["time"])
    assert from_iso(table[75]["time"]) - first == pytest.approx(S, abs=1000)


def test_many_times_format_exactly_as_one_at_a_time() -> None:
    times = [T0 + k * 13_333 for k in range(300)] + [T0 - 1, T0 + 999_999, 1_700_000_000_000_123]
    assert iso_many(times) == [iso(t) for t in times]


def test_out_is_exactly_what_is_written(recorded: RecordedSession, tmp_path: Path) -> None:
    engine = engine_for(recorded.url)
    try:
        data = recorded.load(engine)
        assert write_csv(data, tmp_path / "report.csv") == [tmp_path / "report.csv"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv"]
        (archive,) = write_csv(data, tmp_path / "report.zip")
        sid = recorded.session_id
        with zipfile.ZipFile(archive) as z:
            assert z.namelist() == [f"session-{sid}-long.csv", f"session-{sid}-1hz.csv", f"session-{sid}-waves.csv"]
        folder = write_csv(data, tmp_path / "visit")
        assert [p.parent for p in folder] == [tmp_path / "visit"] * 3
        assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv", "report.zip", "visit"]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "cell", ["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "\tTAB", "\rCR", "=1+1"]
)
def test_a_cell_a_spreadsheet_would_run_is_neutralised(cell: str) -> None:
    assert csv_text(cell) == "'" + cell
    assert csv_text("calm, eyes closed") == "calm, eyes closed"
    assert number(-2.5) == "-2.5"  # numbers stay numbers


def test_injected_names_lots_and_notes_are_written_as_text(recorded: RecordedSession, tmp_path: Path) -> None:
    record = SessionRecord("im-ketamine")
    t = T0 + 100 * S
    record.add(BolusDose(t_us=t, entered_us=t, author="=HYPERLINK(\"http://evil\",\"RN\")", mg=28.0, route="im",
                         lot="=1+1"))
    record.add(Note(t_us=t + 1, entered_us=t + 1, author="@SUM(1)", text="+cmd|' /C calc'!A0"))
    engine = engine_for(recorded.url)
    try:
        data = dataclasses.replace(recorded.load(engine), record=record)
    finally:
        engine.dispose()
    (path,) = write_csv(data, tmp_path / "injected.csv")
    table = rows(path)
    dose = next(r for r in table if r["kind"] == "dose")
    note = next(r for r in table if r["kind"] == "note")
    assert dose["author"] == "'=HYPERLINK(\"http://evil\",\"RN\")" and "lot =1+1" in dose["detail"]
    assert note["author"] == "'@SUM(1)" and note["detail"] == "'+cmd|' /C calc'!A0"
    for row in table:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), row
