"""Start-up of the window application: check the platform plainly, then build the station and the main window.

Every check runs before Qt widgets are imported, so a missing display or library ends in one readable message
instead of a Qt abort or stack trace.
"""

from __future__ import annotations

import ctypes.util
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from kapmonitor.ui import platform_libs

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication, QObject

    from kapmonitor.bed.station import Station
    from kapmonitor.core.access import User
    from kapmonitor.ui.live.main_window import MainWindow

NO_DISPLAY = (
    "kapmonitor needs a graphical display: no DISPLAY or WAYLAND_DISPLAY is set "
    "(run it from a desktop session, or set QT_QPA_PLATFORM=offscreen for a headless check)"
)
NO_XCB_CURSOR = (
    "kapmonitor needs the X11 cursor library libxcb-cursor0, which Qt 6 requires for X11 windows and "
    "which is missing here. Install it (Debian/Ubuntu: sudo apt-get install libxcb-cursor0; "
    "Fedora: sudo dnf install xcb-util-cursor), or run from a Wayland session."
)
NO_X_SERVER = (
    "kapmonitor cannot reach the X display {display!r} named by DISPLAY (is the desktop session still "
    "running, and is this user allowed to use it?)"
)
BAD_PYSIDE = (
    "kapmonitor cannot run on PySide6 6.12.0 with Python {python}: that combination aborts with "
    "'Fatal Python error: none_dealloc' while plotting. Install another PySide6 "
    "(pip install 'PySide6-Essentials!=6.12.0') or use Python 3.12 or newer."
)


def qt_platform(environ: Mapping[str, str], platform: str = sys.platform) -> str | None:
    """The Qt platform plugin that would be tried first, or None when no display is reachable."""
    chosen = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen
    if not platform.startswith("linux"):
        return "native"
    # Qt 6 prefers Wayland only in a Wayland session, and falls back to X11 (xcb) otherwise.
    if environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland":
        return "wayland"
    if environ.get("DISPLAY"):
        return "xcb"
    if environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    return None


def x_display_reachable(display: str) -> bool:
    """Connect to the X server the way Qt will (libxcb); Qt itself would abort the process if this fails."""
    path = ctypes.util.find_library("xcb")
    if path is None:
        return True  # cannot ask; let Qt try
    xcb = ctypes.CDLL(path)
    xcb.xcb_connect.restype = ctypes.c_void_p
    xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
    xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
    connection = xcb.xcb_connect(display.encode(), None)
    try:
        return xcb.xcb_connection_has_error(connection) == 0
    finally:
        xcb.xcb_disconnect(connection)


def display_problem(
    environ: Mapping[str, str],
    platform: str = sys.platform,
    find_library: Callable[[str], str | None] = ctypes.util.find_library,
    reachable: Callable[[str], bool] = x_display_reachable,
    missing_xcb: Callable[[], list[str]] = platform_libs.missing_libraries,
) -> str | None:
    """Why a window cannot open here, in words a user can act on; None when it can."""
    chosen = qt_platform(environ, platform)
    if chosen is None:
        return NO_DISPLAY
    if chosen == "xcb":
        if find_library("xcb-cursor") is None:
            return NO_XCB_CURSOR
        missing = platform_libs.problem(missing_xcb())
        if missing:
            return missing
        display = environ.get("DISPLAY", "")
        if not display:
            return NO_DISPLAY
        if not reachable(display):
            return NO_X_SERVER.format(display=display)
    return None


def pyside_problem(python: tuple[int, int], pyside_version: str) -> str | None:
    if python < (3, 12) and pyside_version == "6.12.0":
        return BAD_PYSIDE.format(python=f"{python[0]}.{python[1]}")
    return None


def installed_pyside() -> str:
    import PySide6  # the package only: no Qt libraries are loaded by this import

    return str(PySide6.__version__)


def startup_problem() -> str | None:
    return pyside_problem(sys.version_info[:2], installed_pyside()) or display_problem(os.environ)


def run(db_url: str | None, demo: bool, bed: str | None = None) -> int:
    problem = startup_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1

    from PySide6.QtWidgets import QApplication

    from kapmonitor.bed.station import Station
    from kapmonitor.ui.live.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("kapmonitor")
    try:
        station = Station(db_url, bed=bed)
    except Exception as exc:  # an unreachable or unwritable database: say so in one line
        print(f"kapmonitor: cannot open the database: {exc}", file=sys.stderr)
        return 1
    try:
        user = _log_in(station, demo)
        if user is None:
            return 0  # the login was cancelled: nothing was started
        window = MainWindow(station, demo=demo)
        window.log_in(user)
        _offer_recovery(station, window)
        if demo:
            try:
                _start_demo(station, window)
            except Exception as exc:  # no pseudo-terminals, a simulator that failed: one line, no trace
                print(f"kapmonitor: the demo could not start its simulated monitors: {exc}", file=sys.stderr)
                return 1
        else:
            _add_configured_devices(station, window)
            station.start()
        window.show()
        with _quit_on_interrupt(app, window):
            code = app.exec()
        window.close()
        if window.trust is not None:
            window.trust.stop()  # the inactivity lock stops watching input
        return code
    finally:
        station.stop()


def _log_in(station: Station, demo: bool) -> User | None:
    """The demo runs as the demo user; otherwise the login dialog (first-run administrator set-up included)."""
    from kapmonitor.ui.access.login_dialog import log_in

    directory = station.records.users
    return directory.demo_user() if demo else log_in(directory)


def _offer_recovery(station: Station, window: MainWindow) -> None:
    """Sessions a crashed kapmonitor left in progress: resume one, or close them at their last data."""
    from kapmonitor.ui.recovery_prompt import offer_recovery

    offer_recovery(station, window)


def _add_configured_devices(station: Station, window: MainWindow) -> None:
    """The devices saved in the Devices window; a bad file is shown, and the monitor opens without them."""
    from kapmonitor.bed.devices import add_configured_devices
    from kapmonitor.core.errors import UserError

    try:
        problems = add_configured_devices(station)
    except UserError as exc:
        problems = [str(exc)]
    for problem in problems:
        print(f"kapmonitor: {problem}", file=sys.stderr)
    if problems:
        window.banner.setText("Device setup: " + "; ".join(problems))
        window.banner.setVisible(True)


def _start_demo(station: Station, window: MainWindow) -> None:
    """The demo scenario's first 45 minutes already recorded (trends, doses, ratings, notes), then its simulated
    oximeter and NIBP module streaming on, each on a pseudo-terminal read through the real serial transport."""
    from kapmonitor.bed.demo import ALREADY_MINUTES, demo_scenario, start_demo

    print(f"kapmonitor: preparing the demo session ({ALREADY_MINUTES:.0f} min already recorded)", file=sys.stderr)
    demo = start_demo(station, demo_scenario())
    window.session_panel.show_running(
        demo.session_id,
        demo.patient,
        demo.protocol,
        demo.start_us,
        f"First {ALREADY_MINUTES:.0f} min replayed from the demo scenario; live from here.",
    )


QUIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _quit_on_interrupt(app: QCoreApplication, window: QObject) -> Iterator[None]:
    """Ctrl+C in the terminal, and SIGTERM (a shutdown, ``kill``), close the window cleanly: the session ends
    as when the window is closed, instead of being left for crash recovery. (Qt's loop would otherwise hide
    the signal from Python, and SIGTERM would end the process on the spot.)"""
    from PySide6.QtCore import QTimer

    previous = {number: signal.signal(number, lambda *_: app.quit()) for number in QUIT_SIGNALS}
    tick = QTimer(window)
    tick.timeout.connect(lambda: None)  # returns to the interpreter now and then so the handler can run
    tick.start(250)
    try:
        yield
    finally:
        tick.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)
