"""Every live trend row's name (SpO2, pulse, NIBP with the key to its symbols) lies outside the plotted area, in a
line of its own above its row, so it never covers the curve or a marker: not on a laptop's short rows with the
clinical record open, not for an SpO2 of 100 %, a pulse or a blood pressure at the top of its scale. The rows keep
enough height to read a curve on a laptop. Grabbed at 1366x768 and 1920x1080."""

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
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.widgets.plots import AXIS_PX, TREND_ROWS

SPARSE_METRICS = ("nibp_systolic", "nibp_diastolic", "nibp_mean")

NOW_US = 1_763_760_000_000_000
MIN = 60_000_000
# A hypertensive reading near the top of the row's scale, then one at the bottom: the corners get markers too.
PEAKS = ((-20, 196, 120, 145), (-10, 60, 42, 48))
TOPS = ((-15, "spo2", 100), (-14, "pulse_rate", 139))  # a minute at the top of the SpO2 and pulse rows
LAPTOP_PLETH_PX = 60  # the pleth's least height on a laptop (84 px with its name inside the wave)
LAPTOP_ROW_PX = 70  # the least plotted height of a row on a laptop (SpO2 and pulse were 83 px, NIBP 68)


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
    for minutes, metric, value in TOPS:
        start_us = NOW_US + minutes * MIN
        items = [i for i in items if not (i.metric == metric and start_us <= i.t_us < start_us + MIN)]
        items += [reading(metric, value, start_us + second * 1_000_000) for second in range(60)]
    station.publish(sorted(items, key=lambda item: item.t_us))  # in time order, as a cuff sends them
    shown.show()
    qtbot.waitExposed(shown)
    return shown


def markers_in_scene(window: MainWindow, metrics: tuple[str, ...] = SPARSE_METRICS) -> list[QPointF]:
    """Where every point of ``metrics`` is drawn, in the trends' scene."""
    points = []
    for metric in metrics:
        row = next(r for r, (_, _, shown, _) in zip(window.trends.rows, TREND_ROWS, strict=True) if metric in shown)
        xs, ys = window.trends.curves[metric].getData()
        assert xs is not None and len(xs) > 0, metric
        points += [row.getViewBox().mapViewToScene(QPointF(float(x), float(y))) for x, y in zip(xs, ys, strict=True)]
    return points


def laid_out_at(window: MainWindow, size: tuple[int, int]) -> None:
    assert fits(window, size) == []
    for _ in range(2):  # the trends drawn once laid out at this size
        window._trends_drawn_s = 0.0  # the trends redraw at most once a second of the (stopped) clock
        window.refresh_plots()
        QApplication.processEvents()


@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_the_nibp_key_never_covers_a_marker(qtbot: QtBot, window: MainWindow, tmp_path: Path, size: tuple) -> None:
    laid_out_at(window, size)
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


@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_no_row_name_covers_a_curve(qtbot: QtBot, window: MainWindow, tmp_path: Path, size: tuple) -> None:
    laid_out_at(window, size)
    trends = window.trends
    plotted = [row.getViewBox().sceneBoundingRect() for row in trends.rows]
    points = markers_in_scene(window, ("spo2", "pulse_rate", *SPARSE_METRICS))
    names = [heading.item.toPlainText() for heading in trends.headings]
    assert names[:2] == ["SpO\u2082 (%)", "Pulse (bpm)"] and names[2].startswith("NIBP (mmHg)")
    for heading, own in zip(trends.headings, plotted, strict=True):
        written = heading.mapRectToScene(heading.itemRect())
        assert [p for p in plotted if written.intersects(p)] == [], (heading.item.toPlainText(), written)
        assert own.top() - AXIS_PX <= written.bottom() <= own.top()  # just above its own row, not another's
        assert own.left() - 1 <= written.left() and written.right() <= trends.sceneRect().right()
        assert [p for p in points if written.contains(p)] == []
        assert written.height() < 2 * AXIS_PX  # one line
    tops = [p for p in markers_in_scene(window, ("spo2",)) if p.y() - plotted[0].top() < plotted[0].height() / 8]
    assert tops  # the 100 % minute, drawn at the top of its row (80-102 %) where the name used to be
    pleth = window.pleth.getPlotItem()
    wave = pleth.getViewBox().sceneBoundingRect()
    name = pleth.titleLabel.mapRectToScene(pleth.titleLabel.itemRect())
    assert name.bottom() <= wave.top() and pleth.titleLabel.item.toPlainText() == "Pleth"  # above the wave too
    assert wave.height() >= (LAPTOP_PLETH_PX if size == SCREENS[0] else 2 * LAPTOP_PLETH_PX), wave.height()
    heights = [p.height() for p in plotted]
    if size == SCREENS[0]:
        assert min(heights) >= LAPTOP_ROW_PX, heights
    grab(window, tmp_path / f"trends-names-{size[0]}x{size[1]}.png")
