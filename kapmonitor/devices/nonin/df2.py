"""Nonin data format #2: 5-byte frames with an 8-bit pleth sample, 75 frames/s (protocols.md section 6.1).

``START 0x01 | STATUS | PLETH | FLOAT | CHK = sum(bytes 1..4) mod 256``. The start byte, the status bit 7 and
the checksum together are strong enough to take sync on one good frame, as the Pufferfish firmware does.
"""

from __future__ import annotations

from collections.abc import Sequence

from kapmonitor.devices.nonin.framing import CHECKSUM, RESYNC
from kapmonitor.devices.nonin.packet import encode_packet
from kapmonitor.devices.nonin.stream import NoninFrameDecoder, frame_checksum

START = 0x01
PLETH_MAX = 0xFF


class NoninDf2Decoder(NoninFrameDecoder):
    protocol = "nonin-df2"
    confirm_frames = 1

    @staticmethod
    def check_frame(frame: bytes) -> str | None:
        if frame[0] != START or not frame[1] & 0x80:
            return RESYNC
        if frame_checksum(frame[:4]) != frame[4]:
            return CHECKSUM
        return None

    @staticmethod
    def unpack_frame(frame: bytes) -> tuple[int, int, int]:
        return frame[1], frame[2], frame[3]


def encode_df2_frame(status: int, pleth: int, float_byte: int) -> bytes:
    first = bytes((START, status | 0x80, pleth & 0xFF, float_byte & 0xFF))
    return first + bytes((frame_checksum(first),))


def encode_df2_packet(
    pleth: Sequence[int],
    *,
    spo2: int | None,
    pulse_rate: int | None,
    flags: frozenset[str] = frozenset(),
    timer: int = 0,
) -> bytes:
    """One 25-frame packet (1/3 s): 25 pleth samples (0..255), the values and flags it reports."""
    return encode_packet(
        encode_df2_frame, PLETH_MAX, pleth, spo2=spo2, pulse_rate=pulse_rate, flags=flags, timer=timer
    )
