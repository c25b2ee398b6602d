"""The clinical record and the alarm log as one list of timed events, worded once for every export.

CSV rows, EDF+ annotations and the PDF's markers all come from ``session_events``, so a dose reads the same in
each. Amended entries appear as amended; voided entries stay in the list, marked, so nothing entered vanishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from kapmonitor.alarms.events import AlarmEvent
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
    QuickEvent,
    Rating,
    SignOff,
)
from kapmonitor.session.timeline import SessionRecord


@dataclass(frozen=True)
class SessionEvent:
    t_us: int
    kind: str  # "dose", "infusion", "rating", "note", "event", "weight", "override", "confirmation",
    #            "discharged", "sign-off", "addendum", "alarm"
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


def dose_text(dose: BolusDose | InfusionEvent | IntranasalDevice) -> str:
    if isinstance(dose, IntranasalDevice):
        return f"{dose.drug} {dose.mg:g} mg intranasal device" + (f", lot {dose.lot}" if dose.lot else "")
    if isinstance(dose, BolusDose):
        per_kg = f" ({dose.mg_per_kg:g} mg/kg)" if dose.mg_per_kg is not None else ""
        site = f", {dose.site}" if dose.site else ""
        lot = f", lot {dose.lot}" if dose.lot else ""
        return f"{dose.drug} {dose.mg:g} mg{per_kg} {dose.route}{site}{lot}"
    rate = f" {dose.rate:g} {dose.rate_unit}" if dose.rate is not None else ""
    lot = f", lot {dose.lot}" if dose.lot else ""
    return f"{dose.drug} infusion {dose.action}{rate}{lot}"


def rating_text(rating: Rating) -> str:
    form = f" ({rating.form})" if rating.form else ""
    score = f" {rating.score}" if rating.score is not None else ""
    shown = len(rating.values) > 1 or rating.score is None
    items = ", ".join(f"{k} {v}" for k, v in rating.values) if shown else ""
    return f"{rating.scale}{form}{score}" + (f" [{items}]" if items else "")


class _EntryCommon(TypedDict):
    """What every entry's event takes from the entry itself."""

    t_us: int
    author: str
    void: bool


def _entry_event(entry: Entry, void: bool) -> SessionEvent | None:
    common: _EntryCommon = {"t_us": entry.t_us, "author": entry.author, "void": void}
    if isinstance(entry, IntranasalDevice | BolusDose):
        lot = f" lot {entry.lot}" if entry.lot else ""
        brief = f"{entry.drug} {entry.mg:g} mg{lot}"
        return SessionEvent(
            kind="dose", name=entry.drug, text=dose_text(entry), value=entry.mg, unit="mg", brief=brief, **common
        )
    if isinstance(entry, InfusionEvent):
        return SessionEvent(
            kind="infusion", name=entry.drug, text=dose_text(entry), value=entry.rate, unit=entry.rate_unit, **common
        )
    if isinstance(entry, Rating):
        value = None if entry.score is None else float(entry.score)
        brief = f"{entry.scale} {entry.score}" if entry.score is not None else rating_text(entry)
        return SessionEvent(
            kind="rating", name=entry.scale, text=rating_text(entry), value=value, brief=brief, **common
        )
    if isinstance(entry, Note):
        return SessionEvent(kind="note", name="note", text=entry.text, **common)
    if isinstance(entry, QuickEvent):
        return SessionEvent(kind="event", name=entry.code, text=entry.label, **common)
    if isinstance(entry, BodyWeight):
        return SessionEvent(
            kind="weight", name="weight", text=f"weight {entry.kg:g} kg", value=entry.kg, unit="kg", **common
        )
    if isinstance(entry, DoseOverride):
        text = f"dose above {entry.limit_mg_per_kg:g} mg/kg approved: {entry.reason}"
        return SessionEvent(
            kind="override", name="override", text=text, value=entry.projected_mg_per_kg, unit="mg/kg", **common
        )
    if isinstance(entry, Confirmation):
        return SessionEvent(kind="confirmation", name=entry.item, text=f"confirmed: {entry.item}", **common)
    if isinstance(entry, Discharged):
        return SessionEvent(kind="discharged", name="discharged", text="patient discharged", **common)
    if isinstance(entry, SignOff):
        return SessionEvent(kind="sign-off", name="sign-off", text=f"record signed by {entry.author}", **common)
    if isinstance(entry, Addendum):
        about = f" (about entry {entry.refers_to})" if entry.refers_to is not None else ""
        return SessionEvent(kind="addendum", name="addendum", text=entry.text + about, **common)
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


def session_events(record: SessionRecord, alarms: tuple[AlarmEvent, ...] = ()) -> list[SessionEvent]:
    """Every clinical entry (as amended) and alarm change, in time order."""
    found = [_entry_event(c.entry, c.void) for c in record.current()]
    events = [e for e in found if e is not None] + [alarm_event(a) for a in alarms]
    return sorted(events, key=lambda e: e.t_us)


def labelled(event: SessionEvent) -> str:
    """The event's line with its kind and, for voided entries, the strike-out said in words."""
    prefix = "VOIDED " if event.void else ""
    return f"{prefix}{event.kind}: {event.text}"
