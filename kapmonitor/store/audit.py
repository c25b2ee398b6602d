"""The audit trail: an append-only, hash-chained record of who did what, and when.

Each entry's ``hash`` is sha256(prev_hash + canonical JSON of the entry), and ``prev_hash`` is the previous
entry's hash (64 zeros for the first). Editing, deleting, inserting or reordering an entry therefore breaks the
chain at that entry, and :meth:`AuditTrail.verify` names where. The SQLite triggers from migration 0004 refuse
UPDATE and DELETE, but they are only a guard against accidents: the chain is the proof.

Deleting the newest entries leaves a shorter chain that is still whole; to catch that, keep :meth:`head`
somewhere else (a signed report prints it) and pass it to :meth:`verify` as ``anchor``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, exc, func, insert, select

from kapmonitor.core.clock import now_us
from kapmonitor.store.tables import AuditEntry

GENESIS = "0" * 64
# Two processes appending at once: the loser of the seq/prev_hash race re-reads the head and tries again.
APPEND_ATTEMPTS = 20
_RENUMBER_WINDOW = 50  # how far verify looks for the seq an entry was written with, to say "moved"

_audit = AuditEntry.__table__
T = TypeVar("T")


def _audit_contention(error: exc.DBAPIError) -> bool:
    """Another process took the seq (or the chain link) we computed, or holds the database for a moment."""
    if isinstance(error, exc.OperationalError):
        return "locked" in str(error.orig) or "busy" in str(error.orig)
    return "audit_entry" in str(error.orig)


def canonical_json(value: Any) -> str:
    """The one text a value hashes as: sorted keys, no spaces, UTF-8 kept, no NaN."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"audit payload must be plain JSON (text, numbers, lists, objects): {error}"
        ) from None


def entry_hash(
    prev_hash: str, seq: int, t_us: int, user: str, action: str, subject: str, payload: str
) -> str:
    row = canonical_json(
        {"seq": seq, "t_us": t_us, "user": user, "action": action, "subject": subject, "payload": payload}
    )
    return hashlib.sha256((prev_hash + row).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Entry:
    seq: int
    t_us: int
    user: str
    action: str
    subject: str
    payload: str  # canonical JSON text
    prev_hash: str
    hash: str

    def data(self) -> Any:
        return json.loads(self.payload)

    def computed_hash(self, seq: int | None = None) -> str:
        return entry_hash(
            self.prev_hash,
            self.seq if seq is None else seq,
            self.t_us,
            self.user,
            self.action,
            self.subject,
            self.payload,
        )


@dataclass(frozen=True)
class Problem:
    seq: int
    action: str
    what: str

    def __str__(self) -> str:
        return f"entry {self.seq} ({self.action}): {self.what}"


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    problems: tuple[Problem, ...] = field(default=())

    @property
    def intact(self) -> bool:
        return not self.problems

    def broken_seqs(self) -> list[int]:
        return sorted({p.seq for p in self.problems})


class AuditTrail:
    _lock = threading.Lock()  # class-wide: every trail object in this process appends through one lock

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(
        self, user: str, action: str, subject: str = "", payload: Mapping[str, Any] | None = None
    ) -> Entry:
        """Add an entry; it is committed when this returns."""
        return self.commit_with(lambda conn: self.append_in(conn, user, action, subject, payload))

    def commit_with(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction that also appends audit entries (through :meth:`append_in`), so a
        change and its audit line are committed together or not at all. Appends are serialised in this
        process; a race with another process for the next seq runs ``work`` again from the start, so
        ``work`` must only write to ``conn``."""
        for attempt in range(APPEND_ATTEMPTS):
            try:
                with self._lock, self.engine.begin() as conn:
                    return work(conn)
            except (exc.IntegrityError, exc.OperationalError) as error:
                if not _audit_contention(error) or attempt == APPEND_ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")

    @staticmethod
    def append_in(
        conn: Connection, user: str, action: str, subject: str = "", payload: Mapping[str, Any] | None = None
    ) -> Entry:
        """Append inside the caller's transaction; call it only from within :meth:`commit_with`."""
        payload_text = canonical_json(dict(payload or {}))
        last = conn.execute(select(_audit.c.seq, _audit.c.hash).order_by(_audit.c.seq.desc()).limit(1)).first()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        t_us = now_us()
        digest = entry_hash(prev, seq, t_us, user, action, subject, payload_text)
        entry = Entry(seq, t_us, user, action, subject, payload_text, prev, digest)
        conn.execute(insert(_audit).values(**entry.__dict__))
        return entry

    def entries(self) -> list[Entry]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(_audit).order_by(_audit.c.seq)).all()
        return [Entry(**row._mapping) for row in rows]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_audit)).scalar_one())

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest entry: keep it elsewhere to detect later truncation."""
        with self.engine.connect() as conn:
            last = conn.execute(
                select(_audit.c.seq, _audit.c.hash).order_by(_audit.c.seq.desc()).limit(1)
            ).first()
        return (int(last[0]), str(last[1])) if last else (0, GENESIS)

    def verify(self, anchor: tuple[int, str] | None = None) -> VerifyReport:
        entries = self.entries()
        return VerifyReport(len(entries), tuple(find_problems(entries, anchor)))


def find_problems(entries: list[Entry], anchor: tuple[int, str] | None = None) -> list[Problem]:
    """Every entry where the chain is broken, with what is wrong there, in seq order."""
    found: dict[int, list[str]] = {}
    by_hash = {e.hash: i for i, e in enumerate(entries)}
    skipped: set[int] = set()  # indexes the chain jumps over
    for i, entry in enumerate(entries):
        notes = found.setdefault(i, [])
        prev = entries[i - 1] if i else None
        if entry.computed_hash() != entry.hash:
            notes.append(_content_problem(entry))
        expected_seq = prev.seq + 1 if prev else 1
        if entry.seq > expected_seq:
            missing = (
                f"entry {expected_seq}"
                if entry.seq == expected_seq + 1
                else f"entries {expected_seq}-{entry.seq - 1}"
            )
            notes.append(f"{missing} missing before it (deleted)")
        expected_prev = prev.hash if prev else GENESIS
        if entry.prev_hash != expected_prev:
            notes.append(_link_problem(entry, prev, entries, by_hash, skipped, i))
    for i in skipped:
        if not found[i]:
            found[i].append("inserted: the entry after it was written right after an earlier entry")
    problems = [
        Problem(entries[i].seq, entries[i].action, "; ".join(n)) for i, n in sorted(found.items()) if n
    ]
    problems.extend(_anchor_problem(entries, anchor))
    return problems


def _content_problem(entry: Entry) -> str:
    for seq in range(max(1, entry.seq - _RENUMBER_WINDOW), entry.seq + _RENUMBER_WINDOW + 1):
        if seq != entry.seq and entry.computed_hash(seq) == entry.hash:
            return f"moved: it was written as entry {seq}"
    return "edited: its contents no longer match its hash"


def _link_problem(
    entry: Entry, prev: Entry | None, entries: list[Entry], by_hash: dict[str, int], skipped: set[int], i: int
) -> str:
    after = "the start of the trail" if prev is None else f"entry {prev.seq}"
    if entry.prev_hash == GENESIS:
        return f"claims to be the first entry but follows {after}"
    j = by_hash.get(entry.prev_hash)
    if j is None:
        return f"does not follow {after}: the entry it was written after is gone or was changed"
    if j > i:
        return f"out of order: it was written after entry {entries[j].seq}, which now comes later"
    skipped.update(range(j + 1, i))
    return f"does not follow {after}: it was written right after entry {entries[j].seq}"


def _anchor_problem(entries: list[Entry], anchor: tuple[int, str] | None) -> list[Problem]:
    if anchor is None or anchor[0] == 0:
        return []
    seq, digest = anchor
    match = [e for e in entries if e.seq == seq]
    if not match:
        return [Problem(seq, "?", "missing: the trail was cut short before this known entry (deleted)")]
    if match[0].hash != digest:
        return [Problem(seq, match[0].action, "differs from the hash recorded for it elsewhere (replaced)")]
    return []
