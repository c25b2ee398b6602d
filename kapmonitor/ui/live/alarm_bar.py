"""The alarm bar across the top of the window: the most urgent alarm in words, its priority colour, flashing
by priority (high red ~2 Hz, medium yellow ~0.6 Hz, low cyan steady), how many others are on, and the two
things a nurse does: Acknowledge, and Pause audio for 2 minutes with a live countdown.

It also sounds the tones (tones.py) for the highest audible alarm. When this machine cannot play them, it
reports a low-priority technical alarm once: one line on the bar until acknowledged, its cause and remedy in
the line's tooltip and in the alarm log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kapmonitor.alarms.events import NO_ALARM_SOUND, AlarmEvent, AlarmState
from kapmonitor.ui.theme import Theme
from kapmonitor.ui.widgets.fonts import pixel_font
from kapmonitor.ui.widgets.tones import NO_SOUND_HEADLINE, TonePlayer, ToneSchedule, no_sound_message

# IEC 60601-1-8 colours: (background, text). The same in both themes: a nurse learns them once.
ALARM_COLOURS: dict[str, tuple[str, str]] = {
    "high": ("#e0262d", "#ffffff"),
    "medium": ("#f5c518", "#111418"),
    "low": ("#19b8d6", "#111418"),
}
# Half a flash period: high 2 Hz, medium 0.6 Hz; low does not flash.
FLASH_HALF_MS: dict[str, int | None] = {"high": 250, "medium": 833, "low": None}
PAUSE_S = 120.0
REFRESH_MS = 250
LONG_MESSAGE = 60  # characters: a longer message (a technical alarm's remedy) takes a smaller font and wraps
LONG_MESSAGE_PX = 20
# Technical alarms whose message is a paragraph (cause and remedy): the bar shows this one line instead, the whole
# message as its tooltip; the alarm log keeps the whole message.
BAR_HEADLINES = {NO_ALARM_SOUND: NO_SOUND_HEADLINE}
HEADLINE_PX = 24


def bar_text(state: AlarmState) -> str:
    """The words the bar shows for an alarm: its headline where it has one, else its message."""
    return BAR_HEADLINES.get(state.alarm, state.message)


class AlarmSource(Protocol):
    """What the bar needs from kapmonitor.alarms.AlarmEngine."""

    def active(self) -> list[AlarmState]: ...

    def acknowledge(self, alarm_id: str, user: str, now_us: int | None = None) -> list[AlarmEvent]: ...

    def pause_audio(self, now_us: int | None = None, seconds: float = ..., user: str = "") -> list[AlarmEvent]: ...

    def pause_remaining_s(self, now_us: int | None = None) -> float: ...

    def report_condition(
        self, alarm: str, message: str, *, device: str = "", now_us: int | None = None
    ) -> list[AlarmEvent]: ...


def countdown(seconds: float) -> str:
    whole = max(0, int(seconds + 0.999))
    return f"{whole // 60}:{whole % 60:02d}"


class AlarmBar(QFrame):
    refreshed = Signal()  # after every refresh: the window colours the tiles from :attr:`states`

    def __init__(
        self,
        source: AlarmSource,
        *,
        user: Callable[[], str],
        clock: Callable[[], int],
        player: TonePlayer | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("alarmBar")
        self.source, self.user, self.clock = source, user, clock
        self.player = player if player is not None else TonePlayer()
        self.schedule = ToneSchedule()
        self.states: list[AlarmState] = []
        self.flash_on = True
        self.background = ""  # the colour the bar is painted now (tests and screenshots read it)
        self._theme: Theme | None = None

        self.message_label = QLabel("No alarms")
        self.message_label.setFont(pixel_font(34, bold=True))
        self.others_label = QLabel("")
        self.others_label.setFont(pixel_font(20, bold=True))
        self.message_label.setWordWrap(True)  # a technical alarm's remedy wraps; it never widens the window
        self.sound_reported = False  # the missing sound is reported once, as a technical alarm
        self.acknowledge_button = QPushButton("Acknowledge")
        self.pause_button = QPushButton(f"Pause audio {countdown(PAUSE_S)}")
        for button in (self.acknowledge_button, self.pause_button):
            button.setFont(pixel_font(20, bold=True))
            button.setMinimumHeight(42)
        self.acknowledge_button.clicked.connect(self.acknowledge_all)
        self.pause_button.clicked.connect(self.pause_audio)

        # Two rows, so the bar fits above the curves beside the tile column: what is wrong, then what to do.
        words = QHBoxLayout()
        words.addWidget(self.message_label, 1)
        words.addWidget(self.others_label)
        actions = QHBoxLayout()
        actions.setSpacing(12)
        actions.addStretch(1)
        actions.addWidget(self.acknowledge_button)
        actions.addWidget(self.pause_button)
        box = QVBoxLayout(self)
        box.setContentsMargins(16, 6, 8, 6)
        box.setSpacing(4)
        box.addLayout(words)
        box.addLayout(actions)

        self.flash_timer = QTimer(self)
        self.flash_timer.timeout.connect(self._flash)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(self.refresh)
        self.refresh_timer.start()

    # ---- what a nurse does ---------------------------------------------------------------------------------

    def acknowledge_all(self) -> None:
        """Acknowledge every alarm not yet acknowledged (a latched one clears)."""
        who, now = self.user(), self.clock()
        for state in self.source.active():
            if state.state != "acknowledged":
                self.source.acknowledge(state.alarm_id, who, now)
        self.refresh()

    def pause_audio(self) -> None:
        self.source.pause_audio(self.clock(), PAUSE_S, user=self.user())
        self.refresh()

    # ---- showing ---------------------------------------------------------------------------------------------

    @property
    def top(self) -> AlarmState | None:
        return self.states[0] if self.states else None

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._paint()

    def refresh(self) -> None:
        now = self.clock()
        self._report_missing_sound(now)  # before reading the alarms: it is one of them
        self.states = self.source.active()
        top = self.top
        text = bar_text(top) if top else "No alarms"
        self.message_label.setText(text)
        self.message_label.setToolTip(top.message if top is not None and text != top.message else "")
        if top is not None and top.alarm in BAR_HEADLINES:
            px = HEADLINE_PX  # a calm line: a technical condition, not a patient's
        else:
            px = LONG_MESSAGE_PX if len(text) > LONG_MESSAGE else 34
        self.message_label.setFont(pixel_font(px, bold=True))
        others = len(self.states) - 1
        self.others_label.setText(f"+{others} more" if others > 0 else "")
        remaining = self.source.pause_remaining_s(now)
        paused = remaining > 0
        self.pause_button.setText(
            f"Audio paused {countdown(remaining)}" if paused else f"Pause audio {countdown(PAUSE_S)}"
        )
        self.pause_button.setEnabled(not paused)
        self.acknowledge_button.setEnabled(any(s.state != "acknowledged" for s in self.states))
        self._flash_rate(top)
        self._sound()
        self._paint()
        self.refreshed.emit()

    def _flash_rate(self, top: AlarmState | None) -> None:
        half = FLASH_HALF_MS[top.priority] if top is not None and top.state != "acknowledged" else None
        if half is None:
            self.flash_timer.stop()
            self.flash_on = True
        elif self.flash_timer.interval() != half or not self.flash_timer.isActive():
            self.flash_timer.start(half)

    def _flash(self) -> None:
        self.flash_on = not self.flash_on
        self._paint()

    def _sound(self) -> None:
        audible = [s.priority for s in self.states if s.audible]
        due = self.schedule.due(audible[0] if audible else None, time.monotonic())
        if due is not None:
            self.player.play(due)
        problem = self.player.problem
        self.pause_button.setToolTip(no_sound_message(problem) if problem else "")

    def _report_missing_sound(self, now: int) -> None:
        """Once: this computer cannot sound the alarms. A technical alarm says why and what to do."""
        problem = self.player.problem
        if problem is not None and not self.sound_reported:
            self.sound_reported = True
            self.source.report_condition(NO_ALARM_SOUND, no_sound_message(problem), now_us=now)

    def _paint(self) -> None:
        theme, top = self._theme, self.top
        if theme is None:
            return
        if top is None:
            background, text, border = theme.panel, theme.muted, theme.border
        else:
            colour, on_colour = ALARM_COLOURS[top.priority]
            if self.flash_on:
                background, text, border = colour, on_colour, colour
            else:
                background, text, border = theme.panel, colour, colour
        self.background = background
        self.setStyleSheet(
            f"QFrame#alarmBar {{ background: {background}; border: 3px solid {border}; border-radius: 6px; }}"
            f"QLabel {{ color: {text}; }}"
        )
