"""``sessions show ID --json`` returns the whole record, and ``sessions export ID --format rems`` the REMS form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from clinician_support import CLINICIAN, CLINICIAN_PASSWORD, clinician
from pypdf import PdfReader
from sqlalchemy import Engine

from kapmonitor.cli import main
from kapmonitor.core.readings import Reading
from kapmonitor.session.entries import (
    US_PER_MIN,
    BodyWeight,
    InfusionEvent,
    IntranasalDevice,
    Note,
)
from kapmonitor.session.scales import builtin_scales
from kapmonitor.session.templates import builtin_templates
from kapmonitor.store.clinical_log import ClinicalLog
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.repository import SessionRepository
from kapmonitor.store.signing import sign_session

NURSE = "rn.kim"


def at(start: int, minutes: float) -> dict[str, Any]:
    t = start + round(minutes * US_PER_MIN)
    return {"t_us": t, "entered_us": t, "author": NURSE}


def show(db_url: str, session_id: int, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["sessions", "show", str(session_id), "--json", "--db", db_url]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def infusion_session(engine: Engine) -> int:
    """An IV infusion: 0.5 mg/kg/h, raised to 0.75, paused 5 min, resumed, stopped at 45 min; signed."""
    repository = SessionRepository(engine)
    session = repository.start_session("KAP-0007", "iv-infusion", nurse=NURSE)
    start = (repository.start_of(session) or 0) - 120 * US_PER_MIN  # entered afterwards, back-timed
    log = ClinicalLog(engine, session, builtin_templates()["iv-infusion"])
    log.add(BodyWeight(**at(start, 0), kg=70.0))
    for minutes, action, rate in [(1, "start", 0.5), (21, "rate", 0.75), (31, "pause", None), (36, "resume", None)]:
        log.add(InfusionEvent(**at(start, minutes), action=action, rate=rate, weight_kg=70.0 if rate else None))
    log.add(InfusionEvent(**at(start, 46), action="stop"))
    mistake = log.add(Note(**at(start, 10), text="Wrong patient's note"))
    log.amend(mistake, {}, author=NURSE, reason="wrong chart", entered_us=start + 11 * US_PER_MIN, void=True)
    short = {"1": 3, "2": 2, "6": 1, "7": 1, "15": 2, "22": 0}
    log.add(builtin_scales()["cadss"].rate(short, **at(start, 40), form="cadss-6"))
    repository.end_session(session)
    clinician(engine)
    sign_session(engine, session, username=CLINICIAN, password=CLINICIAN_PASSWORD, entered_us=start + 125 * US_PER_MIN)
    return session


def test_show_json_has_every_entry_the_doses_totals_and_the_sign_off(
    db_url: str, infusion_session: int, capsys: pytest.CaptureFixture[str]
) -> None:
    record = show(db_url, infusion_session, capsys)
    assert {"id", "patient", "protocol", "status", "start", "end", "tracks"} <= set(record)
    assert [e["kind"] for e in record["entries"]] == [
        "weight", "dose", "note", "dose", "dose", "dose", "rating", "dose", "sign_off"
    ]  # fmt: skip
    start, change, pause = [e for e in record["entries"] if e["kind"] == "dose" and e["action"] != "resume"][:3]
    assert (start["action"], start["rate"], start["unit"], start["mg"]) == ("start", 0.5, "mg/kg/h", 11.667)
    assert change["summary"] == "ketamine infusion 0.5 -> 0.75 mg/kg/h" and change["mg"] == 8.75
    assert pause["mg"] == 0.0
    note = next(e for e in record["entries"] if e["kind"] == "note")
    assert note["voided"] is True and note["text"] == "Wrong patient's note"
    assert note["amendments"][0]["reason"] == "wrong chart"
    rating = next(e for e in record["entries"] if e["kind"] == "rating")
    assert (rating["scale"], rating["form"], rating["score"]) == ("cadss", "cadss-6", 9)
    assert rating["summary"] == "CADSS-6 9 (items 1:3 2:2 6:1 7:1 15:2 22:0)"
    hand = 35 * 20 / 60 + 52.5 * 10 / 60 + 52.5 * 10 / 60
    ketamine = record["dosing"]["drugs"]["ketamine"]
    assert ketamine["total_mg"] == pytest.approx(hand, abs=1e-3)
    assert ketamine["total_mg_per_kg"] == pytest.approx(hand / 70, abs=1e-3)
    assert record["rems"] is None  # not an esketamine session
    assert record["alarms"] == []
    assert record["sign_off"]["by"] == CLINICIAN


def test_show_without_json_lists_the_entries_in_words(
    db_url: str, infusion_session: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sessions", "show", str(infusion_session), "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "ketamine infusion 0.5 -> 0.75 mg/kg/h" in out
    assert "VOIDED note: Wrong patient's note" in out
    assert "total ketamine: 29.167 mg = 0.417 mg/kg" in out
    assert f"signed by {CLINICIAN}" in out
    assert "InfusionEvent(" not in out and "Rating(" not in out


@pytest.fixture
def esketamine_session(engine: Engine) -> int:
    repository = SessionRepository(engine)
    session = repository.start_session("KAP-0042", "intranasal-esketamine", nurse=NURSE)
    start = (repository.start_of(session) or 0) - 60 * US_PER_MIN  # entered afterwards, back-timed
    recorder = Recorder(engine)
    recorder.register_device("suntech-advantage@/dev/ttyUSB0", "suntech-advantage", "/dev/ttyUSB0")
    recorder.begin(session)
    cuff = "suntech-advantage@/dev/ttyUSB0"
    readings = [
        Reading(metric, value, "mmHg", t_us=start + round(minute * US_PER_MIN), device=cuff)
        for minute, sys, dia in [(-2, 124, 78), (40, 150, 90)]
        for metric, value in (("nibp_systolic", sys), ("nibp_diastolic", dia))
    ]
    recorder.write(readings)
    recorder.end()
    assert recorder.flush(timeout=30)
    recorder.stop()
    log = ClinicalLog(engine, session, builtin_templates()["intranasal-esketamine"])
    log.add(IntranasalDevice(**at(start, 0), lot="ESK-A1"))
    log.add(IntranasalDevice(**at(start, 5), lot="ESK-A2"))
    log.add(
        builtin_scales()["cadss"].rate(
            {"1": 3, "2": 2, "6": 1, "7": 1, "15": 2, "22": 0}, **at(start, 40), form="cadss-6"
        )
    )
    return session


def test_show_json_fills_the_rems_form_from_the_record(
    db_url: str, esketamine_session: int, capsys: pytest.CaptureFixture[str]
) -> None:
    rems = show(db_url, esketamine_session, capsys)["rems"]
    assert (rems["dose_mg"], rems["dose_choice"], rems["lots"]) == (56.0, "56", ["ESK-A1", "ESK-A2"])
    assert rems["bp_pre_dose"]["systolic"] == 124 and rems["bp_40_min"]["systolic"] == 150
    assert rems["dissociation"]["occurred"] is True
    assert (
        rems["bp_increase"]
        == {
            "occurred": False,
            "detail": rems["bp_increase"]["detail"],
        }
        and "+26/+12" in rems["bp_increase"]["detail"]
    )
    assert "discharge time" in rems["missing"] and "sedation assessment (MOAA/S)" in rems["missing"]


def test_export_rems_writes_a_one_page_form(
    db_url: str, esketamine_session: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rems.pdf"
    assert (
        main(["sessions", "export", str(esketamine_session), "--format", "rems", "--out", str(out), "--db", db_url])
        == 0
    )
    assert capsys.readouterr().out.strip() == str(out)
    pages = PdfReader(out).pages
    assert len(pages) == 1
    text = pages[0].extract_text()
    assert "[x] 56 mg" in text and "lot ESK-A1" in text and "lot ESK-A2" in text
    assert "124/78 mmHg" in text and "150/90 mmHg" in text
    assert "peak CADSS-6 9" in text
    assert "clinic to complete" in text  # what the record does not keep


def test_export_rems_of_an_infusion_is_refused_in_one_line(
    db_url: str, infusion_session: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "sessions",
            "export",
            str(infusion_session),
            "--format",
            "rems",
            "--out",
            str(tmp_path / "x.pdf"),
            "--db",
            db_url,
        ]
    )
    assert code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not an intranasal esketamine session" in err[0]
    assert not (tmp_path / "x.pdf").exists()


def test_the_csv_and_pdf_say_what_each_infusion_setting_delivered_and_the_total(
    db_url: str, infusion_session: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "visit.csv"
    assert (
        main(["sessions", "export", str(infusion_session), "--format", "csv", "--out", str(out), "--db", db_url]) == 0
    )
    text = out.read_text(encoding="utf-8")
    assert "ketamine infusion 0.5 -> 0.75 mg/kg/h; 8.75 mg delivered at this rate" in text
    assert "dose total,ketamine,29.167,mg" in text and "0.417 mg/kg" in text
    pdf = tmp_path / "visit.pdf"
    assert (
        main(["sessions", "export", str(infusion_session), "--format", "pdf", "--out", str(pdf), "--db", db_url]) == 0
    )
    report = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Dose totals" in report and "29.2 mg" in report and "0.42 mg/kg" in report
    assert "11.67 mg delivered at this rate" in report
