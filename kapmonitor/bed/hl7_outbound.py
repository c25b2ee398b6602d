"""Sending the outbox to the clinic's interface engine over MLLP, in order, until each message is accepted.

One thread with its own asyncio loop per destination. It takes the oldest pending message, sends it, and waits
for the answer: ``AA`` marks it sent; a NAK (``AE``/``AR``), no answer, or no connection is logged, written on the
row, and the same message is tried again after a back-off (1 s doubling to 60 s), so later messages never
overtake it. With ``since_us`` it also queues, every few seconds, the clinical entries and settled minutes of
vitals of each session recording now, and the rest of each session once it has ended: the outbox is in the
database, so what was queued while the engine (or kapmonitor) was down is sent when both are back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, func, or_, select

from kapmonitor.core.clock import now_us
from kapmonitor.devices.links.mllp_client import ACK_TIMEOUT_S, MllpConnection
from kapmonitor.export.hl7_export import queue_session
from kapmonitor.store.hl7_outbox import Hl7Outbox
from kapmonitor.store.tables import Hl7OutboxMessage, Session

log = logging.getLogger(__name__)

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0
IDLE_POLL_S = 0.5
SWEEP_EVERY_S = 10.0
ENDED = ("ended", "signed")
SETTLE_US = 5 * 60 * 1_000_000  # a minute of vitals is sent this long after it ended (late NIBP readings)


@dataclass(frozen=True)
class OutboundStatus:
    destination: str
    pending: int
    sent: int
    connected: bool
    last_error: str


class OutboundSender:
    def __init__(
        self,
        engine: Engine,
        destination: str,
        *,
        since_us: int | None = None,
        retry_first_s: float = RETRY_FIRST_S,
        retry_max_s: float = RETRY_MAX_S,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        sweep_every_s: float = SWEEP_EVERY_S,
    ) -> None:
        self.engine = engine
        self.destination = destination
        self.outbox = Hl7Outbox(engine)
        self.since_us = since_us
        self.retry_first_s = retry_first_s
        self.retry_max_s = retry_max_s
        self.ack_timeout_s = ack_timeout_s
        self.sweep_every_s = sweep_every_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = False
        self._last_error = ""
        self._last_sweep = 0.0

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="kapmonitor-hl7-out", daemon=True)
            self._thread.start()

    def request_stop(self) -> None:
        """Ask the loop to end (from a signal handler); :meth:`stop` also waits for it."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        try:  # a session ended just now is queued before kapmonitor closes (sent at the next start)
            self._sweep(force=True)
        except Exception:  # noqa: BLE001 - the next start queues it; a failing database must not block closing
            log.exception("HL7 outbound: could not queue the last sessions for %s", self.destination)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def status(self) -> OutboundStatus:
        counts = self.outbox.counts()
        return OutboundStatus(
            self.destination,
            counts.get((self.destination, "pending"), 0),
            counts.get((self.destination, "sent"), 0),
            self._connected,
            self._last_error,
        )

    def send_until_empty(self, timeout_s: float | None = None, *, until_empty: bool = True) -> bool:
        """Run on the caller's thread until nothing is pending (True) or ``timeout_s`` passed (False); with
        ``until_empty=False``, until :meth:`request_stop`."""
        return asyncio.run(self._serve(until_empty=until_empty, timeout_s=timeout_s))

    # ---- the loop -------------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except Exception:  # a bug here must be logged; the messages stay queued for the next start
            log.exception("HL7 outbound sender to %s failed", self.destination)

    def _sweep(self, *, force: bool = False) -> None:
        """Queue what is due: of a session still recording, its clinical entries and the minutes of vitals that
        have settled; of a session that ended since ``since_us``, everything, once (a session whose messages were
        all queued before it ended is queued again, which adds only what is new)."""
        if self.since_us is None or (not force and time.monotonic() - self._last_sweep < self.sweep_every_s):
            return
        self._last_sweep = time.monotonic()
        table, outbox = Session.__table__, Hl7OutboxMessage.__table__
        last_queued = (
            select(func.max(outbox.c.queued_us))
            .where(outbox.c.session_id == table.c.id, outbox.c.destination == self.destination)
            .scalar_subquery()
        )
        with self.engine.connect() as conn:
            recording = list(
                conn.execute(
                    select(table.c.id).where(table.c.status == "in_progress", table.c.start_us >= self.since_us)
                ).scalars()
            )
            ended = list(
                conn.execute(
                    select(table.c.id).where(
                        table.c.status.in_(ENDED),
                        table.c.end_us >= self.since_us,
                        or_(last_queued.is_(None), last_queued < table.c.end_us),
                    )
                ).scalars()
            )
        settled = now_us() - SETTLE_US
        for session_id in recording:
            self._queue(session_id, settled)
        for session_id in ended:
            self._queue(session_id, None)

    def _queue(self, session_id: int, settled_before_us: int | None) -> None:
        added = queue_session(self.engine, session_id, self.destination, settled_before_us=settled_before_us)
        if added:
            log.info("session %s: %d HL7 messages queued for %s", session_id, added, self.destination)

    async def _serve(self, until_empty: bool = False, timeout_s: float | None = None) -> bool:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        connection: MllpConnection | None = None
        backoff = self.retry_first_s
        try:
            while not self._stop.is_set():
                if deadline is not None and time.monotonic() > deadline:
                    return False
                self._sweep()
                row = self.outbox.next_pending(self.destination)
                if row is None:
                    if until_empty:
                        return True
                    await self._pause(IDLE_POLL_S)
                    continue
                try:
                    if connection is None:
                        connection = await MllpConnection.open(self.destination, self.ack_timeout_s)
                        self._connected = True
                    answer = await connection.send(row.message.encode("utf-8"), self.ack_timeout_s)
                except (OSError, TimeoutError, ConnectionError) as exc:
                    reason = f"cannot reach {self.destination}: {exc or type(exc).__name__}"
                    await self._drop(connection)
                    connection = None
                    self._failed(row.id, row.control_id, reason)
                    await self._pause(backoff)
                    backoff = min(backoff * 2, self.retry_max_s)
                    continue
                if answer.accepted:
                    self.outbox.mark_sent(row.id)
                    self._last_error = ""
                    backoff = self.retry_first_s
                    continue
                self._failed(row.id, row.control_id, f"{answer.code or 'no answer'}: {answer.reason}")
                if not answer.code:  # no answer: the connection is in an unknown state, start a new one
                    await self._drop(connection)
                    connection = None
                await self._pause(backoff)
                backoff = min(backoff * 2, self.retry_max_s)
            return False
        finally:
            await self._drop(connection)

    def _failed(self, row_id: int, control_id: str, reason: str) -> None:
        self._last_error = reason
        self.outbox.mark_failed(row_id, reason)
        log.warning("HL7 message %s to %s not accepted (%s); will retry", control_id, self.destination, reason)

    async def _drop(self, connection: MllpConnection | None) -> None:
        if connection is not None:
            await connection.close()
        self._connected = False

    async def _pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop.is_set() and time.monotonic() < end:
            await asyncio.sleep(min(0.05, max(0.0, end - time.monotonic())))
