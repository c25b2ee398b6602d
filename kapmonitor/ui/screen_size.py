"""Windows open at the size they were designed for, never larger than the screen they open on: a 1366x768
laptop shows every window whole, title bar included, and a desk monitor shows them at ease."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QWidget

TITLE_BAR_ALLOWANCE = 32  # the window manager's frame above a window, inside the screen's free area


def fitting_size(window: QWidget, wanted: tuple[int, int]) -> tuple[int, int]:
    """``wanted``, shrunk to the free area of the screen ``window`` is on (the primary screen before it is
    shown), less the title bar; no smaller than the window's own minimum."""
    screen = window.screen() or QApplication.primaryScreen()
    if screen is None:
        return wanted
    free = screen.availableGeometry()
    least = window.minimumSizeHint()
    width = max(min(wanted[0], free.width()), least.width())
    height = max(min(wanted[1], free.height() - TITLE_BAR_ALLOWANCE), least.height())
    return width, height


def open_fitting(window: QWidget, wanted: tuple[int, int]) -> None:
    """Resize ``window`` to ``wanted`` as far as its screen allows."""
    window.resize(*fitting_size(window, wanted))
