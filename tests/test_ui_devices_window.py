"""The technician's Devices window with real widgets: simulators on pseudo-terminals, a fake port lister, a
fake Bluetooth scanner and a fake peripheral."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kapmonitor.bed.station import Station
from kapmonitor.devices.base import SerialSettings
from kapmonitor.devices.ble.adapter import BleTransport
from kapmonitor.devices.ble.fake import FakePeripheral
from kapmonitor.devices.ble.scan import BluetoothUnavailable, FoundDevice
from kapmonitor.devices.config import DeviceConfig, config_path, load
from kapmonitor.devices.links.probe import probe_port
from kapmonitor.devices.links.pty import PtyDevice
from kapmonitor.devices.links.serial import SerialTransport
from kapmonitor.devices.registry import descriptor
from kapmonitor.devices.simulation.physiology import PhysiologicalModel
from kapmonitor.ui.devices.window import SIMULATED_BLUETOOTH, DevicesWindow
from kapmonitor.ui.theme import DARK

DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
OXIMETER_BLE = FoundDevice("FA:KE:00:00:00:07", "Nonin 3150", -58, ("ble-plx-cont",), "service")


def simulated(protocol: str, speed: float = 1.0) -> PtyDevice:
    factory = descriptor(protocol).simulator
    assert factory is not None
    return PtyDevice(factory(PhysiologicalModel().for_device(protocol)), name=protocol, speed=speed).start()


def usb_port(device: str, serial_number: str = "A10K3XYZ") -> dict[str, object]:
    return {
        "device": device, "description": "FT232R USB UART", "vid": 0x0403, "pid": 0x6001,
        "serial_number": serial_number, "manufacturer": "FTDI", "product": "FT232R USB UART",
    }  # fmt: skip


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    bed = Station(f"sqlite:///{tmp_path / 'bed.sqlite'}", record=False)
    yield bed
    bed.stop()


@pytest.fixture
def pty() -> Iterator[PtyDevice]:
    device = simulated("nonin-df7")
    yield device
    device.stop()


def open_window(qtbot, station: Station, ports: list[dict[str, object]], **kwargs) -> DevicesWindow:  # noqa: ANN001, ANN003
    window = DevicesWindow(station, list_ports=lambda: ports, **kwargs)
    qtbot.addWidget(window)
    return window


def test_ports_are_listed_with_their_usb_details(qtbot, station: Station) -> None:  # noqa: ANN001
    window = open_window(qtbot, station, [usb_port("/dev/ttyUSB0"), {**usb_port("/dev/ttyS0", ""), "vid": None}])
    table = window.serial_tab.ports_table
    cells = [[table.item(r, c).text() for c in range(4)] for r in range(table.rowCount())]
    assert cells == [
        ["/dev/ttyUSB0", "0403:6001", "A10K3XYZ", "FT232R USB UART"],
        ["/dev/ttyS0", "", "", "FT232R USB UART"],
    ]
    window.close()


def test_a_model_preset_fills_the_settings_which_stay_overridable(qtbot, station: Station) -> None:  # noqa: ANN001
    tab = open_window(qtbot, station, [usb_port("/dev/ttyUSB0")]).serial_tab
    tab.select_protocol("contec-legacy")
    assert (tab.baud.currentText(), tab.parity.currentText(), tab.flow.currentText()) == ("19200", "Odd", "XON/XOFF")
    assert tab.settings() == SerialSettings(19200, parity="O", xonxoff=True)
    tab.baud.setCurrentText("4800")
    assert tab.settings() == SerialSettings(4800, parity="O", xonxoff=True)
    tab.baud.setCurrentText("fast")
    assert tab.settings() is None
    assert "baud rate must be a whole number" in tab.message.text()
    tab.window().close()


def test_test_connection_shows_live_values_and_the_raw_inspector_marks_an_error(
    qtbot,
    station: Station,
    pty: PtyDevice,  # noqa: ANN001
) -> None:
    window = open_window(qtbot, station, [usb_port(pty.port)])
    tab = window.serial_tab
    tab.select_protocol("nonin-df7")
    tab.capture.setChecked(True)
    tab.test_button.click()
    panel = tab.test_panel
    try:
        qtbot.waitUntil(
            lambda: "SpO" in panel.values_label.text() and "Pulse" in panel.values_label.text(), timeout=5000
        )
        assert " RX  " in panel.inspector.toPlainText()  # the bytes, in hex
        assert "frames" in panel.quality_label.text() and "checksum errors" in panel.quality_label.text()
        pty.inject(b"\x01\x80\x80\x80\x80\x00\xff")  # a frame with a broken checksum
        qtbot.waitUntil(lambda: bool(panel.inspector.error_lines), timeout=5000)
    finally:
        tab.test_button.click()  # Stop test
    capture = panel.transport.capture if panel.transport else None
    assert capture is None  # the test link is gone
    assert panel.inspector.error_lines[0].startswith("ERROR ")
    assert DARK.fault in panel.inspector.document().toHtml()
    captures = list((Path(os.environ["KAPMONITOR_DATA_DIR"]) / "captures").glob("nonin-df7-*.bin"))
    assert len(captures) == 1 and captures[0].stat().st_size > 100
    window.close()


def test_detect_names_the_protocol_and_fills_its_settings(qtbot, station: Station) -> None:  # noqa: ANN001
    device = simulated("contec-legacy")
    try:
        window = open_window(
            qtbot, station, [usb_port(device.port)], probe=lambda p, **kw: probe_port(p, window_s=0.8, **kw)
        )
        tab = window.serial_tab
        tab.select_protocol("nonin-df7")
        tab.detect_button.click()
        assert not tab.detect_button.isEnabled()  # the probe runs off the UI thread
        qtbot.waitUntil(lambda: tab.detect_button.isEnabled(), timeout=15000)
    finally:
        device.stop()
    assert "contec-legacy" in tab.message.text() and "valid frames in a row" in tab.message.text()
    assert tab.preset.currentData() == "contec-legacy"
    assert tab.settings() == SerialSettings(19200, parity="O", xonxoff=True)
    window.close()


def test_assigning_adds_the_device_to_the_bed_and_saves_it(qtbot, station: Station) -> None:  # noqa: ANN001
    window = open_window(qtbot, station, [usb_port("/dev/ttyUSB0")])
    window.serial_tab.select_protocol("masimo-ascii")
    window.serial_tab.assign_button.click()
    (link,) = station.transports
    assert isinstance(link, SerialTransport)
    assert (link.device, link.serial_number) == ("masimo-ascii@/dev/ttyUSB0", "A10K3XYZ")
    assert load().devices == (DeviceConfig("masimo-ascii", "serial", "/dev/ttyUSB0", SerialSettings(9600), "A10K3XYZ"),)
    window.refresh()
    assert window.bed_table.item(0, 0).text() == "masimo-ascii@/dev/ttyUSB0"
    assert [window.bed_table.horizontalHeaderItem(c).text() for c in range(2, 6)] == [
        "Frames", "Checksum errors", "Resyncs", "Bytes discarded",
    ]  # fmt: skip
    window.close()
    reopened = open_window(qtbot, station, [])
    assert reopened.config == window.config
    reopened.close()


def test_a_corrupt_configuration_file_is_explained(qtbot, station: Station) -> None:  # noqa: ANN001
    config_path().write_text('{"version": 1, "devices": [}')
    window = open_window(qtbot, station, [])
    assert "is not valid JSON (line 1" in window.config_message.text()
    assert str(config_path()) in window.config_message.text()
    window.close()


def fake_connector(device: FoundDevice):  # noqa: ANN201
    return FakePeripheral.simulating(PhysiologicalModel(), device.profiles, speed=4.0, tick_s=0.05).connector()


def test_the_bluetooth_tab_lists_a_scan_connects_and_assigns(qtbot, station: Station) -> None:  # noqa: ANN001
    window = open_window(qtbot, station, [], scan=lambda: [OXIMETER_BLE], connector=fake_connector)
    tab = window.bluetooth_tab
    tab.scan_button.click()
    qtbot.waitUntil(lambda: tab.table.rowCount() == 1, timeout=5000)
    assert [tab.table.item(0, c).text() for c in range(4)] == [
        "Nonin 3150", "FA:KE:00:00:00:07", "-58 dBm", "ble-plx-cont (by service)",
    ]  # fmt: skip
    tab.test_button.click()
    try:
        qtbot.waitUntil(lambda: "SpO" in tab.test_panel.values_label.text(), timeout=8000)
    finally:
        tab.test_button.click()
    tab.assign_button.click()
    (link,) = station.transports
    assert isinstance(link, BleTransport) and link.address == "FA:KE:00:00:00:07"
    assert load().devices == (DeviceConfig("ble-plx-cont", "ble", "FA:KE:00:00:00:07", profiles=("ble-plx-cont",)),)
    window.close()


def test_scanning_without_an_adapter_says_so(qtbot, station: Station) -> None:  # noqa: ANN001
    def no_adapter() -> list[FoundDevice]:
        raise BluetoothUnavailable("No Bluetooth adapter was found.")

    window = open_window(qtbot, station, [], scan=no_adapter)
    window.bluetooth_tab.scan_button.click()
    qtbot.waitUntil(lambda: window.bluetooth_tab.scan_button.isEnabled(), timeout=5000)
    assert window.bluetooth_tab.message.text() == "No Bluetooth adapter was found."
    window.close()


def test_a_simulated_bluetooth_cuff_and_oximeter_take_the_adapter_path(qtbot, station: Station) -> None:  # noqa: ANN001
    window = open_window(qtbot, station, [])
    window.simulated_choice.setCurrentIndex(window.simulated_choice.findData(SIMULATED_BLUETOOTH))
    window.add_simulated_button.click()
    window.simulated_choice.setCurrentIndex(window.simulated_choice.findData("ble-hrm"))
    window.add_simulated_button.click()
    cuff_and_oximeter, strap = station.transports
    assert isinstance(cuff_and_oximeter, BleTransport) and isinstance(strap, BleTransport)
    assert set(cuff_and_oximeter.profiles) == {"ble-plx-cont", "ble-bpm", "ble-icp"}
    assert strap.profiles == ("ble-hrm",) and strap.device == "ble-hrm@FA:KE:00:00:00:02"
    window.simulated_choice.setCurrentIndex(window.simulated_choice.findData("masimo-ascii"))
    window.add_simulated_button.click()
    assert isinstance(station.transports[2], SerialTransport)  # a simulator on a pseudo-terminal
    window.refresh()
    assert window.bed_table.rowCount() == 3
    assert "(simulated) added" in window.config_message.text()
    window.close()


def test_the_main_window_opens_the_devices_window_from_its_menu(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from PySide6.QtCore import QSettings
    from ui_station_double import StationDouble

    from kapmonitor.ui.main_window import MainWindow

    store = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    main = MainWindow(StationDouble(), store=store)
    qtbot.addWidget(main)
    titles = [a.text() for a in main.menuBar().actions()]
    assert "&Devices" in titles
    main.devices_action.trigger()
    assert isinstance(main.devices_window, DevicesWindow) and main.devices_window.isVisible()
    main.close()
    assert not main.devices_window.isVisible()


def test_a_busy_port_is_named_as_the_likely_cause(qtbot, station: Station, pty: PtyDevice) -> None:  # noqa: ANN001
    import serial

    holder = serial.Serial(pty.port, exclusive=True)  # another program has the port
    try:
        window = open_window(qtbot, station, [usb_port(pty.port)])
        tab = window.serial_tab
        tab.test_button.click()
        try:
            qtbot.waitUntil(lambda: "busy" in tab.test_panel.message_label.text(), timeout=5000)
        finally:
            tab.test_button.click()
    finally:
        holder.close()
    assert "another program (or another kapmonitor) has it open" in tab.test_panel.message_label.text()
    window.close()


def test_closing_the_window_cuts_a_running_detection_short(qtbot, station: Station) -> None:  # noqa: ANN001
    quiet = simulated("suntech-advantage")  # a cuff says nothing until asked: every phase runs its full window
    try:
        window = open_window(
            qtbot, station, [usb_port(quiet.port)], probe=lambda p, **kw: probe_port(p, window_s=5, **kw)
        )
        window.serial_tab.detect_button.click()
        window.close()
        # Closing waits at most 10 s for the detection: every phase in full would take 45 s.
        assert not window.serial_tab.detector.running
    finally:
        quiet.stop()


def test_the_bed_table_and_the_device_strip_name_the_same_errors_and_state() -> None:
    from kapmonitor.devices.base import LinkStats
    from kapmonitor.devices.links.transport import DeviceStatus, LinkState
    from kapmonitor.ui.devices.window import bed_row
    from kapmonitor.ui.live.device_strip import badge_view

    now = 1_000_000_000_000
    oximeter = DeviceStatus(
        "nonin-df7@/dev/ttyUSB0", "nonin-df7", "/dev/ttyUSB0", LinkState.CONNECTED,
        LinkStats(frames_ok=1200, resyncs=1), now - 2_000_000,
    )  # fmt: skip
    row = bed_row(oximeter, now)
    assert row[1:5] == ("connected", "1200", "0", "1")  # state, frames, checksum errors, resyncs
    assert badge_view(oximeter, now).detail == "1200 frames  \u00b7  1 resync  \u00b7  data 2 s ago"  # not "1 error"
    waiting = DeviceStatus("ble-bpm@AA", "ble-bpm", "AA", LinkState.CONNECTED, LinkStats(), None)
    assert bed_row(waiting, now)[1] == "connected, waiting for data"
    assert bed_row(waiting, now)[6] == "no data yet"
