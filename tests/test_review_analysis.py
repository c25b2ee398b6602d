"""The review's arithmetic: cursor values, range statistics, time below a threshold with holes left out, the
peak blood pressure after the first dose, and stepping from event to event."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench import fixtures
from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.export.analysis import (
    Series,
    jump_targets,
    next_event,
    peak_after_first_dose,
    range_stats,
    session_series,
    time_below,
    value_at,
    with_breaks,
)
from kapmonitor.export.loader import load_session
from kapmonitor.session.entries import Note
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.db import open_database

S = 1_000_000


def spo2(values_by_second: dict[int, float], hold_s: int = 10) -> Series:
    seconds = sorted(values_by_second)
    return Series(
        "spo2",
        "ox",
        np.array([s * S for s in seconds], dtype=np.int64),
        np.array([values_by_second[s] for s in seconds], dtype=np.float64),
        hold_s * S,
    )


# 0-9 s at 95 %, 10-19 s at 88 %, nothing from 20 to 49 s (probe off), 50-59 s at 97 %.
PROBE_OFF = spo2(
    {**dict.fromkeys(range(10), 95.0), **dict.fromkeys(range(10, 20), 88.0), **dict.fromkeys(range(50, 60), 97.0)}
)


def test_a_cursor_reads_the_latest_value_while_it_holds_and_nothing_in_a_hole() -> None:
    assert value_at(PROBE_OFF, -1 * S) is None
    assert value_at(PROBE_OFF, 5 * S + 400_000) == 95.0
    assert value_at(PROBE_OFF, 25 * S) == 88.0  # the last reading still stands 6 s on
    assert value_at(PROBE_OFF, 35 * S) is None  # 16 s after it: a hole, not 88 %
    assert value_at(PROBE_OFF, 59 * S) == 97.0


def test_a_reading_without_a_value_reads_as_no_value() -> None:
    series = spo2({0: 96.0, 1: float("nan"), 2: 97.0})
    assert value_at(series, 1 * S + 10) is None


def test_a_hole_is_drawn_as_a_break_not_a_bridge() -> None:
    t_s, v = with_breaks(PROBE_OFF)
    assert len(v) == len(PROBE_OFF) + 1
    hole = int(np.flatnonzero(np.isnan(v))[0])
    assert t_s[hole - 1] == 19.0 and t_s[hole + 1] == 50.0


def test_range_statistics_weigh_each_reading_by_the_time_it_stood_in_the_range() -> None:
    stats = range_stats(PROBE_OFF, 5 * S, 55 * S)
    assert (stats.samples, stats.minimum, stats.maximum) == (20, 88.0, 97.0)
    assert stats.mean == pytest.approx((5 * 95 + 19 * 88 + 5 * 97) / 29)
    assert stats.measured_s == pytest.approx(14 + 10 + 5)  # 5..18 s, 19..29 s held, 50..55 s
    assert stats.unit == "%"


def test_time_below_a_threshold_leaves_the_hole_out() -> None:
    below = time_below(PROBE_OFF, 90.0, 0, 60 * S)
    assert below.below_s == pytest.approx(9 + 10)  # 10..18 s, then 19 s holds for 10 s, not until 50 s
    assert below.measured_s == pytest.approx(19 + 10 + 10)
    assert below.fraction == pytest.approx(19 / 39)


def test_a_reading_taken_before_the_range_stands_for_it_while_it_holds() -> None:
    systolic = Series("nibp_systolic", "cuff", np.array([0, 300 * S]), np.array([131.0, 150.0]), 900 * S)
    stats = range_stats(systolic, 100 * S, 200 * S)
    assert (stats.samples, stats.minimum, stats.mean, stats.measured_s) == (1, 131.0, 131.0, 100.0)


def test_time_below_starts_with_the_reading_that_holds_at_the_start_of_the_range() -> None:
    assert time_below(PROBE_OFF, 90.0, 15 * S + 500_000, 17 * S).below_s == pytest.approx(1.5)


def test_an_empty_range_has_no_statistics() -> None:
    stats = range_stats(PROBE_OFF, 30 * S, 40 * S)
    assert (stats.samples, stats.minimum, stats.mean, stats.measured_s) == (0, None, None, 0.0)
    assert time_below(PROBE_OFF, 90.0, 30 * S, 40 * S).fraction is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 600), st.floats(80, 100)), min_size=1, max_size=80),
    st.integers(0, 600),
    st.integers(1, 600),
    st.floats(80, 100),
)
def test_time_below_never_exceeds_the_time_measured_nor_the_range(
    readings: list[tuple[int, float]], start_s: int, length_s: int, threshold: float
) -> None:
    series = spo2(dict(readings))
    below = time_below(series, threshold, start_s * S, (start_s + length_s) * S)
    assert 0 <= below.below_s <= below.measured_s <= length_s + 1e-9


def test_the_peak_blood_pressure_counts_from_the_first_dose() -> None:
    systolic = Series(
        "nibp_systolic",
        "cuff",
        np.array([0, 300, 600, 900, 1200], dtype=np.int64) * S,
        np.array([170.0, 130.0, 150.0, 158.0, 140.0]),
        900 * S,
    )
    found = peak_after_first_dose(systolic, first_dose_us=250 * S)
    assert found is not None
    assert (found.value, found.t_us, found.after_first_dose_s) == (158.0, 900 * S, 650.0)
    assert peak_after_first_dose(systolic, first_dose_us=None).value == 170.0  # type: ignore[union-attr]


def test_next_and_previous_event_step_over_alarm_clearings() -> None:
    record = SessionRecord()
    for s, words in ((100, "settling in"), (400, "eyes closed")):
        record.add(Note(t_us=s * S, entered_us=s * S, author="RN", text=words))
    alarms = (
        AlarmEvent(200 * S, "spo2_low", "medium", "active", "physiological", "ox", "spo2", 89.0, 90.0),
        AlarmEvent(260 * S, "spo2_low", "medium", "cleared", "physiological", "ox", "spo2"),
    )
    events = jump_targets(record, alarms)
    assert [e.kind for e in events] == ["note", "alarm", "note"]
    assert next_event(events, 100 * S).t_us == 200 * S  # type: ignore[union-attr]
    assert next_event(events, 200 * S).text == "eyes closed"  # type: ignore[union-attr]
    assert next_event(events, 400 * S) is None
    assert next_event(events, 400 * S, forward=False).t_us == 200 * S  # type: ignore[union-attr]
    assert next_event(events, 100 * S, forward=False) is None


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, fixtures.RecordedReview]:
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('review') / 'review.sqlite'}")
    return engine, fixtures.record_review_session(engine, duration_s=40 * 60)


def test_a_recorded_session_reads_as_the_numbers_that_were_written(recorded: tuple[object, Path]) -> None:
    engine, written = recorded
    data = load_session(engine, written.session_id)  # type: ignore[arg-type, attr-defined]
    series = {s.metric: s for s in session_series(data)}
    assert set(series) >= {"pleth", "spo2", "pulse_rate", "perfusion_index", "nibp_systolic"}
    t0, end = written.t0_us, written.t0_us + written.duration_s * S  # type: ignore[attr-defined]
    below = time_below(series["spo2"], 90.0, t0, end)
    assert below.below_s == pytest.approx(90.0)  # the 89 % desaturation from 25:00 to 26:30
    gaps = written.gaps_s  # type: ignore[attr-defined]
    holes_s = sum(b - a for a, b in gaps) - 9 * len(gaps)  # the reading before a hole stands for 10 s, not 1 s
    assert below.measured_s == pytest.approx(written.duration_s - holes_s)  # type: ignore[attr-defined]
    first = data.record.first_dose_us()
    assert first == t0 + fixtures.INFUSION_START_S * S
    bp = peak_after_first_dose(series["nibp_systolic"], first)
    expected = max(fixtures.bp_at(s)[0] for s in range(60, written.duration_s, 300) if s >= fixtures.INFUSION_START_S)  # type: ignore[attr-defined]
    assert bp is not None and bp.value == expected
    assert value_at(series["pleth"], t0 + (gaps[0][0] + 5) * S) is None
    assert value_at(series["pleth"], t0 + 5 * S) is not None
