"""The report's vitals chart, drawn with reportlab graphics: SpO2 above; pulse and NIBP below; doses and ratings
marked on the shared time axis.

Lines break where a track has no reading for 10 s or more (never drawn across a gap). Long tracks are reduced
to each horizontal point's minimum and maximum, so a short desaturation still shows at the chart's width.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from reportlab.graphics.shapes import Drawing, Group, Line, Polygon, PolyLine, Rect, String
from reportlab.lib import colors

from kapmonitor.core.clock import US_PER_S
from kapmonitor.export.events import SessionEvent
from kapmonitor.export.loader import NumericTrack, SessionData
from kapmonitor.export.pdf_fonts import BODY_FONT
from kapmonitor.export.resample import CARRY_US
from kapmonitor.session.vitals import bp_measurements

LEFT, RIGHT, TOP, BOTTOM, GAP = 36.0, 8.0, 14.0, 22.0, 14.0
SPO2_COLOUR = colors.HexColor("#1f6fb2")
PULSE_COLOUR = colors.HexColor("#2e8b57")
BP_COLOUR = colors.HexColor("#b22222")
DOSE_COLOUR = colors.HexColor("#7b3fa0")
RATING_COLOUR = colors.HexColor("#c07000")
GRID = colors.HexColor("#d0d0d0")
FONT = BODY_FONT  # embedded, as every font of the report (pdf_fonts.register)


class _Axis:
    def __init__(self, t0: int, t1: int, x0: float, x1: float) -> None:
        self.t0, self.t1, self.x0, self.x1 = t0, max(t1, t0 + US_PER_S), x0, x1

    def x(self, t_us: np.ndarray | int) -> np.ndarray | float:
        return self.x0 + (np.asarray(t_us, dtype=np.float64) - self.t0) / (self.t1 - self.t0) * (self.x1 - self.x0)


class _Panel:
    def __init__(self, y0: float, y1: float, low: float, high: float) -> None:
        self.y0, self.y1, self.low, self.high = y0, y1, low, high

    def y(self, value: np.ndarray | float) -> np.ndarray | float:
        clipped = np.clip(value, self.low, self.high)
        return self.y0 + (clipped - self.low) / (self.high - self.low) * (self.y1 - self.y0)


def _envelope(track: NumericTrack, axis: _Axis) -> list[np.ndarray]:
    """Per unbroken stretch: (x, value) points, reduced to min and max per horizontal point."""
    ok = np.isfinite(track.values)
    t, v = track.t_us[ok], track.values[ok]
    if not len(t):
        return []
    breaks = np.flatnonzero(np.diff(t) >= CARRY_US) + 1
    found = []
    for ts, vs in zip(np.split(t, breaks), np.split(v, breaks), strict=True):
        px = np.floor(axis.x(ts)).astype(np.int64)
        starts = np.flatnonzero(np.r_[True, np.diff(px) != 0])
        lows = np.minimum.reduceat(vs, starts)
        highs = np.maximum.reduceat(vs, starts)
        xs = np.repeat(px[starts].astype(np.float64), 2)
        found.append(np.column_stack([xs, np.column_stack([lows, highs]).ravel()]))
    return found


def _range(tracks: list[NumericTrack], low: float, high: float, pad: float) -> tuple[float, float]:
    values = np.concatenate([t.values[np.isfinite(t.values)] for t in tracks] or [np.array([])])
    if len(values):
        low, high = min(low, float(values.min()) - pad), max(high, float(values.max()) + pad)
    return low, high


def _frame(group: Group, panel: _Panel, axis: _Axis, title: str, step: float) -> None:
    # Colours set after construction: the reportlab stubs type Rect's keywords wrongly (no Unpack).
    frame = Rect(axis.x0, panel.y0, axis.x1 - axis.x0, panel.y1 - panel.y0)
    frame.strokeColor, frame.fillColor = colors.grey, None
    group.add(frame)
    tick = np.ceil(panel.low / step) * step
    while tick <= panel.high:
        y = float(panel.y(tick))
        group.add(Line(axis.x0, y, axis.x1, y, strokeColor=GRID, strokeWidth=0.3))
        group.add(String(axis.x0 - 3, y - 2.5, f"{tick:g}", fontName=FONT, fontSize=6, textAnchor="end"))
        tick += step
    group.add(String(axis.x0 + 2, panel.y1 + 3, title, fontName=FONT, fontSize=7))


def _time_axis(group: Group, axis: _Axis, y: float) -> None:
    span_s = (axis.t1 - axis.t0) / US_PER_S
    step_s = next((s for s in (60, 300, 600, 900, 1800, 3600, 7200) if span_s / s <= 10), 14400)
    tick = (axis.t0 // (step_s * US_PER_S) + 1) * step_s * US_PER_S
    while tick <= axis.t1:
        x = float(axis.x(tick))
        label = datetime.fromtimestamp(tick / US_PER_S).astimezone().strftime("%H:%M")
        group.add(Line(x, y, x, y - 3, strokeColor=colors.grey, strokeWidth=0.5))
        group.add(String(x, y - 10, label, fontName=FONT, fontSize=6, textAnchor="middle"))
        tick += step_s * US_PER_S


def _lines(group: Group, tracks: list[NumericTrack], axis: _Axis, panel: _Panel, colour: colors.Color) -> None:
    for track in tracks:
        for points in _envelope(track, axis):
            ys = panel.y(points[:, 1])
            flat = np.column_stack([points[:, 0], ys]).ravel().tolist()
            if len(flat) == 2:
                flat = [flat[0] - 0.5, flat[1], flat[0] + 0.5, flat[1]]
            group.add(PolyLine(flat, strokeColor=colour, strokeWidth=0.7))


def vitals_chart(data: SessionData, events: list[SessionEvent], width: float, height: float) -> Drawing:
    drawing = Drawing(width, height, initialFontName=FONT)  # not the graphics default, Helvetica (not embedded)
    span = data.span_us()
    if span is None:
        drawing.add(String(width / 2, height / 2, "no vital signs recorded", fontName=FONT, textAnchor="middle"))
        return drawing
    axis = _Axis(span[0], span[1], LEFT, width - RIGHT)
    middle = BOTTOM + (height - BOTTOM - TOP - GAP) * 0.45
    spo2_tracks = data.numeric("spo2")
    lower_tracks = [*data.numeric("pulse_rate"), *data.numeric("heart_rate")]
    upper = _Panel(middle + GAP, height - TOP, *_range(spo2_tracks, 85, 100, 1))
    lower = _Panel(BOTTOM, middle, *_range([*lower_tracks, *data.numeric("nibp_systolic")], 40, 160, 5))
    group = Group()
    _frame(group, upper, axis, "SpO2 (%)", 5)
    _frame(group, lower, axis, "Pulse (bpm, line)   NIBP (mmHg, bars: systolic-diastolic)", 20)
    _time_axis(group, axis, BOTTOM)
    _lines(group, spo2_tracks, axis, upper, SPO2_COLOUR)
    _lines(group, lower_tracks, axis, lower, PULSE_COLOUR)
    for m in bp_measurements(data.readings(("nibp_systolic", "nibp_diastolic"))):
        x = float(axis.x(m.t_us))
        top = float(lower.y(m.systolic))
        bottom = float(lower.y(m.diastolic if m.diastolic is not None else m.systolic))
        group.add(Line(x, bottom, x, top, strokeColor=BP_COLOUR, strokeWidth=1.2))
        for y in (top, bottom):
            group.add(Line(x - 2, y, x + 2, y, strokeColor=BP_COLOUR, strokeWidth=1.2))
    _markers(group, events, axis, upper, lower)
    drawing.add(group)
    return drawing


def _markers(group: Group, events: list[SessionEvent], axis: _Axis, upper: _Panel, lower: _Panel) -> None:
    doses = [e for e in events if e.kind in ("dose", "infusion") and not e.void]
    for n, event in enumerate(doses, start=1):
        x = float(axis.x(event.t_us))
        group.add(Line(x, lower.y0, x, upper.y1, strokeColor=DOSE_COLOUR, strokeWidth=0.6, strokeDashArray=[2, 2]))
        group.add(
            String(x, upper.y1 + 3, f"D{n}", fontName=FONT, fontSize=6, fillColor=DOSE_COLOUR, textAnchor="middle")
        )
    for event in (e for e in events if e.kind == "rating" and not e.void):
        x = float(axis.x(event.t_us))
        y = upper.y0 + 2
        group.add(Polygon([x - 2.5, y, x + 2.5, y, x, y + 4], fillColor=RATING_COLOUR, strokeColor=None))
        if event.value is not None:
            group.add(
                String(
                    x,
                    y + 6,
                    f"{event.value:g}",
                    fontName=FONT,
                    fontSize=5,
                    fillColor=RATING_COLOUR,
                    textAnchor="middle",
                )
            )
