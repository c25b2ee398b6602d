"""What the recorder holds until the database has it: numeric rows, link events, and waveform rows being
merged.

Decoders hand over waveforms in chunks of about a third of a second; a stored row holds about one second. A
track's newest row stays *open*: it is written as soon as it exists and rewritten as later chunks extend it,
so nothing waits for a row to fill before reaching the disk. Chunks are merged only when they continue the row
exactly (same rate and flags, first sample where the row's next sample falls); anything else starts a new row,
so every stored sample keeps its time ``t_us + i / rate_hz``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from kapmonitor.core.clock import US_PER_S
from kapmonitor.core.readings import Item, LinkEvent, Reading, WaveChunk
from kapmonitor.store.wave_codec import encode

# Chunk start times come from a sample clock that rounds to whole microseconds; allow that rounding, nothing
# more.
CONTIGUITY_TOLERANCE_US = 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

TrackKey = tuple[int, str, str]  # (session id, device, metric)


def flags_text(flags: Iterable[str]) -> str:
    return ",".join(sorted(flags))


def device_time_us(t: datetime | None) -> int | None:
    """A device's clock (naive local time as the device keeps it, or aware) as UTC microseconds."""
    if t is None:
        return None
    aware = t if t.tzinfo is not None else t.astimezone()
    return (aware - _EPOCH) // timedelta(microseconds=1)


@dataclass
class WaveRow:
    session_id: int
    device: str
    metric: str
    t_us: int
    rate_hz: float
    flags: str
    samples: bytearray
    n_samples: int
    row_id: int | None = None  # set once the database holds this row
    dirty: bool = True  # changed since last written
    closed: bool = False  # about a second long, or followed by a gap: no more chunks join it
    queued: bool = True  # in Pending.waves, waiting to be written

    @classmethod
    def start(cls, session_id: int, chunk: WaveChunk) -> WaveRow:
        data = bytearray(np.asarray(chunk.samples, dtype="<i4").tobytes())
        return cls(
            session_id,
            chunk.device,
            chunk.metric,
            chunk.t_us,
            chunk.rate_hz,
            flags_text(chunk.flags),
            data,
            len(chunk.samples),
        )

    def next_sample_us(self) -> int:
        return self.t_us + round(self.n_samples * US_PER_S / self.rate_hz)

    def continued_by(self, chunk: WaveChunk) -> bool:
        return (
            not self.closed
            and chunk.rate_hz == self.rate_hz
            and flags_text(chunk.flags) == self.flags
            and abs(chunk.t_us - self.next_sample_us()) <= CONTIGUITY_TOLERANCE_US
        )

    def append(self, chunk: WaveChunk) -> None:
        self.samples += np.asarray(chunk.samples, dtype="<i4").tobytes()
        self.n_samples += len(chunk.samples)
        self.dirty = True
        if self.n_samples >= self.rate_hz:
            self.closed = True

    def stored_samples(self) -> bytes:
        """The samples as the database keeps them (``wave_codec``: 8-bit second differences or 16-bit steps when they
        fit)."""
        return encode(np.frombuffer(self.samples, dtype="<i4"))

    def values(self) -> dict[str, object]:
        return {
            "t_us": self.t_us,
            "rate_hz": self.rate_hz,
            "n_samples": self.n_samples,
            "samples": self.stored_samples(),
            "flags": self.flags,
            "metric": self.metric,
        }


@dataclass
class Pending:
    """Rows not yet committed, bounded so a database that stays broken cannot exhaust memory."""

    max_rows: int = 200_000
    numerics: list[tuple[int, str, dict[str, object]]] = field(default_factory=list)
    links: list[tuple[int, str, dict[str, object]]] = field(default_factory=list)
    waves: list[WaveRow] = field(default_factory=list)  # closed rows, plus open ones still to write
    open_rows: dict[TrackKey, WaveRow] = field(default_factory=dict)
    dropped: int = 0  # rows given up because the bound was reached

    def add(self, session_id: int, items: Iterable[Item]) -> None:
        for item in items:
            if isinstance(item, Reading):
                self.numerics.append(
                    (
                        session_id,
                        item.device,
                        {
                            "metric": item.metric,
                            "t_us": item.t_us,
                            "t_device_us": device_time_us(item.t_device),
                            "value": None if item.value is None else float(item.value),
                            "flags": flags_text(item.flags),
                        },
                    )
                )
            elif isinstance(item, WaveChunk) and item.samples:
                self._add_chunk(session_id, item)
            elif isinstance(item, LinkEvent):
                self.links.append(
                    (session_id, item.device, {"t_us": item.t_us, "kind": item.kind.value, "detail": item.detail})
                )
        self._enforce_bound()

    def _add_chunk(self, session_id: int, chunk: WaveChunk) -> None:
        key = (session_id, chunk.device, chunk.metric)
        row = self.open_rows.get(key)
        if row is not None and row.continued_by(chunk):
            row.append(chunk)
            if not row.queued:
                row.queued = True
                self.waves.append(row)
            return
        if row is not None:
            row.closed = True
        row = self.open_rows[key] = WaveRow.start(session_id, chunk)
        self.waves.append(row)

    def size(self) -> int:
        return len(self.numerics) + len(self.links) + len(self.waves)

    def _enforce_bound(self) -> None:
        excess = self.size() - self.max_rows
        if excess <= 0:
            return
        # Keep the newest data: a clinician reviewing the session needs the recent vitals most.
        for rows in (self.numerics, self.waves, self.links):
            n = min(excess, len(rows))
            if rows is self.waves:
                for row in self.waves[:n]:
                    row.queued = False
            del rows[:n]
            self.dropped += n
            excess -= n

    def devices(self) -> set[tuple[int, str]]:
        return (
            {(s, d) for s, d, _ in self.numerics}
            | {(s, d) for s, d, _ in self.links}
            | {(w.session_id, w.device) for w in self.waves}
        )

    def written(self, new_ids: list[tuple[WaveRow, int]]) -> None:
        """The database committed everything pending, giving new waveform rows these primary keys."""
        for row, row_id in new_ids:
            row.row_id = row_id
        for row in self.waves:
            row.dirty = row.queued = False
        self.numerics.clear()
        self.links.clear()
        self.waves.clear()
        self.open_rows = {k: r for k, r in self.open_rows.items() if not r.closed}

    def forget_sessions_except(self, session_id: int | None) -> None:
        """Open rows of a finished session will never be extended again."""
        self.open_rows = {k: r for k, r in self.open_rows.items() if k[0] == session_id or r.queued}
