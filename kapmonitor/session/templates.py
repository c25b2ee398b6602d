"""Protocol templates as data: how the drug is given, which checks are due when, and what discharge needs.

The shipped files in resources/protocols/ are defaults a clinic edits; nothing in them is a standard.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kapmonitor.session.datafile import RESOURCES, DataFileError, Fields, read_toml
from kapmonitor.session.entries import Prescription

PROTOCOLS_DIR = RESOURCES / "protocols"
DOSING_FORMS = ("infusion", "bolus", "intranasal", "oral")
CHECK_TIMES = ("pre-dose", "after-dose", "every", "before-discharge")
PHASES = ("infusion", "after-infusion", "after-dose")
CRITERIA = ("minimum-time", "rating", "bp", "spo2", "confirm")


@dataclass(frozen=True)
class Dosing:
    form: str  # one of DOSING_FORMS
    drug: str
    route: str
    concentration_mg_per_ml: float | None = None
    default_mg_per_kg: float | None = None
    default_mg: float | None = None
    infusion_minutes: float | None = None
    device_mg: float | None = None
    rest_between_devices_min: float | None = None
    max_mg_per_kg: float | None = None
    needs_weight: bool = False


@dataclass(frozen=True)
class Check:
    """A measurement the protocol expects: BP (``measure = "bp"``) or a rating scale by name."""

    measure: str
    label: str
    when: str  # one of CHECK_TIMES
    note: str = ""
    at_min: float | None = None  # after-dose: minutes after the first dose
    window_before_min: float = 5.0
    window_after_min: float = 10.0
    every_min: float | None = None
    during: str = "after-dose"  # every: one of PHASES
    lead_min: float = 15.0  # before-discharge: due this long before the earliest discharge
    overdue_after_min: float = 5.0

    @property
    def text(self) -> str:
        return f"{self.label} due ({self.note})" if self.note else f"{self.label} due"


@dataclass(frozen=True)
class DischargeCriterion:
    kind: str  # one of CRITERIA
    label: str
    scale: str = ""  # rating: which scale, and ``item`` for one item of it
    item: str = ""
    at_least: float | None = None
    at_most: float | None = None
    systolic_max: float | None = None
    diastolic_max: float | None = None
    trending_down: bool = False  # bp: three falling readings also count
    spo2_drop_max: float = 2.0  # spo2: points below the pre-dose baseline still counted as baseline
    key: str = ""  # confirm: the checklist key a nurse confirms


@dataclass(frozen=True)
class ProtocolTemplate:
    name: str
    title: str
    dosing: Dosing
    checks: tuple[Check, ...]
    discharge: tuple[DischargeCriterion, ...]
    minimum_monitoring_min: float = 0.0
    continuous: tuple[str, ...] = ()
    short_title: str = ""  # where a field is narrow (the new-session form on a laptop); the title is the default

    @property
    def shown_title(self) -> str:
        """The short title where there is one, else the title."""
        return self.short_title or self.title

    @classmethod
    def load(cls, path: Path | str, measures: frozenset[str] | None = None) -> ProtocolTemplate:
        """Load and validate; ``measures``: the check names allowed (default: "bp" and the shipped scales)."""
        if measures is None:
            from kapmonitor.session.scales import builtin_scales

            measures = frozenset({"bp", *builtin_scales()})
        return _parse(read_toml(path), str(path), measures)


def _parse(data: dict, source: str, measures: frozenset[str]) -> ProtocolTemplate:
    root = Fields(source, data, "")
    head = root.sub("protocol")
    dosing = _dosing(root.sub("dosing"))
    monitoring = root.sub("monitoring", required=False)
    continuous = monitoring.table.get("continuous", [])
    if not isinstance(continuous, list) or not all(isinstance(m, str) for m in continuous):
        raise monitoring.fail("'continuous' must be a list of metric names")
    checks = tuple(_check(f, measures) for f in root.tables("checks"))
    if not checks:
        raise DataFileError(source, "has no [[checks]]")
    criteria = tuple(_criterion(f, measures) for f in root.tables("discharge"))
    minimum = monitoring.number("minimum_minutes", 0.0)
    if minimum < 0:
        raise monitoring.fail("'minimum_minutes' cannot be negative")
    return ProtocolTemplate(
        head.text("name"),
        head.text("title"),
        dosing,
        checks,
        criteria,
        minimum,
        tuple(continuous),
        head.text("short_title", ""),
    )


def _dosing(f: Fields) -> Dosing:
    form = f.choice("form", DOSING_FORMS)
    dosing = Dosing(
        form=form,
        drug=f.text("drug"),
        route=f.text("route"),
        concentration_mg_per_ml=f.optional_number("concentration_mg_per_ml"),
        default_mg_per_kg=f.optional_number("default_mg_per_kg"),
        default_mg=f.optional_number("default_mg"),
        infusion_minutes=f.optional_number("infusion_minutes"),
        device_mg=f.optional_number("device_mg"),
        rest_between_devices_min=f.optional_number("rest_between_devices_min"),
        max_mg_per_kg=f.optional_number("max_mg_per_kg"),
        needs_weight=f.flag("needs_weight", False),
    )
    for name in (
        "concentration_mg_per_ml",
        "default_mg_per_kg",
        "default_mg",
        "infusion_minutes",
        "device_mg",
        "max_mg_per_kg",
    ):
        value = getattr(dosing, name)
        if value is not None and value <= 0:
            raise f.fail(f"'{name}' must be above zero (found {value:g})")
    if form == "intranasal" and (dosing.device_mg is None or dosing.rest_between_devices_min is None):
        raise f.fail("an intranasal protocol needs 'device_mg' and 'rest_between_devices_min'")
    if form == "infusion" and dosing.concentration_mg_per_ml is None:
        raise f.fail("an infusion protocol needs 'concentration_mg_per_ml' (to convert mL/h)")
    if (dosing.default_mg_per_kg or dosing.max_mg_per_kg) and not dosing.needs_weight:
        raise f.fail("doses per kg need 'needs_weight = true'")
    return dosing


def _check(f: Fields, measures: frozenset[str]) -> Check:
    measure = f.text("measure")
    if measure not in measures:
        raise f.fail(
            f"'measure' {measure!r} is neither 'bp' nor a known scale ({', '.join(sorted(measures))})"
        )
    check = Check(
        measure=measure,
        label=f.text("label"),
        when=f.choice("when", CHECK_TIMES),
        note=f.text("note", ""),
        at_min=f.optional_number("at_min"),
        window_before_min=f.number("window_before_min", 5.0),
        window_after_min=f.number("window_after_min", 10.0),
        every_min=f.optional_number("every_min"),
        during=f.choice("during", PHASES, "after-dose"),
        lead_min=f.number("lead_min", 15.0),
        overdue_after_min=f.number("overdue_after_min", 5.0),
    )
    if check.when == "after-dose" and check.at_min is None:
        raise f.fail("a check 'after-dose' needs 'at_min' (minutes after the first dose)")
    if check.when == "every" and (check.every_min is None or check.every_min <= 0):
        raise f.fail("a check 'every' needs 'every_min' above zero")
    return check


def _criterion(f: Fields, measures: frozenset[str]) -> DischargeCriterion:
    kind = f.choice("kind", CRITERIA)
    c = DischargeCriterion(
        kind=kind,
        label=f.text("label"),
        scale=f.text("scale", ""),
        item=f.text("item", ""),
        at_least=f.optional_number("at_least"),
        at_most=f.optional_number("at_most"),
        systolic_max=f.optional_number("systolic_max"),
        diastolic_max=f.optional_number("diastolic_max"),
        trending_down=f.flag("trending_down", False),
        spo2_drop_max=f.number("spo2_drop_max", 2.0),
        key=f.text("key", ""),
    )
    if kind == "rating" and (c.scale not in measures or c.scale == "bp"):
        raise f.fail(f"a 'rating' criterion needs 'scale', one of {', '.join(sorted(measures - {'bp'}))}")
    if kind == "rating" and c.at_least is None and c.at_most is None:
        raise f.fail("a 'rating' criterion needs 'at_least' or 'at_most'")
    if kind == "bp" and c.systolic_max is None and c.diastolic_max is None:
        raise f.fail("a 'bp' criterion needs 'systolic_max' and/or 'diastolic_max'")
    if kind == "confirm" and not c.key:
        raise f.fail("a 'confirm' criterion needs 'key' (what the nurse confirms, e.g. 'ride-home')")
    return c


def default_prescription(template: ProtocolTemplate, *, t_us: int, author: str) -> Prescription | None:
    """The protocol's default dose as a prescription (None when the protocol has no default): esketamine as
    its devices, a per-kg dose over the infusion's minutes, the clinic maximum as the cap."""
    d = template.dosing
    if d.default_mg_per_kg is None and d.default_mg is None:
        return None
    devices = round(d.default_mg / d.device_mg) if d.default_mg is not None and d.device_mg else None
    return Prescription(
        t_us=t_us,
        entered_us=t_us,
        author=author,
        drug=d.drug,
        route=d.route,
        mg=d.default_mg if d.default_mg_per_kg is None else None,
        devices=devices if d.default_mg_per_kg is None else None,
        mg_per_kg=d.default_mg_per_kg,
        minutes=d.infusion_minutes if d.default_mg_per_kg is not None else None,
        max_mg_per_kg=d.max_mg_per_kg,
    )


def builtin_templates() -> dict[str, ProtocolTemplate]:
    templates = (ProtocolTemplate.load(p) for p in sorted(PROTOCOLS_DIR.glob("*.toml")))
    return {t.name: t for t in templates}
