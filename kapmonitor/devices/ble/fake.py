"""A fake Bluetooth device and a client with bleak's ``BleakClient`` API, for tests and the demo.

:class:`FakePeripheral` is the device: its GATT table and what it sends on each connection, either a script of
:class:`Notify` / :class:`Pause` / :class:`Disconnect` steps or the simulators of a :class:`PatientModel`.
:class:`FakeBleakClient` is what :class:`~kapmonitor.devices.ble.adapter.BleTransport` sees through its one
seam::

    peripheral = FakePeripheral.simulating(model, ("ble-bpm", "ble-icp", "ble-plx-cont"))
    transport = BleTransport("FA:KE:00:00:00:01", connect=peripheral.connector())

Like a real device the fake sends an indication only once its characteristic is subscribed, drops
notifications nobody subscribed to, calls ``disconnected_callback`` on the event loop when it drops the link,
and with ``repeat_old_callbacks`` reproduces BlueZ calling callbacks of an earlier connection again (bleak
#2002).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakCharacteristicNotFoundError, BleakDeviceNotFoundError, BleakError

from kapmonitor.devices.ble.descriptors import GATT, PROFILES, bluetooth_uuid, expand_profiles
from kapmonitor.devices.ble.plx import PlxFeatures, encode_plx_features
from kapmonitor.devices.ble.racp import RECORD_ACCESS_CONTROL_POINT
from kapmonitor.devices.ble.simulators import NotificationSimulator
from kapmonitor.devices.simulation.interface import PatientModel

if TYPE_CHECKING:
    from bleak.assigned_numbers import CharacteristicPropertyName

    from kapmonitor.devices.ble.adapter import BleTransport

RACP_UUID = bluetooth_uuid(RECORD_ACCESS_CONTROL_POINT)
PLX_FEATURES_UUID = bluetooth_uuid(0x2A60)
BATTERY_SERVICE_UUID = bluetooth_uuid(0x180F)
BATTERY_LEVEL_UUID = bluetooth_uuid(0x2A19)


@dataclass(frozen=True)
class Notify:
    """The device sends ``payload`` on the characteristic ``uuid`` (waiting until it is subscribed)."""

    uuid: str
    payload: bytes


@dataclass(frozen=True)
class Pause:
    seconds: float


@dataclass(frozen=True)
class Disconnect:
    """The device drops the link (a cuff after its dump, a patient walking out of range)."""


Step = Notify | Pause | Disconnect


@dataclass
class GattCharacteristic:
    uuid: str
    service_uuid: str
    properties: tuple[CharacteristicPropertyName, ...]
    value: bytes = b""


def profile_characteristics(profiles: Iterable[str]) -> list[GattCharacteristic]:
    """The GATT table of a device offering these profiles (plus RACP and PLX Features for a spot-check
    PLX)."""
    table: list[GattCharacteristic] = []
    for name in expand_profiles(list(profiles)):
        gatt = GATT[name]
        kind: CharacteristicPropertyName = "indicate" if gatt.indicate else "notify"
        table.append(GattCharacteristic(gatt.characteristic_uuid, gatt.service_uuid, (kind,)))
        if name == "ble-plx-spot":
            service = gatt.service_uuid
            table.append(GattCharacteristic(RACP_UUID, service, ("write", "indicate")))
            table.append(
                GattCharacteristic(
                    PLX_FEATURES_UUID,
                    service,
                    ("read",),
                    encode_plx_features(PlxFeatures(0x0007, 0x0220, 0x8020)),
                )
            )
    return table


@dataclass
class FakePeripheral:
    """A simulated device. ``sessions`` holds one script per connection; after the last one the device is
    ``absent`` (connecting fails) or, with ``stay_silent``, connects and sends nothing."""

    characteristics: list[GattCharacteristic]
    sessions: list[list[Step]] = field(default_factory=list)
    name: str = "Fake health device"
    address: str = "FA:KE:00:00:00:01"
    racp_replies: dict[bytes, list[Notify]] = field(default_factory=dict)
    simulators: dict[str, NotificationSimulator] = field(default_factory=dict)
    speed: float = 1.0
    tick_s: float = 0.1
    stay_silent: bool = False
    repeat_old_callbacks: bool = False
    connections: int = 0
    writes: list[tuple[str, bytes]] = field(default_factory=list)
    old_callbacks: dict[str, list[Callable[..., Any]]] = field(default_factory=dict)

    @classmethod
    def scripted(
        cls, profiles: Iterable[str], sessions: Sequence[Sequence[Step]], **kwargs: Any
    ) -> FakePeripheral:
        return cls(profile_characteristics(profiles), [list(s) for s in sessions], **kwargs)

    @classmethod
    def simulating(
        cls,
        model: PatientModel,
        profiles: Iterable[str],
        *,
        speed: float = 1.0,
        tick_s: float = 0.1,
        **kwargs: Any,
    ) -> FakePeripheral:
        """A device whose notifications come from the profiles' simulators of ``model`` (the demo uses
        this)."""
        names = expand_profiles(list(profiles))
        sims: dict[str, NotificationSimulator] = {}
        for name in names:
            factory = PROFILES[name].simulator
            assert factory is not None
            sim = factory(model)
            assert isinstance(sim, NotificationSimulator)
            sims[GATT[name].characteristic_uuid] = sim
        return cls(profile_characteristics(names), simulators=sims, speed=speed, tick_s=tick_s, **kwargs)

    def connector(self) -> Callable[..., FakeBleakClient]:
        """The ``connect`` seam of :class:`BleTransport`: builds a client for this device."""

        def connect(address_or_device: object, **kwargs: Any) -> FakeBleakClient:
            return FakeBleakClient(self, **kwargs)

        return connect

    def services(self) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        services: dict[str, BleakGATTService] = {}
        handle = 1
        for ch in self.characteristics:
            if ch.service_uuid not in services:
                services[ch.service_uuid] = BleakGATTService(None, handle, ch.service_uuid)
                collection.add_service(services[ch.service_uuid])
                handle += 1
            service = services[ch.service_uuid]
            characteristic = BleakGATTCharacteristic(
                ch, handle, ch.uuid, list(ch.properties), lambda: 20, service
            )
            collection.add_characteristic(characteristic)
            handle += 2
        return collection

    def value_of(self, uuid: str) -> bytes:
        for ch in self.characteristics:
            if ch.uuid == uuid:
                return ch.value
        raise BleakCharacteristicNotFoundError(uuid)


class FakeBleakClient:
    """The subset of ``bleak.BleakClient`` kapmonitor uses, with the same signatures and callback
    conventions."""

    def __init__(
        self,
        peripheral: FakePeripheral,
        disconnected_callback: Callable[[Any], None] | None = None,
        services: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.peripheral = peripheral
        self._disconnected_callback = disconnected_callback
        self._services: BleakGATTServiceCollection | None = None
        self._connected = False
        self._callbacks: dict[str, list[Callable[..., Any]]] = {}
        self._subscribed: dict[str, asyncio.Event] = {}  # uuid -> set once notifications are on
        self._task: asyncio.Task[None] | None = None
        self.start_notify_calls: dict[str, int] = {}
        self.address = peripheral.address
        self.name = peripheral.name

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def services(self) -> BleakGATTServiceCollection:
        if self._services is None:
            raise BleakError("Service Discovery has not been performed yet")
        return self._services

    async def connect(self, **kwargs: Any) -> None:
        p = self.peripheral
        script: list[Step] | None = None
        if p.connections < len(p.sessions):
            script = p.sessions[p.connections]
        elif not (p.simulators or p.stay_silent) or (p.simulators and not self._simulators_connected()):
            raise BleakDeviceNotFoundError(p.address, f"Device with address {p.address} was not found.")
        p.connections += 1
        await asyncio.sleep(0)
        self._services = p.services()
        self._connected = True
        if script is not None:
            self._task = asyncio.get_running_loop().create_task(self._play_script(script))
        elif p.simulators:
            self._task = asyncio.get_running_loop().create_task(self._play_simulators())

    async def disconnect(self) -> None:
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self._drop_link()

    async def start_notify(self, char_specifier: Any, callback: Callable[..., Any], **kwargs: Any) -> None:
        if not self._connected:
            raise BleakError("Not connected")
        char = self._resolve(char_specifier)
        # Like BlueZ, a second subscription adds a second delivery rather than replacing the first.
        self._callbacks.setdefault(char.uuid, []).append(callback)
        self.peripheral.old_callbacks.setdefault(char.uuid, []).append(callback)
        self.start_notify_calls[char.uuid] = self.start_notify_calls.get(char.uuid, 0) + 1
        self._subscribed.setdefault(char.uuid, asyncio.Event()).set()

    async def stop_notify(self, char_specifier: Any) -> None:
        if not self._connected:
            raise BleakError("Not connected")
        char = self._resolve(char_specifier)
        self._callbacks.pop(char.uuid, None)

    async def read_gatt_char(self, char_specifier: Any, **kwargs: Any) -> bytearray:
        char = self._resolve(char_specifier)
        return bytearray(self.peripheral.value_of(char.uuid))

    async def write_gatt_char(self, char_specifier: Any, data: Any, response: bool | None = None) -> None:
        char = self._resolve(char_specifier)
        payload = bytes(data)
        self.peripheral.writes.append((char.uuid, payload))
        if char.uuid == RACP_UUID:
            asyncio.get_running_loop().create_task(self._answer_racp(payload))

    # -- the device side -------------------------------------------------------------------------------------

    def _resolve(self, char_specifier: Any) -> BleakGATTCharacteristic:
        if isinstance(char_specifier, BleakGATTCharacteristic):
            return char_specifier
        found = self.services.get_characteristic(char_specifier)
        if found is None:
            raise BleakCharacteristicNotFoundError(char_specifier)
        return found

    def _deliver(self, uuid: str, payload: bytes) -> None:
        if not self._connected:
            return
        char = self.services.get_characteristic(uuid)
        callbacks = list(self._callbacks.get(uuid, ()))
        if self.peripheral.repeat_old_callbacks:
            callbacks += [cb for cb in self.peripheral.old_callbacks.get(uuid, ()) if cb not in callbacks]
        for callback in callbacks:
            result = callback(char, bytearray(payload))
            if inspect.isawaitable(result):
                asyncio.ensure_future(result)

    async def _send(self, step: Notify) -> None:
        # An indicating device waits for its CCCD to be written before it sends anything.
        await self._subscribed.setdefault(step.uuid, asyncio.Event()).wait()
        self._deliver(step.uuid, step.payload)

    async def _play_script(self, script: list[Step]) -> None:
        for step in script:
            if isinstance(step, Notify):
                await self._send(step)
            elif isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
            else:
                self._drop_link()
                return
            await asyncio.sleep(0)

    def _simulators_connected(self) -> bool:
        return all(sim.connected for sim in self.peripheral.simulators.values())

    async def _play_simulators(self) -> None:
        p = self.peripheral
        while self._connected:
            await asyncio.sleep(p.tick_s)
            for uuid, sim in p.simulators.items():
                for payload in sim.notifications(p.tick_s * p.speed):
                    self._deliver(uuid, payload)
            if not self._simulators_connected():
                self._drop_link()

    async def _answer_racp(self, request: bytes) -> None:
        p = self.peripheral
        replies = p.racp_replies.get(request)
        if replies is None and p.simulators:
            spot = p.simulators.get(GATT["ble-plx-spot"].characteristic_uuid)
            if spot is not None:
                response = spot.receive(request)
                replies = [
                    Notify(GATT["ble-plx-spot"].characteristic_uuid, b)
                    for b in spot.notifications(0.0)
                ]
                replies.append(Notify(RACP_UUID, response))
        for step in replies or [Notify(RACP_UUID, bytes([0x06, 0x00, request[0] if request else 0, 0x02]))]:
            await asyncio.sleep(0)
            await self._send(step)

    def _drop_link(self) -> None:
        if not self._connected:
            return
        self._connected = False
        self._callbacks.clear()
        if self._disconnected_callback is not None:
            # bleak schedules the callback on the event loop rather than calling it in place.
            asyncio.get_running_loop().call_soon(self._disconnected_callback, self)


def simulated_ble_transport(
    model: PatientModel,
    profiles: Sequence[str] = ("ble-plx-cont", "ble-cuff"),
    *,
    address: str = "FA:KE:00:00:00:01",
    speed: float = 1.0,
) -> BleTransport:
    """A :class:`BleTransport` whose device is simulated from ``model``: the demo's Bluetooth cuff and
    oximeter take exactly the path a real one does (subscription, decoding, watchdog, reconnection)."""
    from kapmonitor.devices.ble.adapter import BleTransport

    device = FakePeripheral.simulating(
        model, profiles, speed=speed, address=address, name="Simulated monitor"
    )
    return BleTransport(address, profiles=list(profiles), connect=device.connector())
