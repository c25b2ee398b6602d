"""The recorder: a hub sink whose writer thread puts a session's readings on disk in batches.

``write`` only queues (it runs on the hub thread). The thread "kapmonitor-recorder" turns the queue into rows
and writes them in bulk (PostgreSQL: COPY for numerics and link events, multi-row INSERT ... RETURNING for
waveform rows; SQLite: Core ``insert()`` executemany), committing every ``commit_interval_s`` (0.2 s; DESIGN.md
asks for at least every 0.5 s) so a killed process loses at most the last fraction of a second. When the
database refuses a write (disk full, locked by another program) the rows stay in memory up to a bound,
``failure`` says what is wrong in plain words, and the writer retries with back-off until it works again.
Each change between failing and working is also published (``publish``, the station's hub) as a LinkEvent
"recording_failed" / "recording_resumed" from ``RECORDER_DEVICE``: the alarm engine raises and clears its
technical alarm on them, and the events are recorded with the session, so the gap is on file.

The rows it writes are the staging area (``packing``): each time a session's rows written since the last pack
span ``pack_span_us`` of data time (five minutes), the writer thread packs the session's tracks that have
``pack_rows`` rows staged (or have been staged for half an hour) into blocks in one transaction; when the
session ends and when the recorder stops, it packs everything (the newest waveform row of a running session,
which later chunks may still extend, stays staged). On PostgreSQL it then vacuums the staging tables. A pack
that fails leaves every row staged, where it is read as it was, and is tried again ``PACK_RETRY_S`` later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, exc, insert, select, update

from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import Item, LinkEvent, LinkEventKind, Reading, WaveChunk
from kapmonitor.store.audit import AuditTrail
from kapmonitor.store.db import inserted_id
from kapmonitor.store.header_proof import vouch_in
from kapmonitor.store.packing import PACK_ROWS, PACK_SPAN_US, Packed, pack_session, reclaim_staging
from kapmonitor.store.pending import Pending, WaveRow
from kapmonitor.store.tables import Device, LinkEventRow, NumericReading, WaveChunkRow

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.25
RETRY_MAX_S = 5.0
PACK_RETRY_S = 30.0
RECORDER_DEVICE = "kapmonitor@recorder"  # the device name the recorder's own link events carry
_STORED = (Reading, WaveChunk, LinkEvent)  # decode errors live in the link counters, not in the recording


def _plain(error: Exception) -> str:
    cause = error.orig if isinstance(error, exc.DBAPIError) and error.orig is not None else error
    first_line = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return f"cannot write to the database ({first_line}); keeping the recording in memory and retrying"


def bulk_insert(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in one go: PostgreSQL's COPY, else one executemany (SQLite
    runs it in-process, with no round trip per row to save)."""
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    columns = list(rows[0])
    driver = conn.connection.driver_connection  # the psycopg connection, inside this transaction
    with driver.cursor() as cursor:  # type: ignore[union-attr]
        names = ", ".join(f'"{c}"' for c in columns)
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])


class Recorder:
    def __init__(
        self,
        engine: Engine,
        *,
        commit_interval_s: float = 0.2,
        max_pending_rows: int = 200_000,
        publish: Callable[[Sequence[Item]], None] | None = None,
        audit: AuditTrail | None = None,
        pack_span_us: int = PACK_SPAN_US,
        pack_rows: int = PACK_ROWS,
    ) -> None:
        self.engine = engine
        self.audit = audit or AuditTrail(engine)  # vouches for each device row it adds to a session
        self.publish = publish
        self.commit_interval_s = commit_interval_s
        self.pack_span_us, self.pack_rows = pack_span_us, pack_rows
        self.packed = Packed()  # what this recorder has moved into blocks so far
        self._staged: dict[int, tuple[int, int]] = {}  # session -> (first, last t_us) of rows staged since a pack
        self._pack_after = 0.0  # monotonic time before which no pack is tried (after one failed)
        self.failure: str | None = None
        self._pending = Pending(max_rows=max_pending_rows)
        self._cond = threading.Condition()
        self._incoming: list[tuple[int, list[Item]]] = []
        self._session_id: int | None = None
        self._known: dict[str, tuple[str, str]] = {}  # device -> (protocol, address) from register_device
        self._device_ids: dict[tuple[int, str], int] = {}  # (session, device) -> device row id, committed
        self._to_register: set[tuple[int, str]] = set()
        self._queued = 0  # batches accepted by write()
        self._taken = 0  # batches moved into _pending
        self._committed = 0  # batches on disk
        self._stopping = False
        self._wake = False
        self._thread = threading.Thread(target=self._run, name="kapmonitor-recorder", daemon=True)
        self._thread.start()

    @property
    def dropped_rows(self) -> int:
        return self._pending.dropped

    # -- called from other threads ---------------------------------------------------------------------------

    def write(self, batch: Sequence[Item]) -> None:
        """Hub sink: queue what belongs to the running session; items outside a session are not stored."""
        with self._cond:
            if self._session_id is None or self._stopping:
                return
            items: list[Item] = [i for i in batch if isinstance(i, _STORED)]
            if items:
                self._incoming.append((self._session_id, items))
                self._queued += 1

    def begin(self, session_id: int) -> None:
        with self._cond:
            self._session_id = session_id
            self._to_register |= {(session_id, d) for d in self._known}
            self._queued += 1  # so flush() waits for the device rows too
            self._incoming.append((session_id, []))

    def end(self) -> None:
        with self._cond:
            self._session_id = None

    def register_device(self, device: str, protocol: str, address: str) -> None:
        with self._cond:
            self._known[device] = (protocol, address)
            if self._session_id is not None:
                self._to_register.add((self._session_id, device))

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything written so far is committed; False if ``timeout`` passed first."""
        with self._cond:
            target = self._queued
            if self._stopping:  # nothing will be written any more
                return self._committed >= target
            self._wake = True
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._committed >= target, timeout=timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued (waiting at most ``timeout`` for a failing database), then end the thread."""
        if not self._thread.is_alive():
            return
        flushed = self.flush(timeout=timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join()
        if not flushed:
            log.error("recorder stopped with %d rows not written: %s", self._pending.size(), self.failure)

    # -- the writer thread -----------------------------------------------------------------------------------

    def _run(self) -> None:
        retry_s = RETRY_FIRST_S
        next_write = time.monotonic() + self.commit_interval_s
        while True:
            with self._cond:
                wait_s = max(0.0, next_write - time.monotonic())
                self._cond.wait_for(lambda: self._stopping or self._wake, timeout=wait_s)
                stopping, self._wake = self._stopping, False
                incoming, self._incoming = self._incoming, []
                taken, session_id = self._taken + len(incoming), self._session_id
                registering = set(self._to_register)
            self._taken = taken
            for sid, items in incoming:
                self._pending.add(sid, items)
            if self._write(registering):
                retry_s = RETRY_FIRST_S
                self._pending.forget_sessions_except(session_id)
                next_write = time.monotonic() + self.commit_interval_s
                with self._cond:
                    self._to_register -= registering
                    self._committed = taken
                    self._cond.notify_all()
                if session_id is not None:
                    self._staged.setdefault(session_id, (2**63 - 1, -(2**63)))  # a resumed session's rows too
                self._pack_due(session_id, everything=stopping)
            else:
                next_write = time.monotonic() + retry_s
                retry_s = min(RETRY_MAX_S, retry_s * 2)
            if stopping:
                return

    def _write(self, registering: set[tuple[int, str]]) -> bool:
        pending = self._pending
        if not pending.size() and not registering:
            return True
        try:
            new_device_ids = self._register_devices(
                sorted(k for k in registering | pending.devices() if k not in self._device_ids)
            )
            with self.engine.begin() as conn:
                ids = {**self._device_ids, **new_device_ids}
                new_wave_ids = self._insert_rows(conn, ids)
        except Exception as error:  # any failure: keep the rows, say so, retry
            message = _plain(error)
            if pending.dropped:
                message += f"; {pending.dropped} oldest rows dropped to bound memory"
            if message != self.failure:
                log.error("%s", message)
            if self.failure is None:
                self._announce(LinkEventKind.RECORDING_FAILED, message)
            self.failure = message
            return False
        self._device_ids.update(new_device_ids)
        self._note_staged()
        pending.written(new_wave_ids)
        if self.failure is not None:
            log.warning("database writes work again")
            self.failure = None
            self._announce(LinkEventKind.RECORDING_RESUMED, "")
        return True

    def _note_staged(self) -> None:
        """Widen each session's span of staged data time by the rows just committed."""
        times: dict[int, list[int]] = {}
        for sid, _, row in self._pending.numerics:
            times.setdefault(sid, []).append(row["t_us"])  # type: ignore[arg-type]
        for wave in self._pending.waves:
            times.setdefault(wave.session_id, []).append(wave.t_us)
        for sid, ts in times.items():
            low, high = self._staged.get(sid, (2**63 - 1, -(2**63)))
            self._staged[sid] = (min(low, *ts), max(high, *ts))

    def _pack_due(self, current: int | None, *, everything: bool) -> None:
        """Pack the sessions whose staged rows are due: a finished session's, a span's worth, or (stopping) all."""
        due = [
            sid
            for sid, (low, high) in self._staged.items()
            if everything or sid != current or high - low >= self.pack_span_us
        ]
        if not due or (time.monotonic() < self._pack_after and not everything):
            return
        for sid in due:
            whole = everything or sid != current
            still_open = set() if whole else {
                r.row_id for k, r in self._pending.open_rows.items() if k[0] == sid and r.row_id is not None
            }
            try:
                with self.engine.begin() as conn:
                    packed = pack_session(
                        conn, sid, keep_wave_rows=still_open, whole=whole, min_rows=self.pack_rows
                    )
            except Exception as error:  # the rows stay staged and readable; try again later
                log.warning("session %s: staged rows not packed yet, retrying in %g s: %s", sid, PACK_RETRY_S, error)
                self._pack_after = time.monotonic() + PACK_RETRY_S
                return
            self.packed += packed
            del self._staged[sid]
        try:
            reclaim_staging(self.engine)
        except Exception as error:  # only space: the next pack vacuums again
            log.warning("could not vacuum the staging tables: %s", error)

    def _announce(self, kind: LinkEventKind, detail: str) -> None:
        if self.publish is not None:
            self.publish([LinkEvent(kind, detail, now_us(), RECORDER_DEVICE)])

    def _register_devices(self, keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """The device rows of (session, device) pairs, added where missing, each with the audit entry that
        vouches for it (a device's name, protocol and address go into every export)."""
        if not keys:
            return {}
        return self.audit.commit_with(lambda conn: {key: self._device_row(conn, *key) for key in keys})

    def _device_row(self, conn: Connection, session_id: int, device: str) -> int:
        table = Device.__table__
        found = conn.execute(
            select(table.c.id).where(table.c.session_id == session_id, table.c.device == device)
        ).scalar()
        if found is not None:
            return int(found)
        protocol, address = self._known.get(device) or (device.partition("@")[0], device.partition("@")[2])
        result = conn.execute(
            insert(table).values(session_id=session_id, device=device, protocol=protocol, address=address)
        )
        row_id = inserted_id(result)
        vouch_in(conn, "", "device.add", table, row_id, subject=f"session {session_id} device {device}")
        return row_id

    def _insert_rows(self, conn: Connection, ids: dict[tuple[int, str], int]) -> list[tuple[WaveRow, int]]:
        pending = self._pending
        if pending.numerics:
            bulk_insert(
                conn,
                NumericReading.__table__,
                [{"session_id": s, "device_id": ids[(s, d)], **row} for s, d, row in pending.numerics],
            )
        if pending.links:
            bulk_insert(
                conn,
                LinkEventRow.__table__,
                [{"session_id": s, "device_id": ids[(s, d)], **row} for s, d, row in pending.links],
            )
        table = WaveChunkRow.__table__
        fresh = [r for r in pending.waves if r.row_id is None]
        new_ids: list[tuple[WaveRow, int]] = []
        if fresh:
            result = conn.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True),
                [
                    {"session_id": r.session_id, "device_id": ids[(r.session_id, r.device)], **r.values()}
                    for r in fresh
                ],
            )
            new_ids = list(zip(fresh, result.scalars().all(), strict=True))
        extended = [r for r in pending.waves if r.row_id is not None and r.dirty]
        if extended:
            conn.execute(
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values(n_samples=bindparam("n"), samples=bindparam("data")),
                [{"row_id": r.row_id, "n": r.n_samples, "data": r.stored_samples()} for r in extended],
            )
        return new_ids
