"""`kapmonitor devices list` and `kapmonitor devices scan`, without a radio or real ports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakError,
)
from serial.tools import list_ports
from serial.tools.list_ports_common import ListPortInfo

from kapmonitor.cli import main
from kapmonitor.devices.ble import scan as ble_scan
from kapmonitor.devices.ble.descriptors import bluetooth_uuid
from kapmonitor.devices.ble.scan import detect_profiles


def failing_discover(exc: BaseException):
    async def discover(timeout: float, service_uuids: list[str] | None) -> Mapping[str, Any]:
        raise exc

    return discover


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            FileNotFoundError(2, "No such file or directory"),
            "No Bluetooth service was found on this computer",
        ),
        (BleakError("No Bluetooth adapters found."), "No Bluetooth adapter was found."),
        (
            BleakDBusError("org.freedesktop.DBus.Error.AccessDenied", ["denied"]),
            "No permission to use Bluetooth",
        ),
        (BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"]), "adapter is switched off"),
        (
            BleakBluetoothNotAvailableError("off", BleakBluetoothNotAvailableReason.POWERED_OFF),
            "(powered off)",
        ),
    ],
)
def test_scan_without_a_usable_adapter_prints_a_plain_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: BaseException, message: str
) -> None:
    monkeypatch.setattr(ble_scan, "_bleak_discover", failing_discover(error))
    assert main(["devices", "scan", "--timeout", "0.1"]) == 1
    out, err = capsys.readouterr()
    assert message in err
    assert "Traceback" not in out + err and len(err.strip().splitlines()) == 1


def advert(
    name: str | None, uuids: list[str], rssi: int, manufacturer: dict[int, bytes] | None = None
) -> AdvertisementData:
    return AdvertisementData(name, manufacturer or {}, {}, uuids, None, rssi, ())


def test_scan_lists_health_devices_by_service_name_and_manufacturer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen = {
        "AA:00:00:00:00:01": (
            BLEDevice("AA:00:00:00:00:01", "Nonin3230", None),
            advert("Nonin3230", [bluetooth_uuid(0x1822)], -60),
        ),
        "AA:00:00:00:00:02": (BLEDevice("AA:00:00:00:00:02", "BM85", None), advert("BM85", [], -50)),
        "AA:00:00:00:00:03": (
            BLEDevice("AA:00:00:00:00:03", None, None),
            advert(None, [], -70, {0x006B: b"\x01"}),
        ),
        "AA:00:00:00:00:04": (BLEDevice("AA:00:00:00:00:04", "Speaker", None), advert("Speaker", [], -40)),
    }

    async def discover(timeout: float, service_uuids: list[str] | None) -> Mapping[str, Any]:
        assert service_uuids is None  # unfiltered: devices that advertise no service UUID must be seen too
        return seen

    monkeypatch.setattr(ble_scan, "_bleak_discover", discover)
    assert main(["devices", "scan", "--timeout", "0.1"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("AA:")]
    assert lines == [
        "AA:00:00:00:00:02  BM85  -50 dBm  ble-bpm, ble-icp (by name)",
        "AA:00:00:00:00:01  Nonin3230  -60 dBm  ble-plx-spot, ble-plx-cont (by service)",
        "AA:00:00:00:00:03  (no name)  -70 dBm  ble-hrm (by manufacturer)",
    ]


def test_profile_detection_prefers_advertised_services() -> None:
    assert detect_profiles("BM85", [bluetooth_uuid(0x180D).upper()], []) == (("ble-hrm",), "service")
    assert detect_profiles("BMW key", [], []) == ((), "")


def test_list_shows_usb_details_of_serial_ports(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    usb = ListPortInfo("/dev/ttyUSB0", skip_link_detection=True)
    usb.vid, usb.pid, usb.serial_number, usb.description = 0x0403, 0x6001, "A10K3XYZ", "FT232R USB UART"
    plain = ListPortInfo("/dev/ttyS0", skip_link_detection=True)
    monkeypatch.setattr(list_ports, "comports", lambda: [usb, plain])
    assert main(["devices", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "/dev/ttyS0",
        "/dev/ttyUSB0  USB 0403:6001  serial number A10K3XYZ  FT232R USB UART",
    ]


def test_list_probe_names_the_protocol_on_each_port(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kapmonitor.devices.links.pty import PtyDevice
    from kapmonitor.devices.registry import descriptor
    from kapmonitor.devices.simulation.physiology import PhysiologicalModel

    factory = descriptor("nonin-df7").simulator
    assert factory is not None
    device = PtyDevice(factory(PhysiologicalModel()), name="nonin-df7").start()
    try:
        monkeypatch.setattr(list_ports, "comports", lambda: [ListPortInfo(device.port, skip_link_detection=True)])
        assert main(["devices", "list", "--probe"]) == 0
    finally:
        device.stop()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == device.port
    assert lines[1].startswith(f"    {device.port}: nonin-df7 (")
    assert "valid frames in a row" in lines[1]
