"""Nonin data format #7: 5-byte frames with a 16-bit pleth sample, 75 frames/s (protocols.md section 6.2).

``STATUS (>= 0x80) | PLETH MSB | PLETH LSB | FLOAT | CHK = sum(bytes 1..4) mod 256``. There is no start byte
and the pleth bytes may themselves be >= 0x80, so sync is declared only after three consecutive good frames.
"""

from __future__ import annotations

from collections.abc import Sequence

from kapmonitor.devices.nonin.framing import CHECKSUM, RESYNC
from kapmonitor.devices.nonin.packet import encode_packet
from kapmonitor.devices.nonin.stream import NoninFrameDecoder, frame_checksum

PLETH_MAX = 0xFFFF


class NoninDf7Decoder(NoninFrameDecoder):
    protocol = "nonin-df7"
    confirm_frames = 3

    @staticmethod
    def check_frame(frame: bytes) -> str | None:
        if frame[0] < 0x80:
            return RESYNC
        if frame_checksum(frame[:4]) != frame[4]:
            return CHECKSUM
        return None

    @staticmethod
    def unpack_frame(frame: bytes) -> tuple[int, int, int]:
        return frame[0], (frame[1] << 8) | frame[2], frame[3]


def encode_df7_frame(status: int, pleth: int, float_byte: int) -> bytes:
    first = bytes((status | 0x80, (pleth >> 8) & 0xFF, pleth & 0xFF, float_byte & 0xFF))
    return first + bytes((frame_checksum(first),))


def encode_df7_packet(
    pleth: Sequence[int],
    *,
    spo2: int | None,
    pulse_rate: int | None,
    flags: frozenset[str] = frozenset(),
    timer: int = 0,
) -> bytes:
    """One 25-frame packet (1/3 s): 25 pleth samples (0..65535), the values and flags it reports."""
    return encode_packet(
        encode_df7_frame, PLETH_MAX, pleth, spo2=spo2, pulse_rate=pulse_rate, flags=flags, timer=timer
    )
