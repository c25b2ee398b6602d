"""The CSV export read back with the csv module: values and ISO times match the database row for row."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from export_session import (
    CUFF,
    DURATION_S,
    FIRST_SPRAY_S,
    GAP,
    OXIMETER,
    T0,
    RecordedSession,
    S,
    pleth_sample,
    record_session,
)
from sqlalchemy import text

from kapmonitor.core.clock import from_iso, iso
from kapmonitor.export.csv_export import csv_paths, iso_many, write_csv
from kapmonitor.store.db import engine_for


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> RecordedSession:
    return record_session(tmp_path_factory.mktemp("export-csv"))


@pytest.fixture(scope="module")
def files(recorded: RecordedSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    engine = engine_for(recorded.url)
    try:
        written = write_csv(recorded.load(engine), tmp_path_factory.mktemp("csv-out") / "visit.csv")
    finally:
        engine.dispose()
    return dict(zip(("long", "1hz", "waves"), written, strict=True))


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def db_numerics(url: str) -> list[tuple[str, str, int, float | None, str]]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return [
                tuple(r)  # type: ignore[misc]
                for r in conn.execute(
                    text(
                        "SELECT d.device, n.metric, n.t_us, n.value, n.flags FROM numeric_reading n "
                        "JOIN device d ON d.id = n.device_id ORDER BY n.t_us, d.device, n.metric"
                    )
                )
            ]
    finally:
        engine.dispose()


def test_paths_for_a_directory_or_a_base(tmp_path: Path) -> None:
    assert csv_paths(tmp_path, 7)["long"] == tmp_path / "session-7-long.csv"
    assert csv_paths(tmp_path / "visit.csv", 7)["1hz"] == tmp_path / "visit-1hz.csv"
    assert csv_paths(tmp_path / "visit", 7)["waves"] == tmp_path / "visit-waves.csv"


def test_long_format_has_every_reading_with_its_time_value_and_flags(
    recorded: RecordedSession, files: dict[str, Path]
) -> None:
    numeric = [r for r in rows(files["long"]) if r["kind"] == "numeric"]
    stored = db_numerics(recorded.url)
    assert len(numeric) == len(stored)
    got = sorted((r["device"], r["metric"], r["time"], r["value"], r["flags"]) for r in numeric)
    want = sorted((d, m, iso(t), "" if v is None else f"{v:.10g}", f) for d, m, t, v, f in stored)
    assert got == want
    units = {r["metric"]: r["unit"] for r in numeric}
    assert units == {
        "spo2": "%",
        "pulse_rate": "bpm",
        "nibp_systolic": "mmHg",
        "nibp_diastolic": "mmHg",
        "nibp_mean": "mmHg",
    }


def test_long_format_times_carry_an_offset_and_are_in_order(files: dict[str, Path]) -> None:
    times = [r["time"] for r in rows(files["long"])]
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
        (OXIMETER, "spo2_low", "95"),
        (OXIMETER, "spo2_low", ""),
    ]
    assert [r["metric"] for r in table if r["kind"] == "link"] == ["connected", "disconnected", "connected"]


def test_wide_table_is_one_row_per_second_with_values_carried_under_10_s(files: dict[str, Path]) -> None:
    table = rows(files["1hz"])
    spo2 = f"spo2 (%) {OXIMETER}"
    systolic = f"nibp_systolic (mmHg) {CUFF}"
    seconds = [from_iso(r["time"]) for r in table]
    assert seconds == [T0 + i * S for i in range(DURATION_S)]
    by_second = {(from_iso(r["time"]) - T0) // S: r for r in table}
    assert by_second[5][spo2] == "97"
    assert by_second[1300][spo2] == ""  # the device said "no value": not carried over from before
    # The 30-s gap: the last reading is carried for 9 s, then the cells stay empty until data returns.
    assert by_second[GAP[0] + 8][spo2] == "97"
    assert all(by_second[s][spo2] == "" for s in range(GAP[0] + 9, GAP[1]))
    assert by_second[GAP[1]][spo2] == "97"
    # NIBP every 5 min: shown for 10 s after each measurement, never bridged to the next.
    assert by_second[60][systolic] == "128" and by_second[69][systolic] == "128"
    assert by_second[70][systolic] == "" and by_second[359][systolic] == ""


def test_waves_file_has_every_pleth_sample_at_its_time(recorded: RecordedSession, files: dict[str, Path]) -> None:
    table = rows(files["waves"])
    expected = (DURATION_S - (GAP[1] - GAP[0])) * 75
    assert len(table) == expected
    assert [int(r["value"]) for r in table[:200]] == [pleth_sample(i) for i in range(200)]
    assert {r["rate_hz"] for r in table} == {"75"}
    first = from_iso(table[0]["time"])
    assert from_iso(table[75]["time"]) - first == pytest.approx(S, abs=1000)


def test_many_times_format_exactly_as_one_at_a_time() -> None:
    times = [T0 + k * 13_333 for k in range(300)] + [T0 - 1, T0 + 999_999, 1_700_000_000_000_123]
    assert iso_many(times) == [iso(t) for t in times]
