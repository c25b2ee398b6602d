"""Start-up: plain messages instead of Qt aborts, and the demo's simulated monitors and session."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from kapmonitor.core.access import User
from kapmonitor.ui import app, startup
from kapmonitor.ui.main_window import MainWindow


def no_library(name: str) -> None:
    return None


def every_library(name: str) -> str:
    return f"lib{name}.so.0"


def any_server(display: str) -> bool:
    return True


def no_missing() -> list[str]:
    return []


def test_linux_without_any_display_is_refused_in_words() -> None:
    problem = startup.display_problem({}, "linux", no_library)
    assert problem is not None
    assert problem.startswith("kapmonitor needs a graphical display")
    assert "QT_QPA_PLATFORM=offscreen" in problem


def test_x11_without_libxcb_cursor_says_which_package_to_install() -> None:
    problem = startup.display_problem({"DISPLAY": ":0"}, "linux", no_library)
    assert problem is not None
    assert "libxcb-cursor0" in problem and "sudo apt-get install libxcb-cursor0" in problem
    assert startup.display_problem({"DISPLAY": ":0"}, "linux", every_library, any_server, no_missing) is None


def test_x11_libraries_qt_links_against_are_named_with_their_packages(tmp_path: Path) -> None:
    from kapmonitor.ui import platform_libs

    fake_ldd = tmp_path / "ldd"
    fake_ldd.write_text(
        "#!/bin/sh\necho '\tlibxcb-icccm.so.4 => not found'\necho '\tlibxkbcommon-x11.so.0 => not found'\n"
        "echo '\tlibc.so.6 => /lib/libc.so.6'\n"
    )
    fake_ldd.chmod(0o755)
    missing = platform_libs.missing_libraries(
        tmp_path / "libqxcb.so", every_library, lambda p: platform_libs.unresolved_libraries(p, str(fake_ldd))
    )
    assert missing == ["libxcb-icccm.so.4", "libxkbcommon-x11.so.0"]
    problem = startup.display_problem({"DISPLAY": ":0"}, "linux", every_library, any_server, lambda: missing)
    assert problem is not None and "sudo apt-get install libxcb-icccm4 libxkbcommon-x11-0" in problem


def test_an_unreachable_x_display_is_reported_before_qt_would_abort() -> None:
    problem = startup.display_problem({"DISPLAY": ":99"}, "linux", every_library, lambda display: False, no_missing)
    assert problem == startup.NO_X_SERVER.format(display=":99")
    assert (
        startup.display_problem({"QT_QPA_PLATFORM": "xcb"}, "linux", every_library, any_server, no_missing)
        == startup.NO_DISPLAY
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
    assert startup.display_problem(environ, "linux", no_library, any_server) is None


def test_an_explicit_xcb_platform_is_checked_too() -> None:
    assert (
        startup.display_problem({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":0"}, "linux", no_library)
        == startup.NO_XCB_CURSOR
    )


def test_other_systems_use_their_native_windows() -> None:
    assert startup.display_problem({}, "win32", no_library) is None
    assert startup.display_problem({}, "darwin", no_library) is None


def test_pyside_6_12_0_is_refused_only_before_python_3_12() -> None:
    message = startup.pyside_problem((3, 11), "6.12.0")
    assert message is not None and "none_dealloc" in message and "3.11" in message
    assert startup.pyside_problem((3, 12), "6.12.0") is None
    assert startup.pyside_problem((3, 11), "6.11.3") is None


def test_run_without_a_display_prints_the_message_and_returns_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(app.sys, "platform", "linux")
    assert app.run(None, demo=False) == 1
    err = capsys.readouterr().err
    assert err.startswith("kapmonitor needs a graphical display") and "Traceback" not in err


def run_and_capture_window(qapp: QApplication, demo: bool, db_url: str, wait_ms: int = 0) -> tuple[int, MainWindow]:
    """Run the real application loop; look at the window after ``wait_ms`` and quit."""
    seen: list[MainWindow] = []

    def look_then_quit() -> None:
        seen.extend(w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        if seen:
            seen[0].refresh_plots()
            seen[0].refresh_numbers()
        qapp.quit()

    QTimer.singleShot(wait_ms, look_then_quit)
    code = app.run(db_url, demo=demo)
    return code, seen[0]


def test_demo_streams_simulated_monitors_into_a_recorded_session(qapp: QApplication, tmp_path: Path) -> None:
    """The demo's oximeter and cuff speak their real protocols on pseudo-terminals; values reach the tiles and
    the plots, and the session is recorded in the database."""
    db_url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    code, window = run_and_capture_window(qapp, demo=True, db_url=db_url, wait_ms=4000)
    assert code == 0
    assert window.banner.text() == "DEMO \u2014 simulated monitors" and not window.banner.isHidden()
    assert window.current_user is not None and window.current_user.is_demo
    assert window.trust.user_label.text() == "DEMO USER"
    assert window.spo2_tile.value_label.text().isdigit()
    assert window.pulse_tile.value_label.text().isdigit()
    pleth_x, _ = window.pleth.curve.getData()
    assert pleth_x is not None and len(pleth_x) > 75
    window.deleteLater()

    sessions = json.loads(_cli(["sessions", "list", "--json", "--db", db_url]))
    assert [s["patient"] for s in sessions] == ["DEMO-001"]
    assert sessions[0]["status"] == "ended"  # closing the window ends the session cleanly
    tracks = {(t["device"].split("@")[0], t["metric"]): t["samples"] for t in sessions[0]["tracks"]}
    assert tracks[("nonin-df7", "pleth")] > 75
    assert tracks[("nonin-df7", "spo2")] >= 1


def test_without_demo_the_window_opens_with_no_devices_and_no_session(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    monkeypatch.setattr(app, "_log_in", lambda station, demo: User("nina", frozenset({"nurse"})))
    code, window = run_and_capture_window(qapp, demo=False, db_url=db_url)
    assert code == 0
    assert window.banner.isHidden() and window.session_panel.start_button.isEnabled()
    assert not window.device_strip.empty_label.isHidden()
    window.deleteLater()
    assert json.loads(_cli(["sessions", "list", "--json", "--db", db_url])) == []


def _cli(argv: list[str]) -> str:
    import contextlib
    import io

    from kapmonitor.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()


def test_sigterm_and_ctrl_c_quit_the_window_cleanly_and_the_handlers_are_put_back(qapp: QApplication) -> None:
    import os
    import signal

    from PySide6.QtCore import QObject

    quits: list[str] = []

    class Loop:
        def quit(self) -> None:
            quits.append("quit")

    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    owner = QObject()
    with startup.quit_on_interrupt(Loop(), owner):  # type: ignore[arg-type]
        os.kill(os.getpid(), signal.SIGTERM)  # a shutdown or `kill`: the session must end as on closing
        os.kill(os.getpid(), signal.SIGINT)
    assert quits == ["quit", "quit"]
    assert {number: signal.getsignal(number) for number in before} == before
