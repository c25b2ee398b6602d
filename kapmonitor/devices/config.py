"""The station's device configuration: which monitors this bed uses and how to reach them.

Kept as ``devices.json`` in the user's config directory, with a ``version`` field so a later kapmonitor can
read an older file. Every problem in the file is reported as one plain sentence naming the entry and the
field; nothing in a bad file is silently dropped.

    {"version": 1, "devices": [
        {"protocol": "nonin-df7", "link": "serial", "port": "/dev/ttyUSB0", "serial_number": "A10K3XYZ",
         "baudrate": 9600, "bytesize": 8, "parity": "N", "stopbits": 1, "xonxoff": false, "rtscts": false},
        {"protocol": "ble-plx-cont", "link": "ble", "address": "AA:BB:CC:DD:EE:FF"},
        {"protocol": "suntech-advantage", "link": "simulated"},
        {"protocol": "hl7-pcd01", "link": "network", "address": "tcp://0.0.0.0:2575",
         "bind_by": "eui64", "bind_value": "0012A1FFFE000001"}],
     "hl7_outbound": {"to": "tcp://engine.clinic.lan:2575", "since": "2026-12-06T09:00:00+01:00"}}

A network monitor's entry is a listening endpoint and the binding that says which monitors belong to this bed
(``bind_by``: ``any``, ``eui64``, ``sender`` (MSH-3, or ``APP/FACILITY``), or ``patient`` (PID-3; an empty
``bind_value`` means the chair's current patient)). ``hl7_outbound`` names the clinic's interface engine: every
session that ends from ``since`` on is sent to it as HL7 ORU^R01 (see bed/hl7_outbound.py).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from kapmonitor.core.errors import UserError
from kapmonitor.core.paths import config_dir, data_dir
from kapmonitor.devices.base import SerialSettings
from kapmonitor.devices.registry import UnknownProtocol, descriptor

VERSION = 1
FILE_NAME = "devices.json"
Link = Literal["serial", "ble", "simulated", "network"]
LINKS: tuple[str, ...] = ("serial", "ble", "simulated", "network")
BIND_CHOICES: tuple[str, ...] = ("any", "eui64", "sender", "patient")  # as devices.links.mllp.Binding
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


class StationConfigError(UserError):
    """The device configuration file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class DeviceConfig:
    protocol: str
    link: Link
    address: str = ""  # the serial port, or the Bluetooth address ("" for a simulated device)
    settings: SerialSettings | None = None  # serial only; None: the protocol's own
    serial_number: str | None = None  # the USB adapter's, so it is found under a new port name
    profiles: tuple[str, ...] = ()  # Bluetooth only; () means the protocol itself
    capture: bool = False  # serial only: also record the port's raw bytes (see capture_path)
    bind_by: str = "any"  # network only: which monitors belong to this bed (BIND_CHOICES)
    bind_value: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"protocol": self.protocol, "link": self.link}
        if self.link == "serial":
            out["port"] = self.address
            if self.serial_number:
                out["serial_number"] = self.serial_number
            if self.settings is not None:
                out.update(self.settings.as_pyserial())
            if self.capture:
                out["capture"] = True
        elif self.link == "ble":
            out["address"] = self.address
            if self.profiles:
                out["profiles"] = list(self.profiles)
        elif self.link == "network":
            out.update(address=self.address, bind_by=self.bind_by, bind_value=self.bind_value)
        return out


@dataclass(frozen=True)
class Hl7Outbound:
    """Where this station sends its sessions as HL7 ORU^R01 (the clinic's interface engine), and from when:
    every session that ended at or after ``since_us`` is sent."""

    to: str  # tcp://HOST:PORT
    since_us: int

    def to_json(self) -> dict[str, Any]:
        return {"to": self.to, "since": datetime.fromtimestamp(self.since_us / 1e6).astimezone().isoformat()}


@dataclass(frozen=True)
class StationConfig:
    devices: tuple[DeviceConfig, ...] = field(default_factory=tuple)
    hl7_outbound: Hl7Outbound | None = None

    def with_device(self, device: DeviceConfig) -> StationConfig:
        """This configuration with ``device`` added, replacing one on the same link and address."""
        kept = tuple(
            d for d in self.devices if not (d.link == device.link and d.address == device.address and d.address)
        )
        return replace(self, devices=(*kept, device))

    def without(self, device: DeviceConfig) -> StationConfig:
        return replace(self, devices=tuple(d for d in self.devices if d != device))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": VERSION, "devices": [d.to_json() for d in self.devices]}
        if self.hl7_outbound is not None:
            out["hl7_outbound"] = self.hl7_outbound.to_json()
        return out


def config_path() -> Path:
    return config_dir() / FILE_NAME


def load(path: Path | None = None) -> StationConfig:
    """The saved configuration (empty when there is none). Raises :class:`StationConfigError`."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return StationConfig()
    except OSError as exc:
        raise StationConfigError(f"cannot read the device configuration {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StationConfigError(
            f"the device configuration {path} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); fix it or delete it and set the devices up again"
        ) from exc
    return parse(data, str(path))


def parse(data: object, where: str = "the device configuration") -> StationConfig:
    if not isinstance(data, dict):
        raise StationConfigError(f"{where}: expected a JSON object with 'version' and 'devices'")
    version = data.get("version")
    if version != VERSION:
        raise StationConfigError(
            f"{where}: version {version!r} is not one this kapmonitor reads (it reads version {VERSION})"
        )
    devices = data.get("devices", [])
    if not isinstance(devices, list):
        raise StationConfigError(f"{where}: 'devices' must be a list")
    found = tuple(_device(entry, f"{where}, device {n}") for n, entry in enumerate(devices, 1))
    return StationConfig(found, _outbound(data.get("hl7_outbound"), f"{where}, hl7_outbound"))


def _outbound(entry: object, where: str) -> Hl7Outbound | None:
    if entry is None:
        return None
    if not isinstance(entry, dict):
        raise StationConfigError(f"{where}: expected an object with 'to' and 'since'")
    from kapmonitor.devices.links.mllp import ListenerError, parse_endpoint

    to = _text(entry, "to", where)
    try:
        parse_endpoint(to)
    except ListenerError as exc:
        raise StationConfigError(f"{where}: {exc}") from exc
    since = entry.get("since")
    try:
        when = datetime.fromisoformat(str(since))
    except ValueError:
        raise StationConfigError(f"{where}: 'since' must be an ISO-8601 time, not {since!r}") from None
    if when.tzinfo is None:
        when = when.astimezone()
    return Hl7Outbound(to, round(when.timestamp() * 1_000_000))


def _device(entry: object, where: str) -> DeviceConfig:
    if not isinstance(entry, dict):
        raise StationConfigError(f"{where}: expected an object")
    protocol = entry.get("protocol")
    try:
        found = descriptor(str(protocol))
    except UnknownProtocol as exc:
        raise StationConfigError(f"{where}: {exc}") from exc
    link = entry.get("link", found.link)
    if link not in LINKS:
        raise StationConfigError(f"{where}: link must be one of {', '.join(LINKS)}, not {link!r}")
    if link != "simulated" and link != found.link:
        raise StationConfigError(f"{where}: {protocol} is a {found.link} device, not {link}")
    if link == "simulated":
        return DeviceConfig(found.protocol, "simulated")
    if link == "network":
        return _network_device(found.protocol, entry, where)
    if link == "ble":
        address = _text(entry, "address", where)
        profiles = entry.get("profiles", [])
        if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
            raise StationConfigError(f"{where}: 'profiles' must be a list of profile names")
        return DeviceConfig(found.protocol, "ble", address, profiles=tuple(profiles))
    port = _text(entry, "port", where)
    number = entry.get("serial_number")
    settings = _settings(entry, found.serial or SerialSettings(), where)
    capture = entry.get("capture", False)
    if not isinstance(capture, bool):
        raise StationConfigError(f"{where}: capture must be true or false, not {capture!r}")
    return DeviceConfig(found.protocol, "serial", port, settings, str(number) if number else None, capture=capture)


def _network_device(protocol: str, entry: dict[str, Any], where: str) -> DeviceConfig:
    from kapmonitor.devices.links.mllp import ListenerError, parse_endpoint

    address = _text(entry, "address", where)
    try:
        parse_endpoint(address)
    except ListenerError as exc:
        raise StationConfigError(f"{where}: {exc}") from exc
    bind_by = entry.get("bind_by", "any")
    if bind_by not in BIND_CHOICES:
        raise StationConfigError(f"{where}: bind_by must be one of {', '.join(BIND_CHOICES)}, not {bind_by!r}")
    bind_value = entry.get("bind_value", "")
    if not isinstance(bind_value, str):
        raise StationConfigError(f"{where}: bind_value must be text")
    if bind_by in ("eui64", "sender") and not bind_value.strip():
        raise StationConfigError(f"{where}: bind_by {bind_by} needs a bind_value (the monitor's {bind_by})")
    return DeviceConfig(protocol, "network", address, bind_by=bind_by, bind_value=bind_value.strip())


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise StationConfigError(f"{where}: '{key}' is missing")
    return value.strip()


def _settings(entry: dict[str, Any], default: SerialSettings, where: str) -> SerialSettings:
    s = default
    checks: dict[str, tuple[type, tuple[object, ...] | None]] = {
        "baudrate": (int, None),
        "bytesize": (int, (5, 6, 7, 8)),
        "parity": (str, ("N", "E", "O")),
        "stopbits": (float, (1, 1.5, 2)),
        "xonxoff": (bool, (True, False)),
        "rtscts": (bool, (True, False)),
    }
    for key, (kind, allowed) in checks.items():
        if key not in entry:
            continue
        value = entry[key]
        ok = isinstance(value, int | float) if kind is float else isinstance(value, kind)
        if kind is int and isinstance(value, bool):
            ok = False
        if not ok or (allowed is not None and value not in allowed) or (key == "baudrate" and value <= 0):
            choices = f" (one of {', '.join(map(str, allowed))})" if allowed else ""
            raise StationConfigError(f"{where}: {key} {value!r} is not a valid setting{choices}")
        s = replace(s, **{key: value})
    return s


def capture_path(port: str) -> Path:
    """A new file for one port's raw bytes, under the data directory's ``captures`` folder."""
    folder = data_dir() / "captures"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{Path(port).name}-{datetime.now():%Y%m%d-%H%M%S}.bin"


def save(config: StationConfig, path: Path | None = None) -> Path:
    """Write atomically, so a crash mid-save leaves the previous file whole."""
    path = path or config_path()
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(config.to_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
