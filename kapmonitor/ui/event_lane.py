"""The event lane under the trends: infusion bars, doses, ratings, notes and quick events on the trends' clock.

What goes where is a pure function of the record (``lane_content``), so tests read marks, not pixels; the
lane draws them and shows a mark's details when the pointer rests on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QToolTip

from kapmonitor.session.dosing import DosingError, infusion_segments
from kapmonitor.session.entries import BolusDose, InfusionEvent
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.theme import Theme
from kapmonitor.ui.tiles import clock_text

ROWS = {"dose": 3.0, "rating": 2.0, "note": 1.0}
BAR_HEIGHT = 0.7  # the fastest infusion rate fills this much of the dose row
HOVER_PX = 12.0
MARKER_PX = 10  # half a marker and a little air
LABEL_CHAR_PX = 9  # an average character at LABEL_PX, to keep labels apart
LABEL_PX = 15


def _font() -> QFont:
    font = QFont()
    font.setPixelSize(LABEL_PX)
    return font


@dataclass(frozen=True)
class LaneMark:
    t_s: float
    row: str  # one of ROWS
    kind: str  # "bolus", "spray", "rating", "note", "quick-event", "infusion"
    label: str  # drawn next to the mark ("" for markers only)
    detail: str  # the tooltip


@dataclass(frozen=True)
class InfusionBar:
    start_s: float
    end_s: float
    mg_per_h: float
    label: str


def _per_kg(mg_per_h: float, weight_kg: float | None) -> str:
    return f" ({mg_per_h / weight_kg:.2f} mg/kg/h)" if weight_kg else ""


def lane_content(record: SessionRecord, now_us: int) -> tuple[list[LaneMark], list[InfusionBar]]:
    weight = record.weight_kg
    marks: list[LaneMark] = []
    for d in record.current_of(BolusDose):
        per_kg = f" = {d.mg / weight:.2f} mg/kg" if weight else ""
        where = f", {d.site}" if d.site else ""
        marks.append(
            LaneMark(
                d.t_us / 1e6,
                "dose",
                "bolus",
                f"{d.mg:g} mg",
                f"{clock_text(d.t_us)} bolus {d.drug} {d.mg:g} mg{per_kg} {d.route}{where} ({d.author})",
            )
        )
    for i, s in enumerate(record.sprays(), start=1):
        marks.append(
            LaneMark(
                s.t_us / 1e6,
                "dose",
                "spray",
                f"#{i}",
                f"{clock_text(s.t_us)} device {i}: {s.drug} {s.mg:g} mg, lot {s.lot} ({s.author})",
            )
        )
    for ev in record.current_of(InfusionEvent):
        rate = f" {ev.rate:g} {ev.rate_unit}" if ev.rate is not None else ""
        marks.append(
            LaneMark(
                ev.t_us / 1e6, "dose", "infusion", "", f"{clock_text(ev.t_us)} infusion {ev.action}{rate} ({ev.author})"
            )
        )
    for r in record.ratings():
        name = (r.form or r.scale).upper().replace("MOAAS", "MOAA/S").replace("PATIENT-VAS", "Patient")
        shown = r.score if r.score is not None else " ".join(f"{k} {v}" for k, v in r.values)
        marks.append(
            LaneMark(
                r.t_us / 1e6,
                "rating",
                "rating",
                f"{name} {shown}",
                f"{clock_text(r.t_us)} {name} {shown}: " + ", ".join(f"{k}={v}" for k, v in r.values),
            )
        )
    for n in record.notes():
        marks.append(LaneMark(n.t_us / 1e6, "note", "note", "", f"{clock_text(n.t_us)} note: {n.text} ({n.author})"))
    for q in record.quick_events():
        marks.append(
            LaneMark(q.t_us / 1e6, "note", "quick-event", q.label, f"{clock_text(q.t_us)} {q.label} ({q.author})")
        )
    try:
        segments = infusion_segments(record.current_of(InfusionEvent), now_us)
    except DosingError:
        segments = []
    bars = [
        InfusionBar(s.start_us / 1e6, s.end_us / 1e6, s.mg_per_h, f"{s.mg_per_h:.0f} mg/h{_per_kg(s.mg_per_h, weight)}")
        for s in segments
    ]
    return sorted(marks, key=lambda m: m.t_s), bars


Label = tuple[float, float, str, str]  # (t_s, row y, text, kind)


def readable(
    labels: list[Label], seconds_per_px: float | None, view_s: tuple[float, float]
) -> list[tuple[Label, bool]]:
    """The labels to draw and whether each goes left of its mark (near the right edge, so it is not cut).

    Labels are left out when their mark is out of view or when they would run into a newer mark or label
    on the same row (an empty text is a bare marker): the newest matters most, and a mark without its
    label still shows its details on hover."""
    if seconds_per_px is None:
        return [(label, False) for label in labels if label[2]]
    kept: list[tuple[Label, bool]] = []
    next_start: dict[float, float] = {}
    marker_s = MARKER_PX * seconds_per_px
    for label in sorted(labels, key=lambda lab: -lab[0]):
        x, y, text, _ = label
        if not text:
            next_start[y] = min(next_start.get(y, float("inf")), x - marker_s)
            continue
        width = (len(text) * LABEL_CHAR_PX + 20) * seconds_per_px
        flip = x + width > view_s[1]
        start, end = (x - width, x - marker_s) if flip else (x, x + width)
        if view_s[0] <= start and x <= view_s[1] and end <= next_start.get(y, float("inf")):
            kept.append((label, flip))
            next_start[y] = start
    return kept


SYMBOLS = {"bolus": "t1", "spray": "o", "infusion": "t1", "rating": "s", "note": "d", "quick-event": "d"}


class EventLane(pg.PlotWidget):
    def __init__(self, record: SessionRecord | None = None) -> None:
        super().__init__()
        self.record = record
        self.marks: list[LaneMark] = []
        self.bars: list[InfusionBar] = []
        self.texts: list[pg.TextItem] = []
        self._theme: Theme | None = None
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setFixedHeight(150)
        item = self.getPlotItem()
        item.getAxis("left").setWidth(64)  # the trends' width, so both time axes line up
        item.getAxis("left").setTicks([[(y, name.capitalize() + "s") for name, y in ROWS.items()]])
        item.getAxis("bottom").setStyle(showValues=False)
        item.getAxis("left").setStyle(tickFont=_font())
        self.setYRange(0.4, 3.9, padding=0)
        self.bar_item = pg.BarGraphItem(x0=[], x1=[], y0=[], height=[])
        self.scatter = pg.ScatterPlotItem(size=14)
        item.addItem(self.bar_item)
        item.addItem(self.scatter)
        self.scene().sigMouseMoved.connect(self._hover)

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
        for text in self.texts:
            item.removeItem(text)
        self.texts = []
        fastest = max((b.mg_per_h for b in self.bars), default=1.0) or 1.0
        brush = pg.mkBrush(colours.get("bar", "#806aa0"))
        self.bar_item.setOpts(
            x0=[b.start_s for b in self.bars],
            x1=[b.end_s for b in self.bars],
            y0=[ROWS["dose"] - 0.35] * len(self.bars),
            height=[max(0.08, BAR_HEIGHT * b.mg_per_h / fastest) for b in self.bars],
            brush=brush,
            pen=pg.mkPen(None),
        )
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
        labelled = [(b.start_s, ROWS["dose"] + 0.42, b.label, "bar") for b in self.bars]
        labelled += [(m.t_s, ROWS[m.row], m.label, m.kind) for m in self.marks]
        view_s = tuple(self.getPlotItem().getViewBox().viewRange()[0])
        for (x, y, text, kind), flip in readable(labelled, self._seconds_per_px(), view_s):
            colour = colours.get(f"{kind}-text", colours.get(kind, "#cccccc"))
            label = pg.TextItem(text, color=colour, anchor=(1.08, 0.5) if flip else (-0.08, 0.5))
            label.setFont(_font())
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
