"""The clinical record and the alarm log as one list of timed events, worded once for every export.

CSV rows, EDF+ annotations and the PDF's markers all come from ``session_events``, worded by
``session.wording`` (as the screens are), so a dose reads the same in each. Amended entries appear as amended;
voided entries stay in the list, marked, so nothing entered vanishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.session.dosing import DosingError, infusion_delivered_mg
from kapmonitor.session.entries import (
    Addendum,
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
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.session.wording import record_words


@dataclass(frozen=True)
class SessionEvent:
    t_us: int
    kind: str  # "dose", "infusion", "rating", "note", "event", "weight", "prescription", "override",
    #            "confirmation", "discharged", "sign-off", "addendum", "alarm"
    name: str  # what: the drug, the scale, the quick event's code, the alarm
    text: str  # one line a reader understands on its own
    value: float | None = None
    unit: str = ""
    author: str = ""
    void: bool = False
    device: str = ""  # alarms: the device whose reading raised it
    brief: str = ""  # a few words for space-starved places (EDF+ annotations, chart markers); "" = text

    @property
    def short(self) -> str:
        return self.brief or self.text


class _EntryCommon(TypedDict):
    """What every entry's event takes from the entry itself (and its words)."""

    t_us: int
    author: str
    void: bool
    text: str


def _entry_event(entry: Entry, void: bool, text: str) -> SessionEvent | None:
    common: _EntryCommon = {"t_us": entry.t_us, "author": entry.author, "void": void, "text": text}
    if isinstance(entry, IntranasalDevice | BolusDose):
        lot = f" lot {entry.lot}" if entry.lot else ""
        brief = f"{entry.drug} {entry.mg:g} mg{lot}"
        return SessionEvent(kind="dose", name=entry.drug, value=entry.mg, unit="mg", brief=brief, **common)
    if isinstance(entry, InfusionEvent):
        return SessionEvent(kind="infusion", name=entry.drug, value=entry.rate, unit=entry.rate_unit, **common)
    if isinstance(entry, Rating):
        value = None if entry.score is None else float(entry.score)
        brief = text.split(" (", 1)[0]
        return SessionEvent(kind="rating", name=entry.scale, value=value, brief=brief, **common)
    if isinstance(entry, Note):
        common["text"] = entry.text  # the kind already says "note"
        return SessionEvent(kind="note", name="note", **common)
    if isinstance(entry, QuickEvent):
        return SessionEvent(kind="event", name=entry.code, **common)
    if isinstance(entry, BodyWeight):
        return SessionEvent(kind="weight", name="weight", value=entry.kg, unit="kg", **common)
    if isinstance(entry, Prescription):
        return SessionEvent(kind="prescription", name=entry.drug, value=entry.mg, unit="mg", **common)
    if isinstance(entry, DoseOverride):
        per_kg = entry.projected_mg_per_kg is not None
        value, unit = (entry.projected_mg_per_kg, "mg/kg") if per_kg else (entry.projected_mg, "mg")
        return SessionEvent(kind="override", name="override", value=value, unit=unit, **common)
    if isinstance(entry, Confirmation):
        return SessionEvent(kind="confirmation", name=entry.item, **common)
    if isinstance(entry, Discharged):
        return SessionEvent(kind="discharged", name="discharged", brief="patient discharged", **common)
    if isinstance(entry, SignOff):
        return SessionEvent(kind="sign-off", name="sign-off", **common)
    if isinstance(entry, Addendum):
        return SessionEvent(kind="addendum", name="addendum", **common)
    return None


def alarm_event(alarm: AlarmEvent) -> SessionEvent:
    parts = [f"{alarm.priority} {alarm.alarm} {alarm.state}"]
    if alarm.metric:
        parts.append(alarm.metric)
    if alarm.value is not None:
        parts.append(f"value {alarm.value:g}")
    if alarm.limit is not None:
        parts.append(f"limit {alarm.limit:g}")
    if alarm.message:
        parts.append(alarm.message)
    return SessionEvent(
        t_us=alarm.t_us,
        kind="alarm",
        name=alarm.alarm,
        text=", ".join(parts),
        brief=f"{alarm.alarm} {alarm.state} ({alarm.priority})",
        value=alarm.value,
        author=alarm.user,
        device=alarm.device,
    )


def session_events(
    record: SessionRecord, alarms: tuple[AlarmEvent, ...] = (), until_us: int | None = None
) -> list[SessionEvent]:
    """Every clinical entry (as amended) and alarm change, in time order. An infusion change says the mg its
    setting delivered until the next change (or ``until_us``, default the last entry or alarm)."""
    words = record_words(record)
    current = record.current()
    times = [c.entry.t_us for c in current] + [a.t_us for a in alarms] + [0]
    end = until_us if until_us is not None else max(times)
    running = [(c.ref, c.entry) for c in current if isinstance(c.entry, InfusionEvent) and not c.void]
    try:
        delivered = infusion_delivered_mg([e for _, e in running], end)
    except DosingError:
        delivered = {}
    for i, (ref, event) in enumerate(running):
        if i in delivered and event.action in ("start", "rate", "resume"):
            words[ref] += f"; {delivered[i]:.2f} mg delivered at this rate"
    found = [_entry_event(c.entry, c.void, words[c.ref]) for c in current]
    events = [e for e in found if e is not None] + [alarm_event(a) for a in alarms]
    return sorted(events, key=lambda e: e.t_us)


def labelled(event: SessionEvent) -> str:
    """The event's line with its kind and, for voided entries, the strike-out said in words."""
    prefix = "VOIDED " if event.void else ""
    return f"{prefix}{event.kind}: {event.text}"
