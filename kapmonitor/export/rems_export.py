"""The Spravato REMS Patient Monitoring Form of a recorded session: the form filled from the loaded session,
and its one-page PDF (``sessions export ID --format rems``)."""

from __future__ import annotations

from pathlib import Path

from kapmonitor.export.loader import SessionData
from kapmonitor.session.rems import RemsForm, rems_form
from kapmonitor.session.templates import builtin_templates

ESKETAMINE_PROTOCOL = "intranasal-esketamine"


def is_esketamine(data: SessionData) -> bool:
    return (
        data.record.protocol == ESKETAMINE_PROTOCOL
        or bool(data.record.sprays())
        or "esketamine" in data.info.protocol.lower()
    )


def rems_summary(data: SessionData) -> RemsForm:
    template = builtin_templates().get(data.record.protocol) or builtin_templates().get(ESKETAMINE_PROTOCOL)
    bp = data.readings(("nibp_systolic", "nibp_diastolic"))
    return rems_form(data.record, bp, template=template, spo2_readings=data.readings(("spo2",)))


def write_rems(data: SessionData, out: Path) -> list[Path]:
    """The one-page form as a PDF (``out`` a file, or a folder for ``session-ID-rems.pdf``)."""
    if not is_esketamine(data):
        raise ValueError(
            f"session {data.info.id} is not an intranasal esketamine session: the REMS form is for Spravato"
        )
    from kapmonitor.export.rems_pdf import rems_pdf

    path = out / f"session-{data.info.id}-rems.pdf" if out.is_dir() else out
    path.parent.mkdir(parents=True, exist_ok=True)
    rems_pdf(data, rems_summary(data), path)
    return [path]
