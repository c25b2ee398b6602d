"""A connection test: one link run outside the bed, its decoded values live, its link-quality counters, a
plain-language diagnosis, and the raw inspector."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from kapmonitor.core.metrics import METRICS
from kapmonitor.devices.links.inspection import LinkTap, diagnosis, link_quality
from kapmonitor.devices.links.transport import Transport
from kapmonitor.ui.devices.raw_inspector import RawInspector
from kapmonitor.ui.theme import DARK, Theme

REFRESH_MS = 200


def values_text(tap: LinkTap) -> str:
    parts = []
    for metric, reading in sorted(tap.latest_values().items()):
        label = METRICS[metric].label if metric in METRICS else metric
        value = "—" if reading.value is None else f"{reading.value:g}"
        parts.append(f"{label} {value} {reading.unit}")
    return "   ".join(parts) or "no values decoded yet"


class LinkTestPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.transport: Transport | None = None
        self.tap = LinkTap()
        self.settings_text = ""
        self._started = 0.0
        self.values_label = QLabel("Not testing")
        big = QFont()
        big.setPixelSize(24)
        big.setBold(True)
        self.values_label.setFont(big)
        self.values_label.setWordWrap(True)
        self.quality_label = QLabel("")
        self.quality_label.setObjectName("muted")
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.inspector = RawInspector()
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.values_label)
        box.addWidget(self.quality_label)
        box.addWidget(self.message_label)
        box.addWidget(self.inspector, 1)
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.theme = DARK

    def new_tap(self) -> LinkTap:
        """A fresh tap for the next test (give ``tap.raw`` to a serial link, start it with ``tap``)."""
        self.tap = LinkTap()
        return self.tap

    def start(self, transport: Transport, settings_text: str = "") -> None:
        self.stop()
        self.inspector.clear_all()
        self.transport, self.settings_text = transport, settings_text
        self._started = time.monotonic()
        transport.start(self.tap)
        self.timer.start()
        self.refresh()

    def stop(self) -> None:
        """End the test, keeping its last values and message on screen."""
        self.timer.stop()
        if self.transport is not None:
            self.transport.stop()
            self.transport = None
            self.refresh()

    @property
    def testing(self) -> bool:
        return self.transport is not None

    def refresh(self) -> None:
        self.inspector.show_entries(self.tap.drain())
        if self.transport is None:
            return
        status = self.transport.status()
        self.values_label.setText(values_text(self.tap))
        self.quality_label.setText(link_quality(status))
        text = diagnosis(status, self.settings_text, time.monotonic() - self._started)
        self.message_label.setText(text)
        working = status.stats.frames_ok > 0
        self.message_label.setStyleSheet(f"color: {self.theme.ok if working else self.theme.warning};")

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.inspector.apply_theme(theme)
        self.values_label.setStyleSheet(f"color: {theme.text};")
