"""The technician's Devices window: serial ports, Bluetooth devices, and the devices this bed uses with their
link quality. Assigned devices are added to the station and saved in the station's device configuration."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kapmonitor.bed.port import DeviceControl
from kapmonitor.core.clock import now_us
from kapmonitor.core.errors import UserError
from kapmonitor.devices.config import DeviceConfig, StationConfig, config_path, load, save
from kapmonitor.devices.links.probe import ProbeReport, probe_port
from kapmonitor.devices.links.transport import DeviceStatus, Transport
from kapmonitor.devices.registry import all_descriptors
from kapmonitor.ui import theme as themes
from kapmonitor.ui.devices.bluetooth_tab import BluetoothTab, Connector, Scan, bleak_scan
from kapmonitor.ui.devices.network_tab import NetworkTab
from kapmonitor.ui.devices.serial_tab import Port, SerialTab, default_port_lister
from kapmonitor.ui.screen_size import open_fitting
from kapmonitor.ui.widgets.link_status import link_words

REFRESH_MS = 1000
SIMULATED_BLUETOOTH = "ble-cuff+oximeter"
BED_COLUMNS = ("Device", "State", "Frames", "Checksum errors", "Resyncs", "Bytes discarded", "Data age", "Message")


def bed_row(status: DeviceStatus, now: int) -> tuple[str, ...]:
    s = status.stats
    age = status.data_age_s(now)
    return (
        status.device,
        link_words(status, now).state,  # the words the bed's device strip uses
        str(s.frames_ok),
        str(s.checksum_errors),
        str(s.resyncs),
        str(s.bytes_discarded),
        "no data yet" if age is None else f"{max(0.0, age):.1f} s",
        status.message,
    )


class DevicesWindow(QWidget):
    def __init__(
        self,
        station: DeviceControl,
        *,
        theme: themes.Theme = themes.DARK,
        list_ports: Callable[[], list[Port]] = default_port_lister,
        probe: Callable[..., ProbeReport] = probe_port,
        scan: Scan = bleak_scan,
        connector: Connector | None = None,
        clock: Callable[[], int] = now_us,
    ) -> None:
        super().__init__()
        self.setWindowTitle("kapmonitor \u2014 Devices")
        open_fitting(self, (1400, 860))  # as large as this, never larger than the screen
        self.station, self.clock = station, clock
        self.config_message = QLabel("")
        self.config_message.setWordWrap(True)
        self.config = self._load_config()
        self.serial_tab = SerialTab(self.assign, list_ports=list_ports, probe=probe)
        self.bluetooth_tab = BluetoothTab(self.assign, scan=scan, connector=connector)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.serial_tab, "Serial ports")
        self.network_tab = NetworkTab(self.assign, self._listener)
        self.tabs.addTab(self.bluetooth_tab, "Bluetooth")
        self.tabs.addTab(self.network_tab, "Network (HL7)")
        self.tabs.addTab(self._bed_page(), "This bed")
        box = QVBoxLayout(self)
        box.addWidget(self.tabs, 1)
        box.addWidget(self.config_message)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.apply_theme(theme)
        self.refresh()

    def _bed_page(self) -> QWidget:
        self.bed_table = QTableWidget(0, len(BED_COLUMNS))
        self.bed_table.setHorizontalHeaderLabels(list(BED_COLUMNS))
        self.bed_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.bed_table.horizontalHeader().setSectionResizeMode(len(BED_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.bed_table.verticalHeader().setVisible(False)
        self.simulated_choice = QComboBox()
        self.simulated_choice.addItem("Bluetooth cuff and oximeter (simulated)", SIMULATED_BLUETOOTH)
        for d in all_descriptors():
            if d.simulator is not None:
                self.simulated_choice.addItem(f"{d.title} (simulated)", d.protocol)
        self._simulated_bluetooth = 0
        self.add_simulated_button = QPushButton("Add simulated device")
        self.add_simulated_button.clicked.connect(self.add_simulated)
        row = QHBoxLayout()
        row.addWidget(self.simulated_choice, 1)
        row.addWidget(self.add_simulated_button)
        page = QWidget()
        box = QVBoxLayout(page)
        box.addWidget(self.bed_table, 1)
        box.addLayout(row)
        return page

    def _load_config(self) -> StationConfig:
        try:
            config = load()
        except UserError as exc:
            self.config_message.setText(f"{exc}. Assigning a device will write a new file.")
            return StationConfig()
        self.config_message.setText(f"Device configuration: {config_path()}")
        return config

    def assign(self, device: DeviceConfig, transport: Transport) -> None:
        """Add the device to the bed and remember it for the next start."""
        self.station.add_transport(transport)
        self.config = self.config.with_device(device)
        try:
            path = save(self.config)
        except OSError as exc:
            self.config_message.setText(f"The device was added, but the configuration could not be saved: {exc}")
        else:
            self.config_message.setText(f"{transport.device} added to this bed and saved in {path}")
        self.refresh()

    def _listener(self, device: DeviceConfig) -> Transport:
        from kapmonitor.bed.devices import transport_for
        from kapmonitor.bed.station import Station

        return transport_for(device, self.station if isinstance(self.station, Station) else None)

    def add_simulated(self) -> None:
        choice = str(self.simulated_choice.currentData())
        try:
            if choice == SIMULATED_BLUETOOTH or choice.startswith("ble-"):
                # every simulated Bluetooth device takes the real adapter path, each at its own address
                self._simulated_bluetooth += 1
                address = f"FA:KE:00:00:00:{self._simulated_bluetooth:02X}"
                profiles = ("ble-plx-cont", "ble-cuff") if choice == SIMULATED_BLUETOOTH else (choice,)
                transport = self.station.add_simulated_bluetooth(profiles, address=address)
            else:
                transport = self.station.add_simulated(choice)
        except Exception as exc:  # noqa: BLE001 - no pseudo-terminals here, a simulator that failed
            self.config_message.setText(f"The simulated device could not start: {exc}")
            return
        self.config_message.setText(f"{transport.device} (simulated) added to this bed.")
        self.refresh()

    def refresh(self) -> None:
        statuses, now = self.station.statuses(), self.clock()
        self.bed_table.setRowCount(len(statuses))
        for r, status in enumerate(statuses):
            for c, text in enumerate(bed_row(status, now)):
                self.bed_table.setItem(r, c, QTableWidgetItem(text))
        for service in getattr(self.station, "services", []):
            outbox = getattr(service, "status", None)  # the HL7 outbound sender reports its queue
            if callable(outbox):
                s = outbox()
                self.network_tab.show_outbox(s.destination, s.pending, s.sent, s.last_error)

    def apply_theme(self, theme: themes.Theme) -> None:
        self.theme = theme
        t = theme
        self.setStyleSheet(
            themes.stylesheet(t)
            + f"""
            DevicesWindow, QTabWidget::pane {{ background: {t.background}; border: 1px solid {t.border}; }}
            QTabBar::tab {{ background: {t.panel}; color: {t.muted}; padding: 8px 18px; border: 1px solid {t.border}; }}
            QTabBar::tab:selected {{ color: {t.text}; background: {t.border}; }}
            QComboBox {{ background: {t.panel}; color: {t.text}; border: 1px solid {t.border}; padding: 4px 8px; }}
            QComboBox QAbstractItemView {{ background: {t.panel}; color: {t.text}; }}
            QCheckBox {{ color: {t.text}; }}
            """
        )
        for tab in (self.serial_tab, self.bluetooth_tab):
            tab.test_panel.apply_theme(theme)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.timer.stop()
        self.serial_tab.close_down()
        self.bluetooth_tab.close_down()
        super().closeEvent(event)
