"""What the central station asks of this bed: acknowledge an alarm, pause the audio, in the nurse's name.

The central station writes such requests into the session's alarm log (origin "central"); the station reads the
new ones on each alarm beat and applies them to its own alarm engine, so the chair's alarm stops sounding here
as if acknowledged at the bedside. Requests written before the session was taken up here are not replayed.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.events import AUDIO_PAUSED
from kapmonitor.core.readings import Item
from kapmonitor.store.chair_board import central_requests, newest_alarm_row

log = logging.getLogger(__name__)


class CentralRequests:
    """An alarm-ticker check: applies the central station's acknowledgements and pauses for this session."""

    def __init__(self, database: Engine, alarms: AlarmEngine) -> None:
        self.database = database
        self.alarms = alarms
        self.session_id: int | None = None
        self._after = 0

    def follow(self, session_id: int | None) -> None:
        """Take requests for ``session_id`` (None: none) from now on."""
        if session_id is not None:
            try:
                self._after = newest_alarm_row(self.database)
            except Exception as error:  # an unreachable server: the recorder's alarm says so; start from 0
                log.warning("cannot read the alarm log: %s", error)
                self._after = 0
        self.session_id = session_id

    def __call__(self, now: int) -> list[Item]:
        session_id = self.session_id
        if session_id is None:
            return []
        try:
            requests = central_requests(self.database, session_id, self._after)
        except Exception as error:  # the database is away: the next beat asks again
            log.debug("central requests not read: %s", error)
            return []
        for row_id, event in requests:
            self._after = row_id
            if event.alarm == AUDIO_PAUSED and event.state == "paused":
                self.alarms.pause_audio(now, seconds=event.value or 120.0, user=event.user)
            elif event.state == "acknowledged" and event.user:
                self.alarms.acknowledge(event.alarm_id, event.user, now)
        return []
