"""Contec ``contec-v7`` (firmware 4.6+): bit 7 of each data byte carried in a "high byte"; commands; stored pairs."""

from __future__ import annotations

import functools
import re

from kapmonitor.core.readings import Item, LinkEvent, LinkEventKind, Reading
from kapmonitor.devices.contec.stream import BitSevenFramer, ContecSample, OximeterOutput, valid_value

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
        spo2=valid_value(d[4], finger_out=finger_out, invalid=0x7F),
        pulse_rate=valid_value(d[3], finger_out=finger_out, invalid=0xFF),
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


class ContecV7Decoder(BitSevenFramer):
    protocol = "contec-v7"
    _sample_of = staticmethod(_v7_sample_of)
    _run = _V7_REALTIME_RUN
    _packet_size = 9

    def __init__(self) -> None:
        super().__init__(OximeterOutput(with_pi=True))

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
        out.append(Reading("spo2", valid_value(spo2, finger_out=False, invalid=0x7F), "%", stored))
        out.append(Reading("pulse_rate", valid_value(pulse, finger_out=False, invalid=0xFF), "bpm", stored))
    return out
