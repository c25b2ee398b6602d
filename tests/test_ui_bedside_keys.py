"""The nurse's frequent actions from the keyboard, each shown with its key in the Bedside menu: a key click in,
the alarm acknowledged, the audio paused, the cuff started, a dose, a rating and a note recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from alarm_ui_double import AlarmStationDouble, SilentPlayer
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from ui_station_double import reading

from kapmonitor.devices.links.simulated import SimulatedTransport
from kapmonitor.devices.simulation.physiology import PhysiologicalModel
from kapmonitor.devices.simulation.scenario import Scenario
from kapmonitor.devices.suntech.driver import SuntechDriver
from kapmonitor.devices.suntech.simulator import SuntechSimulator
from kapmonitor.session.entries import BolusDose, Note, Rating
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.live import alarm_bar
from kapmonitor.ui.main_window import MainWindow

NOW_US = 1_763_760_000_000_000
S = 1_000_000


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    monkeypatch.setenv("KAPMONITOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(alarm_bar, "TonePlayer", lambda: SilentPlayer())
    clock = [NOW_US]
    station = AlarmStationDouble()
    shown = MainWindow(
        station, clock=lambda: clock[0], store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    )
    qtbot.addWidget(shown)
    shown.plot_timer.stop()
    shown.status_timer.stop()
    shown.alarm_panel.bar.refresh_timer.stop()
    shown.clock_list = clock  # type: ignore[attr-defined]
    shown.session_panel.start_session("KAP-0042")
    template = builtin_templates()["iv-infusion"]
    shown.set_clinical(SessionRecord.for_template(template), template, 70.0, author="RN Kim")
    shown.show()
    shown.activateWindow()
    qtbot.waitExposed(shown)
    return shown


def press(qtbot: QtBot, window: MainWindow, key: Qt.Key) -> None:
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, key)


def test_the_bedside_menu_shows_each_action_with_its_key(window: MainWindow) -> None:
    shown = [(a.text().replace("&", ""), a.shortcut().toString()) for a in window.bedside_menu.actions() if a.text()]
    assert shown == [
        ("Acknowledge alarms", "F2"),
        ("Pause alarm audio 2 min", "F3"),
        ("Measure BP now", "F4"),
        ("Log a dose\u2026", "F5"),
        ("Record a rating\u2026", "F6"),
        ("Write a note\u2026", "F7"),
        ("Show the clinical record", "F9"),
    ]
    assert window.menuBar().actions()[0].text() == "&Bedside"  # first in the menu bar


def test_f2_acknowledges_and_f3_pauses_the_audio(qtbot: QtBot, window: MainWindow) -> None:
    station = window.station
    station.publish([reading("spo2", v, NOW_US + t * S) for v, t in ((80, 0), (79, 11))])  # type: ignore[attr-defined]
    window.clock_list[0] = NOW_US + 11 * S  # type: ignore[attr-defined]
    bar = window.alarm_panel.bar
    bar.refresh()
    assert bar.top is not None and bar.top.alarm == "spo2_desat" and bar.top.state == "active"
    press(qtbot, window, Qt.Key.Key_F2)
    assert {s.state for s in bar.states} == {"acknowledged"}
    press(qtbot, window, Qt.Key.Key_F3)
    assert station.alarm_engine.pause_remaining_s(NOW_US + 11 * S) == pytest.approx(120.0)  # type: ignore[attr-defined]
    assert bar.pause_button.text().startswith("Audio paused")


def test_f4_starts_the_cuff_and_says_so(qtbot: QtBot, window: MainWindow) -> None:
    press(qtbot, window, Qt.Key.Key_F4)
    assert window.session_panel.message_label.text().startswith("No cuff here can be started from kapmonitor")
    driver = SuntechDriver()
    model = PhysiologicalModel(Scenario()).for_device("suntech-advantage")
    window.station.add_transport(SimulatedTransport("suntech-advantage", SuntechSimulator(model), driver=driver))
    press(qtbot, window, Qt.Key.Key_F4)
    assert window.session_panel.message_label.text() == "Blood pressure measurement started on 1 cuff."
    assert driver.poll(0.0) != b"" and driver.state == "measuring"  # the start command goes out at once


def test_f5_f6_f7_open_the_record_on_a_dose_a_rating_and_a_note(qtbot: QtBot, window: MainWindow) -> None:
    dock = window.clinical
    assert dock is not None
    window.record_action.setChecked(False)  # the record hidden (a small screen): a key brings it back
    assert not dock.isVisible()

    press(qtbot, window, Qt.Key.Key_F7)
    assert dock.isVisible() and dock.tabs.currentWidget() is dock.notes
    assert QApplication.focusWidget() is dock.notes.note
    qtbot.keyClicks(dock.notes.note, "Patient asleep")
    qtbot.keyClick(dock.notes.note, Qt.Key.Key_Return)

    press(qtbot, window, Qt.Key.Key_F6)
    assert dock.tabs.currentWidget() is dock.ratings
    field = QApplication.focusWidget()
    assert field is next(iter(dock.ratings.fields.values()))
    qtbot.keyClicks(field, "4")
    qtbot.keyClick(field, Qt.Key.Key_Return)

    press(qtbot, window, Qt.Key.Key_F5)
    assert dock.tabs.currentWidget() is dock.doses
    amount = QApplication.focusWidget()
    assert amount is dock.doses.bolus_amount.lineEdit() or amount is dock.doses.bolus_amount
    dock.doses.bolus_unit.setCurrentText("mg")
    qtbot.keyClick(amount, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(amount, "10")
    qtbot.keyClick(amount, Qt.Key.Key_Tab)  # to the unit
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)  # to "Give bolus"
    assert QApplication.focusWidget() is dock.doses.bolus_button
    qtbot.keyClick(dock.doses.bolus_button, Qt.Key.Key_Space)

    log = dock.ctx.record.log
    assert [e.text for e in log if isinstance(e, Note)] == ["Patient asleep"]
    assert [(e.scale, e.score) for e in log if isinstance(e, Rating)] == [("moaas", 4)]
    assert [e.mg for e in log if isinstance(e, BolusDose)] == [10.0]


def test_f9_hides_and_shows_the_clinical_record(qtbot: QtBot, window: MainWindow) -> None:
    dock = window.clinical
    assert dock is not None and dock.isVisible()
    press(qtbot, window, Qt.Key.Key_F9)
    assert not dock.isVisible() and not window.record_action.isChecked()
    press(qtbot, window, Qt.Key.Key_F9)
    assert dock.isVisible()
