"""One chair on the central station: bed, patient, protocol, elapsed time, SpO2, pulse, the last NIBP with its
age, the dose given, the next due check, and the chair's alarms with buttons to acknowledge or pause them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kapmonitor.bed.port import SILENT, ChairAlarm, ChairView, Value
from kapmonitor.core.clock import US_PER_S
from kapmonitor.ui.theme import Theme
from kapmonitor.ui.widgets.fonts import pixel_font
from kapmonitor.ui.widgets.labels import set_style, set_text
from kapmonitor.ui.widgets.tiles import age_text, format_number

DASHES = "\u2014"
MAX_ALARM_ROWS = 3
STALE_VITAL_S = 30.0  # an SpO2 or pulse older than this is shown greyed: the chair is not sending it
AUDIBLE = ("active", "latched", "silent")
PRIORITY_COLOURS = {"high": "#ff4d4d", "medium": "#f2c14e", "low": "#4fd1e8"}


def elapsed_text(seconds: float | None) -> str:
    if seconds is None:
        return DASHES
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def alarm_text(alarm: ChairAlarm) -> str:
    if alarm.alarm == SILENT:
        return alarm.message
    words = alarm.message or alarm.alarm.replace("_", " ")
    if alarm.state in ("acknowledged", "paused") and alarm.user:
        return f"{words} \u00b7 {alarm.state} by {alarm.user}"
    return f"{words} \u00b7 {alarm.state}"


def nibp_text(nibp: tuple[Value | None, Value | None, Value | None], now: int) -> tuple[str, str]:
    systolic, diastolic, mean = nibp
    if systolic is None:
        return f"{DASHES}/{DASHES}", "no measurement yet"  # as the bedside's NIBP tile shows it
    pressure = f"{format_number(systolic.value)}/{format_number(diastolic.value if diastolic else None)}"
    if mean is not None:
        pressure += f" ({format_number(mean.value)})"
    return pressure, age_text((now - systolic.t_us) / US_PER_S)


class ChairTile(QFrame):
    """A chair's tile. ``acknowledge`` and ``pause`` carry the session id; the window writes the row."""

    acknowledge = Signal(int, object)  # session id, the ChairAlarm
    pause = Signal(int)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chairTile")
        self.theme = theme
        self.view: ChairView | None = None
        self.bed = QLabel()
        self.bed.setFont(pixel_font(22, bold=True))
        self.elapsed = QLabel()
        self.elapsed.setFont(pixel_font(18))
        self.elapsed.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.who = QLabel()
        self.spo2 = QLabel()
        self.spo2.setFont(pixel_font(40, bold=True))
        self.pulse = QLabel()
        self.pulse.setFont(pixel_font(40, bold=True))
        self.nibp = QLabel()
        self.nibp.setFont(pixel_font(24, bold=True))
        self.nibp_age = QLabel()
        self.dose = QLabel()
        self.prompt = QLabel()
        self.alarm_rows = [QLabel() for _ in range(MAX_ALARM_ROWS)]
        self.more = QLabel()
        self.ack_button = QPushButton("Acknowledge")
        self.pause_button = QPushButton("Pause audio 2 min")
        self.ack_button.clicked.connect(self._acknowledge)
        self.pause_button.clicked.connect(self._pause)

        top = QHBoxLayout()
        top.addWidget(self.bed, 1)
        top.addWidget(self.elapsed)
        numbers = QGridLayout()
        for column, (caption, value) in enumerate((("SpO2 %", self.spo2), ("Pulse /min", self.pulse))):
            label = QLabel(caption)
            label.setObjectName("muted")
            numbers.addWidget(label, 0, column)
            numbers.addWidget(value, 1, column)
        nibp_caption = QLabel("NIBP mmHg")
        nibp_caption.setObjectName("muted")
        numbers.addWidget(nibp_caption, 0, 2)
        numbers.addWidget(self.nibp, 1, 2)
        numbers.addWidget(self.nibp_age, 2, 2)
        buttons = QHBoxLayout()
        buttons.addWidget(self.ack_button)
        buttons.addWidget(self.pause_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.who)
        layout.addLayout(numbers)
        layout.addWidget(self.dose)
        layout.addWidget(self.prompt)
        for row in self.alarm_rows:
            row.setFont(pixel_font(15, bold=True))
            layout.addWidget(row)
        layout.addWidget(self.more)
        layout.addStretch(1)
        layout.addLayout(buttons)
        for label in (self.who, self.dose, self.prompt, *self.alarm_rows):
            label.setWordWrap(True)  # a long protocol or alarm text wraps instead of widening the tile

    def show_view(self, view: ChairView, now: int) -> None:
        self.view = view
        theme = self.theme
        set_text(self.bed, view.bed or f"session {view.session_id}")
        set_text(self.elapsed, elapsed_text(view.elapsed_s(now)))
        set_text(self.who, f"{view.patient}  \u00b7  {view.protocol or 'no protocol'}")
        silent = view.silent_s is not None
        for label, value, colour in ((self.spo2, view.spo2, theme.spo2), (self.pulse, view.pulse, theme.pulse)):
            stale = silent or value is None or (now - value.t_us) / US_PER_S > STALE_VITAL_S
            set_text(label, DASHES if silent or value is None else format_number(value.value))
            set_style(label, f"color: {theme.stale if stale else colour};")
        pressure, age = nibp_text(view.nibp, now)
        set_text(self.nibp, DASHES if silent else pressure)
        measured = view.nibp[0] is not None
        set_style(self.nibp, f"color: {theme.systolic if measured and not silent else theme.stale};")
        set_text(self.nibp_age, age)
        set_text(self.dose, f"Dose: {view.dose}")
        set_text(self.prompt, f"Next: {view.next_prompt}" if view.next_prompt else "Next: nothing due")
        self._show_alarms(view.alarms)

    def _show_alarms(self, alarms: tuple[ChairAlarm, ...]) -> None:
        for row, alarm in zip(self.alarm_rows, (*alarms, *([None] * MAX_ALARM_ROWS)), strict=False):
            row.setVisible(alarm is not None)
            if alarm is not None:
                set_text(row, f"{alarm.priority.upper()}  {alarm_text(alarm)}")
                set_style(row, f"color: {self._colour(alarm.priority)};")
        hidden = len(alarms) - MAX_ALARM_ROWS
        set_text(self.more, f"+{hidden} more" if hidden > 0 else "")
        self.more.setVisible(hidden > 0)
        unacknowledged = [a for a in alarms if a.state in ("active", "latched", "paused")]
        self.ack_button.setEnabled(bool(unacknowledged))
        self.pause_button.setEnabled(any(a.state in ("active", "latched") for a in alarms))
        top = alarms[0] if alarms else None
        border = self._colour(top.priority) if top is not None and top.state in AUDIBLE else self.theme.border
        width = 3 if top is not None and top.state in AUDIBLE else 1
        set_style(
            self,
            f"QFrame#chairTile {{ background: {self.theme.panel}; border: {width}px solid {border}; "
            "border-radius: 6px; }",
        )

    def _colour(self, priority: str) -> str:
        """Alarm colours readable on this theme's panel (IEC 60601-1-8: red high, yellow medium, cyan low)."""
        return {"high": self.theme.fault, "medium": self.theme.warning}.get(priority, self.theme.spo2)

    def top_unacknowledged(self) -> ChairAlarm | None:
        if self.view is None:
            return None
        return next(
            (a for a in self.view.alarms if a.state in ("active", "latched", "paused") and a.alarm != SILENT), None
        )

    def _acknowledge(self) -> None:
        alarm = self.top_unacknowledged()
        if self.view is not None and alarm is not None:
            self.acknowledge.emit(self.view.session_id, alarm)

    def _pause(self) -> None:
        if self.view is not None:
            self.pause.emit(self.view.session_id)
