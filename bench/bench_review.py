"""Review of a 4-hour session (75 Hz pleth, 1 Hz SpO2 / pulse / PI, NIBP every 5 min, doses, ratings, alarms).

Budgets (issue: review, sign-off and export):
- open and draw completely: from the database to a painted window showing the whole session, <= 1 s;
- pan / zoom: one frame = a new detail range and the repaint Qt does for it, <= 16 ms median;
- loading: the same 4 hours into numpy arrays, ours (SQLite, ``load_session`` + the review's series) at least as
  fast as the ``vitaldb`` package from a ``.vital`` file written with its own writer, measured side by side.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from bench.fixtures import record_review_session
from bench.harness import Figure, median, percentile
from kapmonitor.bed.records import ClinicRecords
from kapmonitor.core.clock import US_PER_S
from kapmonitor.export.analysis import session_series
from kapmonitor.export.loader import SessionData, load_session
from kapmonitor.store.db import engine_for, open_database

HOURS = 4
OPENS = 3
FRAMES = 240
LOADS = 7


def _open_and_draw(url: str, session_id: int, alarms: tuple) -> float:  # type: ignore[type-arg]
    from PySide6.QtWidgets import QApplication

    from kapmonitor.ui.review.window import open_review

    app = QApplication.instance() or QApplication([])
    engine = engine_for(url)
    records = ClinicRecords(engine)
    started = time.perf_counter()
    window = open_review(records, session_id, author="bench", alarms=alarms)
    window.resize(1800, 1050)
    app.processEvents()
    window.repaint()  # a synchronous paint of everything, as the first frame on screen
    elapsed = time.perf_counter() - started
    window.close()
    window.deleteLater()
    app.processEvents()
    engine.dispose()
    return elapsed


def _pan_and_zoom(url: str, session_id: int, alarms: tuple) -> list[float]:  # type: ignore[type-arg]
    """Frames of zooming in from the whole session to a few minutes and back out, panning at each level."""
    from PySide6.QtWidgets import QApplication

    from kapmonitor.ui.review.window import open_review

    app = QApplication.instance() or QApplication([])
    engine = engine_for(url)
    window = open_review(ClinicRecords(engine), session_id, author="bench", alarms=alarms)
    window.resize(1800, 1050)
    app.processEvents()
    window.repaint()
    low, high = window.tracks.detail_range()
    times: list[float] = []
    for frame in range(FRAMES):
        phase = frame % 80
        width = high - low
        if phase < 30:  # zoom in around the middle
            centre, width = (low + high) / 2, width * 0.85
        elif phase < 50:  # pan right
            centre = (low + high) / 2 + width * 0.03
        else:  # zoom out
            centre, width = (low + high) / 2, width / 0.85
        low, high = centre - width / 2, centre + width / 2
        started = time.perf_counter()
        window.tracks.show_range(low, high)
        app.processEvents()  # the paint Qt schedules for the new range, as in the running app
        times.append((time.perf_counter() - started) * 1000)
    window.close()
    window.deleteLater()
    app.processEvents()
    engine.dispose()
    return times


def _ours(engine: Engine, session_id: int) -> tuple[float, SessionData]:
    """``load_session`` (numerics, waveforms, link events, the clinical record) and the review's arrays, on the
    station's engine (the app keeps one for its whole run)."""
    started = time.perf_counter()
    data = load_session(engine, session_id)
    series = session_series(data)  # time and value arrays per track, the pleth's runs joined
    elapsed = time.perf_counter() - started
    assert sum(len(s) for s in series) > 0
    return elapsed, data


def _write_vital(data: SessionData, path: Path) -> None:
    import vitaldb

    vital = vitaldb.VitalFile()
    for wave in data.waves:
        recs = [
            {"dt": t / US_PER_S, "val": chunk.astype(np.float32)}
            for t, chunk in zip(wave.starts_us.tolist(), wave.chunks, strict=True)
        ]
        vital.add_track(f"OX/{wave.metric.upper()}", recs, srate=float(wave.rates_hz[0]), unit="")
    for track in data.numerics:
        recs = [
            {"dt": t / US_PER_S, "val": float(v)}
            for t, v in zip(track.t_us.tolist(), track.values.tolist(), strict=True)
        ]
        vital.add_track(f"MON/{track.metric.upper()}", recs, unit=track.unit)
    first, last = data.span_us() or (0, 0)
    vital.dtstart, vital.dtend = first / US_PER_S, last / US_PER_S
    vital.to_vital(str(path))


def _vitaldb_load(path: Path) -> tuple[float, float]:
    """(parse only, parse + numpy arrays per track) in seconds: numerics as time and value arrays from the
    records, the pleth as vitaldb's own dense 75-Hz array."""
    import vitaldb

    started = time.perf_counter()
    vital = vitaldb.VitalFile(str(path))
    parsed = time.perf_counter() - started
    arrays = {}
    for name, track in vital.trks.items():
        if track.srate > 0:
            arrays[name] = vital.get_track_samples(name, 1 / track.srate)
        else:
            arrays[name] = (np.array([r["dt"] for r in track.recs]), np.array([r["val"] for r in track.recs]))
    assert arrays
    return parsed, time.perf_counter() - started


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/review.sqlite"
        engine = open_database(url)
        written = record_review_session(engine, HOURS * 3600)
        engine.dispose()
        sid = written.session_id
        opens = [_open_and_draw(url, sid, written.alarms) for _ in range(OPENS)]
        frames = _pan_and_zoom(url, sid, written.alarms)
        engine = engine_for(url)
        ours = [_ours(engine, sid) for _ in range(LOADS)]
        engine.dispose()
        vital_path = Path(tmp) / "review.vital"
        _write_vital(ours[0][1], vital_path)
        theirs = [_vitaldb_load(vital_path) for _ in range(LOADS)]
        ours_s = median([o[0] for o in ours])
        theirs_s = median([t[1] for t in theirs])
        size_db = Path(f"{tmp}/review.sqlite").stat().st_size / 1e6
        size_vital = vital_path.stat().st_size / 1e6
    return [
        Figure("review: 4-h session open and draw, median", median(opens), "s", 1.0, note=f"{OPENS} opens, 1800x1050"),
        Figure("review: pan/zoom frame, median", median(frames), "ms", 16.0, note=f"{FRAMES} frames, 4 h to minutes"),
        Figure("review: pan/zoom frame, p95", percentile(frames, 95), "ms", None),
        Figure("review: 4-h load into numpy (ours)", ours_s, "s", theirs_s, note=f"SQLite, {size_db:.0f} MB"),
        Figure(
            "review: 4-h load into numpy (vitaldb)",
            theirs_s,
            "s",
            None,
            note=f".vital {size_vital:.0f} MB; parse alone {median([t[0] for t in theirs]):.3g} s",
        ),
    ]
