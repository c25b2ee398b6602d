"""The station's saved device configuration: a versioned JSON file that round-trips and explains bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kapmonitor.bed.devices import add_configured_devices
from kapmonitor.devices.base import SerialSettings
from kapmonitor.devices.config import (
    DeviceConfig,
    StationConfig,
    StationConfigError,
    config_path,
    load,
    save,
)
from kapmonitor.devices.links.serial import SerialTransport

OXIMETER = DeviceConfig("nonin-df7", "serial", "/dev/ttyUSB0", SerialSettings(baudrate=9600), serial_number="A10K3XYZ")
LEGACY = DeviceConfig("contec-legacy", "serial", "/dev/ttyUSB1", SerialSettings(19200, parity="O", xonxoff=True))
CUFF = DeviceConfig("ble-bpm", "ble", "AA:BB:CC:DD:EE:FF", profiles=("ble-bpm", "ble-icp"))
DEMO = DeviceConfig("suntech-advantage", "simulated")


def test_the_configuration_round_trips_through_the_user_config_directory() -> None:
    config = StationConfig((OXIMETER, LEGACY, CUFF, DEMO))
    path = save(config)
    assert path == config_path() and path.parent.name == "config"
    assert json.loads(path.read_text())["version"] == 1
    assert load() == config


def test_no_file_is_an_empty_configuration() -> None:
    assert load() == StationConfig()


def test_adding_a_device_on_the_same_port_replaces_the_old_entry() -> None:
    moved = DeviceConfig("masimo-ascii", "serial", "/dev/ttyUSB0", SerialSettings())
    config = StationConfig((OXIMETER, CUFF)).with_device(moved)
    assert config.devices == (CUFF, moved)
    assert config.without(CUFF).devices == (moved,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"version": 1, "devices": [', "is not valid JSON (line 1, column"),
        ('{"version": 7, "devices": []}', "version 7 is not one this kapmonitor reads"),
        ('{"version": 1, "devices": [{"protocol": "nonin-df99", "port": "/dev/x"}]}', "device 1: unknown protocol"),
        ('{"version": 1, "devices": [{"protocol": "nonin-df7"}]}', "device 1: 'port' is missing"),
        (
            '{"version": 1, "devices": [{"protocol": "nonin-df7", "port": "/dev/x", "parity": "X"}]}',
            "parity 'X' is not a valid setting (one of N, E, O)",
        ),
        (
            '{"version": 1, "devices": [{"protocol": "nonin-df7", "port": "/dev/x", "baudrate": "fast"}]}',
            "baudrate 'fast' is not a valid setting",
        ),
        ('{"version": 1, "devices": [{"protocol": "ble-bpm", "link": "serial", "port": "/dev/x"}]}', "is a ble device"),
        ("[1, 2]", "expected a JSON object"),
        (
            '{"version": 1, "devices": [{"protocol": "nonin-df7", "port": "/dev/x", "capture": "yes"}]}',
            "capture must be true or false, not 'yes'",
        ),
    ],
)
def test_a_bad_file_gives_a_message_naming_the_file_and_the_problem(text: str, message: str) -> None:
    config_path().write_text(text)
    with pytest.raises(StationConfigError) as caught:
        load()
    assert message in str(caught.value)
    assert str(config_path()) in str(caught.value)


class StationStandIn:
    def __init__(self) -> None:
        self.transports: list[object] = []
        self.simulated: list[str] = []

    def add_transport(self, transport: object) -> None:
        self.transports.append(transport)

    def add_simulated(self, protocol: str) -> object:
        self.simulated.append(protocol)
        return protocol


def test_configured_devices_are_added_to_the_station(tmp_path: Path) -> None:
    station = StationStandIn()
    problems = add_configured_devices(station, StationConfig((OXIMETER, DEMO)))  # type: ignore[arg-type]
    assert problems == []
    assert station.simulated == ["suntech-advantage"]
    (link,) = station.transports
    assert isinstance(link, SerialTransport)
    assert (link.device, link.serial_number, link.settings) == (
        "nonin-df7@/dev/ttyUSB0",
        "A10K3XYZ",
        SerialSettings(baudrate=9600),
    )
