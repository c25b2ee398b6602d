"""A network monitor in the station's device configuration: endpoint and binding, saved and read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapmonitor.bed.devices import transport_for
from kapmonitor.devices.config import DeviceConfig, StationConfig, StationConfigError, load, parse, save
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
