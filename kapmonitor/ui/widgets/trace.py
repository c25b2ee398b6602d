"""A long trace drawn as a screen can show it: in each pixel column, the span of the samples under that column.

A 4-hour 75 Hz pleth is a million samples over some 1,700 pixels. Drawn as a peak-downsampled polyline (what
pyqtgraph does) every column gets a zig-zag of four segments; here it gets one vertical segment from the lowest
to the highest sample under it, which is the same picture for a quarter of the ink. The spans come from a
min/max pyramid built once, so a pan reads a few thousand block extremes, never the million samples. Zoomed in
past ``MIN_SAMPLES_PER_COLUMN``, the samples themselves are joined by straight lines. A waveform zoomed out so
far that a column holds whole beats (``envelope_s_per_px``) is drawn as its envelope instead: the upper and
lower edges of the spans with a faint fill between, which reads as "the wave was here, this tall" rather than as
a solid block.

Holes stay holes: a column with no sample is left empty, and NaN samples (the breaks ``with_breaks`` inserts)
are skipped by the extremes and cut the line when zoomed in.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen

MIN_SAMPLES_PER_COLUMN = 2.0  # sparser than this, the samples are joined by lines
ENVELOPE_FILL_ALPHA = 70  # of 255: the envelope's inside, faint against the edges
BLOCKS_PER_COLUMN = 8  # pyramid level: at least this many blocks per column, so column edges are within 1/8


class Pyramid:
    """Minimum and maximum of the values over blocks of 1, 2, 4, ... samples (NaN ignored; NaN where a block has
    no value)."""

    def __init__(self, values: np.ndarray) -> None:
        # Every level is stored with a trailing NaN, so a range ending at the last block is still a valid
        # reduceat index; ``lows``/``highs`` are views without it. Level 0 (the samples) is shared by both.
        samples = _padded(len(values))
        samples[:-1] = values
        self._padded: list[tuple[np.ndarray, np.ndarray]] = [(samples, samples)]
        while len(self._padded[-1][0]) - 1 > 1:
            low, high = self._padded[-1]
            self._padded.append((_pairwise(np.fmin, low[:-1]), _pairwise(np.fmax, high[:-1])))
        self.lows = [low[:-1] for low, _ in self._padded]
        self.highs = [high[:-1] for _, high in self._padded]

    def extents(self, starts: np.ndarray, ends: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
        """(lowest, highest) of the samples in [start, end) for each pair, read from blocks of 2**level samples
        (a block straddling an edge counts whole). ``start < end`` for every pair."""
        level = min(level, len(self.lows) - 1)
        lows, highs = self._padded[level]
        first = starts >> level
        last = np.maximum(first + 1, -(-ends >> level))  # ceiling division
        # reduceat over the interleaved (first, last) reads [first, last) at even positions; the odd positions
        # (last -> next first) are discarded.
        index = np.column_stack([first, np.minimum(last, len(lows) - 1)]).ravel()
        return np.fmin.reduceat(lows, index)[::2], np.fmax.reduceat(highs, index)[::2]


def _padded(size: int) -> np.ndarray:
    out = np.empty(size + 1, dtype=np.float64)
    out[size] = np.nan
    return out


def _pairwise(reduce: np.ufunc, values: np.ndarray) -> np.ndarray:
    """Pairs of neighbours reduced (an odd last value stands alone), with the trailing NaN."""
    pairs = len(values) // 2
    out = _padded(pairs + len(values) % 2)
    reduce(values[0 : 2 * pairs : 2], values[1 : 2 * pairs : 2], out=out[:pairs])
    if len(values) % 2:
        out[pairs] = values[-1]
    return out


def column_spans(
    t: np.ndarray, pyramid: Pyramid, x0: float, x1: float, columns: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(centre time, lowest, highest) of each pixel column in [x0, x1) that has a sample, or None when the view
    is sparse enough to draw the samples themselves.

    Each column also takes in the first sample of the next one, so neighbouring spans touch where the trace
    is continuous and the envelope has no gaps."""
    columns = max(int(columns), 1)
    edges = np.linspace(x0, x1, columns + 1)
    bounds = np.searchsorted(t, edges, side="left")
    if (bounds[-1] - bounds[0]) < MIN_SAMPLES_PER_COLUMN * columns:
        return None
    starts, ends = bounds[:-1], bounds[1:]
    filled = ends > starts
    starts, ends = starts[filled], ends[filled]
    per_column = (bounds[-1] - bounds[0]) / columns
    level = max(0, int(math.log2(max(per_column / BLOCKS_PER_COLUMN, 1.0))))
    low, high = pyramid.extents(starts, ends, level)
    centres = (edges[:-1] + (edges[1] - edges[0]) / 2)[filled]
    keep = ~np.isnan(low)  # a column of NaN only is a hole: nothing drawn, not even its neighbour's sample
    centres, low, high, ends = centres[keep], low[keep], high[keep], ends[keep]
    following = pyramid.lows[0][np.minimum(ends, len(t) - 1)]
    following[ends >= len(t)] = np.nan
    return centres, np.fmin(low, following), np.fmax(high, following)


class TraceItem(pg.GraphicsObject):
    """A line trace of (t, v) in a plot's data coordinates, redrawn for the view at every paint."""

    def __init__(
        self, t: np.ndarray, v: np.ndarray, pen: QPen | None = None, *, envelope_s_per_px: float | None = None
    ) -> None:
        super().__init__()
        self.envelope_s_per_px = envelope_s_per_px  # None: always spans; else wider columns draw the envelope
        self.t = np.asarray(t, dtype=np.float64)
        self.v = np.asarray(v, dtype=np.float64)
        self.pyramid = Pyramid(self.v)
        self.pen = pen or pg.mkPen("w", width=1)
        finite = self.v[~np.isnan(self.v)]
        low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 0.0)
        start, end = (float(self.t[0]), float(self.t[-1])) if len(self.t) else (0.0, 0.0)
        self._bounds = QRectF(start, low, max(end - start, 1e-9), max(high - low, 1e-9))
        self._lines = pg.Qt.internals.PrimitiveArray(QLineF, 4)  # reused from paint to paint

    def setPen(self, *args: object, **kwargs: object) -> None:  # noqa: N802 - pyqtgraph's spelling
        self.pen = pg.mkPen(*args, **kwargs)
        self.update()

    def drawn_as_envelope(self) -> bool:
        """Whether the view is zoomed out past ``envelope_s_per_px`` (and so shows the envelope)."""
        view = self.getViewBox()
        if self.envelope_s_per_px is None or view is None or view.width() < 1:
            return False
        (x0, x1), _ = view.viewRange()
        return (x1 - x0) / view.width() > self.envelope_s_per_px

    def envelope(self) -> list[pg.QtGui.QPainterPath]:
        """One closed outline per unbroken run of columns: along the highs, back along the lows."""
        view = self.getViewBox()
        if view is None or not len(self.t):
            return []
        (x0, x1), _ = view.viewRange()
        found = column_spans(self.t, self.pyramid, x0, x1, round(view.width()))
        if found is None or not len(found[0]):
            return []
        centres, low, high = found
        column = (x1 - x0) / max(round(view.width()), 1)
        cuts = np.flatnonzero(np.diff(centres) > 1.5 * column) + 1  # a hole: the envelope stops there
        paths = []
        for run in np.split(np.arange(len(centres)), cuts):
            xs = np.concatenate([centres[run], centres[run][::-1]])
            ys = np.concatenate([high[run], low[run][::-1]])
            path = pg.arrayToQPath(xs, ys)
            path.closeSubpath()
            paths.append(path)
        return paths

    def boundingRect(self) -> QRectF:  # noqa: N802
        return self._bounds

    def viewRangeChanged(self) -> None:  # noqa: N802 - pyqtgraph calls this when the view pans or zooms
        self.update()

    def path(self) -> pg.QtGui.QPainterPath | None:
        """The samples in view joined by lines, when the view is sparse enough to show them one by one (the
        dense case is ``spans``)."""
        view = self.getViewBox()
        if view is None or not len(self.t) or view.width() < 1:
            return None
        (x0, x1), _ = view.viewRange()
        first = max(int(np.searchsorted(self.t, x0, side="left")) - 1, 0)
        last = min(int(np.searchsorted(self.t, x1, side="right")) + 1, len(self.t))
        return pg.arrayToQPath(self.t[first:last], self.v[first:last], connect="finite")

    def spans(self) -> object | None:
        """One vertical line per pixel column in view (a Qt array of QLineF, filled from numpy), or None when
        the view is sparse and ``path`` draws the samples themselves."""
        view = self.getViewBox()
        if view is None or not len(self.t) or view.width() < 1:
            return None
        (x0, x1), _ = view.viewRange()
        found = column_spans(self.t, self.pyramid, x0, x1, round(view.width()))
        if found is None:
            return None
        centres, low, high = found
        _, pixel_height = view.viewPixelSize()
        self._lines.resize(len(centres))
        if len(centres):
            lines = self._lines.ndarray()
            lines[:, 0] = lines[:, 2] = centres
            lines[:, 1] = low
            lines[:, 3] = np.maximum(high, low + pixel_height)  # a flat stretch still shows as a dot
        return self._lines

    def paint(self, painter: QPainter, *_args: object) -> None:
        painter.setPen(self.pen)
        if self.drawn_as_envelope():
            fill = QColor(self.pen.color())
            fill.setAlpha(ENVELOPE_FILL_ALPHA)
            painter.setBrush(fill)
            for outline in self.envelope():
                painter.drawPath(outline)
            return
        lines = self.spans()
        if lines is not None:
            painter.drawLines(*lines.drawargs())  # type: ignore[attr-defined]
            return
        path = self.path()
        if path is not None:
            painter.drawPath(path)
