"""CSV export: what was recorded, as rows a spreadsheet or a statistics package reads directly.

Three files, written next to each other (``--out`` is a directory, or a base path such as ``out/visit``):

- ``<base>-long.csv``: one row per numeric reading, clinical entry, alarm change and link event, in time order:
  ``time`` (ISO-8601, local time with its UTC offset), ``kind``, ``device``, ``metric``, ``value``, ``unit``,
  ``flags``, ``author``, ``detail``. A reading without a value has an empty ``value``; a voided entry has the
  flag ``void``.
- ``<base>-1hz.csv``: a wide table on whole seconds, one column per numeric track (``metric (unit) device``),
  each cell the latest reading carried for less than 10 s; older or missing values stay empty, never
  interpolated.
- ``<base>-waves.csv``: one row per waveform sample (``time``, ``device``, ``metric``, ``value``, ``rate_hz``),
  kept apart so the long table stays small enough for a spreadsheet.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

from kapmonitor.core.clock import US_PER_S, iso
from kapmonitor.export.events import session_events
from kapmonitor.export.loader import NumericTrack, SessionData
from kapmonitor.export.resample import carried, second_grid

LONG_COLUMNS = ("time", "kind", "device", "metric", "value", "unit", "flags", "author", "detail")
WAVE_COLUMNS = ("time", "device", "metric", "value", "rate_hz")


def number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:.10g}"


def csv_paths(out: Path, session_id: int) -> dict[str, Path]:
    """The three files for ``--out``: inside it when it is a directory, else beside the base path."""
    if out.is_dir() or str(out).endswith(("/", "\\")):
        base = out / f"session-{session_id}"
    else:
        base = out.with_suffix("") if out.suffix.lower() == ".csv" else out
    return {part: base.with_name(f"{base.name}-{part}.csv") for part in ("long", "1hz", "waves")}


def write_csv(data: SessionData, out: Path) -> list[Path]:
    paths = csv_paths(out, data.info.id)
    paths["long"].parent.mkdir(parents=True, exist_ok=True)
    _write(paths["long"], LONG_COLUMNS, _long_rows(data))
    _write(paths["1hz"], None, _wide_rows(data))
    _write(paths["waves"], WAVE_COLUMNS, _wave_rows(data))
    return list(paths.values())


def _write(path: Path, header: tuple[str, ...] | None, rows: Iterator[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)


def _long_rows(data: SessionData) -> Iterator[list[str]]:
    keyed: list[tuple[int, int, list[str]]] = []
    for track in data.numerics:
        for t, v, flags in zip(track.t_us.tolist(), track.values.tolist(), track.flags, strict=True):
            keyed.append((t, 0, ["numeric", track.device, track.metric, number(v), track.unit, flags, "", ""]))
    for e in data.link_events:
        keyed.append((e.t_us, 1, ["link", e.device, e.kind, "", "", "", "", e.detail]))
    for ev in session_events(data.record, data.alarms):
        row = [ev.kind, ev.device, ev.name, number(ev.value), ev.unit, "void" if ev.void else "", ev.author, ev.text]
        keyed.append((ev.t_us, 2, row))
    keyed.sort(key=lambda k: (k[0], k[1]))
    for t, _, row in keyed:
        yield [iso(t) or "", *row]


def column_name(track: NumericTrack) -> str:
    unit = f" ({track.unit})" if track.unit else ""
    return f"{track.metric}{unit} {track.device}"


def _wide_rows(data: SessionData) -> Iterator[list[str]]:
    tracks = sorted((t for t in data.numerics if len(t)), key=lambda t: (t.metric, t.device))
    yield ["time", *(column_name(t) for t in tracks)]
    if not tracks:
        return
    grid = second_grid(min(int(t.t_us[0]) for t in tracks), max(int(t.t_us[-1]) for t in tracks))
    columns = [carried(t, grid) for t in tracks]
    for i, t in enumerate(grid.tolist()):
        yield [iso(t) or "", *(number(c[i]) for c in columns)]


def iso_many(times_us: list[int]) -> list[str]:
    """``iso`` for many times, formatting each whole second once (75-100 waveform samples share one)."""
    seconds: dict[int, tuple[str, str]] = {}
    found = []
    for t in times_us:
        second, micro = divmod(t, US_PER_S)
        parts = seconds.get(second)
        if parts is None:
            head, _, tail = (iso(second * US_PER_S) or "").rpartition(".000")
            parts = seconds[second] = (head, tail)
        found.append(f"{parts[0]}.{micro // 1000:03d}{parts[1]}")
    return found


def _wave_rows(data: SessionData) -> Iterator[list[str]]:
    for track in data.waves:
        for run in track.runs():
            rate = f"{run.rate_hz:g}"
            for t, v in zip(iso_many(run.times_us().tolist()), run.samples.tolist(), strict=True):
                yield [t, track.device, track.metric, str(v), rate]
