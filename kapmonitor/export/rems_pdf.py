"""The Spravato REMS Patient Monitoring Form as one printable A4 page, in the order of the published form, with
every answer the session record gives and a blank marked "clinic to complete" for what it does not keep."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer, Table, TableStyle

from kapmonitor.core.clock import US_PER_S
from kapmonitor.export.loader import SessionData
from kapmonitor.export.pdf_fonts import BODY_FONT, BOLD_FONT, register
from kapmonitor.export.pdf_text import ScriptParagraph, a4_document
from kapmonitor.session.rems import RemsForm
from kapmonitor.session.vitals import BpMeasurement

_styles = getSampleStyleSheet()
BODY = ParagraphStyle("rems-body", parent=_styles["BodyText"], fontName=BODY_FONT, fontSize=7.6, leading=9.2)
SMALL = ParagraphStyle("rems-small", parent=BODY, fontSize=6.8, leading=8.2, textColor=colors.HexColor("#444444"))
HEADING = ParagraphStyle(
    "rems-heading", parent=_styles["Heading3"], fontName=BOLD_FONT, fontSize=9, spaceBefore=4, spaceAfter=2
)
TITLE = ParagraphStyle("rems-title", parent=_styles["Title"], fontName=BOLD_FONT, fontSize=12.5, leading=15)
CLINIC = "clinic to complete: ____________________"
LABEL_WIDTH = 62 * mm
VALUE_WIDTH = 118 * mm


def clock(t_us: int | None, with_date: bool = False) -> str:
    """Local time, as the session report prints it."""
    if t_us is None:
        return "-"
    local = datetime.fromtimestamp(t_us / US_PER_S).astimezone()
    return local.strftime("%Y-%m-%d %H:%M (UTC%z)" if with_date else "%H:%M:%S")


def _p(text: object, style: ParagraphStyle = BODY) -> ScriptParagraph:
    return ScriptParagraph(text, style)


def _rows(title: str, rows: Sequence[tuple[str, str]]) -> list[Flowable]:
    table = Table([[_p(k), _p(v)] for k, v in rows], colWidths=[LABEL_WIDTH, VALUE_WIDTH])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f0f0f0")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("FONTNAME", (0, 0), (-1, -1), BODY_FONT),  # the table sets it per cell: no Helvetica in the file
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return [ScriptParagraph(title, HEADING), table]


def _box(checked: bool) -> str:
    return "[x]" if checked else "[ ]"


def _yes_no(value: bool | None, detail: str = "") -> str:
    if value is None:
        return "not assessed in the record"
    answer = f"{_box(value)} yes   {_box(not value)} no"
    return f"{answer}   ({detail})" if detail else answer


def _bp(m: BpMeasurement | None) -> str:
    return "not recorded" if m is None else f"{m} mmHg at {clock(m.t_us)}"


def _minutes(value: int | None, what: str) -> str:
    return f"not recorded ({what})" if value is None else f"{value} minutes"


def _date(t_us: int | None) -> str:
    return "no dose recorded" if t_us is None else clock(t_us, True)[:10]


def _dose(form: RemsForm) -> str:
    other = f"{form.dose_mg:g} mg" if form.dose_choice == "other" else "___"
    return (
        f"{_box(form.dose_choice == '56')} 56 mg   {_box(form.dose_choice == '84')} 84 mg   "
        f"{_box(form.dose_choice == 'other')} other: {other}"
    )


def _devices(form: RemsForm) -> str:
    if not form.device_list:
        return "no device recorded"
    return "; ".join(
        f"device {i} at {clock(d.t_us)}, {d.mg:g} mg, lot {d.lot or 'NOT RECORDED'}"
        for i, d in enumerate(form.device_list, start=1)
    )


def _notes(data: SessionData) -> str:
    notes = [n.text for n in data.record.notes()]
    text = " | ".join(notes) if notes else "no notes in the record"
    return text if len(text) <= 220 else text[:217] + "..."


def form_rows(data: SessionData, form: RemsForm) -> list[tuple[str, list[tuple[str, str]]]]:
    """The page's sections and rows (label, answer), in the published form's order."""
    info = data.info
    return [
        (
            "Patient",
            [
                ("Patient (pseudonymous ID in kapmonitor)", info.patient),
                ("Name, birth date, sex", CLINIC),
            ],
        ),
        (
            "Concomitant medication (benzodiazepines, non-benzodiazepine sedative hypnotics, psychostimulants, MAOIs)",
            [("Yes / no for each", CLINIC), ("The record's notes", _notes(data))],
        ),
        (
            "Healthcare provider who monitored; healthcare setting",
            [
                ("Provider (session's nurse)", info.nurse or CLINIC),
                ("Telephone, email; setting's name and address", CLINIC + (f" (room {info.room})" * bool(info.room))),
            ],
        ),
        (
            "Treatment session (administration and monitoring)",
            [
                ("Treatment date", _date(form.first_spray_us)),
                ("Dose administered", _dose(form)),
                ("Devices and lot numbers", _devices(form)),
                ("Time of the first device", clock(form.first_spray_us)),
                (
                    "Total time, first device to end of monitoring",
                    _minutes(form.monitoring_minutes, "no discharge recorded")
                    + (f" (discharged {clock(form.discharge_us)})" if form.discharge_us else ""),
                ),
                (
                    "Ready to leave without the 2-hour minimum",
                    _minutes(form.ready_to_leave_minutes, "checklist not complete")
                    + (" from the first device" if form.ready_to_leave_minutes is not None else ""),
                ),
                ("Vital signs acceptable before administration", _yes_no(form.vitals_ok_pre_dose)),
                ("Vital signs acceptable at session completion", _yes_no(form.vitals_ok_at_end)),
            ],
        ),
        (
            "Blood pressure",
            [
                ("Before administration", _bp(form.bp_pre_dose)),
                ("About 40 minutes after administration", _bp(form.bp_40_min)),
                ("Before the session ended", _bp(form.bp_discharge)),
            ],
        ),
        (
            "Did the patient experience",
            [
                ("Sedation (MOAA/S below 5)", _yes_no(form.sedation, form.sedation_detail)),
                ("Dissociation (CADSS, any form; own 0-10)", _yes_no(form.dissociation, form.dissociation_detail)),
                ("Respiratory depression (SpO2)", _yes_no(form.respiratory_depression, form.respiratory_detail)),
                ("Blood pressure increase (vs before dosing)", _yes_no(form.bp_increase, form.bp_increase_detail)),
            ],
        ),
    ]


def rems_pdf(data: SessionData, form: RemsForm, path: Path) -> None:
    register()
    info, signed = data.info, data.record.signed
    story: list[Flowable] = [
        ScriptParagraph(f"Spravato REMS Patient Monitoring Form: session {info.id}, patient {info.patient}", TITLE),
        _p(
            "Filled from kapmonitor's record of this session. Transcribe or attach to the REMS submission (online "
            "or fax) within 7 days of treatment. Lines marked 'clinic to complete' are not kept in the session "
            "record. Times are local.",
            SMALL,
        ),
    ]
    for title, rows in form_rows(data, form):
        story += _rows(title, rows)
    missing = "; ".join(form.missing) or "nothing: every field the record can fill is filled"
    story += _rows("Not yet in the record", [("Missing", missing)])
    sign = f"signed by {signed.author} at {clock(signed.entered_us, True)}" if signed else "not signed yet"
    story += [
        Spacer(1, 3 * mm),
        _p(f"Session record {sign}."),
        # The form is filed and faxed apart from the record: the head lets `audit verify --anchor` prove later that
        # the record it was filled from is the one still in the database.
        _p(f"audit head {data.audit_head}" if data.audit_head else "audit trail empty", SMALL),
        Spacer(1, 5 * mm),
        _p("Completed by (name, signature): ______________________________    Date: ______________"),
    ]
    document = a4_document(path, f"REMS monitoring form, session {info.id} ({info.patient})", top_bottom_mm=12)
    document.build(story)
