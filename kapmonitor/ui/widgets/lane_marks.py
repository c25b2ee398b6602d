"""What the event lane shows, as plain data: a mark per dose, rating, note and quick event, a bar per running
stretch of the infusion, and which labels fit. Pure functions of the record, tested without pixels."""

from __future__ import annotations

from dataclasses import dataclass

from kapmonitor.session.dosing import DosingError, infusion_segments
from kapmonitor.session.entries import BolusDose, InfusionEvent
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.live.tiles import clock_text

ROWS = {"dose": 3.0, "rating": 2.0, "note": 1.0}
BAR_HEIGHT = 0.7  # the fastest infusion rate fills this much of the dose row
HOVER_PX = 12.0
MARKER_PX = 10  # half a marker and a little air
LABEL_CHAR_PX = 9  # an average character at LABEL_PX, to keep labels apart
LABEL_PX = 15


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


def lane_content(record: SessionRecord, now_us: int) -> tuple[list[LaneMark], list[InfusionBar]]:
    weight = record.weight_kg
    marks: list[LaneMark] = []
    for d in record.current_of(BolusDose):
        per_kg = f" = {d.mg / weight:.2f} mg/kg" if weight else ""
        where = f", {d.site}" if d.site else ""
        marks.append(
            LaneMark(
                d.t_us / 1e6,
                "dose",
                "bolus",
                f"{d.mg:g} mg",
                f"{clock_text(d.t_us)} bolus {d.drug} {d.mg:g} mg{per_kg} {d.route}{where} ({d.author})",
            )
        )
    for i, s in enumerate(record.sprays(), start=1):
        marks.append(
            LaneMark(
                s.t_us / 1e6,
                "dose",
                "spray",
                f"#{i}",
                f"{clock_text(s.t_us)} device {i}: {s.drug} {s.mg:g} mg, lot {s.lot} ({s.author})",
            )
        )
    for ev in record.current_of(InfusionEvent):
        rate = f" {ev.rate:g} {ev.rate_unit}" if ev.rate is not None else ""
        marks.append(
            LaneMark(
                ev.t_us / 1e6,
                "dose",
                "infusion",
                "",
                f"{clock_text(ev.t_us)} infusion {ev.action}{rate} ({ev.author})",
            )
        )
    for r in record.ratings():
        name = (r.form or r.scale).upper().replace("MOAAS", "MOAA/S").replace("PATIENT-VAS", "Patient")
        shown = r.score if r.score is not None else " ".join(f"{k} {v}" for k, v in r.values)
        marks.append(
            LaneMark(
                r.t_us / 1e6,
                "rating",
                "rating",
                f"{name} {shown}",
                f"{clock_text(r.t_us)} {name} {shown}: " + ", ".join(f"{k}={v}" for k, v in r.values),
            )
        )
    for n in record.notes():
        marks.append(
            LaneMark(n.t_us / 1e6, "note", "note", "", f"{clock_text(n.t_us)} note: {n.text} ({n.author})")
        )
    for q in record.quick_events():
        marks.append(
            LaneMark(
                q.t_us / 1e6, "note", "quick-event", q.label, f"{clock_text(q.t_us)} {q.label} ({q.author})"
            )
        )
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
    labels: list[Label], seconds_per_px: float | None, view_s: tuple[float, float]
) -> list[tuple[Label, bool]]:
    """The labels to draw and whether each goes left of its mark (near the right edge, so it is not cut).

    Labels are left out when their mark is out of view or when they would run into a newer mark or label
    on the same row (an empty text is a bare marker): the newest matters most, and a mark without its
    label still shows its details on hover."""
    if seconds_per_px is None:
        return [(label, False) for label in labels if label[2]]
    kept: list[tuple[Label, bool]] = []
    next_start: dict[float, float] = {}
    marker_s = MARKER_PX * seconds_per_px
    for label in sorted(labels, key=lambda lab: -lab[0]):
        x, y, text, _ = label
        if not text:
            next_start[y] = min(next_start.get(y, float("inf")), x - marker_s)
            continue
        width = (len(text) * LABEL_CHAR_PX + 20) * seconds_per_px
        flip = x + width > view_s[1]
        start, end = (x - width, x - marker_s) if flip else (x, x + width)
        if view_s[0] <= start and x <= view_s[1] and end <= next_start.get(y, float("inf")):
            kept.append((label, flip))
            next_start[y] = start
        else:  # its label is left out, its marker is still drawn: an older label must not run into it
            next_start[y] = min(next_start.get(y, float("inf")), x - marker_s)
    return kept
