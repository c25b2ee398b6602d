"""The event lane under the trends: infusion bars, doses, ratings, notes and quick events on the trends' clock.

What goes where is a pure function of the record (``lane_content``), so tests read marks, not pixels; the
lane draws them and shows a mark's details when the pointer rests on it.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QToolTip

from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.theme import Theme
from kapmonitor.ui.widgets.fonts import pixel_font
from kapmonitor.ui.widgets.lane_marks import (
    BAR_HEIGHT,
    HOVER_PX,
    LABEL_PX,
    MARKER_PX,
    ROWS,
    InfusionBar,
    LaneMark,
    lane_content,
    rate_labels,
    readable,
)
from kapmonitor.ui.widgets.tiles import clock_text

LABEL_GAP_PX = 11  # from a mark's centre to its label: half the 14 px mark and some air
LANE_HEIGHT = 120  # three rows of 15 px labels and marks; the trends above keep the rest of a laptop's height
SYMBOLS = {"bolus": "t1", "spray": "o", "infusion": "t1", "rating": "s", "note": "d", "quick-event": "d"}


class EventLane(pg.PlotWidget):
    def __init__(self, record: SessionRecord | None = None) -> None:
        super().__init__()
        self.record = record
        self.marks: list[LaneMark] = []
        self.bars: list[InfusionBar] = []
        self.texts: list[pg.TextItem] = []
        self._placed: list[tuple[float, float, str, str, tuple[float, float]]] = []  # what self.texts show
        self._spots_key: object = None  # what the scatter shows
        self._theme: Theme | None = None
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setFixedHeight(LANE_HEIGHT)
        item = self.getPlotItem()
        item.getAxis("left").setWidth(64)  # the trends' width, so both time axes line up
        item.getAxis("left").setTicks([[(y, name.capitalize() + "s") for name, y in ROWS.items()]])
        item.getAxis("bottom").setStyle(showValues=False)
        item.getAxis("left").setStyle(tickFont=pixel_font(LABEL_PX))
        self.setYRange(0.4, 3.9, padding=0)
        self.bar_item = pg.BarGraphItem(x0=[], x1=[], y0=[], height=[])
        self.scatter = pg.ScatterPlotItem(size=14)
        item.addItem(self.bar_item)
        item.addItem(self.scatter)
        self.scene().sigMouseMoved.connect(self._hover)
        item.getViewBox().sigResized.connect(lambda *_: self._draw())  # the labels' room is counted in pixels

    def link_to(self, plot: pg.PlotItem) -> None:
        """Share the trends' time axis: the lane scrolls and zooms with them."""
        self.setXLink(plot)
        self.trend_plot = plot

    def _align(self) -> None:
        """Line the lane's plot area up with the trends' (their layouts have different margins)."""
        plot = getattr(self, "trend_plot", None)
        if plot is None or not self.isVisible() or plot.scene() is None or not plot.scene().views():
            return
        theirs = _global_span(plot.scene().views()[0], plot.getViewBox())
        mine = _global_span(self, self.getPlotItem().getViewBox())
        old_left, top, old_right, bottom = self.getPlotItem().layout.getContentsMargins()
        left = max(0.0, old_left + theirs[0] - mine[0])
        right = max(0.0, old_right + mine[1] - theirs[1])
        if (left, right) != (old_left, old_right):
            self.getPlotItem().layout.setContentsMargins(left, top, right, bottom)

    def refresh(self, now_us: int) -> None:
        if self.record is None:
            return
        self.marks, self.bars = lane_content(self.record, now_us)
        self._align()
        self._draw()

    def _draw(self) -> None:
        theme = self._theme
        colours = _colours(theme) if theme else {}
        item = self.getPlotItem()
        fastest = max((b.mg_per_h for b in self.bars), default=1.0) or 1.0
        brush = pg.mkBrush(colours.get("bar", "#806aa0"))
        heights = [max(0.08, BAR_HEIGHT * b.mg_per_h / fastest) for b in self.bars]
        self.bar_item.setOpts(
            x0=[b.start_s for b in self.bars],
            x1=[b.end_s for b in self.bars],
            y0=[ROWS["dose"] - 0.35] * len(self.bars),
            height=heights,
            brush=brush,
            pen=pg.mkPen(None),
        )
        # The status timer redraws every second; the marks and labels rarely change: rebuild them only when so.
        spots_key = (tuple((m.t_s, m.row, m.kind, m.detail) for m in self.marks), tuple(sorted(colours.items())))
        if spots_key != self._spots_key:
            self._spots_key = spots_key
            spots = [
                {
                    "pos": (m.t_s, ROWS[m.row]),
                    "symbol": SYMBOLS[m.kind],
                    "data": m.detail,
                    "brush": pg.mkBrush(colours.get(m.kind, "#aaaaaa")),
                    "pen": pg.mkPen(None),
                }
                for m in self.marks
            ]
            self.scatter.setData(spots)
        # A rate's label sits on top of its bar and clear of the dose row's marks, never over either.
        view = self.getPlotItem().getViewBox()
        units_per_px = abs(view.viewPixelSize()[1]) if view.height() > 0 else 0.0
        bar_top = max((ROWS["dose"] - 0.35 + h for h in heights), default=ROWS["dose"])
        above_bars = max(bar_top, ROWS["dose"] + MARKER_PX * units_per_px) + units_per_px
        labelled = [(m.t_s, ROWS[m.row], m.label, m.kind) for m in self.marks]
        view_s = tuple(self.getPlotItem().getViewBox().viewRange()[0])
        seconds_per_px = self._seconds_per_px()
        beside = LABEL_GAP_PX * (seconds_per_px or 0.0)  # the text starts clear of its own mark
        bars = {ROWS["dose"]: [(b.start_s, b.end_s) for b in self.bars]}  # no dose's label over the infusion
        placed: list[tuple[float, float, str, str, tuple[float, float]]] = [
            (x, above_bars, text, colours.get("bar-text", "#cccccc"), (0.0, 1.0))
            for x, text in rate_labels(self.bars, seconds_per_px, view_s)
        ]
        for (x, y, text, kind), flip in readable(labelled, seconds_per_px, view_s, bars):
            colour = colours.get(f"{kind}-text", colours.get(kind, "#cccccc"))
            anchor = (1.0, 0.5) if flip else (0.0, 0.5)  # centred on its row
            placed.append((x - beside if flip else x + beside, y, text, colour, anchor))
        if placed == self._placed:
            return
        for text_item in self.texts:
            item.removeItem(text_item)
        self.texts = []
        self._placed = placed
        for x, y, text, colour, anchor in placed:
            label = pg.TextItem(text, color=colour, anchor=anchor)
            label.textItem.document().setDocumentMargin(0)  # its box is its text: nothing of it lies over a mark
            label.setFont(pixel_font(LABEL_PX))
            label.setPos(x, y)
            item.addItem(label)
            self.texts.append(label)

    def _seconds_per_px(self) -> float | None:
        view = self.getPlotItem().getViewBox()
        (x0, x1), _ = view.viewRange()
        return (x1 - x0) / view.width() if view.width() > 0 else None

    def detail_near(self, t_s: float, y: float) -> str:
        """The details of the mark closest to a point of the lane, within a few pixels."""
        px_x, px_y = self.getPlotItem().getViewBox().viewPixelSize()
        best, best_d = "", HOVER_PX
        for m in self.marks:
            d = ((m.t_s - t_s) / px_x) ** 2 + ((ROWS[m.row] - y) / px_y) ** 2
            if d**0.5 <= best_d:
                best, best_d = m.detail, d**0.5
        if not best:
            for b in self.bars:
                if b.start_s <= t_s <= b.end_s and abs(y - ROWS["dose"]) < 0.45:
                    best = f"infusion {clock_text(int(b.start_s * 1e6))}-{clock_text(int(b.end_s * 1e6))}: {b.label}"
        return best

    def _hover(self, scene_pos: QPointF) -> None:
        point = self.getPlotItem().getViewBox().mapSceneToView(scene_pos)
        detail = self.detail_near(point.x(), point.y())
        self.setToolTip(detail)
        if detail:
            QToolTip.showText(self.mapToGlobal(self.mapFromScene(scene_pos)), detail, self)

    def apply_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setBackground(theme.panel)
        item = self.getPlotItem()
        item.showGrid(x=True, y=False, alpha=theme.grid_alpha)
        for side in ("left", "bottom"):
            item.getAxis(side).setPen(pg.mkPen(theme.border, width=1))
            item.getAxis(side).setTextPen(pg.mkPen(theme.muted))
        self._draw()


def _global_span(view: pg.GraphicsView, box: pg.ViewBox) -> tuple[float, float]:
    rect = box.sceneBoundingRect()
    left = view.mapToGlobal(view.mapFromScene(rect.topLeft())).x()
    return float(left), float(left + rect.width())


def _colours(theme: Theme) -> dict[str, str]:
    return {
        "bar": theme.perfusion,
        "bar-text": theme.text,
        "bolus": theme.perfusion,
        "spray": theme.perfusion,
        "spray-text": theme.text,
        "bolus-text": theme.text,
        "infusion": theme.perfusion,
        "rating": theme.spo2,
        "rating-text": theme.text,
        "note": theme.muted,
        "quick-event": theme.warning,
        "quick-event-text": theme.muted,
    }
