"""The 5-byte frames of Nonin data formats #2 and #7: acquire sync, follow it, resync after garbage."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from kapmonitor.devices.nonin.framing import CHECKSUM, FramedDecoder
from kapmonitor.devices.nonin.packet import FRAME_RATE_HZ, PacketAssembler

FRAME_LEN = 5


def frame_checksum(first_four: bytes | list[int]) -> int:
    return sum(first_four) & 0xFF


class NoninFrameDecoder(FramedDecoder):
    """Finds 5-byte frames and hands them to a :class:`PacketAssembler`.

    Out of sync, it slides one byte at a time until ``confirm_frames`` consecutive frames check out at that
    position. In sync, each frame must check out; the first one that does not drops sync (a checksum failure
    is counted as such) and the search starts again at the next byte.
    """

    confirm_frames: ClassVar[int]

    def __init__(self) -> None:
        super().__init__()
        self._synced = False
        self.packets = PacketAssembler(FRAME_RATE_HZ)

    @staticmethod
    @abstractmethod
    def check_frame(frame: bytes) -> str | None:
        """None for a good frame; otherwise why not: "checksum" (structure fine, sum wrong) or "resync"."""

    @staticmethod
    @abstractmethod
    def unpack_frame(frame: bytes) -> tuple[int, int, int]:
        """(STATUS, pleth sample, FLOAT byte) of a good frame."""

    @property
    def partial_packets(self) -> int:
        """Packets cut short by an early SYNC frame (frames lost on the way)."""
        return self.packets.partial_packets

    def _decode(self) -> None:
        while True:
            if not self._synced:
                found = self._confirmed_here()
                if found is None:
                    return
                if not found:
                    self._skip(1)
                    continue
                self._synced = True
            problem = self._follow()
            if problem is None:
                return
            self._synced = False
            if problem == CHECKSUM:
                self.stats.checksum_errors += 1
            self._emit_all(self.packets.lost_sync())
            self._skip(1, problem)

    def _follow(self) -> str | None:
        """Take good frames while in sync; the problem of the first bad frame, or None when bytes run out.

        This is the hot loop (75 frames a second per device, far more when replaying a file): it does what
        ``_peek`` + ``_accept`` + ``packets.frame`` do, with the lookups hoisted out of the loop."""
        buf, check, unpack, assemble, out, stats = (
            self._buf, self.check_frame, self.unpack_frame, self.packets.frame, self._out, self.stats
        )
        if self._run_start is not None and len(buf) - self._pos >= FRAME_LEN and check(self._peek(FRAME_LEN)) is None:
            self._close_run(resynced=True)  # the garbage run before this frame ends here
        pos, last, base = self._pos, len(buf) - FRAME_LEN, self._base
        try:
            while pos <= last:
                frame = bytes(buf[pos : pos + FRAME_LEN])
                problem = check(frame)
                if problem is not None:
                    return problem
                stats.frames_ok += 1
                pos += FRAME_LEN
                status, pleth, float_byte = unpack(frame)
                out.extend(assemble(status, pleth, float_byte, base + pos - FRAME_LEN))
            return None
        finally:
            self._pos = pos  # kept in a local in the loop, written back once

    def _confirmed_here(self) -> bool | None:
        """Whether ``confirm_frames`` good frames start at the read position; None if bytes are missing."""
        for k in range(self.confirm_frames):
            if self._available() < (k + 1) * FRAME_LEN:
                return None
            if self.check_frame(self._peek(FRAME_LEN, k * FRAME_LEN)) is not None:
                return False
        return True

    def _end_of_stream(self) -> None:
        self._emit_all(self.packets.lost_sync())
        self._synced = False
