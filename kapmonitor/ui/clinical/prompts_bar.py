"""The protocol's checks as a calm list: what is due or overdue now, and what comes due in the next minutes.

A due or overdue blood pressure check can be acted on where it is read: clicking it starts the cuff through the
window's own "Measure BP now" (F4, the NIBP tile's button), and the line then reads that the cuff is measuring
until a reading comes (which answers the check) or the measurement has had its time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from kapmonitor.core.readings import Reading
from kapmonitor.session.entries import US_PER_MIN
from kapmonitor.session.prompts import bp_times, prompts_for
from kapmonitor.ui.clinical.context import ClinicalContext
from kapmonitor.ui.theme import Theme

LOOKAHEAD_MIN = 10
REFRESH_MS = 5_000
BULLET = ("\u25cf", "\u25cb")  # filled: due now; hollow: coming up
PROMPT_PX = 20
ACTIONABLE = ("due", "overdue")  # a measurement now answers these (a missed pre-dose check it cannot)
# How long a started measurement reads "measuring": a cuff inflates, deflates and reports within about two
# minutes; one that has not by then failed (the cuff says so as a technical alarm) and the check is offered again.
MEASURING_US = 3 * US_PER_MIN
MEASURE_TIP = "Start a blood pressure measurement on the cuff (F4)"


@dataclass(frozen=True)
class PromptLine:
    text: str
    status: str  # "missed", "overdue", "due" or "upcoming"
    measure: str = ""  # what answers the check: "bp", or a rating scale's name

    @property
    def starts_cuff(self) -> bool:
        """Clicking this line starts a blood pressure measurement."""
        return self.measure == "bp" and self.status in ACTIONABLE


def prompt_lines(ctx: ClinicalContext, now_us: int, readings: list[Reading] | None = None) -> list[PromptLine]:
    """Due checks first (most urgent on top), then those coming due within ``LOOKAHEAD_MIN``."""
    if readings is None:
        readings = ctx.readings()

    def at(t_us: int) -> list:
        return prompts_for(
            ctx.template, ctx.record, readings, session_start_us=ctx.session_start_us, now_us=t_us
        )

    now = at(now_us)
    lines = [PromptLine(p.text, p.status, p.check.measure) for p in now]
    due_now = {p.check for p in now}
    for p in at(now_us + LOOKAHEAD_MIN * US_PER_MIN):
        if p.check in due_now or p.due_us <= now_us:
            continue
        minutes = math.ceil((p.due_us - now_us) / US_PER_MIN)
        text = p.check.text.replace(" due", f" due in {minutes} min", 1)
        lines.append(PromptLine(text, "upcoming", p.check.measure))
    return lines


class PromptRow(QLabel):
    """One check, a line of its own (wrapped when long); a BP check that is due is clicked to measure."""

    clicked = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.line = PromptLine("", "upcoming")
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)

    def show_line(self, line: PromptLine, text: str, tip: str) -> None:
        self.line = line
        self.setText(text)
        self.setToolTip(tip)
        if line.starts_cuff:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.unsetCursor()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        inside = self.rect().contains(event.position().toPoint())
        if self.line.starts_cuff and event.button() == Qt.MouseButton.LeftButton and inside:
            self.clicked.emit()
        super().mouseReleaseEvent(event)


class PromptsBar(QWidget):
    measure_requested = Signal()  # a due BP check was clicked: start the cuff (the window's Measure BP now)

    def __init__(self, ctx: ClinicalContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.lines: list[PromptLine] = []
        self.rows: list[PromptRow] = []
        self.ended = False  # the session ended: its checks are no longer asked for
        self.measuring_since_us: int | None = None  # a cuff was started then, and has not reported since
        self._theme: Theme | None = None
        self.label = QLabel("")  # said when no check is listed: none due, or the session ended
        self.label.setWordWrap(True)
        self.row_box = QVBoxLayout()
        self.row_box.setContentsMargins(0, 0, 0, 0)
        self.row_box.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.label)
        layout.addLayout(self.row_box)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def end(self) -> None:
        """The session ended: its checks go away instead of staying "missed" or "due" on the screen."""
        self.ended = True
        self.timer.stop()
        self.lines = []
        self.measuring_since_us = None
        self._show_rows()
        self.label.setText("Session ended: no checks are due")
        self.label.setVisible(True)

    def measuring(self, since_us: int) -> None:
        """A measurement was started on a cuff (from a prompt, F4, the NIBP tile or the protocol's clock)."""
        self.measuring_since_us = since_us
        self.refresh()

    def refresh(self) -> None:
        if self.ended:
            return
        now = self.ctx.clock()
        readings = self.ctx.readings()
        self._measurement_over(now, readings)
        self.lines = prompt_lines(self.ctx, now, readings)
        self._show_rows()
        self.label.setText("" if self.lines else "No checks due")
        self.label.setVisible(not self.lines)

    def _measurement_over(self, now: int, readings: list[Reading]) -> None:
        since = self.measuring_since_us
        if since is None:
            return
        reported = any(t >= since for t in bp_times(readings))
        if reported or now - since >= MEASURING_US or now < since:
            self.measuring_since_us = None

    def row_text(self, line: PromptLine) -> str:
        """A line as shown: the check, and for a due BP check what a click does, or that the cuff measures."""
        theme = self._theme
        colour = {
            "missed": theme.warning if theme else "",
            "overdue": theme.warning if theme else "",
            "due": theme.text if theme else "",
            "upcoming": theme.muted if theme else "",
        }[line.status]
        text = f"{BULLET[line.status == 'upcoming']}&nbsp; {line.text}"
        if line.starts_cuff:
            accent = theme.spo2 if theme else ""
            muted = theme.muted if theme else ""
            if self.measuring_since_us is not None:
                text += f' <span style="color:{muted}">\u00b7 measuring\u2026</span>'
            else:
                text += f' <span style="color:{accent}">\u00b7 <u>measure now</u></span>'
        return f'<div style="color:{colour}; font-size:{PROMPT_PX}px;">{text}</div>'

    def _show_rows(self) -> None:
        """One row per line, the rows kept from refresh to refresh (a click is never lost to a rebuilt row)."""
        while len(self.rows) > len(self.lines):
            row = self.rows.pop()
            self.row_box.removeWidget(row)
            row.hide()  # gone from the screen now, deleted when the event loop next runs
            row.deleteLater()
        while len(self.rows) < len(self.lines):
            row = PromptRow()
            row.clicked.connect(self._clicked)
            self.row_box.addWidget(row)
            self.rows.append(row)
        measuring = self.measuring_since_us is not None
        for row, line in zip(self.rows, self.lines, strict=True):
            tip = ("The cuff is measuring" if measuring else MEASURE_TIP) if line.starts_cuff else ""
            row.show_line(line, self.row_text(line), tip)

    def _clicked(self) -> None:
        if self.measuring_since_us is None:  # one click, one measurement: a second waits for the first
            self.measure_requested.emit()

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.refresh()
