from __future__ import annotations

import numpy as np

from kapmonitor.core.clock import SampleClock
from kapmonitor.core.hub import Hub
from kapmonitor.core.live import LiveBuffers, Ring
from kapmonitor.core.metrics import METRICS, metric_info
from kapmonitor.core.readings import Reading, WaveChunk


def test_every_metric_has_a_unit_and_export_code() -> None:
    assert metric_info("nibp_systolic").unit == "mmHg"
    assert metric_info("spo2").loinc == ("59408-5", "2708-6")
    assert all(m.mdc_code for m in METRICS.values())


def test_sample_clock_follows_the_counter_not_arrival_jitter() -> None:
    clock = SampleClock(75.0)
    first = clock.place(25, arrival_us=10_000_000)
    second = clock.place(25, arrival_us=10_400_000)  # arrived 67 ms late
    assert first == 10_000_000 - 333_333
    assert second == first + 333_333


def test_sample_clock_reanchors_after_a_gap() -> None:
    clock = SampleClock(75.0)
    clock.place(75, arrival_us=1_000_000)
    after_gap = clock.place(75, arrival_us=20_000_000)
    assert after_gap == 19_000_000
    assert clock.reanchors == 1


def test_ring_wraps_and_returns_time_order() -> None:
    ring = Ring(5)
    ring.extend(np.arange(4.0), np.arange(4.0) * 10)
    ring.extend(np.arange(4.0, 7.0), np.arange(4.0, 7.0) * 10)
    t, v = ring.arrays()
    assert list(t) == [2, 3, 4, 5, 6]
    assert list(v) == [20, 30, 40, 50, 60]
    assert list(ring.arrays(since_s=4.5)[0]) == [5, 6]


def test_hub_delivers_batches_to_every_sink_and_keeps_missing_values_missing() -> None:
    hub = Hub()
    buffers = LiveBuffers()
    seen: list[int] = []
    hub.subscribe(buffers.write)
    hub.subscribe(lambda batch: seen.append(len(batch)))
    hub.start()
    hub.publish([Reading("spo2", 97, "%", t_us=1_000_000, device="ox")])
    hub.publish([Reading("spo2", None, "%", frozenset({"sensor_off"}), t_us=2_000_000, device="ox")])
    hub.publish([WaveChunk("pleth", 75.0, (1, 2, 3), t_us=1_000_000, device="ox")])
    hub.stop()
    assert sum(seen) == 3
    latest = buffers.latest(("ox", "spo2"))
    assert latest is not None and latest.value is None and "sensor_off" in latest.flags
    t, v = buffers.arrays(("ox", "spo2"))
    assert v[0] == 97 and np.isnan(v[1])
    assert list(buffers.arrays(("ox", "pleth"))[1]) == [1, 2, 3]


def test_a_failing_sink_does_not_starve_the_others() -> None:
    hub = Hub()
    got: list[object] = []

    def broken(batch: object) -> None:
        raise RuntimeError("disk full")

    hub.subscribe(broken)
    hub.subscribe(got.extend)
    hub.publish([Reading("spo2", 97, "%")])
    hub.drain()
    assert len(got) == 1 and hub.sink_errors == 1


def test_sync_returns_once_everything_published_before_it_was_delivered() -> None:
    hub = Hub(batch_s=0.2)
    got: list[object] = []
    hub.subscribe(got.extend)
    hub.start()
    try:
        for k in range(50):
            hub.publish([Reading("spo2", k, "%")])
        assert hub.sync()
        assert len(got) == 50
    finally:
        hub.stop()
