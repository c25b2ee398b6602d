"""After a crash: the next start offers to resume each interrupted session or close it at its last data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtWidgets import QMessageBox, QWidget

from kapmonitor.bed.port import BedPort, InterruptedSession
from kapmonitor.ui.main_window import MainWindow

RESUME, CLOSE, LATER = "resume", "close", "later"
Ask = Callable[[InterruptedSession, "QWidget | None"], str]


def question(found: InterruptedSession) -> str:
    at = found.last_data_us if found.last_data_us is not None else found.start_us
    when = datetime.fromtimestamp(at / 1e6).strftime("%H:%M") if at is not None else "an unknown time"
    return f"Resume session {found.session_id} for {found.patient} interrupted at {when}?"


def ask(found: InterruptedSession, parent: QWidget | None) -> str:
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Interrupted session")
    box.setText(question(found))
    box.setInformativeText(
        "kapmonitor stopped unexpectedly while recording it. Resume continues the same session (the gap is "
        "recorded); Close it ends the session at its last recorded data."
    )
    resume = box.addButton("Resume", QMessageBox.ButtonRole.AcceptRole)
    close = box.addButton("Close it", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Decide later", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(resume)
    box.exec()
    clicked = box.clickedButton()
    return RESUME if clicked is resume else CLOSE if clicked is close else LATER


def offer_recovery(station: BedPort, window: MainWindow, asking: Ask | None = None) -> int | None:
    """Ask about every interrupted session (``asking``: default :func:`ask`, a dialog); returns the id of
    the one resumed (only one session runs at a time)."""
    records = station.records
    if records is None:
        return None
    resumed: int | None = None
    for found in records.interrupted_sessions():
        choice = (asking or ask)(found, window)
        if choice == RESUME and station.session_id is None:
            station.resume_session(found.session_id, user=station.user)
            protocol = records.session_protocol(found.session_id)
            window.session_panel.show_resumed(found.session_id, found.patient, protocol, found.start_us)
            resumed = found.session_id
        elif choice == CLOSE:
            records.close_interrupted(found.session_id, user=station.user)
    return resumed
