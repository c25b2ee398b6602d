"""The administrator's user list: who may use this monitor and in which roles; add a user, change the roles or
the password of the selected one, unlock, deactivate or reactivate an account. Every change is audited."""

from __future__ import annotations

from collections.abc import Callable

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

        self.table = pick_table(["User", "Roles", "Status"], fit_columns=1)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.name_edit = QLineEdit()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setPlaceholderText(f"at least {MIN_PASSWORD_LENGTH} characters")
        self.role_boxes = {role: QCheckBox(f"{role} \u2014 {ROLE_HELP[role]}") for role in ROLES}
        self.add_button = QPushButton("Add user")
        self.add_button.clicked.connect(self.add_clicked)
        self.unlock_button = QPushButton("Unlock")
        self.unlock_button.setToolTip("Let the selected account log in again after too many failed logins")
        self.unlock_button.clicked.connect(self.unlock_clicked)
        self.roles_button = QPushButton("Set roles")
        self.roles_button.setToolTip("Give the selected account the ticked roles")
        self.roles_button.clicked.connect(self.roles_clicked)
        self.password_button = QPushButton("Set password")
        self.password_button.setToolTip("Give the selected account the password typed above")
        self.password_button.clicked.connect(self.password_clicked)
        self.active_button = QPushButton("Deactivate")
        self.active_button.setToolTip(
            "A deactivated account can no longer log in or sign; it and everything it did stay on record"
        )
        self.active_button.clicked.connect(self.active_clicked)
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
        buttons.addStretch(1)
        selected = QLabel("Selected account:")
        buttons.addWidget(selected)
        for button in (self.roles_button, self.password_button, self.unlock_button, self.active_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.message_label)
        self.refresh()

    def refresh(self) -> None:
        chosen = self._selected()
        accounts = self.directory.accounts()
        self.table.setRowCount(len(accounts))
        for row, (user, active) in enumerate(accounts):
            self.table.setItem(row, 0, QTableWidgetItem(user.username))
            self.table.setItem(row, 1, QTableWidgetItem(", ".join(r for r in ROLES if r in user.roles)))
            self.table.setItem(row, 2, QTableWidgetItem("active" if active else "deactivated"))
            if user.username == chosen:
                self.table.selectRow(row)
        self._selection_changed()

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
        name = self._selected()
        if name is None:
            self._say("Select the account to unlock first.")
            return
        if self._done(lambda: self.directory.unlock(self.admin, name)):
            self._say(f"{name} can log in again.")

    def roles_clicked(self) -> None:
        name = self._selected()
        roles = [role for role, box in self.role_boxes.items() if box.isChecked()]
        if name is None:
            self._say("Select the account whose roles to set first.")
        elif not roles:
            self._say(f"Tick the roles {name} should have.")
        elif self._done(lambda: self.directory.set_roles(self.admin, name, roles)):
            self._say(f"{name} now has the roles {', '.join(r for r in ROLES if r in roles)}.")

    def password_clicked(self) -> None:
        name = self._selected()
        if name is None:
            self._say("Select the account whose password to set first.")
        elif self._done(lambda: self.directory.set_password(self.admin, name, self.password_edit.text())):
            self.password_edit.clear()
            self._say(f"{name}'s password is changed.")

    def active_clicked(self) -> None:
        name = self._selected()
        if name is None:
            self._say("Select the account to deactivate or reactivate first.")
        elif self._active(name):
            if self._done(lambda: self.directory.deactivate(self.admin, name)):
                self._say(f"{name} is deactivated: the account can no longer log in or sign.")
        elif self._done(lambda: self.directory.reactivate(self.admin, name)):
            self._say(f"{name} is active again.")

    def _selected(self) -> str | None:
        row = self.table.currentRow()
        cell = self.table.item(row, 0) if row >= 0 and self.table.selectedItems() else None
        return cell.text() if cell is not None else None

    def _active(self, name: str) -> bool:
        return any(user.username == name and active for user, active in self.directory.accounts())

    def _selection_changed(self) -> None:
        name = self._selected()
        for button in (self.roles_button, self.password_button, self.unlock_button, self.active_button):
            button.setEnabled(name is not None)
        self.active_button.setText("Reactivate" if name is not None and not self._active(name) else "Deactivate")

    def _done(self, change: Callable[[], object]) -> bool:
        """Run an account change; a refusal is said in one sentence. The table shows the result either way."""
        try:
            change()
        except UserError as error:
            self._say(sentence(str(error)))
            return False
        finally:
            self.refresh()
        return True

    def _say(self, text: str) -> None:
        self.message_label.setText(text)
