"""hl7-pcd01: decode throughput, and MLLP byte to live buffer through the real listener.

Budgets (issue 17): at least 2,000 messages/s decoded on one core (CPU time of this process's one thread, so other
work on the machine does not count against it); a message written to the listener's socket is in the live
buffers within 50 ms at the 95th percentile (listener, decoder, hub, buffers, as the station wires them).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence

from bench.harness import Figure, median, percentile
from kapmonitor.core.hub import Hub
from kapmonitor.core.live import LiveBuffers
from kapmonitor.core.readings import Item, Reading
from kapmonitor.devices.hl7.decoder import Hl7Decoder
from kapmonitor.devices.hl7.framing import mllp_frame
from kapmonitor.devices.hl7.simulator import Hl7MonitorSimulator
from kapmonitor.devices.links.mllp import MllpListener
from kapmonitor.devices.simulation.physiology import PhysiologicalModel

MESSAGES = 3000
LATENCY_MESSAGES = 300


def _decode() -> list[Figure]:
    sim = Hl7MonitorSimulator(PhysiologicalModel(seed=1))
    data = sim.advance(float(MESSAGES))
    best = 0.0
    for _ in range(3):
        decoder = Hl7Decoder()
        started = time.process_time()
        for i in range(0, len(data), 65536):
            decoder.feed(data[i : i + 65536])
        best = max(best, MESSAGES / (time.process_time() - started))
    size = len(data) / MESSAGES
    note = f"simulated monitor: 6 numerics + 75 pleth samples, {size / 1000:.1f} kB a message; best of 3"
    return [Figure("decode hl7-pcd01, messages", best, "messages/s", 2000.0, higher_is_better=True, note=note)]


def _latency() -> list[Figure]:
    buffers = LiveBuffers()
    arrived: dict[int, float] = {}
    lock = threading.Lock()

    def sink(batch: Sequence[Item]) -> None:
        buffers.write(batch)
        now = time.perf_counter()
        with lock:
            for item in batch:
                if isinstance(item, Reading) and item.metric == "resp_rate" and item.value is not None:
                    arrived.setdefault(int(item.value), now)

    hub = Hub()
    hub.subscribe(sink)
    hub.start()
    listener = MllpListener("tcp://127.0.0.1:0")
    listener.start(hub.publish)
    sim = Hl7MonitorSimulator(PhysiologicalModel(seed=1))
    sent: dict[int, float] = {}
    try:
        with socket.create_connection(("127.0.0.1", listener.port)) as conn:
            conn.settimeout(5)
            for n in range(1, LATENCY_MESSAGES + 1):
                marker = n % 100 + 1  # carried as the respiration rate, so each message is told apart
                frame = mllp_frame(_with_resp(sim.message_at(float(n)), marker).encode())
                with lock:
                    arrived.pop(marker, None)
                sent[n] = time.perf_counter()
                conn.sendall(frame)
                conn.recv(4096)  # the ACK: an original-mode monitor waits for it before the next message
                deadline = time.perf_counter() + 1.0
                while time.perf_counter() < deadline:
                    with lock:
                        if marker in arrived:
                            sent[n] = (arrived[marker] - sent[n]) * 1000
                            break
                    time.sleep(0.0005)
                else:
                    sent.pop(n)
                time.sleep(0.02)
    finally:
        listener.stop()
        hub.stop()
    latencies = list(sent.values())
    lost = LATENCY_MESSAGES - len(latencies)
    return [
        Figure(
            "MLLP byte to live buffer, p95", percentile(latencies, 95), "ms", 50.0, note=f"{len(latencies)} messages"
        ),
        Figure("MLLP byte to live buffer, median", median(latencies), "ms", None, note=f"{lost} messages not seen"),
    ]


def _with_resp(text: str, value: int) -> str:
    """The message with its respiration-rate OBX carrying ``value``."""
    segments = text.split("\r")
    for i, segment in enumerate(segments):
        fields = segment.split("|")
        if fields[0] == "OBX" and fields[3].startswith("151562^"):
            fields[5] = str(value)
            segments[i] = "|".join(fields)
    return "\r".join(segments)


def run() -> list[Figure]:
    return _decode() + _latency()
