"""Scenario tables in, clinical entries out: doses, ratings, notes, quick events and weights at their times."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from kapmonitor.core.errors import UserError
from kapmonitor.core.paths import resources_dir
from kapmonitor.devices.simulation.scenario import Scenario
from kapmonitor.session.dosing import cumulative_dose_mg, spray_too_soon
from kapmonitor.session.entries import (
    BodyWeight,
    BolusDose,
    InfusionEvent,
    IntranasalDevice,
    Note,
    Prescription,
    QuickEvent,
    Rating,
)
from kapmonitor.session.scenario_entries import ScenarioEntryError, bp_times_s, entries_from_sections
from kapmonitor.session.templates import PROTOCOLS_DIR, ProtocolTemplate
from kapmonitor.session.timeline import MaxDoseExceeded, SessionRecord
from kapmonitor.store.clinical_log import ClinicalLog, session_record
from kapmonitor.store.db import open_database
from kapmonitor.store.repository import SessionRepository

START = 1_800_000_000_000_000
S = 1_000_000
SCENARIOS = resources_dir() / "scenarios"
SIMULATOR_KEYS = ("patient", "episode", "duration_s", "devices")  # what Scenario itself reads


def sections_of(path: Path) -> dict[str, Any]:
    """What ``Scenario.sections`` keeps: every table the simulator does not read."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k not in SIMULATOR_KEYS}


def template(name: str) -> ProtocolTemplate:
    return ProtocolTemplate.load(PROTOCOLS_DIR / f"{name}.toml")


def test_each_table_becomes_its_entry_at_its_time() -> None:
    sections = {
        "weight": [{"at_s": 0, "kg": 80}],
        "dose": [
            {"kind": "bolus", "at_s": 60, "mg_per_kg": 0.5, "route": "im", "site": "left deltoid", "lot": "K1"},
            {"kind": "bolus", "at_s": 90, "mg": 100, "route": "sublingual"},
            {"kind": "infusion", "at_s": 120, "action": "start", "rate": 0.5},
            {"kind": "infusion", "at_s": 180, "action": "stop"},
            {"kind": "intranasal", "at_s": 240, "lot": "ESK1"},
        ],
        "rating": [
            {"at_s": 300, "scale": "moaas", "value": 4, "author": "RN Diaz"},
            {
                "at_s": 310,
                "scale": "cadss",
                "form": "cadss-6",
                "values": {"1": 1, "2": 0, "6": 2, "7": 0, "15": 1, "22": 0},
            },
        ],
        "note": [{"at_s": 30, "text": "Consent signed."}],
        "event": [{"at_s": 400, "key": 1}, {"at_s": 410, "code": "hiccups", "label": "Hiccups"}],
    }
    entries = entries_from_sections(sections, START, author="RN Okafor")
    who = {"author": "RN Okafor"}

    def when(s: float) -> dict[str, Any]:
        return {"t_us": START + round(s * S), "entered_us": START + round(s * S)}

    assert entries == [
        BodyWeight(**when(0), **who, kg=80),
        Note(**when(30), **who, text="Consent signed."),
        BolusDose(**when(60), **who, mg=40.0, route="im", site="left deltoid", lot="K1", mg_per_kg=0.5),
        BolusDose(**when(90), **who, mg=100, route="sublingual"),
        InfusionEvent(**when(120), **who, action="start", rate=0.5, weight_kg=80),
        InfusionEvent(**when(180), **who, action="stop"),
        IntranasalDevice(**when(240), **who, lot="ESK1"),
        Rating(**when(300), author="RN Diaz", scale="moaas", values=(("level", 4),), score=4),
        Rating(
            **when(310),
            **who,
            scale="cadss",
            form="cadss-6",
            values=(("1", 1), ("2", 0), ("6", 2), ("7", 0), ("15", 1), ("22", 0)),
            score=4,
        ),
        QuickEvent(**when(400), **who, code="emesis", label="Emesis"),
        QuickEvent(**when(410), **who, code="hiccups", label="Hiccups"),
    ]


def test_a_scenario_without_clinical_tables_has_no_entries() -> None:
    assert entries_from_sections({"something_else": [{"x": 1}]}, START) == []
    assert bp_times_s({}) == ()


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        ({"dose": {"kind": "bolus"}}, r"'dose' must be an array of tables \(\[\[dose\]\]\)"),
        (
            {"dose": [{"kind": "bolus", "at_s": 1, "mg": 5}, {"kind": "push", "at_s": 2}]},
            r"\[dose #2\] 'kind' must be one of",
        ),
        ({"dose": [{"kind": "bolus", "mg": 5}]}, r"\[dose #1 \(bolus\)\] is missing 'at_s'"),
        ({"dose": [{"kind": "bolus", "at_s": -5, "mg": 5}]}, r"'at_s' .* cannot be negative"),
        (
            {"dose": [{"kind": "bolus", "at_s": 1, "mg": 5, "mg_per_kg": 1}]},
            r"\[dose #1 \(bolus\)\] give either 'mg' or",
        ),
        ({"dose": [{"kind": "bolus", "at_s": 1, "mg": 0}]}, r"'mg' must be above zero"),
        ({"dose": [{"kind": "bolus", "at_s": 1, "mg_per_kg": 0.5}]}, r"needs 'weight_kg' or a \[\[weight\]\]"),
        ({"dose": [{"kind": "bolus", "at_s": 1, "amount_mg": 35}]}, r"unknown field\(s\) amount_mg \(a bolus takes: "),
        ({"dose": [{"kind": "bolus", "at_s": 1, "mg": 5, "route": "rectal"}]}, r"'route' must be one of im, iv"),
        (
            {"dose": [{"kind": "infusion", "at_s": 1, "action": "start"}]},
            r"\[dose #1 \(infusion\)\] an infusion start needs 'rate'",
        ),
        ({"dose": [{"kind": "infusion", "at_s": 1, "action": "stop", "rate": 3}]}, r"infusion stop takes no 'rate'"),
        (
            {"dose": [{"kind": "infusion", "at_s": 1, "action": "start", "rate": 30, "unit": "mL/h"}]},
            r"needs 'concentration_mg_per_ml'",
        ),
        (
            {"dose": [{"kind": "infusion", "at_s": 1, "action": "start", "rate": 3, "unit": "mg/min"}]},
            r"'unit' must be one of mg/kg/h",
        ),
        ({"dose": [{"kind": "intranasal", "at_s": 1}]}, r"\[dose #1 \(intranasal\)\] is missing 'lot'"),
        (
            {"rating": [{"at_s": 1, "scale": "MOAA/S", "value": 4}]},
            r"\[rating #1\] 'scale' 'MOAA/S' is not a known scale \(cadss, moaas",
        ),
        (
            {"rating": [{"at_s": 1, "scale": "moaas", "value": 7}]},
            r"\[rating #1\] moaas: item level .* is 7, outside 0 to 5",
        ),
        ({"rating": [{"at_s": 1, "scale": "moaas", "score": 4}]}, r"unknown field\(s\) score"),
        ({"rating": [{"at_s": 1, "scale": "cadss", "form": "cadss-6", "values": {"1": 1}}]}, r"item 2 .* is missing"),
        ({"rating": [{"at_s": 1, "scale": "cadss", "values": 3}]}, r"'values' must be a table"),
        ({"note": [{"at_s": 1, "text": "  "}]}, r"\[note #1\] 'text' is empty"),
        ({"note": [{"at_s": 1, "text": "ok", "author": ""}]}, r"'author' cannot be empty"),
        ({"event": [{"at_s": 1}]}, r"\[event #1\] give either 'key'"),
        ({"event": [{"at_s": 1, "code": "hiccups"}]}, r"\[event #1\] is missing 'label'"),
        ({"weight": [{"at_s": 1, "kg": "80"}]}, r"\[weight #1\] 'kg' must be a number"),
        ({"bp": [{"at_s": 1, "when": "now"}]}, r"\[bp #1\] has unknown field\(s\) when"),
    ],
)
def test_a_mistake_names_the_table_the_index_and_the_problem(sections: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioEntryError, match=message) as raised:
        entries_from_sections(sections, START, source="session.toml")
    assert str(raised.value).startswith("session.toml: ")
    assert isinstance(raised.value, UserError)


def test_an_unbound_quick_event_key_is_refused() -> None:
    with pytest.raises(ScenarioEntryError, match=r"\[event #1\] no quick event is bound to key 'x'"):
        entries_from_sections({"event": [{"at_s": 1, "key": "x"}]}, START)


def test_the_esketamine_scenario_is_a_complete_spravato_session() -> None:
    sections = sections_of(SCENARIOS / "esketamine-session.toml")
    record = SessionRecord.for_template(template("intranasal-esketamine"))
    for entry in entries_from_sections(sections, START):
        record.add(entry)

    sprays = record.sprays()
    assert [(s.mg, s.lot) for s in sprays] == [(28.0, "ESK24A017"), (28.0, "ESK24A018")]
    assert spray_too_soon(sprays[:1], sprays[1]) is None  # the 5-minute rest was kept
    first = record.first_dose_us
    assert first() == START + 600 * S
    moaas = [r.t_us for r in record.ratings("moaas") if r.t_us >= first()]
    assert [b - a for a, b in zip(moaas, moaas[1:], strict=False)] == [15 * 60 * S] * (len(moaas) - 1)
    assert len(moaas) == 9
    assert [(r.t_us - first()) // (60 * S) for r in record.ratings("cadss")] == [40, 130]
    assert record.notes() and record.quick_events()

    bp = bp_times_s(sections)
    assert bp[0] < 600 and bp[1] == 600 + 40 * 60 and bp[2] > 600 + 120 * 60
    data = tomllib.loads((SCENARIOS / "esketamine-session.toml").read_text(encoding="utf-8"))
    assert data["devices"] == ["nonin-df7", "suntech-advantage"] and data["duration_s"] == 9000


def test_the_iv_infusion_scenario_gives_half_a_milligram_per_kg_and_survives_the_database(tmp_path: Path) -> None:
    sections = sections_of(SCENARIOS / "iv-infusion.toml")
    entries = entries_from_sections(sections, START)
    engine: Engine = open_database(f"sqlite:///{tmp_path / 'iv.sqlite'}")
    try:
        session_id = SessionRepository(engine).start_session("SIM-0002", "IV ketamine")
        log = ClinicalLog(engine, session_id, template("iv-infusion"))
        for entry in entries:
            log.add(entry)
        end = START + 7200 * S
        assert [e.action for e in log.current_of(InfusionEvent)] == ["start", "rate", "pause", "resume", "stop"]
        assert cumulative_dose_mg(log.doses(), end) == pytest.approx(37.5)  # 0.5 mg/kg x 75 kg
        stored = session_record(engine, session_id)
        assert stored.log == entries
        assert cumulative_dose_mg(stored.doses(), end) == cumulative_dose_mg(log.doses(), end)
    finally:
        engine.dispose()
    assert len(bp_times_s(sections)) == 10


def test_the_shipped_scenarios_load_as_scenarios_too() -> None:
    for name in ("esketamine-session.toml", "iv-infusion.toml"):
        scenario = Scenario.load(SCENARIOS / name)
        assert "suntech-advantage" in scenario.devices
        assert entries_from_sections(scenario.sections, START, source=name)


def three_devices(prescription: dict[str, Any] | None) -> dict[str, Any]:
    doses = [{"kind": "intranasal", "at_s": at, "lot": f"EK{i}"} for i, at in enumerate((600, 900, 1200), start=1)]
    return {"dose": doses} | ({"prescription": [prescription]} if prescription is not None else {})


def test_a_third_esketamine_device_is_scripted_with_its_84_mg_prescription() -> None:
    record = SessionRecord.for_template(template("intranasal-esketamine"))
    entries = entries_from_sections(three_devices({"at_s": 60, "devices": 3, "prescriber": "Dr Lee"}), START)
    for entry in entries:
        record.add(entry)
    assert record.prescription == Prescription(
        t_us=START + 60 * S,
        entered_us=START + 60 * S,
        author="scenario",
        drug="esketamine",
        route="intranasal",
        mg=84.0,
        devices=3,
        prescriber="Dr Lee",
    )
    assert [s.lot for s in record.sprays()] == ["EK1", "EK2", "EK3"]

    unprescribed = SessionRecord.for_template(template("intranasal-esketamine"))
    first, second, third = entries_from_sections(three_devices(None), START)
    unprescribed.add(first)
    unprescribed.add(second)
    with pytest.raises(MaxDoseExceeded, match="device 3 of 2 in the protocol's default"):
        unprescribed.add(third)  # without the prescription the protocol's 56 mg holds: an override is needed


@pytest.mark.parametrize(
    ("prescription", "message"),
    [
        ({"at_s": 0}, "give 'devices', 'mg' or 'mg_per_kg'"),
        ({"at_s": 0, "devices": 0}, "'devices' must be at least 1"),
        ({"at_s": 0, "mg": 56, "mg_per_kg": 0.5}, "either a fixed dose"),
        ({"at_s": 0, "devices": 3, "dose": 84}, "unknown field(s) dose"),
    ],
)
def test_a_wrong_prescription_table_says_what_is_wrong(prescription: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioEntryError, match=r"prescription.*" + message.replace("(", r"\(").replace(")", r"\)")):
        entries_from_sections({"prescription": [prescription]}, START)
