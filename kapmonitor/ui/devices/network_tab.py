"""Network monitors (HL7 ORU^R01 over MLLP): the endpoint this bed listens on and which monitors belong to it,
and the state of the outbox to the clinic's interface engine."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from kapmonitor.core.errors import UserError
from kapmonitor.devices.config import DeviceConfig
from kapmonitor.devices.links.transport import Transport

PROTOCOL = "hl7-pcd01"
DEFAULT_ENDPOINT = "tcp://0.0.0.0:2575"
BINDINGS = (  # (bind_by, what the technician reads, what the value field asks for)
    ("eui64", "The monitor with this EUI-64 (OBX-18)", "e.g. 0012A1FFFE000001"),
    ("sender", "The monitor sending as (MSH-3, or APP/FACILITY)", "e.g. B40_GE or B40_GE/ICU"),
    ("patient", "The monitor sending this chair's patient (PID-3)", "empty: the patient of the running session"),
    ("any", "Every monitor that connects", ""),
)

Assign = Callable[[DeviceConfig, Transport], None]
MakeListener = Callable[[DeviceConfig], Transport]


class NetworkTab(QWidget):
    def __init__(self, assign: Assign, make_listener: MakeListener) -> None:
        super().__init__()
        self.assign, self.make_listener = assign, make_listener
        self.endpoint = QLineEdit(DEFAULT_ENDPOINT)
        self.bind_by = QComboBox()
        for key, words, _ in BINDINGS:
            self.bind_by.addItem(words, key)
        self.bind_value = QLineEdit()
        self.bind_by.currentIndexChanged.connect(self._hint)
        self.listen_button = QPushButton("Listen for this bed's monitor")
        self.listen_button.clicked.connect(self.listen)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.outbox = QLabel("No interface engine configured (hl7_outbound in the device configuration).")
        self.outbox.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Listen on", self.endpoint)
        form.addRow("This bed takes", self.bind_by)
        form.addRow("Value", self.bind_value)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.listen_button)
        box = QVBoxLayout(self)
        box.addWidget(
            QLabel(
                "Monitors that send HL7 v2 ORU^R01 (IHE PCD-01) over the network: point the monitor's or gateway's "
                "HL7 output at this computer's address and the port below. Each monitor is answered with an ACK."
            )
        )
        box.addLayout(form)
        box.addLayout(buttons)
        box.addWidget(self.message)
        box.addStretch(1)
        box.addWidget(self.outbox)
        self._hint()

    def _hint(self) -> None:
        hint = BINDINGS[self.bind_by.currentIndex()][2]
        self.bind_value.setPlaceholderText(hint)
        self.bind_value.setEnabled(self.bind_by.currentData() != "any")

    def listen(self) -> None:
        by = str(self.bind_by.currentData())
        value = self.bind_value.text().strip() if by != "any" else ""
        if by in ("eui64", "sender") and not value:
            self.message.setText(f"Enter the monitor's {'EUI-64' if by == 'eui64' else 'sending application'}.")
            return
        device = DeviceConfig(PROTOCOL, "network", self.endpoint.text().strip(), bind_by=by, bind_value=value)
        try:
            transport = self.make_listener(device)
            self.assign(device, transport)
        except (UserError, OSError, ValueError) as exc:
            self.message.setText(f"Cannot listen: {exc}")
            return
        self.message.setText(f"Listening on {device.address}; the monitor appears under This bed when it sends.")

    def show_outbox(self, destination: str, pending: int, sent: int, last_error: str) -> None:
        text = f"Interface engine {destination}: {pending} message(s) waiting, {sent} sent."
        if last_error:
            text += f" Last problem: {last_error}"
        self.outbox.setText(text)
