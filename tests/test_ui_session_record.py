"""Starting a protocol session from the main window opens its clinical record, stored entry by entry."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from kapmonitor.bed.station import Station
from kapmonitor.core.access import User
from kapmonitor.store.clinical_log import session_record
from kapmonitor.store.tables import ClinicalEntryRow, Session
from kapmonitor.ui.main_window import MainWindow


def test_a_note_typed_in_an_esketamine_session_is_in_the_database_at_once(qtbot: QtBot, tmp_path: Path) -> None:
    station = Station(f"sqlite:///{tmp_path / 'kap.sqlite'}", record=True)
    window = MainWindow(station)
    qtbot.addWidget(window)
    panel = window.session_panel
    try:
        qtbot.keyClicks(panel.patient_edit, "KAP-0042")
        panel.protocol_combo.setCurrentIndex(panel.protocol_combo.findData("intranasal-esketamine"))
        panel.weight_spin.setValue(68.0)
        qtbot.keyClicks(panel.room_edit, "Room 2")
        qtbot.keyClicks(panel.prescriber_edit, "Dr. Lee")
        window.set_user(User("rn.okafor", frozenset({"nurse"})))
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
        assert window.clinical is not None and station.session_id is not None
        detail = station.repository.session_detail(station.session_id)
        assert (detail["room"], detail["nurse"], detail["protocol"]) == ("Room 2", "rn.okafor", "intranasal-esketamine")
        with station.database.connect() as conn:
            assert conn.execute(select(Session.prescriber)).scalar() == "Dr. Lee"

        notes = window.clinical.notes
        qtbot.keyClicks(notes.note, "Eyeshades on, music started")
        qtbot.keyClick(notes.note, Qt.Key.Key_Return)

        with station.database.connect() as conn:  # a second connection sees it: committed, not buffered
            kinds = conn.execute(select(ClinicalEntryRow.kind).order_by(ClinicalEntryRow.seq)).scalars().all()
        assert kinds == ["weight", "note"]
        actions = [e.action for e in station.audit.entries()]
        assert actions.count("clinical.add") == 2 and station.audit.verify().intact  # audited as entered
        record = session_record(station.database, station.session_id)
        assert record.weight_kg == 68.0
        assert [n.text for n in record.notes()] == ["Eyeshades on, music started"]

        panel.confirm = lambda question: True
        qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
        assert not window.clinical.isEnabled()
    finally:
        station.stop()


def test_monitoring_only_sessions_have_no_clinical_dock(qtbot: QtBot, tmp_path: Path) -> None:
    station = Station(f"sqlite:///{tmp_path / 'kap.sqlite'}", record=True)
    window = MainWindow(station)
    qtbot.addWidget(window)
    try:
        assert window.session_panel.start_session("KAP-0043", protocol="")
        assert window.clinical is None
    finally:
        station.stop()
