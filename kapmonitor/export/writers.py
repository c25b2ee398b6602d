"""The export writers by format name, and one session written out of the database through them.

An unknown session or an export that cannot be written raises ``ExportFailed`` (a ``UserError``: one line).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kapmonitor.core.errors import UserError
from kapmonitor.export.loader import SessionData, load_session
from kapmonitor.store.alarm_log import alarm_events
from kapmonitor.store.db import open_for_reading

Writer = Callable[[SessionData, Path], list[Path]]


class ExportFailed(UserError):
    """The export could not be written (an unwritable path, data the format cannot carry)."""


def export_writer(format_name: str) -> Writer:
    """The writer of one export format (the command line and the review window both export through it)."""
    # Each format pulls in its own library (reportlab, pyedflib); import only the one asked for.
    if format_name == "csv":
        from kapmonitor.export.csv_export import write_csv

        return write_csv
    if format_name == "pdf":
        from kapmonitor.export.pdf_report import write_pdf

        return write_pdf
    if format_name == "edf":
        from kapmonitor.export.edf_export import write_edf

        return write_edf
    if format_name == "rems":
        from kapmonitor.export.rems_export import write_rems

        return write_rems
    if format_name == "fhir":
        from kapmonitor.export.fhir_export import write_fhir

        return write_fhir
    if format_name == "hl7":
        from kapmonitor.export.hl7_export import write_hl7

        return write_hl7
    raise ExportFailed(f"unknown export format {format_name!r} (use csv, pdf, edf, fhir, hl7 or rems)")


def export_session(
    engine_url: str | None,
    session_id: int,
    format_name: str,
    out: Path,
    *,
    deidentify_salt: str | None = None,
    keep_free_text: bool = False,
) -> list[Path]:
    """Write one session; with ``deidentify_salt`` the export is de-identified (see export/deidentified.py)."""
    writer = export_writer(format_name)
    engine = open_for_reading(engine_url)
    try:
        data = load_session(engine, session_id, alarms=alarm_events(engine, session_id))
    finally:
        engine.dispose()
    if deidentify_salt is not None:
        from kapmonitor.export.deidentified import deidentify_session

        data = deidentify_session(data, salt=deidentify_salt, keep_free_text=keep_free_text)
    try:
        return writer(data, out)
    except (OSError, ValueError) as error:
        raise ExportFailed(
            f"cannot write the {format_name} export of session {session_id} to {out}: {error}"
        ) from error
