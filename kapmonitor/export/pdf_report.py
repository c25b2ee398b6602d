"""The session report (PDF): who and what, the vitals chart with doses and ratings, the tables of doses,
ratings, notes and alarms, and for intranasal esketamine the Spravato REMS monitoring-form summary.

Times are the workstation's local time; the header gives the UTC offset once. Voided entries stay in the
tables, marked "voided", as the record keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from kapmonitor.core.clock import US_PER_S
from kapmonitor.export.events import SessionEvent, session_events
from kapmonitor.export.loader import SessionData
from kapmonitor.export.pdf_chart import vitals_chart
from kapmonitor.export.pdf_fonts import BODY_FONT, BOLD_FONT, register
from kapmonitor.export.pdf_text import ScriptParagraph, a4_document
from kapmonitor.export.rems_export import is_esketamine, rems_summary
from kapmonitor.session.dosing import DosingError, drug_totals
from kapmonitor.session.rems import RemsForm
from kapmonitor.session.vitals import BpMeasurement
from kapmonitor.session.wording import prescription_words

_styles = getSampleStyleSheet()
# Text in any script prints as written (pdf_text.ScriptParagraph, the faces in pdf_fonts.py)
BODY = ParagraphStyle("body", parent=_styles["BodyText"], fontName=BODY_FONT, fontSize=8, leading=10)
HEADING = ParagraphStyle(
    "heading", parent=_styles["Heading2"], fontName=BOLD_FONT, fontSize=11, spaceBefore=8, spaceAfter=4
)
TITLE = ParagraphStyle("title", parent=_styles["Title"], fontName=BOLD_FONT, fontSize=15, spaceAfter=6)


def clock(t_us: int | None, with_date: bool = False) -> str:
    if t_us is None:
        return "-"
    local = datetime.fromtimestamp(t_us / US_PER_S).astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S (UTC%z)" if with_date else "%H:%M:%S")


def _p(text: object) -> ScriptParagraph:
    return ScriptParagraph(text, BODY)


def _table(header: list[str], rows: Sequence[Sequence[object]], widths: list[float]) -> Table:
    table = Table([[_p(h) for h in header], *[[_p(c) for c in row] for row in rows]], colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), BODY_FONT),  # the table sets it per cell: no Helvetica in the file
            ]
        )
    )
    return table


def _section(
    title: str, header: list[str], rows: Sequence[Sequence[object]], widths: list[float]
) -> list[Flowable]:
    body: Flowable = _table(header, rows, widths) if rows else _p("none recorded")
    return [ScriptParagraph(title, HEADING), body]


def _header(data: SessionData) -> list[Flowable]:
    info, record = data.info, data.record
    signed = record.signed
    sign_off = f"signed by {signed.author} at {clock(signed.entered_us, True)}" if signed else "not signed"
    duration = "-"
    if info.start_us is not None and info.end_us is not None:
        duration = f"{(info.end_us - info.start_us) / 60 / US_PER_S:.0f} min"
    rows = [
        ["Patient (pseudonym)", info.patient, "Session", str(info.id)],
        ["Protocol", info.protocol or record.protocol or "-", "Record protocol", record.protocol or "-"],
        ["Start", clock(info.start_us, True), "End", clock(info.end_us, True)],
        ["Duration", duration, "Room", info.room or "-"],
        ["Nurse", info.nurse or "-", "Prescriber", info.prescriber or "-"],
        ["Status", info.status, "Sign-off", sign_off],
        ["Devices", ", ".join(d for d, _, _ in info.devices) or "-", "Weight", _weight(data)],
    ]
    table = Table([[_p(c) for c in row] for row in rows], colWidths=[30 * mm, 55 * mm, 28 * mm, 67 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), BODY_FONT),
            ]
        )
    )
    return [ScriptParagraph(f"Session report: patient {info.patient}", TITLE), table]


def _weight(data: SessionData) -> str:
    kg = data.record.weight_kg
    return f"{kg:g} kg" if kg is not None else "-"


def _void(event: SessionEvent) -> str:
    return " (voided)" if event.void else ""


def _totals(data: SessionData) -> list[Flowable]:
    record = data.record
    until = data.info.end_us if data.info.end_us is not None else max([c.entry.t_us for c in record.current()] + [0])
    try:
        totals = drug_totals(record.doses(), until, record.weight_kg)
    except DosingError as exc:
        return [_p(f"Dose totals cannot be worked out: {exc}")]
    rows = [
        [t.drug, f"{t.total_mg:.1f} mg", "-" if t.total_mg_per_kg is None else f"{t.total_mg_per_kg:.2f} mg/kg"]
        for t in totals
    ]
    prescribed = record.prescription
    story = _section("Dose totals", ["Drug", "Total", "Per kg"], rows, [60 * mm, 60 * mm, 60 * mm])
    if prescribed is not None:
        story.append(_p(prescription_words(prescribed)))
    return story


def _event_tables(events: list[SessionEvent]) -> list[Flowable]:
    doses = [e for e in events if e.kind in ("dose", "infusion")]
    live = iter(range(1, len(doses) + 1))
    dose_rows = [[("" if e.void else f"D{next(live)}"), clock(e.t_us), e.text + _void(e), e.author] for e in doses]
    ratings = [
        [clock(e.t_us), e.name, "" if e.value is None else f"{e.value:g}", e.text + _void(e), e.author]
        for e in events
        if e.kind == "rating"
    ]
    notes = [
        [clock(e.t_us), e.kind, e.text + _void(e), e.author]
        for e in events
        if e.kind in ("note", "event", "addendum", "override", "confirmation", "discharged")
    ]
    alarms = [[clock(e.t_us), e.name, e.text, e.device] for e in events if e.kind == "alarm"]
    return [
        *_section("Doses", ["#", "Time", "Dose", "By"], dose_rows, [10 * mm, 18 * mm, 120 * mm, 32 * mm]),
        *_section(
            "Ratings",
            ["Time", "Scale", "Score", "Detail", "By"],
            ratings,
            [18 * mm, 22 * mm, 14 * mm, 94 * mm, 32 * mm],
        ),
        *_section("Notes and events", ["Time", "Kind", "Text", "By"], notes, [18 * mm, 22 * mm, 108 * mm, 32 * mm]),
        *_section("Alarms", ["Time", "Alarm", "Detail", "Device"], alarms, [18 * mm, 28 * mm, 84 * mm, 50 * mm]),
    ]


def _bp(m: BpMeasurement | None) -> str:
    return "not recorded" if m is None else f"{m} mmHg at {clock(m.t_us)}"


def _yes_no(value: bool | None) -> str:
    return "not assessed" if value is None else ("yes" if value else "no")


def _rems(form: RemsForm) -> list[Flowable]:
    rows = [
        ["Dose", f"{form.dose_mg:g} mg ({form.dose_choice}), {form.devices} device(s)"],
        ["Lot number(s)", ", ".join(form.lots) or "not recorded"],
        ["Time of first spray", clock(form.first_spray_us)],
        ["Total monitoring", "not recorded" if form.monitoring_minutes is None else f"{form.monitoring_minutes} min"],
        ["BP pre-dose", _bp(form.bp_pre_dose)],
        ["BP at ~40 min", _bp(form.bp_40_min)],
        ["BP at discharge", _bp(form.bp_discharge)],
        ["Sedation", _yes_no(form.sedation)],
        ["Dissociation", _yes_no(form.dissociation)],
        ["Respiratory depression", _yes_no(form.respiratory_depression)],
        ["BP increase", _yes_no(form.bp_increase)],
        ["Ready to leave (without the 2-h rule)", clock(form.ready_to_leave_us)],
        ["Missing for the form", "; ".join(form.missing) or "nothing"],
    ]
    return _section("Spravato REMS monitoring form (summary)", ["Field", "From the record"], rows, [60 * mm, 120 * mm])


def write_pdf(data: SessionData, out: Path) -> list[Path]:
    path = out / f"session-{data.info.id}.pdf" if out.is_dir() else out
    path.parent.mkdir(parents=True, exist_ok=True)
    register()
    events = session_events(data.record, data.alarms)
    story: list[Flowable] = [*_header(data), Spacer(1, 4 * mm)]
    story += [ScriptParagraph("Vital signs", HEADING), vitals_chart(data, events, 180 * mm, 95 * mm)]
    story.append(_p("D1, D2, ...: doses (numbered as in the dose table); triangles: ratings with their score."))
    story += _event_tables(events)
    story += _totals(data)
    if is_esketamine(data):
        story += _rems(rems_summary(data))
    document = a4_document(path, f"Session {data.info.id} ({data.info.patient})", top_bottom_mm=15)
    document.build(story, onFirstPage=_footer(data), onLaterPages=_footer(data))
    return [path]


def _footer(data: SessionData) -> Callable[[Canvas, Any], None]:
    """Every page: the session, the page number, and the audit head that `audit verify --anchor` checks."""
    head = f"audit head {data.audit_head}" if data.audit_head else "audit trail empty"

    def draw(canvas: Canvas, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(BODY_FONT, 6.5)
        canvas.setFillColor(colors.grey)
        canvas.drawString(15 * mm, 8 * mm, f"Session {data.info.id} - page {document.page} - {head}")
        canvas.restoreState()

    return draw
