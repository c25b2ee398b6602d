"""Finding Bluetooth LE health devices: advertised service UUIDs first, names and manufacturers as a fallback.

The scan itself is not filtered by service UUID: with a filter, bleak (BlueZ) drops every device that does not
advertise 0x1810/0x1822/0x180D, and many cuffs and oximeters advertise only a name or manufacturer data.
Instead every device seen is classified here; ``filter_services=True`` scans with the filter (macOS 12.0-12.2
needs it). Failures of the platform (no adapter, no permission, no BlueZ) become :class:`BluetoothUnavailable`
with a plain message.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kapmonitor.devices.ble.descriptors import PROFILES, bluetooth_uuid

# Service UUID -> the profiles a device advertising it offers.
SERVICE_PROFILES: dict[str, tuple[str, ...]] = {
    bluetooth_uuid(0x180D): ("ble-hrm",),
    bluetooth_uuid(0x1810): ("ble-bpm", "ble-icp"),
    bluetooth_uuid(0x1822): ("ble-plx-spot", "ble-plx-cont"),
}
# Advertised names of devices that often advertise no service UUID.
NAME_PROFILES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"^(BM\d|BC\d|Beurer)", re.I), ("ble-bpm", "ble-icp")),  # Beurer
    (re.compile(r"^(BLEsmart|Omron|HEM-)", re.I), ("ble-bpm", "ble-icp")),
    (re.compile(r"^(A&D|UA-\d)", re.I), ("ble-bpm", "ble-icp")),  # A&D
    (re.compile(r"^(Nonin|\d{4}-\d|Oximeter|PO\d|PLX)", re.I), ("ble-plx-spot", "ble-plx-cont")),
    (re.compile(r"^(Polar|Wahoo|TICKR|HRM|HR-|Garmin HRM)", re.I), ("ble-hrm",)),
)
# Bluetooth SIG company identifiers of health-device makers seen in manufacturer data.
MANUFACTURER_PROFILES: dict[int, tuple[str, ...]] = {
    0x006B: ("ble-hrm",),  # Polar Electro
    0x020E: ("ble-bpm", "ble-icp"),  # Omron Healthcare
}


class BluetoothUnavailable(Exception):
    """Scanning is impossible here; ``str()`` is a plain message for the user."""


@dataclass(frozen=True)
class FoundDevice:
    address: str
    name: str | None
    rssi: int | None
    profiles: tuple[str, ...]
    detected_by: str  # "service", "name" or "manufacturer"
    ble_device: Any = field(default=None, compare=False, repr=False)  # pass this to BleTransport on macOS


def detect_profiles(
    name: str | None, service_uuids: Iterable[str], manufacturer_ids: Iterable[int]
) -> tuple[tuple[str, ...], str]:
    """The health profiles an advertisement suggests and what gave them away (``((), "")`` for none)."""
    by_service = [p for u in service_uuids for p in SERVICE_PROFILES.get(u.lower(), ())]
    if by_service:
        return tuple(dict.fromkeys(by_service)), "service"
    for pattern, profiles in NAME_PROFILES:
        if name and pattern.match(name):
            return profiles, "name"
    for company in manufacturer_ids:
        if company in MANUFACTURER_PROFILES:
            return MANUFACTURER_PROFILES[company], "manufacturer"
    return (), ""


def classify(seen: Mapping[str, tuple[Any, Any]], *, include_all: bool = False) -> list[FoundDevice]:
    """Health devices among bleak's ``discovered_devices_and_advertisement_data``, strongest signal first."""
    found = []
    for address, (device, adv) in seen.items():
        name = adv.local_name or getattr(device, "name", None)
        profiles, how = detect_profiles(name, adv.service_uuids, adv.manufacturer_data)
        if profiles or include_all:
            found.append(FoundDevice(address, name, adv.rssi, profiles, how, device))
    return sorted(found, key=lambda d: -(d.rssi if d.rssi is not None else -999))


def plain_message(exc: BaseException) -> str:
    """What to tell the user when Bluetooth cannot be used."""
    from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError

    if isinstance(exc, BleakBluetoothNotAvailableError):
        return f"Bluetooth is not available ({exc.reason.name.lower().replace('_', ' ')})."
    if isinstance(exc, BleakDBusError):
        error = exc.dbus_error
        if "AccessDenied" in error or "NotPermitted" in error or "NotAuthorized" in error:
            return "No permission to use Bluetooth. Ask your administrator to allow it (BlueZ policy)."
        if "NotReady" in error:
            return "The Bluetooth adapter is switched off. Switch it on and scan again."
        return f"Bluetooth reported an error: {error}."
    if isinstance(exc, PermissionError):
        return "No permission to use Bluetooth."
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
        return "No Bluetooth service was found on this computer (is BlueZ running? is there an adapter?)."
    text = str(exc).strip()
    if "adapter" in text.lower():
        return "No Bluetooth adapter was found."
    return f"Bluetooth is not available: {text or type(exc).__name__}."


Discover = Callable[..., Awaitable[Mapping[str, tuple[Any, Any]]]]


async def _bleak_discover(timeout: float, service_uuids: list[str] | None) -> Mapping[str, tuple[Any, Any]]:
    from bleak import BleakScanner

    if service_uuids is None:
        return await BleakScanner.discover(timeout, return_adv=True)
    return await BleakScanner.discover(timeout, return_adv=True, service_uuids=service_uuids)


async def scan_async(
    timeout: float = 8.0,
    *,
    filter_services: bool = False,
    include_all: bool = False,
    discover: Discover | None = None,
) -> list[FoundDevice]:
    """Scan with bleak (or ``discover``, a stand-in with the same result shape) and classify what was seen."""
    uuids = sorted(SERVICE_PROFILES) if filter_services else None
    try:
        seen = await (discover or _bleak_discover)(timeout, uuids)
    except (OSError, EOFError) as exc:
        raise BluetoothUnavailable(plain_message(exc)) from exc
    except Exception as exc:
        from bleak.exc import BleakError

        if isinstance(exc, BleakError):
            raise BluetoothUnavailable(plain_message(exc)) from exc
        raise
    return classify(seen, include_all=include_all)


def scan(timeout: float = 8.0, **kwargs: Any) -> list[FoundDevice]:
    """Scan for ``timeout`` seconds (blocking; for the command line). Raises :class:`BluetoothUnavailable`."""
    return asyncio.run(scan_async(timeout, **kwargs))


def describe(device: FoundDevice) -> str:
    rssi = f"{device.rssi} dBm" if device.rssi is not None else "? dBm"
    profiles = ", ".join(device.profiles) or "no health profile"
    titles = "; ".join(PROFILES[p].title for p in device.profiles if p in PROFILES)
    via = f" (by {device.detected_by})" if device.detected_by else ""
    return f"{device.address}  {device.name or '(no name)'}  {rssi}  {profiles}{via}" + (
        f"\n    {titles}" if titles else ""
    )
