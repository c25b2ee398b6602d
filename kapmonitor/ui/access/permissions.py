"""Who is at the monitor, on the main window: their name (or DEMO USER) in the menu bar, the Users window for
administrators, and the inactivity lock. (The clinical panels their roles allow: ``ui.clinical.permissions``.)"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow

from kapmonitor.bed.port import UserAccounts
from kapmonitor.core.access import ROLES, User
from kapmonitor.ui.access.lock_screen import LOCK_AFTER_MIN, InactivityLock, LockScreen
from kapmonitor.ui.access.password_dialog import PasswordDialog
from kapmonitor.ui.access.users_window import UsersWindow
from kapmonitor.ui.theme import Theme

DEMO_USER = "DEMO USER"


def user_text(user: User | None) -> str:
    if user is None:
        return ""
    if user.is_demo:
        return DEMO_USER
    return f"{user.username} ({', '.join(r for r in ROLES if r in user.roles)})"


class TrustControls:
    """The user label, the Users menu and the lock of one main window, which builds them (``lock_screen``: the
    LockScreen it made over itself) when logins start."""

    def __init__(
        self,
        window: QMainWindow,
        directory: UserAccounts,
        lock_screen: LockScreen,
        *,
        theme: Callable[[], Theme],
        current_user: Callable[[], User | None],
        lock_after_min: float = LOCK_AFTER_MIN,
    ) -> None:
        self.window, self.directory, self.theme, self.current_user = window, directory, theme, current_user
        self.user_label = QLabel("")
        self.user_label.setObjectName("userLabel")
        font = QFont()
        font.setPixelSize(20)
        font.setBold(True)
        self.user_label.setFont(font)
        self.user_label.setContentsMargins(12, 2, 12, 2)
        window.menuBar().setCornerWidget(self.user_label, Qt.Corner.TopRightCorner)
        menu = window.menuBar().addMenu("&User")
        self.lock_action = QAction("Lock screen / switch user", window)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.users_action = QAction("Manage users\u2026", window)
        self.password_action = QAction("Change my password\u2026", window)
        menu.addAction(self.lock_action)
        menu.addAction(self.password_action)
        menu.addAction(self.users_action)
        self.lock_screen = lock_screen
        self.lock_action.triggered.connect(self.lock_screen.lock)
        self.users_action.triggered.connect(self.open_users)
        self.password_action.triggered.connect(self.change_password)
        self.inactivity = InactivityLock(self.lock_screen, lock_after_min)
        self.users_window: UsersWindow | None = None
        user = current_user()
        if user is not None:
            self.show_user(user)

    def show_user(self, user: User) -> None:
        self.user_label.setText(user_text(user))
        theme = self.theme()
        if user.is_demo:
            self.user_label.setStyleSheet(f"background: {theme.banner}; color: #ffffff; border-radius: 4px;")
        else:
            self.user_label.setStyleSheet(f"color: {theme.text};")
        self.users_action.setEnabled(user.may("user.manage"))
        self.users_action.setToolTip("" if user.may("user.manage") else "Only an administrator manages users.")
        self.password_action.setEnabled(not user.is_demo)
        self.password_action.setToolTip("The demo user has no password." if user.is_demo else "")

    def open_users(self) -> UsersWindow | None:
        user = self.current_user()
        if user is None or not user.may("user.manage"):
            return None
        self.users_window = UsersWindow(self.directory, user, self.window)
        self.users_window.show()
        return self.users_window

    def change_password(self) -> PasswordDialog | None:
        user = self.current_user()
        if user is None or user.is_demo:
            return None
        dialog = PasswordDialog(self.directory, user, self.window)
        dialog.open()
        return dialog

    def stop(self) -> None:
        self.inactivity.stop()
