"""Every dialog and secondary window fits a 1366x768 laptop: opened at its designed size or the screen's,
whichever is smaller, with every control on it and no table cell cut. Each is grabbed at that size to PNG
(in a temporary directory) and its texts are checked, so a cut-off button fails here, not at the bedside."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from screen_fit import LAPTOP, fits, grab
from ui_station_double import StationDouble

from kapmonitor.bed.records import ClinicRecords
from kapmonitor.bed.station import Station
from kapmonitor.core.access import User
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.db import open_database
from kapmonitor.ui.access.login_dialog import LoginDialog
from kapmonitor.ui.access.password_dialog import PasswordDialog
from kapmonitor.ui.access.users_window import UsersWindow
from kapmonitor.ui.live.alarm_limits import AlarmLimitsDialog
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.review.session_browser import SessionBrowser
from kapmonitor.ui.theme import DARK

ADMIN_PASSWORD = "correct horse"


def on_laptop(widget: QWidget) -> tuple[int, int]:
    """The size a window opens at on the laptop: its designed size, no larger than the screen."""
    return min(widget.width(), LAPTOP[0]), min(widget.height(), LAPTOP[1])


def check(qtbot: QtBot, widget: QWidget, tmp_path: Path, name: str) -> None:
    widget.show()
    qtbot.waitExposed(widget)
    hint = widget.minimumSizeHint()
    assert hint.width() <= LAPTOP[0] and hint.height() <= LAPTOP[1], (name, hint)
    size = on_laptop(widget)
    assert fits(widget, size) == [], name
    image = grab(widget, tmp_path / f"{name}-laptop.png")
    assert (image.width(), image.height()) == size


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    bed = Station(f"sqlite:///{tmp_path / 'bed.sqlite'}", record=False)
    yield bed
    bed.stop()


@pytest.fixture
def records(tmp_path: Path) -> ClinicRecords:
    return ClinicRecords(open_database(f"sqlite:///{tmp_path / 'clinic.sqlite'}"))


def test_the_alarm_limits_screen_fits(qtbot: QtBot, station: Station, tmp_path: Path) -> None:
    dialog = AlarmLimitsDialog(station, User("nina", frozenset({"nurse"})), theme=DARK)
    qtbot.addWidget(dialog)
    dialog.resize(1100, 780)  # what it asks for on a screen with room
    check(qtbot, dialog, tmp_path, "alarm-limits")
    assert dialog.rows["nibp_systolic"].threshold("high") == 180


def test_the_discharge_dialog_fits(qtbot: QtBot, tmp_path: Path) -> None:
    window = MainWindow(StationDouble(), store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.plot_timer.stop()
    window.status_timer.stop()
    template = builtin_templates()["intranasal-esketamine"]
    dock = window.set_clinical(SessionRecord.for_template(template), template, 70.0, author="RN Kim")
    dialog = dock.open_discharge()
    dialog.resize(760, 820)
    check(qtbot, dialog, tmp_path, "discharge")


def test_the_login_and_users_windows_fit(qtbot: QtBot, records: ClinicRecords, tmp_path: Path) -> None:
    login = LoginDialog(records.users)
    qtbot.addWidget(login)
    check(qtbot, login, tmp_path, "login")
    admin = records.users.create_first_admin("ada", ADMIN_PASSWORD)
    users = UsersWindow(records.users, admin)
    qtbot.addWidget(users)
    users.resize(900, 600)
    check(qtbot, users, tmp_path, "users")
    password = PasswordDialog(records.users, admin)
    qtbot.addWidget(password)
    check(qtbot, password, tmp_path, "password")


def test_the_session_browser_fits(qtbot: QtBot, records: ClinicRecords, tmp_path: Path) -> None:
    browser = SessionBrowser(records, author="Dr. A. Lee", theme=DARK)
    qtbot.addWidget(browser)
    browser.resize(1100, 650)
    check(qtbot, browser, tmp_path, "sessions")
