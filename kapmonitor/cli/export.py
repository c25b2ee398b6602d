"""``kapmonitor sessions export ID --format csv|pdf|edf|fhir --out PATH``: one session out of the database.

Prints each file written, one per line. An unknown session or an export that cannot be written is one line on
stderr and exit status 2 (the command line's ``UserError`` handling).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kapmonitor.export.writers import export_session


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
    return 0
