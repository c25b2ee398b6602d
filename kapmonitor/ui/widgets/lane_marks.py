"""What the event lane shows, as plain data: a mark per dose, rating, note and quick event, a bar per running
stretch of the infusion, and which labels fit. Pure functions of the record, tested without pixels."""

from __future__ import annotations

from dataclasses import dataclass

from kapmonitor.session.dosing import DosingError, infusion_segments
from kapmonitor.session.entries import BolusDose, Entry, InfusionEvent, IntranasalDevice, Note, QuickEvent, Rating
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.session.wording import rating_words, record_words
from kapmonitor.ui.widgets.tiles import clock_text

ROWS = {"dose": 3.0, "rating": 2.0, "note": 1.0}
_KIND_ORDER = ("bolus", "spray", "infusion", "rating", "note", "quick-event")
BAR_HEIGHT = 0.6  # the fastest infusion rate fills this much of the dose row (its rate label stands on top)
HOVER_PX = 12.0
MARKER_PX = 10  # half a marker and a little air
LABEL_CHAR_PX = 9  # an average character at LABEL_PX, to keep labels apart
LABEL_PX = 15
LABEL_GAP_PX_BAR = 6  # between a rate's label and its bar's start, or the next rate's label


@dataclass(frozen=True)
class LaneMark:
    t_s: float
    row: str  # one of ROWS
    kind: str  # "bolus", "spray", "rating", "note", "quick-event", "infusion"
    label: str  # drawn next to the mark ("" for markers only)
    detail: str  # the tooltip


@dataclass(frozen=True)
class InfusionBar:
    start_s: float
    end_s: float
    mg_per_h: float
    label: str


def _per_kg(mg_per_h: float, weight_kg: float | None) -> str:
    return f" ({mg_per_h / weight_kg:.2f} mg/kg/h)" if weight_kg else ""


def _place(e: Entry, detail: str) -> tuple[str, str, str, str] | None:
    """(row, kind, label, detail) of an entry's mark on the lane; None for entries the lane does not show."""
    if isinstance(e, BolusDose):
        return "dose", "bolus", f"{e.mg:g} mg", detail
    if isinstance(e, IntranasalDevice):
        number = detail.split(" device ", 1)[1].split(" ", 1)[0] if " device " in detail else ""
        return "dose", "spray", f"#{number}", detail
    if isinstance(e, InfusionEvent):
        return "dose", "infusion", "", detail
    if isinstance(e, Rating):
        return "rating", "rating", rating_words(e).split(" (")[0], detail
    if isinstance(e, Note):
        return "note", "note", "", detail
    if isinstance(e, QuickEvent):
        return "note", "quick-event", e.label, detail
    return None


def lane_content(record: SessionRecord, now_us: int) -> tuple[list[LaneMark], list[InfusionBar]]:
    weight = record.weight_kg
    marks: list[LaneMark] = []
    words = record_words(record)  # the details read as everywhere else the entry is shown
    for c in record.current():
        if c.void:
            continue
        e = c.entry
        detail = f"{clock_text(e.t_us)} {words[c.ref]} ({e.author})"
        placed = _place(e, detail)
        if placed is not None:
            marks.append(LaneMark(e.t_us / 1e6, *placed))
    marks.sort(key=lambda m: _KIND_ORDER.index(m.kind))  # stable: in time order within each kind
    try:
        segments = infusion_segments(record.current_of(InfusionEvent), now_us)
    except DosingError:
        segments = []
    bars = [
        InfusionBar(
            s.start_us / 1e6,
            s.end_us / 1e6,
            s.mg_per_h,
            f"{s.mg_per_h:.0f} mg/h{_per_kg(s.mg_per_h, weight)}",
        )
        for s in segments
    ]
    return sorted(marks, key=lambda m: m.t_s), bars


Label = tuple[float, float, str, str]  # (t_s, row y, text, kind)


def readable(
    labels: list[Label],
    seconds_per_px: float | None,
    view_s: tuple[float, float],
    blocked: dict[float, list[tuple[float, float]]] | None = None,
) -> list[tuple[Label, bool]]:
    """The labels to draw and whether each goes left of its mark (near the right edge, so it is not cut).

    Labels are left out when their mark is out of view, when they would run into a newer label on the same row,
    or when they would lie over any other mark of the row, older or newer (an empty text is a bare marker), or
    over a stretch of the row that is ``blocked`` (the infusion's bars on the dose row): the newest matters
    most, and a mark without its label still shows its details on hover."""
    if seconds_per_px is None:
        return [(label, False) for label in labels if label[2]]
    kept: list[tuple[Label, bool]] = []
    next_start: dict[float, float] = {}
    marker_s = MARKER_PX * seconds_per_px
    marks: dict[float, list[float]] = {}  # every mark's time on each row, labelled or not
    for x, y, _, _ in labels:
        marks.setdefault(y, []).append(x)
    for label in sorted(labels, key=lambda lab: -lab[0]):
        x, y, text, _ = label
        if not text:
            next_start[y] = min(next_start.get(y, float("inf")), x - marker_s)
            continue
        width = (len(text) * LABEL_CHAR_PX + 20) * seconds_per_px
        flip = x + width > view_s[1]
        start, end = (x - width, x - marker_s) if flip else (x, x + width)
        covers = any(start - marker_s < m < end + marker_s for m in marks[y] if m != x) or any(
            a < end and start < b for a, b in (blocked or {}).get(y, [])
        )
        if view_s[0] <= start and x <= view_s[1] and end <= next_start.get(y, float("inf")) and not covers:
            kept.append((label, flip))
            next_start[y] = start
        else:  # its label is left out, its marker is still drawn: an older label must not run into it
            next_start[y] = min(next_start.get(y, float("inf")), x - marker_s)
    return kept


def rate_labels(
    bars: list[InfusionBar], seconds_per_px: float | None, view_s: tuple[float, float]
) -> list[tuple[float, str]]:
    """Where each infusion rate's label starts (seconds), standing on its own bar: from the bar's visible start,
    slid left to stay in view, never before the bar's start (a label over the previous rate's bar would be read
    as that rate's) nor into the next rate's label. A bar with no room for its label has none (its tooltip says)."""
    if seconds_per_px is None:
        return [(b.start_s, b.label) for b in bars]
    kept: list[tuple[float, str]] = []
    limit = view_s[1]  # where the next (newer) label begins, or the view's right edge
    air = LABEL_GAP_PX_BAR * seconds_per_px
    for bar in sorted(bars, key=lambda b: -b.start_s):
        width = (len(bar.label) * LABEL_CHAR_PX + 20) * seconds_per_px
        own = max(bar.start_s, view_s[0])  # where its bar begins, or the view does
        start = min(own + air, limit - width)  # slid left only as far as it must to end before the limit
        if bar.end_s > view_s[0] and start >= own:
            kept.append((start, bar.label))
            limit = start - air
    return kept
