"""After "Stop session": the form for the next patient starts empty, the ended session's checks go away, and its
record steps aside so the form fits a laptop's screen again."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from screen_fit import LAPTOP, fits

from kapmonitor.bed.station import Station
from kapmonitor.core.access import User
from kapmonitor.ui.main_window import MainWindow


def test_stopping_a_session_clears_the_form_and_its_prompts(qtbot: QtBot, tmp_path: Path) -> None:
    station = Station(f"sqlite:///{tmp_path / 'kap.sqlite'}")
    window = MainWindow(station, store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    panel = window.session_panel
    try:
        window.set_user(User("rn.okafor", frozenset({"nurse"})))
        qtbot.keyClicks(panel.patient_edit, "KAP-0042")
        panel.protocol_combo.setCurrentIndex(panel.protocol_combo.findData("iv-infusion"))
        panel.weight_spin.setValue(70.0)
        qtbot.keyClicks(panel.room_edit, "Room 2")
        qtbot.keyClicks(panel.prescriber_edit, "Dr. Lee")
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
        assert window.clinical is not None
        prompts = window.clinical.prompts
        assert "BP due (pre-dose)" in [line.text for line in prompts.lines]

        panel.confirm = lambda question: True
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)

        assert panel.message_label.text() == "Session for KAP-0042 stopped."
        assert (panel.patient_edit.text(), panel.room_edit.text(), panel.prescriber_edit.text()) == ("", "", "")
        assert panel.weight_spin.value() == 0.0 and panel.weight_spin.text() == "weight?"
        assert panel.protocol_combo.currentData() == "iv-infusion"  # the clinic's usual protocol stays chosen
        assert prompts.lines == [] and prompts.label.text() == "Session ended: no checks are due"
        prompts.refresh()  # a late refresh does not bring the checks back
        assert prompts.lines == []

        window.show()
        QApplication.processEvents()
        assert not window.clinical.isVisible() and not window.bedside_actions["record"].isEnabled()
        assert fits(window, LAPTOP) == []  # the form beside a stale record was 1894 px at least
    finally:
        station.stop()


def test_a_session_started_on_a_laptop_keeps_the_window_on_its_screen(qtbot: QtBot, tmp_path: Path) -> None:
    station = Station(f"sqlite:///{tmp_path / 'kap.sqlite'}")
    window = MainWindow(station, store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    panel = window.session_panel
    try:
        window.set_user(User("rn.okafor", frozenset({"nurse"})))
        window.show()
        window.resize(*LAPTOP)
        QApplication.processEvents()
        qtbot.keyClicks(panel.patient_edit, "KAP-0042")
        panel.protocol_combo.setCurrentIndex(panel.protocol_combo.findData("iv-infusion"))
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
        QApplication.processEvents()
        assert window.clinical is not None and window.clinical.isVisible()
        assert (window.width(), window.height()) == LAPTOP  # Qt widened it by the record's dock: 1773 px
        window.record_action.trigger()  # F9: the record away and back
        window.record_action.trigger()
        QApplication.processEvents()
        assert window.clinical.isVisible() and (window.width(), window.height()) == LAPTOP
        panel.confirm = lambda question: True
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)  # the form comes back, the record goes
        qtbot.waitUntil(lambda: (window.width(), window.height()) == LAPTOP, timeout=2000)
        assert not window.clinical.isVisible()
    finally:
        station.stop()
