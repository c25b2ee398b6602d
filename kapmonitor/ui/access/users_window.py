"""The administrator's user list: who may use this monitor and in which roles; add a user, unlock an account."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.bed.port import UserAccounts
from kapmonitor.core.access import MIN_PASSWORD_LENGTH, ROLES, User, require
from kapmonitor.core.errors import UserError
from kapmonitor.ui.access.login_dialog import sentence
from kapmonitor.ui.widgets.pick_table import pick_table

ROLE_HELP = {
    "nurse": "enters doses, ratings and notes",
    "clinician": "signs sessions",
    "technician": "sets up devices and alarm profiles",
    "administrator": "manages users",
}


class UsersWindow(QDialog):
    def __init__(self, directory: UserAccounts, admin: User, parent: QWidget | None = None) -> None:
        require(admin, "user.manage")  # the menu offers it only to administrators; this is the real check
        super().__init__(parent)
        self.directory = directory
        self.admin = admin
        self.setWindowTitle("Users")
        self.setMinimumSize(640, 480)

        self.table = pick_table(["User", "Roles"], fit_columns=1)
        self.name_edit = QLineEdit()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText(f"at least {MIN_PASSWORD_LENGTH} characters")
        self.role_boxes = {role: QCheckBox(f"{role} \u2014 {ROLE_HELP[role]}") for role in ROLES}
        self.add_button = QPushButton("Add user")
        self.add_button.clicked.connect(self.add_clicked)
        self.unlock_button = QPushButton("Unlock selected account")
        self.unlock_button.clicked.connect(self.unlock_clicked)
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("User name", self.name_edit)
        form.addRow("Password", self.password_edit)
        roles = QVBoxLayout()
        for box in self.role_boxes.values():
            roles.addWidget(box)
        form.addRow("Roles", roles)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.unlock_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message_label)
        self.refresh()

    def refresh(self) -> None:
        users = self.directory.users()
        self.table.setRowCount(len(users))
        for row, user in enumerate(users):
            self.table.setItem(row, 0, QTableWidgetItem(user.username))
            self.table.setItem(row, 1, QTableWidgetItem(", ".join(r for r in ROLES if r in user.roles)))

    def add_clicked(self) -> None:
        roles = [role for role, box in self.role_boxes.items() if box.isChecked()]
        if not roles:
            self._say("Tick at least one role.")
            return
        try:
            user = self.directory.add_user(self.admin, self.name_edit.text(), roles, self.password_edit.text())
        except UserError as error:
            self._say(sentence(str(error)))
            return
        self.name_edit.clear()
        self.password_edit.clear()
        for box in self.role_boxes.values():
            box.setChecked(False)
        self.refresh()
        self._say(f"Added {user.username} ({', '.join(sorted(user.roles))}).")

    def unlock_clicked(self) -> None:
        row = self.table.currentRow()
        cell = self.table.item(row, 0) if row >= 0 else None
        if cell is None:
            self._say("Select the account to unlock first.")
            return
        name = cell.text()
        try:
            self.directory.unlock(self.admin, name)
        except UserError as error:
            self._say(sentence(str(error)))
            return
        self._say(f"{name} can log in again.")

    def _say(self, text: str) -> None:
        self.message_label.setText(text)
