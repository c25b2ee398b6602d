"""Decoder throughput on each protocol's own simulated stream. Budget: >= 1 MB/s (about 100x a 115200-baud link)."""

from __future__ import annotations

import time

from bench.harness import Figure
from kapmonitor.devices.base import DeviceDescriptor
from kapmonitor.devices.registry import all_descriptors
from kapmonitor.devices.simulation.interface import DeviceSimulator

TARGET_BYTES = 2_000_000
BUDGET_MB_S = 1.0


def _notifications(d: DeviceDescriptor, sim: DeviceSimulator) -> list[bytes]:
    """Bluetooth simulators return one notification per call: keep them apart, as the radio does.

    The step follows the profile's fastest track, so a cuff that measures every few minutes still yields a
    stream long enough to time (distinct readings: the decoders remember repeated payloads, so a repeated
    stream would flatter them).
    """
    fastest_hz = max((t.nominal_rate_hz for t in d.tracks), default=1.0)
    step_s = min(60.0, max(0.05, 0.5 / fastest_hz))
    out: list[bytes] = []
    total = 0
    for _ in range(400_000):
        payload = sim.advance(step_s)
        if payload:
            out.append(payload)
            total += len(payload)
        if total >= TARGET_BYTES // 4:
            break
    return out


def _stream(d: DeviceDescriptor, sim: DeviceSimulator) -> bytes:
    """Simulated device output, driven the way a host drives it (start command, keep-alive, polling)."""
    from kapmonitor.devices.suntech.frames import GET_CUFF_PRESSURE, START_BP
    from kapmonitor.devices.suntech.simulator import SuntechSimulator

    out = bytearray()
    if d.start_command:
        out += sim.receive(d.start_command)
    for step in range(200_000):
        if isinstance(sim, SuntechSimulator) and step % 5 == 0:
            out += sim.receive(START_BP if step % 200 == 0 else GET_CUFF_PRESSURE)
        if d.keepalive and step % 10 == 0:
            out += sim.receive(d.keepalive.payload)
        out += sim.advance(0.2)
        if len(out) >= TARGET_BYTES:
            break
    return bytes(out)


def run() -> list[Figure]:
    from kapmonitor.devices.simulation.physiology import PhysiologicalModel

    figures = []
    for d in all_descriptors():
        if d.simulator is None:
            continue
        sim = d.simulator(PhysiologicalModel(seed=1))
        if d.link == "ble":
            figures.append(_bench_notifications(d, _notifications(d, sim)))
            continue
        data = _stream(d, sim)
        if len(data) < 10_000:
            figures.append(Figure(f"decode {d.protocol}", 0.0, "MB/s", None, note="simulator produced too little"))
            continue
        decoder = d.decoder()
        chunk = 4096
        started = time.perf_counter()
        items = 0
        for i in range(0, len(data), chunk):
            items += len(decoder.feed(data[i : i + chunk]))
        elapsed = time.perf_counter() - started
        figures.append(
            Figure(
                f"decode {d.protocol}",
                len(data) / elapsed / 1e6,
                "MB/s",
                BUDGET_MB_S,
                higher_is_better=True,
                note=f"{len(data) / 1e6:.1f} MB, {items} items",
            )
        )
    return figures


def _bench_notifications(d: object, payloads: list[bytes]) -> Figure:
    decoder = d.decoder()  # type: ignore[attr-defined]
    size = sum(map(len, payloads))
    started = time.perf_counter()
    items = sum(len(decoder.feed(p)) for p in payloads)
    elapsed = time.perf_counter() - started
    return Figure(
        f"decode {d.protocol}",  # type: ignore[attr-defined]
        size / elapsed / 1e6 if elapsed else 0.0,
        "MB/s",
        BUDGET_MB_S,
        higher_is_better=True,
        note=f"{len(payloads)} notifications, {items} items",
    )
