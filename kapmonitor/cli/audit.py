"""``kapmonitor audit verify [--anchor SEQ:HASH]``: check the audit chain and every row of the record it vouches
for, and say whether the record is intact, one line per problem naming the table, the row and what changed.

Exit status 0: intact; 1: something does not check out; 2: the check could not run (no database, no key).

``kapmonitor audit vouch``: once per database, after upgrading from a version that did not vouch for patients,
sessions, devices, clinical record headers and user accounts, vouch for the rows written before (docs/audit.md).
"""

from __future__ import annotations

import argparse

from sqlalchemy import exc

from kapmonitor.cli.account import os_account
from kapmonitor.cli.errors import CommandError
from kapmonitor.store.audit import AuditTrail, head_text, parse_head
from kapmonitor.store.db import open_database, open_for_reading
from kapmonitor.store.header_proof import AlreadyVouched, vouch_existing
from kapmonitor.store.record_proof import verify_record


def run(args: argparse.Namespace) -> int:
    if args.audit_command == "vouch":
        return vouch(args.db)
    anchor = None
    if getattr(args, "anchor", None):
        try:
            anchor = parse_head(args.anchor)
        except ValueError as error:
            raise CommandError(f"--anchor: {error}") from None
    engine = open_for_reading(args.db)
    try:
        report = verify_record(engine, anchor)
        head = AuditTrail(engine).head()
    finally:
        engine.dispose()
    counted = f"{report.chain.entries} entries, {report.rows} rows of the record"
    if report.intact:
        anchored = f"; anchor {anchor[0]} matches" if anchor else ""
        print(f"audit trail intact: {counted}; head {head_text(head)}{anchored}")
        return 0
    lines = report.lines()
    print(f"audit trail BROKEN: {len(lines)} problem{'s' if len(lines) != 1 else ''} in {counted}")
    for line in lines:
        print(f"  {line}")
    return 1


def vouch(db: str | None) -> int:
    """Vouch for the header rows written before this version, once; one line says how many of each."""
    open_for_reading(db).dispose()  # a database that does not exist is refused, not created
    engine = open_database(db)
    try:
        done = vouch_existing(engine, os_account())
    except AlreadyVouched as error:
        raise CommandError(str(error)) from None
    except exc.SQLAlchemyError as error:  # a read-only or full disk, a database another program holds locked
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise CommandError(f"nothing was vouched for: the database refused the audit entries ({reason})") from None
    finally:
        engine.dispose()
    counts = ", ".join(f"{n} {table}" for table, n in done.rows.items())
    if counts:
        said = f"vouched for the rows written before this version: {counts}"
    else:
        said = "no rows from before this version: every row was already vouched for as it was written"
    print(f"{said} (audit_entry {done.done.seq}); `kapmonitor audit verify` checks them from now on")
    return 0
