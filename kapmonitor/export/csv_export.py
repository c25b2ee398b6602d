"""CSV export: what was recorded, as rows a spreadsheet or a statistics package reads directly.

``--out`` is exactly what is written:

- ``visit.csv``: one file, the long table (below);
- ``visit.zip``: a zip of the three tables (``session-<id>-long.csv``, ``-1hz.csv``, ``-waves.csv``);
- a folder (one that exists, a path ending in ``/``, or a path without a suffix): the three tables inside it.

The tables (UTF-8, one header row):

- long: one row per numeric reading, clinical entry, alarm change and link event, in time order: ``time``
  (ISO-8601, local time with its UTC offset), ``kind``, ``metric`` (in the clinic's words: "SpO2", "Pulse",
  "Systolic"; a dose's drug, a rating's scale), ``value``, ``unit``, ``device`` (the model: "Nonin oximeter"),
  ``flags``, ``author``, ``detail``. It opens with metadata rows without a time: ``kind`` "session" (who and
  when), "audit" (the audit head, for ``kapmonitor audit verify --anchor``) and one "device" row per device
  naming its model in ``device`` and its address (``protocol@address``) in ``detail``, and one "dose total" row
  per drug (``metric`` the drug, ``value`` the mg given, an infusion from its rate segments; mg/kg in
  ``detail``). A reading without a value has an empty ``value``; a voided entry has the flag ``void``.
- 1hz: a wide table on whole seconds, one column per numeric track ("SpO2 (%) Nonin oximeter"), and under the
  header one metadata row (``time`` "device") with each column's device address. A cell is the reading nearest
  to that second if less than a second away, else empty: nothing is carried, averaged or interpolated.
- waves: one row per waveform sample (``time``, ``metric``, ``value``, ``rate_hz``, ``device``).

Cells a spreadsheet would run as a formula (text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return: OWASP's CSV injection rules) are written with a leading ``'``; numbers and times are written as numbers.
"""

from __future__ import annotations

import csv
import math
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

from kapmonitor.core.clock import US_PER_S, iso
from kapmonitor.core.metrics import METRICS
from kapmonitor.devices.registry import UnknownProtocol, descriptor
from kapmonitor.export.events import session_events
from kapmonitor.export.loader import NumericTrack, SessionData
from kapmonitor.export.resample import nearest, second_grid
from kapmonitor.session.dosing import DosingError, drug_totals

LONG_COLUMNS = ("time", "kind", "metric", "value", "unit", "device", "flags", "author", "detail")
WAVE_COLUMNS = ("time", "metric", "value", "rate_hz", "device")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PARTS = ("long", "1hz", "waves")


def number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:.10g}"


def text(cell: str) -> str:
    """A text cell no spreadsheet runs: OWASP's rule, a leading quote before = + - @ tab CR."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def metric_words(metric: str) -> str:
    info = METRICS.get(metric)
    return (info.label if info else metric).replace("\u2082", "2")


class DeviceNames:
    """Each recorded device by its model ("Nonin oximeter"), numbered where two share a model."""

    def __init__(self, devices: list[str]) -> None:
        self.names: dict[str, str] = {}
        seen: dict[str, int] = {}
        for device in dict.fromkeys(devices):
            model = _model(device)
            seen[model] = seen.get(model, 0) + 1
            self.names[device] = model if seen[model] == 1 else f"{model} {seen[model]}"

    def __call__(self, device: str) -> str:
        return self.names.get(device, device)


def _model(device: str) -> str:
    try:
        return descriptor(device.split("@")[0]).model_name
    except UnknownProtocol:
        return device


def _devices(data: SessionData) -> list[str]:
    tracks = [t.device for t in data.numerics] + [w.device for w in data.waves]
    return [d for d, _, _ in data.info.devices] + tracks


def csv_targets(out: Path, session_id: int) -> tuple[dict[str, Path], Path | None]:
    """The tables to write and the zip to pack them in: ``visit.csv`` is the long table alone."""
    if out.suffix.lower() == ".csv" and not out.is_dir():
        return {"long": out}, None
    if out.suffix.lower() == ".zip" and not out.is_dir():
        staging = Path(tempfile.mkdtemp(prefix="kapmonitor-csv-"))
        return {part: staging / f"session-{session_id}-{part}.csv" for part in PARTS}, out
    return {part: out / f"session-{session_id}-{part}.csv" for part in PARTS}, None


def write_csv(data: SessionData, out: Path) -> list[Path]:
    paths, archive = csv_targets(out, data.info.id)
    names = DeviceNames(_devices(data))
    next(iter(paths.values())).parent.mkdir(parents=True, exist_ok=True)
    makers = {
        "long": lambda: (LONG_COLUMNS, _long_rows(data, names)),
        "1hz": lambda: (None, _wide_rows(data, names)),
        "waves": lambda: (WAVE_COLUMNS, _wave_rows(data, names)),
    }
    for part, path in paths.items():
        header, rows = makers[part]()
        _write(path, header, rows)
    if archive is None:
        return list(paths.values())
    archive.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in paths.values():
            z.write(path, path.name)
            path.unlink()
    next(iter(paths.values())).parent.rmdir()
    return [archive]


def _write(path: Path, header: tuple[str, ...] | None, rows: Iterator[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)


def _metadata(data: SessionData, names: DeviceNames) -> Iterator[list[str]]:
    info = data.info
    about = f"session {info.id}, patient {info.patient}, protocol {info.protocol or '-'}, "
    about += f"from {iso(info.start_us) or '-'} to {iso(info.end_us) or '-'}"
    yield ["", "session", "", "", "", "", "", text(info.nurse), text(about)]
    yield ["", "audit", "audit head", "", "", "", "", "", data.audit_head or "(empty trail)"]
    for device in names.names:
        yield ["", "device", "", "", "", text(names(device)), "", "", text(device)]
    record = data.record
    until = info.end_us if info.end_us is not None else max([c.entry.t_us for c in record.current()] + [0])
    try:
        totals = drug_totals(record.doses(), until, record.weight_kg)
    except DosingError:
        totals = []
    for total in totals:
        per_kg = f"{total.total_mg_per_kg:.3f} mg/kg" if total.total_mg_per_kg is not None else "no weight recorded"
        yield ["", "dose total", text(total.drug), number(round(total.total_mg, 3)), "mg", "", "", "", per_kg]


def _long_rows(data: SessionData, names: DeviceNames) -> Iterator[list[str]]:
    yield from _metadata(data, names)
    keyed: list[tuple[int, int, list[str]]] = []
    for track in data.numerics:
        device, words, unit = text(names(track.device)), text(metric_words(track.metric)), text(track.unit)
        for t, v, flags in zip(track.t_us.tolist(), track.values.tolist(), track.flags, strict=True):
            keyed.append((t, 0, ["numeric", words, number(v), unit, device, text(flags), "", ""]))
    for e in data.link_events:
        keyed.append((e.t_us, 1, ["link", text(e.kind), "", "", text(names(e.device)), "", "", text(e.detail)]))
    for ev in session_events(data.record, data.alarms):
        row = [
            text(ev.kind),
            text(ev.name),
            number(ev.value),
            text(ev.unit),
            text(names(ev.device)) if ev.device else "",
            "void" if ev.void else "",
            text(ev.author),
            text(ev.text),
        ]
        keyed.append((ev.t_us, 2, row))
    keyed.sort(key=lambda k: (k[0], k[1]))
    for t, _, row in keyed:
        yield [iso(t) or "", *row]


def column_name(track: NumericTrack, names: DeviceNames) -> str:
    unit = f" ({track.unit})" if track.unit else ""
    return text(f"{metric_words(track.metric)}{unit} {names(track.device)}")


def _wide_rows(data: SessionData, names: DeviceNames) -> Iterator[list[str]]:
    tracks = sorted((t for t in data.numerics if len(t)), key=lambda t: (t.metric, t.device))
    yield ["time", *(column_name(t, names) for t in tracks)]
    yield ["device", *(text(t.device) for t in tracks)]
    if not tracks:
        return
    grid = second_grid(min(int(t.t_us[0]) for t in tracks), max(int(t.t_us[-1]) for t in tracks))
    columns = [nearest(t, grid) for t in tracks]
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


def _wave_rows(data: SessionData, names: DeviceNames) -> Iterator[list[str]]:
    for track in data.waves:
        device, words = text(names(track.device)), text(metric_words(track.metric))
        for run in track.runs():
            rate = f"{run.rate_hz:g}"
            for t, v in zip(iso_many(run.times_us().tolist()), run.samples.tolist(), strict=True):
                yield [t, words, str(v), rate, device]
