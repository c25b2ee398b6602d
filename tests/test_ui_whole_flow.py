"""One session the way a clinic runs it, through the real windows on a real SQLite file: a nurse logs in, starts
an IV ketamine session, gives a bolus, rates, writes a note; a simulated oximeter on a pseudo-terminal crosses the
SpO2 limit and the alarm is acknowledged; discharge and stop; then a clinician opens Review, signs and exports.
Each step checks what the screen shows and what the database holds, and each screen is grabbed at 1366x768 and
1920x1080 (into KAPMONITOR_SCREENSHOTS when that names a folder, else a temporary one)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from screen_fit import SCREENS, fits, grab
from sqlalchemy import select

from kapmonitor.bed.station import Station
from kapmonitor.core.access import User
from kapmonitor.devices.simulation.physiology import PhysiologicalModel
from kapmonitor.devices.simulation.scenario import Scenario
from kapmonitor.session.entries import BolusDose, Discharged, Note, Rating
from kapmonitor.store.alarm_log import alarm_events
from kapmonitor.store.clinical_log import ClinicalLog
from kapmonitor.store.record_proof import verify_record
from kapmonitor.store.tables import Session
from kapmonitor.ui.access.login_dialog import LoginDialog
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.review.window import ReviewWindow

PASSWORD = "correct horse"
# The simulated patient desaturates to 84 % a few seconds after the oximeter starts, for long enough to alarm.
DESATURATING = """
duration_s = 600
devices = ["nonin-df7"]
[[episode]]
kind = "desaturation"
start_s = 8
duration_s = 120
value = 84
"""
ALARM_WAIT_MS = 90_000  # the episode's ramp, the limit's delay and the alarm tick, with room on a busy machine


def screenshots_dir(tmp_path: Path) -> Path:
    named = os.environ.get("KAPMONITOR_SCREENSHOTS", "")
    return Path(named) if named and Path(named).is_dir() else tmp_path / "screens"


def grab_both(window: QWidget, name: str, out: Path) -> list[Path]:
    """The window as a laptop and a desk monitor show it, every control on the screen; each PNG is the window."""
    paths = []
    for width, height in SCREENS:
        assert fits(window, (width, height)) == [], f"{name} at {width}x{height}"
        path = out / f"flow-{name}-{width}x{height}.png"
        image = grab(window, path)
        assert (image.width(), image.height()) == (window.width(), window.height())
        paths.append(path)
    return paths


def log_in(qtbot: QtBot, station: Station, name: str) -> User:
    dialog = LoginDialog(station.records.users)
    qtbot.addWidget(dialog)
    dialog.name_edit.setText(name)
    dialog.password_edit.setText(PASSWORD)
    dialog.submit()
    assert dialog.user is not None, dialog.message_label.text()
    return dialog.user


def test_a_session_from_the_nurses_login_to_the_clinicians_signed_export(qtbot: QtBot, tmp_path: Path) -> None:
    out = screenshots_dir(tmp_path)
    station = Station(f"sqlite:///{tmp_path / 'clinic.sqlite'}")
    users = station.records.users
    admin = users.create_first_admin("ada", PASSWORD)
    users.add_user(admin, "rn.okafor", "nurse", PASSWORD)
    users.add_user(admin, "dr.lee", "clinician", PASSWORD)
    window = MainWindow(station, store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    try:
        nurse = log_in(qtbot, station, "rn.okafor")
        window.log_in(nurse)
        assert station.user == "rn.okafor"
        model = PhysiologicalModel(Scenario.from_toml(DESATURATING)).for_device("nonin-df7")
        station.add_simulated("nonin-df7", model=model)
        station.start()
        window.show()
        qtbot.waitExposed(window)

        # The nurse starts an IV ketamine session from the session bar.
        panel = window.session_panel
        qtbot.keyClicks(panel.patient_edit, "KAP-0107")
        panel.protocol_combo.setCurrentIndex(panel.protocol_combo.findData("iv-infusion"))
        panel.weight_spin.setValue(70.0)
        qtbot.keyClicks(panel.room_edit, "Room 3")
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
        qtbot.wait(50)  # the window settles around the record's dock, as the event loop lets it at once
        session_id = station.session_id
        assert session_id is not None and window.clinical is not None
        assert f"Session {session_id}" in panel.session_label.text() and "KAP-0107" in panel.session_label.text()
        dock = window.clinical

        # A bolus of 0.5 mg/kg: 35 mg for 70 kg, on screen and in the database at once.
        dock.show_page("doses")
        dock.doses.bolus_amount.setValue(0.5)
        dock.doses.bolus_unit.setCurrentText("mg/kg")
        qtbot.mouseClick(dock.doses.bolus_button, Qt.MouseButton.LeftButton)
        assert dock.doses.total_label.text() == "Ketamine 35.0 mg  \u00b7  0.50 mg/kg"
        # A MOAA/S of 4, typed and entered.
        dock.show_page("ratings")
        dock.ratings.choose("moaas")
        qtbot.keyClicks(dock.ratings.fields["level"], "4")
        qtbot.keyClick(dock.ratings.fields["level"], Qt.Key.Key_Return)
        assert dock.ratings.last.text() == "Recorded MOAA/S = 4"
        # A note.
        dock.show_page("notes")
        qtbot.keyClicks(dock.notes.note, "Eyeshades on, music started")
        qtbot.keyClick(dock.notes.note, Qt.Key.Key_Return)
        stored = ClinicalLog.load(station.database, session_id).log
        assert [e.mg for e in stored if isinstance(e, BolusDose)] == [35.0]
        assert [(e.scale, e.score, e.author) for e in stored if isinstance(e, Rating)] == [("moaas", 4, "rn.okafor")]
        assert [e.text for e in stored if isinstance(e, Note)] == ["Eyeshades on, music started"]
        dock.show_page("entries")
        shown = [dock.entries.list.item(i).text() for i in range(dock.entries.list.count())]
        assert len(shown) == 4 and "Eyeshades on, music started" in shown[0]  # newest first: the note
        assert not [line for line in shown if "=" in line or "(('" in line], shown  # the clinic's words, not a repr
        grab_both(window, "session", out)

        # The oximeter crosses the SpO2 limit: the bar shows it, the nurse acknowledges it by name.
        bar = window.alarm_panel.bar
        qtbot.waitUntil(lambda: any(s.alarm.startswith("spo2") for s in bar.states), timeout=ALARM_WAIT_MS)
        alarm = next(s for s in bar.states if s.alarm.startswith("spo2"))
        assert "SpO" in bar.message_label.text()
        grab_both(window, "alarm", out)
        qtbot.mouseClick(bar.acknowledge_button, Qt.MouseButton.LeftButton)
        station.alarm_ticker.pump()
        qtbot.waitUntil(
            lambda: any(
                e.alarm == alarm.alarm and e.user == "rn.okafor" for e in alarm_events(station.database, session_id)
            ),
            timeout=10_000,
        )

        # Discharge from the checklist. Items are open (the minimum time, MOAA/S 5, ...): the nurse is asked why,
        # and only a clinician may discharge over them; the medical director steps in at the bedside.
        dialog = dock.open_discharge()
        for button in list(dialog.confirm_buttons.values()):
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        grab_both(dialog, "discharge", out)
        qtbot.mouseClick(dialog.discharge_button, Qt.MouseButton.LeftButton)
        assert dialog.message.text().startswith("Not ready: 5 open (Minimum monitoring time")
        qtbot.keyClicks(dialog.reason, "Family emergency; patient alert, escorted home")
        qtbot.mouseClick(dialog.discharge_button, Qt.MouseButton.LeftButton)
        assert "rn.okafor" in dialog.message.text()  # a nurse may not override: said in words, nothing stored
        assert not [e for e in ClinicalLog.load(station.database, session_id).log if isinstance(e, Discharged)]
        window.set_user(log_in(qtbot, station, "dr.lee"))
        qtbot.mouseClick(dialog.discharge_button, Qt.MouseButton.LeftButton)
        [discharged] = [e for e in ClinicalLog.load(station.database, session_id).log if isinstance(e, Discharged)]
        assert discharged.author == "dr.lee" and len(discharged.open_items) == 5
        assert discharged.override_reason == "Family emergency; patient alert, escorted home"
        grab_both(dialog, "discharged", out)
        window.set_user(nurse)
        dialog.close()
        panel.confirm = lambda question: True
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dock.isVisible(), timeout=2000)
        qtbot.wait(100)  # the layouts settle with the form back and the record gone
        assert station.session_id is None and not dock.isEnabled()
        assert panel.patient_edit.text() == "" and dock.prompts.lines == []  # the next patient starts afresh
        grab_both(window, "stopped", out)
        with station.database.connect() as conn:
            status, end = conn.execute(select(Session.status, Session.end_us).where(Session.id == session_id)).one()
        assert status == "ended" and end is not None

        # The clinician logs in, opens the session from Review, signs it and exports it.
        clinician = log_in(qtbot, station, "dr.lee")
        window.set_user(clinician)
        browser = window.open_session_browser()
        assert browser is not None
        qtbot.addWidget(browser)
        row = next(i for i, r in enumerate(browser.shown) if r.id == session_id)
        assert browser.table.item(row, 0).text() == "KAP-0107"
        review = browser.open_session(session_id)
        assert isinstance(review, ReviewWindow)
        qtbot.addWidget(review)
        grab_both(review, "review", out)
        review.ask_password = lambda *_: PASSWORD  # the confirmation, answered with the password again
        assert review.sign()
        assert review.sign_off.status.text().startswith("Signed by dr.lee")
        assert ClinicalLog.load(station.database, session_id).signed is not None
        review.choose_path = lambda fmt, suggested: tmp_path / "exports" / suggested
        (tmp_path / "exports").mkdir()
        [pdf] = review.export("pdf")
        assert pdf.read_bytes().startswith(b"%PDF")
        written = review.export("csv")
        assert written and "Written:" in review.status_label.text()
        with written[0].open(newline="") as f:
            assert list(csv.reader(f))
        grab_both(review, "review-signed", out)
        assert "Warning" not in review.status_label.text()
        # Every row the flow wrote (accounts, patient, session, devices, entries, alarms) is vouched for.
        report = verify_record(station.database)
        assert report.intact, report.lines()
        assert report.rows > 10
    finally:
        station.stop()
