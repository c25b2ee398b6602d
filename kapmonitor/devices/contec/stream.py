"""What both Contec families share: one 60 Hz sample per packet, its flags, numerics when they change, pleth as
WaveChunks, and the bit-7 framing loop (no checksum: the bit-7 pattern is the only integrity check).
"""

from __future__ import annotations

import functools
import re
from abc import abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from kapmonitor.core.readings import DecodeError, Item, Reading, WaveChunk
from kapmonitor.devices.base import Decoder

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


def valid_value(value: int, *, finger_out: bool, invalid: int) -> int | None:
    # Finger out arrives as 0/0 (not the documented sentinels); 0 % or 0 bpm is never a measurement here.
    return None if finger_out or value in (0, invalid) else value


class OximeterOutput:
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


class BitSevenFramer(Decoder):
    """Shared buffer bookkeeping: stream offsets, discarding garbage runs, one error per run; ``feed`` takes
    whole runs of real-time packets (``_run``, ``_packet_size`` bytes each) at once and everything else one
    ``_step`` at a time."""

    max_buffer = 64
    _run: ClassVar[re.Pattern[bytes]]
    _packet_size: ClassVar[int]

    def __init__(self, output: OximeterOutput) -> None:
        super().__init__()
        self._output = output
        self._pending: list[ContecSample] = []  # real-time samples decoded in this feed, not yet emitted
        self._buf = bytearray()
        self._buf_start = 0
        self._in_garbage = False
        self._synced = (
            False  # garbage before the first good packet is the usual partial start: count it quietly
        )

    def feed(self, data: bytes) -> list[Item]:
        self.stats.bytes_in += len(data)
        self._buf += data
        out: list[Item] = []
        while self._buf:
            run = self._run.match(self._buf)
            if run:
                self._take_run(run, self._packet_size)
                continue
            if not self._step(out):
                break
        return out + self._flush()

    @abstractmethod
    def _step(self, out: list[Item]) -> bool:
        """Consume one packet or garbage run from the buffer; False when more bytes are needed."""

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
