"""The recording as tables: patients, sessions, the devices in them, and what each device said.

Times are UTC microseconds since the epoch (BigInteger), as the rest of kapmonitor keeps them. Numerics are
one row per reading; waveforms are one row per ~1 s chunk with the samples as little-endian int32 bytes, which
keeps a 3-hour pleth track small and quick to reload (DESIGN.md, Storage).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SESSION_STATUSES = ("planned", "in_progress", "ended", "signed")


class Base(DeclarativeBase):
    pass


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
    nurse: Mapped[str] = mapped_column(String(200), default="")
    prescriber: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="planned")
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
    # Covering: a track is read in time order with its values from the index alone (migration 0005).
    __table_args__ = (
        Index("ix_numeric_track_cover", "session_id", "device_id", "metric", "t_us", "id", "value", "flags"),
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
    __table_args__ = (Index("ix_wave_track_time", "session_id", "device_id", "metric", "t_us"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    metric: Mapped[str] = mapped_column(String(64))
    t_us: Mapped[int] = mapped_column(BigInteger)  # time of the first sample
    rate_hz: Mapped[float] = mapped_column(Float)
    n_samples: Mapped[int] = mapped_column(Integer)
    samples: Mapped[bytes] = mapped_column(LargeBinary)  # little-endian int32
    flags: Mapped[str] = mapped_column(Text, default="")


class LinkEventRow(Base):
    __tablename__ = "link_event"
    __table_args__ = (Index("ix_link_event_session_time", "session_id", "device_id", "t_us"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("session.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    t_us: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="")
