"""The inactivity lock covers the window and asks for a password, while readings keep arriving in the live
buffers and the recorder, the window's timers keep running and the lock screen shows the numbers' colours."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication
from store_fakes import ScriptedMonitor, stored_readings

from kapmonitor.bed.station import Station
from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import Reading
from kapmonitor.store.users import UserDirectory
from kapmonitor.ui import theme as themes
from kapmonitor.ui.access.lock_screen import MONITORING_CONTINUES, InactivityLock
from kapmonitor.ui.main_window import MainWindow

DEV = "nonin-df7@/dev/ttyUSB0"
PASSWORD = "correct horse"


def wait_until(qtbot, condition: Callable[[], bool], what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        qtbot.wait(20)


@pytest.fixture
def bed(qtbot, tmp_path: Path) -> Iterator[tuple[MainWindow, Station, ScriptedMonitor, UserDirectory]]:  # noqa: ANN001
    station = Station(f"sqlite:///{tmp_path / 'lock.sqlite'}")
    monitor = ScriptedMonitor(DEV)
    station.add_transport(monitor)
    station.start()
    directory = station.records.users
    admin = directory.create_first_admin("ada", PASSWORD)
    nina = directory.add_user(admin, "nina", "nurse", PASSWORD)
    window = MainWindow(station, store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.log_in(nina)
    window.resize(1280, 800)
    window.show()
    try:
        yield window, station, monitor, directory
    finally:
        window.trust.stop()
        window.close()
        station.stop()


def spo2(value: float) -> Reading:
    return Reading("spo2", value, "%", t_us=now_us(), device=DEV)


def stored_spo2(station: Station) -> list[float]:
    return [r.value for r in stored_readings(station.database, "spo2")]  # staged or packed


def test_while_locked_data_reaches_the_buffers_the_recorder_and_the_numbers(qtbot, bed) -> None:  # noqa: ANN001
    window, station, monitor, _ = bed
    session = station.start_session("KAP-0042")
    screen = window.trust.lock_screen
    screen.lock()
    assert screen.locked and screen.status_label.text() == MONITORING_CONTINUES
    assert screen.geometry() == window.rect()  # it covers the whole window
    assert not window.centralWidget().isEnabled() and not window.menuBar().isEnabled()
    monitor.send([spo2(97.0), spo2(84.0)])
    wait_until(qtbot, lambda: station.buffers.latest((DEV, "spo2")) is not None, "the live buffer")
    assert station.buffers.latest((DEV, "spo2")).value == 84.0
    station.recorder.flush(timeout=30)
    assert stored_spo2(station) == [97.0, 84.0]  # recorded behind the lock
    assert station.session_id == session
    assert window.plot_timer.isActive() and window.status_timer.isActive()
    wait_until(qtbot, lambda: window.spo2_tile.value_label.text() == "84", "the status timer to show 84")
    wait_until(qtbot, lambda: "84" in screen.values[window.spo2_tile].text(), "the lock screen to show 84")
    assert window.spo2_tile.value_colour in screen.values[window.spo2_tile].styleSheet()


def test_the_lock_opens_only_with_a_password_and_can_switch_user(qtbot, bed) -> None:  # noqa: ANN001
    window, _, _, _ = bed
    screen = window.trust.lock_screen
    screen.lock()
    assert screen.name_edit.text() == "nina"
    screen.password_edit.setText("not her password")
    screen.unlock_clicked()
    assert screen.locked and screen.message_label.text() == "Wrong user name or password."
    screen.name_edit.setText("ada")
    screen.password_edit.setText(PASSWORD)
    screen.unlock_clicked()
    assert not screen.locked and window.centralWidget().isEnabled() and window.menuBar().isEnabled()
    assert window.current_user is not None and window.current_user.username == "ada"
    assert window.trust.user_label.text() == "ada (administrator)"
    assert window.trust.users_action.isEnabled()


def test_minutes_without_input_lock_the_window_and_input_puts_it_off(qtbot, bed) -> None:  # noqa: ANN001
    window, _, _, _ = bed
    now = [1000.0]
    lock = InactivityLock(window.trust.lock_screen, minutes=2, clock=lambda: now[0])
    try:
        now[0] += 119
        lock.check()
        assert not window.trust.lock_screen.locked
        QApplication.sendEvent(
            window, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Shift, Qt.KeyboardModifier.NoModifier)
        )
        now[0] += 100
        lock.check()
        assert not window.trust.lock_screen.locked  # the key press started the two minutes again
        now[0] += 21
        lock.check()
        assert window.trust.lock_screen.locked
    finally:
        lock.stop()


def test_the_demo_user_unlocks_without_a_password(qtbot, bed) -> None:  # noqa: ANN001
    window, _, _, directory = bed
    window.set_user(directory.demo_user())
    screen = window.trust.lock_screen
    screen.lock()
    assert screen.password_edit.isHidden()
    screen.unlock_clicked()
    assert not screen.locked


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_lock_screen_picture(qtbot, bed, theme: str, tmp_path: Path) -> None:  # noqa: ANN001
    window, station, monitor, _ = bed
    window.set_theme(themes.THEMES[theme])
    monitor.send([spo2(84.0)])
    wait_until(qtbot, lambda: station.buffers.latest((DEV, "spo2")) is not None, "the live buffer")
    window.refresh_numbers()
    window.trust.lock_screen.lock()
    picture = window.grab()
    assert not picture.isNull() and picture.width() == window.width()
    assert picture.save(str(tmp_path / f"lock-{theme}.png"))
