"""The main window at 1920x1080 (both themes) and on a 1366x768 laptop with forty minutes of a session.

`make screenshots` (KAPMONITOR_SCREENSHOTS=1) writes docs/screenshots/main-{dark,light}.png; a plain test run
renders the same into a temporary directory and checks the numbers are drawn whole and in their colours.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from ui_station_double import CUFF, OXIMETER, StationDouble, session_history, status

from kapmonitor.devices.links.transport import LinkState
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.theme import DARK, LIGHT, Theme
from kapmonitor.ui.widgets.tiles import NumericTile

NOW_US = 1_763_760_000_000_000
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def pixels_near(image: QImage, colour: str, tolerance: int = 24) -> int:
    target = QColor(colour)
    count = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            c = image.pixelColor(x, y)
            if (
                abs(c.red() - target.red()) + abs(c.green() - target.green()) + abs(c.blue() - target.blue())
                <= tolerance
            ):
                count += 1
    return count


def drawn_whole(tile: NumericTile) -> bool:
    """The layout gave the number all the room its text asks for, inside the tile (a squeezed label clips)."""
    label = tile.value_label
    inside = tile.contentsRect().contains(label.geometry())
    return label.width() >= label.sizeHint().width() and inside


@pytest.mark.parametrize(
    "theme, size, name, smallest_px",
    [
        (DARK, (1920, 1080), "main-dark", 60),
        (LIGHT, (1920, 1080), "main-light", 60),
        (DARK, (1366, 768), "main-laptop", 40),  # four tiles in 700 px: smaller numbers, all of them whole
    ],
    ids=["dark", "light", "laptop-768"],
)
def test_screenshot_of_a_session_in_progress(  # noqa: ANN001
    qtbot, tmp_path: Path, theme: Theme, size: tuple[int, int], name: str, smallest_px: int
) -> None:
    clock = [NOW_US - 40 * 60 * 1_000_000]
    station = StationDouble()
    store = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(station, clock=lambda: clock[0], store=store, demo=True)
    qtbot.addWidget(window)
    window.plot_timer.stop()
    window.status_timer.stop()
    window.session_panel.start_session("DEMO-001")
    clock[0] = NOW_US
    station.publish(session_history(NOW_US))
    station.set_statuses(
        [
            status(OXIMETER, LinkState.CONNECTED, NOW_US - 300_000, frames=2400, errors=1),
            status(CUFF, LinkState.CONNECTED, NOW_US - 2_000_000, frames=9),
        ]
    )
    window.set_theme(theme)
    window.resize(*size)  # a 1366x768 laptop too: the numbers fit the tiles, the window fits the screen
    window.show()
    qtbot.waitExposed(window)
    window.refresh_plots()
    window.refresh_numbers()
    QApplication.processEvents()  # let the layouts settle around the new texts before drawing

    image = window.grab().toImage()
    out = DOCS if os.environ.get("KAPMONITOR_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    assert image.save(str(out / f"{name}.png"))

    assert (image.width(), image.height()) == size
    assert window.spo2_tile.value_label.text() == "98"
    assert window.nibp_tile.value_label.text() == "151/94"
    assert window.session_panel.elapsed_label.text() == "0:40:00"
    for tile in window.tiles:
        assert drawn_whole(tile), tile.title_label.text()
        assert tile.value_label.font().pixelSize() >= smallest_px, tile.title_label.text()
    spo2_digits = window.spo2_tile.grab().toImage()
    assert pixels_near(spo2_digits, theme.spo2) > 1500
