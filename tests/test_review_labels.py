"""The review's text never lies over what it describes: each row's name in a line of its own above the row (never
over a curve or a marker), the event lane's labels beside their marks (never over another mark, a bar or each
other), the value axes' labels inside their own row (the '40' of one row never against the '200' of the next),
and 'Read-only review' whole on one line. Checked on real widgets, whole session and zoomed into the first dose,
at 1366x768 and 1920x1080; each grabbed to PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from screen_fit import DESK, LAPTOP
from test_review_screenshots import _window

from bench import fixtures
from kapmonitor.store.db import open_database
from kapmonitor.ui.review.window import ReviewWindow
from kapmonitor.ui.theme import DARK
from kapmonitor.ui.widgets.plots import AXIS_PX, TICK_OVERHANG_PX

S = 1_000_000
MARK_PX = 14  # the lane's marks (ScatterPlotItem size)
LAPTOP_ROW_PX = 45  # the least plotted height of a detail row on a laptop (48 px before the headings)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, fixtures.RecordedReview]:
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('labels') / 'review.sqlite'}")
    return engine, fixtures.record_review_session(engine, 40 * 60)


def settled(window: ReviewWindow) -> None:
    for _ in range(3):
        QApplication.processEvents()
    window.refresh_statistics()  # redraws the lane's labels for the range in view
    QApplication.processEvents()


def in_scene(item: pg.GraphicsObject, rect: QRectF) -> QRectF:
    return item.mapRectToScene(rect)


def heading_rects(window: ReviewWindow) -> list[QRectF]:
    return [in_scene(h, h.itemRect()) for h in window.tracks.titles]


def plotted_rects(window: ReviewWindow) -> list[QRectF]:
    return [row.getViewBox().sceneBoundingRect() for row in window.tracks.rows]


def marker_points(window: ReviewWindow) -> list[QPointF]:
    """Every NIBP and cuff-pulse marker in the tracks' scene (the drawn points, not the lines)."""
    points = []
    for curve, _series in window.tracks.curves:
        if not isinstance(curve, pg.PlotDataItem):
            continue
        xs, ys = curve.getData()
        view = curve.getViewBox()
        points += [view.mapViewToScene(QPointF(x, y)) for x, y in zip(xs, ys, strict=True) if np.isfinite(y)]
    return points


def tick_label_rects(window: ReviewWindow) -> list[tuple[int, str, QRectF, QRectF]]:
    """(row, text, where it is drawn, its axis) of every value-axis label, in the tracks' scene."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    found = []
    try:
        for index, row in enumerate(window.tracks.rows):
            axis = row.getAxis("left")
            specs = axis.generateDrawSpecs(painter)
            if specs is None:
                continue
            for rect, _flags, text in specs[2]:
                found.append((index, text, in_scene(axis, rect), axis.sceneBoundingRect()))
    finally:
        painter.end()
    return found


def lane_rects(window: ReviewWindow) -> tuple[list[tuple[str, QRectF]], list[QRectF]]:
    """The lane's labels and its marks and bars, in the lane's scene."""
    lane = window.lane
    view = lane.getPlotItem().getViewBox()
    labels = [(t.toPlainText(), t.sceneBoundingRect()) for t in lane.texts]
    marks = []
    for scatter in (lane.scatter, lane.alarm_scatter):
        for spot in scatter.points():
            centre = view.mapViewToScene(spot.pos())
            marks.append(QRectF(centre.x() - MARK_PX / 2, centre.y() - MARK_PX / 2, MARK_PX, MARK_PX))
    bars = lane.bar_item.opts
    for x0, x1, y0, h in zip(bars["x0"], bars["x1"], bars["y0"], bars["height"], strict=True):
        corners = view.mapViewToScene(QPointF(x0, y0)), view.mapViewToScene(QPointF(x1, y0 + h))
        marks.append(QRectF(*corners).normalized())
    return labels, marks


def check_every_label(window: ReviewWindow, size: tuple[int, int]) -> None:
    plotted = plotted_rects(window)
    headings = heading_rects(window)
    points = marker_points(window)
    assert points  # the NIBP markers are there to be covered or not
    for name, written, own in zip(window.tracks.titles, headings, plotted, strict=True):
        text = name.item.toPlainText()
        assert [p for p in plotted if written.intersects(p)] == [], (text, written)  # over no plotted area
        assert own.top() - AXIS_PX <= written.bottom() <= own.top(), text  # right above its own row
        assert written.right() <= window.tracks.sceneRect().right(), text  # whole
        assert [p for p in points if written.contains(p)] == [], text
    assert [h.item.toPlainText() for h in window.tracks.titles][:4] == [
        "Pleth (relative)",
        "SpO\u2082 %",
        "Pulse bpm: Nonin oximeter (line), SunTech Advantage (squares)",
        "NIBP mmHg",
    ]
    if size == LAPTOP:
        assert min(p.height() for p in plotted) >= LAPTOP_ROW_PX, [p.height() for p in plotted]

    names = [n for n in window.tracks.cursor_names if n.isVisible()]
    assert [n.toPlainText() for n in names] == ["A", "B"]  # both named, in the heading line above the pleth
    name_rects = [n.mapRectToScene(n.boundingRect()) for n in names]
    texts = [h.mapRectToScene(h.item.boundingRect()) for h in window.tracks.titles]
    for name, rect in zip(names, name_rects, strict=True):
        assert [p for p in plotted if rect.intersects(p)] == [], name.toPlainText()
        assert [t for t in texts if rect.intersects(t)] == [], name.toPlainText()
        assert plotted[0].left() <= rect.left() and rect.right() <= plotted[0].right()
        assert any(h.top() <= rect.center().y() <= h.bottom() for h in headings)  # in a heading line
    assert not name_rects[0].intersects(name_rects[1])
    for cursor, rect in zip(window.tracks.cursors, name_rects, strict=True):  # each beside its own line
        x = window.tracks.rows[0].getViewBox().mapViewToScene(QPointF(cursor.t_s, 0)).x()
        assert abs(rect.center().x() - x) < rect.width() + 8

    ticks = tick_label_rects(window)
    assert {row for row, *_ in ticks} >= {1, 2, 3}  # SpO2, pulse and NIBP keep value labels
    for row, text, rect, axis in ticks:  # in its own row, or over its edge into the heading line's empty corner
        assert axis.top() - TICK_OVERHANG_PX <= rect.top() and rect.bottom() <= axis.bottom() + TICK_OVERHANG_PX, (
            row,
            text,
        )
    clashes = [
        (a[0], a[1], b[0], b[1]) for i, a in enumerate(ticks) for b in ticks[i + 1 :] if a[2].intersects(b[2])
    ]
    assert clashes == []

    labels, marks = lane_rects(window)
    assert labels, "the lane draws some labels"
    for text, rect in labels:
        assert [m for m in marks if rect.intersects(m)] == [], (text, rect)
    overlapping = [(a[0], b[0]) for i, a in enumerate(labels) for b in labels[i + 1 :] if a[1].intersects(b[1])]
    assert overlapping == []

    assert window.mode_label.text() == "Read\u2011only review"  # a hyphen no line is broken at
    assert not window.mode_label.wordWrap() and window.mode_label.width() >= window.mode_label.sizeHint().width()
    assert "read-" not in window.header.text().lower()


@pytest.mark.parametrize("size", [LAPTOP, DESK], ids=["1366x768", "1920x1080"])
def test_the_whole_session_has_no_label_over_its_data(
    qtbot: QtBot, recorded: tuple[object, fixtures.RecordedReview], tmp_path: Path, size: tuple[int, int]
) -> None:
    window = _window(qtbot, recorded, DARK, size)
    _, written = recorded
    window.set_cursors(written.t0_us + 25 * 60 * S, written.t0_us + 35 * 60 * S)
    settled(window)
    check_every_label(window, size)
    assert window.grab().save(str(tmp_path / f"review-labels-{size[0]}x{size[1]}.png"))


@pytest.mark.parametrize("size", [LAPTOP, DESK], ids=["1366x768", "1920x1080"])
def test_zoomed_into_the_first_dose_no_label_is_over_its_data(
    qtbot: QtBot, recorded: tuple[object, fixtures.RecordedReview], tmp_path: Path, size: tuple[int, int]
) -> None:
    window = _window(qtbot, recorded, DARK, size)
    _, written = recorded
    dose = written.t0_us + fixtures.INFUSION_START_S * S
    window.select_range(dose - 8 * 60 * S, dose + 12 * 60 * S)
    window.set_cursors(dose - 60 * S, dose + 5 * 60 * S)
    settled(window)
    check_every_label(window, size)
    labels, _ = lane_rects(window)
    assert any("mg/h" in text for text, _ in labels)  # the infusion's rate, standing on its bar
    assert window.grab().save(str(tmp_path / f"review-labels-dose-{size[0]}x{size[1]}.png"))


@pytest.mark.parametrize("size", [LAPTOP, DESK], ids=["1366x768", "1920x1080"])
def test_a_cursor_under_the_top_rows_name_is_named_in_a_lower_heading_line(
    qtbot: QtBot, recorded: tuple[object, fixtures.RecordedReview], tmp_path: Path, size: tuple[int, int]
) -> None:
    window = _window(qtbot, recorded, DARK, size)
    _, written = recorded
    window.set_cursors(written.t0_us + 240 * S, written.t0_us + 300 * S)  # under 'Pleth (relative)' on a laptop
    settled(window)
    check_every_label(window, size)
    tops = [n.parentItem() for n in window.tracks.cursor_names]
    assert window.tracks.rows[0] not in tops or size == DESK  # no room beside the pleth's name: a lower line had
    assert window.grab().save(str(tmp_path / f"review-labels-left-{size[0]}x{size[1]}.png"))
