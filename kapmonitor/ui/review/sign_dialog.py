"""The confirmation before a record is signed: which patient and session, as whom, and the password again."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from kapmonitor.core.clock import US_PER_S
from kapmonitor.export.loader import SessionInfo


def _when(t_us: int | None) -> str:
    if t_us is None:
        return "-"
    return datetime.fromtimestamp(t_us / US_PER_S).astimezone().strftime("%Y-%m-%d %H:%M")


def sign_question(info: SessionInfo, username: str) -> str:
    end = _when(info.end_us)[-5:] if info.end_us is not None else "-"
    return (
        f"Sign session {info.id} of patient {info.patient}\n"
        f"{info.protocol or 'no protocol'}, {_when(info.start_us)} to {end}\n"
        f"as {username}?\n\n"
        "Signing locks the record: later changes are addenda. Type your password again to sign."
    )


class SignDialog(QDialog):
    def __init__(self, info: SessionInfo, username: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Sign session {info.id}")
        self.question = QLabel(sign_question(info, username))
        self.question.setWordWrap(True)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(f"Password of {username}")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_button = buttons.addButton(f"Sign as {username}", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_button.setEnabled(False)
        self.password.textChanged.connect(lambda text: self.sign_button.setEnabled(bool(text)))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.question)
        layout.addWidget(self.password)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)


def ask_password_to_sign(parent: QWidget, info: SessionInfo, username: str) -> str | None:
    """The password typed in the confirmation, or None when it was cancelled."""
    dialog = SignDialog(info, username, parent)
    return dialog.password.text() if dialog.exec() == QDialog.DialogCode.Accepted else None
