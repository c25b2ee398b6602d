"""Contec CMS50D+/E/EW/F finger oximeters and their OEM clones (protocols.md §8): two incompatible families.

* ``contec-v7`` (§8.2, firmware 4.6+): a type byte with bit 7 clear, a "high byte" holding bit 7 of each
  data byte, data bytes with bit 7 forced to 1. Streams 60 packets/s only after a start command, and only
  while the host says "connected" every few seconds.
* ``contec-legacy`` (§8.1, older firmware): 5-byte packets at 60/s, bit 7 set on the first byte only,
  sent unasked.

Neither has a checksum: the bit-7 pattern is the only integrity check. A packet carries one 60 Hz pleth
sample and the current numerics; numerics are emitted when they change and at least once a second, pleth
as WaveChunks.
"""

from __future__ import annotations

import functools
import re
from abc import abstractmethod
from dataclasses import dataclass

from kapmonitor.core.readings import DecodeError, Item, LinkEvent, LinkEventKind, Reading, WaveChunk
from kapmonitor.devices.base import Decoder, DeviceDescriptor, Keepalive, SerialSettings, TrackSpec
from kapmonitor.devices.simulation.interface import DeviceSimulator, PatientModel, VitalsSnapshot

PLETH_RATE_HZ = 60.0
NUMERIC_EVERY = 60  # packets: re-send unchanged numerics once a second
PLETH_PROBE_ERROR = 64  # the pleth value both families send while the probe is off


@dataclass(frozen=True, slots=True)  # slots: built 60 times a second, and faster to build with them
class ContecSample:
    """One 60 Hz packet's content. ``None`` = the device reported no value."""

    pleth: int
    spo2: int | None
    pulse_rate: int | None
    perfusion_index: float | None = None  # v7 only
    finger_out: bool = False
    probe_error: bool = False  # legacy only (v7 folds it into finger_out)
    searching: bool = False
    searching_too_long: bool = False  # v7 only
    spo2_dropping: bool = False  # v7 "low SpO2", legacy "SpO2 dropping"
    pulse_beep: bool = False
    signal: int = 0  # 0..8
    bar: int = 0  # 0..15

    @property
    def flags(self) -> frozenset[str]:
        return _sample_flags(
            self.finger_out, self.probe_error, self.searching, self.searching_too_long, self.spo2_dropping
        )


@functools.cache  # 32 combinations: one frozenset each instead of one per 60 Hz sample
def _sample_flags(
    finger_out: bool, probe_error: bool, searching: bool, searching_too_long: bool, spo2_dropping: bool
) -> frozenset[str]:
    names = {
        "sensor_off": finger_out or probe_error,
        "probe_error": probe_error,
        "searching": searching or searching_too_long,
        "searching_too_long": searching_too_long,
        "spo2_dropping": spo2_dropping,
    }
    return frozenset(name for name, on in names.items() if on)


def _valid(value: int, *, finger_out: bool, invalid: int) -> int | None:
    # Finger out arrives as 0/0 (not the documented sentinels); 0 % or 0 bpm is never a measurement here.
    return None if finger_out or value in (0, invalid) else value


class _OximeterOutput:
    """Decoded samples to items: pleth chunks per run of equal flags, numerics on change or each second."""

    def __init__(self, with_pi: bool) -> None:
        self._with_pi = with_pi
        self._last: tuple[object, ...] | None = None
        self._since_numeric = 0

    def items(self, samples: list[ContecSample], extra_flags: frozenset[str] = frozenset()) -> list[Item]:
        out: list[Item] = []
        run: list[int] = []
        run_flags: frozenset[str] | None = None
        for s in samples:
            flags = s.flags | extra_flags if extra_flags else s.flags
            if run and flags != run_flags:
                out.append(WaveChunk("pleth", PLETH_RATE_HZ, tuple(run), run_flags or frozenset()))
                run = []
            run.append(s.pleth)
            run_flags = flags
            self._since_numeric += 1
            # Most samples repeat the last numerics: that test is inlined here, 60 times a second.
            if self._since_numeric < NUMERIC_EVERY and self._last == (
                s.spo2, s.pulse_rate, s.perfusion_index, flags
            ):
                continue
            out.extend(self._numerics(s, flags))
        if run:
            out.append(WaveChunk("pleth", PLETH_RATE_HZ, tuple(run), run_flags or frozenset()))
        return out

    def _numerics(self, s: ContecSample, flags: frozenset[str]) -> list[Item]:
        """Readings for a sample whose numerics changed or are due again (``items`` keeps the count)."""
        key = (s.spo2, s.pulse_rate, s.perfusion_index, flags)
        if key == self._last and self._since_numeric < NUMERIC_EVERY:
            return []
        self._last, self._since_numeric = key, 0
        out: list[Item] = [
            Reading("spo2", s.spo2, "%", flags),
            Reading("pulse_rate", s.pulse_rate, "bpm", flags),
        ]
        if self._with_pi:
            out.append(Reading("perfusion_index", s.perfusion_index, "%", flags))
        return out


class _BitSevenFramer(Decoder):
    """Shared buffer bookkeeping: stream offsets, discarding garbage runs, one error per run."""

    max_buffer = 64

    def __init__(self, output: _OximeterOutput) -> None:
        super().__init__()
        self._output = output
        self._pending: list[ContecSample] = []  # real-time samples decoded in this feed, not yet emitted
        self._buf = bytearray()
        self._buf_start = 0
        self._in_garbage = False
        self._synced = (
            False  # garbage before the first good packet is the usual partial start: count it quietly
        )

    def _flush(self) -> list[Item]:
        """Pending samples as one pleth chunk per run of equal flags, plus the numerics they bring."""
        samples, self._pending = self._pending, []
        return self._output.items(samples)

    def _discard(self, n: int, reason: str, out: list[Item]) -> None:
        out.extend(self._flush())  # keep items in stream order however the bytes were split
        if not self._in_garbage:
            self.stats.resyncs += 1
            if self._synced:
                # Only the first byte: the detail must not depend on how reads split the stream.
                out.append(DecodeError(reason, self._buf_start, f"first byte 0x{self._buf[0]:02X}"))
        self._in_garbage = True
        self.stats.bytes_discarded += n
        del self._buf[:n]
        self._buf_start += n

    def _take_run(self, run: re.Match[bytes], packet_size: int) -> None:
        """Take a run of well-formed real-time packets at the buffer start (as ``_take`` on each would)."""
        n = run.end()
        packets = run.group()
        del self._buf[:n]
        self._buf_start += n
        self._in_garbage = False
        self._synced = True
        self.stats.frames_ok += n // packet_size
        self._pending.extend(self._sample_of(packets[i : i + packet_size]) for i in range(0, n, packet_size))

    @staticmethod
    @abstractmethod
    def _sample_of(packet: bytes) -> ContecSample:
        """The sample of one real-time packet."""

    def _take(self, n: int) -> bytes:
        frame = bytes(self._buf[:n])
        del self._buf[:n]
        self._buf_start += n
        self._in_garbage = False
        self._synced = True
        self.stats.frames_ok += 1
        return frame


# ---------------------------------------------------------------------------------------------------- V7.0

V7_LENGTHS = {0x01: 9, 0x0F: 8, 0x09: 6, 0x0C: 2, 0x0D: 3}
V7_VARIABLE = {
    0x02,
    0x03,
    0x04,
    0x0B,
    0x0E,
    0x11,
}  # replies whose length we do not rely on: end at next type byte
V7_MAX_FRAME = 32
DISCONNECT_REASONS = {
    0x00: "done",
    0x01: "shutdown",
    0x02: "user change",
    0x03: "recording",
    0x04: "delete failed",
    0x05: "unsupported",
    0xFF: "unknown",
}


_CLEAR_BIT_7 = bytes(b & 0x7F for b in range(256))
_SPREAD_HIGH_BYTE = tuple(sum(0x80 << 8 * i for i in range(8) if hb >> i & 1) for hb in range(256))


def v7_unpack(frame: bytes) -> bytes:
    """Data bytes of a v7 packet with their bit 7 restored from the high byte."""
    # Without a Python loop per byte: clear bit 7 everywhere (translate), then OR in the high byte's bits,
    # spread to bit 7 of data bytes 0..7 by a table, as one integer.
    data = frame[2:].translate(_CLEAR_BIT_7)
    n = len(data)
    high_bits = _SPREAD_HIGH_BYTE[frame[1]] & ((1 << 8 * n) - 1)
    return (int.from_bytes(data, "little") | high_bits).to_bytes(n, "little")


def v7_pack(packet_type: int, data: bytes) -> bytes:
    hb = 0x80 | sum(((d >> 7) & 1) << i for i, d in enumerate(data))
    return bytes((packet_type & 0x7F, hb, *(d | 0x80 for d in data)))


def v7_command(cmd: int, args: bytes = b"") -> bytes:
    """A 9-byte host command ``7D hb cmd a1..a6`` (unused argument bytes are zeros, sent as 0x80)."""
    return v7_pack(0x7D, bytes([cmd]) + args.ljust(6, b"\0"))


START_REALTIME = v7_command(0xA1)
STOP_REALTIME = v7_command(0xA2)
INFORM_CONNECTED = v7_command(0xAF)


def v7_realtime_sample(d: bytes) -> ContecSample:
    finger_out = bool(d[0] & 0x80)
    pi_raw = d[5] | d[6] << 8
    pi_invalid = finger_out or bool(d[2] & 0x10) or pi_raw == 0xFFFF
    return ContecSample(
        pleth=d[1] & 0x7F,
        spo2=_valid(d[4], finger_out=finger_out, invalid=0x7F),
        pulse_rate=_valid(d[3], finger_out=finger_out, invalid=0xFF),
        perfusion_index=None if pi_invalid else pi_raw / 100,
        finger_out=finger_out,
        searching=bool(d[1] & 0x80),
        searching_too_long=bool(d[0] & 0x10),
        spo2_dropping=bool(d[0] & 0x20),
        pulse_beep=bool(d[0] & 0x40),
        signal=d[0] & 0x0F,
        bar=d[2] & 0x0F,
    )


def encode_v7_realtime(s: ContecSample) -> bytes:
    zero = s.finger_out  # the firmware sends 0/0 rather than the sentinels when the finger is out
    spo2 = s.spo2 if s.spo2 is not None else (0 if zero else 0x7F)
    pulse = s.pulse_rate if s.pulse_rate is not None else (0 if zero else 0xFF)
    pi = 0xFFFF if s.perfusion_index is None else round(s.perfusion_index * 100)
    d0 = (
        s.finger_out << 7
        | s.pulse_beep << 6
        | s.spo2_dropping << 5
        | s.searching_too_long << 4
        | s.signal & 0xF
    )
    d1 = s.searching << 7 | s.pleth & 0x7F
    d2 = (s.perfusion_index is None) << 4 | s.bar & 0xF
    return v7_pack(0x01, bytes([d0, d1, d2, pulse & 0xFF, spo2 & 0xFF, pi & 0xFF, pi >> 8 & 0xFF]))


# A stream is mostly back-to-back real-time packets: one regex match takes a whole run of them, and the
# byte-by-byte checks of ``_step`` run only around garbage and replies. A packet's sample is a pure function
# of its bytes, and the (frozen) samples of recent packets are reused.
_V7_REALTIME_RUN = re.compile(rb"(?:\x01[\x80-\xff]{8})+")


@functools.lru_cache(maxsize=8192)
def _v7_sample_of(packet: bytes) -> ContecSample:
    return v7_realtime_sample(v7_unpack(packet))


class ContecV7Decoder(_BitSevenFramer):
    protocol = "contec-v7"
    _sample_of = staticmethod(_v7_sample_of)

    def __init__(self) -> None:
        super().__init__(_OximeterOutput(with_pi=True))

    def feed(self, data: bytes) -> list[Item]:
        self.stats.bytes_in += len(data)
        self._buf += data
        out: list[Item] = []
        while self._buf:
            run = _V7_REALTIME_RUN.match(self._buf)
            if run:
                self._take_run(run, 9)
                continue
            if not self._step(out):
                break
        return out + self._flush()

    def _step(self, out: list[Item]) -> bool:
        """Consume one packet or garbage run from the buffer; False when more bytes are needed."""
        buf = self._buf
        next_type = next((i for i in range(1, len(buf)) if not buf[i] & 0x80), None)
        if buf[0] & 0x80:
            self._discard(next((i for i, b in enumerate(buf) if not b & 0x80), len(buf)), "no type byte", out)
            return True
        packet_type = buf[0]
        need = V7_LENGTHS.get(packet_type)
        if need is None and packet_type not in V7_VARIABLE:
            self._discard(1, f"unknown packet type 0x{packet_type:02X}", out)
            return True
        if need is None:  # a reply of unknown length: it ends where the next packet starts
            if next_type is None:
                if len(buf) > V7_MAX_FRAME:
                    self._discard(len(buf), f"packet 0x{packet_type:02X} too long", out)
                    return True
                return False
            if next_type < 2:  # a type byte without its high byte
                self._discard(next_type, f"truncated packet 0x{packet_type:02X}", out)
                return True
            need = next_type
        elif next_type is not None and next_type < need:
            self._discard(next_type, f"truncated packet 0x{packet_type:02X}", out)
            return True
        if len(buf) < need:
            return False
        frame = self._take(need)
        if frame[0] == 0x01:
            self._pending.append(v7_realtime_sample(v7_unpack(frame)))
        else:
            out.extend(self._flush())
            out.extend(self._packet(frame[0], v7_unpack(frame)))
        return True

    def _packet(self, packet_type: int, d: bytes) -> list[Item]:
        if packet_type == 0x0F:
            return _stored_pairs(d)
        if packet_type == 0x0D:
            reason = DISCONNECT_REASONS.get(d[0], f"code {d[0]}")
            return [LinkEvent(LinkEventKind.DEVICE_NOTICE, f"disconnect: {reason}")]
        if packet_type == 0x0C:
            return [LinkEvent(LinkEventKind.DEVICE_NOTICE, "idle")]
        return []  # identification and feedback replies: framed and counted, not shown


def _stored_pairs(d: bytes) -> list[Item]:
    out: list[Item] = []
    stored = frozenset({"stored"})
    for spo2, pulse in zip(d[0::2], d[1::2], strict=False):
        if spo2 == 0 and pulse == 0:
            continue  # zero padding at the end of a download
        out.append(Reading("spo2", _valid(spo2, finger_out=False, invalid=0x7F), "%", stored))
        out.append(Reading("pulse_rate", _valid(pulse, finger_out=False, invalid=0xFF), "bpm", stored))
    return out


# ---------------------------------------------------------------------------------------------------- legacy


def legacy_sample(p: bytes) -> ContecSample:
    finger_out, probe_error = bool(p[0] & 0x10), bool(p[2] & 0x10)
    off = finger_out or probe_error
    return ContecSample(
        pleth=p[1] & 0x7F,
        spo2=None if off or not 0 < p[4] <= 100 else p[4],
        pulse_rate=_valid((p[2] & 0x40) << 1 | p[3] & 0x7F, finger_out=off, invalid=0xFF),
        finger_out=finger_out,
        probe_error=probe_error,
        searching=bool(p[2] & 0x20),
        spo2_dropping=bool(p[0] & 0x20),
        pulse_beep=bool(p[0] & 0x40),
        signal=p[0] & 0x0F,
        bar=p[2] & 0x0F,
    )


def encode_legacy(s: ContecSample) -> bytes:
    pulse = s.pulse_rate or 0
    spo2 = s.spo2 or 0
    b1 = 0x80 | s.pulse_beep << 6 | s.spo2_dropping << 5 | s.finger_out << 4 | s.signal & 0xF
    b3 = (pulse >> 7 & 1) << 6 | s.searching << 5 | s.probe_error << 4 | s.bar & 0xF
    return bytes([b1, s.pleth & 0x7F, b3, pulse & 0x7F, spo2 & 0x7F])


_LEGACY_RUN = re.compile(rb"(?:[\x80-\xff][\x00-\x7f]{4})+")  # see _V7_REALTIME_RUN


@functools.lru_cache(maxsize=8192)
def _legacy_sample_of(packet: bytes) -> ContecSample:
    return legacy_sample(packet)


class ContecLegacyDecoder(_BitSevenFramer):
    protocol = "contec-legacy"
    _sample_of = staticmethod(_legacy_sample_of)

    def __init__(self) -> None:
        super().__init__(_OximeterOutput(with_pi=False))

    def feed(self, data: bytes) -> list[Item]:
        self.stats.bytes_in += len(data)
        self._buf += data
        out: list[Item] = []
        while self._buf:
            buf = self._buf
            run = _LEGACY_RUN.match(buf)
            if run:
                self._take_run(run, 5)
                continue
            if not buf[0] & 0x80:
                self._discard(next((i for i, b in enumerate(buf) if b & 0x80), len(buf)), "no sync byte", out)
                continue
            early = next((i for i in range(1, min(5, len(buf))) if buf[i] & 0x80), None)
            if early is not None:
                self._discard(early, "truncated packet", out)
                continue
            if len(buf) < 5:
                break
            self._pending.append(legacy_sample(self._take(5)))
        return out + self._flush()


# ------------------------------------------------------------------------------------------------ simulators

STREAM_TIMEOUT_S = 10.0  # a v7 device stops streaming when the host has been silent this long


def _sample_from(v: VitalsSnapshot, pleth: float) -> ContecSample:
    if v.sensor_off:
        return ContecSample(PLETH_PROBE_ERROR, None, None, None, finger_out=True)
    level = max(0, min(127, round(8 + 110 * pleth)))
    return ContecSample(
        pleth=level,
        spo2=None if v.spo2 is None else round(v.spo2),
        pulse_rate=None if v.pulse_rate is None else round(v.pulse_rate),
        perfusion_index=None if v.perfusion_index is None else round(v.perfusion_index, 2),
        searching=v.artifact,
        signal=2 if v.artifact else 6,
        bar=int(pleth * 15),
    )


class _ContecStreamSimulator(DeviceSimulator):
    """60 packets per second of simulated time, vitals sampled once per second of model time."""

    def __init__(self, model: PatientModel) -> None:
        self.model = model
        self._t = 0.0
        self._packets = 0
        self._connected = True

    @property
    def connected(self) -> bool:
        return self._connected

    def _streaming(self) -> bool:
        return True

    @abstractmethod
    def _encode(self, sample: ContecSample) -> bytes:
        """One packet in this family's framing."""

    def advance(self, dt_s: float) -> bytes:
        self._t += dt_s
        due = int(self._t * PLETH_RATE_HZ + 1e-6)  # summed float steps land just short of whole packets
        n, first = due - self._packets, self._packets
        self._packets = due
        if n <= 0 or not self._streaming():
            return b""
        t0 = first / PLETH_RATE_HZ
        pleth = self.model.pleth(t0, n, PLETH_RATE_HZ)
        out = bytearray()
        vitals: VitalsSnapshot | None = None
        for i in range(n):
            if vitals is None or (first + i) % int(PLETH_RATE_HZ) == 0:
                vitals = self.model.vitals(t0 + i / PLETH_RATE_HZ)
                self._connected = vitals.connected
            if vitals.connected:
                out += self._encode(_sample_from(vitals, float(pleth[i])))
        return bytes(out)


class ContecV7Simulator(_ContecStreamSimulator):
    """A CMS50D+ 4.6+: silent until START_REALTIME, stops when no command came for STREAM_TIMEOUT_S."""

    protocol = "contec-v7"

    def __init__(self, model: PatientModel) -> None:
        super().__init__(model)
        self._started = False
        self._last_contact = 0.0
        self._commands = bytearray()

    def _streaming(self) -> bool:
        if self._started and self._t - self._last_contact > STREAM_TIMEOUT_S:
            self._started = False
        return self._started

    def _encode(self, sample: ContecSample) -> bytes:
        return encode_v7_realtime(sample)

    def receive(self, data: bytes) -> bytes:
        self._commands += data
        reply = bytearray()
        while (start := self._commands.find(0x7D)) >= 0 and len(self._commands) - start >= 9:
            frame = bytes(self._commands[start : start + 9])
            del self._commands[: start + 9]
            if any(not b & 0x80 for b in frame[1:]):
                continue  # not a well-formed command: a real device ignores it
            reply += self._command(v7_unpack(frame)[0])
        if len(self._commands) > 64:
            del self._commands[:-8]
        return bytes(reply)

    def _command(self, cmd: int) -> bytes:
        self._last_contact = self._t
        if cmd == 0xA1:
            self._started = True
        elif cmd == 0xA2:
            self._started = False
            return v7_pack(0x0C, b"")
        return b""


class ContecLegacySimulator(_ContecStreamSimulator):
    """An older CMS50D+: streams from power-on, no commands."""

    protocol = "contec-legacy"

    def _encode(self, sample: ContecSample) -> bytes:
        return encode_legacy(sample)


_OXIMETER_TRACKS = (TrackSpec("pleth", PLETH_RATE_HZ), TrackSpec("spo2", 1.0), TrackSpec("pulse_rate", 1.0))

CONTEC_V7 = DeviceDescriptor(
    protocol="contec-v7",
    title="Contec CMS50D+/EW/F (protocol V7.0)",
    link="serial",
    decoder=ContecV7Decoder,
    tracks=(*_OXIMETER_TRACKS, TrackSpec("perfusion_index", 1.0)),
    serial=SerialSettings(baudrate=115200),
    start_command=START_REALTIME,
    keepalive=Keepalive(INFORM_CONNECTED, 5.0),
    simulator=ContecV7Simulator,
    notes="Firmware 4.6 and later. Streams only after the start command and while the host keeps it alive.",
)

CONTEC_LEGACY = DeviceDescriptor(
    protocol="contec-legacy",
    title="Contec CMS50D+/E (legacy stream protocol)",
    link="serial",
    decoder=ContecLegacyDecoder,
    tracks=_OXIMETER_TRACKS,
    serial=SerialSettings(baudrate=19200, parity="O", xonxoff=True),
    simulator=ContecLegacySimulator,
    notes="Older firmware. If nothing decodes, try 19200 8N1, then 4800 8N1.",
)
