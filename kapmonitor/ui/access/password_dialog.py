"""Changing one's own password: the current one typed again (checked, and a wrong one counted, as at login),
then the new one twice. The change is audited; the password itself never is."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from kapmonitor.bed.port import UserAccounts
from kapmonitor.core.access import MIN_PASSWORD_LENGTH, User
from kapmonitor.core.errors import UserError
from kapmonitor.ui.access.login_dialog import PASSWORDS_DIFFER, sentence


class PasswordDialog(QDialog):
    """``user`` changes their own password; accepted once it is stored."""

    def __init__(self, directory: UserAccounts, user: User, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.directory, self.user = directory, user
        self.setWindowTitle("Change my password")
        self.setMinimumWidth(460)
        self.current_edit, self.new_edit, self.repeat_edit = QLineEdit(), QLineEdit(), QLineEdit()
        for edit in (self.current_edit, self.new_edit, self.repeat_edit):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_edit.setPlaceholderText(f"at least {MIN_PASSWORD_LENGTH} characters")
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.message_label.setStyleSheet("color: #c0392b; font-weight: bold;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Change password")
        self.ok_button.setDefault(True)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("User", QLabel(user.username))
        form.addRow("Current password", self.current_edit)
        form.addRow("New password", self.new_edit)
        form.addRow("Repeat new password", self.repeat_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addWidget(buttons)
        self.current_edit.setFocus()

    def submit(self) -> None:
        new = self.new_edit.text()
        if new != self.repeat_edit.text():
            self._again(PASSWORDS_DIFFER, self.new_edit)
            return
        try:
            self.directory.confirm_password(self.user.username, self.current_edit.text())
        except UserError as error:
            self._again(sentence(str(error)), self.current_edit)
            return
        try:
            self.directory.set_password(self.user, self.user.username, new)
        except UserError as error:
            self._again(sentence(str(error)), self.new_edit)
            return
        self.accept()

    def _again(self, text: str, focus: QLineEdit) -> None:
        for edit in (self.current_edit, self.new_edit, self.repeat_edit):
            edit.clear()
        focus.setFocus()
        self.message_label.setText(text)
