"""The confirmation before a record is signed: which patient and session, as whom, and the password again.

Read at a desk, but as a record's last step: the patient, the session, its protocol in the clinic's words and
the signer on top in large type, what signing does under it, then the password field and the two buttons.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from kapmonitor.core.clock import US_PER_S
from kapmonitor.export.loader import SessionInfo
from kapmonitor.session.templates import builtin_templates
from kapmonitor.ui.widgets.fonts import pixel_font

DIALOG_MIN_WIDTH = 560
TEXT_PX = 16  # the dialog's words; the question on top larger still
QUESTION_PX = 19


def _when(t_us: int | None) -> str:
    if t_us is None:
        return "-"
    return datetime.fromtimestamp(t_us / US_PER_S).astimezone().strftime("%Y-%m-%d %H:%M")


def protocol_words(protocol: str) -> str:
    """A session's protocol as the clinic names it ("IV ketamine infusion", not "iv-infusion")."""
    template = builtin_templates().get(protocol) if protocol else None
    return template.title if template is not None else protocol or "no protocol"


def sign_question(info: SessionInfo, username: str) -> str:
    return f"Sign session {info.id} of patient {info.patient} as {username}?"


def session_words(info: SessionInfo) -> str:
    end = _when(info.end_us)[-5:] if info.end_us is not None else "-"
    return f"{protocol_words(info.protocol)}, {_when(info.start_us)} to {end}"


SIGN_NOTE = "Signing locks the record: later changes are addenda, each with who, when and why."


class SignDialog(QDialog):
    def __init__(self, info: SessionInfo, username: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Sign session {info.id}")
        self.question = QLabel(sign_question(info, username))
        self.question.setFont(pixel_font(QUESTION_PX, bold=True))
        self.question.setWordWrap(True)
        self.details = QLabel(session_words(info))
        self.details.setWordWrap(True)
        self.note = QLabel(SIGN_NOTE)
        self.note.setWordWrap(True)
        self.password_label = QLabel(f"Password of {username}, typed again:")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText(f"Password of {username}")
        self.password_label.setBuddy(self.password)
        for widget in (self.details, self.note, self.password_label, self.password):
            widget.setFont(pixel_font(TEXT_PX))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.sign_button = buttons.addButton(f"Sign as {username}", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_button.setEnabled(False)
        self.cancel_button = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        for button in (self.sign_button, self.cancel_button):
            button.setFont(pixel_font(TEXT_PX))
        self.password.textChanged.connect(lambda text: self.sign_button.setEnabled(bool(text)))
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 14)
        layout.setSpacing(8)
        layout.addWidget(self.question)
        layout.addWidget(self.details)
        layout.addSpacing(6)
        layout.addWidget(self.note)
        layout.addSpacing(6)
        layout.addWidget(self.password_label)
        layout.addWidget(self.password)
        layout.addSpacing(6)
        layout.addWidget(buttons)
        # Never smaller than the wrapped words need at the least width: a dialog's own least height ignores
        # wrapping, and a window manager would let the question be cut to its first line.
        self.setMinimumSize(DIALOG_MIN_WIDTH, layout.totalHeightForWidth(DIALOG_MIN_WIDTH))
        self.password.setFocus()


def ask_password_to_sign(parent: QWidget, info: SessionInfo, username: str) -> str | None:
    """The password typed in the confirmation, or None when it was cancelled."""
    dialog = SignDialog(info, username, parent)
    return dialog.password.text() if dialog.exec() == QDialog.DialogCode.Accepted else None
