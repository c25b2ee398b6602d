"""The loader's fast path for waveform runs: found with numpy in growing windows, they match the chunk-by-chunk
rule they replace, for jitter, holes and rate changes anywhere in a long track."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.core.clock import US_PER_S
from kapmonitor.export.loader import WaveRun, WaveTrack


def runs_chunk_by_chunk(track: WaveTrack, tolerance_us: int | None = None) -> list[WaveRun]:
    """The rule as first written: one chunk at a time against where the run so far says it should start."""
    found: list[WaveRun] = []
    pending: list[np.ndarray] = []
    start, rate, count = 0, 0.0, 0
    for t, r, chunk in zip(track.starts_us.tolist(), track.rates_hz.tolist(), track.chunks, strict=True):
        tolerance = tolerance_us if tolerance_us is not None else round(US_PER_S / r / 2)
        expected = start + round(count * US_PER_S / rate) if pending else t
        if pending and (r != rate or abs(t - expected) > tolerance):
            found.append(WaveRun(start, rate, np.concatenate(pending)))
            pending = []
        if not pending:
            start, rate, count = t, r, 0
        pending.append(chunk)
        count += len(chunk)
    if pending:
        found.append(WaveRun(start, rate, np.concatenate(pending)))
    return found


chunk_plans = st.lists(
    st.tuples(
        st.integers(1, 40),  # samples in the chunk
        st.sampled_from([75.0, 75.0, 75.0, 100.0, 62.5]),  # rate (mostly unchanged)
        st.sampled_from([0, 0, 0, 0, 3_000, -9_000, 2_000_000]),  # jitter or a hole before the chunk, in us
    ),
    min_size=1,
    max_size=700,  # beyond the first 256-chunk window
)


@settings(max_examples=80, deadline=None)
@given(chunk_plans, st.sampled_from([None, 1_000, 20_000]))
def test_runs_found_in_windows_match_the_chunk_by_chunk_rule(plan: list[tuple[int, float, int]], tolerance) -> None:  # noqa: ANN001
    starts, rates, chunks, t, value = [], [], [], 1_763_700_000_000_000, 0
    for n, rate, shift in plan:
        t += shift
        starts.append(t)
        rates.append(rate)
        chunks.append(np.arange(value, value + n, dtype=np.int32))
        value += n
        t += round(n * US_PER_S / rate)
    track = WaveTrack("ox", "pleth", np.array(starts, np.int64), np.array(rates), tuple(chunks), ("",) * len(plan))
    fast, plain = track.runs(tolerance), runs_chunk_by_chunk(track, tolerance)
    assert [(r.start_us, r.rate_hz, len(r.samples)) for r in fast] == [
        (r.start_us, r.rate_hz, len(r.samples)) for r in plain
    ]
    assert all(np.array_equal(a.samples, b.samples) for a, b in zip(fast, plain, strict=True))
