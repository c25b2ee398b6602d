"""The FHIR export parsed with fhir.resources: every resource validates, and the codes, units and values are
the ones clinical.md names.

fhir.resources 7+ ships FHIR R5 with R4B and STU3 subpackages; R4 itself is no longer offered. R4B keeps
Patient, Device, Observation, MedicationAdministration and Bundle as R4 has them, so its models check the
R4 shape the export writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from export_session import (
    BP_TIMES_S,
    CUFF,
    FIRST_SPRAY_S,
    OXIMETER,
    PATIENT,
    T0,
    RecordedSession,
    S,
    bp_at,
    pleth_sample,
    record_session,
)
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from kapmonitor.core.clock import iso
from kapmonitor.export.fhir_export import LOINC, MDC, UCUM, fhir_bundle, write_fhir
from kapmonitor.export.loader import SessionData
from kapmonitor.session.entries import BolusDose, InfusionEvent
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.db import engine_for


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SessionData]:
    recorded: RecordedSession = record_session(tmp_path_factory.mktemp("export-fhir"))
    engine = engine_for(recorded.url)
    yield recorded.load(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def bundle(data: SessionData, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    (path,) = write_fhir(data, tmp_path_factory.mktemp("fhir-out") / "visit.json")
    return json.loads(path.read_text(encoding="utf-8"))


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def codes(concept: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["system"], c["code"]) for c in concept.get("coding", [])}


def test_every_resource_parses_with_the_fhir_models(bundle: dict[str, Any]) -> None:
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert entry["fullUrl"] == f"urn:uuid:{resource['id']}"


def test_references_point_into_the_bundle(bundle: dict[str, Any]) -> None:
    urls = {e["fullUrl"] for e in bundle["entry"]}
    text = json.dumps(bundle)
    referenced = {part.split('"')[0] for part in text.split('"reference": "')[1:]}
    assert referenced - {"#med"} <= urls


def test_the_patient_is_pseudonymous(bundle: dict[str, Any]) -> None:
    (patient,) = resources(bundle, "Patient")
    assert patient["identifier"][0]["value"] == PATIENT
    assert "name" not in patient and "birthDate" not in patient
    assert patient["meta"]["security"][0]["code"] == "PSEUDED"


def test_one_device_resource_per_device(bundle: dict[str, Any]) -> None:
    names = sorted(d["identifier"][0]["value"] for d in resources(bundle, "Device"))
    assert names == sorted([OXIMETER, CUFF])


def test_spo2_carries_both_loinc_codes_the_mdc_code_and_ucum_percent(bundle: dict[str, Any]) -> None:
    spo2 = [o for o in resources(bundle, "Observation") if (LOINC, "59408-5") in codes(o["code"])]
    assert spo2, "no SpO2 observations"
    first = spo2[0]
    assert {(LOINC, "2708-6"), (MDC, "150456")} <= codes(first["code"])
    assert first["valueQuantity"] == {"value": 97.0, "unit": "%", "system": UCUM, "code": "%"}
    assert first["effectiveDateTime"] == iso(T0)
    assert first["category"][0]["coding"][0]["code"] == "vital-signs"
    assert len(spo2) == 45  # charted once a minute; the minute of the gap still has readings after it


def test_pulse_rate_is_per_minute_in_ucum(bundle: dict[str, Any]) -> None:
    pulse = [o for o in resources(bundle, "Observation") if (MDC, "149530") in codes(o["code"])]
    assert (LOINC, "8867-4") in codes(pulse[0]["code"])
    assert pulse[0]["valueQuantity"]["code"] == "/min"


def test_blood_pressure_is_a_panel_with_components(bundle: dict[str, Any]) -> None:
    panels = [o for o in resources(bundle, "Observation") if (LOINC, "85354-9") in codes(o["code"])]
    assert [p["effectiveDateTime"] for p in panels] == [iso(T0 + s * S) for s in BP_TIMES_S]
    components = {
        next(iter(codes(c["code"]) & {(LOINC, "8480-6"), (LOINC, "8462-4"), (LOINC, "8478-0")})): c["valueQuantity"]
        for c in panels[0]["component"]
    }
    sys, dia, mean = bp_at(BP_TIMES_S[0])
    assert components[(LOINC, "8480-6")] == {"value": sys, "unit": "mm[Hg]", "system": UCUM, "code": "mm[Hg]"}
    assert components[(LOINC, "8462-4")]["value"] == dia
    assert components[(LOINC, "8478-0")]["value"] == mean


def test_pleth_is_sampled_data_a_minute_at_a_time(bundle: dict[str, Any]) -> None:
    pleth = [o for o in resources(bundle, "Observation") if (MDC, "150452") in codes(o["code"])]
    first = pleth[0]["valueSampledData"]
    assert first["period"] == pytest.approx(1000 / 75)
    assert first["dimensions"] == 1
    values = [int(v) for v in first["data"].split()]
    assert values == [pleth_sample(i) for i in range(60 * 75)]
    total = sum(len(o["valueSampledData"]["data"].split()) for o in pleth)
    assert total == (45 * 60 - 30) * 75


def test_each_spray_is_a_medication_administration_with_its_lot(bundle: dict[str, Any]) -> None:
    given = resources(bundle, "MedicationAdministration")
    assert [g["effectiveDateTime"] for g in given] == [iso(T0 + FIRST_SPRAY_S * S), iso(T0 + (FIRST_SPRAY_S + 300) * S)]
    first = given[0]
    assert first["status"] == "completed"
    assert first["dosage"]["dose"] == {"value": 28.0, "unit": "mg", "system": UCUM, "code": "mg"}
    assert first["dosage"]["route"]["coding"][0]["code"] == "46713006"
    assert first["contained"][0]["batch"]["lotNumber"] == "LOT-A1"
    assert first["medicationReference"]["reference"] == "#med"


def test_an_infusion_becomes_one_administration_per_rate_with_its_period(data: SessionData) -> None:
    record = SessionRecord("iv-infusion")
    common = {"author": "R. Ortiz", "weight_kg": 80.0, "concentration_mg_per_ml": 10.0, "lot": "K-77"}
    record.add(InfusionEvent(T0, T0, action="start", rate=0.5, rate_unit="mg/kg/h", **common))  # type: ignore[arg-type]
    record.add(InfusionEvent(T0 + 20 * 60 * S, T0 + 20 * 60 * S, action="rate", rate=0.75, **common))  # type: ignore[arg-type]
    record.add(InfusionEvent(T0 + 40 * 60 * S, T0 + 40 * 60 * S, action="stop", **common))  # type: ignore[arg-type]
    record.add(BolusDose(T0 + 41 * 60 * S, T0 + 41 * 60 * S, "R. Ortiz", mg=10.0, route="im", site="left deltoid"))
    bundle = fhir_bundle(SessionData(data.info, data.numerics, data.waves, data.link_events, record))
    given = resources(bundle, "MedicationAdministration")
    for g in given:
        get_fhir_model_class("MedicationAdministration").model_validate(g)
    bolus, first, second = given
    assert bolus["dosage"]["route"]["coding"][0]["code"] == "78421000"
    assert bolus["dosage"]["site"] == {"text": "left deltoid"}
    assert first["effectivePeriod"] == {"start": iso(T0), "end": iso(T0 + 20 * 60 * S)}
    assert first["dosage"]["rateQuantity"]["value"] == pytest.approx(40.0)  # 0.5 mg/kg/h x 80 kg
    assert first["dosage"]["dose"]["value"] == pytest.approx(40.0 / 3, abs=1e-4)  # mg to 4 decimals
    assert second["dosage"]["rateQuantity"]["value"] == pytest.approx(60.0)
    assert first["contained"][0]["batch"]["lotNumber"] == "K-77"


def test_ratings_are_survey_observations(bundle: dict[str, Any]) -> None:
    ratings = [
        o
        for o in resources(bundle, "Observation")
        if o.get("category", [{}])[0].get("coding", [{}])[0].get("code") == "survey"
    ]
    assert [(r["code"]["text"], r.get("valueInteger")) for r in ratings][:3] == [
        ("moaas", 5),
        ("moaas", 4),
        ("moaas", 3),
    ]


def test_the_same_session_exports_the_same_ids(data: SessionData, bundle: dict[str, Any]) -> None:
    again = fhir_bundle(data)
    assert [e["fullUrl"] for e in again["entry"]] == [e["fullUrl"] for e in bundle["entry"]]


def test_notes_and_quick_events_are_observations_with_their_text_and_author(bundle: dict[str, Any]) -> None:
    observations = resources(bundle, "Observation")
    notes = [o for o in observations if (LOINC, "34109-9") in codes(o["code"])]
    assert [(n["valueString"], n["performer"][0]["display"]) for n in notes] == [
        ("Probe off while the patient adjusted the eyeshades", "R. Ortiz"),
        ("Feels calm, some visual distortion; BP up as expected", "R. Ortiz"),
    ]
    assert notes[0]["effectiveDateTime"] == iso(T0 + 615 * S)
    (music,) = [o for o in observations if ("urn:kapmonitor:quick-event", "music-change") in codes(o["code"])]
    assert music["valueString"] == "Music changed" and music["effectiveDateTime"] == iso(T0 + 1000 * S)
    for observation in [*notes, music]:
        get_fhir_model_class("Observation").model_validate(observation)


def test_the_bundle_carries_the_audit_head_it_was_exported_at(data: SessionData) -> None:
    import dataclasses

    head = "12:" + "ab" * 32
    bundle = fhir_bundle(dataclasses.replace(data, audit_head=head))
    assert bundle["identifier"] == {"system": "urn:kapmonitor:audit-head", "value": head}
    Bundle.model_validate(bundle)
