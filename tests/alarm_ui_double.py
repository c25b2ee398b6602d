"""A station double with a real alarm engine (kap-clinic limits) and a tone player that records instead of
sounding, for the alarm UI tests."""

from __future__ import annotations

from collections.abc import Sequence

from ui_station_double import StationDouble

from kapmonitor.alarms import AlarmEvent
from kapmonitor.core.readings import Item
from kapmonitor.ui.widgets.tones import Backend, TonePlayer


class AlarmStationDouble(StationDouble):
    """Its alarm engine (kap-clinic) sees what is published, and the alarm tick is delivered on request."""

    def publish(self, items: Sequence[Item]) -> None:
        super().publish(items)
        self.alarm_engine.process(items)
        self.deliver_alarms()

    def deliver_alarms(self) -> list[AlarmEvent]:
        """What the station's alarm-tick thread does once a second."""
        events = self.alarm_engine.drain_events()
        for sink in self.alarm_sinks:
            sink(events)
        return events


class SilentPlayer(TonePlayer):
    """Remembers which bursts it would have played; ``available`` as asked."""

    def __init__(self, available: bool = True) -> None:
        super().__init__(Backend("test" if available else ""), directory=None)
        if available:
            self.files = {}

    def play(self, priority: str) -> bool:
        if not self.available:
            return False
        self.played.append((priority, self.therapy_room and priority != "high"))
        return True
