"""A tiny framed protocol used only by the link tests, so they do not depend on any real device's decoder.

Frame: A5 | seq MSB | seq LSB | pulse | checksum = sum(previous 4) mod 256. One frame is one pleth sample
whose value is the frame's sequence number, so a test can see at once whether any frame went missing.
A frame also carries the simulated pulse rate (None as 0xFF). The device answers each "?" with ACK (06), which
the decoder reports as a LinkEvent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from kapmonitor.core.readings import DecodeError, Item, LinkEvent, Reading, WaveChunk
from kapmonitor.devices.base import Decoder, DeviceDescriptor, Keepalive, SerialSettings, TrackSpec
from kapmonitor.devices.simulation.interface import DeviceSimulator, PatientModel

T = TypeVar("T")

PROTOCOL = "link-test"
START = 0xA5
ACK = 0x06
RATE_HZ = 50.0
FRAME = 5


def frame(seq: int, pulse: int = 72) -> bytes:
    body = bytes([START, (seq >> 8) & 0xFF, seq & 0xFF, pulse & 0xFF])
    return body + bytes([sum(body) & 0xFF])


class LinkTestDecoder(Decoder):
    protocol = PROTOCOL

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()
        self._offset = 0  # stream position of _buf[0]

    def feed(self, data: bytes) -> list[Item]:
        self.stats.bytes_in += len(data)
        self._buf += data
        out: list[Item] = []
        samples: list[int] = []
        while len(self._buf) >= FRAME:
            if self._buf[0] == ACK:
                if samples:
                    out.append(WaveChunk("pleth", RATE_HZ, tuple(samples)))
                    samples = []
                out.append(LinkEvent("ack"))
                del self._buf[:1]
                self._offset += 1
                continue
            body = self._buf[:FRAME]
            if body[0] == START and sum(body[:4]) & 0xFF == body[4]:
                self.stats.frames_ok += 1
                samples.append((body[1] << 8) | body[2])
                pulse = None if body[3] == 0xFF else float(body[3])
                if body[1:3] == b"\0\0" or (body[2] % 50 == 0):
                    out.append(Reading("pulse_rate", pulse, "bpm"))
                del self._buf[:FRAME]
                self._offset += FRAME
                continue
            if samples:
                out.append(WaveChunk("pleth", RATE_HZ, tuple(samples)))
                samples = []
            self.stats.resyncs += 1
            if body[0] == START:
                self.stats.checksum_errors += 1
            skip = min((i for i in (self._buf.find(START, 1), self._buf.find(ACK, 1)) if i > 0), default=-1)
            skip = len(self._buf) if skip < 0 else skip
            out.append(DecodeError("resync", self._offset, f"skipped {skip} bytes"))
            self.stats.bytes_discarded += skip
            del self._buf[:skip]
            self._offset += skip
        if samples:
            out.append(WaveChunk("pleth", RATE_HZ, tuple(samples)))
        return out


class LinkTestSimulator(DeviceSimulator):
    protocol = PROTOCOL

    def __init__(self, model: PatientModel | None = None) -> None:
        self.model = model
        self.t = 0.0
        self.seq = 0
        self.received = bytearray()
        self.online = True

    def advance(self, dt_s: float) -> bytes:
        self.t += dt_s
        out = bytearray()
        while self.seq < int(self.t * RATE_HZ):
            pulse = 72
            if self.model is not None:
                rate = self.model.vitals(self.seq / RATE_HZ).pulse_rate
                pulse = 0xFF if rate is None else round(rate)
            out += frame(self.seq, pulse)
            self.seq += 1
        return bytes(out)

    def receive(self, data: bytes) -> bytes:
        self.received += data
        return bytes([ACK]) * data.count(b"?")

    @property
    def connected(self) -> bool:
        return self.online


DESCRIPTOR = DeviceDescriptor(
    protocol=PROTOCOL,
    title="Link test device",
    link="serial",
    decoder=LinkTestDecoder,
    tracks=(TrackSpec("pleth", RATE_HZ), TrackSpec("pulse_rate", 1.0)),
    serial=SerialSettings(baudrate=115200),
    start_command=b"GO",
    keepalive=Keepalive(b"?", 0.3),
    simulator=LinkTestSimulator,
)


def register() -> None:
    """Make "link-test" a known protocol name in this process."""
    from kapmonitor.devices import registry

    registry.BUILTIN[PROTOCOL] = (__name__, "DESCRIPTOR")
    registry.descriptor.cache_clear()


def wait_for(condition: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll until ``condition()`` holds; fail naming ``what`` after ``timeout`` s (a bound, not a timing)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


class Collected:
    """A publish target that keeps every item, safe to read from the test thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[Item] = []

    def __call__(self, batch: Sequence[Item]) -> None:
        with self._lock:
            self.items.extend(batch)

    def snapshot(self) -> list[Item]:
        with self._lock:
            return list(self.items)

    def chunks(self) -> list[WaveChunk]:
        return [i for i in self.snapshot() if isinstance(i, WaveChunk)]

    def samples(self) -> list[int]:
        return [s for c in self.chunks() for s in c.samples]

    def events(self, kind: str | None = None) -> list[LinkEvent]:
        return [i for i in self.snapshot() if isinstance(i, LinkEvent) and kind in (None, i.kind)]

    def readings(self, device: str | None = None) -> list[Reading]:
        return [i for i in self.snapshot() if isinstance(i, Reading) and device in (None, i.device)]

    def of(self, kind: type[T]) -> list[T]:
        return [i for i in self.snapshot() if isinstance(i, kind)]
