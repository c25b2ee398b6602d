"""The whole record checked against the audit trail: every clinical entry (sign-offs included) and every alarm
log row must be vouched for by an audit entry that holds its digest (``row_sha256``) and what it said (``row``);
every HL7 outbox message by the audit entry of its queueing, which holds its digest (``sha256``): what it says
and where it goes, not its sending state, which changes as it is tried.

A row with no audit entry was inserted behind kapmonitor's back; an audit entry whose row is gone means the row
was deleted; a row whose digest differs was edited, and the fields that changed are named from the copy the audit
entry keeps. Because the audit entries are sealed with the installation key (``store/audit.py``), rewriting a row
and its audit entry together breaks the chain, which :func:`verify_record` reports too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from kapmonitor.store.audit import AuditTrail, Entry, VerifyReport
from kapmonitor.store.audit_key import audit_key
from kapmonitor.store.header_proof import check_headers, patient_of
from kapmonitor.store.row_seal import RowProblem, changes, row_sha256, sealed_row
from kapmonitor.store.tables import AlarmLogRow, ClinicalEntryRow, Hl7OutboxMessage, Session

CLINICAL: Table = ClinicalEntryRow.__table__
ALARMS: Table = AlarmLogRow.__table__
OUTBOX: Table = Hl7OutboxMessage.__table__
ALARM_AUDIT_ACTION = "alarm.log"
OUTBOX_AUDIT_ACTION = "hl7.queue"
OUTBOX_SEALED = ("session_id", "destination", "control_id", "t_us", "queued_us", "message")


def alarm_audit_line(row_id: int, row: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(action, subject, payload) of the audit entry that vouches for one alarm log row."""
    sealed = sealed_row(ALARMS, row)
    subject = f"session {sealed['session_id']} alarm event {row_id}"
    payload = {
        "table": ALARMS.name,
        "id": row_id,
        "session": sealed["session_id"],
        "row": sealed,
        "row_sha256": row_sha256(sealed),
    }
    return ALARM_AUDIT_ACTION, subject, payload


def outbox_sha256(row: Mapping[str, Any]) -> str:
    """The digest of what an outbox message says and where it goes (not its status, attempts or errors)."""
    return row_sha256({name: row.get(name) for name in OUTBOX_SEALED})


def outbox_audit_line(rows: list[tuple[int, Mapping[str, Any]]]) -> tuple[str, str, dict[str, Any]]:
    """(action, subject, payload) of the audit entry that vouches for the outbox rows one queueing added."""
    first = rows[0][1]
    payload = {
        "table": OUTBOX.name,
        "destination": first["destination"],
        "session": first["session_id"],
        "messages": [
            {"id": row_id, "control_id": row["control_id"], "sha256": outbox_sha256(row)} for row_id, row in rows
        ],
    }
    return OUTBOX_AUDIT_ACTION, f"{len(rows)} hl7 message(s) for {first['destination']}", payload


@dataclass(frozen=True)
class RecordReport:
    chain: VerifyReport
    rows: int
    row_problems: tuple[RowProblem, ...] = field(default=())

    @property
    def intact(self) -> bool:
        return self.chain.intact and not self.row_problems

    def lines(self) -> list[str]:
        return [str(p) for p in self.chain.problems] + [str(p) for p in self.row_problems]


@dataclass(frozen=True)
class _Voucher:
    entry: Entry
    digest: str
    row: dict[str, Any] | None  # the row as written (None: an entry from before rows were kept)
    label: str


def verify_record(engine: Engine, anchor: tuple[int, str] | None = None) -> RecordReport:
    """The audit chain and every audited row, checked; reads only."""
    trail = AuditTrail(engine)
    chain = trail.verify(anchor)
    entries = trail.entries()
    key = audit_key(create=False)
    with engine.connect() as conn:
        headers, header_problems = check_headers(conn, entries, key)
        rows, problems = _check_rows(conn, entries)
        messages, outbox_problems = _check_outbox(conn, entries)
    found = header_problems + problems + outbox_problems
    return RecordReport(chain, headers + rows + messages, tuple(found))


def unvouched(engine: Engine, session_id: int) -> str | None:
    """What ``audit verify`` finds wrong with this session's record (or the chain), in one line, for a warning
    beside an export of it; None when intact, or when this workstation holds no audit key to check with."""
    if audit_key(create=False) is None:
        return None
    report = verify_record(engine)
    with engine.connect() as conn:
        patient = patient_of(conn, session_id)
    found = [str(p) for p in report.chain.problems]
    found += [
        str(p)
        for p in report.row_problems
        if p.session == session_id or (p.patient is not None and p.patient == patient)
    ]
    if not found:
        return None
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return f"the audit trail does not vouch for this record as exported: {found[0]}{more}"


def _vouchers(entries: list[Entry]) -> dict[tuple[str, int, int], _Voucher]:
    found: dict[tuple[str, int, int], _Voucher] = {}
    for entry in entries:
        try:
            data = entry.data()
        except ValueError:
            continue  # the chain check names an unreadable entry
        if not isinstance(data, dict) or "row_sha256" not in data:
            continue
        row = data.get("row") if isinstance(data.get("row"), dict) else None
        if data.get("table", CLINICAL.name) == CLINICAL.name:
            key = (CLINICAL.name, int(data["session"]), int(data["seq"]))
            label = _clinical_label(key[1], key[2], str(data.get("kind", "?")), str(data.get("author", "")))
        elif data.get("table") == ALARMS.name:
            key = (ALARMS.name, int(data["session"]), int(data["id"]))
            label = _alarm_label(key[1], key[2], row or {})
        else:
            continue
        found[key] = _Voucher(entry, str(data["row_sha256"]), row, label)
    return found


def _clinical_label(session: int, seq: int, kind: str, author: str) -> str:
    return f"session {session} entry {seq} ({kind}{f' by {author}' if author else ''})"


def _alarm_label(session: int, row_id: int, row: Mapping[str, Any]) -> str:
    what = " ".join(str(row[k]) for k in ("alarm", "state") if row.get(k))
    return f"session {session} event {row_id}" + (f" ({what})" if what else "")


def _check_rows(conn: Connection, entries: list[Entry]) -> tuple[int, list[RowProblem]]:
    vouchers = _vouchers(entries)
    seen: set[tuple[str, int, int]] = set()
    problems: list[RowProblem] = []
    count = 0
    stored: list[tuple[Table, tuple[str, int, int], dict[str, Any], str]] = []
    for r in conn.execute(select(CLINICAL).order_by(CLINICAL.c.session_id, CLINICAL.c.seq)).mappings():
        key = (CLINICAL.name, r["session_id"], r["seq"])
        stored.append((CLINICAL, key, dict(r), _clinical_label(key[1], key[2], r["kind"], r["author"])))
    for r in conn.execute(select(ALARMS).order_by(ALARMS.c.id)).mappings():
        key = (ALARMS.name, r["session_id"], r["id"])
        stored.append((ALARMS, key, dict(r), _alarm_label(key[1], key[2], dict(r))))
    for table, key, raw, label in stored:
        count += 1
        seen.add(key)
        row = sealed_row(table, raw)
        voucher = vouchers.get(key)
        if voucher is None:
            problems.append(RowProblem(table.name, label, "inserted: no audit entry vouches for this row", key[1]))
        elif row_sha256(row) != voucher.digest:
            problems.append(RowProblem(table.name, label, _edited(row, voucher), key[1]))
    for key, voucher in vouchers.items():
        if key not in seen:
            where = f"audit_entry {voucher.entry.seq} recorded it"
            problems.append(RowProblem(key[0], voucher.label, f"deleted: the row is gone ({where})", key[1]))
    problems.extend(_unsigned_sessions(conn, vouchers, seen))
    return count, problems


def _check_outbox(conn: Connection, entries: list[Entry]) -> tuple[int, list[RowProblem]]:
    """Every outbox message against the queueing that vouches for it."""
    vouched: dict[int, tuple[int, str, str, int | None]] = {}  # row id -> (audit seq, digest, control id, session)
    for entry in entries:
        if entry.action != OUTBOX_AUDIT_ACTION:
            continue
        try:
            data = entry.data()
            for m in data["messages"]:
                vouched[int(m["id"])] = (entry.seq, str(m["sha256"]), str(m["control_id"]), data.get("session"))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue  # the chain check names an entry that is not what it should be
    problems: list[RowProblem] = []
    count = 0
    for r in conn.execute(select(OUTBOX).order_by(OUTBOX.c.id)).mappings():
        count += 1
        label = f"message {r['id']} ({r['control_id']})"
        found = vouched.pop(r["id"], None)
        if found is None:
            what = "inserted: no audit entry vouches for this row"
            problems.append(RowProblem(OUTBOX.name, label, what, r["session_id"]))
        elif outbox_sha256(dict(r)) != found[1]:
            what = f"edited: what it says or where it goes differs from what audit_entry {found[0]} recorded"
            problems.append(RowProblem(OUTBOX.name, label, what, r["session_id"]))
    for row_id, (seq, _digest, control_id, session) in vouched.items():
        what = f"deleted: the row is gone (audit_entry {seq} recorded it)"
        problems.append(RowProblem(OUTBOX.name, f"message {row_id} ({control_id})", what, session))
    return count, problems


def _edited(row: dict[str, Any], voucher: _Voucher) -> str:
    seq = voucher.entry.seq
    if voucher.row is None:
        return f"edited: it no longer matches the digest audit_entry {seq} recorded"
    found = changes(voucher.row, row)
    said = "; ".join(found) if found else "its stored form differs"
    return f"edited: {said} (audit_entry {seq} recorded the original)"


def _unsigned_sessions(
    conn: Connection, vouchers: dict[tuple[str, int, int], _Voucher], seen: set[tuple[str, int, int]]
) -> list[RowProblem]:
    """A session marked signed must have a sign-off entry the audit trail vouches for."""
    signed_by_record = {
        key[1]
        for key, v in vouchers.items()
        if key[0] == CLINICAL.name and key in seen and json.loads(v.entry.payload).get("kind") == "sign_off"
    }
    session = Session.__table__
    marked = conn.execute(select(session.c.id).where(session.c.status == "signed")).scalars()
    return [
        RowProblem("session", str(sid), "edited: marked signed, but no audited sign-off entry exists for it", sid)
        for sid in marked
        if sid not in signed_by_record
    ]
