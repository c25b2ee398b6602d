"""FHIR R4 export: the session as a ``collection`` Bundle (JSON) another system can import.

- ``Patient``: pseudonymous, the patient code as identifier only (meta.security PSEUDED), no name or birth date.
- ``Device``: one per recording device (its ``protocol@address`` id as identifier).
- Vital signs: ``Observation`` (category vital-signs) with LOINC and IEEE 11073 MDC codes and UCUM units; SpO2
  carries both LOINC 59408-5 and 2708-6. Continuous numerics are charted, not dumped: the first reading with a
  value in each ``chart_interval_s`` (60 s; 0 charts every reading), as EHR flowsheets chart monitor data. The
  complete series are in the CSV and EDF+ exports. Device flags go into ``note``.
- Blood pressure: one panel ``Observation`` (LOINC 85354-9) per NIBP measurement with systolic, diastolic and
  mean as components.
- Pleth: ``Observation`` with ``SampledData`` (MDC 150452), one per minute of unbroken waveform at most.
- Doses: ``MedicationAdministration`` (dose, route, rate, period; the lot on a contained ``Medication``'s
  ``batch``): one per spray device or bolus, one per running stretch of an infusion. Voided doses stay, with
  status ``entered-in-error``.
- Ratings: ``Observation`` (category survey) with the score and each item as a component.
- Notes and quick events: ``Observation`` (LOINC 34109-9 "Note" with the text as ``valueString``; a quick event
  coded in ``urn:kapmonitor:quick-event`` with its label), with the author as performer. Voided ones stay,
  with status ``entered-in-error``; amended ones carry the corrected text.
- The Bundle's ``identifier`` (system ``urn:kapmonitor:audit-head``) is the audit chain's head when the export
  was made: ``kapmonitor audit verify --anchor SEQ:HASH`` checks it (docs/audit.md).

Only elements that exist unchanged in R4 (4.0.1) and R4B are used.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kapmonitor.core.clock import US_PER_S, iso, now_us
from kapmonitor.core.metrics import METRICS, NIBP_PANEL_LOINC, metric_info
from kapmonitor.export.loader import NumericTrack, SessionData, WaveRun
from kapmonitor.session.dosing import DosingError, infusion_segments
from kapmonitor.session.entries import BolusDose, InfusionEvent, IntranasalDevice, Note, QuickEvent, Rating
from kapmonitor.session.timeline import SessionRecord

LOINC = "http://loinc.org"
MDC = "urn:iso:std:iso:11073:10101"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PATIENT_CODE_SYSTEM = "urn:kapmonitor:patient-code"
DEVICE_SYSTEM = "urn:kapmonitor:device"
QUICK_EVENT_SYSTEM = "urn:kapmonitor:quick-event"
AUDIT_HEAD_SYSTEM = "urn:kapmonitor:audit-head"
NOTE_LOINC = ("34109-9", "Note")
ROUTES = {  # SNOMED CT route of administration
    "iv": ("47625008", "Intravenous route"),
    "im": ("78421000", "Intramuscular route"),
    "intranasal": ("46713006", "Nasal route"),
    "sublingual": ("37839007", "Sublingual route"),
    "oral": ("26643006", "Oral route"),
}
BP_METRICS = ("nibp_systolic", "nibp_diastolic", "nibp_mean")
NOT_OBSERVATIONS = ("cuff_pressure",)  # the cuff's live pressure while it inflates says nothing of the patient
MDC_NIBP = 150020


class _Ids:
    """Stable ids: the same session exports to the same resource ids every time."""

    def __init__(self, data: SessionData) -> None:
        self.base = f"kapmonitor:{data.info.id}:{data.info.start_us}"

    def __call__(self, key: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.base}:{key}"))


@dataclass(frozen=True)
class _Refs:
    """What every observation points at: the patient, its devices, and the id maker."""

    patient: str
    devices: dict[str, str]
    ids: _Ids


Entry = tuple[str, dict[str, Any]]  # (uuid, resource)


def _coding(system: str, code: str | int, display: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"system": system, "code": str(code)}
    if display:
        found["display"] = display
    return found


def _metric_code(metric: str) -> dict[str, Any]:
    info = metric_info(metric)
    codings = [_coding(LOINC, code) for code in info.loinc]
    if info.mdc_code is not None:
        codings.append(_coding(MDC, info.mdc_code, info.mdc_name))
    return {"coding": codings, "text": info.label.replace("\u2082", "2")}


def _quantity(value: float, metric: str) -> dict[str, Any]:
    info = metric_info(metric)
    quantity: dict[str, Any] = {"value": round(value, 6), "unit": info.ucum or info.unit}
    if info.ucum:
        quantity.update(system=UCUM, code=info.ucum)
    return quantity


def _category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [_coding(CATEGORY, code)]}]


def _ref(uid: str) -> dict[str, str]:
    return {"reference": f"urn:uuid:{uid}"}


def fhir_bundle(data: SessionData, *, chart_interval_s: float = 60, wave_window_s: float = 60) -> dict[str, Any]:
    ids = _Ids(data)
    patient = ids("patient")
    devices = {d: ids(f"device:{d}") for d, _, _ in data.info.devices}
    for device in [*(t.device for t in data.numerics), *(w.device for w in data.waves)]:
        devices.setdefault(device, ids(f"device:{device}"))
    resources: list[tuple[str, dict[str, Any]]] = [(patient, _patient(data, patient))]
    protocols = {d: p for d, p, _ in data.info.devices}
    resources += [(uid, _device(uid, d, protocols.get(d, ""), patient)) for d, uid in devices.items()]
    context = _Refs(patient, devices, ids)
    for track in data.numerics:
        if track.metric in METRICS and track.metric not in (*BP_METRICS, *NOT_OBSERVATIONS):
            resources += _vitals(track, context, chart_interval_s)
    resources += _bp_panels(data, context)
    for wave in data.waves:
        for n, run in enumerate(_windows(wave.runs(), wave_window_s)):
            uid = ids(f"wave:{wave.device}:{wave.metric}:{n}")
            resources.append((uid, _sampled(run, wave.metric, patient, devices[wave.device], uid)))
    resources += _administrations(data.record, data, patient, ids)
    resources += _ratings(data.record, patient, ids)
    resources += _notes(data.record, patient, ids)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": ids("bundle"),
        "type": "collection",
        "timestamp": iso(now_us()),
        "entry": [{"fullUrl": f"urn:uuid:{uid}", "resource": r} for uid, r in resources],
    }
    if data.audit_head:
        bundle["identifier"] = {"system": AUDIT_HEAD_SYSTEM, "value": data.audit_head}
    return bundle


def write_fhir(data: SessionData, out: Path, **options: float) -> list[Path]:
    path = out / f"session-{data.info.id}.fhir.json" if out.is_dir() else out
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(fhir_bundle(data, **options), ensure_ascii=False), encoding="utf-8")
    return [path]


def _patient(data: SessionData, uid: str) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": uid,
        "meta": {
            "security": [
                _coding("http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "PSEUDED", "pseudonymized")
            ]
        },
        "identifier": [{"system": PATIENT_CODE_SYSTEM, "value": data.info.patient}],
    }


def _device(uid: str, device: str, protocol: str, patient: str) -> dict[str, Any]:
    return {
        "resourceType": "Device",
        "id": uid,
        "identifier": [{"system": DEVICE_SYSTEM, "value": device}],
        "deviceName": [{"name": device, "type": "user-friendly-name"}]
        + ([{"name": protocol, "type": "model-name"}] if protocol else []),
        "patient": _ref(patient),
    }


def _charted(track: NumericTrack, interval_s: float) -> Iterator[tuple[int, float, str]]:
    seen: set[int] = set()
    for t, v, flags in zip(track.t_us.tolist(), track.values.tolist(), track.flags, strict=True):
        if v != v:  # NaN: the device sent no value
            continue
        bucket = t // round(interval_s * US_PER_S) if interval_s > 0 else t
        if bucket not in seen:
            seen.add(bucket)
            yield t, v, flags


def _vitals(track: NumericTrack, context: _Refs, interval_s: float) -> list[Entry]:
    patient, devices, ids = context.patient, context.devices, context.ids
    found = []
    for t, value, flags in _charted(track, interval_s):
        uid = ids(f"obs:{track.device}:{track.metric}:{t}")
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": uid,
            "status": "final",
            "code": _metric_code(track.metric),
            "subject": _ref(patient),
            "effectiveDateTime": iso(t),
            "valueQuantity": _quantity(value, track.metric),
            "device": _ref(devices[track.device]),
        }
        if metric_info(track.metric).loinc:
            obs["category"] = _category("vital-signs")
        if flags:
            obs["note"] = [{"text": f"device flags: {flags.replace(',', ', ')}"}]
        found.append((uid, obs))
    return found


def _bp_panels(data: SessionData, context: _Refs) -> list[Entry]:
    patient, devices, ids = context.patient, context.devices, context.ids
    measured: dict[tuple[str, int], dict[str, float]] = {}
    for track in data.numerics:
        if track.metric in BP_METRICS:
            for t, v in zip(track.t_us.tolist(), track.values.tolist(), strict=True):
                if v == v:
                    measured.setdefault((track.device, t), {})[track.metric] = v
    found = []
    for (device, t), values in sorted(measured.items(), key=lambda kv: kv[0][1]):
        uid = ids(f"bp:{device}:{t}")
        panel = {
            "resourceType": "Observation",
            "id": uid,
            "status": "final",
            "category": _category("vital-signs"),
            "code": {
                "coding": [_coding(LOINC, NIBP_PANEL_LOINC), _coding(MDC, MDC_NIBP, "MDC_PRESS_BLD_NONINV")],
                "text": "Blood pressure",
            },
            "subject": _ref(patient),
            "effectiveDateTime": iso(t),
            "device": _ref(devices[device]),
            "component": [
                {"code": _metric_code(m), "valueQuantity": _quantity(values[m], m)} for m in BP_METRICS if m in values
            ],
        }
        found.append((uid, panel))
    return found


def _windows(runs: list[WaveRun], window_s: float) -> Iterator[WaveRun]:
    for run in runs:
        step = max(1, round(window_s * run.rate_hz))
        for first in range(0, len(run.samples), step):
            start = run.start_us + round(first * US_PER_S / run.rate_hz)
            yield WaveRun(start, run.rate_hz, run.samples[first : first + step])


def _sampled(run: WaveRun, metric: str, patient: str, device: str, uid: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": uid,
        "status": "final",
        "code": _metric_code(metric),
        "subject": _ref(patient),
        "effectivePeriod": {"start": iso(run.start_us), "end": iso(run.end_us)},
        "device": _ref(device),
        "valueSampledData": {
            "origin": {"value": 0},
            "period": round(1000 / run.rate_hz, 6),  # milliseconds between samples
            "dimensions": 1,
            "data": " ".join(str(v) for v in run.samples.tolist()),
        },
    }


def _mg(value: float) -> dict[str, Any]:
    return {"value": round(value, 4), "unit": "mg", "system": UCUM, "code": "mg"}


def _route(route: str) -> dict[str, Any]:
    known = ROUTES.get(route)
    return {"coding": [_coding(SNOMED, *known)], "text": route} if known else {"text": route}


def _administration(
    uid: str, drug: str, lot: str, patient: str, author: str, status: str, dosage: dict[str, Any]
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": uid,
        "status": status,
        "subject": _ref(patient),
        "performer": [{"actor": {"display": author}}],
        "dosage": dosage,
    }
    if lot:
        resource["contained"] = [
            {"resourceType": "Medication", "id": "med", "code": {"text": drug}, "batch": {"lotNumber": lot}}
        ]
        resource["medicationReference"] = {"reference": "#med", "display": drug}
    else:
        resource["medicationCodeableConcept"] = {"text": drug}
    return resource


def _administrations(
    record: SessionRecord, data: SessionData, patient: str, ids: _Ids
) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for current in record.current():
        dose = current.entry
        if not isinstance(dose, BolusDose | IntranasalDevice):
            continue
        uid = ids(f"dose:{current.ref}")
        route = "intranasal" if isinstance(dose, IntranasalDevice) else dose.route
        dosage: dict[str, Any] = {"route": _route(route), "dose": _mg(dose.mg)}
        if isinstance(dose, BolusDose) and dose.site:
            dosage["site"] = {"text": dose.site}
        status = "entered-in-error" if current.void else "completed"
        resource = _administration(uid, dose.drug, dose.lot, patient, dose.author, status, dosage)
        resource["effectiveDateTime"] = iso(dose.t_us)
        found.append((uid, resource))
    return found + _infusions(record, data, patient, ids)


def _infusions(record: SessionRecord, data: SessionData, patient: str, ids: _Ids) -> list[tuple[str, dict[str, Any]]]:
    events = record.current_of(InfusionEvent)
    if not events:
        return []
    span = data.span_us()
    until = max(
        [e.t_us for e in events] + ([data.info.end_us] if data.info.end_us else []) + ([span[1]] if span else [])
    )
    try:
        segments = infusion_segments(events, until)
    except DosingError as error:
        raise ValueError(f"the infusion entries cannot be exported: {error}") from error
    found = []
    for n, segment in enumerate(segments):
        setting = [e for e in events if e.t_us <= segment.start_us and e.action in ("start", "rate", "resume")][-1]
        uid = ids(f"infusion:{n}:{segment.start_us}")
        dosage = {
            "text": f"{setting.rate:g} {setting.rate_unit}" if setting.rate is not None else "",
            "route": _route("iv"),
            "dose": _mg(segment.mg),
            "rateQuantity": {"value": round(segment.mg_per_h, 4), "unit": "mg/h", "system": UCUM, "code": "mg/h"},
        }
        lot = next((e.lot for e in reversed(events) if e.t_us <= segment.start_us and e.lot), "")
        resource = _administration(uid, setting.drug, lot, patient, setting.author, "completed", dosage)
        resource["effectivePeriod"] = {"start": iso(segment.start_us), "end": iso(segment.end_us)}
        found.append((uid, resource))
    return found


def _ratings(record: SessionRecord, patient: str, ids: _Ids) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for current in record.current():
        rating = current.entry
        if not isinstance(rating, Rating):
            continue
        uid = ids(f"rating:{current.ref}")
        obs: dict[str, Any] = {
            "resourceType": "Observation",
            "id": uid,
            "status": "entered-in-error" if current.void else "final",
            "category": _category("survey"),
            "code": {"text": rating.scale + (f" ({rating.form})" if rating.form else "")},
            "subject": _ref(patient),
            "effectiveDateTime": iso(rating.t_us),
            "performer": [{"display": rating.author}],
            "component": [{"code": {"text": key}, "valueInteger": value} for key, value in rating.values],
        }
        if rating.score is not None:
            obs["valueInteger"] = rating.score
        found.append((uid, obs))
    return found


def _notes(record: SessionRecord, patient: str, ids: _Ids) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for current in record.current():
        entry = current.entry
        if isinstance(entry, Note):
            code: dict[str, Any] = {"coding": [_coding(LOINC, *NOTE_LOINC)], "text": "Note"}
            text = entry.text
        elif isinstance(entry, QuickEvent):
            code = {"coding": [_coding(QUICK_EVENT_SYSTEM, entry.code, entry.label)], "text": entry.label}
            text = entry.label
        else:
            continue
        uid = ids(f"note:{current.ref}")
        found.append(
            (
                uid,
                {
                    "resourceType": "Observation",
                    "id": uid,
                    "status": "entered-in-error" if current.void else "final",
                    "code": code,
                    "subject": _ref(patient),
                    "effectiveDateTime": iso(entry.t_us),
                    "performer": [{"display": entry.author}],
                    "valueString": text,
                },
            )
        )
    return found
