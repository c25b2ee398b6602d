"""Contec ``contec-legacy`` (older firmware): 5-byte packets, bit 7 set on the first byte only, sent unasked."""

from __future__ import annotations

import functools
import re

from kapmonitor.core.readings import Item
from kapmonitor.devices.contec.stream import BitSevenFramer, ContecSample, OximeterOutput, valid_value


def legacy_sample(p: bytes) -> ContecSample:
    finger_out, probe_error = bool(p[0] & 0x10), bool(p[2] & 0x10)
    off = finger_out or probe_error
    return ContecSample(
        pleth=p[1] & 0x7F,
        spo2=None if off or not 0 < p[4] <= 100 else p[4],
        pulse_rate=valid_value((p[2] & 0x40) << 1 | p[3] & 0x7F, finger_out=off, invalid=0xFF),
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


class ContecLegacyDecoder(BitSevenFramer):
    protocol = "contec-legacy"
    _sample_of = staticmethod(_legacy_sample_of)
    _run = _LEGACY_RUN
    _packet_size = 5

    def __init__(self) -> None:
        super().__init__(OximeterOutput(with_pi=False))

    def _step(self, out: list[Item]) -> bool:
        buf = self._buf
        if not buf[0] & 0x80:
            self._discard(next((i for i, b in enumerate(buf) if b & 0x80), len(buf)), "no sync byte", out)
            return True
        early = next((i for i in range(1, min(5, len(buf))) if buf[i] & 0x80), None)
        if early is not None:
            self._discard(early, "truncated packet", out)
            return True
        if len(buf) < 5:
            return False
        self._pending.append(legacy_sample(self._take(5)))
        return True
