"""EDF+ export: EDF+C files in which every sample is a measured value.

EDF+ has no "no value" sample: every sample of a data record reads as a measurement. EDF+D (discontinuous
records) would say "no data", but edflib and so pyedflib refuse to read EDF+D files. So the export never
writes a sample that was not measured:

- Signals: each waveform at its own rate, and each continuous numeric track (typically a reading every
  ``CONTINUOUS_S`` or less, e.g. SpO2 and pulse rate at 1 Hz) on a 1 Hz grid, a sample being the reading
  nearest to that second if less than a second away (``resample.nearest``).
- Parts: data records (1 s, longer when a waveform rate needs it) in which a signal has a measured value for
  every sample carry that signal; a part is a run of records with the same signals measured throughout, and
  each part is one EDF+C file that starts at its own time. A signal that stops or has a hole therefore starts
  a new part, and a record in which nothing was fully measured is in no part. One part: ``--out`` is that
  file. Several: ``--out`` must be a folder (``session-<id>-1.edf``, ``-2.edf``, ... inside) or a ``.zip`` of
  them; a path ending in ``.edf`` is refused rather than written under other names. A 1 Hz reading in a
  record where its signal is in no part is kept as an annotation ("SpO2 96 %").
- Intermittent values are annotations at their times, never signals: each NIBP measurement ("NIBP 128/82
  (97) mmHg") and any numeric track read less often. The cuff's live
  inflation pressure is left to the CSV.
- Annotations also carry the session's events (doses, ratings, notes, quick events, alarms) and the audit
  head the export was made at (``kapmonitor audit verify --anchor``). An event between two parts goes into the
  part before it (its onset after that part's data). Annotation texts are at most 40 characters (edflib's
  limit); the CSV and PDF carry the full wording.
"""

from __future__ import annotations

import math
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyedflib

from kapmonitor.core.clock import US_PER_S
from kapmonitor.export.events import SessionEvent, session_events
from kapmonitor.export.loader import NumericTrack, SessionData, WaveTrack
from kapmonitor.export.resample import nearest
from kapmonitor.session.vitals import bp_measurements
from kapmonitor.store.audit import HEAD_MIN_DIGITS

CONTINUOUS_S = 1.5  # a track read at least this often (median interval) is a 1 Hz signal
RECORD_DURATIONS_S = (1, 2, 4, 5, 8, 10)
NIBP = ("nibp_systolic", "nibp_diastolic", "nibp_mean")
LEFT_TO_CSV = ("cuff_pressure",)
DIGITAL_MIN, DIGITAL_MAX = -32768, 32767
ANNOTATION_CHARS = 40
LABELS = {
    "spo2": "SpO2",
    "pulse_rate": "Pulse",
    "heart_rate": "HR",
    "nibp_systolic": "NIBP sys",
    "nibp_diastolic": "NIBP dia",
    "nibp_mean": "NIBP mean",
    "cuff_pressure": "Cuff",
    "perfusion_index": "PI",
    "rr_interval": "RR",
    "pleth": "Pleth",
}


class EdfPartsNeedAFolder(ValueError):
    """Several parts, and ``--out`` names one .edf file."""


@dataclass(frozen=True)
class Channel:
    label: str
    unit: str
    rate_hz: float
    transducer: str
    values: np.ndarray  # physical values on the session's sample grid, NaN where nothing was measured


@dataclass(frozen=True)
class Part:
    first_record: int  # records counted from the grid's start
    records: int
    channels: tuple[int, ...]  # the channels measured throughout


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _field(text: str, limit: int) -> str:
    """A header subfield: ASCII, no spaces (EDF+ separates subfields with spaces), at most ``limit`` long."""
    return _ascii(text).replace(" ", "_")[:limit] or "X"


def is_continuous(track: NumericTrack) -> bool:
    """Read often enough to be a 1 Hz signal: not NIBP, and typically a reading every CONTINUOUS_S or less."""
    if track.metric in NIBP or track.metric in LEFT_TO_CSV or len(track) < 2:
        return False
    return float(np.median(np.diff(track.t_us))) <= CONTINUOUS_S * US_PER_S


def _wave_sources(data: SessionData) -> list[tuple[WaveTrack, float]]:
    """One channel per waveform track and rate (a device that changed its rate gets a channel per rate)."""
    return [(w, rate) for w in data.waves for rate in sorted(set(w.rates_hz.tolist()))]


def _labels(metrics: list[str]) -> list[str]:
    """One unique label per channel (16 characters at most): "SpO2", and "SpO2 2" for a second oximeter."""
    seen: dict[str, int] = {}
    found = []
    for metric in metrics:
        base = LABELS.get(metric, metric)[:14]
        seen[base] = seen.get(base, 0) + 1
        found.append(base if seen[base] == 1 else f"{base} {seen[base]}")
    return found


def _channels(data: SessionData, start_us: int, seconds: int) -> list[Channel]:
    numerics = [t for t in data.numerics if is_continuous(t)]
    waves = _wave_sources(data)
    labels = iter(_labels([t.metric for t in numerics] + [w.metric for w, _ in waves]))
    grid = start_us + np.arange(seconds, dtype=np.int64) * US_PER_S
    channels = [Channel(next(labels), t.unit, 1.0, _ascii(t.device), nearest(t, grid)) for t in numerics]
    for wave, rate in waves:
        values = np.full(round(seconds * rate), np.nan)
        for run in wave.runs():
            if run.rate_hz != rate:
                continue
            first = round((run.start_us - start_us) * rate / US_PER_S)
            index = first + np.arange(len(run.samples))
            keep = (index >= 0) & (index < len(values))
            values[index[keep]] = run.samples[keep]
        channels.append(Channel(next(labels), "", rate, _ascii(wave.device), values))
    return channels


def _record_duration(rates: list[float]) -> int:
    for d in RECORD_DURATIONS_S:
        if all(abs(r * d - round(r * d)) < 1e-6 for r in rates):
            return d
    raise ValueError(f"sample rates {rates} fit no EDF data record of up to {RECORD_DURATIONS_S[-1]} s")


def physical_range(values: np.ndarray) -> tuple[float, float]:
    """Whole numbers around the measured values with a margin."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return -1.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    margin = max((high - low) * 0.01, 1.0)
    return float(math.floor(low - margin)), float(math.ceil(high + margin))


def digital(values: np.ndarray, low: float, high: float) -> np.ndarray:
    scale = (DIGITAL_MAX - DIGITAL_MIN) / (high - low)
    return np.clip(np.round((values - low) * scale + DIGITAL_MIN), DIGITAL_MIN, DIGITAL_MAX).astype(np.int32)


def _complete(channels: list[Channel], record_s: int, count: int) -> np.ndarray:
    """(records x channels): whether the channel has a measured value for every sample of the record."""
    columns = []
    for c in channels:
        per = round(c.rate_hz * record_s)
        columns.append(np.isfinite(c.values[: count * per].reshape(count, per)).all(axis=1))
    return np.column_stack(columns)


def parts(complete: np.ndarray) -> list[Part]:
    """Runs of records with the same channels fully measured (a record with none belongs to no part)."""
    found: list[Part] = []
    for k, row in enumerate(complete.tolist()):
        channels = tuple(i for i, ok in enumerate(row) if ok)
        if not channels:
            continue
        last = found[-1] if found else None
        if last is not None and last.channels == channels and last.first_record + last.records == k:
            found[-1] = Part(last.first_record, last.records + 1, channels)
        else:
            found.append(Part(k, 1, channels))
    return found


def _annotation(event: SessionEvent) -> str:
    prefix = "VOID " if event.void else ""
    return _ascii(f"{prefix}{event.kind}: {event.short}")[:ANNOTATION_CHARS]


def _reading_text(metric: str, value: float, unit: str) -> str:
    return _ascii(f"{LABELS.get(metric, metric)} {value:g} {unit}".strip())[:ANNOTATION_CHARS]


def _events(data: SessionData) -> list[tuple[int, str]]:
    found = [(e.t_us, _annotation(e)) for e in session_events(data.record, data.alarms)]
    found += [(m.t_us, f"NIBP {m} mmHg") for m in bp_measurements(data.readings(("nibp_systolic", "nibp_diastolic")))]
    for track in data.numerics:
        if track.metric in NIBP or track.metric in LEFT_TO_CSV or is_continuous(track):
            continue
        found += _readings(track)
    return sorted(found)


def _readings(track: NumericTrack, keep: np.ndarray | None = None) -> list[tuple[int, str]]:
    return [
        (t, _reading_text(track.metric, v, track.unit))
        for i, (t, v) in enumerate(zip(track.t_us.tolist(), track.values.tolist(), strict=True))
        if v is not None and math.isfinite(v) and (keep is None or keep[i])
    ]


def _outside_parts(
    data: SessionData, start_us: int, record_s: int, complete: np.ndarray, found: list[Part]
) -> list[tuple[int, str]]:
    """Readings of the 1 Hz signal tracks in records where no part carries their channel."""
    carried = np.zeros(complete.shape, dtype=bool)
    for part in found:
        carried[part.first_record : part.first_record + part.records, list(part.channels)] = True
    events = []
    for column, track in enumerate(t for t in data.numerics if is_continuous(t)):
        record = (track.t_us - start_us) // (record_s * US_PER_S)
        inside = (record >= 0) & (record < len(carried))
        outside = ~inside
        outside[inside] = ~carried[record[inside], column]
        events += _readings(track, outside)
    return events


def edf_target(out: Path, session_id: int, count: int) -> tuple[list[Path], Path | None]:
    """The files to write and the zip to pack them in (None: written where they are)."""
    if out.suffix.lower() == ".zip":
        staging = Path(tempfile.mkdtemp(prefix="kapmonitor-edf-"))
        return [staging / f"session-{session_id}-{i}.edf" for i in range(1, count + 1)], out
    if out.is_dir() or str(out).endswith(("/", "\\")) or out.suffix.lower() != ".edf":
        if count == 1:
            return [out / f"session-{session_id}.edf"], None
        return [out / f"session-{session_id}-{i}.edf" for i in range(1, count + 1)], None
    if count > 1:
        raise EdfPartsNeedAFolder(
            f"the recording has {count} parts (its signals start, stop or have gaps); an EDF+ file cannot hold a "
            "gap that its readers show as no data, so give --out a folder or a .zip"
        )
    return [out], None


def write_edf(data: SessionData, out: Path) -> list[Path]:
    """Write the EDF+ part(s); what was written (the zip, or the files in time order)."""
    events = _events(data)
    span = data.span_us()
    if span is None:
        raise ValueError(f"session {data.info.id} has no recorded data to put in an EDF file")
    start_us = span[0] - span[0] % US_PER_S
    seconds = max(1, math.ceil((span[1] + 1 - start_us) / US_PER_S))
    channels = _channels(data, start_us, seconds)
    if not channels:
        raise ValueError(
            f"session {data.info.id} has no continuous signal for an EDF file (NIBP alone is in the CSV and PDF)"
        )
    record_s = _record_duration([c.rate_hz for c in channels])
    count = seconds // record_s + (1 if seconds % record_s else 0)
    padded = [_padded(c, count * record_s) for c in channels]
    complete = _complete(padded, record_s, count)
    found = parts(complete)
    if not found:
        raise ValueError(f"session {data.info.id} has no whole second in which a signal was measured")
    events = sorted(events + _outside_parts(data, start_us, record_s, complete, found))
    paths, archive = edf_target(out, data.info.id, len(found))
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    for i, (part, path) in enumerate(zip(found, paths, strict=True)):
        part_start = start_us + part.first_record * record_s * US_PER_S
        until = start_us + found[i + 1].first_record * record_s * US_PER_S if i + 1 < len(found) else None
        mine = [(t, x) for t, x in events if (i == 0 or t >= part_start) and (until is None or t < until)]
        if data.audit_head:
            mine.insert(0, (part_start, head_annotation(data.audit_head)))
        _write_file(data, padded, part, record_s, part_start, path, mine)
    if archive is None:
        return paths
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in paths:
            z.write(path, path.name)
            path.unlink()
    paths[0].parent.rmdir()
    return [archive]


def head_annotation(head: str) -> str:
    """``audit head SEQ:HASH`` within the 40-character annotation: the hash is cut to what the sequence number
    leaves room for, never below the 16 hex digits ``audit verify --anchor`` needs (the words "audit head" give
    way first, for a sequence number of 13 digits or more)."""
    seq, _, digest = head.partition(":")
    text = f"audit head {seq}:"
    if len(text) + HEAD_MIN_DIGITS > ANNOTATION_CHARS:
        text = f"{seq}:"
    return text + digest[: max(HEAD_MIN_DIGITS, ANNOTATION_CHARS - len(text))]


def _padded(channel: Channel, seconds: int) -> Channel:
    wanted = round(seconds * channel.rate_hz)
    values = channel.values[:wanted]
    if len(values) < wanted:
        values = np.concatenate([values, np.full(wanted - len(values), np.nan)])
    return Channel(channel.label, channel.unit, channel.rate_hz, channel.transducer, values)


def _write_file(
    data: SessionData,
    channels: list[Channel],
    part: Part,
    record_s: int,
    part_start: int,
    path: Path,
    events: list[tuple[int, str]],
) -> None:
    channels = [channels[i] for i in part.channels]
    first, end = part.first_record * record_s, (part.first_record + part.records) * record_s
    pieces = [c.values[round(first * c.rate_hz) : round(end * c.rate_hz)] for c in channels]
    writer = pyedflib.EdfWriter(str(path), len(channels), pyedflib.FILETYPE_EDFPLUS)
    try:
        if record_s != 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                writer.setDatarecordDuration(record_s)
        headers: list[dict[str, str | int | float | None]] = []
        ranges: list[tuple[float, float]] = []
        for channel, piece in zip(channels, pieces, strict=True):
            low, high = physical_range(piece)
            ranges.append((low, high))
            headers.append(
                {
                    "label": channel.label,
                    "dimension": _ascii(channel.unit),
                    "sample_frequency": channel.rate_hz,
                    "physical_min": low,
                    "physical_max": high,
                    "digital_min": DIGITAL_MIN,
                    "digital_max": DIGITAL_MAX,
                    "transducer": channel.transducer[:80],
                    "prefilter": "",
                }
            )
        writer.setSignalHeaders(headers)
        _set_identity(writer, data, part_start)
        writer.writeSamples(
            [digital(p, low, high) for p, (low, high) in zip(pieces, ranges, strict=True)],
            digital=True,
        )
        for t_us, text in events:
            writer.writeAnnotation(max(0.0, (t_us - part_start) / US_PER_S), -1, text)
    finally:
        writer.close()


def _set_identity(writer: pyedflib.EdfWriter, data: SessionData, start_us: int) -> None:
    """Patient and recording identification. The recording field is 80 characters: "Startdate", the date
    and three separators leave 57 for the admin code, technician, equipment and the protocol."""
    info = data.info
    writer.setStartdatetime(datetime.fromtimestamp(start_us // US_PER_S))  # local time, as EDF keeps it
    writer.setPatientCode(_field(info.patient, 60))
    admin = _field(f"session-{info.id}", 16)
    technician = _field(info.nurse, 16)
    equipment = _field("+".join(dict.fromkeys(p or d for d, p, _ in info.devices)) or "kapmonitor", 24)
    room = 57 - len(admin) - len(technician) - len(equipment)
    additional = _field(info.protocol, room) if info.protocol else ""
    writer.setAdmincode(admin)
    writer.setTechnician(technician)
    writer.setEquipment(equipment)
    writer.setRecordingAdditional(additional)
