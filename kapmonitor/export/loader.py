"""A recorded session read once into memory, in the shape every export works from.

``load_session`` reads the session's metadata, its numeric tracks (numpy arrays per device and metric), its
waveform chunks, link events, the clinical record and (when given) the alarm log, through the store's
``SessionRepository.reading`` (the queries live there; this module shapes their rows). Exports take the
resulting ``SessionData`` and never touch the database, so they can be tested and reused on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.core.clock import US_PER_S
from kapmonitor.core.errors import UserError
from kapmonitor.core.metrics import unit_of
from kapmonitor.core.readings import Reading
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.store.repository import SessionRepository, StoredSession
from kapmonitor.store.track_rows import NumericRows, WaveRows
from kapmonitor.store.wave_codec import decode_joined

RecordLoader = Callable[[Engine, int], SessionRecord]


class SessionNotFound(UserError):
    """The database has no session with the asked id."""


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class SessionInfo:
    id: int
    patient: str  # the pseudonymous patient code
    protocol: str
    room: str
    nurse: str
    prescriber: str
    status: str
    start_us: int | None
    end_us: int | None
    devices: tuple[tuple[str, str, str], ...]  # (device id, protocol, address)


@dataclass(frozen=True, eq=False)
class NumericTrack:
    """One device's readings of one metric in time order. ``values`` hold NaN where the device sent no value."""

    device: str
    metric: str
    t_us: np.ndarray  # int64
    values: np.ndarray  # float64
    flags: tuple[str, ...]  # per reading: sorted, comma-separated, "" when none

    @property
    def unit(self) -> str:
        return unit_of(self.metric)

    def __len__(self) -> int:
        return len(self.t_us)

    def readings(self) -> list[Reading]:
        return [
            Reading(
                self.metric,
                None if np.isnan(v) else float(v),
                self.unit,
                frozenset(f for f in flags.split(",") if f),
                t_us=int(t),
                device=self.device,
            )
            for t, v, flags in zip(self.t_us, self.values, self.flags, strict=True)
        ]


@dataclass(frozen=True)
class WaveRun:
    """Samples that follow one another at one rate without a break: ``samples[i]`` is at ``start_us + i/rate``."""

    start_us: int
    rate_hz: float
    samples: np.ndarray  # int32

    @property
    def end_us(self) -> int:
        """The time just after the last sample."""
        return self.start_us + round(len(self.samples) * US_PER_S / self.rate_hz)

    def times_us(self) -> np.ndarray:
        return self.start_us + np.round(np.arange(len(self.samples)) * (US_PER_S / self.rate_hz)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class WaveTrack:
    """One device's waveform as stored: the chunks' first-sample times, rates, samples and flags."""

    device: str
    metric: str
    starts_us: np.ndarray  # int64
    rates_hz: np.ndarray  # float64
    chunks: tuple[np.ndarray, ...]  # int32 each
    flags: tuple[str, ...]

    @property
    def samples(self) -> int:
        return sum(len(c) for c in self.chunks)

    def runs(self, tolerance_us: int | None = None) -> list[WaveRun]:
        """The chunks joined into unbroken runs. A chunk starts a new run when its rate changes or its start is
        more than ``tolerance_us`` (default: half a sample) away from where the run so far says it should be."""
        counts = np.fromiter((len(c) for c in self.chunks), dtype=np.int64, count=len(self.chunks))
        found: list[WaveRun] = []
        first = 0
        while first < len(counts):
            end = self._run_end(first, counts, tolerance_us)
            samples = self.chunks[first] if end == first + 1 else np.concatenate(self.chunks[first:end])
            found.append(WaveRun(int(self.starts_us[first]), float(self.rates_hz[first]), _frozen(samples)))
            first = end
        return found

    def _run_end(self, first: int, counts: np.ndarray, tolerance_us: int | None) -> int:
        """The index of the chunk that starts the next run after the one starting at ``first`` (or the count).

        Checked in growing windows with numpy rather than chunk by chunk: a 4-hour pleth is 14,000 chunks."""
        start, rate = int(self.starts_us[first]), float(self.rates_hz[first])
        tolerance = tolerance_us if tolerance_us is not None else round(US_PER_S / rate / 2)
        low, window = first + 1, 256
        while low < len(counts):
            high = min(len(counts), low + window)
            before = np.cumsum(counts[first:high])[low - first - 1 :]  # samples of the run before each chunk
            expected = start + np.round(before[: high - low] * US_PER_S / rate).astype(np.int64)
            broken = (self.rates_hz[low:high] != rate) | (np.abs(self.starts_us[low:high] - expected) > tolerance)
            if broken.any():
                return low + int(np.argmax(broken))
            low, window = high, window * 4
        return len(counts)


@dataclass(frozen=True)
class LinkEventData:
    t_us: int
    device: str
    kind: str
    detail: str


@dataclass(frozen=True)
class SessionData:
    info: SessionInfo
    numerics: tuple[NumericTrack, ...]
    waves: tuple[WaveTrack, ...]
    link_events: tuple[LinkEventData, ...]
    record: SessionRecord
    alarms: tuple[AlarmEvent, ...] = ()
    audit_head: str = ""  # the audit chain's head (SEQ:HASH) when this was read: every export prints it

    def numeric(self, metric: str) -> list[NumericTrack]:
        return [t for t in self.numerics if t.metric == metric]

    def readings(self, metrics: Iterable[str]) -> list[Reading]:
        """The stored readings of these metrics as ``Reading`` values (what the clinical checks read)."""
        wanted = set(metrics)
        return sorted((r for t in self.numerics if t.metric in wanted for r in t.readings()), key=lambda r: r.t_us)

    def span_us(self) -> tuple[int, int] | None:
        """From the first to the last recorded sample (or the session times when nothing was recorded)."""
        firsts = [int(t.t_us[0]) for t in self.numerics if len(t)]
        lasts = [int(t.t_us[-1]) for t in self.numerics if len(t)]
        for wave in self.waves:
            runs = wave.runs()
            if runs:
                firsts.append(runs[0].start_us)
                lasts.append(max(r.end_us for r in runs))
        if firsts:
            return min(firsts), max(lasts)
        if self.info.start_us is not None:
            return self.info.start_us, self.info.end_us or self.info.start_us
        return None


def load_session(
    engine: Engine,
    session_id: int,
    record_loader: RecordLoader | None = None,
    alarms: Iterable[AlarmEvent] = (),
    *,
    waves: bool = True,
) -> SessionData:
    """Everything recorded for one session. ``record_loader`` reads the clinical record (default: the clinical
    store's ``session_record``; an empty record while that store is not part of this build). ``waves=False``
    leaves the waveforms unread (``SessionData.waves`` empty), for a reader of numerics and the record alone."""
    with SessionRepository(engine).reading(session_id) as stored:
        info = _info(stored)
        numerics = tuple(_numeric_track(device, metric, rows) for device, metric, rows in stored.numeric_tracks())
        wave_tracks = (
            tuple(_wave_track(device, metric, rows) for device, metric, rows in stored.wave_tracks()) if waves else ()
        )
        links = tuple(LinkEventData(t, d, k, x) for d, t, k, x in stored.link_events())
    loader = record_loader or _default_record_loader()
    record = loader(engine, session_id) if loader is not None else SessionRecord(info.protocol)
    ordered = tuple(sorted(alarms, key=lambda a: a.t_us))
    return SessionData(info, numerics, wave_tracks, links, record, ordered, _audit_head(engine))


def _audit_head(engine: Engine) -> str:
    """``SEQ:HASH`` of the newest audit entry, for ``audit verify --anchor`` ("" for an empty trail)."""
    from kapmonitor.store.audit import AuditTrail, head_text

    head = AuditTrail(engine).head()
    return head_text(head) if head[0] else ""


def _default_record_loader() -> RecordLoader | None:
    try:
        from kapmonitor.store.clinical_log import session_record
    except ModuleNotFoundError as error:
        if error.name != "kapmonitor.store.clinical_log":
            raise
        return None
    return session_record


def _info(stored: StoredSession) -> SessionInfo:
    row = stored.header()
    if row is None:
        raise SessionNotFound(f"no session {stored.session_id} in this database")
    return SessionInfo(
        id=row.id,
        patient=row.code,
        protocol=row.protocol or "",
        room=row.room or "",
        nurse=row.nurse or "",
        prescriber=row.prescriber or "",
        status=row.status,
        start_us=row.start_us,
        end_us=row.end_us,
        devices=tuple(stored.devices()),
    )


def _numeric_track(device: str, metric: str, rows: NumericRows) -> NumericTrack:
    """A track from its stored readings (a value the device did not send is NaN)."""
    return NumericTrack(device, metric, _frozen(rows.t_us), _frozen(rows.values), rows.flags)


def _wave_track(device: str, metric: str, rows: WaveRows) -> WaveTrack:
    """A waveform from its stored rows."""
    # One array for the whole track (decoded in one pass), cut into read-only views per chunk.
    samples = _frozen(decode_joined(rows.samples.data, rows.samples.sizes, rows.n_samples))
    ends = np.cumsum(rows.n_samples).tolist()
    return WaveTrack(
        device,
        metric,
        _frozen(rows.t_us),
        _frozen(rows.rate_hz),
        tuple([samples[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]),
        rows.flags,
    )
