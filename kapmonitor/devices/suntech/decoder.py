"""SunTech module replies in, readings and link events out: pure and incremental."""

from __future__ import annotations

import functools

from kapmonitor.core.readings import DecodeError, Item, LinkEvent, LinkEventKind, Reading
from kapmonitor.devices.base import Decoder
from kapmonitor.devices.suntech.frames import (
    COMPLETE,
    CUFF_LEN,
    MAX_FRAME,
    MIN_FRAME,
    MODULE_START,
    PROTOCOL,
    RESULT_LEN,
    STATUS_LEN,
    BpResult,
    error_reason,
)


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
