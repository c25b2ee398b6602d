"""The clinical record as tables: one row per entry, written once and never changed.

``clinical_entry`` holds every entry of a session's record in the order it was entered (``seq`` is the
record's ``ref``). Who and when are columns; the entry's other fields are JSON text, so every entry kind fits
one table and reads back exactly. An amendment is a row of its own whose ``amends_seq`` points at the original;
nothing is UPDATEd or DELETEd (on SQLite, triggers from migration 0002 refuse both).

``clinical_record`` is one row per session that has clinical entries: the protocol and the clinic's maximum
mg/kg the record checks doses against, so a record reloaded after a restart checks doses the same way.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kapmonitor.session.entries import (
    Addendum,
    Amendment,
    BodyWeight,
    BolusDose,
    Confirmation,
    Discharged,
    DoseOverride,
    Entry,
    InfusionEvent,
    IntranasalDevice,
    Note,
    QuickEvent,
    Rating,
    SignOff,
)
from kapmonitor.store.models import Base

# The stored name of each entry kind. Stored data: never rename one.
ENTRY_KINDS: dict[str, type] = {
    "weight": BodyWeight,
    "bolus": BolusDose,
    "infusion": InfusionEvent,
    "intranasal": IntranasalDevice,
    "dose_override": DoseOverride,
    "rating": Rating,
    "note": Note,
    "quick_event": QuickEvent,
    "confirmation": Confirmation,
    "discharged": Discharged,
    "amendment": Amendment,
    "sign_off": SignOff,
    "addendum": Addendum,
}
_KIND_OF = {cls: kind for kind, cls in ENTRY_KINDS.items()}
_COLUMN_FIELDS = ("t_us", "entered_us", "author", "original_ref")


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


class UnreadableEntry(ValueError):
    """A stored row that does not make an entry (a kind this version does not know, damaged JSON)."""


def entry_to_row(entry: Entry) -> dict[str, Any]:
    """The column values for one entry (without session_id and seq, which the record assigns)."""
    kind = _KIND_OF.get(type(entry))
    if kind is None:
        raise TypeError(f"{type(entry).__name__} is not a clinical entry")
    rest = {f.name: getattr(entry, f.name) for f in dataclasses.fields(entry) if f.name not in _COLUMN_FIELDS}
    return {
        "kind": kind,
        "t_us": entry.t_us,
        "entered_us": entry.entered_us,
        "author": entry.author,
        "amends_seq": entry.original_ref if isinstance(entry, Amendment) else None,
        # ensure_ascii: any text, even a stray surrogate from a paste, is stored as plain ASCII escapes
        "fields": json.dumps(rest, ensure_ascii=True, sort_keys=True),
    }


def row_to_entry(row: Any) -> Entry:
    """The entry a stored row holds (``row`` has the columns as attributes or as a mapping)."""
    get = row.__getitem__ if isinstance(row, dict) else lambda name: getattr(row, name)
    kind = get("kind")
    cls = ENTRY_KINDS.get(kind)
    if cls is None:
        raise UnreadableEntry(f"a stored entry has the unknown kind {kind!r} (made by a newer kapmonitor?)")
    try:
        rest = {name: _tupled(value) for name, value in json.loads(get("fields")).items()}
        values = {"t_us": get("t_us"), "entered_us": get("entered_us"), "author": get("author"), **rest}
        if cls is Amendment:
            values["original_ref"] = get("amends_seq")
        return cls(**values)
    except (ValueError, TypeError, AttributeError) as exc:
        raise UnreadableEntry(f"a stored {kind} entry cannot be read: {exc}") from None


def _tupled(value: Any) -> Any:
    """JSON gives lists back; entries hold tuples (a rating's answers, an amendment's changes)."""
    if isinstance(value, list):
        return tuple(_tupled(v) for v in value)
    return value
