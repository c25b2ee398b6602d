"""Crash recovery end to end: `kapmonitor record` killed with SIGKILL mid-session loses nothing older than a
second, every clinical entry is kept, and resuming continues the same session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kapmonitor.bed.station import Station
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.export.loader import load_session
from kapmonitor.session.entries import BodyWeight, BolusDose, Note
from kapmonitor.session.templates import builtin_templates
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.clinical_log import ClinicalLog, session_record
from kapmonitor.store.db import open_database
from kapmonitor.store.recovery import SESSION_INTERRUPTED, SESSION_RESUMED, interrupted_sessions
from kapmonitor.store.track_rows import readings_after, snapshot, tracks, wave_rows

RECORD = "import sys; from kapmonitor.cli import main; sys.exit(main())"


def spo2_readings(engine: Engine, session: int) -> int:
    with snapshot(engine) as conn:  # staged or packed
        return len(readings_after(conn, [session], ["spo2"], 0))


def newest_sample_us(engine: Engine, session: int) -> int | None:
    with snapshot(engine) as conn:
        ends = [wave_rows(conn, session, d, m).t_us for d, _, m in tracks(conn, session, "wave")]
        return max((int(t.max()) for t in ends if len(t)), default=None)


def wait_for(condition: object, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def killed(tmp_path: Path) -> Iterator[dict[str, object]]:
    """A recording of a simulated DF7 with three clinical entries, killed without warning."""
    url = f"sqlite:///{tmp_path / 'crash.sqlite'}"
    recorder = subprocess.Popen(
        [sys.executable, "-c", RECORD, "record", "--simulate", "nonin-df7", "--patient", "KAP-0042", "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert recorder.stdout is not None
        session = int(recorder.stdout.readline())
        engine = open_database(url)
        log = ClinicalLog(engine, session, builtin_templates()["im-ketamine"])
        t = now_us()
        log.add(BodyWeight(t_us=t, entered_us=t, author="nina", kg=70.0))
        log.add(BolusDose(t_us=t, entered_us=t, author="nina", mg=35.0, route="im", site="left deltoid"))
        wait_for(lambda: spo2_readings(engine, session) > 0, "a stored SpO2 reading")
        # Kill only while data is flowing: the newest stored sample is less than half a second old.
        wait_for(lambda: (newest_sample_us(engine, session) or 0) > now_us() - US_PER_S // 2, "live recording")
        log.add(Note(t_us=now_us(), entered_us=now_us(), author="nina", text="eyes closed, calm"))
        killed_us = now_us()
        os.kill(recorder.pid, signal.SIGKILL)
        recorder.wait(timeout=30)
        yield {"url": url, "session": session, "killed_us": killed_us, "engine": engine}
        engine.dispose()
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.wait()
        for stream in (recorder.stdout, recorder.stderr):
            if stream is not None:
                stream.close()


def test_a_killed_recording_keeps_every_sample_up_to_a_second_before_and_every_entry(
    killed: dict[str, object],
) -> None:
    engine, session = killed["engine"], killed["session"]
    assert isinstance(engine, Engine) and isinstance(session, int)
    (found,) = interrupted_sessions(engine)
    assert found.session_id == session and found.patient == "KAP-0042"
    data = load_session(engine, session)
    (pleth,) = [w for w in data.waves if w.metric == "pleth"]
    runs = pleth.runs(tolerance_us=US_PER_S // 2)
    assert len(runs) == 1  # one unbroken waveform from the start ...
    assert runs[0].end_us >= int(killed["killed_us"]) - US_PER_S  # ... to within a second of the kill
    assert len(data.numeric("spo2")[0]) >= 1
    assert [type(e).__name__ for e in session_record(engine, session).log] == ["BodyWeight", "BolusDose", "Note"]
    assert AuditTrail(engine).verify().intact


def test_resuming_continues_the_same_session_with_the_gap_on_file(killed: dict[str, object]) -> None:
    session = killed["session"]
    assert isinstance(session, int)
    before = newest_sample_us(killed["engine"], session)  # type: ignore[arg-type]
    station = Station(str(killed["url"]))
    station.user = "nina"
    station.add_simulated("nonin-df7", via_pty=False)
    station.start()
    try:
        station.resume_session(session)
        assert station.session_id == session
        log = ClinicalLog.load(station.database, session)
        log.add(Note(t_us=now_us(), entered_us=now_us(), author="nina", text="monitoring again"))
        wait_for(lambda: (newest_sample_us(station.database, session) or 0) > (before or 0), "samples after resume")
    finally:
        station.stop()
    engine = open_database(str(killed["url"]))
    try:
        data = load_session(engine, session)
        assert data.info.status == "ended"
        kinds = [e.kind for e in data.link_events if e.device == "kapmonitor@station"]
        assert kinds == [SESSION_INTERRUPTED, SESSION_RESUMED]
        assert len(session_record(engine, session).log) == 4
        assert interrupted_sessions(engine) == []
        audit = AuditTrail(engine)
        assert audit.verify().intact
        assert ("nina", "session.resume") in [(e.user, e.action) for e in audit.entries()]
    finally:
        engine.dispose()
