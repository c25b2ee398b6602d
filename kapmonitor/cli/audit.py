"""``kapmonitor audit verify``: walk the hash chain and say whether the trail is intact, naming each broken entry."""

from __future__ import annotations

import argparse

from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.db import open_database


def run(args: argparse.Namespace) -> int:
    engine = open_database(args.db)
    try:
        report = AuditTrail(engine).verify()
    finally:
        engine.dispose()
    if report.intact:
        print(f"audit trail intact: {report.entries} entries")
        return 0
    print(f"audit trail BROKEN: {len(report.broken_seqs())} of {report.entries} entries do not check out")
    for problem in report.problems:
        print(f"  {problem}")
    return 1
