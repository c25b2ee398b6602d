"""``kapmonitor sessions list|show|export|recover``: what the database holds, as JSON or a readable table.

``list``, ``show`` and ``export`` only read: a database that does not exist is refused, and one this account
cannot write is opened read-only. ``list`` marks a session a crashed kapmonitor left in progress
(``"interrupted": true``, status shown as ``in_progress (interrupted)``); ``recover ID`` closes it at its last
recorded data with the gap recorded, as the application's recovery prompt does (an extension of DESIGN.md's
command line).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sqlalchemy import Engine

from kapmonitor.cli.account import os_account
from kapmonitor.cli.errors import CommandError
from kapmonitor.core.clock import iso
from kapmonitor.core.errors import UserError
from kapmonitor.store.db import open_database, open_for_reading
from kapmonitor.store.recovery import SessionRecovery, interrupted_sessions
from kapmonitor.store.repository import SessionRepository, UnknownSession


def run(args: argparse.Namespace) -> int:
    if args.sessions_command == "export":
        from kapmonitor.cli.export import run as export

        return export(args)
    if args.sessions_command == "recover":
        return recover(args.db, args.id)
    engine = open_for_reading(args.db)
    try:
        repository = SessionRepository(engine)
        if args.sessions_command == "list":
            sessions = repository.list_sessions()
            stopped = {found.session_id for found in interrupted_sessions(engine)}
            for session in sessions:
                session["interrupted"] = session["id"] in stopped
            print(json.dumps(sessions, indent=2) if args.json else _table(sessions))
        else:
            try:
                detail = repository.session_detail(args.id)
            except UnknownSession as exc:
                raise CommandError(str(exc)) from None
            detail["interrupted"] = any(f.session_id == args.id for f in interrupted_sessions(engine))
            detail.update(_whole_record(engine, args.id))
            print(json.dumps(detail, indent=2) if args.json else _detail(detail))
    finally:
        engine.dispose()
    return 0


def _whole_record(engine: Engine, session_id: int) -> dict[str, Any]:
    """The clinical record, dosing, REMS form, alarm log and sign-off of one session (DESIGN.md)."""
    from kapmonitor.export.loader import load_session
    from kapmonitor.export.record_json import record_json
    from kapmonitor.store.alarm_log import alarm_events

    return record_json(load_session(engine, session_id, alarms=alarm_events(engine, session_id)))


def _columns(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    )


def _table(sessions: list[dict[str, Any]]) -> str:
    if not sessions:
        return "no sessions recorded yet"
    rows = [
        [
            str(s["id"]),
            s["patient"],
            s["protocol"] or "-",
            s["bed"] or "-",
            s["status"] + (" (interrupted)" if s.get("interrupted") else ""),
            s["start"] or "-",
            s["end"] or "-",
            str(len(s["tracks"])),
        ]
        for s in sessions
    ]
    table = _columns(["ID", "PATIENT", "PROTOCOL", "BED", "STATUS", "START", "END", "TRACKS"], rows)
    if any(s.get("interrupted") for s in sessions):
        table += "\n\ninterrupted: the kapmonitor recording it stopped; `kapmonitor sessions recover ID` closes it"
    return table


def recover(db: str | None, session_id: int) -> int:
    """Close an interrupted session at its last data, recording the gap; one line says what was done."""
    open_for_reading(db).dispose()  # refuses a database that does not exist, as the reading commands do
    engine = open_database(db)
    try:
        found = SessionRecovery(engine, user=os_account()).close_interrupted(session_id)
    except UserError as error:
        raise CommandError(str(error)) from None
    finally:
        engine.dispose()
    end = found.last_data_us if found.last_data_us is not None else found.start_us
    print(
        f"session {session_id} ({found.patient}) recovered: ended at {iso(end) or 'its start'}, its last "
        "recorded data; the gap after it is recorded"
    )
    return 0


def _detail(s: dict[str, Any]) -> str:
    lines = [
        f"session {s['id']}  patient {s['patient']}  {s['status']}"
        + ("  (interrupted: `kapmonitor sessions recover ID` closes it)" if s.get("interrupted") else ""),
        f"protocol: {s['protocol'] or '-'}   bed: {s['bed'] or '-'}   room: {s['room'] or '-'}   "
        f"nurse: {s['nurse'] or '-'}",
        f"start: {s['start'] or '-'}   end: {s['end'] or '-'}",
        "",
    ]
    tracks = [
        [t["device"], t["metric"], t["kind"], str(t["samples"]), t["first"], t["last"]] for t in s["tracks"]
    ]
    lines.append(
        _columns(["DEVICE", "METRIC", "KIND", "SAMPLES", "FIRST", "LAST"], tracks)
        if tracks
        else "no data recorded"
    )
    lines += _record_lines(s)
    if s["link_events"]:
        lines += [
            "",
            _columns(
                ["TIME", "DEVICE", "EVENT", "DETAIL"],
                [[e["t"], e["device"], e["kind"], e["detail"]] for e in s["link_events"]],
            ),
        ]
    return "\n".join(lines)


def _record_lines(s: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if s["entries"]:
        rows = [[e["t"][11:19], e["author"], ("VOIDED " if e["voided"] else "") + e["summary"]] for e in s["entries"]]
        lines += ["", _columns(["TIME", "BY", "ENTRY"], rows)]
    drugs = s["dosing"]["drugs"]
    for drug, total in drugs.items():
        per_kg = f" = {total['total_mg_per_kg']:g} mg/kg" if total["total_mg_per_kg"] is not None else ""
        lines.append(f"total {drug}: {total['total_mg']:g} mg{per_kg}")
    if s["rems"] is not None:
        missing = "; ".join(s["rems"]["missing"]) or "nothing"
        lines.append(f"REMS form: missing {missing}")
    sign = s["sign_off"]
    lines.append(f"signed by {sign['by']} at {sign['t']}" if sign else "not signed")
    return lines
