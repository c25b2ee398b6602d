"""The inactivity lock: after some minutes without a key or a click, a screen covers the window and asks for a
password. Only the screen is locked. The window's timers, the station, the recorder and the alarms go on
behind it, and the lock screen itself shows the big numbers in their current (alarm) colours.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.bed.port import UserAccounts
from kapmonitor.core.access import User
from kapmonitor.core.errors import UserError
from kapmonitor.ui.access.login_dialog import sentence
from kapmonitor.ui.theme import Theme
from kapmonitor.ui.widgets.fonts import pixel_font
from kapmonitor.ui.widgets.tiles import NumericTile

LOCK_AFTER_MIN = 5.0
MONITORING_CONTINUES = "Locked \u2014 monitoring, recording and alarms continue"
_ACTIVITY = {
    QEvent.Type.KeyPress,
    QEvent.Type.MouseButtonPress,
    QEvent.Type.MouseMove,
    QEvent.Type.Wheel,
    QEvent.Type.TouchBegin,
}


class LockScreen(QWidget):
    """Covers the whole main window. Anyone with an account can unlock; unlocking as someone else switches
    the window to that user (``unlocked``). While locked, what ``covered`` returns (the menu bar, the central
    widget, the clinical dock) is disabled so keyboard focus cannot reach it; ``tiles`` are shown as they are."""

    def __init__(
        self,
        window: QMainWindow,
        directory: UserAccounts,
        *,
        tiles: Sequence[NumericTile],
        theme: Callable[[], Theme],
        current_user: Callable[[], User | None],
        unlocked: Callable[[User], None],
        covered: Callable[[], Sequence[QWidget | None]],
    ) -> None:
        super().__init__(window)
        self.window_ = window
        self.directory = directory
        self.theme, self.current_user, self.unlocked, self.covered = theme, current_user, unlocked, covered
        self.setObjectName("lockScreen")
        self.setAutoFillBackground(True)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.status_label = QLabel(MONITORING_CONTINUES)
        self.status_label.setFont(pixel_font(32, bold=True))
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.values = {tile: QLabel("") for tile in tiles}
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("user name")
        self.name_edit.setMinimumWidth(220)
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText("password")
        self.password_edit.setMinimumWidth(220)
        self.password_edit.returnPressed.connect(self.unlock_clicked)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.clicked.connect(self.unlock_clicked)
        self.message_label = QLabel("")
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setFont(pixel_font(18, bold=True))

        numbers = QHBoxLayout()
        numbers.addStretch(1)
        for label in self.values.values():
            label.setFont(pixel_font(56, bold=True))
            numbers.addWidget(label)
            numbers.addSpacing(40)
        numbers.addStretch(1)
        form = QHBoxLayout()
        form.addStretch(1)
        for widget in (self.name_edit, self.password_edit, self.unlock_button):
            widget.setMinimumHeight(48)
            widget.setFont(pixel_font(20))
            form.addWidget(widget)
        form.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(self.status_label)
        layout.addLayout(numbers)
        layout.addStretch(1)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addStretch(2)
        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self.refresh)
        self._covered: list[QWidget] = []  # what the lock disabled (keyboard focus must not reach it)
        self.hide()

    @property
    def locked(self) -> bool:
        return not self.isHidden()

    def refresh(self) -> None:
        """The tiles' numbers in the colours the tiles draw them in now (an alarm colour included)."""
        theme = self.theme()
        self.setStyleSheet(f"#lockScreen {{ background: {theme.background}; }} QLabel {{ color: {theme.text}; }}")
        for tile, label in self.values.items():
            text = tile.value_label.text()
            label.setText(f"{tile.title_label.text()} {text}")
            label.setStyleSheet(f"color: {tile.value_colour or theme.text};")
        self.setGeometry(self.window_.rect())

    def lock(self) -> None:
        if self.locked:
            return
        user = self.current_user()
        self.name_edit.setText(user.username if user is not None else "")
        self.password_edit.clear()
        self.message_label.setText("")
        demo = user is not None and user.is_demo
        self.password_edit.setVisible(not demo)  # the demo account has no password to type
        self.refresh()
        self._covered = [w for w in self.covered() if w is not None and w.isEnabled()]
        for widget in self._covered:
            widget.setEnabled(False)
        self.show()
        self.raise_()
        self.timer.start()
        (self.name_edit if demo else self.password_edit).setFocus()

    def unlock_clicked(self) -> None:
        current = self.current_user()
        name = self.name_edit.text().strip()
        if current is not None and current.is_demo and name == current.username:
            self.unlock(current)
            return
        try:
            user = self.directory.authenticate(name, self.password_edit.text())
        except UserError as error:
            self.password_edit.clear()
            self.message_label.setText(sentence(str(error)))
            return
        self.unlock(user)

    def unlock(self, user: User) -> None:
        self.timer.stop()
        self.hide()
        self.password_edit.clear()
        for widget in self._covered:
            widget.setEnabled(True)
        self._covered = []
        self.unlocked(user)


class InactivityLock(QObject):
    """Watches the application's input; after ``minutes`` without any, locks the window. ``clock`` is
    monotonic seconds (a test passes its own)."""

    def __init__(
        self,
        screen: LockScreen,
        minutes: float = LOCK_AFTER_MIN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(screen)
        self.screen = screen
        self.minutes = minutes
        self.clock = clock
        self.last_input = clock()
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.check)
        self.timer.start()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() in _ACTIVITY:
            self.last_input = self.clock()
        return False

    def check(self) -> None:
        if not self.screen.locked and self.clock() - self.last_input >= self.minutes * 60:
            self.screen.lock()

    def stop(self) -> None:
        self.timer.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
