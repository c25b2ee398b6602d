"""``kapmonitor hl7 outbox|queue|skip|send``: the technician's view of what goes to the clinic's interface engine.

``outbox`` lists the queue (pending messages, oldest first, with attempts and the last NAK or network error);
``queue ID --to`` puts a session's ORU^R01 messages in the outbox; ``skip ID --reason`` takes a message the
engine never accepts out of the queue (audited); ``send --to`` sends them in order, retrying
each until the engine accepts it (``--until-empty`` returns when the queue is empty, exit status 1 if
``--timeout`` passed first).
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
from types import FrameType

from sqlalchemy import Engine

from kapmonitor.cli.errors import CommandError
from kapmonitor.core.clock import iso
from kapmonitor.devices.links.mllp import ListenerError, parse_endpoint
from kapmonitor.store.db import open_database, open_for_reading
from kapmonitor.store.hl7_outbox import Hl7Outbox, OutboxRow


def run(args: argparse.Namespace) -> int:
    if getattr(args, "to", None):
        try:
            parse_endpoint(args.to)
        except ListenerError as exc:
            raise CommandError(str(exc)) from None
    reading = args.hl7_command == "outbox"  # only reads: never creates a database
    engine = open_for_reading(args.db) if reading else open_database(args.db)
    try:
        if args.hl7_command == "outbox":
            rows = Hl7Outbox(engine).rows(include_sent=args.all)
            print(json.dumps([_json(r) for r in rows], indent=2) if args.json else _table(rows))
            return 0
        if args.hl7_command == "queue":
            return _queue(engine, args.id, args.to)
        if args.hl7_command == "skip":
            row = Hl7Outbox(engine).skip(args.id, args.user, args.reason)
            print(f"HL7 message {row.control_id} skipped; the messages behind it will go")
            return 0
        return _send(engine, args)
    finally:
        engine.dispose()


def _queue(engine: Engine, session_id: int, destination: str) -> int:
    from kapmonitor.export.hl7_export import queue_session
    from kapmonitor.export.loader import SessionNotFound

    try:
        added = queue_session(engine, session_id, destination)
    except SessionNotFound as exc:
        raise CommandError(str(exc)) from None
    print(f"session {session_id}: {added} messages queued for {destination}")
    return 0


def _send(engine: Engine, args: argparse.Namespace) -> int:
    from kapmonitor.bed.hl7_outbound import OutboundSender

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    sender = OutboundSender(engine, args.to)

    def stop(signum: int, frame: FrameType | None) -> None:
        sender.request_stop()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        done = sender.send_until_empty(args.timeout if args.until_empty else None, until_empty=args.until_empty)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    status = sender.status()
    print(f"{status.destination}: {status.sent} sent, {status.pending} waiting")
    if args.until_empty and not done:
        print(f"not everything was accepted: {status.last_error or 'stopped'}")
        return 1
    return 0


def _json(row: OutboxRow) -> dict[str, object]:
    return {
        "id": row.id,
        "session": row.session_id,
        "destination": row.destination,
        "control_id": row.control_id,
        "time": iso(row.t_us),
        "queued": iso(row.queued_us),
        "status": row.status,
        "attempts": row.attempts,
        "last_attempt": iso(row.last_attempt_us),
        "last_error": row.last_error,
        "sent": iso(row.sent_us),
    }


def _table(rows: list[OutboxRow]) -> str:
    if not rows:
        return "the HL7 outbox is empty"
    header = ["id", "session", "message", "for", "to", "status", "tries", "last error"]
    lines = [
        [
            str(r.id),
            str(r.session_id or ""),
            r.control_id,
            iso(r.t_us) or "",
            r.destination,
            r.status,
            str(r.attempts),
            r.last_error[:60],
        ]
        for r in rows
    ]
    widths = [max(len(x[i]) for x in [header, *lines]) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(x, widths, strict=True)).rstrip() for x in [header, *lines])
