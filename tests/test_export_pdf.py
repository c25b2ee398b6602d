"""The PDF report read back with pypdf's text extraction: who, the doses, the tables and the REMS summary."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from export_session import PATIENT, RecordedSession, record_session
from pypdf import PdfReader

from kapmonitor.export.loader import SessionData
from kapmonitor.export.pdf_report import clock, is_esketamine, rems_summary, write_pdf
from kapmonitor.session.entries import BolusDose
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.db import engine_for


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionData]:
    recorded: RecordedSession = record_session(tmp_path_factory.mktemp("export-pdf"))
    engine = engine_for(recorded.url)
    yield recorded.load(engine)
    engine.dispose()


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


@pytest.fixture(scope="module")
def report(data: SessionData, tmp_path_factory: pytest.TempPathFactory) -> str:
    (path,) = write_pdf(data, tmp_path_factory.mktemp("pdf-out") / "visit.pdf")
    assert path.read_bytes().startswith(b"%PDF")
    return pdf_text(path)


def test_header_names_the_patient_protocol_staff_and_sign_off(data: SessionData, report: str) -> None:
    assert f"Session report: patient {PATIENT}" in report
    assert "Intranasal esketamine 56 mg" in report
    assert "R. Ortiz" in report
    assert "not signed" in report
    assert clock(data.info.start_us, True) in report


def test_doses_ratings_notes_and_alarms_are_listed(data: SessionData, report: str) -> None:
    for dose in data.record.sprays():
        assert f"{clock(dose.t_us)}" in report
    assert "esketamine device 1 28 mg intranasal, lot LOT-A1" in report
    assert "esketamine device 2 28 mg intranasal, lot LOT-B2" in report
    assert "D1" in report and "D2" in report
    assert "Probe off while the patient adjusted the eyeshades" in report
    assert "medium spo2_low active" in report
    assert "CADSS" in report
    assert "Dose totals" in report and "56.0 mg" in report  # the two devices, totalled


def test_rems_summary_fields_appear_with_values_from_the_record(data: SessionData, report: str) -> None:
    form = rems_summary(data)
    assert form.dose_choice == "56" and form.lots == ("LOT-A1", "LOT-B2")
    for label in (
        "Spravato REMS monitoring form",
        "Lot number(s)",
        "Time of first spray",
        "BP pre-dose",
        "BP at ~40 min",
        "BP at discharge",
        "Sedation",
        "Dissociation",
        "Respiratory depression",
    ):
        assert label in report, label
    assert "56 mg (56), 2 device(s)" in report
    assert "LOT-A1, LOT-B2" in report
    assert f"{form.bp_pre_dose} mmHg at {clock(form.bp_pre_dose.t_us)}" in report  # type: ignore[union-attr]
    assert f"{form.monitoring_minutes} min" in report


def test_an_im_session_has_no_rems_section(data: SessionData, tmp_path: Path) -> None:
    record = SessionRecord("im-ketamine")
    t_us = (data.info.start_us or 0) + 60_000_000
    record.add(BolusDose(t_us, t_us, "Dr. Ames", mg=35.0, route="im", site="left deltoid", lot="KX-1"))
    info = dataclasses.replace(data.info, protocol="IM ketamine")
    im = SessionData(info, data.numerics, data.waves, data.link_events, record)
    assert not is_esketamine(im)
    (path,) = write_pdf(im, tmp_path)
    text = pdf_text(path)
    assert path.name == f"session-{data.info.id}.pdf"
    assert "ketamine 35 mg IM, left deltoid, lot KX-1" in text
    assert "REMS" not in text


def test_a_session_without_data_still_gives_a_report(data: SessionData, tmp_path: Path) -> None:
    empty = SessionData(data.info, (), (), (), SessionRecord())
    (path,) = write_pdf(empty, tmp_path / "empty.pdf")
    text = pdf_text(path)
    assert PATIENT in text and "none recorded" in text


NAMES = ["Zoë Ñúñez 张伟", "山田 太郎 やまだ", "김민준", "Αλέξανδρος Παπαδόπουλος", "Дмитрий Иванов", "Łukasz Żółć"]


def names_report(data: SessionData, tmp_path: Path) -> Path:
    record = SessionRecord("im-ketamine")
    for n, name in enumerate(NAMES):
        t = data.info.start_us + (n + 1) * 1_000_000
        record.add(BolusDose(t_us=t, entered_us=t, author=name, mg=10.0, route="im"))
    info = dataclasses.replace(data.info, nurse=NAMES[0], patient="KAP-张伟")
    (path,) = write_pdf(dataclasses.replace(data, info=info, record=record, audit_head="7:" + "ab" * 32), tmp_path)
    return path


def test_names_in_any_script_print_as_written(data: SessionData, tmp_path: Path) -> None:
    text = " ".join(pdf_text(names_report(data, tmp_path)).split())  # a narrow cell wraps a long name
    for name in NAMES:
        assert name in text
    assert "Session report: patient KAP-张伟" in text
    assert "\u25a0" not in text  # no black boxes for characters a font lacks


def test_pdftotext_reads_the_names_and_the_audit_head(data: SessionData, tmp_path: Path) -> None:
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        # make test installs it (and says so): there a missing reader is a failure, not a skip
        if os.environ.get("CI") or os.environ.get("KAPMONITOR_REQUIRE_TOOLS"):
            pytest.fail("pdftotext (poppler-utils) is not installed; make test installs it as root")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = names_report(data, tmp_path)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    text = " ".join(text.split())
    for name in NAMES:
        assert name in text
    assert f"audit head 7:{'ab' * 32}" in text
