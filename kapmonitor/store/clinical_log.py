"""A session's clinical record that is in the database the moment an entry is accepted.

``ClinicalLog`` is a :class:`SessionRecord` whose ``add`` (and so ``amend`` and ``sign_off``) first lets the
record check the entry, then commits its row(s) in one transaction before returning. If the write fails the
entry is taken back out of memory and a :class:`ClinicalWriteError` says so: what the nurse sees is always what
the database holds. Sign-off also marks the session "signed" in the same transaction.

Write entries only through ``add``/``amend``: appending to ``log`` directly skips the database. A record is
signed only through :func:`kapmonitor.store.signing.sign_session` (a clinician, their password typed again, an
ended session); ``add`` refuses a ``SignOff`` from anyone else. Before every entry the record is brought up to
date with what other workstations stored, so an entry on a record signed elsewhere is refused in words before
anything is written, not by the database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, exc, insert, select, update

from kapmonitor.core.errors import UserError
from kapmonitor.session.entries import Addendum, DoseOverride, Entry, SignOff
from kapmonitor.session.templates import ProtocolTemplate
from kapmonitor.session.timeline import EntryError, RecordSignedError, SessionRecord
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.entry_codec import UnreadableEntry, entry_to_row, row_to_entry
from kapmonitor.store.header_proof import vouch_in
from kapmonitor.store.row_seal import row_sha256, sealed_row
from kapmonitor.store.tables import ClinicalEntryRow, ClinicalRecordRow, Session

_entry = ClinicalEntryRow.__table__
_record = ClinicalRecordRow.__table__
_session = Session.__table__


# The audit action for each stored entry kind; every other kind is "clinical.add".
AUDIT_ACTIONS = {"amendment": "clinical.amend", "sign_off": "session.sign", "addendum": "clinical.addendum"}


def audit_line(row: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(action, subject, payload) of the audit entry for one stored clinical_entry row. The payload carries
    the row and its digest, so the audit trail also vouches for what the entry said (store/record_proof.py)."""
    sealed = sealed_row(_entry, row)
    payload: dict[str, Any] = {
        "table": _entry.name,
        "session": row["session_id"],
        "seq": row["seq"],
        "kind": row["kind"],
        "author": row["author"],
        "row": sealed,
        "row_sha256": row_sha256(sealed),
    }
    if row["amends_seq"] is not None:
        payload["amends_seq"] = row["amends_seq"]
    subject = f"session {row['session_id']} entry {row['seq']}"
    return AUDIT_ACTIONS.get(row["kind"], "clinical.add"), subject, payload


class ClinicalWriteError(UserError):
    """An entry the database did not take; it was not added to the record either."""


class SessionNotEnded(EntryError):
    """Sign-off of a session that is still recording (or never started)."""


class ClinicalRecordMismatch(UserError):
    """The session's stored record follows another protocol than the one it was opened with."""


class ClinicalLog(SessionRecord):
    """The clinical record of session ``session_id``, continuing whatever is already stored for it.

    ``template`` sets the protocol and the maximum mg/kg for a new record; a stored record keeps its own.
    """

    def __init__(
        self,
        engine: Engine,
        session_id: int,
        template: ProtocolTemplate | None = None,
        *,
        audit: AuditTrail | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.audit = audit or AuditTrail(engine)
        self.session_id = session_id
        with _reading(engine, session_id) as conn:
            header = _header(conn, session_id)
            self.log = _entries(conn, session_id)
        self._stored_header = header is not None
        self._signing = False
        if header is None and template is not None:
            self.protocol, self.max_mg_per_kg = template.name, template.dosing.max_mg_per_kg
        elif header is not None:
            if template is not None and template.name != header[0]:
                raise ClinicalRecordMismatch(
                    f"session {session_id}'s record follows protocol {header[0]!r}, not {template.name!r}"
                )
            self.protocol, self.max_mg_per_kg = header

    @classmethod
    def load(cls, engine: Engine, session_id: int) -> ClinicalLog:
        """The stored record of a session, ready for more entries."""
        return cls(engine, session_id)

    def add(self, entry: Entry, *, override: DoseOverride | None = None, until_us: int | None = None) -> int:
        if isinstance(entry, SignOff) and not self._signing:
            raise EntryError(
                "a record is signed with sign_session: a clinician, logged in, types their password again"
            )
        self.refresh()
        before = len(self.log)
        ref = super().add(entry, override=override, until_us=until_us)  # the record's checks first
        try:
            self._store(before)
        except BaseException:
            del self.log[before:]  # not stored, so not entered
            raise
        return ref

    def sign_off(self, *, author: str, entered_us: int) -> int:
        raise EntryError("a record is signed with sign_session: a clinician, logged in, types their password again")

    def sign_as(self, entry: SignOff) -> int:
        """Store a sign-off that :func:`~kapmonitor.store.signing.sign_session` has checked (who, password,
        role, session ended); the session's status turns "signed" in the same transaction."""
        self._signing = True
        try:
            return self.add(entry)
        finally:
            self._signing = False

    def refresh(self) -> None:
        """Take in entries another workstation stored since this record was read."""
        with _reading(self.engine, self.session_id) as conn:
            stored = conn.execute(
                select(_entry.c.seq).where(_entry.c.session_id == self.session_id).order_by(_entry.c.seq.desc())
            ).first()
            if stored is not None and stored.seq != len(self.log):
                self.log = _entries(conn, self.session_id)
                self._stored_header = True

    def _store(self, before: int) -> None:
        added = self.log[before:]
        what = " and ".join(type(e).__name__ for e in added) + (" were" if len(added) > 1 else " was")
        rows = [
            {**entry_to_row(e), "session_id": self.session_id, "seq": seq}
            for seq, e in enumerate(added, start=before + 1)
        ]

        def write(conn: Connection) -> None:
            if not self._stored_header:
                conn.execute(
                    insert(_record).values(
                        session_id=self.session_id, protocol=self.protocol, max_mg_per_kg=self.max_mg_per_kg
                    )
                )
                subject = f"session {self.session_id} record"
                vouch_in(conn, rows[0]["author"], "clinical_record.open", _record, self.session_id, subject=subject)
            status = conn.execute(select(_session.c.status).where(_session.c.id == self.session_id)).scalar()
            if status == "signed" and not all(isinstance(e, Addendum) for e in added):
                raise RecordSignedError(
                    f"session {self.session_id} was signed on another workstation: add an addendum instead"
                )
            if any(isinstance(e, SignOff) for e in added):
                if status != "ended":
                    raise SessionNotEnded(_not_ended(self.session_id, status))
                conn.execute(update(_session).where(_session.c.id == self.session_id).values(status="signed"))
                signer = next(e.author for e in added if isinstance(e, SignOff))
                subject = f"session {self.session_id}"
                vouch_in(conn, signer, "session.signed", _session, self.session_id, subject=subject)
            conn.execute(insert(_entry), rows)
            stored = conn.execute(
                select(_entry)
                .where(_entry.c.session_id == self.session_id, _entry.c.seq.in_([r["seq"] for r in rows]))
                .order_by(_entry.c.seq)
            ).mappings()
            for row in stored:  # in the same transaction: no entry is ever stored without its audit line
                AuditTrail.append_in(conn, row["author"], *audit_line(dict(row)))

        try:
            self.audit.commit_with(write)
        except exc.IntegrityError as error:
            raise ClinicalWriteError(
                f"the {what} not saved: session {self.session_id} is missing or another workstation "
                f"added to its record at the same time; reopen the record and enter it again ({error.orig})"
            ) from error
        except (exc.SQLAlchemyError, UnicodeError) as error:
            reason = getattr(error, "orig", None) or error
            raise ClinicalWriteError(f"the {what} not saved to the database: {reason}") from error
        self._stored_header = True


def _not_ended(session_id: int, status: str | None) -> str:
    if status in ("in_progress", "planned"):
        return f"session {session_id} is still {status.replace('_', ' ')}: it can be signed once it has ended"
    return f"session {session_id} is {status}: only an ended session can be signed"


def session_status(engine: Engine, session_id: int) -> str:
    with _reading(engine, session_id) as conn:
        return str(conn.execute(select(_session.c.status).where(_session.c.id == session_id)).scalar())


def session_record(engine: Engine, session_id: int) -> SessionRecord:
    """A session's stored clinical record, read-only (for review and exports)."""
    with _reading(engine, session_id) as conn:
        protocol, max_mg_per_kg = _header(conn, session_id) or ("", None)
        record = SessionRecord(protocol, max_mg_per_kg=max_mg_per_kg)
        record.log = _entries(conn, session_id)
    return record


@contextmanager
def _reading(engine: Engine, session_id: int) -> Iterator[Connection]:
    """A connection to read one session's record; an unknown session or an unreadable row is a UserError."""
    try:
        with engine.connect() as conn:
            if conn.execute(select(_session.c.id).where(_session.c.id == session_id)).scalar() is None:
                raise UserError(f"no session {session_id} in this database")
            yield conn
    except UnreadableEntry as error:
        raise UserError(f"session {session_id}'s clinical record: {error}") from error
    except exc.SQLAlchemyError as error:
        raise UserError(f"cannot read session {session_id}: {getattr(error, 'orig', None) or error}") from error


def _header(conn: Connection, session_id: int) -> tuple[str, float | None] | None:
    row = conn.execute(
        select(_record.c.protocol, _record.c.max_mg_per_kg).where(_record.c.session_id == session_id)
    ).first()
    return None if row is None else (row.protocol, row.max_mg_per_kg)


def _entries(conn: Connection, session_id: int) -> list[Entry]:
    rows = conn.execute(select(_entry).where(_entry.c.session_id == session_id).order_by(_entry.c.seq)).all()
    for expected, row in enumerate(rows, start=1):
        if row.seq != expected:
            raise UnreadableEntry(f"entry {expected} is missing (the next stored entry is {row.seq})")
    return [row_to_entry(row) for row in rows]
