"""Every table of kapmonitor's database, in one place (created and changed only by the Alembic migrations).

The recording: patients, sessions, the devices in them, and what each device said. Times are UTC microseconds
since the epoch (BigInteger), as the rest of kapmonitor keeps them. The recorder writes each reading as a row of
``numeric_reading`` and each ~1 s of a waveform as a row of ``wave_chunk`` (samples as ``wave_codec`` bytes: 8-bit
second differences, 16-bit steps or int32), so what arrives is on disk within a fraction of a second. Every few
minutes it moves a track's rows into one row of ``numeric_block`` / ``wave_block`` (``packing``: the rows column
by column, ``block_codec``), which takes a fraction of the space; the two row tables are the staging area, and
a session's record is its blocks and its staged rows together (databases written before migration 0009 hold only
rows). Blocks are never changed; a staged row may be deleted only once a block holds it (migration 0009's
triggers, on SQLite and PostgreSQL).

The clinical record: ``clinical_entry`` holds every entry of a session's record in the order it was entered
(``seq`` is the record's ``ref``). Who and when are columns; the entry's other fields are JSON text (see
``entry_codec``). An amendment is a row of its own whose ``amends_seq`` points at the original; nothing is
UPDATEd or DELETEd (on SQLite, triggers from migration 0002 refuse both). ``clinical_record`` is one row per
session with clinical entries: the protocol and the clinic's maximum mg/kg the record checks doses against.

The alarm log: every alarm state change of a session, as it happened.

Trust: who may do what (user accounts), what was done (the audit trail), and which running kapmonitor owns a
session in progress (so a crash leaves evidence that recovery can find).
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SESSION_STATUSES = ("planned", "in_progress", "ended", "signed")


class Base(DeclarativeBase):
    # Every mapping here is a plain Table (no joins or selects mapped), so say so: Core's insert()/update()
    # then accept Model.__table__ as they do at run time.
    __table__: ClassVar[Table]


class Patient(Base):
    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # pseudonymous ID, e.g. "SIM-0001"
    name: Mapped[str | None] = mapped_column(String(200))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    weight_kg: Mapped[float | None] = mapped_column(Float)

    sessions: Mapped[list[Session]] = relationship(back_populates="patient")


class Session(Base):
    __tablename__ = "session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"), index=True)
    protocol: Mapped[str] = mapped_column(
        String(200), default=""
    )  # the clinical protocol, e.g. "IV ketamine"
    room: Mapped[str] = mapped_column(String(100), default="")
    bed: Mapped[str] = mapped_column(String(100), default="")  # the chair it is recorded at
    nurse: Mapped[str] = mapped_column(String(200), default="")
    prescriber: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="planned", index=True)
    start_us: Mapped[int | None] = mapped_column(BigInteger)
    end_us: Mapped[int | None] = mapped_column(BigInteger)

    patient: Mapped[Patient] = relationship(back_populates="sessions")
    devices: Mapped[list[Device]] = relationship(back_populates="session")


class Device(Base):
    __tablename__ = "device"
    __table_args__ = (Index("ix_device_session_device", "session_id", "device", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id"))
    device: Mapped[str] = mapped_column(String(300))  # "protocol@address", as transports name themselves
    protocol: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(255), default="")

    session: Mapped[Session] = relationship(back_populates="devices")


class NumericReading(Base):
    __tablename__ = "numeric_reading"
    # The staging area: a session's few staged rows are read in time order (migration 0009).
    __table_args__ = (
        Index("ix_numeric_session_time", "session_id", "t_us"),
        {"sqlite_autoincrement": True},  # ids never reused once packing empties the table (migration 0009)
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    metric: Mapped[str] = mapped_column(String(64))
    t_us: Mapped[int] = mapped_column(BigInteger)  # host receive time
    t_device_us: Mapped[int | None] = mapped_column(BigInteger)  # the device's clock, when it sends one
    value: Mapped[float | None] = mapped_column(Float)  # None: the device reported "no value"
    flags: Mapped[str] = mapped_column(Text, default="")  # sorted, comma-separated


class WaveChunkRow(Base):
    __tablename__ = "wave_chunk"
    __table_args__ = (
        Index("ix_wave_track_time", "session_id", "device_id", "metric", "t_us"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    metric: Mapped[str] = mapped_column(String(64))
    t_us: Mapped[int] = mapped_column(BigInteger)  # time of the first sample
    rate_hz: Mapped[float] = mapped_column(Float)
    n_samples: Mapped[int] = mapped_column(Integer)
    samples: Mapped[bytes] = mapped_column(LargeBinary)  # wave_codec: int8 curve (n+6 B), int16 steps (2n), int32
    flags: Mapped[str] = mapped_column(Text, default="")


class NumericBlock(Base):
    """Readings of one track moved out of ``numeric_reading``: the rows with ids ``first_row``..``last_row`` of
    that track (every one of them), ``block_codec.NUMERIC_SCHEMA`` in ``payload``."""

    __tablename__ = "numeric_block"
    __table_args__ = (Index("ix_numeric_block_track", "session_id", "device_id", "metric", "first_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    metric: Mapped[str] = mapped_column(String(64))
    first_row: Mapped[int] = mapped_column(Integer)  # the staged rows' ids it holds, all of the track's between
    last_row: Mapped[int] = mapped_column(Integer)
    first_us: Mapped[int] = mapped_column(BigInteger)  # the earliest and latest reading's t_us
    last_us: Mapped[int] = mapped_column(BigInteger)
    n_rows: Mapped[int] = mapped_column(Integer)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class WaveBlock(Base):
    """Waveform rows of one track moved out of ``wave_chunk``, as ``NumericBlock`` holds readings
    (``block_codec.WAVE_SCHEMA``; each row's samples still in their ``wave_codec`` form)."""

    __tablename__ = "wave_block"
    __table_args__ = (Index("ix_wave_block_track", "session_id", "device_id", "metric", "first_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    metric: Mapped[str] = mapped_column(String(64))
    first_row: Mapped[int] = mapped_column(Integer)
    last_row: Mapped[int] = mapped_column(Integer)
    first_us: Mapped[int] = mapped_column(BigInteger)  # the earliest and latest row's t_us (its first sample)
    last_us: Mapped[int] = mapped_column(BigInteger)
    end_us: Mapped[int] = mapped_column(BigInteger)  # the time of the block's last sample
    n_rows: Mapped[int] = mapped_column(Integer)
    n_samples: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[bytes] = mapped_column(LargeBinary)


class LinkEventRow(Base):
    __tablename__ = "link_event"
    __table_args__ = (Index("ix_link_event_session_time", "session_id", "device_id", "t_us"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    t_us: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")


# The clinical record


class ClinicalRecordRow(Base):
    __tablename__ = "clinical_record"

    session_id: Mapped[int] = mapped_column(ForeignKey("session.id"), primary_key=True)
    protocol: Mapped[str] = mapped_column(String(200), default="")  # the template's name
    max_mg_per_kg: Mapped[float | None] = mapped_column(Float)  # None: doses are not checked


class ClinicalEntryRow(Base):
    __tablename__ = "clinical_entry"
    __table_args__ = (Index("ix_clinical_entry_session_seq", "session_id", "seq", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id"))
    seq: Mapped[int] = mapped_column(Integer)  # 1-based order of entry: the record's ref
    kind: Mapped[str] = mapped_column(String(32))  # a key of ENTRY_KINDS
    t_us: Mapped[int] = mapped_column(BigInteger)  # when it happened
    entered_us: Mapped[int] = mapped_column(BigInteger)  # when it was typed
    author: Mapped[str] = mapped_column(String(200))
    amends_seq: Mapped[int | None] = mapped_column(Integer)  # an amendment: the seq it corrects
    fields: Mapped[str] = mapped_column(Text)  # the entry's other fields, JSON


# The alarm log


class AlarmLogRow(Base):
    __tablename__ = "alarm_event"
    __table_args__ = (Index("ix_alarm_event_session_time", "session_id", "t_us"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id"))
    t_us: Mapped[int] = mapped_column(BigInteger)
    alarm_id: Mapped[str] = mapped_column(String(400))
    alarm: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    device: Mapped[str] = mapped_column(String(300), default="")
    metric: Mapped[str] = mapped_column(String(64), default="")
    value: Mapped[float | None] = mapped_column(Float)
    limit: Mapped[float | None] = mapped_column("limit_value", Float)
    message: Mapped[str] = mapped_column(Text, default="")
    user: Mapped[str] = mapped_column("user_name", String(200), default="")
    origin: Mapped[str] = mapped_column(String(100), default="")  # "": the chair's station; "central"


# Trust


class UserAccount(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    roles: Mapped[str] = mapped_column(String(200))  # sorted, comma-separated: "clinician,nurse"
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string format
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # since the last successful login
    created_us: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # False: deactivated, cannot log in (0008)


class AuditEntry(Base):
    """One audit row. ``hash`` = sha256(prev_hash + canonical JSON of the row); the chain is the proof."""

    __tablename__ = "audit_entry"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    t_us: Mapped[int] = mapped_column(BigInteger)
    user: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)  # unique: the chain cannot fork
    hash: Mapped[str] = mapped_column(String(64))


class SessionOwner(Base):
    """The process recording a session in progress; it refreshes ``heartbeat_us`` while alive."""

    __tablename__ = "session_owner"

    session_id: Mapped[int] = mapped_column(ForeignKey("session.id"), primary_key=True)
    bed: Mapped[str] = mapped_column(String(100), default="")  # the bed whose station holds it
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    process_start: Mapped[str] = mapped_column(String(64), default="")  # tells a reused pid from the owner
    claimed_us: Mapped[int] = mapped_column(BigInteger)
    heartbeat_us: Mapped[int] = mapped_column(BigInteger)


class Hl7OutboxMessage(Base):
    """One HL7 message waiting for (or delivered to) a clinic's interface engine. Sent in ``id`` order per
    destination; a message stays ``pending`` until the engine accepts it, whatever happens in between."""

    __tablename__ = "hl7_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("session.id"), nullable=True)
    destination: Mapped[str] = mapped_column(String(300))  # tcp://HOST:PORT
    control_id: Mapped[str] = mapped_column(String(64))  # MSH-10
    t_us: Mapped[int] = mapped_column(BigInteger)  # the time the message speaks for
    queued_us: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text)  # segments end in CR
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_error: Mapped[str] = mapped_column(String(500), default="")  # the last NAK's reason or network error
    sent_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        Index("ix_hl7_outbox_queue", "destination", "status", "id"),
        Index("ux_hl7_outbox_control", "destination", "control_id", unique=True),
    )
