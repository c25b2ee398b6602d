"""A session's whole clinical record as plain JSON values: what ``sessions show ID --json`` adds to the keys of
``sessions list --json`` (``entries``, ``dosing``, ``rems``, ``alarms``, ``sign_off``; see DESIGN.md).

Entries are the current view of the record in time order (amended entries as amended, with who amended what and
why; voided entries kept and marked), each worded as the screens word it and with its fields. Times are
ISO-8601 with the offset, as everywhere on the command line.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kapmonitor.core.clock import iso, now_us
from kapmonitor.export.loader import SessionData
from kapmonitor.export.rems_export import is_esketamine, rems_summary
from kapmonitor.session.dosing import drug_totals, infusion_delivered_mg
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
from kapmonitor.session.rems import RemsForm
from kapmonitor.session.timeline import CurrentEntry, SessionRecord
from kapmonitor.session.vitals import BpMeasurement
from kapmonitor.session.wording import record_words

# The ``kind`` of each entry in the JSON (the clinic's words, not the storage names).
KINDS: dict[type, str] = {
    BolusDose: "dose",
    IntranasalDevice: "dose",
    InfusionEvent: "dose",
    Rating: "rating",
    Note: "note",
    QuickEvent: "event",
    BodyWeight: "weight",
    Prescription: "prescription",
    DoseOverride: "override",
    Confirmation: "confirmation",
    Discharged: "discharge",
    SignOff: "sign_off",
    Addendum: "addendum",
}


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def record_until_us(data: SessionData) -> int:
    """The time doses are totalled to: the session's end, or now while it runs."""
    return data.info.end_us if data.info.end_us is not None else now_us()


def dosing_json(record: SessionRecord, until_us: int) -> dict[str, Any]:
    weight = record.weight_kg
    totals = drug_totals(record.doses(), until_us, weight)
    prescription = record.prescription
    return {
        "weight_kg": weight,
        "drugs": {
            t.drug: {
                "total_mg": _round(t.total_mg),
                "total_mg_per_kg": _round(t.total_mg_per_kg),
                "routes": list(t.routes),
            }
            for t in totals
        },
        "prescription": None if prescription is None else _fields(prescription),
        "cap_mg_per_kg": record.cap_mg_per_kg,
    }


def _fields(entry: Entry) -> dict[str, Any]:
    skip = {"t_us", "entered_us", "author"}
    return {f.name: _plain(getattr(entry, f.name)) for f in dataclasses.fields(entry) if f.name not in skip}


def _plain(value: object) -> object:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _entry_fields(entry: Entry, delivered_mg: float | None, device: int | None) -> dict[str, Any]:
    if isinstance(entry, BolusDose):
        return {k: getattr(entry, k) for k in ("drug", "route", "mg", "mg_per_kg", "site", "lot")}
    if isinstance(entry, IntranasalDevice):
        return {"drug": entry.drug, "route": "intranasal", "mg": entry.mg, "lot": entry.lot, "device": device}
    if isinstance(entry, InfusionEvent):
        return {
            "drug": entry.drug,
            "route": "iv",
            "action": entry.action,
            "rate": entry.rate,
            "unit": entry.rate_unit,
            "concentration_mg_per_ml": entry.concentration_mg_per_ml,
            "weight_kg": entry.weight_kg,
            "mg": _round(delivered_mg),  # what this setting delivered until the next change
            "lot": entry.lot,
        }
    if isinstance(entry, Rating):
        return {"scale": entry.scale, "form": entry.form, "score": entry.score, "items": dict(entry.values)}
    return _fields(entry)


def entries_json(record: SessionRecord, until_us: int) -> list[dict[str, Any]]:
    current = record.current()
    words = record_words(record)
    infusions = [c for c in current if isinstance(c.entry, InfusionEvent) and not c.void]
    delivered = infusion_delivered_mg([c.entry for c in infusions], until_us)  # type: ignore[misc]
    delivered_by_ref = {c.ref: delivered[i] for i, c in enumerate(infusions)}
    devices = [c.ref for c in current if isinstance(c.entry, IntranasalDevice) and not c.void]
    return [_entry_json(c, words[c.ref], delivered_by_ref.get(c.ref), devices) for c in current]


def _entry_json(c: CurrentEntry, text: str, delivered_mg: float | None, devices: list[int]) -> dict[str, Any]:
    device = devices.index(c.ref) + 1 if c.ref in devices else None
    return {
        "ref": c.ref,
        "t": iso(c.entry.t_us),
        "entered": iso(c.entry.entered_us),
        "kind": KINDS.get(type(c.entry), type(c.entry).__name__.lower()),
        "author": c.entry.author,
        "voided": c.void,
        "summary": text,  # the entry in the words the screens use
        **_entry_fields(c.entry, delivered_mg, device),
        "amendments": [
            {"by": a.author, "at": iso(a.entered_us), "reason": a.reason, "void": a.void, "changes": dict(a.changes)}
            for a in c.amendments
        ],
    }


def _bp_json(m: BpMeasurement | None) -> dict[str, Any] | None:
    return None if m is None else {"t": iso(m.t_us), "systolic": m.systolic, "diastolic": m.diastolic}


def rems_json(form: RemsForm) -> dict[str, Any]:
    return {
        "dose_mg": form.dose_mg,
        "dose_choice": form.dose_choice,
        "devices": [{"t": iso(d.t_us), "mg": d.mg, "lot": d.lot} for d in form.device_list],
        "lots": list(form.lots),
        "first_dose": iso(form.first_spray_us),
        "discharge": iso(form.discharge_us),
        "monitoring_minutes": form.monitoring_minutes,
        "ready_to_leave": iso(form.ready_to_leave_us),
        "ready_to_leave_minutes": form.ready_to_leave_minutes,
        "vitals_acceptable_before_dose": form.vitals_ok_pre_dose,
        "vitals_acceptable_at_end": form.vitals_ok_at_end,
        "bp_pre_dose": _bp_json(form.bp_pre_dose),
        "bp_40_min": _bp_json(form.bp_40_min),
        "bp_discharge": _bp_json(form.bp_discharge),
        "sedation": {"occurred": form.sedation, "detail": form.sedation_detail},
        "dissociation": {"occurred": form.dissociation, "detail": form.dissociation_detail},
        "respiratory_depression": {"occurred": form.respiratory_depression, "detail": form.respiratory_detail},
        "bp_increase": {"occurred": form.bp_increase, "detail": form.bp_increase_detail},
        "missing": list(form.missing),
        "not_in_record": list(form.not_in_record),
    }


def alarms_json(data: SessionData) -> list[dict[str, Any]]:
    return [
        {
            "t": iso(a.t_us),
            "alarm": a.alarm,
            "priority": a.priority,
            "state": a.state,
            "kind": a.kind,
            "device": a.device,
            "metric": a.metric,
            "value": a.value,
            "limit": a.limit,
            "message": a.message,
            "user": a.user,
        }
        for a in data.alarms
    ]


def record_json(data: SessionData) -> dict[str, Any]:
    """``entries``, ``dosing``, ``rems`` (None unless the session is intranasal esketamine), ``alarms`` and
    ``sign_off`` of one loaded session."""
    record = data.record
    until = record_until_us(data)
    signed = record.signed
    return {
        "entries": entries_json(record, until),
        "dosing": dosing_json(record, until),
        "rems": rems_json(rems_summary(data)) if is_esketamine(data) else None,
        "alarms": alarms_json(data),
        "sign_off": None if signed is None else {"by": signed.author, "t": iso(signed.entered_us)},
    }
