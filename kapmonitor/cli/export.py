"""``kapmonitor sessions export ID --format csv|pdf|edf|fhir|hl7 --out PATH``: one session out of the database.

Prints each file written, one per line. An unknown session or an export that cannot be written is one line on
stderr and exit status 2 (the command line's ``UserError`` handling). When the audit trail does not vouch for
the session's record (``audit verify`` finds one of its rows edited, deleted or slipped in, or the chain broken),
the export is still written, as the database holds it, and one warning line on stderr says so.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kapmonitor.export.writers import export_session
from kapmonitor.store.db import open_for_reading
from kapmonitor.store.record_proof import unvouched


def run(args: argparse.Namespace) -> int:
    salt = None
    if getattr(args, "deidentify", False):
        from kapmonitor.export.deidentified import load_salt

        salt = load_salt(args.salt_file)
    keep = bool(getattr(args, "keep_free_text", False))
    for path in export_session(
        args.db, args.id, args.format, Path(args.out), deidentify_salt=salt, keep_free_text=keep
    ):
        print(path)
    engine = open_for_reading(args.db)
    try:
        warning = unvouched(engine, args.id)
    finally:
        engine.dispose()
    if warning:
        print(f"kapmonitor: warning: {warning}", file=sys.stderr)
    return 0
