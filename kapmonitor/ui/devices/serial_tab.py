"""The Devices window's serial tab: ports with what USB says about them, a model preset with overridable
settings, Detect, a live connection test with the raw inspector, and assigning the device to the bed."""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.devices.base import SerialSettings
from kapmonitor.devices.config import BAUD_RATES, DeviceConfig, capture_path
from kapmonitor.devices.links.inspection import settings_text
from kapmonitor.devices.links.probe import ProbeReport, describe, probe_port
from kapmonitor.devices.links.serial import SerialTransport
from kapmonitor.devices.links.transport import Transport
from kapmonitor.devices.registry import all_descriptors
from kapmonitor.ui.background import BackgroundTask
from kapmonitor.ui.devices.link_test_panel import LinkTestPanel
from kapmonitor.ui.widgets.pick_table import pick_table

Port = dict[str, object]  # as kapmonitor.devices.links.ports.list_serial_ports gives them
Assign = Callable[[DeviceConfig, Transport], None]
PARITIES = {"N": "None", "E": "Even", "O": "Odd"}
FLOWS = ("None", "XON/XOFF", "RTS/CTS")
STOP_BITS = ("1", "1.5", "2")


def default_port_lister() -> list[Port]:
    from kapmonitor.devices.links.ports import list_serial_ports

    return list_serial_ports()


def usb_text(port: Port) -> str:
    if port.get("vid") is None or port.get("pid") is None:
        return ""
    return f"{port['vid']:04x}:{port['pid']:04x}"


class SerialTab(QWidget):
    def __init__(
        self,
        assign: Assign,
        *,
        list_ports: Callable[[], list[Port]] = default_port_lister,
        probe: Callable[..., ProbeReport] = probe_port,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._assign, self._list_ports, self._probe = assign, list_ports, probe
        self.ports: list[Port] = []
        self._closing = threading.Event()  # cuts a running detection short when the window closes
        self.detector = BackgroundTask("detect", self)
        self.detector.finished.connect(self._detected)
        self._build()
        self.refresh_ports()
        self.apply_preset(self.preset.currentData())

    # -- layout ----------------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.ports_table = pick_table(["Port", "USB vendor:product", "Serial number", "Description"], fit_columns=3)
        self.refresh_button = QPushButton("Refresh ports")
        self.refresh_button.clicked.connect(self.refresh_ports)

        self.preset = QComboBox()
        for d in all_descriptors():
            if d.link == "serial":
                self.preset.addItem(f"{d.title} ({d.protocol})", d.protocol)
        self.preset.currentIndexChanged.connect(lambda _: self.apply_preset(self.preset.currentData()))
        self.baud = QComboBox()
        self.baud.setEditable(True)
        self.baud.addItems([str(b) for b in BAUD_RATES])
        self.parity = QComboBox()
        for code, name in PARITIES.items():
            self.parity.addItem(name, code)
        self.stop_bits = QComboBox()
        self.stop_bits.addItems(STOP_BITS)
        self.flow = QComboBox()
        self.flow.addItems(FLOWS)
        self.capture = QCheckBox("Record the raw bytes to a file (when testing, and at the bed)")
        form = QFormLayout()
        form.addRow("Model", self.preset)
        form.addRow("Baud rate", self.baud)
        form.addRow("Parity", self.parity)
        form.addRow("Stop bits", self.stop_bits)
        form.addRow("Flow control", self.flow)
        form.addRow("", self.capture)

        self.detect_button = QPushButton("Detect")
        self.detect_button.clicked.connect(self.detect)
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.toggle_test)
        self.assign_button = QPushButton("Assign to bed")
        self.assign_button.clicked.connect(self.assign)
        buttons = QHBoxLayout()
        for b in (self.detect_button, self.test_button, self.assign_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        self.message = QLabel("Choose a port.")
        self.message.setWordWrap(True)
        self.test_panel = LinkTestPanel()

        left = QVBoxLayout()
        left.addWidget(self.ports_table, 1)
        left.addWidget(self.refresh_button)
        left.addLayout(form)
        left.addLayout(buttons)
        left.addWidget(self.message)
        top = QHBoxLayout(self)
        top.addLayout(left, 1)
        top.addWidget(self.test_panel, 1)

    # -- ports and settings ----------------------------------------------------------------------------------

    def refresh_ports(self) -> None:
        try:
            self.ports = self._list_ports()
        except Exception as exc:  # noqa: BLE001 - a broken udev database must not close the window
            self.ports = []
            self.message.setText(f"Could not list the serial ports: {exc}")
        self.ports_table.setRowCount(len(self.ports))
        for row, port in enumerate(self.ports):
            cells = (port["device"], usb_text(port), port.get("serial_number") or "", port.get("description") or "")
            for col, text in enumerate(cells):
                self.ports_table.setItem(row, col, QTableWidgetItem(str(text)))
        if self.ports and not self.ports_table.selectedItems():
            self.ports_table.selectRow(0)
        if not self.ports:
            self.message.setText("No serial ports found. Plug in the USB serial adapter and press Refresh ports.")

    def selected_port(self) -> Port | None:
        rows = self.ports_table.selectionModel().selectedRows()
        return self.ports[rows[0].row()] if rows else None

    def apply_preset(self, protocol: str | None) -> None:
        """Fill the settings with the model's own; the technician may still change each one."""
        found = next((d for d in all_descriptors() if d.protocol == protocol), None)
        if found is not None:
            self.show_settings(found.serial or SerialSettings())

    def show_settings(self, s: SerialSettings) -> None:
        self.baud.setCurrentText(str(s.baudrate))
        self.parity.setCurrentIndex(self.parity.findData(s.parity))
        self.stop_bits.setCurrentText(f"{s.stopbits:g}")
        self.flow.setCurrentText(FLOWS[2] if s.rtscts else FLOWS[1] if s.xonxoff else FLOWS[0])

    def settings(self) -> SerialSettings | None:
        """The settings as shown, or None (with a message) when the baud rate is not a number."""
        text = self.baud.currentText().strip()
        if not text.isdigit() or int(text) <= 0:
            self.message.setText(f"The baud rate must be a whole number such as 9600, not {text!r}.")
            return None
        flow = self.flow.currentText()
        return SerialSettings(
            baudrate=int(text),
            parity=self.parity.currentData(),
            stopbits=float(self.stop_bits.currentText()),
            xonxoff=flow == FLOWS[1],
            rtscts=flow == FLOWS[2],
        )

    def select_protocol(self, protocol: str) -> None:
        self.preset.setCurrentIndex(self.preset.findData(protocol))

    # -- detect, test, assign --------------------------------------------------------------------------------

    def detect(self) -> None:
        port = self.selected_port()
        if port is None:
            self.message.setText("Choose a port to detect on.")
            return
        self.stop_test()  # the port can be open only once
        name = str(port["device"])
        if self.detector.start(lambda: self._probe(name, should_stop=self._closing.is_set)):
            self.detect_button.setEnabled(False)
            self.message.setText(f"Detecting which monitor is on {name} ...")

    def _detected(self, result: object) -> None:
        self.detect_button.setEnabled(True)
        if isinstance(result, Exception):
            self.message.setText(f"Detection failed: {result}")
            return
        assert isinstance(result, ProbeReport)
        self.message.setText(describe(result))
        if result.detection is not None:
            self.select_protocol(result.detection.protocol)
            self.show_settings(result.detection.settings)

    def toggle_test(self) -> None:
        if self.test_panel.testing:
            self.stop_test()
        else:
            self.start_test()

    def start_test(self) -> None:
        transport = self._transport(testing=True)
        if transport is None:
            return
        self.test_panel.start(transport, settings_text(transport.settings))
        self.test_button.setText("Stop test")
        self.message.setText(
            f"Testing {transport.port}" + (f"; raw bytes to {transport.capture}" if transport.capture else "")
        )

    def stop_test(self) -> None:
        self.test_panel.stop()
        self.test_button.setText("Test connection")

    def assign(self) -> None:
        self.stop_test()
        transport = self._transport(testing=False)
        if transport is None:
            return
        port = self.selected_port()
        assert port is not None
        number = port.get("serial_number")
        config = DeviceConfig(
            transport.protocol,
            "serial",
            transport.port,
            transport.settings,
            str(number) if number else None,
            capture=transport.capture is not None,
        )
        self._assign(config, transport)
        self.message.setText(f"{transport.device} assigned to the bed.")

    def _transport(self, *, testing: bool) -> SerialTransport | None:
        port, settings = self.selected_port(), self.settings()
        if port is None:
            self.message.setText("Choose a port first.")
            return None
        if settings is None:
            return None
        name, protocol = str(port["device"]), str(self.preset.currentData())
        number = port.get("serial_number")
        capture = capture_path(name) if self.capture.isChecked() else None
        if not testing:
            return SerialTransport(
                protocol, name, settings=settings, capture=capture, serial_number=str(number) if number else None
            )
        tap = self.test_panel.new_tap()
        return SerialTransport(protocol, name, settings=settings, capture=capture, tap=tap.raw)

    def close_down(self) -> None:
        self._closing.set()
        self.stop_test()
        self.detector.wait()
