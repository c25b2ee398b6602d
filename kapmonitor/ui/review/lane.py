"""The event lane of a recorded session: the live view's doses, ratings and notes plus a row of alarm onsets."""

from __future__ import annotations

import pyqtgraph as pg

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.export.events import alarm_event
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.review.tracks import quiet_axes, repaint_whole, settle_before_paint
from kapmonitor.ui.theme import Theme
from kapmonitor.ui.widgets.event_lane import EventLane
from kapmonitor.ui.widgets.lane_marks import HOVER_PX, ROWS
from kapmonitor.ui.widgets.tiles import clock_text

ALARM_ROW = 4.4  # clear of the dose row's rate label, which stands on the infusion bar
LANE_PX = 150  # four rows of 15 px labels and 14 px marks; the tracks above keep a laptop's height for data
SYMBOL_BY_PRIORITY = {"high": "t", "medium": "t", "low": "o"}


class ReviewLane(EventLane):
    def __init__(self, record: SessionRecord, alarms: tuple[AlarmEvent, ...]) -> None:
        super().__init__(record)
        self.alarms = tuple(a for a in alarms if a.state == "active")  # onsets; clearings are in the tooltip log
        item = self.getPlotItem()
        ticks = [(y, name.capitalize() + "s") for name, y in ROWS.items()] + [(ALARM_ROW, "Alarms")]
        item.getAxis("left").setTicks([ticks])
        self.setYRange(0.4, ALARM_ROW + 0.45, padding=0)
        self.setFixedHeight(LANE_PX)
        self.alarm_scatter = pg.ScatterPlotItem(size=14)
        item.addItem(self.alarm_scatter)
        item.hideAxis("bottom")  # the tracks' time axis is the one to read; this one only cost a repaint per pan
        quiet_axes(item)
        repaint_whole(self)
        settle_before_paint(item.getViewBox())

    def _draw(self) -> None:
        super()._draw()
        theme = self._theme
        if theme is None or not hasattr(self, "alarm_scatter"):
            return
        colour = {"high": theme.fault, "medium": theme.warning, "low": theme.muted}
        self.alarm_scatter.setData(
            [
                {
                    "pos": (a.t_us / 1e6, ALARM_ROW),
                    "symbol": SYMBOL_BY_PRIORITY[a.priority],
                    "brush": pg.mkBrush(colour[a.priority]),
                    "pen": pg.mkPen(None),
                }
                for a in self.alarms
            ]
        )

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.getPlotItem().showGrid(x=False, y=False)  # an axis-drawn grid repaints the axis on every pan

    def detail_near(self, t_s: float, y: float) -> str:
        px_x, px_y = self.getPlotItem().getViewBox().viewPixelSize()
        for a in self.alarms:
            if ((a.t_us / 1e6 - t_s) / px_x) ** 2 + ((ALARM_ROW - y) / px_y) ** 2 <= HOVER_PX**2:
                return f"{clock_text(a.t_us)} alarm: {alarm_event(a).text}"
        return super().detail_near(t_s, y)
