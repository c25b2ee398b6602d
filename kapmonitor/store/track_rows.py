"""A session's recorded tracks read back as stored: its packed blocks and its staged rows together.

Every reader of readings and waveforms goes through here (the review and exports via ``SessionRepository``, the
clinical panels' "what is new", the central station, crash recovery), so a track reads the same whether its rows
are still staged, already packed, or (a database written before blocks existed) only rows. Rows come back in
time order, ties in the order they were recorded (their row id), exactly as they were written.

Read on a :func:`snapshot` connection: the staged rows and the blocks are two queries, and a recorder packing in
between would otherwise make a reader see a reading twice (staged, then in its new block) or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, Select, Table, func, select, union

from kapmonitor.core.clock import US_PER_S
from kapmonitor.store import block_codec
from kapmonitor.store.tables import Device, LinkEventRow, NumericBlock, NumericReading, WaveBlock, WaveChunkRow

_numeric, _wave, _link = NumericReading.__table__, WaveChunkRow.__table__, LinkEventRow.__table__
_numeric_block, _wave_block = NumericBlock.__table__, WaveBlock.__table__
_device = Device.__table__


@dataclass(frozen=True, eq=False)
class NumericRows:
    """One track's readings in time order: ``values`` NaN where the device sent no value."""

    t_us: np.ndarray  # int64
    values: np.ndarray  # float64
    flags: tuple[str, ...]  # sorted, comma-separated, "" when none


@dataclass(frozen=True, eq=False)
class WaveRows:
    """One waveform track's rows in time order, each ``samples`` still in its ``wave_codec`` form."""

    t_us: np.ndarray  # int64, each row's first sample
    rate_hz: np.ndarray  # float64
    n_samples: np.ndarray  # int64
    samples: block_codec.Blobs
    flags: tuple[str, ...]


@dataclass(frozen=True)
class StoredReading:
    row: int  # the id it was staged with (kept in its block)
    session_id: int
    device: str
    metric: str
    t_us: int
    value: float | None
    flags: str
    t_device_us: int | None = None


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose queries all see the database as of one moment (one read transaction: SQLite's
    snapshot from the first read on, PostgreSQL's REPEATABLE READ), ended when the block ends."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # the sqlite3 module begins no transaction for reads by itself
            try:
                yield conn
            finally:
                conn.rollback()
            return
        with conn.execution_options(isolation_level="REPEATABLE READ").begin():
            yield conn


def _raw(conn: Connection, query: Select[Any]) -> Sequence[Any]:
    """The query's rows as the driver returns them, without SQLAlchemy's per-row processing (the columns read
    here need none, and it was a third of a 4-hour session's load time)."""
    return conn.execute(query).cursor.fetchall()


def _track_filter(table: Table, session_id: int, device_id: int, metric: str) -> Any:
    return (table.c.session_id == session_id) & (table.c.device_id == device_id) & (table.c.metric == metric)


def _payloads(conn: Connection, table: Table, session_id: int, device_id: int, metric: str) -> list[bytes]:
    query = select(table.c.payload).where(_track_filter(table, session_id, device_id, metric)).order_by(
        table.c.first_row
    )
    return [bytes(p) for (p,) in _raw(conn, query)]


def tracks(conn: Connection, session_id: int, kind: str) -> list[tuple[int, str, str]]:
    """(device row id, device, metric) of every ``numeric`` or ``wave`` track of the session, by device and
    metric, staged or packed."""
    staging, blocks = (_numeric, _numeric_block) if kind == "numeric" else (_wave, _wave_block)
    both = union(
        select(staging.c.device_id, staging.c.metric).where(staging.c.session_id == session_id).distinct(),
        select(blocks.c.device_id, blocks.c.metric).where(blocks.c.session_id == session_id).distinct(),
    ).subquery()
    rows = conn.execute(
        select(both.c.device_id, _device.c.device, both.c.metric)
        .join(_device, _device.c.id == both.c.device_id)
        .order_by(_device.c.device, both.c.metric)
    )
    return [(int(i), d, m) for i, d, m in rows]


def numeric_tracks(conn: Connection, session_id: int) -> Iterator[tuple[str, str, NumericRows]]:
    """Per (device, metric) of the session, its readings (blocks and staged rows merged), by device and metric.

    The staged rows are read in one query for the whole session (by its (session, time) index; few in a session
    that packs, every reading in one recorded before blocks existed), the blocks in another."""
    staged: dict[tuple[int, str], list[Any]] = {}
    for row in _raw(
        conn,
        select(_numeric.c.device_id, _numeric.c.metric, _numeric.c.t_us, _numeric.c.id, _numeric.c.value,
               _numeric.c.flags)
        .where(_numeric.c.session_id == session_id)
        .order_by(_numeric.c.t_us, _numeric.c.id),
    ):
        staged.setdefault((row[0], row[1]), []).append(row)
    payloads: dict[tuple[int, str], list[bytes]] = {}
    for device_id, metric, payload in _raw(
        conn,
        select(_numeric_block.c.device_id, _numeric_block.c.metric, _numeric_block.c.payload)
        .where(_numeric_block.c.session_id == session_id)
        .order_by(_numeric_block.c.first_row),
    ):
        payloads.setdefault((device_id, metric), []).append(bytes(payload))
    for device_id, device, metric in tracks(conn, session_id, "numeric"):
        yield device, metric, _numeric_rows(staged.get((device_id, metric), []), payloads.get((device_id, metric), []))


def _numeric_rows(staged: Sequence[Any], payloads: Sequence[bytes]) -> NumericRows:
    """One track's readings from its staged rows ``(device_id, metric, t_us, id, value, flags)`` in time order
    and its blocks' payloads in row order."""
    t = np.array([r[2] for r in staged], dtype=np.int64)
    values = np.array([r[4] for r in staged], dtype=np.float64)  # a NULL becomes NaN
    flags = tuple([r[5] or "" for r in staged])
    if not payloads:  # every row staged (or a database from before blocks): already in order
        return NumericRows(t, values, flags)
    packed = block_codec.decode_many(block_codec.NUMERIC_SCHEMA, payloads)
    ids = np.concatenate([packed.values["id"], np.array([r[3] for r in staged], dtype=np.int64)])
    t = np.concatenate([packed.values["t_us"], t])
    values = np.concatenate([packed.values["value"], values])  # NaN where a block has no value
    joined_flags = packed.values["flags"] + flags
    order = _time_order(t, ids)
    if order is None:
        return NumericRows(t, values, joined_flags)
    return NumericRows(t[order], values[order], tuple(joined_flags[i] for i in order.tolist()))


def _time_order(t: np.ndarray, ids: np.ndarray) -> np.ndarray | None:
    """The order that puts rows in time order, ties by row id; None when they already are (the usual case:
    blocks in time order, then the newer staged rows)."""
    steps, id_steps = np.diff(t), np.diff(ids)
    if bool(np.all((steps > 0) | ((steps == 0) & (id_steps > 0)))):
        return None
    return np.lexsort((ids, t))


def wave_rows(conn: Connection, session_id: int, device_id: int, metric: str) -> WaveRows:
    """One waveform track's rows, blocks and staged rows merged."""
    staged = _raw(
        conn,
        select(_wave.c.t_us, _wave.c.id, _wave.c.rate_hz, _wave.c.n_samples, _wave.c.samples, _wave.c.flags)
        .where(_track_filter(_wave, session_id, device_id, metric))
        .order_by(_wave.c.t_us, _wave.c.id),
    )
    payloads = _payloads(conn, _wave_block, session_id, device_id, metric)
    packed = block_codec.decode_many(block_codec.WAVE_SCHEMA, payloads)
    t = np.concatenate([packed.values["t_us"], np.array([r[0] for r in staged], dtype=np.int64)])
    ids = np.concatenate([packed.values["id"], np.array([r[1] for r in staged], dtype=np.int64)])
    rates = np.concatenate([packed.values["rate_hz"], np.array([r[2] for r in staged], dtype=np.float64)])
    counts = np.concatenate([packed.values["n_samples"], np.array([r[3] for r in staged], dtype=np.int64)])
    samples = block_codec.Blobs.joined([packed.values["samples"], block_codec.Blobs.of([bytes(r[4]) for r in staged])])
    flags = packed.values["flags"] + tuple(r[5] or "" for r in staged)
    order = _time_order(t, ids) if payloads else None  # staged rows alone come in time order
    if order is None:
        return WaveRows(t, rates, counts, samples, flags)
    picks = order.tolist()
    return WaveRows(t[order], rates[order], counts[order], samples.reordered(order), tuple(flags[i] for i in picks))


def readings_after(
    conn: Connection, session_ids: Iterable[int], metrics: Iterable[str] | None, after_row: int
) -> list[StoredReading]:
    """The readings of these sessions (of ``metrics``; None: all) recorded after row ``after_row``, staged or
    packed, in row order: what a reader following a running session asks for every few seconds."""
    sessions, wanted = list(session_ids), None if metrics is None else list(metrics)
    staged_query = select(
        _numeric.c.id, _numeric.c.session_id, _numeric.c.device_id, _numeric.c.metric, _numeric.c.t_us,
        _numeric.c.value, _numeric.c.flags, _numeric.c.t_device_us,
    ).where(_numeric.c.id > after_row, _numeric.c.session_id.in_(sessions))
    block_query = select(
        _numeric_block.c.session_id, _numeric_block.c.device_id, _numeric_block.c.metric, _numeric_block.c.payload
    ).where(_numeric_block.c.last_row > after_row, _numeric_block.c.session_id.in_(sessions))
    if wanted is not None:
        staged_query = staged_query.where(_numeric.c.metric.in_(wanted))
        block_query = block_query.where(_numeric_block.c.metric.in_(wanted))
    found: list[tuple[Any, ...]] = [tuple(r) for r in _raw(conn, staged_query)]
    for sid, device_id, metric, payload in _raw(conn, block_query):
        packed = block_codec.decode(block_codec.NUMERIC_SCHEMA, bytes(payload))
        for row, t, value, flags, t_device in zip(
            packed.values["id"].tolist(), packed.values["t_us"].tolist(), packed.column("value"),
            packed.values["flags"], packed.column("t_device_us"), strict=True,
        ):
            if row > after_row:
                found.append((row, sid, device_id, metric, t, value, flags, t_device))
    if not found:
        return []
    names = dict(conn.execute(select(_device.c.id, _device.c.device).where(_device.c.session_id.in_(sessions))).all())
    found.sort(key=lambda r: r[0])
    return [
        StoredReading(int(i), s, names.get(d, ""), m, int(t), v, f or "", td) for i, s, d, m, t, v, f, td in found
    ]


def last_data_us(conn: Connection, session_id: int) -> int | None:
    """The time of the newest thing recorded for the session (a reading, a waveform row, a link event)."""
    queries = [
        select(func.max(_numeric.c.t_us)).where(_numeric.c.session_id == session_id),
        select(func.max(_numeric_block.c.last_us)).where(_numeric_block.c.session_id == session_id),
        select(func.max(_wave.c.t_us)).where(_wave.c.session_id == session_id),
        select(func.max(_wave_block.c.last_us)).where(_wave_block.c.session_id == session_id),
        select(func.max(_link.c.t_us)).where(_link.c.session_id == session_id),
    ]
    found = [t for t in (conn.execute(q).scalar() for q in queries) if t is not None]
    return int(max(found)) if found else None


@dataclass
class TrackSummary:
    samples: int
    first_us: int
    last_us: int

    def merge(self, samples: int, first_us: int, last_us: int) -> None:
        self.samples += samples
        self.first_us, self.last_us = min(self.first_us, first_us), max(self.last_us, last_us)


def track_summaries(conn: Connection, only: int | None) -> dict[tuple[int, str, str, str], TrackSummary]:
    """Per (session, kind, device, metric): how many readings or samples, and the times of the first and last
    one, from SQL aggregates over the staged rows and the blocks (no samples are read)."""
    found: dict[tuple[int, str, str, str], TrackSummary] = {}

    def add(kind: str, rows: Iterable[Any]) -> None:
        for sid, device, metric, n, first, last in rows:
            key = (int(sid), kind, device, metric)
            if key in found:
                found[key].merge(int(n), int(first), int(last))
            else:
                found[key] = TrackSummary(int(n), int(first), int(last))

    def grouped(table: Table, *aggregates: Any) -> Select[Any]:
        query = (
            select(table.c.session_id, _device.c.device, table.c.metric, *aggregates)
            .join(_device, _device.c.id == table.c.device_id)
            .group_by(table.c.session_id, _device.c.device, table.c.metric)
        )
        return query if only is None else query.where(table.c.session_id == only)

    add("numeric", conn.execute(grouped(_numeric, func.count(), func.min(_numeric.c.t_us), func.max(_numeric.c.t_us))))
    b = _numeric_block
    add("numeric", conn.execute(grouped(b, func.sum(b.c.n_rows), func.min(b.c.first_us), func.max(b.c.last_us))))
    w = _wave_block
    add("wave", conn.execute(grouped(w, func.sum(w.c.n_samples), func.min(w.c.first_us), func.max(w.c.end_us))))
    add("wave", _staged_wave_summaries(conn, only))
    return found


def _staged_wave_summaries(conn: Connection, only: int | None) -> list[tuple[int, str, str, int, int, int]]:
    """(session, device, metric, samples, first, last sample) of the staged waveform rows, per track: a row's
    last sample falls at t + (n - 1) / rate, and the row that starts last holds the track's last sample."""
    per_track = select(
        _wave.c.session_id,
        _wave.c.device_id,
        _wave.c.metric,
        func.sum(_wave.c.n_samples).label("n"),
        func.min(_wave.c.t_us).label("first"),
        func.max(_wave.c.t_us).label("last_row"),
    ).group_by(_wave.c.session_id, _wave.c.device_id, _wave.c.metric)
    if only is not None:
        per_track = per_track.where(_wave.c.session_id == only)
    agg = per_track.subquery()
    last_row = _wave.alias("last_row")
    query = (
        select(
            agg.c.session_id, _device.c.device, agg.c.metric, agg.c.n, agg.c.first,
            last_row.c.t_us, last_row.c.n_samples, last_row.c.rate_hz,
        )
        .join(_device, _device.c.id == agg.c.device_id)
        .join(
            last_row,
            (last_row.c.session_id == agg.c.session_id)
            & (last_row.c.device_id == agg.c.device_id)
            & (last_row.c.metric == agg.c.metric)
            & (last_row.c.t_us == agg.c.last_row),
        )
    )
    found: dict[tuple[int, str, str], tuple[int, str, str, int, int, int]] = {}
    for sid, device, metric, n, first, t_us, n_last, rate in conn.execute(query):
        last = t_us + round((n_last - 1) * US_PER_S / rate)
        key = (sid, device, metric)
        if key not in found or last > found[key][5]:  # two rows starting at the same microsecond
            found[key] = (sid, device, metric, int(n), int(first), int(last))
    return list(found.values())
