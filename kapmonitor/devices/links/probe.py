"""Which known protocol speaks on a serial port: listen (and, where a device must be asked, ask) with each
known setting, and let every decoder judge the bytes.

A protocol is detected only on ``min_frames`` valid frames in a row (a lucky byte that happens to look like a
frame start does not count). The plan listens passively first, so a streaming oximeter is never sent a
command that would change its stored data format; only when nothing known was heard does it send each
descriptor's start command, or a harmless query to a host-driven device (the SunTech module's cuff-pressure
query: it never starts a measurement).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kapmonitor.devices.base import Decoder, DeviceDescriptor, SerialSettings
from kapmonitor.devices.registry import all_descriptors

MIN_FRAMES = 3
# A fast device has proved itself after this many frames; slower ones are judged at the end of the window.
CONVINCING_FRAMES = 20
WINDOW_S = 2.0
QUERY_INTERVAL_S = 0.25
SLICE = 16  # bytes fed at a time, so an error is placed among the frames closely enough to break a run
NO_PROTOCOL = "no known protocol"


def host_query(descriptor: DeviceDescriptor) -> bytes | None:
    """What to ask a host-driven device to get a reply without side effects (None: it streams by itself)."""
    return descriptor.probe_query


@dataclass(frozen=True)
class Phase:
    """One listening window: the port opened with ``settings``, ``send`` written first (and every
    ``repeat_s`` when set), the decoders of ``protocols`` judging what comes back."""

    settings: SerialSettings
    protocols: tuple[str, ...]
    send: bytes = b""
    repeat_s: float | None = None
    asking: str = ""  # the protocol whose command is sent ("" while only listening)


def plan(descriptors: Iterable[DeviceDescriptor]) -> list[Phase]:
    """Passive listening with each distinct serial setting (the most shared first), then the harmless
    queries of host-driven devices, then the start commands of devices that stream only when told."""
    groups: dict[SerialSettings, list[DeviceDescriptor]] = {}
    for d in descriptors:
        if d.link == "serial":
            groups.setdefault(d.serial or SerialSettings(), []).append(d)
    ordered = sorted(groups.items(), key=lambda g: -len(g[1]))
    listening, queries, starts = [], [], []
    for settings, members in ordered:
        names = tuple(d.protocol for d in members)
        listening.append(Phase(settings, names))
        for d in members:
            if (query := host_query(d)) is not None:
                queries.append(Phase(settings, names, query, QUERY_INTERVAL_S, d.protocol))
            elif d.start_command:
                starts.append(Phase(settings, names, d.start_command, None, d.protocol))
    return listening + queries + starts


class FrameRun:
    """One decoder's judgement of a byte stream: the longest run of valid frames with no error between."""

    def __init__(self, descriptor: DeviceDescriptor) -> None:
        self.descriptor = descriptor
        self.decoder: Decoder = descriptor.decoder()
        self.run = 0
        self.best_run = 0

    def feed(self, data: bytes) -> None:
        for start in range(0, len(data), SLICE):
            before = self.decoder.stats.snapshot()
            self.decoder.feed(data[start : start + SLICE])
            after = self.decoder.stats
            if after.checksum_errors > before.checksum_errors or after.resyncs > before.resyncs:
                self.run = 0
            else:
                self.run += after.frames_ok - before.frames_ok
            self.best_run = max(self.best_run, self.run)

    @property
    def errors(self) -> int:
        s = self.decoder.stats
        return s.checksum_errors + s.resyncs

    def trusted(self, min_frames: int) -> bool:
        """Enough frames in a row, and errors rare: a loose decoder finds short runs in a foreign stream but
        resynchronises all the time doing so (joining mid-stream costs a real one an error or two)."""
        frames = self.decoder.stats.frames_ok
        return self.best_run >= min_frames and self.errors <= max(2, frames // 10)


@dataclass(frozen=True)
class Detection:
    protocol: str
    title: str
    settings: SerialSettings
    frames_in_a_row: int
    errors: int


@dataclass(frozen=True)
class ProbeReport:
    port: str
    detection: Detection | None
    message: str  # one line for the technician
    bytes_heard: int = 0


def best(runs: Sequence[FrameRun], settings: SerialSettings, min_frames: int) -> Detection | None:
    """The candidate with the longest run, if that run is long enough to trust."""
    ranked = sorted((r for r in runs if r.trusted(min_frames)), key=lambda r: (r.best_run, -r.errors), reverse=True)
    if not ranked:
        return None
    top = ranked[0]
    d = top.descriptor
    return Detection(d.protocol, d.title, settings, top.best_run, top.errors)


def describe(report: ProbeReport) -> str:
    found = report.detection
    if found is None:
        return f"{report.port}: {report.message}"
    s = found.settings
    stop = f"{s.stopbits:g}"
    return (
        f"{report.port}: {found.protocol} ({found.title}) at {s.baudrate} {s.bytesize}{s.parity}{stop}, "
        f"{found.frames_in_a_row} valid frames in a row"
    )


# ------------------------------------------------------------------------------------------------ the runner

OpenSerial = Callable[..., Any]


def _pyserial(port: str, settings: SerialSettings) -> Any:
    import serial

    return serial.Serial(port, **settings.as_pyserial(), timeout=0.05, exclusive=True)


def probe_port(
    port: str,
    *,
    descriptors: Iterable[DeviceDescriptor] | None = None,
    window_s: float = WINDOW_S,
    min_frames: int = MIN_FRAMES,
    open_serial: OpenSerial = _pyserial,
    should_stop: Callable[[], bool] = lambda: False,
) -> ProbeReport:
    """Try every phase of :func:`plan` on ``port`` until one protocol is detected. Blocks for up to
    ``window_s`` per phase: run it off the UI thread."""
    from kapmonitor.devices.links.serial import open_failure_message

    known = {d.protocol: d for d in (all_descriptors() if descriptors is None else descriptors)}
    heard = 0
    for phase in plan(known.values()):
        if should_stop():
            return ProbeReport(port, None, "detection cancelled", heard)
        try:
            ser = open_serial(port, phase.settings)
        except Exception as exc:  # noqa: BLE001 - pyserial raises SerialException, OSError or ValueError
            return ProbeReport(port, None, open_failure_message(port, exc), heard)
        try:
            runs = [FrameRun(known[p]) for p in phase.protocols]
            for data in _listen(ser, phase, window_s, runs, min_frames, should_stop):
                heard += len(data)
        finally:
            with contextlib.suppress(Exception):
                ser.close()
        found = best(runs, phase.settings, min_frames)
        if found is not None:
            return ProbeReport(port, found, f"{found.protocol} detected", heard)
    if heard == 0:
        return ProbeReport(port, None, f"{NO_PROTOCOL}: nothing was received (is the device on?)", 0)
    return ProbeReport(port, None, f"{NO_PROTOCOL}: {heard} bytes received, none in a known format", heard)


def _listen(
    ser: Any,
    phase: Phase,
    window_s: float,
    runs: list[FrameRun],
    min_frames: int,
    should_stop: Callable[[], bool],
) -> Iterator[bytes]:
    start = time.monotonic()
    next_send = start
    while (now := time.monotonic()) - start < window_s and not should_stop():
        if phase.send and now >= next_send:
            ser.write(phase.send)
            next_send = now + phase.repeat_s if phase.repeat_s else float("inf")
        data = ser.read(ser.in_waiting or 1)
        if data:
            for run in runs:
                run.feed(data)
            yield data
            if any(r.trusted(min_frames) and r.best_run >= CONVINCING_FRAMES for r in runs):
                return
