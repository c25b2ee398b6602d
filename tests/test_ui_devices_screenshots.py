"""The Devices window in the dark theme: a serial connection test with the raw inspector, and the Bluetooth tab
connected to a fake oximeter. `KAPMONITOR_SCREENSHOTS=1 pytest tests/test_ui_devices_screenshots.py` writes
docs/screenshots/devices-{serial,bluetooth}.png; a plain run renders into a temporary directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from screen_fit import DESK, LAPTOP, fits

from kapmonitor.bed.station import Station
from kapmonitor.devices.ble.fake import FakePeripheral
from kapmonitor.devices.ble.scan import FoundDevice
from kapmonitor.devices.links.pty import PtyDevice
from kapmonitor.devices.registry import descriptor
from kapmonitor.devices.simulation.physiology import PhysiologicalModel
from kapmonitor.ui.devices.window import DevicesWindow
from kapmonitor.ui.theme import DARK

DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
FOUND = [
    FoundDevice("FA:KE:00:00:00:07", "Nonin 3150", -58, ("ble-plx-spot", "ble-plx-cont"), "service"),
    FoundDevice("FA:KE:00:00:00:08", "OMRON BP7350", -71, ("ble-bpm", "ble-icp"), "name"),
    FoundDevice("FA:KE:00:00:00:09", "Polar H10", -80, ("ble-hrm",), "manufacturer"),
]


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    bed = Station(f"sqlite:///{tmp_path / 'bed.sqlite'}", record=False)
    yield bed
    bed.stop()


def save(window: DevicesWindow, name: str, tmp_path: Path) -> None:
    """At 1920x1080 as devices-NAME.png and at 1366x768 as devices-NAME-laptop.png, each checked to fit."""
    QApplication.processEvents()
    out = DOCS if os.environ.get("KAPMONITOR_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    for size, suffix in ((DESK, ""), (LAPTOP, "-laptop")):
        assert fits(window, size) == []
        image = window.grab().toImage()
        assert image.save(str(out / f"devices-{name}{suffix}.png"))
        assert (image.width(), image.height()) == size


def test_screenshot_of_a_serial_connection_test(qtbot, station: Station, tmp_path: Path) -> None:  # noqa: ANN001
    factory = descriptor("nonin-df7").simulator
    assert factory is not None
    pty = PtyDevice(factory(PhysiologicalModel()), name="ttyUSB0").start()
    ports = [
        {"device": pty.port, "description": "FT232R USB UART", "vid": 0x0403, "pid": 0x6001,
         "serial_number": "A10K3XYZ", "manufacturer": "FTDI", "product": ""},
        {"device": "/dev/ttyS0", "description": "", "vid": None, "pid": None, "serial_number": None,
         "manufacturer": None, "product": None},
    ]  # fmt: skip
    window = DevicesWindow(station, theme=DARK, list_ports=lambda: ports)
    qtbot.addWidget(window)
    window.show()
    tab = window.serial_tab
    tab.select_protocol("nonin-df7")
    tab.test_button.click()
    panel = tab.test_panel
    try:
        qtbot.waitUntil(lambda: "SpO" in panel.values_label.text(), timeout=5000)
        pty.inject(b"\x01\x80\x80\x80\x80\x00\xff")
        qtbot.waitUntil(lambda: bool(panel.inspector.error_lines), timeout=5000)
        qtbot.wait(300)
        panel.refresh()
        save(window, "serial", tmp_path)
    finally:
        window.close()
        pty.stop()


def test_screenshot_of_the_bluetooth_tab(qtbot, station: Station, tmp_path: Path) -> None:  # noqa: ANN001
    def connector(device: FoundDevice):  # noqa: ANN202
        return FakePeripheral.simulating(PhysiologicalModel(), device.profiles, speed=4.0, tick_s=0.05).connector()

    window = DevicesWindow(station, theme=DARK, list_ports=lambda: [], scan=lambda: FOUND, connector=connector)
    qtbot.addWidget(window)
    window.show()
    window.tabs.setCurrentWidget(window.bluetooth_tab)
    tab = window.bluetooth_tab
    tab.scan_button.click()
    qtbot.waitUntil(lambda: tab.table.rowCount() == 3, timeout=5000)
    tab.test_button.click()
    try:
        qtbot.waitUntil(lambda: "SpO" in tab.test_panel.values_label.text(), timeout=8000)
        qtbot.wait(500)
        tab.test_panel.refresh()
        save(window, "bluetooth", tmp_path)
    finally:
        window.close()
