"""SunTech Advantage OEM NIBP module (protocols.md §11): a cuff that measures only when the host asks.

Host to module: ``':' cmd ... cs``; module to host: ``'>' LEN data ... cs`` with LEN the whole frame's length.
``cs`` makes the sum of every byte of a frame 0 modulo 256; fields are little-endian. The module never
speaks unasked except to say a measurement finished, so the host runs :class:`SuntechDriver`: it starts
measurements on the nurse's interval or on demand, polls the cuff pressure while the cuff inflates and
deflates, then reads the result.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable
from dataclasses import dataclass, replace

from kapmonitor.core.readings import DecodeError, Item, LinkEvent, LinkEventKind, Reading
from kapmonitor.devices.base import Decoder, DeviceDescriptor, SerialSettings, TrackSpec
from kapmonitor.devices.simulation.interface import DeviceSimulator, PatientModel

PROTOCOL = "suntech-advantage"
HOST_START, MODULE_START = 0x3A, 0x3E  # ':' and '>'
MIN_FRAME, MAX_FRAME = 4, 64
RESULT_LEN, CUFF_LEN, STATUS_LEN = 0x18, 5, 4
COMPLETE = ord("K")


def zero_sum(frame: bytes) -> int:
    """The checksum byte that makes the whole frame sum to 0 modulo 256."""
    return -sum(frame) & 0xFF


def command(body: bytes) -> bytes:
    frame = bytes([HOST_START]) + body
    return frame + bytes([zero_sum(frame)])


def response(data: bytes) -> bytes:
    frame = bytes([MODULE_START, len(data) + 3]) + data
    return frame + bytes([zero_sum(frame)])


START_BP = command(b"\x20")
GET_CUFF_PRESSURE = command(b"\x79\x05\x00")
GET_BP_DATA = command(b"\x79\x03\x00")
PNEUMATICS_ALL_CLOSED = command(b"\x0c\x00\x01\x01")
HOST_COMMAND_LENGTHS = {0x20: 3, 0x79: 5, 0x0C: 6}

# Error codes of the BP data reply, in the nurse's words, with the flags they put on the (empty) readings.
# From the SunTech Advantage interface manual as we know it; not verified against a module (protocols.md §14).
ERRORS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: ("weak signal: too few pulses detected, check the cuff position", ("low_signal",)),
    2: ("erratic signal: patient movement or artifact", ("artifact", "body_movement")),
    3: ("blood pressure outside the measurable range", ("out_of_range",)),
    4: ("the measurement took too long", ("measurement_timeout",)),
    85: ("pneumatic blockage: check the hose for kinks", ("pneumatic_blockage",)),
    86: ("the measurement was aborted", ("aborted",)),
    87: ("the cuff did not hold pressure: check the cuff and hose for leaks", ("cuff_loose",)),
    88: ("safety timeout: the cuff stayed inflated too long", ("measurement_timeout",)),
    89: ("cuff overpressure", ("cuff_overpressure",)),
    90: ("NIBP module power supply out of range", ("module_fault",)),
    91: ("NIBP module auto-zero out of range", ("module_fault",)),
    97: ("NIBP pressure transducer out of range", ("module_fault",)),
    98: ("NIBP module A/D converter out of range", ("module_fault",)),
    99: ("NIBP module calibration data corrupted", ("module_fault",)),
}


def error_reason(code: int) -> tuple[str, frozenset[str]]:
    reason, flags = ERRORS.get(code, (f"NIBP module error code {code}", ("module_fault",)))
    return reason, frozenset({"invalid", *flags})


@dataclass(frozen=True)
class BpResult:
    """The 24-byte BP data reply.

    ``'>' 18 sys:u16 dia:u16 beats:u8 status:u8 tc[8] hr:u8 - map:u16 err:u8 - - cs`` ("-" = spare).
    """

    systolic: int
    diastolic: int
    mean: int
    pulse_rate: int
    beats: int = 0
    status: int = 0
    error: int = 0
    test_codes: bytes = bytes(8)

    def encode(self) -> bytes:
        data = struct.pack(
            "<HHBB8sBxHBxx",
            self.systolic,
            self.diastolic,
            self.beats,
            self.status,
            self.test_codes,
            self.pulse_rate,
            self.mean,
            self.error,
        )
        return response(data)

    @classmethod
    def decode(cls, frame: bytes) -> BpResult:
        sys_, dia, beats, status, tc, hr, mean, err = struct.unpack("<HHBB8sBxHBxx", frame[2:-1])
        return cls(sys_, dia, mean, hr, beats, status, err, tc)


def encode_cuff_pressure(mmhg: int) -> bytes:
    return response(struct.pack("<H", mmhg))


MEASUREMENT_COMPLETE = response(bytes([COMPLETE]))


def _result_items(r: BpResult) -> list[Item]:
    def value(v: int) -> int | None:
        return v if v > 0 and r.error == 0 else None  # 0 = the module has no value

    flags: frozenset[str] = frozenset()
    out: list[Item] = []
    if r.error:
        reason, flags = error_reason(r.error)
        out.append(LinkEvent(LinkEventKind.MEASUREMENT_FAILED, reason, extra={"error_code": r.error}))
    out += [
        Reading("nibp_systolic", value(r.systolic), "mmHg", flags),
        Reading("nibp_diastolic", value(r.diastolic), "mmHg", flags),
        Reading("nibp_mean", value(r.mean), "mmHg", flags),
        Reading("pulse_rate", value(r.pulse_rate), "bpm", flags),
    ]
    return out


@functools.lru_cache(maxsize=1024)  # polled several times a second during a measurement: a few hundred values
def _cuff_reading(mmhg: int) -> Reading:
    return Reading("cuff_pressure", float(mmhg), "mmHg")


class SuntechDecoder(Decoder):
    """Module replies: cuff pressure (LEN 5), status character (LEN 4, 'K' = complete), BP data (LEN 0x18)."""

    protocol = PROTOCOL
    max_buffer = 2 * MAX_FRAME

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()
        self._buf_start = 0
        self._in_garbage = False

    def feed(self, data: bytes) -> list[Item]:
        self.stats.bytes_in += len(data)
        self._buf += data
        out: list[Item] = []
        buf = self._buf
        pos = 0  # next unread byte: the buffer is cut once per feed, not once per frame
        while pos < len(buf):
            if buf[pos] != MODULE_START:
                start = buf.find(MODULE_START, pos)
                pos = self._discard(pos, (len(buf) if start < 0 else start) - pos, "no start byte", out)
                continue
            if len(buf) - pos < 2:
                break
            length = buf[pos + 1]
            if not MIN_FRAME <= length <= MAX_FRAME:
                pos = self._discard(pos, 1, f"implausible length {length}", out)
                continue
            if len(buf) - pos < length:
                break
            frame = bytes(buf[pos : pos + length])
            if sum(frame) & 0xFF:
                self.stats.checksum_errors += 1
                out.append(DecodeError("checksum", self._buf_start + pos, frame.hex(" ")))
                pos = self._discard(pos, 1, "checksum", out, report=False)
                continue
            pos += length
            self._in_garbage = False
            self.stats.frames_ok += 1
            out.extend(self._frame(frame))
        del buf[:pos]
        self._buf_start += pos
        return out

    def _discard(self, pos: int, n: int, reason: str, out: list[Item], *, report: bool = True) -> int:
        """Give up ``n`` bytes from ``pos``; returns the position after them."""
        if not self._in_garbage:
            self.stats.resyncs += 1
            if report:
                out.append(DecodeError(reason, self._buf_start + pos, f"first byte 0x{self._buf[pos]:02X}"))
        self._in_garbage = True
        self.stats.bytes_discarded += n
        return pos + n

    @staticmethod
    def _frame(frame: bytes) -> list[Item]:
        length = frame[1]
        if length == CUFF_LEN:
            return [_cuff_reading(frame[2] | frame[3] << 8)]
        if length == STATUS_LEN and frame[2] == COMPLETE:
            return [LinkEvent(LinkEventKind.MEASUREMENT_COMPLETE, "NIBP measurement complete")]
        if length == RESULT_LEN:
            return _result_items(BpResult.decode(frame))
        return [LinkEvent(LinkEventKind.MODULE_REPLY, frame[2:-1].hex(" "))]


# ----------------------------------------------------------------------------------------------- host driver


@dataclass(frozen=True)
class NibpSchedule:
    """When to measure and how patiently to wait: the nurse sets ``interval_s`` (None = on demand only)."""

    interval_s: float | None = 300.0
    measure_at_start: bool = False
    cuff_poll_s: float = 1.0
    measurement_timeout_s: float = 180.0  # start to result; SunTech's own safety limit is shorter
    silence_timeout_s: float = 10.0  # no reply at all while measuring
    reply_timeout_s: float = 3.0  # per result query
    result_attempts: int = 3


class SuntechDriver:
    """The host side of a SunTech module, pure: the transport asks what to send and tells what came back.

    Transport contract (about every 0.1-0.5 s, also when nothing was read)::

        data = driver.poll(now_s)          # now_s: a monotonic clock in seconds
        if data: port.write(data)
        items = decoder.feed(port.read(...))
        driver.on_items(items)
        emit(items + driver.drain_events())

    ``request_now()`` and ``set_interval()`` may be called from the UI thread (they only set attributes).
    Events: ``LinkEventKind.MEASUREMENT_STARTED`` and ``LinkEventKind.MEASUREMENT_FAILED`` (with a plain reason).
    """

    def __init__(self, schedule: NibpSchedule | None = None) -> None:
        self.schedule = schedule or NibpSchedule()
        self.state = "idle"  # idle | measuring | reading
        self.next_due_s: float | None = None
        self._requested = False
        self._anchor: float | None = None  # the interval runs from here: first poll, then each start
        self._started_s = self._last_poll_s = self._last_heard_s = 0.0
        self._heard = self._complete = self._finished = False
        self._peak_mmhg = 0.0
        self._attempts = 0
        self._events: list[Item] = []

    def request_now(self) -> None:
        self._requested = True

    def set_interval(self, interval_s: float | None) -> None:
        self.schedule = replace(self.schedule, interval_s=interval_s)
        if self._anchor is not None:
            self.next_due_s = None if interval_s is None else self._anchor + interval_s

    def drain_events(self) -> list[Item]:
        events, self._events = self._events, []
        return events

    def on_items(self, items: Iterable[Item]) -> None:
        items = list(items)
        explained = any(isinstance(i, LinkEvent) and i.kind is LinkEventKind.MEASUREMENT_FAILED for i in items)
        for item in items:
            self._heard = True
            if isinstance(item, Reading) and item.metric == "cuff_pressure" and item.value is not None:
                self._peak_mmhg = max(self._peak_mmhg, item.value)
                # Deflated after having inflated: done even if the 'K' notice was lost.
                self._complete |= self._peak_mmhg >= 50 and item.value <= 10
            elif isinstance(item, LinkEvent) and item.kind is LinkEventKind.MEASUREMENT_COMPLETE:
                self._complete = True
            elif isinstance(item, Reading) and item.metric == "nibp_systolic" and self.state == "reading":
                self._finished = True
                if item.value is None and not explained:
                    failed = LinkEvent(LinkEventKind.MEASUREMENT_FAILED, "the NIBP module returned no values")
                    self._events.append(failed)

    def poll(self, now_s: float) -> bytes:
        if self._anchor is None:
            self._anchor = now_s
            interval = self.schedule.interval_s
            self.next_due_s = (
                now_s if self.schedule.measure_at_start else (None if interval is None else now_s + interval)
            )
        if self._heard:
            self._last_heard_s, self._heard = now_s, False
        if self.state == "measuring":
            return self._measuring(now_s)
        if self.state == "reading":
            return self._reading(now_s)
        due = self.next_due_s is not None and now_s >= self.next_due_s
        if self._requested or due:
            return self._start(now_s)
        return b""

    def _start(self, now_s: float) -> bytes:
        self._requested = self._complete = self._finished = False
        self._peak_mmhg = 0.0
        self.state, self._started_s = "measuring", now_s
        self._last_poll_s = self._last_heard_s = now_s
        self._anchor = now_s
        interval = self.schedule.interval_s
        self.next_due_s = None if interval is None else now_s + interval
        self._events.append(LinkEvent(LinkEventKind.MEASUREMENT_STARTED, "NIBP measurement started"))
        return START_BP

    def _measuring(self, now_s: float) -> bytes:
        s = self.schedule
        if now_s - self._started_s > s.measurement_timeout_s:
            return self._fail(f"no result from the cuff within {s.measurement_timeout_s:g} s")
        if now_s - self._last_heard_s > s.silence_timeout_s:
            return self._fail(f"the NIBP module stopped answering for {s.silence_timeout_s:g} s")
        if self._complete:
            self.state, self._attempts, self._last_poll_s = "reading", 1, now_s
            return GET_BP_DATA
        if now_s - self._last_poll_s >= s.cuff_poll_s:
            self._last_poll_s = now_s
            return GET_CUFF_PRESSURE
        return b""

    def _reading(self, now_s: float) -> bytes:
        if self._finished:
            self.state = "idle"
            return b""
        if now_s - self._last_poll_s < self.schedule.reply_timeout_s:
            return b""
        if self._attempts >= self.schedule.result_attempts:
            return self._fail("the NIBP module did not send the result")
        self._attempts += 1
        self._last_poll_s = now_s
        return GET_BP_DATA

    def _fail(self, reason: str) -> bytes:
        self.state = "idle"
        self._events.append(LinkEvent(LinkEventKind.MEASUREMENT_FAILED, reason))
        return b""


# ------------------------------------------------------------------------------------------------- simulator

INFLATE_MMHG_PER_S = 25.0
DEFLATE_MMHG_PER_S = 5.0  # a step-deflation module averages about this: 25-40 s per measurement in all
VENT_BELOW_MMHG = 15.0  # below diastolic range the module dumps the remaining air and reports


class SuntechSimulator(DeviceSimulator):
    """An Advantage module: answers commands, inflates to 30 mmHg above systolic, deflates, then reports."""

    protocol = PROTOCOL

    def __init__(self, model: PatientModel) -> None:
        self.model = model
        self._t = 0.0
        self._phase = "idle"  # idle | inflating | deflating
        self._pressure = 0.0
        self._target = 0.0
        self._result = BpResult(0, 0, 0, 0)
        self._commands = bytearray()
        self._connected = True

    @property
    def connected(self) -> bool:
        return self._connected

    def advance(self, dt_s: float) -> bytes:
        self._t += dt_s
        self._connected = self.model.vitals(self._t).connected
        if self._phase == "inflating":
            self._pressure = min(self._target, self._pressure + INFLATE_MMHG_PER_S * dt_s)
            if self._pressure >= self._target:
                self._phase = "deflating"
        elif self._phase == "deflating":
            self._pressure = max(0.0, self._pressure - DEFLATE_MMHG_PER_S * dt_s)
            if self._pressure <= VENT_BELOW_MMHG:
                return self._finish()
        return b""

    def _finish(self) -> bytes:
        self._phase, self._pressure = "idle", 0.0
        v = self.model.vitals(self._t)
        if v.systolic is None or v.diastolic is None:
            self._result = BpResult(0, 0, 0, 0, error=1)
        elif v.artifact:
            self._result = BpResult(0, 0, 0, 0, error=2)
        else:
            mean = v.mean if v.mean is not None else (v.systolic + 2 * v.diastolic) / 3
            pulse = round(v.pulse_rate or 0)
            self._result = BpResult(
                round(v.systolic), round(v.diastolic), round(mean), pulse, beats=pulse // 2
            )
        return MEASUREMENT_COMPLETE

    def receive(self, data: bytes) -> bytes:
        self._commands += data
        reply = bytearray()
        while (start := self._commands.find(HOST_START)) >= 0 and len(self._commands) > start + 1:
            need = HOST_COMMAND_LENGTHS.get(self._commands[start + 1])
            if need is None:
                del self._commands[: start + 1]
                continue
            if len(self._commands) - start < need:
                break
            frame = bytes(self._commands[start : start + need])
            del self._commands[: start + need]
            if sum(frame) & 0xFF == 0:  # a module ignores a command with a bad checksum
                reply += self._command(frame)
        del self._commands[:-MAX_FRAME]
        return bytes(reply)

    def _command(self, frame: bytes) -> bytes:
        if frame == START_BP and self._phase == "idle":
            v = self.model.vitals(self._t)
            self._target = max(140.0, (v.systolic or 120.0) + 30.0)
            self._phase, self._pressure = "inflating", 0.0
        elif frame == GET_CUFF_PRESSURE:
            return encode_cuff_pressure(round(self._pressure))
        elif frame == GET_BP_DATA:
            return self._result.encode()
        return b""


SUNTECH_ADVANTAGE = DeviceDescriptor(
    protocol=PROTOCOL,
    title="SunTech Advantage OEM NIBP module",
    link="serial",
    decoder=SuntechDecoder,
    tracks=(
        TrackSpec("cuff_pressure", 1.0),
        TrackSpec("nibp_systolic", 1 / 300),
        TrackSpec("nibp_diastolic", 1 / 300),
        TrackSpec("nibp_mean", 1 / 300),
        TrackSpec("pulse_rate", 1 / 300),
    ),
    serial=SerialSettings(baudrate=9600),
    simulator=SuntechSimulator,
    notes="Measures only when asked: the transport runs a SuntechDriver (host_driver) "
    "to schedule measurements and poll the cuff.",
    host_driver=SuntechDriver,
    probe_query=GET_CUFF_PRESSURE,  # a pressure reading: answered at once, starts nothing
    model="SunTech Advantage",
)
