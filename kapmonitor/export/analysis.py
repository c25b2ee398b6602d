"""What the clinician's review reads off a recorded session: values under the cursors, statistics of a
selected range, time below an SpO2 threshold, the peak blood pressure after the first dose, the next event.

Every track is a ``Series``: times (UTC microseconds) and values (NaN: no value) plus ``hold_us``, how long one
sample stands for. A sample holds until the next one or for ``hold_us``, whichever comes first, so a hole in the
recording counts as unmeasured time, never as time at the last value (DESIGN.md: gaps are gaps). Pure numpy; the
review window and the tests call the same functions.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.core.clock import US_PER_S
from kapmonitor.core.metrics import unit_of
from kapmonitor.export.events import SessionEvent, session_events
from kapmonitor.export.loader import NumericTrack, SessionData, WaveTrack
from kapmonitor.export.resample import CARRY_US
from kapmonitor.session.timeline import SessionRecord

SPARSE_HOLD_FACTOR = 3  # an intermittent measurement (NIBP) stands until about three intervals have passed


@dataclass(frozen=True, eq=False)
class Series:
    metric: str
    device: str
    t_us: np.ndarray  # int64, ascending
    values: np.ndarray  # float64, NaN where the device sent no value
    hold_us: int

    @property
    def unit(self) -> str:
        return unit_of(self.metric)

    def __len__(self) -> int:
        return len(self.t_us)


def numeric_series(track: NumericTrack) -> Series:
    """A numeric track; a 1-Hz track holds for 10 s (the exports' gap rule), a 5-minute NIBP for ~15 min."""
    steps = np.diff(track.t_us)
    typical = int(np.median(steps)) if len(steps) else 0
    return Series(track.metric, track.device, track.t_us, track.values, max(CARRY_US, SPARSE_HOLD_FACTOR * typical))


def wave_series(track: WaveTrack) -> Series:
    """A waveform's unbroken runs end to end; each sample holds for two sample periods."""
    runs = track.runs()
    if not runs:
        return Series(track.metric, track.device, np.zeros(0, np.int64), np.zeros(0), US_PER_S)
    times = np.concatenate([r.times_us() for r in runs])
    values = np.concatenate([r.samples for r in runs]).astype(np.float64)
    hold = round(2 * US_PER_S / max(r.rate_hz for r in runs))
    return Series(track.metric, track.device, times, values, hold)


def session_series(data: SessionData) -> list[Series]:
    """Every track of the session: waveforms first, then numerics in the loader's (device, metric) order."""
    return [wave_series(w) for w in data.waves] + [numeric_series(n) for n in data.numerics]


def with_breaks(series: Series) -> tuple[np.ndarray, np.ndarray]:
    """Times (seconds) and values for drawing: a NaN after every sample that the next one is more than
    ``hold_us`` away from, so a line with ``connect="finite"`` stops at a hole instead of bridging it."""
    t, v = series.t_us, series.values
    if len(t) < 2:
        return t / US_PER_S, v.copy()
    breaks = np.flatnonzero(np.diff(t) > series.hold_us) + 1
    t_s = np.insert(t / US_PER_S, breaks, (t[breaks - 1] + series.hold_us) / US_PER_S)
    return t_s, np.insert(v, breaks, np.nan)


def value_at(series: Series, t_us: int) -> float | None:
    """The value shown at ``t_us``: the latest sample at or before it, if it still holds and has a value."""
    i = int(np.searchsorted(series.t_us, t_us, side="right")) - 1
    if i < 0 or t_us - series.t_us[i] >= series.hold_us:
        return None
    value = float(series.values[i])
    return None if np.isnan(value) else value


def _held(series: Series, start_us: int, end_us: int) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's stretch of time inside [start, end) (seconds) and its value, for samples with a value."""
    t = series.t_us
    lo = max(0, int(np.searchsorted(t, start_us, side="right")) - 1)  # the sample holding at the start counts
    hi = int(np.searchsorted(t, end_us, side="left"))
    t, v = t[lo:hi], series.values[lo:hi]
    if not len(t):
        return np.zeros(0), np.zeros(0)
    until = np.minimum(np.append(t[1:], end_us), t + series.hold_us)
    seconds = (np.clip(until, start_us, end_us) - np.clip(t, start_us, end_us)) / US_PER_S
    keep = ~np.isnan(v) & (seconds > 0)
    return seconds[keep], v[keep]


@dataclass(frozen=True)
class RangeStats:
    metric: str
    device: str
    unit: str
    samples: int  # readings with a value in effect during the range
    minimum: float | None
    maximum: float | None
    mean: float | None  # weighted by how long each reading stood within the range
    measured_s: float  # time covered by readings with a value


def range_stats(series: Series, start_us: int, end_us: int) -> RangeStats:
    """Min, max and time-weighted mean of the readings in effect during [start, end): those inside it and the
    one still standing at its start (a blood pressure taken 3 minutes before a 2-minute range is its value)."""
    seconds, values = _held(series, start_us, end_us)
    found = len(values) > 0
    return RangeStats(
        series.metric,
        series.device,
        series.unit,
        len(values),
        float(values.min()) if found else None,
        float(values.max()) if found else None,
        float(np.average(values, weights=seconds)) if found else None,
        float(seconds.sum()),
    )


@dataclass(frozen=True)
class TimeBelow:
    threshold: float
    below_s: float
    measured_s: float  # the part of the range with a reading; a hole is neither below nor above

    @property
    def fraction(self) -> float | None:
        return self.below_s / self.measured_s if self.measured_s > 0 else None


def time_below(series: Series, threshold: float, start_us: int, end_us: int) -> TimeBelow:
    """How long the values were strictly below ``threshold`` within [start, end), holes not counted."""
    seconds, values = _held(series, start_us, end_us)
    return TimeBelow(threshold, float(seconds[values < threshold].sum()), float(seconds.sum()))


@dataclass(frozen=True)
class Peak:
    value: float
    t_us: int
    after_first_dose_s: float | None  # None: no dose was recorded


def peak(series: Series, start_us: int, end_us: int, first_dose_us: int | None) -> Peak | None:
    """The highest reading inside [start, end) (the first, if it repeats) and its time after the first dose."""
    lo, hi = np.searchsorted(series.t_us, [start_us, end_us], side="left")
    values = series.values[lo:hi]
    if not len(values) or np.isnan(values).all():
        return None
    i = int(np.nanargmax(values))
    t = int(series.t_us[lo + i])
    after = None if first_dose_us is None else (t - first_dose_us) / US_PER_S
    return Peak(float(values[i]), t, after)


def peak_after_first_dose(series: Series, first_dose_us: int | None, end_us: int | None = None) -> Peak | None:
    """The highest reading from the first dose on (the whole track when there was no dose)."""
    start = first_dose_us if first_dose_us is not None else int(series.t_us[0]) if len(series) else 0
    last = end_us if end_us is not None else (int(series.t_us[-1]) + 1 if len(series) else 0)
    return peak(series, start, last, first_dose_us)


def jump_targets(record: SessionRecord, alarms: Sequence[AlarmEvent]) -> list[SessionEvent]:
    """The events a clinician steps through, in time order: every entry and the onset of every alarm (not each
    acknowledgement or clearing of it)."""
    return session_events(record, tuple(a for a in alarms if a.state == "active"))


def next_event(events: Sequence[SessionEvent], t_us: int, *, forward: bool = True) -> SessionEvent | None:
    """The first event strictly after ``t_us`` (or the last one strictly before it); ``events`` in time order."""
    times = [e.t_us for e in events]
    if forward:
        i = bisect.bisect_right(times, t_us)
        return events[i] if i < len(events) else None
    i = bisect.bisect_left(times, t_us) - 1
    return events[i] if i >= 0 else None
