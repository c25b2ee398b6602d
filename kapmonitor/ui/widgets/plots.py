"""The curves: the pleth waveform of the last seconds and the trends of the last half hour.

Both only draw what they are handed; the main window's plot timer reads the live buffers and passes numpy
arrays straight to ``setData``. Pens are 1 px: thicker antialiased live curves are two orders of magnitude
slower.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont

from kapmonitor.ui.theme import Theme
from kapmonitor.ui.widgets.fonts import pixel_font

AXIS_PX = 15  # tick labels and axis titles: read from the nurse's chair, 2 m away (at least 14 px at 1080p)
LABEL_GAP_PX = 2 * AXIS_PX
TICK_OVERHANG_PX = 7  # how far a value label may stand out of its row (headings between rows are 18 px)
PLETH_SECONDS = 10.0
TREND_SECONDS = 30 * 60.0

# metric -> (the Theme colour, the symbol). Systolic points down and diastolic up, as on an anaesthesia chart.
TREND_STYLE: dict[str, tuple[str, str | None]] = {
    "spo2": ("spo2", None),
    "pulse_rate": ("pulse", None),
    "nibp_systolic": ("systolic", "t"),
    "nibp_diastolic": ("diastolic", "t1"),
    "nibp_mean": ("mean", "o"),
}
# (title, unit, metrics, fixed y range) of each trend row, top to bottom.
TREND_ROWS: tuple[tuple[str, str, tuple[str, ...], tuple[float, float]], ...] = (
    ("SpO\u2082", "%", ("spo2",), (80.0, 102.0)),  # room above 100 for its label: it stays inside the row
    ("Pulse", "bpm", ("pulse_rate",), (40.0, 140.0)),
    ("NIBP", "mmHg", ("nibp_systolic", "nibp_diastolic", "nibp_mean"), (40.0, 200.0)),
)
SPARSE = {"nibp_systolic", "nibp_diastolic", "nibp_mean"}  # a point every few minutes: draw the points


class PlethPlot(pg.PlotWidget):
    """The last ten seconds of the pleth waveform against the clock: when samples stop arriving the curve
    scrolls away to the left instead of standing still and looking alive."""

    def __init__(self) -> None:
        super().__init__()
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        item = self.getPlotItem()
        item.hideAxis("left")
        self.setXRange(-PLETH_SECONDS, 0, padding=0)
        self.curve = self.plot([], [], connect="finite")
        # Its name in a line above the wave, as every trend row's: inside, it lay over the first beats' peaks.
        item.setTitle("")
        self.title: pg.LabelItem = item.titleLabel
        self.title.setAttr("justify", "left")

    def show_wave(self, t: np.ndarray, v: np.ndarray, now_s: float) -> None:
        self.curve.setData(t - now_s, v, connect="finite")

    def apply_theme(self, theme: Theme) -> None:
        self.setBackground(theme.panel)
        self.curve.setPen(pg.mkPen(theme.pleth, width=1))
        set_heading(self.getPlotItem(), self.title, "Pleth", theme.muted)
        _style_axis(self.getPlotItem().getAxis("bottom"), theme)
        self.getPlotItem().showGrid(x=True, y=False, alpha=theme.grid_alpha)


class SpacedAxis(pg.AxisItem):
    """A value axis whose labels stay two text heights apart: a short trend row on a laptop shows 60 and 100,
    a tall one 60, 80, 100 and 120, never labels on top of each other. A label may stand out past either end of
    its row by TICK_OVERHANG_PX at most (into the empty corner beside a heading line, which is taller than two
    overhangs); one that would stand out further is left out (its grid line stays): it ran into the labels of the
    row above or below. (With pyqtgraph's own grid on, the axis takes the plot's height: no overhang at all.)"""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation=orientation)
        self.setStyle(hideOverlappingLabels=TICK_OVERHANG_PX)

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:  # noqa: N802, N803
        levels = super().tickValues(minVal, maxVal, size)
        if not levels or maxVal <= minVal:
            return levels
        spacing, values = levels[0]
        px_per_unit = size / (maxVal - minVal)
        every = 1
        while spacing * every * px_per_unit < LABEL_GAP_PX and every < 100:
            every += 1
        return [(spacing * every, [v for v in values if round(v / spacing) % every == 0])]


class TrendPlots(pg.GraphicsLayoutWidget):
    """SpO2, pulse and blood pressure over the last half hour, on one local-time axis."""

    def __init__(self, span_s: float = TREND_SECONDS) -> None:
        super().__init__()
        self.span_s = span_s
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.headings: list[pg.LabelItem] = []  # each row's name, above it
        self.rows: list[pg.PlotItem] = []
        self.ci.layout.setContentsMargins(4, 2, 4, 2)  # the headings took the height: give back the margins'
        self.ci.layout.setVerticalSpacing(2)  # each heading already keeps its row apart from the one above
        first: pg.PlotItem | None = None
        for index, (_, _, metrics, (low, high)) in enumerate(TREND_ROWS):
            last = index == len(TREND_ROWS) - 1
            axis = {
                "bottom": pg.DateAxisItem(orientation="bottom"),  # local clock time from UTC epoch seconds
                "left": SpacedAxis(orientation="left"),
            }
            plot = self.addPlot(row=index, col=0, axisItems=axis)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(x=False, y=False)
            # The row's name (and NIBP's key to its symbols) in a line of its own above the plotted area: inside
            # it, a laptop's short rows had the name over the curve (SpO2 near 98 %) and the key over the markers.
            plot.setTitle("")  # shown, its text set in apply_theme
            heading = plot.titleLabel
            heading.setAttr("justify", "left")
            self.headings.append(heading)
            plot.getAxis("left").setWidth(64)
            plot.setYRange(low, high, padding=0)
            plot.setDownsampling(mode="peak")
            plot.setClipToView(True)
            if not last:
                plot.getAxis("bottom").setStyle(showValues=False)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            for metric in metrics:
                self.curves[metric] = plot.plot([], [], connect="finite", name=metric)
            self.rows.append(plot)
        self.bp_row = self.rows[-1]
        self.bp_key = self.headings[-1]  # the NIBP row's name and which symbol is which pressure

    def show_trend(self, metric: str, t: np.ndarray, v: np.ndarray) -> None:
        self.curves[metric].setData(t, v, connect="finite")

    def follow(self, now_s: float) -> None:
        """Keep the newest half hour in view, now at the right edge."""
        self.rows[0].setXRange(now_s - self.span_s, now_s, padding=0)

    def apply_theme(self, theme: Theme) -> None:
        self.setBackground(theme.panel)
        for (title, unit, metrics, _), plot, heading in zip(TREND_ROWS, self.rows, self.headings, strict=True):
            text = f"{title} ({unit})"
            if metrics[0] in SPARSE:
                text += (
                    "&nbsp;&nbsp;&nbsp;"
                    f'<span style="color:{theme.systolic}">\u25bc systolic</span>&nbsp;&nbsp;'
                    f'<span style="color:{theme.diastolic}">\u25b2 diastolic</span>&nbsp;&nbsp;'
                    f'<span style="color:{theme.mean}">\u25cf mean</span>'
                )
            set_heading(plot, heading, text, theme.muted)
        for plot in self.rows:
            plot.showGrid(x=True, y=True, alpha=theme.grid_alpha)
            for side in ("left", "bottom"):
                _style_axis(plot.getAxis(side), theme)
        for metric, curve in self.curves.items():
            colour_name, symbol = TREND_STYLE[metric]
            colour = getattr(theme, colour_name)
            curve.setPen(pg.mkPen(colour, width=1))
            if symbol is not None:
                curve.setSymbol(symbol)
                curve.setSymbolSize(11 if metric != "nibp_mean" else 6)
                curve.setSymbolBrush(pg.mkBrush(colour))
                curve.setSymbolPen(pg.mkPen(colour, width=1))


def set_heading(plot: pg.PlotItem, heading: pg.LabelItem, html: str, colour: str) -> None:
    """A plot's heading (its ``titleLabel``): one line of axis-sized text, left-aligned with the plotted area,
    in a row exactly one text line high (no text margins: a laptop's short rows keep their height for data)."""
    heading.setText(html, color=colour, size=f"{AXIS_PX}px")
    heading.item.document().setDocumentMargin(0)
    heading.updateMin()
    height = math.ceil(heading.itemRect().height())
    plot.layout.setRowFixedHeight(0, height)
    heading.setMaximumHeight(height)


def axis_font() -> QFont:
    return pixel_font(AXIS_PX)


def _style_axis(axis: pg.AxisItem, theme: Theme) -> None:
    axis.setPen(pg.mkPen(theme.border, width=1))
    axis.setTextPen(pg.mkPen(theme.muted))
    # Fewer labels than pyqtgraph's default fill: 15 px text on a short laptop row must not overlap.
    axis.setStyle(tickFont=axis_font(), textFillLimits=[(0, 0.6), (2, 0.4), (4, 0.2)])
    axis.label.setFont(axis_font())
