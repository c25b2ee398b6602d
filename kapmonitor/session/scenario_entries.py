"""The clinical entries a scenario file scripts: doses, ratings, notes, quick events, the weight.

A scenario (docs/scenarios.md) keeps the tables the simulator does not read raw in ``Scenario.sections``; this
module turns ``[[weight]]``, ``[[prescription]]``, ``[[dose]]``, ``[[rating]]``, ``[[note]]`` and ``[[event]]`` into
record entries
timed ``at_s`` seconds after the scenario starts (format: docs/clinical-record.md). ``[[bp]]`` asks the
simulated cuff for a measurement; :func:`bp_times_s` lists when. Every mistake names the table and its index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from kapmonitor.core.errors import UserError
from kapmonitor.session.datafile import DataFileError, Fields
from kapmonitor.session.dosing import INFUSION_ACTIONS, RATE_UNITS, implausible
from kapmonitor.session.entries import (
    BodyWeight,
    BolusDose,
    Entry,
    InfusionEvent,
    IntranasalDevice,
    Note,
    Prescription,
    QuickEvent,
)
from kapmonitor.session.quick_events import QuickEventMap, builtin_quick_events
from kapmonitor.session.scales import RatingError, RatingScale, builtin_scales

US_PER_S = 1_000_000
DOSE_KINDS = ("bolus", "infusion", "intranasal")
ROUTES = ("im", "iv", "sublingual", "oral")
_COMMON = ("at_s", "author")
_FIELDS = {
    "weight": ("kg",),
    "prescription": ("mg", "devices", "mg_per_kg", "minutes", "max_mg_per_kg", "drug", "route", "prescriber"),
    "bolus": ("kind", "mg", "mg_per_kg", "weight_kg", "route", "drug", "site", "lot"),
    "infusion": ("kind", "action", "rate", "unit", "weight_kg", "concentration_mg_per_ml", "drug", "lot"),
    "intranasal": ("kind", "lot", "mg", "drug"),
    "rating": ("scale", "value", "values", "form"),
    "note": ("text",),
    "event": ("key", "code", "label"),
    "bp": ("label",),
}
# Equal times keep this order: a weight and a prescription before the dose they are needed for.
_TABLES = ("weight", "prescription", "dose", "rating", "note", "event")
DEVICE_MG = 28.0  # one esketamine nasal device


E = TypeVar("E")


class ScenarioEntryError(DataFileError, UserError):
    """A scripted clinical entry that cannot be used: which table, which index, what is wrong."""


def entries_from_sections(
    sections: Mapping[str, Any],
    start_us: int,
    author: str = "scenario",
    *,
    scales: Mapping[str, RatingScale] | None = None,
    quick_events: QuickEventMap | None = None,
    source: str = "scenario",
) -> list[Entry]:
    """The scripted entries in time order, each entered live (``entered_us == t_us``) by ``author``."""
    reader = _Reader(
        start_us,
        author,
        builtin_scales() if scales is None else scales,
        builtin_quick_events() if quick_events is None else quick_events,
    )
    timed: list[tuple[int, int, Entry]] = []
    try:
        root = Fields(source, dict(sections), "")
        for order, table in enumerate(_TABLES):
            for f in root.tables(table):
                entry = getattr(reader, table)(f)
                timed.append((entry.t_us, order, entry))
        for f in root.tables("bp"):
            _known(f, "bp")
            reader.time(f)
    except DataFileError as error:
        raise ScenarioEntryError(error.source, error.problem) from None
    return [entry for _, _, entry in sorted(timed, key=lambda t: (t[0], t[1]))]


def bp_times_s(sections: Mapping[str, Any], source: str = "scenario") -> tuple[float, ...]:
    """When the scenario asks the simulated cuff for a blood pressure (seconds from the start, in order)."""
    try:
        return tuple(sorted(_seconds(f) for f in Fields(source, dict(sections), "").tables("bp")))
    except DataFileError as error:
        raise ScenarioEntryError(error.source, error.problem) from None


def _seconds(f: Fields) -> float:
    at_s = f.number("at_s")
    if at_s < 0:
        raise f.fail(f"'at_s' is seconds from the start of the scenario and cannot be negative ({at_s:g})")
    return at_s


def _known(f: Fields, kind: str) -> None:
    allowed = (*_COMMON, *_FIELDS[kind])
    unknown = sorted(set(f.table) - set(allowed))
    if unknown:
        raise f.fail(f"has unknown field(s) {', '.join(unknown)} (a {kind} takes: {', '.join(allowed)})")


class _Reader:
    """One table of the scenario at a time into an entry; remembers the weight for doses per kg."""

    def __init__(
        self, start_us: int, author: str, scales: Mapping[str, RatingScale], quick_events: QuickEventMap
    ) -> None:
        self.start_us = start_us
        self.author = author
        self.scales = scales
        self.quick_events = quick_events
        self.weights: list[tuple[int, float]] = []

    def time(self, f: Fields) -> dict[str, Any]:
        t_us = self.start_us + round(_seconds(f) * US_PER_S)
        who = f.text("author", self.author)
        if not who.strip():
            raise f.fail("'author' cannot be empty")
        return {"t_us": t_us, "entered_us": t_us, "author": who}

    def weight(self, f: Fields) -> BodyWeight:
        _known(f, "weight")
        entry = _plausible(f, BodyWeight(**self.time(f), kg=_positive(f, "kg")))
        self.weights.append((entry.t_us, entry.kg))
        return entry

    def prescription(self, f: Fields) -> Prescription:
        """The session's prescription: esketamine as ``devices`` (2 = 56 mg, 3 = 84 mg; ``mg`` may say the same),
        a fixed ``mg``, or ``mg_per_kg`` over ``minutes``; ``max_mg_per_kg`` the cap. The record checks the rest."""
        _known(f, "prescription")
        devices = f.integer("devices") if "devices" in f.table else None
        if devices is not None and devices < 1:
            raise f.fail(f"'devices' must be at least 1 (found {devices})")
        mg = _positive(f, "mg") if "mg" in f.table else None
        if devices is not None and mg is None:
            mg = devices * DEVICE_MG
        if mg is None and "mg_per_kg" not in f.table:
            raise f.fail("give 'devices', 'mg' or 'mg_per_kg'")
        if mg is not None and "mg_per_kg" in f.table:
            raise f.fail("give either a fixed dose ('devices' or 'mg') or 'mg_per_kg'")
        return Prescription(
            **self.time(f),
            drug=f.text("drug", "esketamine" if devices is not None else "ketamine"),
            route=f.text("route", "intranasal" if devices is not None else "iv"),
            mg=mg,
            devices=devices,
            mg_per_kg=_positive(f, "mg_per_kg") if "mg_per_kg" in f.table else None,
            minutes=_positive(f, "minutes") if "minutes" in f.table else None,
            max_mg_per_kg=_positive(f, "max_mg_per_kg") if "max_mg_per_kg" in f.table else None,
            prescriber=f.text("prescriber", ""),
        )

    def weight_at(self, f: Fields, when: dict[str, Any]) -> float:
        given = f.optional_number("weight_kg")
        if given is not None:
            return _positive(f, "weight_kg")
        earlier = [kg for t_us, kg in sorted(self.weights) if t_us <= when["t_us"]]
        if not earlier:
            raise f.fail("a dose per kg needs 'weight_kg' or a [[weight]] at or before it")
        return earlier[-1]

    def dose(self, f: Fields) -> Entry:
        kind = f.choice("kind", DOSE_KINDS)
        _known(f, kind)
        f = Fields(f.source, f.table, f"{f.where} ({kind})")
        makers: dict[str, Callable[[Fields], Entry]] = {
            "bolus": self.bolus,
            "infusion": self.infusion,
            "intranasal": self.intranasal,
        }
        return _plausible(f, makers[kind](f))

    def bolus(self, f: Fields) -> BolusDose:
        when = self.time(f)
        extra = {
            "route": f.choice("route", ROUTES, "im"),
            "drug": f.text("drug", "ketamine"),
            "site": f.text("site", ""),
            "lot": f.text("lot", ""),
        }
        if ("mg" in f.table) == ("mg_per_kg" in f.table):
            raise f.fail("give either 'mg' or 'mg_per_kg'")
        if "mg" in f.table:
            if "weight_kg" in f.table:
                raise f.fail("'weight_kg' only goes with 'mg_per_kg'")
            return BolusDose(**when, mg=_positive(f, "mg"), **extra)
        per_kg = _positive(f, "mg_per_kg")
        return BolusDose(**when, mg=per_kg * self.weight_at(f, when), mg_per_kg=per_kg, **extra)

    def infusion(self, f: Fields) -> InfusionEvent:
        when = self.time(f)
        action = f.choice("action", INFUSION_ACTIONS)
        unit = f.choice("unit", RATE_UNITS, "mg/kg/h")
        rate = f.optional_number("rate")
        if action in ("start", "rate") and rate is None:
            raise f.fail(f"an infusion {action} needs 'rate' (in 'unit', default mg/kg/h)")
        if action in ("pause", "stop") and rate is not None:
            raise f.fail(f"an infusion {action} takes no 'rate'")
        if rate is not None and rate < 0:
            raise f.fail(f"'rate' cannot be negative ({rate:g})")
        weight = self.weight_at(f, when) if rate is not None and unit == "mg/kg/h" else f.optional_number("weight_kg")
        concentration = f.optional_number("concentration_mg_per_ml")
        if rate is not None and unit == "mL/h" and (concentration is None or concentration <= 0):
            raise f.fail("a rate in mL/h needs 'concentration_mg_per_ml' above zero")
        return InfusionEvent(
            **when,
            action=action,
            rate=rate,
            rate_unit=unit,
            weight_kg=weight,
            concentration_mg_per_ml=concentration,
            drug=f.text("drug", "ketamine"),
            lot=f.text("lot", ""),
        )

    def intranasal(self, f: Fields) -> IntranasalDevice:
        mg = _positive(f, "mg") if "mg" in f.table else 28.0
        return IntranasalDevice(**self.time(f), lot=f.text("lot"), mg=mg, drug=f.text("drug", "esketamine"))

    def rating(self, f: Fields) -> Entry:
        _known(f, "rating")
        name = f.text("scale")
        scale = self.scales.get(name)
        if scale is None:
            raise f.fail(f"'scale' {name!r} is not a known scale ({', '.join(sorted(self.scales))})")
        if ("value" in f.table) == ("values" in f.table):
            raise f.fail("give either 'value' (a one-item scale) or 'values' (a table of item = value)")
        answers: int | dict[str, int]
        if "value" in f.table:
            answers = f.integer("value")
        else:
            values = f.table["values"]
            if not isinstance(values, dict):
                raise f.fail("'values' must be a table of item = value, e.g. { 1 = 2, 2 = 0 }")
            answers = dict(values)
        try:
            return scale.rate(answers, **self.time(f), form=f.text("form", ""))
        except RatingError as error:
            raise f.fail(str(error)) from None

    def note(self, f: Fields) -> Note:
        _known(f, "note")
        text = f.text("text")
        if not text.strip():
            raise f.fail("'text' is empty")
        return Note(**self.time(f), text=text)

    def event(self, f: Fields) -> QuickEvent:
        _known(f, "event")
        if ("key" in f.table) == ("code" in f.table):
            raise f.fail("give either 'key' (a digit bound in quick_events.toml) or 'code'")
        if "key" in f.table:
            binding = self.quick_events.binding(f.name("key", "a digit 0-9"))
            if binding is None:
                raise f.fail(f"no quick event is bound to key {f.table['key']!r}")
            return QuickEvent(**self.time(f), code=binding.code, label=f.text("label", binding.label))
        code = f.text("code")
        known = next((b.label for b in self.quick_events.bindings if b.code == code), None)
        label = f.text("label", known) if known is not None else f.text("label")
        return QuickEvent(**self.time(f), code=code, label=label)


def _plausible(f: Fields, entry: E) -> E:
    """The entry, unless its numbers cannot be right (the same limits the record applies)."""
    problem = implausible(entry)
    if problem is not None:
        raise f.fail(problem)
    return entry


def _positive(f: Fields, key: str) -> float:
    value = f.number(key)
    if value <= 0:
        raise f.fail(f"'{key}' must be above zero (found {value:g})")
    return value
