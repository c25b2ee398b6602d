"""The clinical record's entries as table rows and back: one row per entry, written once and never changed.

Who and when are columns of ``clinical_entry`` (see ``tables``); the entry's other fields are JSON text, so every
entry kind fits one table and reads back exactly.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

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
    Prescription,
    QuickEvent,
    Rating,
    SignOff,
)

# The stored name of each entry kind. Stored data: never rename one.
ENTRY_KINDS: dict[str, type] = {
    "weight": BodyWeight,
    "bolus": BolusDose,
    "infusion": InfusionEvent,
    "intranasal": IntranasalDevice,
    "dose_override": DoseOverride,
    "prescription": Prescription,
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
