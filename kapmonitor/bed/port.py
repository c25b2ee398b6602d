"""The one way the screens talk to a bed: :class:`BedPort` (live monitoring, sessions, alarms, devices) and
:class:`Records` (the clinic's records: users, clinical record, recorded readings, alarm logs, recorded
sessions for review); and the central station to the clinic: :class:`CentralBoard`.

:class:`kapmonitor.bed.station.Station` is the bed (its ``records`` a :class:`kapmonitor.bed.records.ClinicRecords`),
:class:`kapmonitor.bed.clinic.ClinicBoard` the central station's board; the tests' station doubles implement the
same protocols. The UI imports nothing from the store: the values it needs from there cross this port
(``InterruptedSession``, ``ChairView``, ``ChairAlarm``, ``Value`` and ``SILENT`` are re-exported here for that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.alarms.limits import LimitProfile
from kapmonitor.alarms.ticker import AlarmSink
from kapmonitor.core.access import User
from kapmonitor.core.live import LiveBuffers
from kapmonitor.core.readings import Reading
from kapmonitor.devices.links.transport import DeviceStatus, Transport
from kapmonitor.export.loader import SessionData
from kapmonitor.session.entries import SignOff
from kapmonitor.session.templates import ProtocolTemplate
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.chair_board import SILENT, ChairAlarm, ChairView, Value
from kapmonitor.store.recovery import InterruptedSession

__all__ = [
    "SILENT",
    "BedPort",
    "CentralBoard",
    "ChairAlarm",
    "ChairView",
    "DeviceControl",
    "InterruptedSession",
    "Records",
    "UserAccounts",
    "Value",
]


class UserAccounts(Protocol):
    """The clinic's user accounts (``kapmonitor.store.users.UserDirectory``): logins and every change to an
    account (roles, password, deactivation) are audited."""

    def needs_first_admin(self) -> bool: ...

    def create_first_admin(self, username: str, password: str) -> User: ...

    def add_user(self, by: User, username: str, role: str | Iterable[str], password: str) -> User: ...

    def unlock(self, by: User, username: str) -> None: ...

    def set_roles(self, by: User, username: str, roles: str | Iterable[str]) -> User: ...

    def set_password(self, by: User, username: str, password: str) -> None: ...

    def deactivate(self, by: User, username: str) -> None: ...

    def reactivate(self, by: User, username: str) -> None: ...

    def demo_user(self) -> User: ...

    def users(self) -> list[User]: ...

    def accounts(self) -> list[tuple[User, bool]]: ...

    def authenticate(self, username: str, password: str) -> User: ...

    def confirm_password(self, username: str, password: str) -> User: ...


class Records(Protocol):
    """The clinic's records, read and written (audited) for the screens."""

    statuses: tuple[str, ...]  # the states of a session, in the order they happen

    @property
    def users(self) -> UserAccounts: ...

    def clinical_log(self, session_id: int, template: ProtocolTemplate | None = None) -> SessionRecord:
        """The session's clinical record; each entry is stored the moment it is accepted."""
        ...

    def recorded_readings(self, session_id: int, metrics: Sequence[str]) -> Callable[[], list[Reading]]: ...

    def session_start_us(self, session_id: int) -> int | None: ...

    def session_protocol(self, session_id: int) -> str: ...

    def session_status(self, session_id: int) -> str:
        """planned, in_progress, ended or signed, read anew."""
        ...

    def sign_session(self, session_id: int, *, username: str, password: str, entered_us: int) -> SignOff:
        """Sign as ``username`` with the password typed again (a clinician; an ended session)."""
        ...

    def alarm_log(self, session_id: int) -> tuple[AlarmEvent, ...]: ...

    def list_sessions(self) -> list[dict[str, Any]]: ...

    def load_session(self, session_id: int, alarms: Sequence[AlarmEvent] | None = None) -> SessionData: ...

    def unvouched(self, session_id: int) -> str | None:
        """What of the session's record the audit trail does not vouch for, in one line; None when intact."""
        ...

    def interrupted_sessions(self) -> list[InterruptedSession]: ...

    def close_interrupted(self, session_id: int, *, user: str) -> None: ...


class DeviceControl(Protocol):
    """The bed's devices: what the Devices window and the device strip use."""

    @property
    def transports(self) -> list[Transport]: ...

    def statuses(self) -> list[DeviceStatus]: ...

    def add_transport(self, transport: Transport) -> None: ...

    def remove_transport(self, transport: Transport) -> None: ...

    def add_simulated(self, protocol: str) -> Transport: ...

    def add_simulated_bluetooth(self, profiles: tuple[str, ...] = ..., *, address: str = ...) -> Transport: ...


class BedPort(DeviceControl, Protocol):
    """One bed as the live screens see it."""

    session_id: int | None  # the session being recorded, None between sessions
    user: str  # who is at the monitor: audited for the bed's session, device and alarm-limit changes

    @property
    def buffers(self) -> LiveBuffers:
        """The live numbers and curves (the window's timers read them)."""
        ...

    @property
    def records(self) -> Records | None:
        """The clinic's records; None for a bed without a database (a test double)."""
        ...

    @property
    def alarm_engine(self) -> AlarmEngine:
        """The bed's alarms: the bar acknowledges and pauses them, the limits screen reads the profile."""
        ...

    def start_session(self, patient: str, protocol: str = "", *, room: str = "", prescriber: str = "") -> int: ...

    def stop_session(self) -> None: ...

    def resume_session(self, session_id: int, *, user: str = "") -> None: ...

    def subscribe_alarms(self, sink: AlarmSink) -> None: ...

    def change_alarm_limit(
        self, key: str, *, reason: str = "", user: str | None = None, now_us: int | None = None, **changes: object
    ) -> list[AlarmEvent]:
        """Change one alarm limit for this session, audited with before and after."""
        ...

    def set_alarm_profile(self, profile: LimitProfile, *, user: str | None = None) -> list[AlarmEvent]: ...


class CentralBoard(Protocol):
    """The central station's view of the clinic: every chair recording on the shared database."""

    @property
    def where(self) -> str:
        """The database, for the status line (without a password)."""
        ...

    @property
    def users(self) -> UserAccounts: ...

    def poll(self, now: int | None = None) -> list[ChairView]: ...

    def acknowledge(self, session_id: int, alarm: ChairAlarm, user: str) -> None: ...

    def pause_audio(self, session_id: int, user: str, seconds: float) -> None: ...
