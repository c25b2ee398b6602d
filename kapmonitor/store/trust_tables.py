"""Tables for trust: who may do what (user accounts), what was done (the audit trail), and which running
kapmonitor owns a session in progress (so a crash leaves evidence that recovery can find).

Declared on the shared ``Base``; created by migration 0004.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kapmonitor.store.models import Base


class UserAccount(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    roles: Mapped[str] = mapped_column(String(200))  # sorted, comma-separated: "clinician,nurse"
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string format
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # since the last successful login
    created_us: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(100), default="")


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
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    process_start: Mapped[str] = mapped_column(String(64), default="")  # tells a reused pid from the owner
    claimed_us: Mapped[int] = mapped_column(BigInteger)
    heartbeat_us: Mapped[int] = mapped_column(BigInteger)
