"""A network monitor in the station's device configuration: endpoint and binding, saved and read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapmonitor.bed.devices import add_configured_devices, transport_for
from kapmonitor.bed.hl7_outbound import OutboundSender
from kapmonitor.bed.station import Station
from kapmonitor.devices.config import DeviceConfig, Hl7Outbound, StationConfig, StationConfigError, load, parse, save
from kapmonitor.devices.links.mllp import Binding, MllpListener


def test_a_network_monitor_round_trips_through_devices_json(tmp_path: Path) -> None:
    device = DeviceConfig("hl7-pcd01", "network", "tcp://0.0.0.0:2575", bind_by="eui64", bind_value="0012A1FFFE000001")
    path = save(StationConfig((device,)), tmp_path / "devices.json")
    assert load(path).devices == (device,)
    listener = transport_for(device)
    assert isinstance(listener, MllpListener)
    assert listener.binding == Binding("eui64", "0012A1FFFE000001") and listener.port == 2575


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({"address": "udp://x"}, "tcp://HOST:PORT"),
        ({"address": "tcp://0.0.0.0:2575", "bind_by": "bed"}, "bind_by must be one of"),
        ({"address": "tcp://0.0.0.0:2575", "bind_by": "eui64"}, "needs a bind_value"),
    ],
)
def test_a_bad_network_entry_is_one_sentence(entry: dict[str, str], words: str) -> None:
    with pytest.raises(StationConfigError, match=words):
        parse({"version": 1, "devices": [{"protocol": "hl7-pcd01", "link": "network", **entry}]})


def test_the_interface_engine_is_part_of_the_station_configuration(tmp_path: Path) -> None:
    config = parse(
        {
            "version": 1,
            "devices": [],
            "hl7_outbound": {"to": "tcp://127.0.0.1:2576", "since": "2026-12-06T09:00:00+01:00"},
        }
    )
    assert config.hl7_outbound == Hl7Outbound("tcp://127.0.0.1:2576", 1_796_544_000_000_000)
    added = config.with_device(DeviceConfig("hl7-pcd01", "network", "tcp://0.0.0.0:2575"))
    assert load(save(added, tmp_path / "devices.json")) == added  # adding a device keeps the engine
    with pytest.raises(StationConfigError, match="'since' must be an ISO-8601 time"):
        parse({"version": 1, "devices": [], "hl7_outbound": {"to": "tcp://h:1", "since": "soon"}})


def test_a_station_with_an_interface_engine_runs_the_sender_beside_its_devices(tmp_path: Path) -> None:
    station = Station(f"sqlite:///{tmp_path / 'bed.sqlite'}")
    try:
        config = StationConfig((), Hl7Outbound("tcp://127.0.0.1:9", 0))
        assert add_configured_devices(station, config) == []
        (sender,) = station.services
        assert isinstance(sender, OutboundSender) and sender.destination == "tcp://127.0.0.1:9"
        station.start()
        assert sender.status().pending == 0
    finally:
        station.stop()
