"""What the two window applications (the bedside monitor and the central station) check and set up before and
around Qt: why a window cannot open here, in words a user can act on, and a clean quit on Ctrl+C or SIGTERM.

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


QUIT_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def quit_on_interrupt(app: QCoreApplication, window: QObject) -> Iterator[None]:
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
