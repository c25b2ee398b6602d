"""A replayed scenario recorded as a session: readings and waveforms through the real Recorder, the alarm log,
and the scenario's clinical entries (``[[dose]]``, ``[[rating]]``, ``[[note]]``) when this build has the
clinical record.

The session's start and end are set to the replayed span (the scenario's simulated time), not to the few
seconds of wall time the replay took, so a review shows it as the session it simulates.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.bed.replay import ADDRESS, Replay, replay_duration_s
from kapmonitor.core.clock import US_PER_S
from kapmonitor.core.errors import UserError
from kapmonitor.core.readings import Item
from kapmonitor.devices.simulation.scenario import Scenario
from kapmonitor.session.entries import Entry
from kapmonitor.store.alarm_log import AlarmLog
from kapmonitor.store.db import open_database
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.repository import SessionRepository

PATIENT = "SIM-REPLAY"
FLUSH_EVERY_BATCHES = 2000  # let the writer catch up now and then: a replay produces data far faster than live


class ReplayRecording:
    """Context manager: opens the database and a session, hooks into ``replay``, closes everything on exit."""

    def __init__(
        self, db_url: str | None, scenario: Scenario, replay: Replay, patient: str = PATIENT, *, bed: str = ""
    ) -> None:
        self.scenario, self.replay = scenario, replay
        self.notes: list[str] = []
        self._entries = self._scenario_entries()  # a file the reader refuses is refused before anything is stored
        self.engine = open_database(db_url)
        self.repository = SessionRepository(self.engine)
        self.recorder = Recorder(self.engine)
        self.alarm_log = AlarmLog(self.engine)
        self._batches = 0
        about = scenario.sections.get("session", {})  # [session]: patient code and protocol template, optional
        self.template_name = str(about.get("protocol", "")) if isinstance(about, dict) else ""
        if isinstance(about, dict) and about.get("patient") and patient == PATIENT:
            patient = str(about["patient"])
        room = str(about.get("room", "")) if isinstance(about, dict) else ""
        self.session_id = self.repository.start_session(
            patient, protocol=self.template_name or "replay", room=room, bed=bed
        )
        for device in replay.devices:
            self.recorder.register_device(device.device, device.descriptor.protocol, ADDRESS)
        self.recorder.begin(self.session_id)
        self.alarm_log.session_id = self.session_id
        self._print_events = replay.on_events
        replay.on_items, replay.on_events = self._items, self._events

    def _items(self, items: Sequence[Item]) -> None:
        self.recorder.write(items)
        self._batches += 1
        if self._batches % FLUSH_EVERY_BATCHES == 0:
            self.recorder.flush(timeout=60.0)

    def _events(self, events: Sequence[AlarmEvent]) -> None:
        self.alarm_log.write(events)
        if self._print_events is not None:
            self._print_events(events)

    def __enter__(self) -> ReplayRecording:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.recorder.end()
            if not self.recorder.flush(timeout=60.0):
                self.notes.append(f"part of the recording was not written: {self.recorder.failure}")
            self.recorder.stop()
            self.alarm_log.write([])  # a last try for rows a failed write kept
            if self.alarm_log.failure:
                self.notes.append(self.alarm_log.failure)
            self.repository.end_session(self.session_id)
            self._set_span()
            if kind is None:
                self._clinical_entries()
        finally:
            self.engine.dispose()

    def _set_span(self) -> None:
        start = self.replay.start_us
        end = start + round(replay_duration_s(self.scenario) * US_PER_S)
        self.repository.set_span(self.session_id, start, end)

    def _scenario_entries(self) -> list[Entry] | None:
        """The scenario's clinical tables read by the clinical record's own reader (None: nothing to record).

        A file the reader refuses raises its ScenarioEntryError (one line naming the table) here, before the
        session is opened, so a refused scenario records nothing; so does an entry the record would refuse (a
        weight or dose no session can have, a dose above the protocol's maximum without an override), tried on
        an in-memory record of the scenario's protocol.
        """
        wanted = [key for key in ("weight", "dose", "rating", "note", "event") if self.scenario.sections.get(key)]
        if not wanted:
            return None
        try:
            from kapmonitor.session.scenario_entries import entries_from_sections
        except ModuleNotFoundError as exc:
            self.notes.append(
                f"the scenario's {', '.join(wanted)} entries were not recorded: this build has no {exc.name}"
            )
            return None
        source = self.scenario.source
        entries = entries_from_sections(
            self.scenario.sections, self.replay.start_us, author="scenario replay", source=source
        )
        self._try_on_a_record(entries, source)
        return entries

    def _try_on_a_record(self, entries: list[Entry], source: str) -> None:
        from kapmonitor.session.templates import builtin_templates
        from kapmonitor.session.timeline import SessionRecord

        about = self.scenario.sections.get("session", {})
        template = builtin_templates().get(str(about.get("protocol", ""))) if isinstance(about, dict) else None
        trial = SessionRecord.for_template(template) if template is not None else SessionRecord()
        for entry in entries:
            try:
                trial.add(entry)
            except UserError as exc:
                at_s = (entry.t_us - self.replay.start_us) / US_PER_S
                raise UserError(f"{source}: the {type(entry).__name__} at {at_s:g} s is refused: {exc}") from None

    def _clinical_entries(self) -> None:
        """The scenario's clinical entries into the session's clinical log; an entry the record refuses (a dose
        above the protocol's maximum, say) is left out with a note that says which and why."""
        entries = self._entries
        if not entries:
            return
        try:
            from kapmonitor.store.clinical_log import ClinicalLog
        except ModuleNotFoundError as exc:
            self.notes.append(f"the scenario's clinical entries were not recorded: this build has no {exc.name}")
            return
        from kapmonitor.session.templates import builtin_templates

        record = ClinicalLog(self.engine, self.session_id, builtin_templates().get(self.template_name))
        for entry in entries:
            try:
                record.add(entry)
            except UserError as exc:
                at_s = (entry.t_us - self.replay.start_us) / US_PER_S
                self.notes.append(f"the scenario's entry at {at_s:g} s was not recorded: {exc}")
