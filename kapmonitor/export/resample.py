"""Numeric tracks on a regular grid: the latest reading, carried forward for less than ``CARRY_US``.

DESIGN.md: gaps are recorded as gaps, never interpolated across 10 s or more. A grid point takes the value of
the latest reading at or before it when that reading is less than 10 s old and carried a value; otherwise the
point has no value (NaN). Nothing is averaged or interpolated.
"""

from __future__ import annotations

import numpy as np

from kapmonitor.core.clock import US_PER_S
from kapmonitor.export.loader import NumericTrack

CARRY_US = 10 * US_PER_S


def second_grid(first_us: int, last_us: int, step_us: int = US_PER_S) -> np.ndarray:
    """Whole-second times (UTC) from the one at or before ``first_us`` to the one at or before ``last_us``."""
    start = first_us - first_us % step_us
    end = last_us - last_us % step_us
    return np.arange(start, end + step_us, step_us, dtype=np.int64)


def carried(track: NumericTrack, grid_us: np.ndarray, carry_us: int = CARRY_US) -> np.ndarray:
    """The track's value at each grid time (NaN: no reading within ``carry_us`` before, or it had no value)."""
    out = np.full(len(grid_us), np.nan)
    if not len(track):
        return out
    index = np.searchsorted(track.t_us, grid_us, side="right") - 1
    has = index >= 0
    safe = np.where(has, index, 0)
    fresh = has & (grid_us - track.t_us[safe] < carry_us)
    out[fresh] = track.values[safe[fresh]]
    return out
