"""``kapmonitor audit verify [--anchor SEQ:HASH]``: check the audit chain and every row of the record it vouches
for, and say whether the record is intact, one line per problem naming the table, the row and what changed.

Exit status 0: intact; 1: something does not check out; 2: the check could not run (no database, no key).
"""

from __future__ import annotations

import argparse

from kapmonitor.cli.errors import CommandError
from kapmonitor.store.audit import AuditTrail, head_text, parse_head
from kapmonitor.store.db import open_for_reading
from kapmonitor.store.record_proof import verify_record


def run(args: argparse.Namespace) -> int:
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
