"""Numeric tracks on a regular grid.

``nearest`` (the exports: CSV's 1 Hz table, EDF+ signals): a grid point takes the reading nearest to it if less
than a second away, and no value (NaN) otherwise or where that reading said "no value": nothing is carried,
averaged or interpolated, so an export never shows a value at a time it was not measured.

``carried`` (displays that follow the latest value): the latest reading at or before the point when it is less
than ``CARRY_US`` old (DESIGN.md: never bridge 10 s or more).
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


def nearest(track: NumericTrack, grid_us: np.ndarray, within_us: int = US_PER_S) -> np.ndarray:
    """At each grid time the reading nearest to it if less than ``within_us`` away; NaN where there is none or
    where that reading says "no value". Host arrival jitter moves a 1 Hz reading by milliseconds, not across a
    whole second, so no reading is stretched over time it did not cover."""
    out = np.full(len(grid_us), np.nan)
    if not len(track):
        return out
    after = np.clip(np.searchsorted(track.t_us, grid_us), 0, len(track) - 1)
    before = np.clip(after - 1, 0, len(track) - 1)
    closer = np.where(np.abs(track.t_us[before] - grid_us) < np.abs(track.t_us[after] - grid_us), before, after)
    ok = np.abs(track.t_us[closer] - grid_us) < within_us
    out[ok] = track.values[closer[ok]]
    return out
