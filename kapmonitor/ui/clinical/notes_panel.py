"""Notes and one-keystroke quick events, stamped now or back-timed by a few minutes.

The digits 0-9 log the clinic's quick events from anywhere in the window except a text field: a QLineEdit
takes printable keys for itself (Qt's shortcut override), so typing "10 mg" in a note never logs an event.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QGridLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget

from kapmonitor.session.entries import US_PER_MIN, Note, QuickEvent
from kapmonitor.session.quick_events import QuickEventMap, builtin_quick_events
from kapmonitor.ui.clinical.context import ClinicalContext, refusal
from kapmonitor.ui.widgets.tiles import clock_text

BACK_TIME_MAX_MIN = 120


class NotesPanel(QWidget):
    entered = Signal()

    def __init__(self, ctx: ClinicalContext, events: QuickEventMap | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.events = events if events is not None else builtin_quick_events()
        self.note = QLineEdit(placeholderText="Note \u2014 Enter records it")
        self.note.returnPressed.connect(self.add_note)
        self.minutes_ago = QSpinBox(minimum=0, maximum=BACK_TIME_MAX_MIN, suffix=" min ago")
        self.minutes_ago.setSpecialValueText("now")
        self.message = QLabel("")
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        self.last = QLabel("")
        self.last.setObjectName("muted")
        self.last.setWordWrap(True)
        when = QGridLayout()
        when.addWidget(QLabel("Time"), 0, 0)
        when.addWidget(self.minutes_ago, 0, 1)
        when.setColumnStretch(2, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(when)
        title = QLabel("Quick events (keys 0-9)")
        title.setObjectName("muted")
        layout.addWidget(title)
        grid = QGridLayout()
        ordered = sorted(self.events.bindings, key=lambda b: (b.key == "0", b.key))
        for index, binding in enumerate(ordered):
            button = QPushButton(f"{binding.key}   {binding.label}")
            button.setObjectName("level")
            button.clicked.connect(lambda _=False, k=binding.key: self.quick_event(k))
            grid.addWidget(button, index // 2, index % 2)
        layout.addLayout(grid)
        layout.addWidget(self.message)
        layout.addWidget(self.last)
        layout.addStretch(1)

    def _times(self) -> tuple[int, int]:
        """(when it happened, when it was typed): the spin back-times the next entry, then returns to now."""
        entered = self.ctx.clock()
        return entered - self.minutes_ago.value() * US_PER_MIN, entered

    def add_note(self) -> bool:
        t_us, entered = self._times()
        text = self.note.text().strip()
        if not text:
            return self._say("Type the note first.")
        if self._add(Note(t_us=t_us, entered_us=entered, author=self.ctx.author, text=text)):
            self.note.clear()
            return True
        return False

    def quick_event(self, key: str) -> bool:
        t_us, entered = self._times()
        if self.events.binding(key) is None:
            return self._say(f"No quick event is bound to key {key}.")
        event = self.events.event(key, t_us=t_us, entered_us=entered, author=self.ctx.author)
        return self._add(event)

    def _add(self, entry: Note | QuickEvent) -> bool:
        try:
            self.ctx.record.add(entry)
        except Exception as exc:  # refused, or the store failed: say why, keep the typing
            return self._say(refusal(exc))
        what = entry.text if isinstance(entry, Note) else entry.label
        self.last.setText(f"{clock_text(entry.t_us)}  {what}")
        self.minutes_ago.setValue(0)
        self._say("")
        self.entered.emit()
        return True

    def _say(self, text: str) -> bool:
        self.message.setText(text)
        return False

    def install_shortcuts(self, window: QWidget) -> list[QShortcut]:
        """Bind the digits on ``window`` (a main window) to the quick events."""
        shortcuts = []
        for binding in self.events.bindings:
            shortcut = QShortcut(QKeySequence(binding.key), window)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda k=binding.key: self.quick_event(k))
            shortcuts.append(shortcut)
        return shortcuts
