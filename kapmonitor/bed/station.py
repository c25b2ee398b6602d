"""A bed's worth of kapmonitor without a window: devices, the hub, live buffers, the recorder and the
sessions.

The application, ``kapmonitor record`` and the tests all wire a bed the same way through this class.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.limits import LimitProfile
from kapmonitor.alarms.profile_file import builtin_profile
from kapmonitor.alarms.ticker import AlarmSink, AlarmTicker
from kapmonitor.bed.central_link import CentralRequests
from kapmonitor.bed.records import ClinicRecords
from kapmonitor.core.beds import bed_or_configured
from kapmonitor.core.clock import HOST_CLOCK
from kapmonitor.core.hub import Hub, Sink
from kapmonitor.core.live import LiveBuffers
from kapmonitor.core.readings import Item, LinkEvent, LinkEventKind
from kapmonitor.devices.links.transport import DeviceStatus, Transport
from kapmonitor.store.alarm_log import AlarmLog
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.db import open_database
from kapmonitor.store.packing import first_line, pack_ended_sessions
from kapmonitor.store.recorder import Recorder
from kapmonitor.store.recovery import SessionGuard, SessionRecovery

if TYPE_CHECKING:
    from kapmonitor.alarms.events import AlarmEvent
    from kapmonitor.devices.base import HostDriver
    from kapmonitor.devices.simulation.interface import PatientModel
    from kapmonitor.devices.simulation.physiology import PhysiologicalModel

log = logging.getLogger(__name__)


class Service(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

DEFAULT_ALARM_PROFILE = "kap-clinic"
RECORDER_DEVICE = "kapmonitor-recorder"  # the "device" of the recording-failed technical alarm


class Station:
    def __init__(
        self,
        db_url: str | None = None,
        *,
        record: bool = True,
        alarm_profile: str | LimitProfile = DEFAULT_ALARM_PROFILE,
        bed: str | None = None,
    ) -> None:
        self.bed = bed_or_configured(bed)  # the chair this station's sessions are recorded at
        self._patient_model: PhysiologicalModel | None = None
        self.hub = Hub()
        self.buffers = LiveBuffers()
        self.hub.subscribe(self.buffers.write)
        self.database = open_database(db_url)  # the SQLAlchemy engine of the clinic's database
        self.audit = AuditTrail(self.database)
        self.records = ClinicRecords(self.database, audit=self.audit)  # what the screens read and write
        self.repository = self.records.repository
        self.recorder: Recorder | None = (
            Recorder(self.database, publish=self.hub.publish, audit=self.audit) if record else None
        )
        self.user = ""  # who is logged in: the name audited for this station's session, device and limit changes
        self.recovery = SessionRecovery(self.database, audit=self.audit)  # trust: crash recovery
        self._guard = SessionGuard(self.recovery)
        if self.recorder is not None:
            self.hub.subscribe(self.recorder.write)
        self.session_id: int | None = None
        self._transports: list[Transport] = []
        self._pty_devices: list[Any] = []  # simulated serial devices this station owns (PtyDevice)
        self._services: list[Service] = []  # started and stopped with the station (the HL7 outbound sender)
        self._started = False
        self._stopped = False
        self._repacking: threading.Thread | None = None  # packs what ended sessions left staged, once per start
        self._init_alarms(alarm_profile)

    # ---- alarms: the engine watches the hub, a ticker beats it and feeds the alarm log and the window ----

    def _init_alarms(self, profile: str | LimitProfile) -> None:
        if isinstance(profile, str):
            profile = builtin_profile(profile)
        self.alarm_engine = AlarmEngine(profile)
        self.hub.subscribe(self.alarm_engine.write)
        self._recording_failed = False
        self._central = CentralRequests(self.database, self.alarm_engine)  # acknowledgements from the central station
        self.alarm_ticker = AlarmTicker(self.alarm_engine, checks=[self._recording_health, self._central])
        self._alarm_log: AlarmLog | None = AlarmLog(self.database) if self.recorder is not None else None
        if self._alarm_log is not None:
            self.alarm_ticker.subscribe(self._alarm_log.write)

    def subscribe_alarms(self, sink: AlarmSink) -> None:
        """``sink(events)`` gets every alarm event, on the alarm-tick thread, about once a second."""
        self.alarm_ticker.subscribe(sink)

    @property
    def recording_failure(self) -> str | None:
        """Why the recorder cannot write to the database now, in words; None while it writes (or records nothing)."""
        return self.recorder.failure if self.recorder is not None else None

    def _recording_health(self, now: int) -> list[Item]:
        """A recorder that cannot write raises the high-priority technical alarm; writing again clears it."""
        failure = self.recording_failure
        if (failure is not None) == self._recording_failed:
            return []
        self._recording_failed = failure is not None
        kind = LinkEventKind.RECORDING_FAILED if failure is not None else LinkEventKind.RECORDING_RESUMED
        return [LinkEvent(kind, failure or "", now, RECORDER_DEVICE)]

    def subscribe(self, sink: Sink) -> None:
        self.hub.subscribe(sink)

    @property
    def transports(self) -> list[Transport]:
        return list(self._transports)

    def add_transport(self, transport: Transport) -> None:
        self._transports.append(transport)
        if self.recorder is not None:
            self.recorder.register_device(transport.device, transport.protocol, transport.address)
        if self._started:
            transport.start(self.hub.publish)
        self._audit_device("added", transport)

    def remove_transport(self, transport: Transport) -> None:
        """Disconnect a device: it stops and its readings stop arriving; what it sent stays recorded."""
        if transport not in self._transports:
            return
        self._transports.remove(transport)
        transport.stop()
        self._audit_device("removed", transport)

    def _audit_device(self, change: str, transport: Transport) -> None:
        payload = {"change": change, "device": transport.device, "protocol": transport.protocol,
                   "address": transport.address, "session": self.session_id}
        self.audit.append(self.user, "device.change", transport.device, payload)

    # ---- alarm limits, audited (the engine itself stays free of the database) --------------------------

    def change_alarm_limit(
        self,
        key: str,
        *,
        reason: str = "",
        user: str | None = None,
        now_us: int | None = None,
        **changes: object,
    ) -> list[AlarmEvent]:
        """Change one alarm limit for this session and audit the before and after."""
        who = self.user if user is None else user
        before = self.alarm_engine.profile.limit(key)
        events = self.alarm_engine.override_limit(key, user=who, reason=reason, now_us=now_us, **changes)
        after = self.alarm_engine.profile.limit(key)
        payload = {"key": key, "before": _plain(before), "after": _plain(after), "reason": reason,
                   "session": self.session_id}
        self.audit.append(who, "alarm.limit_change", key, payload)
        return events

    def set_alarm_profile(self, profile: LimitProfile, *, user: str | None = None) -> list[AlarmEvent]:
        """Use another alarm profile from now on, audited with both profiles' names."""
        who = self.user if user is None else user
        before = self.alarm_engine.profile.name
        events = self.alarm_engine.set_profile(profile)
        payload = {"before": before, "after": profile.name, "session": self.session_id}
        self.audit.append(who, "alarm.profile_change", profile.name, payload)
        return events

    def add_simulated(
        self,
        protocol: str,
        *,
        model: PatientModel | None = None,
        via_pty: bool = True,
        driver: HostDriver | None = None,
    ) -> Transport:
        """A simulated ``protocol`` device: on a pseudo-terminal read by the real serial path, or in-process.

        Every simulated device of a station watches one simulated patient (so the cuff's pulse rate and the
        oximeter's agree) unless ``model`` is given. Bluetooth protocols have no serial path: always in-process.
        """
        from kapmonitor.devices.registry import descriptor

        found = descriptor(protocol)
        if found.simulator is None:
            raise ValueError(f"{protocol} has no simulator")
        if model is None:
            model = self._simulated_patient().for_device(protocol)
        simulator = found.simulator(model)
        transport: Transport
        if via_pty and found.link == "serial":
            from kapmonitor.devices.links.pty import PtyDevice
            from kapmonitor.devices.links.serial import SerialTransport

            pty = PtyDevice(simulator, name=protocol)
            pty.start()
            self._pty_devices.append(pty)
            transport = SerialTransport(protocol, pty.port, driver=driver)
        else:
            from kapmonitor.devices.links.simulated import SimulatedTransport

            transport = SimulatedTransport(protocol, simulator, driver=driver)
        self.add_transport(transport)
        return transport

    def add_simulated_bluetooth(
        self, profiles: tuple[str, ...] = ("ble-plx-cont", "ble-cuff"), *, address: str = "FA:KE:00:00:00:01"
    ) -> Transport:
        """A simulated Bluetooth cuff and oximeter watching this station's patient, taking the real adapter
        path (subscription, decoding, watchdog, reconnection)."""
        from kapmonitor.devices.ble.fake import simulated_ble_transport

        transport = simulated_ble_transport(self._simulated_patient().for_device("ble"), profiles, address=address)
        self.add_transport(transport)
        return transport

    def _simulated_patient(self) -> PhysiologicalModel:
        from kapmonitor.devices.simulation.physiology import PhysiologicalModel

        if self._patient_model is None:
            self._patient_model = PhysiologicalModel()  # a scenario's patient is passed as `model`
        return self._patient_model

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.hub.start()
        self.alarm_ticker.start()
        for transport in self._transports:
            transport.start(self.hub.publish)
        for service in self._services:
            service.start()
        if self.recorder is not None:
            self._repacking = threading.Thread(target=self._repack, name="kapmonitor-repack", daemon=True)
            self._repacking.start()

    def _repack(self) -> None:
        """Pack the staged rows ended sessions still have (a database recorded before packed blocks, a session
        whose recorder died before its last pack), one session at a time, beside the live recording: a session
        in progress is never touched, and the other stations doing the same at their start wait their turn."""
        try:
            done = pack_ended_sessions(self.database, should_stop=lambda: self._stopped)
        except Exception as error:  # the database is unreachable: the next start tries again
            log.warning("ended sessions' staged rows not packed: %s", first_line(error))
            return
        if done.sessions:
            log.info(
                "packed the staged rows of %d ended sessions (%d readings, %d waveform rows)",
                len(done.sessions), done.packed.readings, done.packed.wave_rows,
            )

    def add_service(self, service: Service) -> None:
        """Something that runs beside the devices for as long as the station does (started now if it runs)."""
        self._services.append(service)
        if self._started and not self._stopped:
            service.start()

    @property
    def services(self) -> list[Service]:
        return list(self._services)

    def statuses(self) -> list[DeviceStatus]:
        return [t.status() for t in self._transports]

    def start_session(self, patient: str, protocol: str = "", *, room: str = "", prescriber: str = "") -> int:
        """Start recording a session for the patient with this pseudonymous code; returns the session id.

        The nurse on duty is the station's logged-in user."""
        if self.recorder is None:
            raise RuntimeError("this station was opened without recording")
        if self.session_id is not None:
            raise RuntimeError(f"session {self.session_id} is still running")
        HOST_CLOCK.reanchor()  # the only time the host clock follows a changed wall clock: between sessions
        session_id = self.repository.start_session(
            patient, protocol, room=room, nurse=self.user, prescriber=prescriber, bed=self.bed
        )  # audited as session.start, with the row it wrote
        self._guard.hold(session_id, bed=self.bed)
        self._record(session_id)
        return session_id

    def resume_session(self, session_id: int, *, user: str = "") -> None:
        """Continue recording a session a crashed kapmonitor left in progress; the gap is recorded and
        ``user`` is audited as the one who resumed it. ``self.recovery.interrupted()`` lists candidates."""
        if self.recorder is None:
            raise RuntimeError("this station was opened without recording")
        if self.session_id is not None:
            raise RuntimeError(f"session {self.session_id} is still running")
        self.recovery.resume(session_id, user=user or self.user, bed=self.bed)
        self._guard.hold(session_id, claimed=True)
        self._record(session_id)

    def _record(self, session_id: int) -> None:
        assert self.recorder is not None
        for transport in self._transports:
            self.recorder.register_device(transport.device, transport.protocol, transport.address)
        self.recorder.begin(session_id)
        self.session_id = session_id
        self._central.follow(session_id)
        if self._alarm_log is not None:
            self._alarm_log.session_id = session_id

    def backdate_session(self, start_us: int) -> None:
        """Say the running session began at ``start_us``: its beginning is being recorded after the fact
        (the demo records a scenario's first minutes with :meth:`prefill`)."""
        if self.session_id is None:
            raise RuntimeError("no session is running")
        self.repository.backdate_start(self.session_id, start_us, user=self.user)

    def prefill(self, items: Sequence[Item], alarm_events: Sequence[AlarmEvent] = (), *, timeout: float = 60.0) -> bool:
        """Record what happened before this station was watching, as if it had been: ``items`` go to the live
        buffers and the running session's recording, ``alarm_events`` (already decided, by an engine that saw
        those items) to its alarm log. The station's alarm engine does not see them: an alarm of the past must
        not sound now. Returns once the recording holds them (False: the recorder gave up after ``timeout`` s)."""
        self.buffers.write(items)
        if self.recorder is None:
            return True
        self.recorder.write(items)
        written = self.recorder.flush(timeout=timeout)
        if self._alarm_log is not None and alarm_events:
            self._alarm_log.write(alarm_events)
        return written

    def stop_session(self) -> None:
        """End the running session once what it received is on disk (or the recorder gives up waiting)."""
        if self.session_id is None or self.recorder is None:
            return
        self.hub.sync()  # readings already on their way belong to this session
        self.alarm_ticker.pump()  # the session's last alarm events belong in its log
        if self._alarm_log is not None:
            self._alarm_log.session_id = None
        self._central.follow(None)
        session_id, self.session_id = self.session_id, None
        self.recorder.end()
        if not self.recorder.flush(timeout=10.0):
            log.error("session %s ended with unwritten data: %s", session_id, self.recorder.failure)
        try:
            self.repository.end_session(session_id, user=self.user)  # audited as session.stop
        finally:
            self._guard.let_go()

    def stop(self) -> None:
        """Stop devices, end a running session, stop the hub and the recorder. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        for transport in self._transports:
            transport.stop()
        for pty in self._pty_devices:
            pty.stop()
        self.hub.stop()  # delivers what the devices published before stopping
        self.alarm_ticker.stop()
        self.stop_session()
        for service in self._services:  # after the session ended, so its end is seen by them
            service.stop()
        if self.recorder is not None:
            self.recorder.stop()
        if self._repacking is not None:  # stops between sessions; a session's pack under way is finished
            self._repacking.join()
        self.database.dispose()


def _plain(limit: object) -> dict[str, Any]:
    """An alarm limit as plain JSON values for the audit trail."""
    return dataclasses.asdict(limit)  # type: ignore[call-overload]
