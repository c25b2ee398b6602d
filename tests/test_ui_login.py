"""Logging in on screen: the first administrator on a fresh database, plain messages for wrong passwords and
locked accounts, the administrator's Users window, what each role may do on the clinical panels, DEMO USER,
and the start-up offer to resume an interrupted session."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDialog
from sqlalchemy import Engine
from ui_station_double import StationDouble

from kapmonitor.bed.records import ClinicRecords
from kapmonitor.core.access import User
from kapmonitor.core.errors import UserError
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.db import open_database
from kapmonitor.store.record_proof import verify_record
from kapmonitor.store.recovery import InterruptedSession
from kapmonitor.store.repository import SessionRepository
from kapmonitor.store.users import MAX_FAILED_LOGINS, UserDirectory
from kapmonitor.ui import app, recovery_prompt
from kapmonitor.ui.access.login_dialog import PASSWORDS_DIFFER, LoginDialog
from kapmonitor.ui.access.permissions import DEMO_USER
from kapmonitor.ui.access.users_window import UsersWindow
from kapmonitor.ui.main_window import MainWindow

PASSWORD = "correct horse"
NURSE = User("nina", frozenset({"nurse"}))
TECHNICIAN = User("tim", frozenset({"technician"}))


@pytest.fixture
def records(engine: Engine) -> ClinicRecords:
    return ClinicRecords(engine)


@pytest.fixture
def directory(records: ClinicRecords) -> UserDirectory:
    return records.users


def fill(dialog: LoginDialog, name: str, password: str, repeat: str | None = None) -> None:
    dialog.name_edit.setText(name)
    dialog.password_edit.setText(password)
    dialog.repeat_edit.setText(password if repeat is None else repeat)
    dialog.submit()


def test_a_fresh_database_sets_up_the_administrator_first(qtbot, directory: UserDirectory) -> None:  # noqa: ANN001
    dialog = LoginDialog(directory)
    qtbot.addWidget(dialog)
    assert dialog.first_admin and dialog.windowTitle() == "Set up kapmonitor"
    fill(dialog, "ada", PASSWORD, "correct h0rse")
    assert dialog.message_label.text() == PASSWORDS_DIFFER and dialog.user is None
    fill(dialog, "ada", "short")
    assert dialog.message_label.text() == "A password needs at least 8 characters."
    fill(dialog, "ada", PASSWORD)
    assert dialog.user == User("ada", frozenset({"administrator"}))
    assert not directory.needs_first_admin()
    assert [e.action for e in AuditTrail(directory.engine).entries()] == ["user.first_admin"]
    again = LoginDialog(directory)
    qtbot.addWidget(again)
    assert not again.first_admin and again.repeat_edit.isHidden()


def test_a_wrong_password_and_a_locked_account_say_so_plainly(qtbot, directory: UserDirectory) -> None:  # noqa: ANN001
    admin = directory.create_first_admin("ada", PASSWORD)
    directory.add_user(admin, "nina", "nurse", PASSWORD)
    dialog = LoginDialog(directory)
    qtbot.addWidget(dialog)
    fill(dialog, "nobody", PASSWORD)
    assert dialog.message_label.text() == "Wrong user name or password."
    for _ in range(MAX_FAILED_LOGINS):
        fill(dialog, "nina", "not her password")
        assert dialog.message_label.text() == "Wrong user name or password."
        assert dialog.password_edit.text() == ""
    fill(dialog, "nina", PASSWORD)
    assert "locked after 5 failed logins; an administrator can unlock it" in dialog.message_label.text()
    assert dialog.user is None
    directory.unlock(admin, "nina")
    fill(dialog, "nina", PASSWORD)
    assert dialog.user == User("nina", frozenset({"nurse"}))


def test_administrators_add_users_with_roles_and_others_cannot_open_the_window(
    qtbot,
    directory: UserDirectory,  # noqa: ANN001
) -> None:
    admin = directory.create_first_admin("ada", PASSWORD)
    window = UsersWindow(directory, admin)
    qtbot.addWidget(window)
    window.name_edit.setText("dr.lee")
    window.password_edit.setText(PASSWORD)
    window.add_clicked()
    assert window.message_label.text() == "Tick at least one role."
    window.role_boxes["clinician"].setChecked(True)
    window.add_clicked()
    assert window.message_label.text() == "Added dr.lee (clinician)."
    assert [window.table.item(r, 0).text() for r in range(window.table.rowCount())] == ["ada", "dr.lee"]
    assert directory.authenticate("dr.lee", PASSWORD).roles == {"clinician"}
    with pytest.raises(UserError, match="user.manage"):
        UsersWindow(directory, NURSE)


def select(window: UsersWindow, name: str) -> None:
    (row,) = [r for r in range(window.table.rowCount()) if window.table.item(r, 0).text() == name]
    window.table.selectRow(row)


def test_an_administrator_changes_roles_and_passwords_and_deactivates_accounts_each_audited(
    qtbot,
    directory: UserDirectory,  # noqa: ANN001
) -> None:
    admin = directory.create_first_admin("ada", PASSWORD)
    directory.add_user(admin, "nina", "nurse", PASSWORD)
    window = UsersWindow(directory, admin)
    qtbot.addWidget(window)
    assert not window.roles_button.isEnabled()  # nothing selected yet
    select(window, "nina")
    window.role_boxes["clinician"].setChecked(True)
    window.role_boxes["nurse"].setChecked(True)
    window.roles_clicked()
    assert window.message_label.text() == "nina now has the roles nurse, clinician."
    assert window.table.item(1, 1).text() == "nurse, clinician"
    window.password_edit.setText("short")
    window.password_clicked()
    assert window.message_label.text() == "A password needs at least 8 characters."
    window.password_edit.setText("a new password")
    window.password_clicked()
    assert window.message_label.text() == "nina's password is changed."
    assert directory.authenticate("nina", "a new password").may("session.sign")
    assert window.active_button.text() == "Deactivate"
    window.active_clicked()
    assert window.message_label.text() == "nina is deactivated: the account can no longer log in or sign."
    assert window.table.item(1, 2).text() == "deactivated" and window.active_button.text() == "Reactivate"
    with pytest.raises(UserError, match="deactivated"):
        directory.authenticate("nina", "a new password")
    window.active_clicked()
    assert window.message_label.text() == "nina is active again."
    select(window, "ada")
    window.active_clicked()
    assert window.message_label.text() == "You cannot deactivate your own account: another administrator can."
    actions = [e.action for e in AuditTrail(directory.engine).entries()]
    for action in ("user.roles", "user.password", "user.deactivate", "user.reactivate"):
        assert action in actions
    assert verify_record(directory.engine).intact


@pytest.fixture
def window(qtbot, tmp_path: Path, records: ClinicRecords) -> MainWindow:  # noqa: ANN001
    win = MainWindow(StationDouble(records), store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    return win


def open_record(window: MainWindow) -> None:
    template = builtin_templates()["im-ketamine"]
    window.set_clinical(SessionRecord.for_template(template), template, None)


def test_a_technician_sees_the_clinical_panels_greyed_with_the_reason(
    window: MainWindow, directory: UserDirectory
) -> None:
    window.log_in(TECHNICIAN)
    open_record(window)
    dock = window.clinical
    assert dock is not None
    for panel in (dock.doses, dock.ratings, dock.notes):
        assert not panel.isEnabled()
    assert dock.doses.toolTip() == "Only a nurse may enter doses. tim is logged in as technician."
    assert dock.tabs.tabToolTip(dock.tabs.indexOf(dock.ratings)).startswith("Only a nurse may enter ratings")
    assert not dock.discharge_button.isEnabled()
    assert window.trust.user_label.text() == "tim (technician)"
    assert not window.trust.users_action.isEnabled()
    window.set_user(NURSE)  # the nurse unlocks the screen as herself
    assert dock.doses.isEnabled() and dock.notes.isEnabled() and dock.doses.toolTip() == ""
    assert dock.ctx.author == "nina"


def test_a_nurses_entries_carry_her_name(window: MainWindow, directory: UserDirectory) -> None:
    window.log_in(NURSE)
    open_record(window)
    assert window.clinical is not None and window.clinical.ctx.author == "nina"
    assert window.clinical.doses.isEnabled() and window.clinical.ratings.isEnabled()


def test_the_demo_runs_as_the_demo_user_and_says_so(window: MainWindow, directory: UserDirectory) -> None:
    window.log_in(directory.demo_user())
    assert window.current_user is not None and window.current_user.is_demo
    assert window.trust.user_label.text() == DEMO_USER == "DEMO USER"


def test_the_recovery_question_names_the_session_the_patient_and_the_time() -> None:
    found = InterruptedSession(7, "KAP-0042", 0, None, None)
    text = recovery_prompt.question(found)
    assert text.startswith("Resume session 7 for KAP-0042 interrupted at ") and text.endswith("?")


def test_start_up_logs_in_then_offers_to_resume_the_interrupted_session(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'crashed.sqlite'}"
    engine = open_database(url)
    session = SessionRepository(engine).start_session("KAP-0042", "im-ketamine")  # no owner: interrupted
    engine.dispose()
    asked: list[str] = []
    monkeypatch.setattr(app, "_log_in", lambda station, demo: NURSE)
    monkeypatch.setattr(
        recovery_prompt, "ask", lambda found, parent: asked.append(recovery_prompt.question(found)) or "resume"
    )
    seen: list[MainWindow] = []

    def look_then_quit() -> None:
        seen.extend(w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        qapp.quit()

    QTimer.singleShot(0, look_then_quit)
    assert app.run(url, demo=False) == 0
    (window,) = seen
    assert len(asked) == 1 and asked[0].startswith(f"Resume session {session} for KAP-0042")
    assert window.session_panel.session_label.text() == f"Session {session}  ·  KAP-0042"
    assert window.clinical is not None and window.clinical.ctx.author == "nina"  # the protocol's record reopened
    window.deleteLater()
    engine = open_database(url)
    try:
        actions = [(e.user, e.action) for e in AuditTrail(engine).entries()]
        assert ("nina", "session.resume") in actions and ("nina", "session.stop") in actions
    finally:
        engine.dispose()


def test_a_nurse_changes_her_own_password_from_the_user_menu(window: MainWindow, directory: UserDirectory) -> None:
    admin = directory.create_first_admin("ada", PASSWORD)
    window.log_in(directory.add_user(admin, "nina", "nurse", "first password"))
    assert window.trust is not None and window.trust.password_action.isEnabled()
    dialog = window.trust.change_password()
    assert dialog is not None

    def type_in(current: str, new: str, repeat: str) -> None:
        dialog.current_edit.setText(current)
        dialog.new_edit.setText(new)
        dialog.repeat_edit.setText(repeat)
        dialog.submit()

    type_in("wrong password", "my own password", "my own password")
    assert dialog.message_label.text() == "Wrong user name or password."  # counted as a failed login
    type_in("first password", "my own password", "my own passwort")
    assert dialog.message_label.text() == PASSWORDS_DIFFER
    type_in("first password", "short", "short")
    assert dialog.message_label.text() == "A password needs at least 8 characters."
    type_in("first password", "my own password", "my own password")
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert directory.authenticate("nina", "my own password").username == "nina"
    changed = [e for e in AuditTrail(directory.engine).entries() if e.action == "user.password"]
    assert [(e.user, e.data()["by"]) for e in changed] == [("nina", "themself")]
    assert "my own password" not in changed[0].payload
    assert verify_record(directory.engine).intact
    window.set_user(directory.demo_user())
    assert not window.trust.password_action.isEnabled() and window.trust.change_password() is None
