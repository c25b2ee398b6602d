"""Starting and stopping a recorded session: a pseudonymous patient ID in, session id and elapsed time out."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from kapmonitor.session.templates import ProtocolTemplate, builtin_templates
from kapmonitor.ui.theme import Theme

PROTOCOL_CHARS = 16  # the protocol box is this many wide letters ("X") wide: every short title whole
TOOLTIP = Qt.ItemDataRole.ToolTipRole


@cache
def templates() -> dict[str, ProtocolTemplate]:
    """The clinic's protocol templates (resources/protocols), read once per run."""
    return builtin_templates()

# A pseudonym, not a name: no spaces, so "Jane Doe" is refused while "KAP-0042" passes.
PATIENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


class SessionControl(Protocol):
    """The part of the Station the panel uses."""

    session_id: int | None

    def start_session(self, patient: str, protocol: str = "") -> int: ...

    def stop_session(self) -> None: ...


def patient_id_problem(text: str) -> str | None:
    if not text:
        return "Enter the patient's pseudonymous ID first."
    if not PATIENT_ID.fullmatch(text):
        return (
            "Patient ID: letters, digits, '-', '_' or '.', no spaces, at most 40 (a pseudonym, not a name)."
        )
    return None


def elapsed_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def ask_before_stopping(parent: QWidget, question: str) -> bool:
    answer = QMessageBox.question(
        parent,
        "Stop session",
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes


CONTROL_PX = 16  # at least 14 px at 1080p: read from two metres


class SessionPanel(QFrame):
    # session id, patient, protocol template name ("" when none), weight in kg (None when not entered)
    session_started = Signal(int, str, str, object)
    session_stopped = Signal(int)

    def __init__(
        self, station: SessionControl, clock: Callable[[], int], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("sessionPanel")
        self.station = station
        self.clock = clock
        # Replaced in tests; a real nurse gets a Yes/No dialog with "No" as the default.
        self.confirm: Callable[[str], bool] = lambda question: ask_before_stopping(self, question)
        self.patient: str | None = None
        self._started_us: int | None = None
        self._theme: Theme | None = None

        self.patient_edit = QLineEdit()
        # Short placeholders: the row shares a laptop's width with the session's messages, and a hint cut to
        # "Patient ID (pseud…" or "R…" tells the nurse nothing; the tooltips carry the longer hint.
        self.patient_edit.setPlaceholderText("Patient ID")
        self.patient_edit.setToolTip("Patient ID: a pseudonym, for example KAP-0042")
        self.patient_edit.setMinimumWidth(130)
        self.patient_edit.returnPressed.connect(self.start_clicked)
        self.protocol_combo = QComboBox()
        self.protocol_combo.addItem("Monitoring only", "")
        self.protocol_combo.setItemData(0, "No protocol: the vital signs are recorded, no doses or checks", TOOLTIP)
        for name, template in templates().items():
            # The short title in the box (a long one was cut at 1366 px: "Intranasal esketamine (S..."), the full
            # one in the item's and the box's tooltip.
            self.protocol_combo.addItem(template.shown_title, name)
            self.protocol_combo.setItemData(self.protocol_combo.count() - 1, template.title, TOOLTIP)
        self.protocol_combo.currentIndexChanged.connect(self._show_protocol_tooltip)
        self._show_protocol_tooltip()
        # As wide as the longest short title, not as the longest title: the form and its messages fit a laptop
        # beside the clinical record.
        self.protocol_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.protocol_combo.setMinimumContentsLength(PROTOCOL_CHARS)
        self.weight_spin = QDoubleSpinBox()
        self.weight_spin.setRange(0.0, 400.0)
        self.weight_spin.setDecimals(1)
        self.weight_spin.setSuffix(" kg")
        self.weight_spin.setSpecialValueText("weight?")  # 0 = not entered; mg/kg doses need it
        self.weight_spin.setToolTip("Patient weight, needed for doses in mg/kg")
        self.room_edit = QLineEdit()
        self.room_edit.setPlaceholderText("Room")
        self.room_edit.setToolTip("Room or chair of this session")
        self.room_edit.setMinimumWidth(70)
        self.room_edit.setMaximumWidth(110)
        self.prescriber_edit = QLineEdit()
        self.prescriber_edit.setPlaceholderText("Prescriber")
        self.prescriber_edit.setMinimumWidth(110)
        self.prescriber_edit.setMaximumWidth(170)
        self.start_button = QPushButton("Start session")
        self.start_button.clicked.connect(self.start_clicked)
        self.stop_button = QPushButton("Stop session")
        self.stop_button.clicked.connect(self.stop_clicked)
        self.session_label = QLabel("No session running")
        self.elapsed_label = QLabel("")
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)  # a long message wraps instead of widening the whole window
        self.message_label.setMaximumWidth(420)
        readable = QFont()
        readable.setPixelSize(CONTROL_PX)  # every control, "Stop session" first, readable from the chair
        for control in (
            self.patient_edit, self.protocol_combo, self.weight_spin, self.room_edit, self.prescriber_edit,
            self.start_button, self.stop_button, self.message_label,
        ):  # fmt: skip
            control.setFont(readable)
        big = QFont()
        big.setPixelSize(20)
        big.setBold(True)
        self.session_label.setFont(big)
        self.elapsed_label.setFont(big)

        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 10, 6)
        for widget in (
            self.patient_edit,
            self.protocol_combo,
            self.weight_spin,
            self.room_edit,
            self.prescriber_edit,
            self.start_button,
            self.stop_button,
        ):
            row.addWidget(widget)
        # While a session runs the message shares the row's free width with the stretch (up to its maximum) and
        # wraps only inside it: without a share Qt wrapped it to a third of that ("Blood pressure / measurement
        # started on / 1 cuff."). With the form showing it takes its own width first (see _show_state).
        row.addWidget(self.message_label, 1)
        self.row = row
        row.addStretch(0)  # what the message, at its widest, leaves: it keeps the session on the right
        row.addWidget(self.session_label)
        row.addSpacing(16)
        row.addWidget(self.elapsed_label)
        self._show_state()

    def _show_protocol_tooltip(self) -> None:
        """The box's tooltip: the chosen protocol's full title, then what the choice decides."""
        title = self.protocol_combo.currentData(TOOLTIP) or ""
        self.protocol_combo.setToolTip(
            f"{title}\nThe session's protocol: its dosing form, checks and discharge criteria".lstrip()
        )

    def start_clicked(self) -> None:
        self.start_session(self.patient_edit.text().strip())

    def start_session(self, patient: str, protocol: str | None = None, weight_kg: float | None = None) -> bool:
        """Start recording for ``patient``; ``protocol`` and ``weight_kg`` default to what the form shows."""
        if self.station.session_id is not None:
            return False
        self.patient_edit.setText(patient)
        if protocol is not None:
            self.protocol_combo.setCurrentIndex(max(0, self.protocol_combo.findData(protocol)))
        if weight_kg is not None:
            self.weight_spin.setValue(weight_kg)
        protocol = str(self.protocol_combo.currentData() or "")
        weight = self.weight_spin.value() or None
        problem = patient_id_problem(patient)
        if problem:
            self.say(problem)
            return False
        try:
            details = {"room": self.room_edit.text().strip(), "prescriber": self.prescriber_edit.text().strip()}
            details = {k: v for k, v in details.items() if v}  # a station without these fields is not asked
            session_id = self.station.start_session(patient, protocol, **details)
        except (
            Exception
        ) as exc:  # a database that refuses must not close the monitor: say why and keep watching
            self.say(f"Could not start the session: {exc}")
            return False
        self.patient, self._started_us = patient, self.clock()
        self.say("")
        self._show_state()
        self.refresh()
        self.session_started.emit(session_id, patient, protocol, weight)
        return True

    def show_resumed(self, session_id: int, patient: str, protocol: str, start_us: int | None) -> None:
        """The station resumed an interrupted session (crash recovery): show it as running since its start."""
        message = f"Session {session_id} resumed after an interruption."
        self.show_running(session_id, patient, protocol, start_us, message)

    def show_running(self, session_id: int, patient: str, protocol: str, start_us: int | None, message: str) -> None:
        """A session the station started itself (resumed, or the demo's): shown as running since its start."""
        self.patient, self._started_us = patient, start_us if start_us is not None else self.clock()
        self.say(message)
        self._show_state()
        self.refresh()
        self.session_started.emit(session_id, patient, protocol, None)

    def stop_clicked(self) -> None:
        if self.station.session_id is None:
            return
        question = f"Stop recording session {self.station.session_id} for {self.patient}?"
        if not self.confirm(question):
            return
        stopping = self.station.session_id
        try:
            self.station.stop_session()
        except Exception as exc:  # see start_session
            self.say(f"Could not stop the session: {exc}")
            return
        self.session_stopped.emit(stopping)
        self.say(f"Session for {self.patient} stopped.")
        # The next session is another patient's: nothing of this one is offered for it (the protocol stays).
        for field in (self.patient_edit, self.room_edit, self.prescriber_edit):
            field.clear()
        self.weight_spin.setValue(0.0)
        self.patient, self._started_us = None, None
        self._show_state()

    def refresh(self) -> None:
        if (self.station.session_id is not None) != self.stop_button.isEnabled():
            self._show_state()  # the station began or ended a session itself (a recorder failure, a script)
        if self._started_us is not None:
            self.elapsed_label.setText(elapsed_text((self.clock() - self._started_us) / 1e6))

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.message_label.setStyleSheet(f"color: {theme.warning};")
        self.elapsed_label.setStyleSheet(f"color: {theme.text};")

    def _show_state(self) -> None:
        running = self.station.session_id is not None
        # While a session runs, its form steps aside: the row shows the session and the Stop button only.
        form = (self.patient_edit, self.protocol_combo, self.weight_spin, self.room_edit, self.prescriber_edit)
        for widget in (*form, self.start_button):
            widget.setVisible(not running)
        self.patient_edit.setEnabled(not running)
        self.protocol_combo.setEnabled(not running)
        self.weight_spin.setEnabled(not running)
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.row.setStretchFactor(self.message_label, 1 if running else 0)
        if running:
            who = f"  ·  {self.patient}" if self.patient else ""
            self.session_label.setText(f"Session {self.station.session_id}{who}")
        else:
            self.patient, self._started_us = None, None
            self.session_label.setText("No session running")
            self.elapsed_label.setText("")

    def say(self, text: str) -> None:
        """One line beside the session controls: what just happened, or why it did not."""
        self.message_label.setText(text)
