"""The session record: an append-only log of entries and the current view that resolves amendments.

Nothing entered is ever overwritten. An amendment is itself an entry pointing at the original's ``ref`` (its
1-based position in entry order); the current view applies amendments in the order they were entered. Once the
record is signed only addenda may be added.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from kapmonitor.core.clock import iso
from kapmonitor.core.errors import UserError
from kapmonitor.session.dosing import (
    ESKETAMINE_MAX_MG,
    DosingError,
    MaxDoseCheck,
    MaxDoseWarning,
    implausible,
    infusion_segments,
)
from kapmonitor.session.entries import (
    Addendum,
    Amendment,
    BodyWeight,
    BolusDose,
    Confirmation,
    Discharged,
    Dose,
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
from kapmonitor.session.templates import ProtocolTemplate, builtin_templates, default_prescription

# A clock a few seconds apart between workstations is normal; an entry timed later than that is a typing slip.
FUTURE_TOLERANCE_US = 60_000_000
_NOT_AMENDABLE = (Amendment, SignOff, Addendum, Discharged)
_FIXED_FIELDS = ("author", "entered_us")
_RATING_SCORED = ("scale", "form", "values", "score")
E = TypeVar("E")


class EntryError(UserError, ValueError):
    """An entry the record refuses, and why (one sentence for the person who typed it)."""


def _check_type(original: Entry, name: str, value: object) -> None:
    """An amended value must be of the kind the field is declared to hold (mg a number, a site text)."""
    declared = str(next(f.type for f in dataclasses.fields(original) if f.name == name))
    if value is None:
        ok = "None" in declared
    elif isinstance(value, bool):
        ok = "bool" in declared
    elif isinstance(value, int):
        ok = "int" in declared or "float" in declared
    elif isinstance(value, float):
        ok = "float" in declared
    else:
        ok = isinstance(value, str) and "str" in declared
    if not ok:
        raise EntryError(f"{type(original).__name__}.{name} holds {declared}, not {value!r}")


def _check_values(entry: Entry) -> None:
    """Numbers that cannot be right whatever the protocol (a zero dose, a 5000 kg patient)."""
    problem = implausible(entry)
    if problem is not None:
        raise EntryError(problem)
    if isinstance(entry, Note | Addendum) and not entry.text.strip():
        raise EntryError(f"an empty {type(entry).__name__.lower()}")
    if isinstance(entry, Discharged) and entry.open_items and not entry.override_reason.strip():
        raise EntryError(
            f"{len(entry.open_items)} discharge item(s) still open ({'; '.join(entry.open_items)}): "
            "recording the discharge anyway needs a reason"
        )
    if isinstance(entry, Prescription):
        _check_prescription(entry)


def _above(value: float | None, limit: float | None) -> bool:
    return value is not None and limit is not None and value > limit + 1e-9


def _check_prescription(p: Prescription) -> None:
    if p.mg is None and p.mg_per_kg is None:
        raise EntryError("a prescription needs a dose: mg, or mg/kg")
    for name in ("mg", "mg_per_kg", "minutes", "max_mg_per_kg"):
        value = getattr(p, name)
        if value is not None and not value > 0:
            raise EntryError(f"a prescription's {name.replace('_', ' ')} must be above zero (got {value:g})")
    if p.devices is not None and p.devices < 1:
        raise EntryError(f"a prescription of {p.devices} devices: at least one")
    if p.drug == "esketamine" and p.mg is not None and p.mg > ESKETAMINE_MAX_MG:
        raise EntryError(f"esketamine {p.mg:g} mg: the label's maximum is {ESKETAMINE_MAX_MG:g} mg a session")
    if p.mg_per_kg is not None and p.max_mg_per_kg is not None and p.mg_per_kg > p.max_mg_per_kg:
        raise EntryError(
            f"the prescribed {p.mg_per_kg:g} mg/kg is above the prescription's cap of {p.max_mg_per_kg:g} mg/kg"
        )
    problem = implausible(BolusDose(p.t_us, p.entered_us, p.author, p.mg or 1.0, p.route, mg_per_kg=p.mg_per_kg))
    if problem is not None:
        raise EntryError(problem)


@functools.cache
def _default_in_devices(protocol: str) -> Prescription | None:
    """A built-in protocol's default prescription when it is a number of devices (esketamine's 56 mg = 2)."""
    template = builtin_templates().get(protocol) if protocol else None
    default = default_prescription(template, t_us=0, author="protocol") if template is not None else None
    return default if default is not None and default.devices is not None else None


class RecordSignedError(EntryError):
    """The record is signed: only addenda can be added."""


class MaxDoseExceeded(EntryError):
    """A dose above the clinic maximum without a recorded override (who, why)."""


@dataclass(frozen=True)
class CurrentEntry:
    ref: int
    entry: Entry  # as it stands after amendments
    original: Entry
    amendments: tuple[Amendment, ...] = ()
    void: bool = False


class SessionRecord:
    """One session's clinical entries, in memory. ``max_mg_per_kg`` is the clinic's limit (None: no check)."""

    def __init__(self, protocol: str = "", *, max_mg_per_kg: float | None = None) -> None:
        self.protocol = protocol
        self.max_mg_per_kg = max_mg_per_kg
        self.log: list[Entry] = []  # every entry in the order entered; index + 1 is its ref

    @classmethod
    def for_template(cls, template: ProtocolTemplate) -> SessionRecord:
        """A record that checks doses against the template's maximum mg/kg."""
        return cls(template.name, max_mg_per_kg=template.dosing.max_mg_per_kg)

    # ---- adding --------------------------------------------------------------------------------

    def add(self, entry: Entry, *, override: DoseOverride | None = None, until_us: int | None = None) -> int:
        """Append an entry and return its ref. A dose above the max needs ``override``; ``until_us`` is an
        infusion's planned stop, to check the dose it will reach."""
        self._check_common(entry)
        _check_values(entry)
        if isinstance(entry, Amendment):
            self._check_amendment(entry)
        if isinstance(entry, InfusionEvent):
            self._check_infusion([*self.current_of(InfusionEvent), entry])
        if isinstance(entry, Discharged) and self.discharged_us() is not None:
            raise EntryError(f"the patient's discharge is already recorded ({iso(self.discharged_us() or 0)})")
        if isinstance(entry, Prescription) and _above(entry.max_mg_per_kg, self.max_mg_per_kg):
            raise EntryError(
                f"a cap of {entry.max_mg_per_kg:g} mg/kg is above the clinic maximum of "
                f"{self.max_mg_per_kg:g} mg/kg for this protocol"
            )
        if isinstance(entry, BolusDose | InfusionEvent | IntranasalDevice):
            self._check_max_dose(entry, override, until_us)
            self._check_prescribed_mg(entry, override)
            if override is not None:
                self.log.append(override)
        self.log.append(entry)
        return len(self.log)

    def amend(
        self,
        ref: int,
        changes: Mapping[str, object],
        *,
        author: str,
        reason: str,
        entered_us: int,
        void: bool = False,
    ) -> int:
        amendment = Amendment(
            t_us=entered_us,
            entered_us=entered_us,
            author=author,
            original_ref=ref,
            changes=tuple(changes.items()),
            reason=reason,
            void=void,
        )
        return self.add(amendment)

    def sign_off(self, *, author: str, entered_us: int) -> int:
        return self.add(SignOff(t_us=entered_us, entered_us=entered_us, author=author))

    @property
    def signed(self) -> SignOff | None:
        return next((e for e in self.log if isinstance(e, SignOff)), None)

    def _check_common(self, entry: Entry) -> None:
        if not entry.author.strip():
            raise EntryError(f"{type(entry).__name__} needs an author")
        if entry.t_us > entry.entered_us + FUTURE_TOLERANCE_US:
            raise EntryError(
                f"{type(entry).__name__} is timed {iso(entry.t_us)}, after it was entered "
                f"({iso(entry.entered_us)}): entries can be back-timed, not forward-timed"
            )
        if self.signed is not None and not isinstance(entry, Addendum):
            raise RecordSignedError(
                f"the record was signed by {self.signed.author} at "
                f"{iso(self.signed.entered_us)}: add an addendum instead"
            )
        if isinstance(entry, Addendum) and self.signed is None:
            raise EntryError("addenda are for signed records; before sign-off add a note or an amendment")
        if isinstance(entry, Addendum) and entry.refers_to is not None:
            self.entry_at(entry.refers_to)

    def _check_amendment(self, amendment: Amendment) -> None:
        original = self.entry_at(amendment.original_ref)
        if isinstance(original, _NOT_AMENDABLE):
            raise EntryError(
                f"entry {amendment.original_ref} is a {type(original).__name__}, which cannot be amended"
            )
        if not amendment.reason.strip():
            raise EntryError("an amendment needs a reason")
        names = {f.name for f in dataclasses.fields(original)}
        for name, value in amendment.changes:
            if name not in names:
                raise EntryError(
                    f"{type(original).__name__} has no field {name!r} (fields: {', '.join(sorted(names))})"
                )
            if name in _FIXED_FIELDS:
                raise EntryError(f"{name!r} records who entered what and when: it cannot be amended")
            if isinstance(original, Rating) and name in _RATING_SCORED:
                raise EntryError(
                    "a rating's answers and score go together: void it and enter the rating again"
                )
            _check_type(original, name, value)
        if not amendment.changes and not amendment.void:
            raise EntryError("an amendment must change something or void the entry")
        if isinstance(original, InfusionEvent):
            trial = SessionRecord(self.protocol)
            trial.log = [*self.log, amendment]
            self._check_infusion(trial.current_of(InfusionEvent))

    @staticmethod
    def _check_infusion(events: list[InfusionEvent]) -> None:
        try:
            infusion_segments(events, max(e.t_us for e in events))
        except DosingError as exc:
            raise EntryError(str(exc)) from None

    def _check_prescribed_mg(self, dose: Dose, override: DoseOverride | None) -> None:
        """A fixed-dose prescription (esketamine devices, a lozenge): a dose past it needs an override; past
        the esketamine label's 84 mg nothing allows it."""
        if isinstance(dose, InfusionEvent):
            return
        given = sum(d.mg for d in self.doses() if d.drug == dose.drug and not isinstance(d, InfusionEvent))
        projected = given + dose.mg
        if dose.drug == "esketamine" and projected > ESKETAMINE_MAX_MG + 1e-9:
            raise EntryError(
                f"{projected:g} mg of esketamine is past the label's maximum of {ESKETAMINE_MAX_MG:g} mg a "
                f"session ({given:g} mg already given)"
            )
        p = self.checked_prescription
        if p is None or p.mg is None or p.drug != dose.drug:
            return
        devices = len(self.sprays()) + 1 if isinstance(dose, IntranasalDevice) else None
        over_devices = devices is not None and p.devices is not None and devices > p.devices
        if projected <= p.mg + 1e-9 and not over_devices:
            return
        standing = "prescribed" if self.prescription is not None else "in the protocol's default"
        what = f"device {devices} of {p.devices} {standing}" if over_devices else f"{projected:g} mg"
        if override is None:
            if self.prescription is None:
                raise MaxDoseExceeded(
                    f"{what}: no prescription is recorded, so the default of {p.mg:g} mg holds (record the "
                    "prescription if more was prescribed); an override (who, why) must be recorded"
                )
            raise MaxDoseExceeded(
                f"{what}: the prescription is {p.mg:g} mg; an override (who, why) must be recorded"
            )
        if not override.author.strip() or not override.reason.strip():
            raise MaxDoseExceeded("an override of the prescription needs who decided (author) and why (reason)")
        if override.projected_mg is None or override.projected_mg + 1e-9 < projected:
            raise MaxDoseExceeded(f"the override must cover {projected:g} mg")

    @property
    def cap_mg_per_kg(self) -> float | None:
        """The cumulative mg/kg the record enforces: the prescription's cap, else the clinic maximum."""
        p = self.prescription
        if p is not None and p.max_mg_per_kg is not None:
            return p.max_mg_per_kg
        return self.max_mg_per_kg

    @property
    def prescription(self) -> Prescription | None:
        found = self.current_of(Prescription)
        return found[-1] if found else None

    @property
    def checked_prescription(self) -> Prescription | None:
        """The prescription doses are held to: the one recorded, else, for a protocol given in devices (esketamine),
        the protocol's default (56 mg = 2 devices). A 3rd device without an 84 mg prescription is then a dose past
        the prescription like any other: it needs an override (who, why), not a silent yes."""
        return self.prescription or _default_in_devices(self.protocol)

    def max_dose_warning(self, dose: Dose, until_us: int | None = None) -> MaxDoseWarning | None:
        """What ``dose`` would pass of the mg/kg cap (None: nothing, or no cap applies to it). Raises EntryError
        when a cap applies and no weight is recorded. The panels ask this before offering an override."""
        cap = self.cap_mg_per_kg
        if cap is None:
            return None
        if isinstance(dose, InfusionEvent) and dose.action in ("pause", "stop"):
            return None  # stopping the pump gives no more drug: it must always be recordable
        if isinstance(dose, IntranasalDevice):
            return None  # a fixed dose per device: the prescription and the label limit it, not mg/kg
        weight = self.weight_kg
        if weight is None:
            raise EntryError(f"record the patient's weight first: the dose cap is {cap:g} mg/kg")
        return MaxDoseCheck(cap, weight).projected(self.doses(), dose, until_us)

    def _check_max_dose(self, dose: Dose, override: DoseOverride | None, until_us: int | None) -> None:
        warning = self.max_dose_warning(dose, until_us)
        if warning is None:
            return
        problem = MaxDoseCheck.accepts(warning, override)
        if problem is not None:
            raise MaxDoseExceeded(problem)

    # ---- reading --------------------------------------------------------------------------------

    def entry_at(self, ref: int) -> Entry:
        if not 1 <= ref <= len(self.log):
            raise EntryError(f"there is no entry {ref} (the record has {len(self.log)})")
        return self.log[ref - 1]

    def current(self) -> list[CurrentEntry]:
        """Every entry except amendments, as amended, in time order (voided entries included, marked)."""
        amendments: dict[int, list[Amendment]] = {}
        for entry in self.log:
            if isinstance(entry, Amendment):
                amendments.setdefault(entry.original_ref, []).append(entry)
        view: list[CurrentEntry] = []
        for ref, original in enumerate(self.log, start=1):
            if isinstance(original, Amendment):
                continue
            entry, void = original, False
            for amendment in amendments.get(ref, []):
                entry = dataclasses.replace(entry, **dict(amendment.changes))  # type: ignore[arg-type]
                void = void or amendment.void
            view.append(CurrentEntry(ref, entry, original, tuple(amendments.get(ref, [])), void))
        return sorted(view, key=lambda c: (c.entry.t_us, c.ref))

    def current_of(self, kind: type[E]) -> list[E]:
        """The live (not voided) entries of one kind, as amended, in time order."""
        return [c.entry for c in self.current() if not c.void and isinstance(c.entry, kind)]

    def doses(self) -> list[Dose]:
        return [
            c.entry
            for c in self.current()
            if not c.void and isinstance(c.entry, BolusDose | InfusionEvent | IntranasalDevice)
        ]

    def first_dose_us(self) -> int | None:
        doses = [d for d in self.doses() if not isinstance(d, InfusionEvent) or d.action == "start"]
        return min((d.t_us for d in doses), default=None)

    @property
    def weight_kg(self) -> float | None:
        weights = self.current_of(BodyWeight)
        return weights[-1].kg if weights else None

    def ratings(self, scale: str | None = None) -> list[Rating]:
        return [r for r in self.current_of(Rating) if scale is None or r.scale == scale]

    def sprays(self) -> list[IntranasalDevice]:
        return self.current_of(IntranasalDevice)

    def notes(self) -> list[Note]:
        return self.current_of(Note)

    def quick_events(self) -> list[QuickEvent]:
        return self.current_of(QuickEvent)

    def confirmations(self) -> list[Confirmation]:
        return self.current_of(Confirmation)

    def discharged_us(self) -> int | None:
        done = self.current_of(Discharged)
        return done[-1].t_us if done else None
