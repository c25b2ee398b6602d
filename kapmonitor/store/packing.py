"""Moving a session's staged rows into blocks: what keeps a 4-hour session's record small on disk.

The recorder writes each reading into ``numeric_reading`` and each ~1 s of a waveform into ``wave_chunk`` the
moment it has them (that is what makes the record durable). A row costs the database several times its few
numbers, so :func:`pack_session` moves a track's staged rows into blocks (``block_codec``; at most
``BLOCK_SPAN_US`` of data time and ``BLOCK_ROWS`` rows each) and deletes exactly those rows, in one transaction:
either the blocks and the deletions are committed together, or neither is. The database's own triggers
(migration 0009) refuse to delete a staged row that no block holds, so a mistake here fails loudly instead of
losing readings.

While a session records, the recorder packs every ``PACK_SPAN_US`` of data (five minutes) the tracks that have
``PACK_ROWS`` rows staged or have been staged for ``BLOCK_SPAN_US``: a 1-Hz track every five minutes, a cuff's
NIBP every half hour. A block then holds a few hundred readings (a review decodes few blocks, each at a fixed
cost), and a sparse track does not become a block per reading. At the end of a session, and when a recorder
stops, everything is packed.

A waveform row the recorder may still extend (the newest of its track while the session records) stays staged.
On PostgreSQL the deleted rows' space is reclaimed by :func:`reclaim_staging` (a VACUUM of the two small staging
tables), so the staging area does not grow over a session; SQLite reuses the freed pages itself.

A pack holds its session for the length of its transaction (:func:`_hold`: PostgreSQL's advisory lock, SQLite's
write lock taken before anything is read), so two packers of one session (a recorder ending it, a station
packing what an older kapmonitor left, ``sessions recover``) never both pack the same rows: the second finds
them gone. :func:`pack_ended_sessions` packs what ended sessions still have staged (a database recorded before
blocks existed, a session whose recorder died before its last pack), one session to a transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, exc, exists, insert, or_, select

from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.store import block_codec
from kapmonitor.store.tables import NumericBlock, NumericReading, Session, SessionOwner, WaveBlock, WaveChunkRow

log = logging.getLogger(__name__)

PACK_SPAN_US = 300 * US_PER_S  # while a session records, its tracks are looked at every five minutes of data
PACK_ROWS = 256  # and packed once this many rows are staged
BLOCK_SPAN_US = 1800 * US_PER_S  # or once they span half an hour; a block holds at most half an hour
BLOCK_ROWS = 4096  # and at most this many rows

_numeric, _wave = NumericReading.__table__, WaveChunkRow.__table__
_numeric_block, _wave_block = NumericBlock.__table__, WaveBlock.__table__
_session, _owner = Session.__table__, SessionOwner.__table__

ENDED = ("ended", "signed")  # a session in these states records nothing more
SETTLE_US = 600 * US_PER_S  # a session that ended less than this long ago is left to its own recorder to pack
_LOCK_SPACE = 0x6B6170  # PostgreSQL advisory locks: (this, session id) is "packing that session"


@dataclass(frozen=True)
class Packed:
    readings: int = 0  # numeric rows moved into blocks
    wave_rows: int = 0
    blocks: int = 0

    def __add__(self, other: Packed) -> Packed:
        return Packed(self.readings + other.readings, self.wave_rows + other.wave_rows, self.blocks + other.blocks)


def pack_session(
    conn: Connection,
    session_id: int,
    *,
    keep_wave_rows: Collection[int] = (),
    whole: bool = True,
    min_rows: int = PACK_ROWS,
    span_us: int = BLOCK_SPAN_US,
) -> Packed:
    """Move the session's staged rows into blocks of at most ``span_us`` of data time each, except the waveform
    rows ``keep_wave_rows`` (rows the recorder may still extend) and any later row of their tracks. ``whole``
    False (a running session): only the tracks with ``min_rows`` rows to pack or spanning ``span_us``. Runs in
    the caller's transaction, which must not have written anything yet on SQLite (it takes the write lock)."""
    _hold(conn, session_id)
    done = Packed()
    for device_id, metric in _staged_tracks(conn, _numeric, session_id):
        rows = conn.execute(
            select(_numeric.c.id, _numeric.c.t_us, _numeric.c.t_device_us, _numeric.c.value, _numeric.c.flags)
            .where(_numeric.c.session_id == session_id, _numeric.c.device_id == device_id, _numeric.c.metric == metric)
            .order_by(_numeric.c.id)
        ).all()
        blocks = _cut([tuple(r) for r in rows], span_us) if whole or _full(rows, min_rows, span_us) else []
        _store(conn, _numeric, _numeric_block, session_id, device_id, metric, blocks, _numeric_values)
        done += Packed(readings=sum(map(len, blocks)), blocks=len(blocks))
    kept = set(keep_wave_rows)
    for device_id, metric in _staged_tracks(conn, _wave, session_id):
        chunks = conn.execute(
            select(_wave.c.id, _wave.c.t_us, _wave.c.rate_hz, _wave.c.n_samples, _wave.c.samples, _wave.c.flags)
            .where(_wave.c.session_id == session_id, _wave.c.device_id == device_id, _wave.c.metric == metric)
            .order_by(_wave.c.id)
        ).all()
        stop = next((k for k, r in enumerate(chunks) if r.id in kept), len(chunks))
        packable = chunks[:stop]
        full = whole or _full(packable, min_rows, span_us)
        blocks = _cut([tuple(r) for r in packable], span_us) if full else []
        _store(conn, _wave, _wave_block, session_id, device_id, metric, blocks, _wave_values)
        done += Packed(wave_rows=sum(map(len, blocks)), blocks=len(blocks))
    return done


def _hold(conn: Connection, session_id: int) -> None:
    """Hold the session's staged rows for this transaction, before reading them: another packer of the session
    waits until this one has committed, and then reads what is left (on PostgreSQL each statement of a READ
    COMMITTED transaction sees what was committed before it began)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_SPACE, session_id))
    elif conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock first (waiting for a writer), then the reads


@dataclass(frozen=True)
class Repacked:
    sessions: list[int]  # sessions whose staged rows were packed
    packed: Packed
    failed: dict[int, str]  # session -> why its rows stay staged, in one line


def ended_with_staged_rows(conn: Connection, *, now: int | None = None, settle_us: int = SETTLE_US) -> list[int]:
    """Sessions that ended (at least ``settle_us`` ago), have no owner, and still have staged rows, oldest first.
    A session in progress is never among them, whether its station is live or gone (``sessions recover``)."""
    cutoff = (now_us() if now is None else now) - settle_us
    query = (
        select(_session.c.id)
        .where(
            _session.c.status.in_(ENDED),
            or_(_session.c.end_us.is_(None), _session.c.end_us <= cutoff),
            ~exists().where(_owner.c.session_id == _session.c.id),
            or_(
                exists().where(_numeric.c.session_id == _session.c.id),
                exists().where(_wave.c.session_id == _session.c.id),
            ),
        )
        .order_by(_session.c.id)
    )
    return [int(sid) for sid in conn.execute(query).scalars()]


def pack_ended_sessions(
    engine: Engine, *, settle_us: int = SETTLE_US, should_stop: Callable[[], bool] = lambda: False
) -> Repacked:
    """Pack every ended session's staged rows, a session to a transaction (a failure leaves that session's rows
    staged, readable as before, says why in one line and goes on with the next); ``should_stop`` is asked
    between sessions. Safe beside recorders and other stations doing the same (:func:`_hold`)."""
    with engine.connect() as conn:
        due = ended_with_staged_rows(conn, settle_us=settle_us)
    done, packed, failed = [], Packed(), {}
    for sid in due:
        if should_stop():
            break
        try:
            with engine.begin() as conn:
                _hold(conn, sid)
                status = conn.execute(select(_session.c.status).where(_session.c.id == sid)).scalar()
                owned = conn.execute(select(_owner.c.session_id).where(_owner.c.session_id == sid)).first()
                if status not in ENDED or owned is not None:  # changed since it was listed: not ours to pack
                    continue
                result = pack_session(conn, sid)
        except Exception as error:  # any failure (server gone, disk full, a guard): the rows stay staged
            failed[sid] = first_line(error)
            log.warning("session %s: staged rows not packed, they stay readable as rows: %s", sid, failed[sid])
            continue
        if result.blocks:
            done.append(sid)
            packed += result
    if done:
        try:
            reclaim_staging(engine)
        except exc.SQLAlchemyError as error:  # only space: the next pack vacuums again
            log.warning("could not vacuum the staging tables: %s", first_line(error))
    return Repacked(done, packed, failed)


def first_line(error: Exception) -> str:
    """What went wrong in one line: the driver's own message without SQLAlchemy's statement and parameters."""
    cause = error.orig if isinstance(error, exc.DBAPIError) and error.orig is not None else error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def _staged_tracks(conn: Connection, table: Table, session_id: int) -> list[tuple[int, str]]:
    rows = conn.execute(
        select(table.c.device_id, table.c.metric).distinct().where(table.c.session_id == session_id)
    ).all()
    return sorted((int(d), str(m)) for d, m in rows)


def _full(rows: Sequence[Any], min_rows: int, span_us: int) -> bool:
    """Enough rows staged for a block, or staged long enough."""
    return len(rows) >= min_rows or (bool(rows) and max(r[1] for r in rows) - min(r[1] for r in rows) >= span_us)


def _cut(rows: Sequence[tuple[Any, ...]], span_us: int) -> list[Sequence[tuple[Any, ...]]]:
    """Rows (in id order, time second) cut into blocks of at most ``span_us`` of time and ``BLOCK_ROWS`` rows."""
    blocks: list[Sequence[tuple[Any, ...]]] = []
    first = 0
    low = high = 0
    for k, row in enumerate(rows):
        t = row[1]
        if k > first and (max(high, t) - min(low, t) > span_us or k - first >= BLOCK_ROWS):
            blocks.append(rows[first:k])
            first = k
        if k == first:
            low = high = t
        low, high = min(low, t), max(high, t)
    if first < len(rows):
        blocks.append(rows[first:])
    return blocks


def _numeric_values(rows: Sequence[tuple[Any, ...]]) -> dict[str, object]:
    return {"n_rows": len(rows), "payload": block_codec.encode(block_codec.NUMERIC_SCHEMA, rows)}


def _wave_values(rows: Sequence[tuple[Any, ...]]) -> dict[str, object]:
    last = max(rows, key=lambda r: (r[1], r[0]))  # the row that starts last holds the last sample
    end_us = last[1] + round((last[3] - 1) * US_PER_S / last[2]) if last[3] else last[1]
    return {
        "end_us": max(end_us, last[1]),
        "n_rows": len(rows),
        "n_samples": sum(r[3] for r in rows),
        "payload": block_codec.encode(block_codec.WAVE_SCHEMA, rows),
    }


def _store(
    conn: Connection,
    staging: Table,
    block_table: Table,
    session_id: int,
    device_id: int,
    metric: str,
    blocks: Sequence[Sequence[tuple[Any, ...]]],
    values: Any,
) -> None:
    """Insert the blocks, then delete exactly the staged rows each holds (the triggers check every one)."""
    if not blocks:
        return
    track = {"session_id": session_id, "device_id": device_id, "metric": metric}
    conn.execute(
        insert(block_table),
        [
            {
                **track,
                "first_row": rows[0][0],
                "last_row": rows[-1][0],
                "first_us": min(r[1] for r in rows),
                "last_us": max(r[1] for r in rows),
                **values(rows),
            }
            for rows in blocks
        ],
    )
    for rows in blocks:
        conn.execute(
            delete(staging).where(
                staging.c.session_id == session_id,
                staging.c.device_id == device_id,
                staging.c.metric == metric,
                staging.c.id.between(rows[0][0], rows[-1][0]),
            )
        )


def reclaim_staging(engine: Engine) -> None:
    """PostgreSQL: VACUUM the staging tables, so the space of rows moved into blocks is used again (the rows
    are few; VACUUM skips the pages nothing changed on). Nothing to do on SQLite, which reuses freed pages."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM {_numeric.name}, {_wave.name}")
