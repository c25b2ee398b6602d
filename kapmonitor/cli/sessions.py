"""``kapmonitor sessions list|show|export``: what the database holds, as JSON or a readable table."""

from __future__ import annotations

import argparse
import json
from typing import Any

from kapmonitor.cli.errors import CommandError
from kapmonitor.store.db import open_database
from kapmonitor.store.repository import SessionRepository, UnknownSession


def run(args: argparse.Namespace) -> int:
    if args.sessions_command == "export":
        from kapmonitor.cli.export import run as export

        return export(args)
    engine = open_database(args.db)
    try:
        repository = SessionRepository(engine)
        if args.sessions_command == "list":
            sessions = repository.list_sessions()
            print(json.dumps(sessions, indent=2) if args.json else _table(sessions))
        else:
            try:
                detail = repository.session_detail(args.id)
            except UnknownSession as exc:
                raise CommandError(str(exc)) from None
            print(json.dumps(detail, indent=2) if args.json else _detail(detail))
    finally:
        engine.dispose()
    return 0


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
            s["status"],
            s["start"] or "-",
            s["end"] or "-",
            str(len(s["tracks"])),
        ]
        for s in sessions
    ]
    return _columns(["ID", "PATIENT", "PROTOCOL", "BED", "STATUS", "START", "END", "TRACKS"], rows)


def _detail(s: dict[str, Any]) -> str:
    lines = [
        f"session {s['id']}  patient {s['patient']}  {s['status']}",
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
    if s["link_events"]:
        lines += [
            "",
            _columns(
                ["TIME", "DEVICE", "EVENT", "DETAIL"],
                [[e["t"], e["device"], e["kind"], e["detail"]] for e in s["link_events"]],
            ),
        ]
    return "\n".join(lines)
