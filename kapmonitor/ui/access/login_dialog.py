"""Logging in: on a fresh database the first person sets up the administrator account; after that, a user name
and password. Messages are plain and do not tell which user names exist."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.bed.port import UserAccounts
from kapmonitor.core.access import MIN_PASSWORD_LENGTH, User
from kapmonitor.core.errors import UserError
from kapmonitor.ui import theme as themes

FIRST_ADMIN_TITLE = "Set up kapmonitor"
FIRST_ADMIN_TEXT = (
    "This database has no users yet. Create the administrator account: the administrator adds the nurses, "
    "clinicians and technicians who use this monitor."
)
LOGIN_TITLE = "Log in to kapmonitor"
PASSWORDS_DIFFER = "The two passwords differ: type the same password twice."


def sentence(message: str) -> str:
    """A UserError's text as a sentence on screen."""
    text = message.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else ""


class LoginDialog(QDialog):
    """Asks who is at the monitor. ``user`` holds the result once the dialog is accepted."""

    def __init__(self, directory: UserAccounts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.directory = directory
        self.first_admin = directory.needs_first_admin()
        self.user: User | None = None
        self.setWindowTitle(FIRST_ADMIN_TITLE if self.first_admin else LOGIN_TITLE)
        self.setMinimumWidth(460)
        # Shown before the main window: in the station's theme, so a dim room is not lit by a white dialog.
        self.setStyleSheet(themes.stylesheet(themes.remembered_theme(themes.settings())))

        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("user name")
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat_edit = QLineEdit()
        self.repeat_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.message_label = QLabel("")
        self.message_label.setObjectName("loginMessage")
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #c0392b; font-weight: bold;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create administrator" if self.first_admin else "Log in")
        self.ok_button.setDefault(True)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("User name", self.name_edit)
        form.addRow("Password", self.password_edit)
        if self.first_admin:
            self.password_edit.setPlaceholderText(f"at least {MIN_PASSWORD_LENGTH} characters")
            form.addRow("Repeat password", self.repeat_edit)
        layout = QVBoxLayout(self)
        if self.first_admin:
            intro = QLabel(FIRST_ADMIN_TEXT)
            intro.setWordWrap(True)
            layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(buttons)
        self.name_edit.setFocus()

    def submit(self) -> None:
        name, password = self.name_edit.text().strip(), self.password_edit.text()
        if not name:
            self._say("Enter your user name.")
            return
        try:
            if self.first_admin:
                if password != self.repeat_edit.text():
                    self._say(PASSWORDS_DIFFER)
                    return
                self.user = self.directory.create_first_admin(name, password)
            else:
                self.user = self.directory.authenticate(name, password)
        except UserError as error:
            self.password_edit.clear()
            self.repeat_edit.clear()
            self.password_edit.setFocus()
            self._say(sentence(str(error)))
            return
        self.accept()

    def _say(self, text: str) -> None:
        self.message_label.setText(text)


def log_in(directory: UserAccounts, parent: QWidget | None = None) -> User | None:
    """Show the dialog until someone logs in (their User) or it is cancelled (None)."""
    dialog = LoginDialog(directory, parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.user
