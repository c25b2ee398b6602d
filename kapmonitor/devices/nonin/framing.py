"""Buffer, stream offsets and garbage-run bookkeeping shared by the Nonin decoders.

A subclass implements :meth:`_decode`, which looks at the unread bytes with :meth:`_available` / :meth:`_peek`
and either takes a whole frame (:meth:`_accept`), skips a byte it cannot frame (:meth:`_skip`), or returns to
wait for more input. Skipped bytes are gathered into one *garbage run* that becomes a single
:class:`~kapmonitor.core.readings.DecodeError` when a frame is found again, so a burst of line noise is one
error item rather than one per byte.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable
from typing import ClassVar

from kapmonitor.core.readings import DecodeError, Item
from kapmonitor.devices.base import Decoder

# Why a run of bytes was skipped. "checksum": it began with a frame whose structure looked right but whose
# checksum failed; "resync": bytes that do not start a frame; "truncated": an incomplete frame at the end of
# the input.
RESYNC = "resync"
CHECKSUM = "checksum"
TRUNCATED = "truncated"


def bytes_skipped(n: int) -> str:
    return f"{n} byte skipped" if n == 1 else f"{n} bytes skipped"


class FramedDecoder(Decoder):
    """A decoder over a byte buffer with absolute stream offsets and coalesced error reporting."""

    # An endless garbage stream is still reported, in pieces of this many bytes.
    max_garbage_run: ClassVar[int] = 4096

    def __init__(self) -> None:
        super().__init__()
        self._buf = bytearray()
        self._pos = 0  # next unread byte in _buf
        self._base = 0  # stream offset of _buf[0]
        self._run_start: int | None = None
        self._run_len = 0
        self._run_reason = RESYNC
        self._out: list[Item] = []

    # -- the public side ---------------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Item]:
        self.stats.bytes_in += len(data)
        self._buf += data
        self._out = []
        try:
            self._decode()
        except Exception as exc:  # a decoder bug must not kill the link thread; it shows as an error item
            self._emit(DecodeError("internal", self._here(), f"{type(exc).__name__}: {exc}"))
            self._skip(self._available(), RESYNC)
        overflow = self._available() - self.max_buffer
        if overflow > 0:  # a subclass waiting for more than it may hold: give the oldest bytes up
            self._skip(overflow, RESYNC)
        self._compact()
        return self._out

    def finish(self) -> list[Item]:
        """The input has ended: report what is held (pending samples, a partial frame, a garbage run)."""
        self._out = []
        self._end_of_stream()
        if self._available():
            self._skip(self._available(), TRUNCATED)
        self._close_run(resynced=False)
        self._compact()
        return self._out

    @property
    def buffered(self) -> int:
        """Bytes held for the next call (bounded by ``max_buffer``)."""
        return len(self._buf) - self._pos

    # -- for subclasses ----------------------------------------------------------------------------------

    @abstractmethod
    def _decode(self) -> None:
        """Consume as many frames as the unread bytes allow; return when more input is needed."""

    def _end_of_stream(self) -> None:
        """Hook for :meth:`finish`: emit anything held back for a packet that will never complete."""

    def _available(self) -> int:
        return len(self._buf) - self._pos

    def _peek(self, n: int, start: int = 0) -> bytes:
        return bytes(self._buf[self._pos + start : self._pos + start + n])

    def _here(self) -> int:
        return self._base + self._pos

    def _emit(self, item: Item) -> None:
        self._out.append(item)

    def _emit_all(self, items: Iterable[Item]) -> None:
        self._out.extend(items)

    def _accept(self, n: int) -> None:
        """Take a good frame of ``n`` bytes; a garbage run before it ends here."""
        self._close_run(resynced=True)
        self.stats.frames_ok += 1
        self._pos += n

    def _skip(self, n: int = 1, reason: str = RESYNC) -> None:
        """Give up ``n`` bytes; ``reason`` names the run only if this starts one."""
        if n <= 0:
            return
        if self._run_start is None:
            self._run_start = self._here()
            self._run_len = 0
            self._run_reason = reason
        self._run_len += n
        self._pos += n
        if self._run_len >= self.max_garbage_run:
            self._close_run(resynced=False)

    def _skip_bytes(self, n: int, reason: str = RESYNC) -> None:
        """The same as ``n`` calls of ``_skip(1, reason)``, in pieces: runs still break at ``max_garbage_run``."""
        while n > 0:
            room = self.max_garbage_run - (self._run_len if self._run_start is not None else 0)
            step = min(n, room)
            self._skip(step, reason)
            n -= step

    def _close_run(self, *, resynced: bool) -> None:
        if self._run_start is None:
            return
        self._emit(DecodeError(self._run_reason, self._run_start, bytes_skipped(self._run_len)))
        self.stats.bytes_discarded += self._run_len
        if resynced:
            self.stats.resyncs += 1
        self._run_start = None
        self._run_len = 0

    def _compact(self) -> None:
        del self._buf[: self._pos]
        self._base += self._pos
        self._pos = 0
