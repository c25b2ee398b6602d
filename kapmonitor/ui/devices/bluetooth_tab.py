"""The Devices window's Bluetooth tab: scan (off the UI thread), the health devices found with their signal
strength and profiles, a live connection test, and assigning the device to the bed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.devices.ble.scan import BluetoothUnavailable, FoundDevice
from kapmonitor.devices.config import DeviceConfig
from kapmonitor.devices.links.transport import Transport
from kapmonitor.ui.background import BackgroundTask
from kapmonitor.ui.devices.link_test_panel import LinkTestPanel
from kapmonitor.ui.widgets.pick_table import pick_table

SCAN_S = 8.0
Assign = Callable[[DeviceConfig, Transport], None]
Scan = Callable[[], list[FoundDevice]]
Connector = Callable[[FoundDevice], Any]  # the BleTransport ``connect`` seam for one device; None: bleak


def bleak_scan() -> list[FoundDevice]:
    from kapmonitor.devices.ble.scan import scan

    return scan(SCAN_S)


def rssi_text(rssi: int | None) -> str:
    return "?" if rssi is None else f"{rssi} dBm"


class BluetoothTab(QWidget):
    def __init__(
        self,
        assign: Assign,
        *,
        scan: Scan = bleak_scan,
        connector: Connector | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._assign, self._scan, self._connector = assign, scan, connector
        self.found: list[FoundDevice] = []
        self.scanner = BackgroundTask("ble-scan", self)
        self.scanner.finished.connect(self._scanned)
        self.table = pick_table(["Name", "Address", "Signal", "Health profiles"], fit_columns=3)
        self.scan_button = QPushButton("Scan")
        self.scan_button.clicked.connect(self.start_scan)
        self.test_button = QPushButton("Connect and test")
        self.test_button.clicked.connect(self.toggle_test)
        self.assign_button = QPushButton("Assign to bed")
        self.assign_button.clicked.connect(self.assign)
        self.message = QLabel("Wake the device (press its button), keep it close, then Scan.")
        self.message.setWordWrap(True)
        self.test_panel = LinkTestPanel()
        buttons = QHBoxLayout()
        for b in (self.scan_button, self.test_button, self.assign_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self.table, 1)
        left.addLayout(buttons)
        left.addWidget(self.message)
        top = QHBoxLayout(self)
        top.addLayout(left, 1)
        top.addWidget(self.test_panel, 1)

    def start_scan(self) -> None:
        if self.scanner.start(self._scan):
            self.scan_button.setEnabled(False)
            self.message.setText(f"Scanning for Bluetooth health devices for {SCAN_S:g} s ...")

    def _scanned(self, result: object) -> None:
        self.scan_button.setEnabled(True)
        if isinstance(result, BluetoothUnavailable):
            self.message.setText(str(result))
            return
        if isinstance(result, Exception):
            self.message.setText(f"The scan failed: {result}")
            return
        assert isinstance(result, list)
        self.show_found(result)

    def show_found(self, found: list[FoundDevice]) -> None:
        self.found = found
        self.table.setRowCount(len(found))
        for row, d in enumerate(found):
            profiles = ", ".join(d.profiles) or "no health profile"
            via = f" (by {d.detected_by})" if d.detected_by else ""
            for col, text in enumerate((d.name or "(no name)", d.address, rssi_text(d.rssi), profiles + via)):
                self.table.setItem(row, col, QTableWidgetItem(text))
        if found:
            self.table.selectRow(0)
            self.message.setText(f"{len(found)} health device{'s' if len(found) != 1 else ''} found.")
        else:
            self.message.setText("No Bluetooth health devices found. Wake the device and keep it close.")

    def selected(self) -> FoundDevice | None:
        rows = self.table.selectionModel().selectedRows()
        return self.found[rows[0].row()] if rows else None

    def toggle_test(self) -> None:
        if self.test_panel.testing:
            self.stop_test()
            return
        transport = self._transport()
        if transport is not None:
            self.test_panel.new_tap()
            self.test_panel.start(transport)
            self.test_button.setText("Disconnect")

    def stop_test(self) -> None:
        self.test_panel.stop()
        self.test_button.setText("Connect and test")

    def assign(self) -> None:
        self.stop_test()
        device = self.selected()
        transport = self._transport()
        if device is None or transport is None:
            return
        self._assign(DeviceConfig(transport.protocol, "ble", device.address, profiles=device.profiles), transport)
        self.message.setText(f"{transport.device} assigned to the bed.")

    def _transport(self) -> Transport | None:
        device = self.selected()
        if device is None:
            self.message.setText("Scan, then choose a device.")
            return None
        if not device.profiles:
            self.message.setText(f"{device.name or device.address} offers no health profile kapmonitor reads.")
            return None
        from kapmonitor.devices.ble.adapter import BleTransport

        kwargs: dict[str, Any] = {"profiles": list(device.profiles)}
        if self._connector is not None:
            kwargs["connect"] = self._connector(device)
        return BleTransport(device.ble_device or device.address, **kwargs)

    def close_down(self) -> None:
        self.stop_test()
        self.scanner.wait()
