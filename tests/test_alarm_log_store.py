"""The alarm log table: events in, the same events back per session; a refusing database loses nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from kapmonitor.alarms import AlarmEvent
from kapmonitor.store.alarm_log import AlarmLog, alarm_events
from kapmonitor.store.repository import SessionRepository

T0 = 1_800_000_000_000_000
RAISED = AlarmEvent(
    T0,
    "spo2_desat",
    "high",
    "active",
    "physiological",
    "nonin-df7@sim",
    "spo2",
    82.0,
    85.0,
    "SpO2 82 % below 85 (desaturation)",
)
ACKED = AlarmEvent(
    T0 + 5_000_000,
    "spo2_desat",
    "high",
    "acknowledged",
    "physiological",
    "nonin-df7@sim",
    "spo2",
    83.0,
    85.0,
    "SpO2 82 % below 85 (desaturation)",
    user="RN Diaz",
)
PAUSED = AlarmEvent(
    T0 + 6_000_000, "audio_paused", "low", "paused", "technical", message="audio paused for 120 s", user="RN Diaz"
)


def test_events_come_back_for_their_session_in_order_with_who_acted(engine: Engine) -> None:
    sessions = SessionRepository(engine)
    first, second = sessions.start_session("P-1"), sessions.start_session("P-2")
    log = AlarmLog(engine)
    log.write([RAISED])  # no session running: not stored
    log.session_id = first
    log.write([RAISED, ACKED])
    log.session_id = second
    log.write([PAUSED])
    assert alarm_events(engine, first) == [RAISED, ACKED]
    assert alarm_events(engine, second) == [PAUSED]
    assert alarm_events(engine, first)[1].alarm_id == "spo2_desat|nonin-df7@sim|spo2"


def test_a_refused_write_is_kept_and_written_with_the_next_batch(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = SessionRepository(engine).start_session("P-1")
    log = AlarmLog(engine)
    log.session_id = session
    real_begin = engine.begin

    def locked() -> None:
        raise OSError("database is locked")

    monkeypatch.setattr(engine, "begin", locked)
    log.write([RAISED])
    assert log.failure is not None and "database is locked" in log.failure
    monkeypatch.setattr(engine, "begin", real_begin)
    log.write([ACKED])
    assert log.failure is None
    assert alarm_events(engine, session) == [RAISED, ACKED]
