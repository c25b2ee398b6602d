"""Who a record is about, and who may touch it, vouched for by the audit trail: patients, sessions (protocol,
room, bed, nurse, prescriber, status, start and end), the devices recorded in them, each session's clinical
record header (its protocol and maximum mg/kg), user accounts (name, roles, password, active or not), and the
gaps crash recovery records in a session (the link events that say a recording stopped, and where it resumed).

Every change kapmonitor makes to one of these rows is written in the same transaction as an audit entry that
keeps the row as it now is (``row``) and its digest (``row_sha256``), through :func:`vouch_in`; the newest such
entry for a row is what the row must hold. :func:`check_headers` compares each row with it: a row no entry
vouches for was inserted, a vouched row that is gone was deleted, and a row that differs was edited, with the
fields that changed named from the copy.

A user account's password hash never goes into the trail: the copy holds an HMAC of it under the installation
key (``password_digest``), which tells a swapped hash without revealing one. The account's count of failed
logins is not vouched: it changes with every failed login, and each failure is in the trail on its own.

Rows written before this version of kapmonitor have no audit entry. ``kapmonitor audit vouch`` vouches for them
once (:func:`vouch_existing`); until then verify names each as not yet vouched, and after it, a row without an
entry is an inserted one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Engine, Select, Table, select

from kapmonitor.store.audit import AuditTrail, Entry
from kapmonitor.store.audit_key import audit_key
from kapmonitor.store.row_seal import PASSWORD_DIGEST, RowProblem, changes, row_sha256, sealed_row
from kapmonitor.store.tables import ClinicalRecordRow, Device, LinkEventRow, Patient, Session, UserAccount

PATIENT: Table = Patient.__table__
SESSION: Table = Session.__table__
DEVICE: Table = Device.__table__
RECORD: Table = ClinicalRecordRow.__table__
USER: Table = UserAccount.__table__
LINK: Table = LinkEventRow.__table__
HEADER_TABLES: tuple[Table, ...] = (PATIENT, SESSION, DEVICE, RECORD, USER, LINK)
_BY_NAME = {t.name: t for t in HEADER_TABLES}
# Of the link events, only the gaps crash recovery records (what tells a reviewer a recording stopped and where)
# are vouched for: the devices' own connects and disconnects come with the readings, which are not.
SESSION_INTERRUPTED = "session_interrupted"
SESSION_RESUMED = "session_resumed"
GAP_KINDS = (SESSION_INTERRUPTED, SESSION_RESUMED)
NOT_SEALED = {USER.name: frozenset({"failed_logins", "password_hash"})}

# The actions that vouch for a row as kapmonitor creates it: the first such id of a table marks where the rows
# from before this version end (a later change to an older row, such as a role change, does not).
CREATING = frozenset(
    {
        "patient.add",
        "session.start",
        "device.add",
        "clinical_record.open",
        "user.first_admin",
        "user.add",
        "user.demo",
        "recovery.gap",
    }
)
# The one-time step that vouches for rows from before this version: one entry per row, then one that says done.
VOUCH_EXISTING_ROW = "audit.vouch_row"
VOUCH_EXISTING_DONE = "audit.vouch_existing"
VOUCH_COMMAND = "kapmonitor audit vouch"


def primary_key(table: Table) -> Column[Any]:
    return next(iter(table.primary_key.columns))


def password_digest(stored: str | None, key: bytes) -> str:
    """HMAC-SHA256 of a stored password hash under the installation key: the hash itself stays out of the trail."""
    return hmac.new(key, b"kapmonitor password hash\0" + (stored or "").encode("utf-8"), hashlib.sha256).hexdigest()


def header_seal(table: Table, raw: Mapping[str, Any], key: bytes) -> dict[str, Any]:
    """What the audit trail keeps of a header row (see the module's docstring for what it leaves out)."""
    sealed = sealed_row(table, raw)
    for name in NOT_SEALED.get(table.name, ()):
        sealed.pop(name, None)
    if table is USER:
        sealed[PASSWORD_DIGEST] = password_digest(raw.get("password_hash"), key)
    return sealed


def vouch_in(
    conn: Connection,
    user: str,
    action: str,
    table: Table,
    row_id: int,
    *,
    subject: str | None = None,
    about: Mapping[str, Any] | None = None,
) -> Entry:
    """Append, inside the caller's :meth:`AuditTrail.commit_with` transaction, the audit entry that vouches for
    row ``row_id`` of ``table`` as that transaction now holds it. ``about`` adds what the entry should say besides."""
    raw = dict(conn.execute(select(table).where(primary_key(table) == row_id)).mappings().one())
    key = audit_key(create=True)
    if key is None:  # create=True makes one or raises; this only tells the type checker
        raise RuntimeError("no audit key")
    sealed = header_seal(table, raw, key)
    payload = {
        **(about or {}),
        "table": table.name,
        "id": row_id,
        "row": sealed,
        "row_sha256": row_sha256(sealed),
    }
    return AuditTrail.append_in(conn, user, action, subject or f"{table.name} {row_id}", payload)


def _vouched_rows(table: Table) -> Select[Any]:
    """The rows of ``table`` that must each have an audit entry, in id order."""
    query = select(table).order_by(primary_key(table))
    return query.where(table.c.kind.in_(GAP_KINDS)) if table is LINK else query


def patient_of(conn: Connection, session_id: int) -> int | None:
    return conn.execute(select(SESSION.c.patient_id).where(SESSION.c.id == session_id)).scalar()


@dataclass(frozen=True)
class _Voucher:
    entry: Entry
    digest: str
    row: dict[str, Any]


@dataclass
class _Vouched:
    """What the trail says of the header tables: each row's newest voucher, and where the one-time step stands."""

    latest: dict[tuple[str, int], _Voucher]
    first_by_application: dict[str, int]  # per table, the lowest row id kapmonitor vouched for as it created it
    existing_done: Entry | None


def _vouched(entries: list[Entry]) -> _Vouched:
    found = _Vouched({}, {}, None)
    for entry in entries:
        if entry.action == VOUCH_EXISTING_DONE:
            found.existing_done = entry
            continue
        try:
            data = entry.data()
            table = data["table"]
            if table not in _BY_NAME or "row_sha256" not in data:
                continue
            row_id, digest, row = int(data["id"]), str(data["row_sha256"]), data["row"]
        except (ValueError, KeyError, TypeError):
            continue  # not a header voucher (or unreadable: the chain check names that)
        if not isinstance(row, dict):
            continue
        found.latest[(table, row_id)] = _Voucher(entry, digest, row)
        if entry.action in CREATING:
            first = found.first_by_application.get(table)
            found.first_by_application[table] = row_id if first is None else min(first, row_id)
    return found


def _label(table: Table, row_id: int, row: Mapping[str, Any], codes: Mapping[int, str]) -> str:
    if table is PATIENT:
        return f"{row_id} ({row.get('code')})"
    if table is SESSION:
        code = codes.get(row.get("patient_id", -1))
        return f"{row_id}" + (f" (patient {code})" if code else "")
    if table is DEVICE:
        return f"{row_id} ({row.get('device')} in session {row.get('session_id')})"
    if table is RECORD:
        return f"of session {row_id}"
    if table is LINK:
        return f"{row_id} ({row.get('kind')} in session {row.get('session_id')})"
    return f"{row_id} ({row.get('username')})"


def _owner(table: Table, row_id: int, row: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """(session, patient) whose record a problem with this row touches."""
    if table is SESSION:
        return row_id, None
    if table in (DEVICE, RECORD, LINK):
        return row.get("session_id"), None
    if table is PATIENT:
        return None, row_id
    return None, None


def _is_from_before(vouched: _Vouched, table: Table, row_id: int) -> bool:
    """A row without an entry that may be one written before kapmonitor vouched for these tables."""
    if vouched.existing_done is not None:
        return False
    first = vouched.first_by_application.get(table.name)
    return first is None or row_id < first


def check_headers(conn: Connection, entries: list[Entry], key: bytes | None) -> tuple[int, list[RowProblem]]:
    """(rows checked, problems) for every header row against the newest audit entry that vouches for it.
    Without the key the user accounts' password digests cannot be worked out: their other fields are checked."""
    vouched = _vouched(entries)
    codes = {
        row_id: str(v.row.get("code")) for (name, row_id), v in vouched.latest.items() if name == PATIENT.name
    }
    seen: set[tuple[str, int]] = set()
    problems: list[RowProblem] = []
    count = 0
    for table in HEADER_TABLES:
        pk = primary_key(table)
        current = {r[pk.name]: dict(r) for r in conn.execute(_vouched_rows(table)).mappings()}
        if table is PATIENT:
            codes = {**{i: str(r["code"]) for i, r in current.items()}, **codes}
        for row_id, raw in current.items():
            count += 1
            seen.add((table.name, row_id))
            voucher = vouched.latest.get((table.name, row_id))
            if key is None and table is USER:
                row = {**header_seal(table, raw, b""), PASSWORD_DIGEST: None}
            else:
                row = header_seal(table, raw, key or b"")
            label = _label(table, row_id, voucher.row if voucher else row, codes)
            session, patient = _owner(table, row_id, voucher.row if voucher else row)
            if voucher is None:
                what = (
                    f"not vouched yet: written before kapmonitor vouched for {table.name} rows; "
                    f"`{VOUCH_COMMAND}` vouches once for the rows from before the upgrade (docs/audit.md)"
                    if _is_from_before(vouched, table, row_id)
                    else "inserted: no audit entry vouches for this row"
                )
                problems.append(RowProblem(table.name, label, what, session, patient))
                continue
            if key is None and table is USER:
                row[PASSWORD_DIGEST] = voucher.row.get(PASSWORD_DIGEST)
            if row_sha256(row) != voucher.digest:
                said = "; ".join(changes(voucher.row, row)) or "its stored form differs"
                what = f"edited: {said} (audit_entry {voucher.entry.seq} vouched for it as it was)"
                problems.append(RowProblem(table.name, label, what, session, patient))
    for (name, row_id), voucher in vouched.latest.items():
        if (name, row_id) in seen:
            continue
        table = _BY_NAME[name]
        session, patient = _owner(table, row_id, voucher.row)
        what = f"deleted: the row is gone (audit_entry {voucher.entry.seq} vouched for it)"
        if table is LINK:  # a gap whose kind was changed is no longer among the vouched rows, but still there
            found = conn.execute(select(LINK).where(LINK.c.id == row_id)).mappings().first()
            if found is not None:
                said = "; ".join(changes(voucher.row, header_seal(LINK, dict(found), b"")))
                what = f"edited: {said} (audit_entry {voucher.entry.seq} vouched for it as it was)"
        problems.append(RowProblem(name, _label(table, row_id, voucher.row, codes), what, session, patient))
    return count, problems


@dataclass(frozen=True)
class VouchedExisting:
    rows: dict[str, int]  # per table, how many rows the step vouched for
    done: Entry


class AlreadyVouched(Exception):
    """The one-time step cannot run: it ran before on this database, or this workstation lacks the key."""


def vouch_existing(engine: Engine, user: str) -> VouchedExisting:
    """Vouch, once per database, for the header rows written before kapmonitor vouched for them: every row with
    no audit entry whose id is below the first one kapmonitor vouched for as it created it (all rows of a table
    it has not added to since). Rows inserted later, and rows whose entry no longer matches, stay named by
    verify. Raises :class:`AlreadyVouched` when the step ran before."""
    trail = AuditTrail(engine)
    if audit_key(create=False) is None and trail.count():
        raise AlreadyVouched(
            "this workstation holds no audit key, and the trail was sealed with one: vouch on a workstation "
            "that holds the key (a new key here would seal nothing the others can check)"
        )

    def work(conn: Connection) -> VouchedExisting:
        vouched = _vouched(AuditTrail.entries_in(conn))
        if vouched.existing_done is not None:
            raise AlreadyVouched(
                f"the rows from before the upgrade were vouched for once already (audit_entry "
                f"{vouched.existing_done.seq}); a row without an audit entry now is one that was inserted"
            )
        counts: dict[str, int] = {}
        for table in HEADER_TABLES:
            pk = primary_key(table)
            for row_id in conn.execute(_vouched_rows(table).with_only_columns(pk)).scalars():
                if (table.name, row_id) in vouched.latest or not _is_from_before(vouched, table, row_id):
                    continue
                vouch_in(conn, user, VOUCH_EXISTING_ROW, table, row_id, about={"change": "written before vouching"})
                counts[table.name] = counts.get(table.name, 0) + 1
        done = AuditTrail.append_in(
            conn, user, VOUCH_EXISTING_DONE, "rows from before the upgrade", {"rows": counts}
        )
        return VouchedExisting(counts, done)

    return trail.commit_with(work)


def awaiting_vouch(engine: Engine) -> int:
    """How many header rows from before this version wait for :func:`vouch_existing` (0 once it has run)."""
    with engine.connect() as conn:
        vouched = _vouched(AuditTrail.entries_in(conn))
        if vouched.existing_done is not None:
            return 0
        count = 0
        for table in HEADER_TABLES:
            pk = primary_key(table)
            for row_id in conn.execute(_vouched_rows(table).with_only_columns(pk)).scalars():
                if (table.name, row_id) not in vouched.latest and _is_from_before(vouched, table, row_id):
                    count += 1
    return count
