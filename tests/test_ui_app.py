"""Start-up: plain messages instead of Qt aborts, and the demo's simulated monitors and session."""

from __future__ import annotations

import sys
import types

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from ui_station_double import StationDouble

from kapmonitor.ui import app
from kapmonitor.ui.main_window import MainWindow


def no_library(name: str) -> None:
    return None


def every_library(name: str) -> str:
    return f"lib{name}.so.0"


def any_server(display: str) -> bool:
    return True


def test_linux_without_any_display_is_refused_in_words() -> None:
    problem = app.display_problem({}, "linux", no_library)
    assert problem is not None
    assert problem.startswith("kapmonitor needs a graphical display")
    assert "QT_QPA_PLATFORM=offscreen" in problem


def test_x11_without_libxcb_cursor_says_which_package_to_install() -> None:
    problem = app.display_problem({"DISPLAY": ":0"}, "linux", no_library)
    assert problem is not None
    assert "libxcb-cursor0" in problem and "sudo apt-get install libxcb-cursor0" in problem
    assert app.display_problem({"DISPLAY": ":0"}, "linux", every_library, any_server) is None


def test_an_unreachable_x_display_is_reported_before_qt_would_abort() -> None:
    problem = app.display_problem({"DISPLAY": ":99"}, "linux", every_library, lambda display: False)
    assert problem == app.NO_X_SERVER.format(display=":99")
    assert (
        app.display_problem({"QT_QPA_PLATFORM": "xcb"}, "linux", every_library, any_server) == app.NO_DISPLAY
    )


@pytest.mark.parametrize(
    "environ",
    [
        {"QT_QPA_PLATFORM": "offscreen"},
        {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"},
        {"WAYLAND_DISPLAY": "wayland-0"},
    ],
)
def test_offscreen_and_wayland_need_no_x11_cursor_library(environ: dict[str, str]) -> None:
    assert app.display_problem(environ, "linux", no_library, any_server) is None


def test_an_explicit_xcb_platform_is_checked_too() -> None:
    assert (
        app.display_problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}, "linux", no_library)
        == app.NO_XCB_CURSOR
    )


def test_other_systems_use_their_native_windows() -> None:
    assert app.display_problem({}, "win32", no_library) is None
    assert app.display_problem({}, "darwin", no_library) is None


def test_pyside_6_12_0_is_refused_only_before_python_3_12() -> None:
    message = app.pyside_problem((3, 11), "6.12.0")
    assert message is not None and "none_dealloc" in message and "3.11" in message
    assert app.pyside_problem((3, 12), "6.12.0") is None
    assert app.pyside_problem((3, 11), "6.11.3") is None


def test_run_without_a_display_prints_the_message_and_returns_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(app.sys, "platform", "linux")
    assert app.run(None, demo=False) == 1
    err = capsys.readouterr().err
    assert err.startswith("kapmonitor needs a graphical display") and "Traceback" not in err


@pytest.fixture
def fake_station_module(monkeypatch: pytest.MonkeyPatch) -> list[StationDouble]:
    """kapmonitor.station is written in parallel; until it lands, run() gets the double through the import."""
    made: list[StationDouble] = []

    def station(db_url: str | None = None) -> StationDouble:
        made.append(StationDouble())
        return made[-1]

    monkeypatch.setitem(sys.modules, "kapmonitor.station", types.SimpleNamespace(Station=station))
    return made


def run_and_capture_window(qapp: QApplication, demo: bool) -> tuple[int, MainWindow]:
    seen: list[MainWindow] = []

    def look_then_quit() -> None:
        seen.extend(w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        qapp.quit()

    QTimer.singleShot(0, look_then_quit)
    code = app.run(None, demo=demo)
    return code, seen[0]


def test_demo_streams_simulated_monitors_into_a_demo_session(
    qapp: QApplication, fake_station_module: list[StationDouble]
) -> None:
    code, window = run_and_capture_window(qapp, demo=True)
    station = fake_station_module[0]
    assert code == 0
    assert station.simulated == ["nonin-df7", "suntech-advantage"]
    assert station.started_sessions == [("DEMO-001", "")]
    assert window.banner.text() == "DEMO \u2014 simulated monitors" and not window.banner.isHidden()
    assert station.stopped
    window.deleteLater()


def test_demo_without_a_cuff_protocol_says_so_on_the_banner(
    qapp: QApplication, fake_station_module: list[StationDouble], monkeypatch: pytest.MonkeyPatch
) -> None:
    original_init = StationDouble.__init__

    def init(self: StationDouble) -> None:
        original_init(self)
        self.unavailable = {"suntech-advantage"}

    monkeypatch.setattr(StationDouble, "__init__", init)
    code, window = run_and_capture_window(qapp, demo=True)
    assert code == 0
    assert "no simulated blood pressure" in window.banner.text()
    assert fake_station_module[0].simulated == ["nonin-df7"]
    window.deleteLater()


def test_without_demo_the_window_opens_with_no_devices_and_no_session(
    qapp: QApplication, fake_station_module: list[StationDouble]
) -> None:
    code, window = run_and_capture_window(qapp, demo=False)
    station = fake_station_module[0]
    assert code == 0
    assert station.simulated == [] and station.started_sessions == []
    assert window.banner.isHidden() and window.session_panel.start_button.isEnabled()
    assert not window.device_strip.empty_label.isHidden()
    window.deleteLater()
