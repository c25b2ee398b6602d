"""The review's curves: every track of a recorded session on one linked time axis, an overview strip of the
whole session whose shaded region is the detail view, and two cursors (A, B) across all rows.

Continuous traces are ``TraceItem``s (one span per pixel column from a min/max pyramid), so a 4-hour 75-Hz pleth
pans as quickly as a minute of it; NIBP is drawn whole, with its symbols. Holes in the recording are NaN breaks,
never bridged.
"""

from __future__ import annotations

import functools
import html
import time
from collections.abc import Callable
from datetime import datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QPointF, QRectF
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsItem

from kapmonitor.core.clock import US_PER_S
from kapmonitor.devices.registry import model_of
from kapmonitor.export.analysis import Series, with_breaks
from kapmonitor.ui.review.names import metric_name, metric_unit
from kapmonitor.ui.theme import Theme
from kapmonitor.ui.widgets.fonts import pixel_font
from kapmonitor.ui.widgets.plots import AXIS_PX, TREND_ROWS, TREND_STYLE, SpacedAxis, set_heading
from kapmonitor.ui.widgets.trace import TraceItem

PLETH_RANGE = (-15.0, 115.0)  # the relative pleth's 0-100 with room for the envelope's edges
PLETH_ENVELOPE_S_PER_PX = 0.5  # zoomed out past this, a pixel column holds about a beat: draw the envelope
AXIS_WIDTH = 64  # the left axes (and the event lane's) share one width so the time axes line up
OVERVIEW_METRICS = ("spo2", "pulse_rate")
CURSOR_NAME_GAP_PX = 4  # between a cursor's line and its name
OVERVIEW_PX = 88  # the whole session's SpO2 and pulse and where the detail is: a strip, the rows need the height


def row_title(metrics: tuple[str, ...]) -> tuple[str, str]:
    """(title, unit) of a row: the live view's titles for SpO2, pulse and NIBP, the track's name otherwise."""
    if not metrics:
        return "Nothing was recorded in this session", ""
    for title, unit, shown, _ in TREND_ROWS:
        if metrics == shown:
            return title, unit
    return metric_name(metrics[0]), metric_unit(metrics[0])


def row_legend(metrics: tuple[str, ...], series: list[Series]) -> str:
    """The row's title, naming each device where two give the same metric and how its curve is drawn:
    "Pulse bpm: Nonin oximeter (line), SunTech Advantage (squares)"."""
    title, unit = row_title(metrics)
    heading = f"{title} {unit}".strip()
    shown = [s for s in series if s.metric in metrics]
    repeated = [m for m in metrics if sum(s.metric == m for s in shown) > 1]
    if not repeated:
        return heading
    named = [s for s in shown if s.metric in repeated]
    parts = [f"{model_of(s.device)} ({STYLE_WORDS[curve_style(s, named)]})" for s in named]
    return f"{heading}: " + ", ".join(parts)


def is_sparse(series: Series) -> bool:
    """An intermittent measurement (a cuff's pulse rate every few minutes): its points matter, not a line."""
    return len(series) > 1 and float(np.median(np.diff(series.t_us))) >= SPARSE_INTERVAL_US


def curve_style(series: Series, same_metric: list[Series]) -> str:
    """How a track is drawn: "line", "dashed" or "points". The first device of a metric draws a line, a second a
    dashed one; an intermittent one draws points."""
    if TREND_STYLE.get(series.metric, ("", None))[1] is not None or is_sparse(series):
        return "points"
    lines = [s for s in same_metric if s.metric == series.metric and not is_sparse(s)]
    return "dashed" if lines and lines[0] is not series else "line"


STYLE_WORDS = {"line": "line", "dashed": "dashed", "points": "squares"}
SPARSE_INTERVAL_US = 20 * US_PER_S


def normalised_pleth(values: np.ndarray) -> np.ndarray:
    """The pleth in relative units: 0 and 100 at the recording's 1st and 99th percentiles, so a 16-bit and an
    8-bit oximeter draw alike and no raw device count is read as a value (artefacts may go past either end)."""
    finite = values[~np.isnan(values)]
    if not len(finite):
        return values.copy()
    low, high = np.percentile(finite[:: max(len(finite) // 200_000, 1)], [1.0, 99.0])
    return (values - low) * (100.0 / max(float(high - low), 1e-9))


def rows_for(series: list[Series]) -> list[tuple[str, ...]]:
    """The detail rows top to bottom: pleth, the live view's SpO2 / pulse / NIBP rows, then any other metric."""
    present = {s.metric for s in series}
    rows: list[tuple[str, ...]] = [("pleth",)] if "pleth" in present else []
    grouped: set[str] = set()
    for _, _, metrics, _ in TREND_ROWS:
        if present & set(metrics):
            rows.append(tuple(m for m in metrics if m in present))
            grouped |= set(metrics)
    rows += [(m,) for m in sorted(present - grouped - {"pleth"})]
    return rows or [()]  # an empty row still gives the time axis, the cursors and the event lane a place


def in_row_order(series: list[Series]) -> list[Series]:
    """The tracks top to bottom as the rows show them (pleth, SpO2, pulse, systolic, diastolic, mean, others)."""
    order = [m for row in rows_for(series) for m in row]
    return sorted(series, key=lambda s: (order.index(s.metric), s.device))


def _fixed_range(metrics: tuple[str, ...], series: list[Series]) -> tuple[float, float]:
    if metrics == ("pleth",):
        return PLETH_RANGE
    for _, _, shown, y_range in TREND_ROWS:
        if set(metrics) <= set(shown):
            return y_range
    values = np.concatenate([s.values for s in series if s.metric in metrics] or [np.zeros(1)])
    values = values[~np.isnan(values)]
    if not len(values):
        return 0.0, 1.0
    low, high = np.percentile(values, [0.1, 99.9])
    pad = max((high - low) * 0.08, 1.0)
    return float(low - pad), float(high + pad)


GRID_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
GRID_MIN_PX = 90  # time lines at least this far apart


@functools.lru_cache(maxsize=4)  # every row's grid and the time axis ask for the same range in each frame
def time_ticks(low_s: float, high_s: float, width_px: float) -> np.ndarray:
    """Round local clock times (every 5 min, every 30 s, ...) between low and high, at least GRID_MIN_PX apart.
    Read-only: the array is shared by every caller with the same range."""
    seconds_per_px = (high_s - low_s) / max(width_px, 1.0)
    step = next((s for s in GRID_STEPS_S if s / seconds_per_px >= GRID_MIN_PX), GRID_STEPS_S[-1])
    offset = datetime.fromtimestamp(low_s).astimezone().utcoffset()
    local = offset.total_seconds() if offset is not None else 0.0  # whole local hours, also in half-hour zones
    first = np.ceil((low_s + local) / step) * step - local
    ticks = np.arange(first, high_s, step, dtype=np.float64)
    ticks.setflags(write=False)
    return ticks




class ClockAxis(pg.AxisItem):
    """The review's time axis: local clock times at the grid's round steps (``time_ticks``), one level of ticks.

    The labels sit exactly on the grid's time lines, and a pan costs a handful of ``strftime`` calls (pyqtgraph's
    date axis measured over a millisecond a frame choosing among its zoom levels)."""

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:  # noqa: N802, N803
        ticks = time_ticks(minVal, maxVal, size)
        step = float(ticks[1] - ticks[0]) if len(ticks) > 1 else float(GRID_STEPS_S[-1])
        return [(step, ticks.tolist())]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:  # noqa: N802
        form = "%H:%M:%S" if spacing < 60 else "%H:%M"
        return [time.strftime(form, time.localtime(v)) for v in values]


def repaint_whole(view: pg.GraphicsView) -> None:
    """A pan or zoom changes every row: repaint the whole view at once, without Qt tracking dirty regions, and
    keep no spatial index of items that move on every frame (measured: 0.6-1.6 ms less per frame)."""
    view.setViewportUpdateMode(pg.QtWidgets.QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
    view.scene().setItemIndexMethod(pg.QtWidgets.QGraphicsScene.ItemIndexMethod.NoIndex)


def settle_before_paint(view: pg.ViewBox) -> None:
    """Bring the view's transform up to date as soon as its range changes, not while painting.

    pyqtgraph updates the transform lazily at paint time; text items (cursor labels, lane labels) then move and
    ask for a second paint of the whole scene. Updating it at once makes a pan one paint instead of two.
    """
    view.sigXRangeChanged.connect(lambda *_: view.updateMatrix())


def quiet_axes(plot: pg.PlotItem) -> None:
    """Keep a pan from re-labelling axes: no SI prefixes (units never change), and the hidden axes (top, right,
    and the time axis of every row but the last) unlinked from the view, so they are not re-ranged at all.

    A linked axis re-ranges on every pan even when hidden, and one with SI prefixes re-renders its HTML label."""
    for side in ("left", "bottom", "top", "right"):
        axis = plot.getAxis(side)
        axis.enableAutoSIPrefix(False)
        if not axis.isVisible():
            axis.unlinkFromView()
        elif side in ("left", "right"):  # the value axes never change with a pan: a pixmap, not a redraw
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


class GridLines(pg.GraphicsObject):
    """One row's grid, painted from the view's range at paint time.

    pyqtgraph's own grid makes every axis as large as its plot, so each pan repaints every axis with its labels;
    grid curves re-fed on every pan cost their data bounds and path. This item sits in the view box's pixel
    space (behind the curves), so a pan only asks it to repaint: time lines at round local clock times (the
    bottom axis's spacing, ``time_ticks``), value lines at the left axis's major ticks.
    """

    def __init__(self, plot: pg.PlotItem) -> None:
        super().__init__()
        self.plot = plot
        self.view = plot.getViewBox()
        self.pen = pg.mkPen("#808080", width=1)
        self._key: tuple[float, ...] | None = None
        self._lines: list[QLineF] = []
        self._value_lines: list[QLineF] = []
        self.setParentItem(self.view)
        self.setZValue(-100)  # above the view's background, below its curves
        self.view.sigRangeChanged.connect(lambda *_: self.update())
        self.view.sigResized.connect(lambda *_: self.prepareGeometryChange())

    def boundingRect(self) -> QRectF:
        return self.view.boundingRect()

    def lines(self) -> list[QLineF]:
        """The grid's lines in view pixels, for the current range and size (kept until either changes)."""
        (x0, x1), (y0, y1) = self.view.viewRange()
        width, height = max(self.view.width(), 1.0), max(self.view.height(), 1.0)
        key = (x0, x1, y0, y1, width, height)
        if key != self._key:
            if key[2:] != (self._key or ())[2:]:  # the value lines only move with the value range or the size
                levels = self.plot.getAxis("left").tickValues(y0, y1, height)
                values = np.asarray(levels[0][1] if levels else [], dtype=np.float64)
                ys = height - (values - y0) * height / max(y1 - y0, 1e-12)
                self._value_lines = [QLineF(0.0, y, width, y) for y in ys.tolist()]
            xs = (time_ticks(x0, x1, width) - x0) * width / max(x1 - x0, 1e-12)
            self._lines = [QLineF(x, 0.0, x, height) for x in xs.tolist()] + self._value_lines
            self._key = key
        return self._lines

    def paint(self, painter: QPainter, *_args: object) -> None:
        painter.setPen(self.pen)
        painter.drawLines(self.lines())

    def set_colour(self, colour: str) -> None:
        self.pen = pg.mkPen(colour, width=1)
        self.update()


class Cursor:
    """One cursor: a vertical line in every detail row, moved together; ``moved`` gets the time in seconds."""

    def __init__(self, name: str, moved: Callable[[float], None]) -> None:
        self.name = name
        self.lines: list[pg.InfiniteLine] = []
        self._moved = moved
        self._syncing = False

    def add_to(self, plot: pg.PlotItem, t_s: float) -> None:
        # Unnamed: the name stands in the top row's heading line (ReviewTracks.place_cursor_names), not over the pleth.
        line = pg.InfiniteLine(t_s, angle=90, movable=True)
        line.sigPositionChanged.connect(self._follow)
        plot.addItem(line, ignoreBounds=True)
        self.lines.append(line)

    @property
    def t_s(self) -> float:
        return float(self.lines[0].value())

    def set(self, t_s: float) -> None:
        self.lines[0].setValue(t_s)  # the others follow

    def _follow(self, moved: pg.InfiniteLine) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            for line in self.lines:
                if line is not moved:
                    line.setValue(moved.value())
        finally:
            self._syncing = False
        self._moved(float(moved.value()))

    def style(self, colour: str, text: str) -> None:
        for line in self.lines:
            line.setPen(pg.mkPen(colour, width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
            line.setHoverPen(pg.mkPen(colour, width=3))


class ReviewTracks(pg.GraphicsLayoutWidget):
    """Detail rows (one per metric group) on a linked time axis, and the overview strip (``overview_widget``)."""

    def __init__(self, series: list[Series], span_s: tuple[float, float], cursor_moved: Callable[[], None]) -> None:
        super().__init__()
        self.series = series
        self.span_s = span_s
        self.rows: list[pg.PlotItem] = []
        self.row_metrics: list[tuple[str, ...]] = rows_for(series)
        self.curves: list[tuple[pg.PlotDataItem | TraceItem, Series]] = []
        self.titles: list[pg.LabelItem] = []  # each row's heading: its name, and which device draws which curve
        self.styles: dict[Series, str] = {}  # how each track's curve is drawn: "line", "dashed" or "points"
        self.cursors = (Cursor("A", lambda _t: cursor_moved()), Cursor("B", lambda _t: cursor_moved()))
        self._build_rows()
        self._build_overview()
        repaint_whole(self)
        repaint_whole(self.overview_widget)
        width = span_s[1] - span_s[0]
        for cursor, at in zip(self.cursors, (0.3, 0.6), strict=True):
            for plot in self.rows:
                cursor.add_to(plot, span_s[0] + at * width)
        # Each cursor's name in the top row's heading line, above its line: inside the row it lay over the pleth.
        self.cursor_names = [pg.TextItem(c.name, anchor=(0, 1)) for c in self.cursors]
        for name in self.cursor_names:
            name.setParentItem(self.rows[0])
            name.textItem.document().setDocumentMargin(0)
            name.setFont(pixel_font(AXIS_PX))
        for cursor in self.cursors:
            cursor.lines[0].sigPositionChanged.connect(lambda *_: self.place_cursor_names())
        self.rows[0].getViewBox().sigRangeChanged.connect(lambda *_: self.place_cursor_names())
        self.rows[0].getViewBox().sigResized.connect(lambda *_: self.place_cursor_names())
        self.show_range(*span_s)  # the whole session first: the clinician zooms in from there

    # ---- building ------------------------------------------------------------------------------

    def _build_rows(self) -> None:
        self.ci.layout.setContentsMargins(2, 2, 4, 2)  # the headings take a line a row: the margins give it back
        self.ci.layout.setVerticalSpacing(0)  # a heading keeps each row apart from the one above
        for index, metrics in enumerate(self.row_metrics):
            axis = {"bottom": ClockAxis(orientation="bottom"), "left": SpacedAxis(orientation="left")}
            plot = self.addPlot(row=index, col=0, axisItems=axis)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(x=True, y=False)
            plot.getAxis("left").setWidth(AXIS_WIDTH)
            if index < len(self.row_metrics) - 1:
                plot.hideAxis("bottom")  # one time axis, under the last row
            quiet_axes(plot)
            plot.setYRange(*_fixed_range(metrics, self.series), padding=0)
            settle_before_paint(plot.getViewBox())
            if self.rows:
                plot.setXLink(self.rows[0])
            in_row = [s for s in self.series if s.metric in metrics]
            for s in in_row:
                self.styles[s] = curve_style(s, in_row)
                self.curves.append((self._curve(plot, s, self.styles[s]), s))
            if metrics == ("pleth",):  # relative units: a few round levels, not device counts
                plot.getAxis("left").setTicks([[(v, f"{v:.0f}") for v in (0.0, 50.0, 100.0)]])
            # The row's name in a line of its own above it (as the live trends'): inside the plotted area it lay
            # over the curve and the markers ("NIBP mmHg" over the systolic points).
            plot.setTitle("")  # shown; its text set in apply_theme
            heading = plot.titleLabel
            heading.setAttr("justify", "left")
            self.titles.append(heading)
            self.rows.append(plot)
        for plot, metrics in zip(self.rows, self.row_metrics, strict=True):
            self.ci.layout.setRowStretchFactor(self.rows.index(plot), 3 if metrics == ("pleth",) else 2)
        self.grid = [GridLines(plot) for plot in self.rows]

    @staticmethod
    def _curve(plot: pg.PlotItem, series: Series, style: str) -> pg.PlotDataItem | TraceItem:
        t_s, v = with_breaks(series)
        if style != "points":  # a continuous trace: one span per pixel column (see ``trace``)
            if series.metric == "pleth":
                trace = TraceItem(t_s, normalised_pleth(v), envelope_s_per_px=PLETH_ENVELOPE_S_PER_PX)
            else:
                trace = TraceItem(t_s, v)
            plot.addItem(trace, ignoreBounds=True)
            return trace
        # An intermittent measurement (NIBP every few minutes): the points matter, the line only guides the eye.
        # Few points, drawn whole: clipping them on every pan would only rebuild the symbols each time.
        symbol = TREND_STYLE.get(series.metric, (None, None))[1] or "s"
        curve = plot.plot(t_s, v, connect="finite", symbol=symbol, symbolSize=9)
        curve.setClipToView(False)
        curve.setDownsampling(auto=False)
        return curve

    def _build_overview(self) -> None:
        # A widget of its own, so the window can put the event lane between the detail rows and the overview.
        self.overview_widget = pg.PlotWidget(axisItems={"bottom": ClockAxis(orientation="bottom")})
        self.overview_widget.setFixedHeight(OVERVIEW_PX)
        self.overview = self.overview_widget.getPlotItem()
        self.overview.setMenuEnabled(False)
        self.overview.hideButtons()
        self.overview.setMouseEnabled(x=False, y=False)
        self.overview.getAxis("left").setWidth(AXIS_WIDTH)
        self.overview.getAxis("left").setStyle(showValues=False)
        quiet_axes(self.overview)
        # Nor does the overview's time axis: it always shows the whole session.
        self.overview.getAxis("bottom").setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.overview.setDownsampling(auto=True, mode="peak")
        self.overview.setClipToView(True)
        self.overview.setXRange(*self.span_s, padding=0.01)
        self.overview.setYRange(40, 140, padding=0)
        self.overview_curves = [
            (self.overview.plot(*with_breaks(s), connect="finite"), s)
            for s in self.series
            if s.metric in OVERVIEW_METRICS and not is_sparse(s)
        ]
        for curve, _ in self.overview_curves:
            # The overview never pans: keep its curves as pixmaps so moving the region does not redraw 4 hours.
            curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.region = pg.LinearRegionItem(self.span_s, bounds=self.span_s, swapMode="block")
        self.region.setZValue(10)
        self.overview.addItem(self.region, ignoreBounds=True)
        self.region.sigRegionChanged.connect(self._region_moved)
        self.rows[0].sigXRangeChanged.connect(self._detail_moved)
        self._following = False

    # ---- the detail range ---------------------------------------------------------------------

    def show_range(self, start_s: float, end_s: float) -> None:
        """Show [start, end] (seconds since the epoch) in the detail rows; the overview region follows."""
        self.rows[0].setXRange(start_s, end_s, padding=0)

    def detail_range(self) -> tuple[float, float]:
        low, high = self.rows[0].getViewBox().viewRange()[0]
        return float(low), float(high)

    def _region_moved(self) -> None:
        if self._following:
            return
        self._following = True
        try:
            self.rows[0].setXRange(*self.region.getRegion(), padding=0)
        finally:
            self._following = False

    def _detail_moved(self) -> None:
        if self._following:
            return
        self._following = True
        try:
            self.region.setRegion(self.detail_range())
        finally:
            self._following = False

    def place_cursor_names(self) -> None:
        """Put A and B in a heading line, just right of their lines (left, where two would meet): the top row's,
        or where its name is in the way the next row's down. A name with no free place is hidden (the readout
        names both, and each line has its own colour)."""
        free_lines: list[tuple[pg.PlotItem, float, list[QRectF]]] = []  # the row, its heading's bottom, what is taken
        for plot in self.rows:
            heading = plot.titleLabel
            written = heading.mapRectToItem(plot, heading.itemRect())
            written.setWidth(heading.item.boundingRect().width())  # the text, not the whole line
            free_lines.append((plot, heading.geometry().bottom(), [written]))
        order = sorted(zip(self.cursors, self.cursor_names, strict=True), key=lambda pair: pair[0].t_s)
        for cursor, name in reversed(order):  # the right one first, so the left one can step aside
            placed = False
            for plot, line_y, taken in free_lines:
                view = plot.getViewBox()
                plotted = view.mapRectToItem(plot, view.boundingRect())
                x = plot.mapFromScene(view.mapViewToScene(QPointF(cursor.t_s, 0.0))).x()
                box = name.boundingRect()
                right = QRectF(x + CURSOR_NAME_GAP_PX, line_y - box.height(), box.width(), box.height())
                left = right.translated(-box.width() - 2 * CURSOR_NAME_GAP_PX, 0.0)
                fits = [r for r in (right, left) if plotted.left() <= r.left() and r.right() <= plotted.right()]
                free = [r for r in fits if not any(r.intersects(t) for t in taken)]
                if free:
                    name.setParentItem(plot)
                    name.setPos(free[0].left(), line_y)
                    taken.append(free[0])
                    placed = True
                    break
            name.setVisible(placed)

    def cursor_times_us(self) -> tuple[int, int]:
        return round(self.cursors[0].t_s * US_PER_S), round(self.cursors[1].t_s * US_PER_S)

    # ---- looks ---------------------------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        self.setBackground(theme.panel)
        self.overview_widget.setBackground(theme.panel)
        for lines in self.grid:
            lines.set_colour(theme.border)
        for plot in [*self.rows, self.overview]:
            for side in ("left", "bottom"):
                plot.getAxis(side).setPen(pg.mkPen(theme.border, width=1))
                plot.getAxis(side).setTextPen(pg.mkPen(theme.muted))
        for curve, s in [*self.curves, *self.overview_curves]:
            colour = getattr(theme, TREND_STYLE.get(s.metric, ("perfusion" if s.metric != "pleth" else "pleth",))[0])
            if self.styles.get(s) == "dashed":
                curve.setPen(pg.mkPen(colour, width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
            else:
                curve.setPen(pg.mkPen(colour, width=1))
            if isinstance(curve, pg.PlotDataItem):
                curve.setSymbolBrush(pg.mkBrush(colour))
                curve.setSymbolPen(pg.mkPen(None))
        for plot, metrics, heading in zip(self.rows, self.row_metrics, self.titles, strict=True):
            set_heading(plot, heading, html.escape(row_legend(metrics, self.series)), theme.muted)
        shade = pg.mkColor(theme.text)
        shade.setAlpha(40)
        self.region.setBrush(pg.mkBrush(shade))
        for cursor, name, colour in zip(self.cursors, self.cursor_names, (theme.warning, theme.perfusion), strict=True):
            cursor.style(colour, theme.text)
            name.setColor(colour)
        self.place_cursor_names()
