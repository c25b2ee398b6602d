"""The audit trail: an append-only, hash-chained record of who did what, and when.

Each entry's ``hash`` is HMAC-SHA256(installation key, prev_hash + canonical JSON of the entry), and
``prev_hash`` is the previous entry's hash (64 zeros for the first). Editing, deleting, inserting or reordering
an entry therefore breaks the chain at that entry, and :meth:`AuditTrail.verify` names where. The key lives
outside the database (``store/audit_key.py``), so someone holding only the database file cannot recompute the
hashes after an edit. The SQLite triggers from migration 0004 refuse UPDATE and DELETE, but they are only a guard
against accidents: the keyed chain is the proof. Entries written before the trail was keyed hash with plain
sha256; verify names them as unsealed.

Deleting the newest entries leaves a shorter chain that is still whole. Two things catch that: this
installation remembers the newest entry it wrote to each database (``store/audit_witness.py``), and every
signed report and export prints :meth:`head`, which ``audit verify --anchor SEQ:HASH`` checks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, exc, func, insert, select

from kapmonitor.core.clock import now_us
from kapmonitor.store.audit_key import audit_key, key_location
from kapmonitor.store.audit_witness import remember_head, remembered_head
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
    prev_hash: str,
    seq: int,
    t_us: int,
    user: str,
    action: str,
    subject: str,
    payload: str,
    key: bytes | None = None,
) -> str:
    """The entry's hash: keyed (HMAC-SHA256) with ``key``, plain sha256 without (entries from before keying)."""
    row = canonical_json(
        {"seq": seq, "t_us": t_us, "user": user, "action": action, "subject": subject, "payload": payload}
    )
    message = (prev_hash + row).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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

    def computed_hash(self, key: bytes | None, seq: int | None = None) -> str:
        return entry_hash(
            self.prev_hash,
            self.seq if seq is None else seq,
            self.t_us,
            self.user,
            self.action,
            self.subject,
            self.payload,
            key,
        )


@dataclass(frozen=True)
class Problem:
    seq: int
    action: str
    what: str

    def __str__(self) -> str:
        return f"audit_entry {self.seq} ({self.action}): {self.what}"


@dataclass(frozen=True)
class VerifyReport:
    entries: int
    problems: tuple[Problem, ...] = field(default=())

    @property
    def intact(self) -> bool:
        return not self.problems

    def broken_seqs(self) -> list[int]:
        return sorted({p.seq for p in self.problems})


HEAD_MIN_DIGITS = 16  # a head printed with its hash cut keeps at least this many hex digits (64 bits)


def parse_head(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` as a report prints it (the hash may be cut to its first 16 or more hex digits)."""
    seq_text, colon, digest = text.strip().partition(":")
    digest = digest.strip().lower().rstrip(".…")
    if not colon or not seq_text.isdigit() or len(digest) < HEAD_MIN_DIGITS or len(digest) > 64:
        raise ValueError(f"{text!r} is not an audit head: expected SEQ:HASH, e.g. 57:3f9a0c... (16-64 hex digits)")
    if any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"{text!r} is not an audit head: the hash must be hex digits")
    return int(seq_text), digest


def head_text(head: tuple[int, str]) -> str:
    return f"{head[0]}:{head[1]}"


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
        audit_key(create=True)  # before the transaction: a key that cannot be made fails here, nothing written
        for attempt in range(APPEND_ATTEMPTS):
            try:
                with self._lock:
                    with self.engine.begin() as conn:
                        done = work(conn)
                    remember_head(self.engine, self.head())
                    return done
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
        digest = entry_hash(prev, seq, t_us, user, action, subject, payload_text, audit_key(create=True))
        entry = Entry(seq, t_us, user, action, subject, payload_text, prev, digest)
        conn.execute(insert(_audit).values(**entry.__dict__))
        return entry

    def entries(self) -> list[Entry]:
        with self.engine.connect() as conn:
            return self.entries_in(conn)

    @staticmethod
    def entries_in(conn: Connection) -> list[Entry]:
        """Every entry in seq order, read on the caller's connection (inside its transaction)."""
        return [Entry(**row._mapping) for row in conn.execute(select(_audit).order_by(_audit.c.seq)).all()]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_audit)).scalar_one())

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest entry: printed on reports and exports to detect later truncation."""
        with self.engine.connect() as conn:
            last = conn.execute(
                select(_audit.c.seq, _audit.c.hash).order_by(_audit.c.seq.desc()).limit(1)
            ).first()
        return (int(last[0]), str(last[1])) if last else (0, GENESIS)

    def verify(self, anchor: tuple[int, str] | None = None) -> VerifyReport:
        """The chain checked with this installation's key, against ``anchor`` and the newest entry this
        installation remembers writing. Reads only: never creates a key."""
        entries = self.entries()
        key = audit_key(create=False)
        if key is None and any(e.computed_hash(None) != e.hash for e in entries):
            where = key_location()
            return VerifyReport(
                len(entries),
                (Problem(entries[0].seq, entries[0].action, f"cannot be checked: no audit key in {where}; "
                         "verify on a workstation that holds the key that sealed this trail"),),
            )
        problems = find_problems(entries, anchor, key)
        remembered = remembered_head(self.engine)
        if remembered is not None:
            problems.extend(_anchor_problem(entries, remembered, witness=True))
        return VerifyReport(len(entries), tuple(problems))


def find_problems(
    entries: list[Entry], anchor: tuple[int, str] | None = None, key: bytes | None = None
) -> list[Problem]:
    """Every entry where the chain is broken, with what is wrong there, in seq order."""
    found: dict[int, list[str]] = {}
    by_hash = {e.hash: i for i, e in enumerate(entries)}
    skipped: set[int] = set()  # indexes the chain jumps over
    unsealed: list[int] = []
    for i, entry in enumerate(entries):
        notes = found.setdefault(i, [])
        prev = entries[i - 1] if i else None
        if entry.computed_hash(key) != entry.hash:
            if key is not None and entry.computed_hash(None) == entry.hash:
                unsealed.append(i)
            else:
                notes.append(_content_problem(entry, key))
        expected_seq = prev.seq + 1 if prev else 1
        if entry.seq > expected_seq:
            missing = (
                f"audit_entry {expected_seq}"
                if entry.seq == expected_seq + 1
                else f"audit_entries {expected_seq}-{entry.seq - 1}"
            )
            notes.append(f"{missing} missing before it (deleted)")
        expected_prev = prev.hash if prev else GENESIS
        if entry.prev_hash != expected_prev:
            notes.append(_link_problem(entry, prev, entries, by_hash, skipped, i))
    for i in skipped:
        if not found[i]:
            found[i].append("inserted: the entry after it was written right after an earlier entry")
    for run in _runs(unsealed):
        first, last = entries[run[0]], entries[run[-1]]
        span = "this entry" if first is last else f"audit_entries {first.seq}-{last.seq}"
        found[run[0]].insert(
            0,
            f"not sealed with this installation's key ({span}): written before the trail was keyed, or "
            "forged or rewritten by someone without the key",
        )
    problems = [
        Problem(entries[i].seq, entries[i].action, "; ".join(n)) for i, n in sorted(found.items()) if n
    ]
    if anchor is not None:
        problems.extend(_anchor_problem(entries, anchor))
    return problems


def _runs(indexes: list[int]) -> list[list[int]]:
    runs: list[list[int]] = []
    for i in indexes:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _content_problem(entry: Entry, key: bytes | None) -> str:
    for seq in range(max(1, entry.seq - _RENUMBER_WINDOW), entry.seq + _RENUMBER_WINDOW + 1):
        if seq != entry.seq and entry.computed_hash(key, seq) == entry.hash:
            return f"moved: it was written as audit_entry {seq}"
    return "edited or forged: its contents no longer match its keyed hash"


def _link_problem(
    entry: Entry, prev: Entry | None, entries: list[Entry], by_hash: dict[str, int], skipped: set[int], i: int
) -> str:
    after = "the start of the trail" if prev is None else f"audit_entry {prev.seq}"
    if entry.prev_hash == GENESIS:
        return f"claims to be the first entry but follows {after}"
    j = by_hash.get(entry.prev_hash)
    if j is None:
        return f"does not follow {after}: the entry it was written after is gone or was changed"
    if j > i:
        return f"out of order: it was written after audit_entry {entries[j].seq}, which now comes later"
    skipped.update(range(j + 1, i))
    return f"does not follow {after}: it was written right after audit_entry {entries[j].seq}"


def _anchor_problem(entries: list[Entry], anchor: tuple[int, str], *, witness: bool = False) -> list[Problem]:
    seq, digest = anchor
    if seq == 0:
        return []
    source = "this installation wrote it" if witness else "the anchor given names it"
    other = "the one this installation wrote" if witness else "the anchor given"
    match = [e for e in entries if e.seq == seq]
    if not match:
        cause = "entries were deleted, or the database was replaced by an older copy"
        return [Problem(seq, "?", f"missing: {source}, but the trail now ends before it ({cause})")]
    if not match[0].hash.startswith(digest.lower()):
        return [Problem(seq, match[0].action, f"replaced: its hash differs from {other}")]
    return []
