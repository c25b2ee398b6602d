"""Who is at the monitor, on the main window: their name (or DEMO USER) in the menu bar, the clinical panels
their roles allow (the others greyed out with a tooltip saying why), the Users window for administrators, and
the inactivity lock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import QLabel

from kapmonitor.store.users import ROLES, User, UserDirectory, roles_granting
from kapmonitor.ui.access.lock_screen import LOCK_AFTER_MIN, InactivityLock, LockScreen
from kapmonitor.ui.access.users_window import UsersWindow

if TYPE_CHECKING:
    from kapmonitor.ui.clinical.dock import ClinicalDock
    from kapmonitor.ui.live.main_window import MainWindow

DEMO_USER = "DEMO USER"
# Each clinical panel of the dock, the permission it needs, and what that lets someone do (for the tooltip).
PANEL_PERMISSIONS = (
    ("doses", "dose.enter", "enter doses"),
    ("ratings", "rating.enter", "enter ratings"),
    ("notes", "note.enter", "write notes and quick events"),
)


def refusal_tip(user: User, permission: str, what: str) -> str:
    roles = " or ".join(roles_granting(permission))
    held = ", ".join(r for r in ROLES if r in user.roles)
    return f"Only a {roles} may {what}. {user.username} is logged in as {held}."


def user_text(user: User | None) -> str:
    if user is None:
        return ""
    if user.is_demo:
        return DEMO_USER
    return f"{user.username} ({', '.join(r for r in ROLES if r in user.roles)})"


def apply_permissions(dock: ClinicalDock, user: User | None) -> None:
    """Enable what ``user`` may do on the clinical dock; entries are written in their name. No user (a
    window without logins, as in tests of other parts) leaves everything enabled."""
    if user is None:
        return
    dock.ctx.author = user.username
    for attribute, permission, what in PANEL_PERMISSIONS:
        panel = getattr(dock, attribute)
        allowed = user.may(permission)
        tip = "" if allowed else refusal_tip(user, permission, what)
        panel.setEnabled(allowed)
        panel.setToolTip(tip)
        dock.tabs.setTabToolTip(dock.tabs.indexOf(panel), tip)
    may_note = user.may("note.enter")
    for shortcut in dock.shortcuts:
        shortcut.setEnabled(may_note)
    dock.discharge_button.setEnabled(may_note)
    dock.discharge_button.setToolTip("" if may_note else refusal_tip(user, "note.enter", "record a discharge"))


class TrustControls:
    """The user label, the Users menu and the lock of one main window."""

    def __init__(self, window: MainWindow, directory: UserDirectory, *, lock_after_min: float = LOCK_AFTER_MIN) -> None:
        self.window = window
        self.directory = directory
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
        menu.addAction(self.lock_action)
        menu.addAction(self.users_action)
        self.lock_screen = LockScreen(window, directory)
        self.lock_action.triggered.connect(self.lock_screen.lock)
        self.users_action.triggered.connect(self.open_users)
        self.inactivity = InactivityLock(self.lock_screen, lock_after_min)
        self.users_window: UsersWindow | None = None
        window.user_changed.connect(self.show_user)
        if window.current_user is not None:
            self.show_user(window.current_user)

    def show_user(self, user: User) -> None:
        self.user_label.setText(user_text(user))
        theme = self.window.theme
        if user.is_demo:
            self.user_label.setStyleSheet(f"background: {theme.banner}; color: #ffffff; border-radius: 4px;")
        else:
            self.user_label.setStyleSheet(f"color: {theme.text};")
        self.users_action.setEnabled(user.may("user.manage"))
        self.users_action.setToolTip("" if user.may("user.manage") else "Only an administrator manages users.")

    def open_users(self) -> UsersWindow | None:
        user = self.window.current_user
        if user is None or not user.may("user.manage"):
            return None
        self.users_window = UsersWindow(self.directory, user, self.window)
        self.users_window.show()
        return self.users_window

    def stop(self) -> None:
        self.inactivity.stop()


def install_trust(
    window: MainWindow, directory: UserDirectory, user: User, *, lock_after_min: float = LOCK_AFTER_MIN
) -> TrustControls:
    """Put the user label, the Users menu and the lock on ``window`` and make ``user`` its current user."""
    controls = TrustControls(window, directory, lock_after_min=lock_after_min)
    window.set_user(user)
    window.trust = controls  # type: ignore[attr-defined]
    return controls
