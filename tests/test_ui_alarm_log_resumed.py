"""A session resumed after a crash shows the alarm log it had before, in time order, with nothing twice."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.bed.station import Station
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.store.alarm_log import write_alarm_events
from kapmonitor.store.db import open_database
from kapmonitor.store.repository import SessionRepository
from kapmonitor.ui.live.alarm_view import LOG_HEIGHT
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.recovery_prompt import RESUME, offer_recovery


def event(minutes_ago: float, state: str, message: str, user: str = "") -> AlarmEvent:
    t_us = now_us() - round(minutes_ago * 60 * US_PER_S)
    return AlarmEvent(t_us, "spo2_low", "medium", state, "physiological", metric="spo2", message=message, user=user)  # type: ignore[arg-type]


def test_the_alarm_log_of_a_resumed_session_is_shown_in_time_order(qtbot: QtBot, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kap.sqlite'}"
    engine = open_database(url)
    session = SessionRepository(engine).start_session("KAP-0009")  # left in progress: nobody owns it now
    earlier = [
        event(30, "active", "SpO\u2082 88 % below 90"),
        event(29, "acknowledged", "SpO\u2082 88 % below 90", user="rn.okafor"),
        event(27, "cleared", "SpO\u2082 back above 90"),
    ]
    write_alarm_events(engine, session, earlier)
    engine.dispose()

    station = Station(url, record=True)
    try:
        window = MainWindow(station)
        qtbot.addWidget(window)
        panel = window.alarm_panel
        assert panel is not None
        live = event(1, "active", "SpO\u2082 89 % below 90")
        panel.log_view.add_events([live])  # a live event already on screen when the stored log arrives

        assert offer_recovery(station, window, asking=lambda found, parent: RESUME) == session

        rows = panel.log_view.rows()
        assert [r[2] for r in rows] == ["raised", "cleared", "acknowledged", "raised"]  # newest first
        assert rows[2][4] == "rn.okafor"  # who acknowledged, as stored
        window.resize(1600, 1000)
        window.show()
        panel.dock.show()
        qtbot.waitUntil(lambda: panel.dock.height() >= LOG_HEIGHT - 10)  # room for rows, not a two-row sliver
        panel.show_stored(station.records, session)  # the stored log again (and the live event again): no repeats
        panel.log_view.add_events([live])
        assert panel.log_view.rows() == rows
    finally:
        station.stop()
