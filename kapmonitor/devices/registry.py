"""Protocol name -> device descriptor, imported lazily; outside packages add more through an entry-point group."""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points

from kapmonitor.devices.base import DeviceDescriptor

ENTRY_POINT_GROUP = "kapmonitor.devices"

# name -> (module, attribute holding the DeviceDescriptor)
BUILTIN: dict[str, tuple[str, str]] = {
    "nonin-df2": ("kapmonitor.devices.nonin.descriptors", "DF2"),
    "nonin-df7": ("kapmonitor.devices.nonin.descriptors", "DF7"),
    "nonin-df8": ("kapmonitor.devices.nonin.descriptors", "DF8"),
    "nonin-df13": ("kapmonitor.devices.nonin.descriptors", "DF13"),
    "masimo-ascii": ("kapmonitor.devices.masimo.descriptors", "MASIMO_ASCII"),
    "contec-v7": ("kapmonitor.devices.contec.descriptors", "CONTEC_V7"),
    "contec-legacy": ("kapmonitor.devices.contec.descriptors", "CONTEC_LEGACY"),
    "suntech-advantage": ("kapmonitor.devices.suntech.descriptors", "SUNTECH_ADVANTAGE"),
    "ble-hrm": ("kapmonitor.devices.ble.descriptors", "HRM"),
    "ble-bpm": ("kapmonitor.devices.ble.descriptors", "BPM"),
    "ble-icp": ("kapmonitor.devices.ble.descriptors", "ICP"),
    "ble-plx-spot": ("kapmonitor.devices.ble.descriptors", "PLX_SPOT"),
    "ble-plx-cont": ("kapmonitor.devices.ble.descriptors", "PLX_CONT"),
    "hl7-pcd01": ("kapmonitor.devices.hl7.descriptors", "HL7_PCD01"),
}


class UnknownProtocol(KeyError):
    def __str__(self) -> str:
        return f"unknown protocol {self.args[0]!r}; known: {', '.join(protocol_names())}"


def _external() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def protocol_names() -> list[str]:
    return sorted(set(BUILTIN) | set(_external()))


@cache
def descriptor(name: str) -> DeviceDescriptor:
    if name in BUILTIN:
        module_name, attr = BUILTIN[name]
    elif name in (ext := _external()):
        module_name, _, attr = ext[name].partition(":")
    else:
        raise UnknownProtocol(name)
    found = getattr(importlib.import_module(module_name), attr)
    if not isinstance(found, DeviceDescriptor):
        raise TypeError(f"{module_name}:{attr} is not a DeviceDescriptor")
    return found


def model_of(device: str) -> str:
    """The model of a device named "protocol@address" ("nonin-df7@/dev/ttyUSB0" -> "Nonin oximeter"); the
    device's own name when its protocol is not one kapmonitor knows."""
    try:
        return descriptor(device.split("@")[0]).model_name
    except UnknownProtocol:
        return device


def all_descriptors() -> list[DeviceDescriptor]:
    return [descriptor(n) for n in protocol_names()]
