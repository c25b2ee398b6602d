"""The entries of a clinical record. Each is frozen and maps 1:1 to a database row.

Every entry carries ``t_us`` (when it happened, UTC microseconds), ``entered_us`` (when someone typed it; a
back-timed entry has ``t_us < entered_us``) and ``author``. Entries have no id: the record numbers them in the
order they were entered (``ref``), and amendments point at that number; the store maps it to a row.
"""

from __future__ import annotations

from dataclasses import dataclass

US_PER_MIN = 60_000_000
US_PER_H = 3_600_000_000


@dataclass(frozen=True)
class BodyWeight:
    t_us: int
    entered_us: int
    author: str
    kg: float


@dataclass(frozen=True)
class BolusDose:
    """A single dose: IM or IV push, a lozenge or tablet. ``mg_per_kg`` is kept when the order was per kg."""

    t_us: int
    entered_us: int
    author: str
    mg: float
    route: str  # "im", "iv", "sublingual", "oral"
    drug: str = "ketamine"
    site: str = ""  # injection site, e.g. "left deltoid"
    lot: str = ""
    mg_per_kg: float | None = None


@dataclass(frozen=True)
class InfusionEvent:
    """A change to the infusion: start, rate (change), pause, resume or stop.

    The rate is kept as the nurse entered it (``rate`` in ``rate_unit``) with the weight and concentration
    that make it convertible, so the record shows what was set on the pump and what that meant in mg.
    """

    t_us: int
    entered_us: int
    author: str
    action: str  # "start", "rate", "pause", "resume", "stop"
    rate: float | None = None
    rate_unit: str = "mg/kg/h"  # "mg/kg/h", "mg/h", "mL/h"
    weight_kg: float | None = None
    concentration_mg_per_ml: float | None = None
    drug: str = "ketamine"
    lot: str = ""


@dataclass(frozen=True)
class IntranasalDevice:
    """One nasal spray device (esketamine: 28 mg, two sprays), each with its own lot number."""

    t_us: int
    entered_us: int
    author: str
    lot: str
    mg: float = 28.0
    drug: str = "esketamine"


@dataclass(frozen=True)
class DoseOverride:
    """A dose given above the clinic's maximum or beyond the prescription, with who decided and why (required
    before such a dose). ``limit_mg_per_kg``/``projected_mg_per_kg`` for a per-kg cap; for a fixed-dose
    prescription (esketamine devices, a lozenge) the mg the prescription allowed and the mg the dose reaches."""

    t_us: int
    entered_us: int
    author: str
    reason: str
    limit_mg_per_kg: float | None = None
    projected_mg_per_kg: float | None = None
    limit_mg: float | None = None
    projected_mg: float | None = None


@dataclass(frozen=True)
class Prescription:
    """What this session's patient is to be given, taken from the protocol and the prescriber's order.

    A fixed dose (``mg``, for esketamine also ``devices``) or a dose per kg (``mg_per_kg``, an IV infusion over
    ``minutes``); ``max_mg_per_kg`` is the cumulative cap the record enforces (a dose past it needs an override).
    """

    t_us: int
    entered_us: int
    author: str
    drug: str
    route: str
    mg: float | None = None
    devices: int | None = None
    mg_per_kg: float | None = None
    minutes: float | None = None
    max_mg_per_kg: float | None = None
    prescriber: str = ""


@dataclass(frozen=True)
class Rating:
    """A rating-scale entry. ``values`` are (item key, value) pairs; ``score`` the total (None if none)."""

    t_us: int
    entered_us: int
    author: str
    scale: str
    values: tuple[tuple[str, int], ...]
    score: int | None
    form: str = ""  # a short form such as "cadss-6"; "" for the whole scale

    def value(self, key: str) -> int | None:
        return dict(self.values).get(key)


@dataclass(frozen=True)
class Note:
    t_us: int
    entered_us: int
    author: str
    text: str


@dataclass(frozen=True)
class QuickEvent:
    """A one-keystroke event (emesis, music change, ...) as the clinic defined it."""

    t_us: int
    entered_us: int
    author: str
    code: str
    label: str


@dataclass(frozen=True)
class Confirmation:
    """A nurse confirming a discharge checklist item that only a person can judge (e.g. a ride home)."""

    t_us: int
    entered_us: int
    author: str
    item: str


@dataclass(frozen=True)
class Discharged:
    """The patient left. With checklist items still open, ``open_items`` names them and ``override_reason``
    says why the discharge went ahead anyway (``author`` is who decided)."""

    t_us: int
    entered_us: int
    author: str
    override_reason: str = ""
    open_items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Amendment:
    """A correction of an earlier entry: the original stays; the current view shows the amended values.

    ``changes`` are (field, new value) pairs; ``void`` strikes the entry as entered in error.
    """

    t_us: int
    entered_us: int
    author: str
    original_ref: int
    changes: tuple[tuple[str, object], ...]
    reason: str
    void: bool = False


@dataclass(frozen=True)
class SignOff:
    t_us: int
    entered_us: int
    author: str


@dataclass(frozen=True)
class Addendum:
    """A note added after sign-off, optionally about one entry."""

    t_us: int
    entered_us: int
    author: str
    text: str
    refers_to: int | None = None


Dose = BolusDose | InfusionEvent | IntranasalDevice
Entry = (
    BodyWeight
    | BolusDose
    | InfusionEvent
    | IntranasalDevice
    | DoseOverride
    | Prescription
    | Rating
    | Note
    | QuickEvent
    | Confirmation
    | Discharged
    | Amendment
    | SignOff
    | Addendum
)
