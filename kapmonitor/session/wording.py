"""Every clinical entry in the clinic's words, once: the Entries list, the review lanes, the PDF, the CSV and
the JSON all show an entry through ``entry_words`` (or ``record_words`` for a whole record, which knows the
rate an infusion change came from and the number of each spray device).

"ketamine infusion 0.6 -> 0.9 mg/kg/h", "CADSS-6 9 (items 1:3 2:2 6:1 7:1 15:2 22:0)", "MOAA/S 5 (alert)".
"""

from __future__ import annotations

from functools import cache

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
from kapmonitor.session.scales import RatingScale, builtin_scales
from kapmonitor.session.timeline import SessionRecord

_ROUTES = {"im": "IM", "iv": "IV", "sublingual": "sublingual", "oral": "oral", "intranasal": "intranasal"}
_INFUSION_VERBS = {"start": "started", "pause": "paused", "resume": "resumed", "stop": "stopped"}


@cache
def _scales() -> dict[str, RatingScale]:
    return builtin_scales()


def _n(value: float) -> str:
    """A number as a clinician writes it: 0.5, 28, 61.5 (no trailing zeros, at most two decimals)."""
    return f"{round(value, 2):g}"


def _lot(lot: str) -> str:
    return f", lot {lot}" if lot.strip() else ""


def route_words(route: str) -> str:
    return _ROUTES.get(route, route)


def rate_words(event: InfusionEvent) -> str:
    return f"{_n(event.rate)} {event.rate_unit}" if event.rate is not None else ""


def dose_words(
    dose: BolusDose | InfusionEvent | IntranasalDevice,
    *,
    previous: InfusionEvent | None = None,
    device_number: int | None = None,
) -> str:
    if isinstance(dose, IntranasalDevice):
        number = f" device {device_number}" if device_number is not None else " device"
        return f"{dose.drug}{number} {_n(dose.mg)} mg intranasal{_lot(dose.lot)}"
    if isinstance(dose, BolusDose):
        per_kg = f" ({_n(dose.mg_per_kg)} mg/kg)" if dose.mg_per_kg is not None else ""
        site = f", {dose.site}" if dose.site.strip() else ""
        return f"{dose.drug} {_n(dose.mg)} mg{per_kg} {route_words(dose.route)}{site}{_lot(dose.lot)}"
    return infusion_words(dose, previous)


def infusion_words(event: InfusionEvent, previous: InfusionEvent | None = None) -> str:
    head = f"{event.drug} infusion"
    rate = rate_words(event)
    if event.action == "rate":
        before = rate_words(previous) if previous is not None else ""
        if previous is not None and previous.rate_unit == event.rate_unit and previous.rate is not None:
            return f"{head} {_n(previous.rate)} -> {rate}"
        return f"{head} {before} -> {rate}" if before else f"{head} rate {rate}"
    text = f"{head} {_INFUSION_VERBS.get(event.action, event.action)}"
    if rate:
        text += f" at {rate}"
    if event.action == "start" and event.concentration_mg_per_ml is not None:
        text += f" ({_n(event.concentration_mg_per_ml)} mg/mL)"
    return text + _lot(event.lot)


def rating_words(rating: Rating) -> str:
    scale = _scales().get(rating.scale)
    name = rating.form.upper() if rating.form else (scale.short_title if scale else rating.scale)
    if scale is not None and not scale.has_total:
        labels = {i.key: i.label.lower() for i in scale.items}
        return f"{name}: " + ", ".join(f"{labels.get(k, k)} {v}" for k, v in rating.values)
    text = name if rating.score is None else f"{name} {rating.score}"
    if scale is not None and scale.levels and rating.score is not None and len(scale.items) == 1:
        meaning = scale.levels.get(rating.score)
        return f"{text} ({meaning})" if meaning else text
    if len(rating.values) > 1:
        text += " (items " + " ".join(f"{k}:{v}" for k, v in rating.values) + ")"
    return text


def prescription_words(p: Prescription) -> str:
    route = route_words(p.route)
    if p.mg is not None:
        devices = f" as {p.devices} devices" if p.devices else ""
        text = f"{p.drug} {_n(p.mg)} mg {route}{devices}"
    else:
        over = f" over {_n(p.minutes)} min" if p.minutes else ""
        text = f"{p.drug} {_n(p.mg_per_kg or 0)} mg/kg {route}{over}"
    if p.max_mg_per_kg is not None:
        text += f", cap {_n(p.max_mg_per_kg)} mg/kg"
    by = f" (prescriber {p.prescriber})" if p.prescriber.strip() else ""
    return f"prescription: {text}{by}"


def override_words(o: DoseOverride) -> str:
    if o.projected_mg_per_kg is not None and o.limit_mg_per_kg is not None:
        what = f"dose to {_n(o.projected_mg_per_kg)} mg/kg, above the {_n(o.limit_mg_per_kg)} mg/kg cap"
    elif o.projected_mg is not None and o.limit_mg is not None:
        what = f"dose to {_n(o.projected_mg)} mg, beyond the {_n(o.limit_mg)} mg prescribed"
    else:
        what = "dose beyond the prescription"
    return f"override by {o.author}: {what}; reason: {o.reason}"


def discharge_words(d: Discharged) -> str:
    if not d.open_items:
        return "patient discharged"
    return (
        f"patient discharged with {len(d.open_items)} item(s) open ({'; '.join(d.open_items)}); "
        f"reason: {d.override_reason}"
    )


def entry_words(entry: Entry, *, previous: InfusionEvent | None = None, device_number: int | None = None) -> str:
    """One line for one entry; ``previous`` (the infusion setting before a rate change) and ``device_number``
    add what only the whole record knows (``record_words`` supplies both)."""
    if isinstance(entry, BolusDose | InfusionEvent | IntranasalDevice):
        return dose_words(entry, previous=previous, device_number=device_number)
    if isinstance(entry, Rating):
        return rating_words(entry)
    if isinstance(entry, BodyWeight):
        return f"weight {_n(entry.kg)} kg"
    if isinstance(entry, Note):
        return f"note: {entry.text}"
    if isinstance(entry, QuickEvent):
        return entry.label
    if isinstance(entry, Prescription):
        return prescription_words(entry)
    if isinstance(entry, DoseOverride):
        return override_words(entry)
    if isinstance(entry, Confirmation):
        return f"confirmed: {entry.item.replace('-', ' ')}"
    if isinstance(entry, Discharged):
        return discharge_words(entry)
    if isinstance(entry, SignOff):
        return f"record signed by {entry.author}"
    if isinstance(entry, Addendum):
        about = f" (about entry {entry.refers_to})" if entry.refers_to is not None else ""
        return f"addendum: {entry.text}{about}"
    if isinstance(entry, Amendment):
        verb = "voided" if entry.void else "amended"
        changes = ", ".join(f"{k} {v}" for k, v in entry.changes)
        return f"{verb} entry {entry.original_ref}" + (f": {changes}" if changes else "") + f" ({entry.reason})"
    return type(entry).__name__


def record_words(record: SessionRecord) -> dict[int, str]:
    """The words of every current entry of ``record`` by ref (amended entries as amended)."""
    words: dict[int, str] = {}
    last_setting: dict[str, InfusionEvent] = {}
    devices = 0
    for c in record.current():
        entry = c.entry
        previous = None
        number = None
        if isinstance(entry, InfusionEvent):
            previous = last_setting.get(entry.drug)
            if not c.void and entry.rate is not None:
                last_setting[entry.drug] = entry
        if isinstance(entry, IntranasalDevice) and not c.void:
            devices += 1
            number = devices
        words[c.ref] = entry_words(entry, previous=previous, device_number=number)
    return words
