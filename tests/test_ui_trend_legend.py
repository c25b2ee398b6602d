"""The key to the NIBP symbols (systolic, diastolic, mean) on the live trends lies outside the plotted area, in a
line of its own above the NIBP row, so it never covers a marker: not on a laptop's short rows with the clinical
record open, not for a blood pressure at the top of the scale. Grabbed at 1366x768 and 1920x1080."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from screen_fit import SCREENS, fits, grab
from ui_station_double import CUFF, StationDouble, reading, session_history

from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.live.main_window import MainWindow
from kapmonitor.ui.widgets.plots import AXIS_PX

NOW_US = 1_763_760_000_000_000
MIN = 60_000_000
# A hypertensive reading near the top of the row's scale, then one at the bottom: the corners get markers too.
PEAKS = ((-20, 196, 120, 145), (-10, 60, 42, 48))


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    clock = [NOW_US]
    station = StationDouble()
    shown = MainWindow(
        station, clock=lambda: clock[0], store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    )
    qtbot.addWidget(shown)
    shown.plot_timer.stop()
    shown.status_timer.stop()
    shown.session_panel.start_session("KAP-0042")
    template = builtin_templates()["iv-infusion"]
    shown.set_clinical(SessionRecord.for_template(template), template, 70.0, author="RN Kim")
    items = session_history(NOW_US)
    for minutes, systolic, diastolic, mean in PEAKS:
        t_us = NOW_US + minutes * MIN
        for metric, value in (("nibp_systolic", systolic), ("nibp_diastolic", diastolic), ("nibp_mean", mean)):
            items.append(reading(metric, value, t_us, device=CUFF))
    station.publish(sorted(items, key=lambda item: item.t_us))  # in time order, as a cuff sends them
    shown.show()
    qtbot.waitExposed(shown)
    return shown


def markers_in_scene(window: MainWindow) -> list[QPointF]:
    """Where every NIBP point is drawn, in the trends' scene."""
    row = window.trends.bp_row
    points = []
    for metric in ("nibp_systolic", "nibp_diastolic", "nibp_mean"):
        xs, ys = window.trends.curves[metric].getData()
        assert xs is not None and len(xs) > 0, metric
        points += [row.getViewBox().mapViewToScene(QPointF(float(x), float(y))) for x, y in zip(xs, ys, strict=True)]
    return points


@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_the_nibp_key_never_covers_a_marker(qtbot: QtBot, window: MainWindow, tmp_path: Path, size: tuple) -> None:
    assert fits(window, size) == []
    for _ in range(2):  # the trends drawn once laid out at this size
        window._trends_drawn_s = 0.0  # the trends redraw at most once a second of the (stopped) clock
        window.refresh_plots()
        QApplication.processEvents()
    trends = window.trends
    key = trends.bp_key
    plotted = trends.bp_row.getViewBox().sceneBoundingRect()
    written = key.mapRectToScene(key.itemRect())
    assert plotted.height() < 120 or size != SCREENS[0]  # the laptop's row is a short one, where it went wrong
    assert not written.intersects(plotted), (written, plotted)  # above the plotted area, not in it
    assert written.bottom() <= plotted.top() and written.left() >= plotted.left() - 1
    assert written.right() <= trends.sceneRect().right()  # whole, not cut at the trends' edge
    covered = [p for p in markers_in_scene(window) if written.contains(p)]
    assert covered == []
    text = key.item.toPlainText()
    assert text == "NIBP (mmHg)   \u25bc systolic  \u25b2 diastolic  \u25cf mean"
    assert key.opts["size"] == f"{AXIS_PX}px"  # as large as the axes: read from the chair
    grab(window, tmp_path / f"trends-nibp-key-{size[0]}x{size[1]}.png")
