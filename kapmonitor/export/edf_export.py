"""EDF+ export: the pleth waveform at its own rate, every numeric track resampled to 1 Hz, and the session's
events (doses, ratings, notes, alarms, NIBP measurements) as annotations.

Gaps: edflib (under pyedflib) writes only continuous EDF+C, so a recording with a gap becomes **separate
files**, one per continuous stretch: ``<base>.edf`` when there is one stretch, else ``<base>-1.edf``,
``<base>-2.edf``, ... Each file's start time is its stretch's first whole second, so no time is compressed. A
stretch ends where nothing at all was recorded for ``SPLIT_GAP_S`` (10 s, the "never interpolate across 10 s"
rule of DESIGN.md); an event inside a gap goes into the file before it (its onset lies after that file's data).

Inside a stretch, a channel that has no value at a sample time (a numeric older than 10 s, a hole in the pleth)
holds the digital minimum, -32768, which no recorded value maps to: the physical range of each channel is taken
from its data with a margin, over the remaining 16-bit digital range. EDF+ annotation texts are at most 40
characters (edflib's limit); the CSV and PDF carry the full wording.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyedflib

from kapmonitor.core.clock import US_PER_S
from kapmonitor.export.events import SessionEvent, session_events
from kapmonitor.export.loader import SessionData, WaveTrack
from kapmonitor.export.resample import carried
from kapmonitor.session.vitals import bp_measurements

SPLIT_GAP_S = 10
NO_DATA = -32768
DIGITAL_MAX = 32767
ANNOTATION_CHARS = 40
RECORD_DURATIONS_S = (1, 2, 4, 5, 8, 10)
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


@dataclass(frozen=True)
class Stretch:
    start_us: int  # a whole second
    end_us: int  # exclusive


@dataclass(frozen=True)
class Channel:
    label: str
    unit: str
    rate_hz: float
    transducer: str
    values: np.ndarray  # physical values on this stretch's sample grid, NaN where there is no data


def stretches(data: SessionData, split_gap_us: int = SPLIT_GAP_S * US_PER_S) -> list[Stretch]:
    """The continuous stretches of the recording: covered time merged across holes shorter than the split."""
    covered = [(r.start_us, r.end_us) for w in data.waves for r in w.runs()]
    covered += [(t, t + US_PER_S) for track in data.numerics for t in track.t_us.tolist()]
    covered.sort()
    merged: list[list[int]] = []
    for start, end in covered:
        if merged and start - merged[-1][1] < split_gap_us:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [Stretch(s - s % US_PER_S, e) for s, e in merged]


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _field(text: str, limit: int) -> str:
    """A header field: ASCII, no spaces (EDF+ separates subfields with spaces), at most ``limit`` characters."""
    return _ascii(text).replace(" ", "_")[:limit] or "X"


def _wave_sources(data: SessionData) -> list[tuple[WaveTrack, float]]:
    """One channel per waveform track and rate (a device that changed its rate gets a channel per rate)."""
    return [(w, rate) for w in data.waves for rate in sorted(set(w.rates_hz.tolist()))]


def _labels(data: SessionData) -> list[str]:
    """One unique label per channel (16 characters at most): "SpO2", and "SpO2 2" for a second oximeter."""
    seen: dict[str, int] = {}
    found = []
    for metric in [t.metric for t in data.numerics] + [w.metric for w, _ in _wave_sources(data)]:
        base = LABELS.get(metric, metric)[:14]
        seen[base] = seen.get(base, 0) + 1
        found.append(base if seen[base] == 1 else f"{base} {seen[base]}")
    return found


def _channels(data: SessionData, stretch: Stretch, duration_s: int) -> list[Channel]:
    labels = iter(_labels(data))
    channels = []
    grid = stretch.start_us + np.arange(duration_s, dtype=np.int64) * US_PER_S
    for track in data.numerics:
        values = carried(track, grid)
        values[grid >= stretch.end_us] = np.nan
        channels.append(Channel(next(labels), track.unit, 1.0, _ascii(track.device), values))
    for wave, rate in _wave_sources(data):
        values = np.full(round(duration_s * rate), np.nan)
        for run in wave.runs():
            if run.rate_hz != rate or run.end_us <= stretch.start_us or run.start_us >= stretch.end_us:
                continue
            first = round((run.start_us - stretch.start_us) * rate / US_PER_S)
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
    """Whole numbers around the data with a margin, so no value meets the digital minimum (no data)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return -1.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    margin = max((high - low) * 0.01, 1.0)
    return float(math.floor(low - margin)), float(math.ceil(high + margin))


def digital(values: np.ndarray, low: float, high: float) -> np.ndarray:
    scale = (DIGITAL_MAX - NO_DATA) / (high - low)
    out = np.full(len(values), NO_DATA, dtype=np.int32)
    ok = np.isfinite(values)
    out[ok] = np.clip(np.round((values[ok] - low) * scale + NO_DATA), NO_DATA + 1, DIGITAL_MAX)
    return out


def _annotation(event: SessionEvent) -> str:
    prefix = "VOID " if event.void else ""
    return _ascii(f"{prefix}{event.kind}: {event.short}")[:ANNOTATION_CHARS]


def _events(data: SessionData) -> list[tuple[int, str]]:
    found = [(e.t_us, _annotation(e)) for e in session_events(data.record, data.alarms)]
    bp = bp_measurements(data.readings(("nibp_systolic", "nibp_diastolic")))
    found += [(m.t_us, f"NIBP {m} mmHg") for m in bp]
    return sorted(found)


def edf_paths(out: Path, count: int) -> list[Path]:
    base = out.with_suffix("") if out.suffix.lower() == ".edf" else out
    if count == 1:
        return [base.with_name(base.name + ".edf")]
    return [base.with_name(f"{base.name}-{i}.edf") for i in range(1, count + 1)]


def write_edf(data: SessionData, out: Path) -> list[Path]:
    """Write the EDF+ file(s); the paths written, in time order."""
    parts = stretches(data)
    if not parts:
        raise ValueError(f"session {data.info.id} has no recorded data to put in an EDF file")
    if out.is_dir():
        out = out / f"session-{data.info.id}"
    paths = edf_paths(out, len(parts))
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    events = _events(data)
    for i, (stretch, path) in enumerate(zip(parts, paths, strict=True)):
        until = parts[i + 1].start_us if i + 1 < len(parts) else None
        mine = [(t, text) for t, text in events if (i == 0 or t >= stretch.start_us) and (until is None or t < until)]
        _write_file(data, stretch, path, mine)
    return paths


def _write_file(data: SessionData, stretch: Stretch, path: Path, events: list[tuple[int, str]]) -> None:
    rates = [1.0] * len(data.numerics) + [rate for _, rate in _wave_sources(data)]
    record_s = _record_duration(rates)
    seconds = math.ceil((stretch.end_us - stretch.start_us) / US_PER_S)
    duration_s = max(record_s, math.ceil(seconds / record_s) * record_s)
    channels = _channels(data, stretch, duration_s)
    writer = pyedflib.EdfWriter(str(path), len(channels), pyedflib.FILETYPE_EDFPLUS)
    try:
        if record_s != 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                writer.setDatarecordDuration(record_s)
        headers: list[dict[str, str | int | float | None]] = []
        ranges: list[tuple[float, float]] = []
        for channel in channels:
            low, high = physical_range(channel.values)
            ranges.append((low, high))
            headers.append(
                {
                    "label": channel.label,
                    "dimension": _ascii(channel.unit),
                    "sample_frequency": channel.rate_hz,
                    "physical_min": low,
                    "physical_max": high,
                    "digital_min": NO_DATA,
                    "digital_max": DIGITAL_MAX,
                    "transducer": channel.transducer[:80],
                    "prefilter": "",
                }
            )
        writer.setSignalHeaders(headers)
        _set_identity(writer, data, stretch)
        writer.writeSamples(
            [digital(c.values, low, high) for c, (low, high) in zip(channels, ranges, strict=True)],
            digital=True,
        )
        for t_us, text in events:
            writer.writeAnnotation(max(0.0, (t_us - stretch.start_us) / US_PER_S), -1, text)
    finally:
        writer.close()


def _set_identity(writer: pyedflib.EdfWriter, data: SessionData, stretch: Stretch) -> None:
    """Patient and recording identification. The recording field is 80 characters: "Startdate", the date
    and three separators leave 57 for the admin code, technician, equipment and the protocol."""
    info = data.info
    writer.setStartdatetime(datetime.fromtimestamp(stretch.start_us // US_PER_S))  # local time, as EDF keeps it
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
