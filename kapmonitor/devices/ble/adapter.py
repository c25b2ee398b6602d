"""The Bluetooth LE transport: bleak on its own asyncio loop thread, one seam for the client.

``BleTransport`` connects, subscribes to every supported characteristic the device has (first thing, because
cuffs and spot-check oximeters indicate their data the moment the CCCD is written), decodes each notification
with the profile's decoder, and reconnects with back-off. A cuff that indicates its stored readings and then
disconnects is the normal case, not a failure: those readings keep their device time and are flagged "stored".

The seam is ``connect(address_or_device, *, disconnected_callback) -> client``: a not yet connected object
with bleak's ``BleakClient`` API. The default builds a real ``bleak.BleakClient``; tests and the demo pass
``FakePeripheral.connector()``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import Item, LinkEvent, LinkEventKind, Reading
from kapmonitor.devices.base import Decoder, LinkStats
from kapmonitor.devices.ble.bpm import Quirk, quirks_for_name
from kapmonitor.devices.ble.descriptors import GATT, PROFILES, bluetooth_uuid, expand_profiles
from kapmonitor.devices.ble.plx import PLX_FEATURES, parse_plx_features
from kapmonitor.devices.ble.racp import (
    RECORD_ACCESS_CONTROL_POINT,
    REPORT_ALL_STORED_RECORDS,
    REPORT_NUMBER_OF_ALL_RECORDS,
    RacpDecoder,
    RacpRequest,
    RacpResponse,
)
from kapmonitor.devices.links.transport import LinkState, Publish, Transport

if TYPE_CHECKING:
    from bleak.backends.device import BLEDevice

RACP_UUID = bluetooth_uuid(RECORD_ACCESS_CONTROL_POINT)
PLX_FEATURES_UUID = bluetooth_uuid(PLX_FEATURES)
BATTERY_LEVEL_UUID = bluetooth_uuid(0x2A19)
LOW_BATTERY_PERCENT = 20
# Characteristics whose data is pushed the moment they are subscribed: ask BlueZ for StartNotify (bleak #374).
_PUSHED_ON_SUBSCRIBE = {"ble-bpm", "ble-plx-spot"}

Connect = Callable[..., Any]


def bleak_connect(address_or_device: BLEDevice | str, *, disconnected_callback: Callable[[Any], None]) -> Any:
    """The default seam: a real ``bleak.BleakClient`` (pairing requested: many cuffs only send when
    bonded)."""
    from bleak import BleakClient

    return BleakClient(
        address_or_device, disconnected_callback=disconnected_callback, timeout=20.0, pair=True
    )


class BleTransport(Transport):
    """One Bluetooth LE device with one or more health profiles (``profiles=None``: every supported one)."""

    def __init__(
        self,
        address: Any,
        *,
        profiles: Sequence[str] | None = None,
        connect: Connect = bleak_connect,
        device: str | None = None,
        quirks: Sequence[Quirk] | None = None,
        stale_after_s: float = 3.0,
        stale_reconnect_s: float = 60.0,
        backoff_s: tuple[float, float] = (1.0, 30.0),
        dump_window_s: float = 5.0,
        racp_timeout_s: float = 30.0,
    ) -> None:
        address_text = str(getattr(address, "address", address))
        requested = list(profiles) if profiles is not None else None
        protocol = requested[0] if requested and len(requested) == 1 else "ble"
        super().__init__(device or f"{protocol}@{address_text}", protocol, address_text)
        self.target = address
        self.profiles = expand_profiles(requested)
        self._connect = connect
        if quirks is None:
            quirks = quirks_for_name(getattr(address, "name", None))
        self.decoders: dict[str, Decoder] = {}
        for name in self.profiles:
            factory = PROFILES[name].decoder
            self.decoders[name] = factory(quirks) if name in ("ble-bpm", "ble-icp") else factory()  # type: ignore[call-arg]
        self._racp_decoder = RacpDecoder()
        self.stale_after_s, self.stale_reconnect_s = stale_after_s, stale_reconnect_s
        self.backoff_s, self.dump_window_s, self.racp_timeout_s = backoff_s, dump_window_s, racp_timeout_s
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested = threading.Event()
        self._wake: asyncio.Event | None = None
        self._main_task: asyncio.Task[None] | None = None
        self._connecting = False
        self._generation = 0
        self._client: Any = None
        self._link_lost: asyncio.Event | None = None
        self._subscribed: set[str] = set()
        self._subscribed_at = 0.0
        self._last_notification = 0.0
        self._stale = False
        self._cuff_live = False  # an ICP notification arrived on this connection: the cuff measures live
        self._racp_waiter: asyncio.Future[RacpResponse] | None = None
        self._downloading = False
        self._low_battery = False
        self.ignored_callbacks = 0  # deliveries to a callback of an earlier connection (BlueZ, bleak #2002)

    # -- Transport -------------------------------------------------------------------------------------------

    def start(self, publish: Publish) -> None:
        if self._thread is not None:
            return
        self._publish = publish
        self._stop_requested.clear()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run_loop, name=f"kapmonitor-ble-{self.address}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop_requested.set()
        loop, thread = self._loop, self._thread
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(self._on_stop)
        if thread is not None:
            thread.join(timeout=15.0)
        self._thread = None
        self._set_state(LinkState.STOPPED, "")

    def stats(self) -> LinkStats:
        total = LinkStats()
        for decoder in (*self.decoders.values(), self._racp_decoder):
            s = decoder.stats.snapshot()
            total.bytes_in += s.bytes_in
            total.frames_ok += s.frames_ok
            total.checksum_errors += s.checksum_errors
            total.resyncs += s.resyncs
            total.bytes_discarded += s.bytes_discarded
        return total

    # -- requests from other threads -------------------------------------------------------------------------

    def request_stored_records(self) -> concurrent.futures.Future[RacpResponse]:
        """Ask a PLX spot-check device for every stored record (RACP "report stored records", all). The
        records arrive as readings flagged "stored"; the future gets the device's final RACP response."""
        return self._submit(self._racp(REPORT_ALL_STORED_RECORDS))

    def request_record_count(self) -> concurrent.futures.Future[RacpResponse]:
        return self._submit(self._racp(REPORT_NUMBER_OF_ALL_RECORDS))

    def _submit(self, coro: Coroutine[Any, Any, RacpResponse]) -> concurrent.futures.Future[RacpResponse]:
        loop = self._loop
        if loop is None or self._thread is None or loop.is_closed():
            coro.close()
            raise RuntimeError("the Bluetooth transport is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop)

    # -- the loop thread -------------------------------------------------------------------------------------

    def _run_loop(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            self._main_task = loop.create_task(self._main())
            loop.run_until_complete(self._main_task)
        except asyncio.CancelledError:
            pass
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _on_stop(self) -> None:
        self._wake_up()
        if self._connecting and self._main_task is not None:
            # bleak may wait up to its timeout for a device that is not there: do not make stop() wait too.
            self._main_task.cancel()

    def _wake_up(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _sleep(self, seconds: float, *, or_until: asyncio.Event | None = None) -> bool:
        """Sleep until stopped, ``or_until`` is set, or ``seconds`` pass; True when stop was requested."""
        assert self._wake is not None
        waits = [asyncio.ensure_future(e.wait()) for e in (self._wake, or_until) if e is not None]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        return self._stop_requested.is_set()

    async def _main(self) -> None:
        self._wake = asyncio.Event()
        delay = self.backoff_s[0]
        self._set_state(LinkState.CONNECTING, f"connecting to {self.address}")
        while not self._stop_requested.is_set():
            try:
                reason = await self._session()
                delay = self.backoff_s[0]
            except Exception as exc:  # noqa: BLE001 - any backend failure means: wait, then try again
                reason = f"could not connect: {describe_error(exc)}"
            if self._stop_requested.is_set():
                break
            self._set_state(LinkState.RECONNECTING, f"{reason}; trying again in {delay:g} s")
            if await self._sleep(delay):
                break
            delay = min(delay * 2, self.backoff_s[1])

    async def _session(self) -> str:
        """One connection, from connect to link loss; returns why it ended."""
        self._generation += 1
        generation = self._generation
        self._link_lost = asyncio.Event()
        client = self._connect(self.target, disconnected_callback=self._on_disconnected)
        self._client = client
        try:
            self._connecting = True
            try:
                await client.connect()
            finally:
                self._connecting = False
            await self._subscribe_all(client, generation)
            self._set_state(LinkState.CONNECTED, f"subscribed: {', '.join(sorted(self._subscribed_names()))}")
            await self._read_features(client)
            return await self._watch(client)
        finally:
            self._client = None
            if client.is_connected:
                await self._close(client)

    def _subscribed_names(self) -> list[str]:
        names = {GATT[n].characteristic_uuid: n for n in self.profiles}
        return [names.get(u, u) for u in self._subscribed]

    async def _subscribe_all(self, client: Any, generation: int) -> None:
        self._subscribed = set()
        self._stale, self._cuff_live = False, False
        self._subscribed_at = self._last_notification = time.monotonic()
        wanted: list[tuple[str, str]] = [
            (GATT[n].characteristic_uuid, n) for n in self.profiles
        ]
        if "ble-plx-spot" in self.profiles:
            wanted.append((RACP_UUID, "racp"))
        wanted.append((BATTERY_LEVEL_UUID, "battery"))
        for uuid, name in wanted:
            char = client.services.get_characteristic(uuid)
            if char is None or uuid in self._subscribed:  # never subscribe twice: bleak #484 can hang
                continue
            kwargs = {"bluez": {"use_start_notify": True}} if name in _PUSHED_ON_SUBSCRIBE else {}
            await client.start_notify(char, self._callback(name, generation), **kwargs)
            self._subscribed.add(uuid)
        if not any(GATT[n].characteristic_uuid in self._subscribed for n in self.profiles):
            raise LookupError(f"the device offers none of {', '.join(self.profiles)}")

    def _callback(self, name: str, generation: int) -> Callable[[Any, bytearray], None]:
        def on_notification(sender: Any, data: bytearray) -> None:
            if generation != self._generation or self._client is None:
                self.ignored_callbacks += 1
                return
            try:
                self._on_notification(name, bytes(data))
            except Exception as exc:  # noqa: BLE001 - never raise into bleak's notification machinery
                self._link_event(LinkEventKind.ERROR, f"handling a {name} notification failed: {describe_error(exc)}")

        return on_notification

    async def _read_features(self, client: Any) -> None:
        if "ble-plx-spot" not in self.profiles and "ble-plx-cont" not in self.profiles:
            return
        char = client.services.get_characteristic(PLX_FEATURES_UUID)
        if char is None:
            return
        try:
            features, _ = parse_plx_features(bytes(await client.read_gatt_char(char)))
        except Exception as exc:  # noqa: BLE001 - features are informative only
            self._link_event(LinkEventKind.FEATURES, f"could not read PLX features: {describe_error(exc)}")
            return
        self._link_event(LinkEventKind.FEATURES, ", ".join(features.names) or "none", features=features)

    async def _watch(self, client: Any) -> str:
        assert self._link_lost is not None and self._wake is not None
        streaming = any(GATT[n].streaming for n in self.profiles)
        tick = max(0.01, min(self.stale_after_s / 4, 0.5))
        while not self._stop_requested.is_set():
            if self._link_lost.is_set() or not client.is_connected:
                return self._lost_reason()
            silent = time.monotonic() - self._last_notification
            if streaming and not self._stale and silent > self.stale_after_s:
                self._stale = True
                self._link_event(LinkEventKind.STALE, f"no notification for {silent:.0f} s")
            if streaming and silent > self.stale_reconnect_s:
                return f"no notification for {silent:.0f} s"
            await self._sleep(tick, or_until=self._link_lost)
        return "stopped"

    def _lost_reason(self) -> str:
        if "ble-bpm" in self.profiles and not self._cuff_live:
            return "the device disconnected (a cuff does this after sending its readings)"
        return "the device disconnected"

    async def _close(self, client: Any) -> None:
        for uuid in list(self._subscribed):
            # stop_notify on a link that is dropping fails harmlessly (bleak #472)
            with contextlib.suppress(Exception):
                await client.stop_notify(uuid)
        try:
            await client.disconnect()
        except Exception as exc:  # noqa: BLE001
            self._link_event(LinkEventKind.DISCONNECT, f"disconnect failed: {describe_error(exc)}")

    def _on_disconnected(self, client: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._mark_lost, client)

    def _mark_lost(self, client: Any) -> None:
        if client is self._client and self._link_lost is not None:
            self._link_lost.set()

    # -- notifications (on the loop thread) ------------------------------------------------------------------

    def _on_notification(self, name: str, data: bytes) -> None:
        arrived = now_us()
        self._last_notification = time.monotonic()
        if self._stale:
            self._stale = False
            self._link_event(LinkEventKind.FRESH, "notifications resumed")
        if name == "battery":
            self._on_battery(data)
            return
        if name == "racp":
            items = self._racp_decoder.feed(data)
            self._on_racp(items)
        else:
            if name == "ble-icp":
                self._cuff_live = True
            items = [self._qualify(name, i) for i in self.decoders[name].feed(data)]
        self._emit(stamp(items, arrived, self.device))

    def _qualify(self, name: str, item: Item) -> Item:
        if not isinstance(item, Reading):
            return item
        extra: set[str] = set()
        if self._low_battery:
            extra.add("low_battery")
        dumped = (
            name == "ble-bpm"
            and not self._cuff_live
            and time.monotonic() - self._subscribed_at <= self.dump_window_s
        )
        if dumped or (name == "ble-plx-spot" and self._downloading):
            extra.add("stored")
        return replace(item, flags=item.flags | extra) if extra - item.flags else item

    def _on_battery(self, data: bytes) -> None:
        if not data:
            return
        low = data[0] < LOW_BATTERY_PERCENT
        if low != self._low_battery:
            self._low_battery = low
            self._link_event(LinkEventKind.BATTERY, f"battery {data[0]} %" + (" (low)" if low else ""))

    def _on_racp(self, items: list[Item]) -> None:
        waiter = self._racp_waiter
        for item in items:
            response = item.extra.get("response") if isinstance(item, LinkEvent) else None
            if isinstance(response, RacpResponse) and waiter is not None and not waiter.done():
                waiter.set_result(response)

    async def _racp(self, request: RacpRequest) -> RacpResponse:
        client = self._client
        if client is None or not client.is_connected:
            raise ConnectionError(f"{self.device} is not connected")
        if RACP_UUID not in self._subscribed:
            raise LookupError(f"{self.device} has no Record Access Control Point")
        if self._racp_waiter is not None:
            raise RuntimeError("an RACP request is already running")
        self._racp_waiter = asyncio.get_running_loop().create_future()
        self._downloading = request == REPORT_ALL_STORED_RECORDS
        try:
            await client.write_gatt_char(RACP_UUID, request.encode(), response=True)
            return await asyncio.wait_for(self._racp_waiter, self.racp_timeout_s)
        finally:
            self._racp_waiter = None
            self._downloading = False

    def _link_event(self, kind: LinkEventKind, detail: str, **extra: object) -> None:
        if self._publish is not None:
            self._publish([LinkEvent(kind, detail, now_us(), self.device, extra)])


def stamp(items: Sequence[Item], arrived_us: int, device: str) -> list[Item]:
    """Stamp a notification's items with its arrival time. RR intervals are placed at the beats that end them:
    the last at arrival, each earlier one before it by the intervals that follow, so no two share a time."""
    later_s = 0.0
    rr_times: dict[int, int] = {}
    for index in range(len(items) - 1, -1, -1):
        item = items[index]
        if isinstance(item, Reading) and item.metric == "rr_interval":
            rr_times[index] = arrived_us - round(later_s * 1_000_000)
            later_s += item.value or 0.0
    return [replace(item, t_us=rr_times.get(i, arrived_us), device=device) for i, item in enumerate(items)]


def describe_error(exc: BaseException) -> str:
    """A plain one-line description of a Bluetooth failure."""
    text = str(exc).strip() or type(exc).__name__
    return text if type(exc).__name__ in text else f"{type(exc).__name__}: {text}"
