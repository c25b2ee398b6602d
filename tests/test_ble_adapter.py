"""BleTransport through its one seam, with the fake bleak client playing spec payloads."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from kapmonitor.core.readings import Item, LinkEvent, Reading
from kapmonitor.devices.ble.adapter import BleTransport, stamp
from kapmonitor.devices.ble.descriptors import bluetooth_uuid
from kapmonitor.devices.ble.fake import (
    BATTERY_LEVEL_UUID,
    BATTERY_SERVICE_UUID,
    Disconnect,
    FakeBleakClient,
    FakePeripheral,
    GattCharacteristic,
    Notify,
    Pause,
    simulated_ble_transport,
)
from kapmonitor.devices.ble.hrm import HeartRateDecoder
from kapmonitor.devices.ble.racp import RacpResponseCode
from kapmonitor.devices.links.transport import LinkState
from kapmonitor.devices.registry import descriptor
from kapmonitor.devices.simulation.interface import VitalsSnapshot

BPM, ICP = bluetooth_uuid(0x2A35), bluetooth_uuid(0x2A36)
SPOT, CONT, RACP = bluetooth_uuid(0x2A5E), bluetooth_uuid(0x2A5F), bluetooth_uuid(0x2A52)
HRM = bluetooth_uuid(0x2A37)

STORED_1 = bytes.fromhex("16 7C 00 56 00 61 00 E8 07 06 0F 11 11 1B 33 00 00 00")
STORED_2 = bytes.fromhex("1E 8A 00 58 00 78 00 E8 07 06 0F 12 00 00 3C 00 01 00 00")
CONT_95 = bytes.fromhex("1C 5F 00 5A 00 20 00 00 00 00 57 F0")
FAST = {"backoff_s": (0.02, 0.05), "stale_after_s": 5.0}


class Collector:
    """A publish sink the test can wait on (a condition, never a duration)."""

    def __init__(self) -> None:
        self.items: list[Item] = []
        self._cond = threading.Condition()

    def __call__(self, batch: Sequence[Item]) -> None:
        with self._cond:
            self.items.extend(batch)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[Item]], bool], timeout: float = 10.0) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: predicate(self.items), timeout), f"not seen; got {self.items}"

    def readings(self, metric: str | None = None) -> list[Reading]:
        with self._cond:
            return [i for i in self.items if isinstance(i, Reading) and metric in (None, i.metric)]

    def events(self, kind: str | None = None) -> list[LinkEvent]:
        with self._cond:
            return [i for i in self.items if isinstance(i, LinkEvent) and kind in (None, i.kind)]


def count(metric: str, n: int) -> Callable[[list[Item]], bool]:
    return lambda items: sum(isinstance(i, Reading) and i.metric == metric for i in items) >= n


def has_event(kind: str, n: int = 1) -> Callable[[list[Item]], bool]:
    return lambda items: sum(isinstance(i, LinkEvent) and i.kind == kind for i in items) >= n


@pytest.fixture
def running() -> object:
    started: list[BleTransport] = []

    def start(transport: BleTransport) -> Collector:
        sink = Collector()
        transport.start(sink)
        started.append(transport)
        return sink

    yield start
    for t in started:
        t.stop()


def test_cuff_dumps_stored_readings_with_device_time_then_disconnects(running) -> None:
    cuff = FakePeripheral.scripted(
        ["ble-bpm", "ble-icp"], [[Notify(BPM, STORED_1), Notify(BPM, STORED_2), Disconnect()]]
    )
    transport = BleTransport("AA:BB:CC:DD:EE:01", profiles=["ble-bpm"], connect=cuff.connector(), **FAST)
    sink = running(transport)
    sink.wait_for(lambda items: count("nibp_systolic", 2)(items) and has_event("reconnecting")(items))
    systolic = sink.readings("nibp_systolic")
    assert [r.value for r in systolic] == [124.0, 138.0]
    assert all("stored" in r.flags for r in sink.readings())
    assert [r.t_device.isoformat() for r in systolic] == ["2024-06-15T17:17:27", "2024-06-15T18:00:00"]
    assert all(r.device == "ble-bpm@AA:BB:CC:DD:EE:01" and r.t_us > 0 for r in systolic)
    lost = sink.events("reconnecting")[0]
    assert "a cuff does this after sending its readings" in lost.detail
    # The cuff is gone now; the transport keeps trying with back-off and stops cleanly.
    sink.wait_for(
        lambda items: any(isinstance(i, LinkEvent) and "could not connect" in i.detail for i in items)
    )
    sink.wait_for(lambda items: len(retry_delays(items)) >= 3)
    transport.stop()
    delays = retry_delays(sink.items)
    assert delays[:3] == [0.02, 0.04, 0.05]  # doubling back-off, capped
    assert transport.status().state is LinkState.STOPPED
    assert transport.stats().frames_ok == 2


def retry_delays(items: list[Item]) -> list[float]:
    found = [re.search(r"trying again in ([0-9.]+) s", i.detail) for i in items if isinstance(i, LinkEvent)]
    return [float(m.group(1)) for m in found if m]


def test_subscribes_first_to_every_supported_characteristic_once(running) -> None:
    device = FakePeripheral.scripted(
        ["ble-bpm", "ble-icp", "ble-plx-cont"], [[Notify(BPM, STORED_1), Pause(30)]]
    )
    clients: list[FakeBleakClient] = []

    def connect(target: object, **kwargs: object) -> FakeBleakClient:
        clients.append(FakeBleakClient(device, **kwargs))
        return clients[-1]

    transport = BleTransport("AA:BB:CC:DD:EE:02", connect=connect, **FAST)
    sink = running(transport)
    sink.wait_for(count("nibp_systolic", 1))
    assert clients[0].start_notify_calls == {BPM: 1, ICP: 1, CONT: 1}
    assert sink.events("connected")[0].detail == "subscribed: ble-bpm, ble-icp, ble-plx-cont"
    assert transport.device == "ble@AA:BB:CC:DD:EE:02"


def test_disconnect_mid_stream_then_reconnect(running) -> None:
    oximeter = FakePeripheral.scripted(
        ["ble-plx-cont"],
        [[Notify(CONT, CONT_95), Notify(CONT, CONT_95), Disconnect()], [Notify(CONT, CONT_95), Pause(30)]],
    )
    transport = BleTransport(
        "AA:BB:CC:DD:EE:03", profiles=["ble-plx-cont"], connect=oximeter.connector(), **FAST
    )
    sink = running(transport)
    sink.wait_for(lambda items: count("spo2", 3)(items) and has_event("connected", 2)(items))
    kinds = [e.kind for e in sink.events() if e.kind in ("connecting", "connected", "reconnecting")]
    assert kinds == ["connecting", "connected", "reconnecting", "connected"]
    assert sink.events("reconnecting")[0].detail.startswith("the device disconnected;")
    assert oximeter.connections == 2
    assert all("stored" not in r.flags for r in sink.readings())


def test_callbacks_of_an_earlier_connection_are_ignored(running) -> None:
    # BlueZ may keep calling the callback registered before a reconnect (bleak #2002): one reading per
    # notification.
    oximeter = FakePeripheral.scripted(
        ["ble-plx-cont"],
        [[Notify(CONT, CONT_95), Disconnect()], [Notify(CONT, CONT_95), Notify(CONT, CONT_95), Pause(30)]],
        repeat_old_callbacks=True,
    )
    transport = BleTransport(
        "AA:BB:CC:DD:EE:04", profiles=["ble-plx-cont"], connect=oximeter.connector(), **FAST
    )
    sink = running(transport)
    sink.wait_for(lambda items: count("spo2", 3)(items) and transport.ignored_callbacks >= 2)
    transport.stop()
    assert len(sink.readings("spo2")) == 3
    assert transport.ignored_callbacks == 2


def test_watchdog_marks_data_stale_when_notifications_stop(running) -> None:
    strap = FakePeripheral.scripted(
        ["ble-hrm"],
        [
            [
                Notify(HRM, bytes.fromhex("16 3C 11 04")),
                Pause(1.0),
                Notify(HRM, bytes.fromhex("06 3C")),
                Pause(30),
            ]
        ],
    )
    transport = BleTransport(
        "AA:BB:CC:DD:EE:05",
        profiles=["ble-hrm"],
        connect=strap.connector(),
        backoff_s=(0.02, 0.05),
        stale_after_s=0.1,
    )
    sink = running(transport)
    sink.wait_for(lambda items: has_event("fresh")(items) and count("heart_rate", 2)(items))
    kinds = [e.kind for e in sink.events() if e.kind in ("stale", "fresh")]
    assert kinds[:2] == ["stale", "fresh"]
    assert "no notification for" in sink.events("stale")[0].detail
    assert transport.status().state is LinkState.CONNECTED  # stale data, but the link is still up


def test_plx_spot_check_indications_and_racp_download(running) -> None:
    stored = [
        bytes.fromhex("03 61 00 3C 00 E8 07 0B 1D 17 08 39 00 02"),
        bytes.fromhex("03 62 00 3D 00 E8 07 0B 1D 17 09 39 00 02"),
    ]
    live = bytes.fromhex("0F AC F3 BE F5 E8 07 0B 1D 17 08 39 20 40 22 00 00 66 E3")
    oximeter = FakePeripheral.scripted(
        ["ble-plx-spot"],
        [[Notify(SPOT, live), Pause(30)]],
        racp_replies={
            bytes.fromhex("01 01"): [
                Notify(SPOT, stored[0]),
                Notify(SPOT, stored[1]),
                Notify(RACP, bytes.fromhex("06 00 01 01")),
            ]
        },
    )
    transport = BleTransport(
        "AA:BB:CC:DD:EE:06", profiles=["ble-plx-spot"], connect=oximeter.connector(), **FAST
    )
    sink = running(transport)
    sink.wait_for(lambda items: count("spo2", 1)(items) and has_event("features")(items))
    assert "stored" not in sink.readings("spo2")[0].flags
    response = transport.request_stored_records().result(timeout=10)
    assert response.response_code == RacpResponseCode.SUCCESS
    sink.wait_for(count("spo2", 3))
    replayed = sink.readings("spo2")[1:]
    assert [r.value for r in replayed] == [97.0, 98.0]
    assert all("stored" in r.flags and r.t_device is not None for r in replayed)
    assert (RACP, bytes.fromhex("01 01")) in oximeter.writes
    assert sink.events("racp")[0].detail == "report stored records: success"
    assert "spot-check storage" in sink.events("features")[0].detail


def test_demo_oximeter_and_cuff_from_a_patient_model(running) -> None:
    class SteadyPatient:
        def vitals(self, t_s: float) -> VitalsSnapshot:
            return VitalsSnapshot(97.0, 72.0, 2.5, 118.0, 76.0, 90.0)

        def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
            return np.zeros(n)

    device = FakePeripheral.simulating(SteadyPatient(), ("ble-plx-cont", "ble-cuff"), speed=50.0, tick_s=0.02)
    transport = BleTransport(
        "FA:KE:00:00:00:01", profiles=["ble-plx-cont", "ble-cuff"], connect=device.connector(), **FAST
    )
    sink = running(transport)
    sink.wait_for(lambda items: count("nibp_systolic", 1)(items) and count("cuff_pressure", 5)(items))
    assert {r.value for r in sink.readings("spo2")} == {97.0}
    assert sink.readings("nibp_systolic")[0].value == 118.0
    assert (
        "stored" not in sink.readings("nibp_systolic")[0].flags
    )  # measured live: the cuff pressure came first
    assert max(r.value for r in sink.readings("cuff_pressure")) > 100


def test_patient_model_disconnection_drops_the_link(running) -> None:
    class WalksAway:
        def vitals(self, t_s: float) -> VitalsSnapshot:
            return VitalsSnapshot(96.0, 70.0, 1.0, None, None, None, connected=t_s < 3)

        def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
            return np.zeros(n)

    device = FakePeripheral.simulating(WalksAway(), ("ble-plx-cont",), speed=50.0, tick_s=0.02)
    transport = BleTransport("FA:KE:00:00:00:02", profiles=["ble-plx"], connect=device.connector(), **FAST)
    sink = running(transport)
    sink.wait_for(lambda items: has_event("reconnecting")(items) and count("spo2", 1)(items))
    assert transport.device == "ble-plx@FA:KE:00:00:00:02"


def test_a_device_without_the_profiles_is_reported_plainly(running) -> None:
    strap = FakePeripheral.scripted(["ble-hrm"], [[Pause(30)]], stay_silent=True)
    transport = BleTransport("AA:BB:CC:DD:EE:07", profiles=["ble-bpm"], connect=strap.connector(), **FAST)
    sink = running(transport)
    sink.wait_for(has_event("reconnecting"))
    assert "offers none of ble-bpm" in sink.events("reconnecting")[0].detail


def test_runs_on_its_own_named_thread_and_stop_is_idempotent() -> None:
    device = FakePeripheral.scripted(["ble-hrm"], [[Pause(30)]])
    transport = BleTransport("AA:BB:CC:DD:EE:08", profiles=["ble-hrm"], connect=device.connector(), **FAST)
    sink = Collector()
    transport.start(sink)
    sink.wait_for(has_event("connected"))
    assert "kapmonitor-ble-AA:BB:CC:DD:EE:08" in [t.name for t in threading.enumerate()]
    transport.stop()
    transport.stop()
    assert "kapmonitor-ble-AA:BB:CC:DD:EE:08" not in [t.name for t in threading.enumerate()]
    with pytest.raises(RuntimeError):
        transport.request_stored_records()


def test_a_connect_that_hangs_is_cancelled_by_stop() -> None:
    class Hanging(FakeBleakClient):
        async def connect(self, **kwargs: object) -> None:
            import asyncio

            await asyncio.sleep(60)

    device = FakePeripheral.scripted(["ble-hrm"], [])
    transport = BleTransport("AA:BB:CC:DD:EE:09", connect=lambda t, **kw: Hanging(device, **kw), **FAST)
    sink = Collector()
    transport.start(sink)
    sink.wait_for(has_event("connecting"))
    transport.stop()  # the connect would hang for a minute; stop cancels it instead of waiting it out
    assert "kapmonitor-ble-AA:BB:CC:DD:EE:09" not in [t.name for t in threading.enumerate() if t.is_alive()]


def test_low_battery_flags_the_readings_that_follow(running) -> None:
    strap = FakePeripheral.scripted(
        ["ble-hrm"],
        [
            [
                Notify(HRM, bytes.fromhex("06 3C")),
                Notify(BATTERY_LEVEL_UUID, b"\x0a"),
                Notify(HRM, bytes.fromhex("06 3D")),
                Pause(30),
            ]
        ],
    )
    strap.characteristics.append(
        GattCharacteristic(BATTERY_LEVEL_UUID, BATTERY_SERVICE_UUID, ("read", "notify"))
    )
    transport = BleTransport("AA:BB:CC:DD:EE:10", profiles=["ble-hrm"], connect=strap.connector(), **FAST)
    sink = running(transport)
    sink.wait_for(count("heart_rate", 2))
    first, second = sink.readings("heart_rate")
    assert "low_battery" not in first.flags and "low_battery" in second.flags
    assert sink.events("battery")[0].detail == "battery 10 % (low)"


def test_the_demo_transport_streams_a_simulated_oximeter(running) -> None:
    class Patient:
        def vitals(self, t_s: float) -> VitalsSnapshot:
            return VitalsSnapshot(95.5, 80.0, 4.0, 120.0, 80.0, 93.0)

        def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
            return np.zeros(n)

    transport = simulated_ble_transport(Patient(), ("ble-plx-cont",), speed=50.0)
    sink = running(transport)
    sink.wait_for(count("perfusion_index", 2))
    assert sink.readings("spo2")[0].value == 95.5
    assert transport.device == "ble-plx-cont@FA:KE:00:00:00:01"


@pytest.mark.parametrize(
    ("protocol", "uuid", "payload", "metric"),
    [
        ("ble-hrm", HRM, "06 3C", "heart_rate"),
        ("ble-bpm", BPM, "00 96 00 5A 00 6E 00", "nibp_systolic"),
        ("ble-icp", ICP, "00 96 00 FF 07 FF 07", "cuff_pressure"),
        ("ble-plx-spot", SPOT, "00 61 00 3C 00", "spo2"),
        ("ble-plx-cont", CONT, "00 61 00 3C 00", "spo2"),
    ],
)
def test_registered_descriptors_carry_their_uuids_and_decode_one_notification(
    protocol: str, uuid: str, payload: str, metric: str
) -> None:
    d = descriptor(protocol)
    assert d.link == "ble" and d.gatt is not None and d.gatt.characteristic_uuid == uuid
    assert d.gatt.service_uuid.endswith("-0000-1000-8000-00805f9b34fb")
    items = d.decoder().feed(bytes.fromhex(payload))
    assert items[0].metric == metric


def test_rr_intervals_of_one_notification_get_the_times_of_their_beats() -> None:
    items = HeartRateDecoder().feed(bytes.fromhex("10 48 00 04 00 02"))  # RR 1.0 s then 0.5 s
    stamped = stamp(items, 10_000_000, "ble-hrm@X")
    rr = [(i.value, i.t_us) for i in stamped if isinstance(i, Reading) and i.metric == "rr_interval"]
    assert rr == [(1.0, 9_500_000), (0.5, 10_000_000)]
    assert all(i.device == "ble-hrm@X" for i in stamped)
