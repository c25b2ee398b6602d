"""The ``hl7-pcd01`` link: an MLLP listener that networked monitors connect to.

One listening socket (``tcp://HOST:PORT``), any number of monitors at once, each on its own connection with its
own decoder, so a monitor that sends garbage, a 10 MB message, nothing at all, or drops mid-message costs only its
own message. Every message is answered on its connection (``MSA|AA``, or ``AE``/``AR`` naming the reason) and the
connection stays open. Each monitor is a device of its own (``hl7-pcd01@<EUI-64 or MSH-3/MSH-4>``) on this bed when
the binding accepts it; others are answered ``AR`` with the reason, and nothing of theirs is recorded.

The asyncio loop runs on its own thread; items go to the hub in one batch per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from kapmonitor.core.clock import SampleClock, now_us
from kapmonitor.core.errors import UserError
from kapmonitor.core.readings import DecodeError, Item, LinkEvent, LinkEventKind, Reading, WaveChunk
from kapmonitor.devices.base import LinkStats
from kapmonitor.devices.hl7.ack import build_ack
from kapmonitor.devices.hl7.decoder import Hl7Decoder
from kapmonitor.devices.hl7.framing import MAX_MESSAGE, FramingProblem, mllp_frame
from kapmonitor.devices.hl7.message import MonitorIdentity, ParsedMessage
from kapmonitor.devices.links.transport import LinkState, Publish, Transport

log = logging.getLogger(__name__)

PROTOCOL = "hl7-pcd01"
READ_SIZE = 65536
IDLE_TIMEOUT_S = 600.0  # a monitor sends every few seconds; a connection silent this long is closed
BindBy = Literal["any", "eui64", "sender", "patient"]
BIND_CHOICES: tuple[str, ...] = ("any", "eui64", "sender", "patient")


class ListenerError(UserError):
    """The listening endpoint cannot be used (a bad address, a port in use)."""


def parse_endpoint(address: str) -> tuple[str, int]:
    """``tcp://HOST:PORT`` (or ``HOST:PORT``) -> (host, port)."""
    text = address if "://" in address else f"tcp://{address}"
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or not parts.hostname or port is None:
        raise ListenerError(f"{address!r} is not an MLLP endpoint; write it as tcp://HOST:PORT")
    return parts.hostname, port


@dataclass(frozen=True)
class Binding:
    """Which monitors belong to this bed: all that connect, or the one with this EUI-64, sending application
    (``APP`` or ``APP/FACILITY``), or patient (PID-3; empty: whoever is the chair's patient now)."""

    by: BindBy = "any"
    value: str = ""

    def accepts(self, who: MonitorIdentity, chair_patient: str | None) -> str:
        """ "" when the monitor belongs here, else the reason it does not."""
        wanted = self.value.strip()
        if self.by == "any":
            return ""
        if self.by == "eui64":
            got = who.eui64 or "(none sent)"
            return "" if who.eui64 == wanted.upper().replace("-", "").replace(":", "") else f"EUI-64 {got}"
        if self.by == "sender":
            app, _, facility = wanted.partition("/")
            if who.sending_app == app and (not facility or who.facility == facility):
                return ""
            return f"sender {who.sending_app or '(none)'}/{who.facility or '(none)'}"
        patient = wanted or (chair_patient or "")
        if not patient:
            return "no patient is in this chair yet"
        return "" if who.patient_id == patient else f"patient {who.patient_id or '(none sent)'}"

    def describe(self) -> str:
        if self.by == "any":
            return "every monitor that connects"
        if self.by == "patient" and not self.value:
            return "the monitor sending this chair's patient"
        return f"{self.by} {self.value}"


@dataclass
class _Monitor:
    device: str
    clocks: dict[str, SampleClock]
    detail: str = ""
    demo: bool = False
    connections: int = 0  # open connections it has sent on


class MllpListener(Transport):
    def __init__(
        self,
        address: str,
        *,
        binding: Binding | None = None,
        chair_patient: Callable[[], str | None] | None = None,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_message: int = MAX_MESSAGE,
        register: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.host, self.port = parse_endpoint(address)
        super().__init__(f"{PROTOCOL}@{address}", PROTOCOL, address)
        self.binding = binding or Binding()
        self.chair_patient = chair_patient or (lambda: None)
        self.idle_timeout_s = idle_timeout_s
        self.max_message = max_message
        self.register = register  # the recorder's register_device: each monitor is a device of its own
        self._stats = LinkStats()
        self._monitors: dict[str, _Monitor] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._sock: socket.socket | None = None
        self.connections = 0  # open now
        self._writers: set[asyncio.StreamWriter] = set()
        self._stopping = False
        self.messages = {"AA": 0, "AE": 0, "AR": 0}

    # ---- Transport ------------------------------------------------------------------------------------------

    def start(self, publish: Publish) -> None:
        if self._thread is not None:
            return
        self._publish = publish
        self._stopping = False
        try:
            self._sock = socket.create_server((self.host, self.port), reuse_port=False)
        except OSError as exc:
            raise ListenerError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from exc
        self.port = self._sock.getsockname()[1]  # port 0 asks for a free one (tests)
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name=f"kapmonitor-mllp-{self.port}", daemon=True
        )
        self._thread.start()
        started.wait(5)

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._shutdown)
        thread.join(timeout=5)
        self._thread = self._loop = None
        self._set_state(LinkState.STOPPED, "stopped")

    def stats(self) -> LinkStats:
        return self._stats.snapshot()

    @property
    def monitors(self) -> list[str]:
        return sorted(m.device for m in self._monitors.values())

    # ---- the loop -------------------------------------------------------------------------------------------

    def _run(self, started: threading.Event) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._open(started))
            self._loop.run_forever()
        except Exception as exc:  # a listener bug must show on the device strip, not vanish
            log.exception("MLLP listener %s failed", self.address)
            self._set_state(LinkState.FAILED, f"the HL7 listener stopped: {exc}")
        finally:
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _open(self, started: threading.Event) -> None:
        self._server = await asyncio.start_server(self._client, sock=self._sock, limit=READ_SIZE)
        self._describe()
        started.set()

    def _shutdown(self) -> None:
        """Stop listening and close every monitor's connection; each client task then ends on its own EOF."""
        assert self._loop is not None
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        self._loop.create_task(self._stop_when_closed())

    async def _stop_when_closed(self) -> None:
        deadline = time.monotonic() + 2.0
        while self._writers and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert self._loop is not None
        self._loop.stop()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = "{}:{}".format(*writer.get_extra_info("peername", ("?", 0))[:2])
        decoder = Hl7Decoder(self.max_message, mode="mllp")  # a network peer speaks MLLP, whatever it sends first
        seen: set[str] = set()  # the monitors that sent on this connection
        self.connections += 1
        self._writers.add(writer)
        log.info("HL7 monitor connected from %s", peer)
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), self.idle_timeout_s)
                except TimeoutError:
                    log.warning("HL7 connection from %s sent nothing for %.0f s: closed", peer, self.idle_timeout_s)
                    break
                if not data:
                    for found in decoder.finish_messages():
                        self._answer(found, peer, now_us(), writer, seen)
                    break
                arrival = now_us()
                self._stats.bytes_in += len(data)
                for found in decoder.feed_messages(data):
                    self._answer(found, peer, arrival, writer, seen)
                await writer.drain()
        except (ConnectionError, OSError) as exc:
            log.warning("HL7 connection from %s lost: %s", peer, exc)
        finally:
            self.connections -= 1
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            log.info("HL7 monitor at %s disconnected", peer)
            self._gone(seen)

    # ---- one message ----------------------------------------------------------------------------------------

    def _answer(
        self,
        found: ParsedMessage | FramingProblem,
        peer: str,
        arrival: int,
        writer: asyncio.StreamWriter,
        seen: set[str],
    ) -> None:
        if isinstance(found, FramingProblem):
            self._framing_problem(found, peer, arrival, writer)
            return
        refusal = "" if found.ack_code == "AR" else self.binding.accepts(found.identity, self.chair_patient())
        if refusal:
            found.ack_code, found.error_code = "AR", "207"
            found.reason = f"monitor not bound to this bed ({refusal}); this bed takes {self.binding.describe()}"
        self.messages[found.ack_code] += 1
        if found.ack_code == "AR":
            self._stats.checksum_errors += 1
            log.warning("HL7 message %r from %s refused: %s", found.control_id, peer, found.reason)
        else:
            self._stats.frames_ok += 1
        with contextlib.suppress(Exception):
            writer.write(mllp_frame(build_ack(found)))
        if refusal:
            return
        monitor = self._monitor(found.identity)
        if found.identity.key not in seen:
            seen.add(found.identity.key)
            monitor.connections += 1
            if monitor.connections == 1:  # back (or here for the first time): a disconnection alarm clears
                self._emit([LinkEvent(LinkEventKind.CONNECTED, monitor.detail, arrival, monitor.device)])
                self._describe()
        self._emit(self._stamp(found, monitor, arrival))

    def _framing_problem(self, problem: FramingProblem, peer: str, arrival: int, writer: asyncio.StreamWriter) -> None:
        log.warning("HL7 connection from %s: %s (%s)", peer, problem.detail, problem.reason)
        if problem.reason == "garbage":
            self._stats.resyncs += 1
        else:  # the closest counter the device strip has: a message lost to its framing
            self._stats.checksum_errors += 1
        if problem.reason == "too_large":  # a message was sent and deserves an answer, though we cannot read it
            refused = ParsedMessage(ack_code="AR", reason=problem.detail, error_code="207")
            self.messages["AR"] += 1
            with contextlib.suppress(Exception):
                writer.write(mllp_frame(build_ack(refused)))
        self._emit([DecodeError(problem.reason, problem.offset, f"{peer}: {problem.detail}", arrival, self.device)])

    def _monitor(self, who: MonitorIdentity) -> _Monitor:
        found = self._monitors.get(who.key)
        if found is None:
            device = f"{PROTOCOL}@{who.key}"
            detail = " ".join(p for p in (who.model, who.sending_app, who.location) if p)
            found = self._monitors[who.key] = _Monitor(device, {}, f"monitor {who.key} ({detail or 'no model sent'})")
            if self.register is not None:
                self.register(device, PROTOCOL, who.key)
        return found

    def _gone(self, seen: set[str]) -> None:
        """A connection closed: a monitor with no other connection open is disconnected (a technical alarm),
        unless the listener itself is stopping."""
        for key in seen:
            monitor = self._monitors[key]
            monitor.connections -= 1
            if monitor.connections == 0 and not self._stopping:
                said = f"{monitor.detail}: its connection closed"
                self._emit([LinkEvent(LinkEventKind.DISCONNECTED, said, now_us(), monitor.device)])
        if seen and not self._stopping:
            self._describe()

    def _describe(self) -> None:
        """The listener's line on the device strip: where it listens, for whom, and its monitors."""
        monitors = ", ".join(
            f"{key} ({'sending' if m.connections else 'disconnected'})" for key, m in sorted(self._monitors.items())
        )
        words = f"listening on port {self.port} for {self.binding.describe()}"
        self._set_state(LinkState.CONNECTED, f"{words}; monitors: {monitors}" if monitors else words)

    def _stamp(self, parsed: ParsedMessage, monitor: _Monitor, arrival: int) -> list[Item]:
        out: list[Item] = []
        if parsed.demo != monitor.demo:
            monitor.demo = parsed.demo
            words = "in demo or training mode: its values are not recorded" if parsed.demo else "back to patient data"
            out.append(
                LinkEvent(
                    LinkEventKind.DEMO if parsed.demo else LinkEventKind.PATIENT_DATA,
                    f"monitor {words}",
                    arrival,
                    monitor.device,
                )
            )
        for item, age in zip(parsed.items, parsed.ages_us, strict=True):
            if isinstance(item, Reading):
                if "demo" in item.flags:
                    continue  # not patient data: never a reading on this bed
                out.append(item.stamped(arrival - age, monitor.device))
            elif isinstance(item, WaveChunk):
                if "demo" in item.flags:
                    continue
                clock = monitor.clocks.get(item.metric)
                if clock is None or clock.rate_hz != item.rate_hz:
                    clock = monitor.clocks[item.metric] = SampleClock(item.rate_hz)
                end = arrival - age + item.duration_us
                out.append(item.stamped(clock.place(len(item.samples), end), monitor.device))
            elif isinstance(item, DecodeError):
                out.append(item.stamped(arrival, monitor.device))
        return out
