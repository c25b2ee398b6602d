"""The review's trace: per pixel column, the span of the samples under it, read from a min/max pyramid."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pytestqt.qtbot import QtBot

from kapmonitor.ui.widgets.trace import MIN_SAMPLES_PER_COLUMN, Pyramid, TraceItem, column_spans

values = arrays(
    np.float64,
    st.integers(1, 300),
    elements=st.one_of(st.floats(-1e6, 1e6), st.just(np.nan)),
)


@settings(max_examples=200, deadline=None)
@given(values, st.data())
def test_level_zero_reads_exactly_the_samples_in_each_range(v: np.ndarray, data: st.DataObject) -> None:
    pyramid = Pyramid(v)
    starts = np.array(sorted(data.draw(st.lists(st.integers(0, len(v) - 1), min_size=1, max_size=20))))
    ends = np.array([data.draw(st.integers(s + 1, len(v))) for s in starts])
    low, high = pyramid.extents(starts, ends, 0)
    for s, e, lo, hi in zip(starts, ends, low, high, strict=True):
        part = v[s:e]
        if np.isnan(part).all():
            assert np.isnan(lo) and np.isnan(hi)
        else:
            assert lo == np.nanmin(part) and hi == np.nanmax(part)


@settings(max_examples=200, deadline=None)
@given(values, st.integers(0, 9), st.data())
def test_a_coarser_level_reads_the_whole_blocks_around_each_range(
    v: np.ndarray, level: int, data: st.DataObject
) -> None:
    pyramid = Pyramid(v)
    start = data.draw(st.integers(0, len(v) - 1))
    end = data.draw(st.integers(start + 1, len(v)))
    low, high = pyramid.extents(np.array([start]), np.array([end]), level)
    level = min(level, len(pyramid.lows) - 1)
    block = 2**level
    around = v[start // block * block : -(-end // block) * block]  # the blocks the range touches
    if np.isnan(around).all():
        assert np.isnan(low[0]) and np.isnan(high[0])
    else:
        assert low[0] == np.nanmin(around) and high[0] == np.nanmax(around)


def test_a_dense_trace_gets_one_touching_span_per_column_and_holes_stay_empty() -> None:
    t = np.arange(0.0, 1000.0, 1 / 75)  # 75 Hz for 1000 s
    v = np.sin(2 * np.pi * 1.2 * t)
    v[(t >= 401) & (t < 499)] = np.nan  # a hole (the NaN break and the missing stretch look the same here)
    spans = column_spans(t, Pyramid(v), 0.0, 1000.0, 500)
    assert spans is not None
    centres, low, high = spans
    assert len(centres) == 500 - 48  # the 48 columns wholly inside the hole are left empty
    assert not ((centres > 402) & (centres < 498)).any()
    assert (low <= high).all() and low.min() >= -1 and high.max() <= 1
    assert np.allclose(low, -1, atol=0.01) and np.allclose(high, 1, atol=0.01)  # 2 s of a 1.2 Hz wave each


def test_neighbouring_spans_touch_on_a_steep_ramp() -> None:
    t = np.arange(10_000, dtype=np.float64)
    v = t.copy()  # climbs 20 per column: each span must reach the next one's start
    centres, low, high = column_spans(t, Pyramid(v), 0.0, 10_000.0, 500)  # type: ignore[misc]
    assert (high[:-1] >= low[1:]).all()


def test_a_sparse_view_draws_the_samples_themselves() -> None:
    t = np.arange(100, dtype=np.float64)
    assert column_spans(t, Pyramid(t), 0.0, 100.0, int(100 / MIN_SAMPLES_PER_COLUMN) + 1) is None


def test_the_item_draws_spans_when_dense_and_the_line_when_zoomed_in(qtbot: QtBot) -> None:
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(600, 300)
    t = np.arange(0.0, 3600.0, 1 / 75)
    v = np.sin(t)
    item = TraceItem(t, v)
    widget.addItem(item)
    widget.setYRange(-1, 1)
    widget.setXRange(0, 3600, padding=0)
    widget.show()
    qtbot.waitExposed(widget)
    dense = item.spans()
    assert dense is not None and 0 < len(dense.ndarray()) <= widget.getViewBox().width() + 1
    lines = dense.ndarray()
    assert (lines[:, 0] == lines[:, 2]).all() and (lines[:, 1] <= lines[:, 3]).all()  # vertical, low to high
    assert lines[:, 1].min() == pytest.approx(-1, abs=1e-3) and lines[:, 3].max() == pytest.approx(1, abs=1e-3)
    widget.setXRange(100, 110, padding=0)  # 750 samples over some 550 pixels: the line itself
    assert item.spans() is None
    zoomed = item.path()
    assert zoomed is not None and 750 <= zoomed.elementCount() <= 760
    image = widget.grab().toImage()
    assert image.width() > 0  # painting either kind of path goes through without error


def test_a_trace_of_no_values_one_sample_or_nothing_paints_without_error(qtbot: QtBot) -> None:
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(400, 200)
    t = np.arange(0.0, 600.0, 1 / 75)
    items = [TraceItem(t, np.full(len(t), np.nan)), TraceItem(np.array([10.0]), np.array([1.0])), TraceItem([], [])]
    for item in items:
        widget.addItem(item)
    widget.setXRange(0, 600, padding=0)
    widget.show()
    qtbot.waitExposed(widget)
    assert len(items[0].spans().ndarray()) == 0  # a probe off for the whole stretch: nothing drawn
    assert items[1].spans() is None and items[1].path() is not None
    assert items[2].spans() is None and items[2].path() is None
    assert not widget.grab().toImage().isNull()
