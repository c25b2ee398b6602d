"""The protocol's checks as a calm list: what is due or overdue now, and what comes due in the next minutes."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from kapmonitor.session.entries import US_PER_MIN
from kapmonitor.session.prompts import prompts_for
from kapmonitor.ui.clinical.context import ClinicalContext
from kapmonitor.ui.theme import Theme

LOOKAHEAD_MIN = 10
REFRESH_MS = 5_000
BULLET = ("\u25cf", "\u25cb")  # filled: due now; hollow: coming up


@dataclass(frozen=True)
class PromptLine:
    text: str
    status: str  # "missed", "overdue", "due" or "upcoming"


def prompt_lines(ctx: ClinicalContext, now_us: int) -> list[PromptLine]:
    """Due checks first (most urgent on top), then those coming due within ``LOOKAHEAD_MIN``."""
    readings = ctx.readings()

    def at(t_us: int) -> list:
        return prompts_for(
            ctx.template, ctx.record, readings, session_start_us=ctx.session_start_us, now_us=t_us
        )

    now = at(now_us)
    lines = [PromptLine(p.text, p.status) for p in now]
    due_now = {p.check for p in now}
    for p in at(now_us + LOOKAHEAD_MIN * US_PER_MIN):
        if p.check in due_now or p.due_us <= now_us:
            continue
        minutes = math.ceil((p.due_us - now_us) / US_PER_MIN)
        lines.append(PromptLine(p.check.text.replace(" due", f" due in {minutes} min", 1), "upcoming"))
    return lines


class PromptsBar(QWidget):
    def __init__(self, ctx: ClinicalContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.lines: list[PromptLine] = []
        self.ended = False  # the session ended: its checks are no longer asked for
        self._theme: Theme | None = None
        self.label = QLabel("")
        self.label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.label)
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
        self.label.setText("Session ended: no checks are due")

    def refresh(self) -> None:
        if self.ended:
            return
        self.lines = prompt_lines(self.ctx, self.ctx.clock())
        theme = self._theme
        if not self.lines:
            self.label.setText("No checks due")
            return
        colour = {
            "missed": theme.warning if theme else "",
            "overdue": theme.warning if theme else "",
            "due": theme.text if theme else "",
            "upcoming": theme.muted if theme else "",
        }
        rows = [
            f'<div style="color:{colour[line.status]}; font-size:20px;">'
            f"{BULLET[line.status == 'upcoming']}&nbsp; {line.text}</div>"
            for line in self.lines
        ]
        self.label.setText("".join(rows))

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.refresh()
