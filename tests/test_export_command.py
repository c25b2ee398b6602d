"""`kapmonitor sessions export` through the real command line: files written and listed; bad ids refused."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyedflib
import pytest
from export_session import PATIENT, RecordedSession, record_session
from pypdf import PdfReader

from kapmonitor.cli import main


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> RecordedSession:
    return record_session(tmp_path_factory.mktemp("export-command"))


def export(recorded: RecordedSession, fmt: str, out: Path, capsys: pytest.CaptureFixture[str]) -> list[Path]:
    code = main(
        ["sessions", "export", str(recorded.session_id), "--format", fmt, "--out", str(out), "--db", recorded.url]
    )
    assert code == 0
    return [Path(line) for line in capsys.readouterr().out.splitlines()]


def test_csv_into_a_directory(recorded: RecordedSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    written = export(recorded, "csv", tmp_path, capsys)
    sid = recorded.session_id
    assert [p.name for p in written] == [
        f"session-{sid}-long.csv",
        f"session-{sid}-1hz.csv",
        f"session-{sid}-waves.csv",
    ]
    with written[0].open(newline="") as f:
        kinds = {row["kind"] for row in csv.DictReader(f)}
    assert {"numeric", "link"} <= kinds


def test_edf_pdf_and_fhir(recorded: RecordedSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edf = export(recorded, "edf", tmp_path / "visit", capsys)
    sid = recorded.session_id
    assert [p.name for p in edf] == [f"session-{sid}-{k}.edf" for k in range(1, 5)]
    assert all(p.parent == tmp_path / "visit" for p in edf)
    reader = pyedflib.EdfReader(str(edf[0]))
    try:
        assert reader.getPatientCode() == PATIENT
    finally:
        reader.close()
    (pdf,) = export(recorded, "pdf", tmp_path / "visit.pdf", capsys)
    assert PATIENT in PdfReader(str(pdf)).pages[0].extract_text()
    (fhir,) = export(recorded, "fhir", tmp_path / "visit.json", capsys)
    assert json.loads(fhir.read_text())["resourceType"] == "Bundle"


def test_edf_parts_into_one_named_file_are_refused_in_one_line(
    recorded: RecordedSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "visit.edf"
    args = ["sessions", "export", str(recorded.session_id), "--format", "edf", "--out", str(out)]
    assert main([*args, "--db", recorded.url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has 4 parts" in err and "give --out a folder or a .zip" in err
    assert list(tmp_path.iterdir()) == []
    (archive,) = export(recorded, "edf", tmp_path / "visit.zip", capsys)
    assert archive == tmp_path / "visit.zip" and list(tmp_path.iterdir()) == [archive]


def test_an_unknown_session_is_one_line_and_exit_2(
    recorded: RecordedSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["sessions", "export", "999", "--format", "csv", "--out", str(tmp_path), "--db", recorded.url])
    err = capsys.readouterr().err
    assert code == 2
    assert err == "kapmonitor: no session 999 in this database\n"
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_path_is_one_line_and_exit_2(
    recorded: RecordedSession, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code = main(
        [
            "sessions",
            "export",
            str(recorded.session_id),
            "--format",
            "pdf",
            "--out",
            str(blocker / "visit.pdf"),
            "--db",
            recorded.url,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("kapmonitor: cannot write the pdf export") and err.count("\n") == 1
