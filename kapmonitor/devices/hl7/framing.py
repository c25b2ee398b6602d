"""Cutting a byte stream into HL7 messages: MLLP frames (``0x0B`` message ``0x1C 0x0D``), or plain text with one
message per blank-line separated block (a file a technician saved, a message pasted from a log).

Pure and incremental like every decoder: bytes in, whole messages and framing problems out, never trusting read
boundaries. The buffer is bounded: a message longer than ``max_message`` is skipped to its end and reported
once, so a 10 MB message costs that message and nothing after it.
"""

from __future__ import annotations

from dataclasses import dataclass

START_BLOCK = 0x0B
END_BLOCK = 0x1C
CR = 0x0D
MAX_MESSAGE = 1_000_000  # a vital-signs ORU^R01 is a few kB; a minute of waveform a few hundred kB
_WHITESPACE = b" \t\r\n"


def mllp_frame(message: bytes) -> bytes:
    return bytes([START_BLOCK]) + message + bytes([END_BLOCK, CR])


@dataclass(frozen=True, slots=True)
class Framed:
    """One complete message, and where it began in the stream."""

    message: bytes
    offset: int


@dataclass(frozen=True, slots=True)
class FramingProblem:
    """Bytes that are not a whole message: ``garbage`` (outside a frame), ``too_large``, ``truncated``."""

    reason: str
    offset: int
    detail: str


Framing = Framed | FramingProblem


class MessageFramer:
    """Finds messages in a stream. The first byte that is not white space decides the mode: ``0x0B`` MLLP,
    anything else plain text. An MLLP stream may still carry stray bytes between frames (reported as garbage)."""

    def __init__(self, max_message: int = MAX_MESSAGE, mode: str | None = None) -> None:
        self.max_message = max_message
        self.mode = mode  # "mllp" | "text"; None: decided by the first byte that is not white space
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._in_frame = False
        self._skipping = False  # inside a frame too large to keep: discard to its end
        self._frame_at = 0
        self._garbage_at: int | None = None
        self._garbage = 0
        self._lines: list[bytes] = []  # text mode: the segments of the message being read
        self._text_at = 0
        self._text_size = 0
        self.bytes_discarded = 0

    # ---- public ----------------------------------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Framing]:
        if not data:
            return []
        if self.mode is None:
            stripped = data.lstrip(_WHITESPACE)
            if not stripped:
                self._base += len(data)
                return []
            self.mode = "mllp" if stripped[0] == START_BLOCK else "text"
        self._buf += data
        return self._mllp() if self.mode == "mllp" else self._text(final=False)

    def finish(self) -> list[Framing]:
        """The end of the input: a frame still open was cut short; a text block still open is complete."""
        if self.mode == "text":
            return self._text(final=True)
        out: list[Framing] = []
        self._flush_garbage(out)
        if self._in_frame:
            kept = len(self._buf)
            out.append(FramingProblem("truncated", self._frame_at, f"the stream ended inside a message ({kept} bytes)"))
            self.bytes_discarded += kept
        self._buf.clear()
        self._in_frame = self._skipping = False
        return out

    @property
    def pending(self) -> int:
        """Bytes held for an unfinished message."""
        return len(self._buf)

    # ---- MLLP --------------------------------------------------------------------------------------------------

    def _mllp(self) -> list[Framing]:
        out: list[Framing] = []
        buf = self._buf
        pos = 0
        while pos < len(buf):
            if not self._in_frame:
                start = buf.find(START_BLOCK, pos)
                stop = len(buf) if start < 0 else start
                self._note_garbage(buf, pos, stop)
                if start < 0:
                    pos = len(buf)
                    break
                self._flush_garbage(out)
                self._in_frame, self._skipping, self._frame_at = True, False, self._base + start
                pos = start + 1
                continue
            end = buf.find(END_BLOCK, pos)
            restart = buf.find(START_BLOCK, pos, len(buf) if end < 0 else end)
            if restart >= 0:  # a new frame began before this one ended: the sender restarted mid-message
                out.append(FramingProblem("truncated", self._frame_at, "a new message began before this one ended"))
                self.bytes_discarded += restart - pos
                self._in_frame = False
                pos = restart
                continue
            if end < 0:
                if self._skipping or len(buf) - pos > self.max_message:
                    self._start_skipping(out)
                    self.bytes_discarded += len(buf) - pos
                    pos = len(buf)
                break
            body_start = pos
            pos = end + 1
            if pos < len(buf) and buf[pos] == CR:  # a CR in the next read is white space between frames
                pos += 1
            self._in_frame = False
            if self._skipping or end - body_start > self.max_message:
                self._start_skipping(out)
                self.bytes_discarded += end - body_start
                self._skipping = False
                continue
            out.append(Framed(bytes(buf[body_start:end]), self._frame_at))
        del buf[:pos]
        self._base += pos
        if not self._in_frame and buf[:1] == bytes([CR]):  # the CR that ends a frame, read on its own
            del buf[:1]
            self._base += 1
        return out

    def _start_skipping(self, out: list[Framing]) -> None:
        if not self._skipping:
            out.append(
                FramingProblem(
                    "too_large",
                    self._frame_at,
                    f"message longer than {self.max_message} bytes: skipped to its end",
                )
            )
            self._skipping = True

    def _note_garbage(self, buf: bytearray, start: int, stop: int) -> None:
        chunk = bytes(buf[start:stop]).strip(_WHITESPACE)
        if chunk:
            if self._garbage_at is None:
                self._garbage_at = self._base + start
            self._garbage += stop - start
            self.bytes_discarded += stop - start

    def _flush_garbage(self, out: list[Framing]) -> None:
        if self._garbage_at is not None:
            out.append(FramingProblem("garbage", self._garbage_at, f"{self._garbage} bytes outside an MLLP frame"))
            self._garbage_at, self._garbage = None, 0

    # ---- plain text ----------------------------------------------------------------------------------------------

    def _text(self, final: bool) -> list[Framing]:
        """Segments end on CR, LF or CRLF; a blank line, or a new MSH, ends a message."""
        out: list[Framing] = []
        buf = self._buf
        lines: list[tuple[int, bytes]] = []
        pos = 0
        while True:
            cut = _line_end(buf, pos)
            if cut < 0 or (cut == len(buf) - 1 and buf[cut] == CR and not final):
                break  # a CR at the end may be half of a CRLF whose LF is in the next read
            lines.append((pos, bytes(buf[pos:cut])))
            pos = cut + 1
        rest = bytes(buf[pos:])
        if final and rest.strip(_WHITESPACE):
            lines.append((pos, rest))
            pos = len(buf)
        for at, line in lines:
            self._text_line(out, self._base + at, line)
        del buf[:pos]
        self._base += pos
        if len(buf) > self.max_message:  # one line longer than any message: drop it
            self._start_text_skip(out, self._base)
            self.bytes_discarded += len(buf)
            self._base += len(buf)
            buf.clear()
        if final:
            self._end_text_message(out)
        return out

    def _text_line(self, out: list[Framing], at: int, line: bytes) -> None:
        content = line.strip(b"\r\n")
        if not content.strip(_WHITESPACE):
            self._end_text_message(out)
            return
        if content.startswith(b"MSH") and self._lines:
            self._end_text_message(out)
        if not self._lines:
            self._text_at, self._text_size, self._skipping = at, 0, False
        self._text_size += len(content) + 1
        if self._text_size > self.max_message:
            self._start_text_skip(out, self._text_at)
            self.bytes_discarded += len(content) + 1
            self._lines = [b"\x00"]  # a placeholder: the block goes on until its blank line
            return
        if not self._skipping:
            self._lines.append(content)

    def _start_text_skip(self, out: list[Framing], at: int) -> None:
        if not self._skipping:
            out.append(
                FramingProblem("too_large", at, f"message longer than {self.max_message} bytes: skipped to its end")
            )
            self._skipping = True

    def _end_text_message(self, out: list[Framing]) -> None:
        if self._lines and not self._skipping:
            out.append(Framed(b"\r".join(self._lines), self._text_at))
        self._lines = []
        self._skipping = False


def _line_end(buf: bytearray, pos: int) -> int:
    """The index of the next CR or LF at or after ``pos`` (-1 if none); a CRLF pair counts as its LF."""
    cr = buf.find(b"\r", pos)
    lf = buf.find(b"\n", pos)
    if cr < 0:
        return lf
    if lf < 0:
        return cr
    if lf == cr + 1:
        return lf
    return min(cr, lf)
