"""Byte to buffer: a DF7 packet written to a pseudo-terminal until its samples are in the live buffers.

Budget (issue: foundation): <= 50 ms p95, through the real path (pyserial reader thread, decoder, hub, buffers).
"""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Sequence

from bench.harness import Figure, median, percentile
from kapmonitor.core.hub import Hub
from kapmonitor.core.live import LiveBuffers
from kapmonitor.core.readings import Item, WaveChunk
from kapmonitor.devices.links.serial import SerialTransport
from kapmonitor.devices.nonin.descriptors import encode_df7_packet

PACKETS = 300  # 100 s of DF7 at 3 packets/s would be slow: packets are written every 50 ms instead


def run() -> list[Figure]:
    master, slave = os.openpty()
    tty.setraw(slave)
    port = os.ttyname(slave)
    buffers = LiveBuffers()
    arrived: dict[int, float] = {}
    lock = threading.Lock()

    def sink(batch: Sequence[Item]) -> None:
        buffers.write(batch)
        now = time.perf_counter()
        with lock:
            for item in batch:
                if isinstance(item, WaveChunk):
                    arrived.setdefault(item.samples[0], now)  # the first sample carries the packet number

    hub = Hub()
    hub.subscribe(sink)
    hub.start()
    link = SerialTransport("nonin-df7", port)
    link.start(hub.publish)
    sent: dict[int, float] = {}
    try:
        time.sleep(0.5)
        for n in range(1, PACKETS + 1):
            packet = encode_df7_packet([n] * 25, spo2=97, pulse_rate=70)
            os.write(master, packet)
            sent[n] = time.perf_counter()
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        link.stop()
        hub.stop()
        os.close(master)
        os.close(slave)
    latencies = [(arrived[n] - sent[n]) * 1000 for n in sent if n in arrived and n > 3]  # first ones: sync
    lost = PACKETS - 3 - len(latencies)
    return [
        Figure("pty byte to live buffer, p95", percentile(latencies, 95), "ms", 50.0, note=f"{len(latencies)} packets"),
        Figure("pty byte to live buffer, median", median(latencies), "ms", None, note=f"{lost} packets not seen"),
    ]
