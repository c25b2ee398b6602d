"""`kapmonitor sessions export --deidentify`: no patient code, name or date of birth in the CSV and FHIR
files, every time moved by one whole-day shift (so intervals are unchanged), the same pseudonym for the same
salt."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest

from kapmonitor.cli import main
from kapmonitor.core.readings import LinkEvent, Reading
from kapmonitor.session.entries import BodyWeight, BolusDose, Note
from kapmonitor.session.templates import builtin_templates
from kapmonitor.store.clinical_log import ClinicalLog
from kapmonitor.store.db import open_database
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.repository import SessionRepository

S = 1_000_000
T0 = 1_763_700_000_000_000  # 2025-11-21T04:40:00Z
DEV = "nonin-df7@/dev/ttyUSB0"
CODE = "KAP-0042"
NAME, BIRTH = "Jane Doe", "1980-04-02"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'deid.sqlite'}"
    engine = open_database(url)
    recorder = Recorder(engine)
    try:
        recorder.register_device(DEV, "nonin-df7", "/dev/ttyUSB0")
        session = SessionRepository(engine).start_session(CODE, "im-ketamine", nurse="R. Ortiz")
        recorder.begin(session)
        recorder.write([Reading("spo2", 97.0 - k % 3, "%", t_us=T0 + k * S, device=DEV) for k in range(120)])
        recorder.write([LinkEvent("disconnected", "probe off at 2025-11-21T04:41:00Z", T0 + 60 * S, DEV)])
        assert recorder.flush(timeout=30)
        recorder.end()
        log = ClinicalLog(engine, session, builtin_templates()["im-ketamine"])
        log.add(BodyWeight(t_us=T0, entered_us=T0, author="nina", kg=70.0))
        log.add(BolusDose(t_us=T0 + 30 * S, entered_us=T0 + 31 * S, author="nina", mg=35.0, route="im"))
        log.add(Note(t_us=T0 + 90 * S, entered_us=T0 + 95 * S, author="nina", text=f"{NAME} (born {BIRTH}) calm"))
    finally:
        recorder.stop()
        engine.dispose()
    return url


def export(db_url: str, out: Path, fmt: str, *extra: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    assert main(["sessions", "export", "1", "--format", fmt, "--out", str(out), "--db", db_url, *extra]) == 0
    return sorted(out.iterdir())


@pytest.fixture
def salt_file(tmp_path: Path) -> Path:
    path = tmp_path / "salt"
    path.write_text("clinic secret salt 1\n")
    return path


def long_times(directory: Path) -> list[datetime]:
    (long,) = [p for p in directory.iterdir() if p.name.endswith("-long.csv")]
    with long.open(encoding="utf-8") as f:
        # metadata rows (session, audit head, devices) come first, without a time
        return [datetime.fromisoformat(row["time"]) for row in csv.DictReader(f) if row["time"]]


def test_csv_and_fhir_carry_no_code_name_or_birth_date(db_url: str, tmp_path: Path, salt_file: Path) -> None:
    plain = "".join(p.read_text() for p in export(db_url, tmp_path / "plain", "csv"))
    assert CODE in json.dumps(json.loads(export(db_url, tmp_path / "pf", "fhir")[0].read_text()))
    assert NAME in plain  # what a normal export holds, so the test below is not vacuous
    for fmt in ("csv", "fhir"):
        files = export(db_url, tmp_path / f"deid-{fmt}", fmt, "--deidentify", "--salt-file", str(salt_file))
        text = "".join(p.read_text() for p in files)
        for secret in (CODE, NAME, "Jane", BIRTH, "2025-11-21"):
            assert secret not in text, f"{secret!r} in the de-identified {fmt} export"
        if fmt == "csv":  # FHIR carries no notes at all
            assert "[free text withheld]" in text


def test_every_time_moves_by_one_whole_day_shift_so_intervals_are_unchanged(
    db_url: str, tmp_path: Path, salt_file: Path
) -> None:
    export(db_url, tmp_path / "plain", "csv")
    export(db_url, tmp_path / "deid", "csv", "--deidentify", "--salt-file", str(salt_file))
    before, after = long_times(tmp_path / "plain"), long_times(tmp_path / "deid")
    assert len(before) == len(after) > 120
    shifts = {a - b for a, b in zip(after, before, strict=True)}
    (shift,) = shifts  # one shift for everything: the differences between events are unchanged
    assert shift.total_seconds() % 86_400 == 0 and -365 <= shift.days <= -1


def test_the_pseudonym_is_stable_for_a_salt_and_changes_with_it(db_url: str, tmp_path: Path, salt_file: Path) -> None:
    def patient(out: Path, salt: Path) -> str:
        (path,) = export(db_url, out, "fhir", "--deidentify", "--salt-file", str(salt))
        resources = [e["resource"] for e in json.loads(path.read_text())["entry"]]
        (found,) = [r for r in resources if r["resourceType"] == "Patient"]
        assert "name" not in found and "birthDate" not in found
        return str(found["identifier"][0]["value"])

    other = tmp_path / "other-salt"
    other.write_text("another clinic's salt")
    first, again = patient(tmp_path / "a", salt_file), patient(tmp_path / "b", salt_file)
    assert first == again and first.startswith("anon-")
    assert patient(tmp_path / "c", other) != first


def test_free_text_is_kept_only_when_asked_with_its_dates_shifted(db_url: str, tmp_path: Path, salt_file: Path) -> None:
    files = export(db_url, tmp_path / "k", "csv", "--deidentify", "--keep-free-text", "--salt-file", str(salt_file))
    text = "".join(p.read_text() for p in files)
    assert "calm" in text and BIRTH not in text and CODE not in text


def test_a_short_salt_is_one_plain_line(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    short = tmp_path / "short"
    short.write_text("abc")
    code = main(
        [
            "sessions",
            "export",
            "1",
            "--format",
            "csv",
            "--out",
            str(tmp_path),
            "--db",
            db_url,
            "--deidentify",
            "--salt-file",
            str(short),
        ]
    )
    assert code == 2
    assert "salt must be a secret of at least 8 characters" in capsys.readouterr().err


def test_edf_and_pdf_too_with_this_computers_own_salt_made_once(db_url: str, tmp_path: Path) -> None:
    from kapmonitor.core.paths import data_dir
    from kapmonitor.export.deidentified import SALT_FILE

    (edf,) = export(db_url, tmp_path / "edf", "edf", "--deidentify")
    assert CODE.encode() not in edf.read_bytes()
    salt = (data_dir() / SALT_FILE).read_text()
    assert len(salt.strip()) == 64 and (data_dir() / SALT_FILE).stat().st_mode & 0o077 == 0
    (pdf,) = export(db_url, tmp_path / "pdf", "pdf", "--deidentify")
    assert pdf.stat().st_size > 0
    assert (data_dir() / SALT_FILE).read_text() == salt  # the same salt next time: stable pseudonyms
