"""The strip along the bottom: one badge per device with its link state, frame counts and data age."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from kapmonitor.devices.links.transport import DeviceStatus, LinkState
from kapmonitor.ui.theme import Theme

DATA_LATE_S = 5.0  # a connected device that has sent nothing for this long is shown as silent


@dataclass(frozen=True)
class BadgeView:
    name: str
    state: str
    detail: str
    tone: str  # "ok", "warning", "fault" or "muted": which Theme colour the state word takes


def badge_view(status: DeviceStatus, now_us: int) -> BadgeView:
    address = PurePath(status.address).name or status.address
    name = status.protocol if address == status.protocol else f"{status.protocol} ({address})"
    stats = status.stats
    errors = stats.checksum_errors + stats.resyncs
    if status.last_data_us is None:
        age = "no data yet"
        age_s = None
    else:
        age_s = max(0.0, (now_us - status.last_data_us) / 1e6)
        age = f"data {age_s:.0f} s ago" if age_s >= 1 else "data now"
    detail = f"{stats.frames_ok} frames  ·  {errors} error{'' if errors == 1 else 's'}  ·  {age}"
    if status.message:
        detail = f"{detail}  ·  {status.message}"
    state = status.state
    if state is LinkState.CONNECTED:
        silent = not status.quiet_between_requests and (age_s is None or age_s > DATA_LATE_S)
        return BadgeView(name, "NO DATA" if silent else "CONNECTED", detail, "warning" if silent else "ok")
    tone = {
        LinkState.CONNECTING: "warning",
        LinkState.RECONNECTING: "warning",
        LinkState.FAILED: "fault",
    }.get(state, "muted")
    return BadgeView(name, state.value.upper(), detail, tone)


class DeviceBadge(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deviceBadge")
        self.setMinimumWidth(320)
        self.view: BadgeView | None = None
        self.name_label = QLabel()
        self.state_label = QLabel()
        self.detail_label = QLabel()
        bold = QFont()
        bold.setPixelSize(15)
        bold.setBold(True)
        small = QFont()
        small.setPixelSize(14)
        self.name_label.setFont(bold)
        self.state_label.setFont(bold)
        self.detail_label.setFont(small)
        top = QHBoxLayout()
        top.addWidget(self.name_label)
        top.addSpacing(16)
        top.addStretch(1)
        top.addWidget(self.state_label)
        box = QVBoxLayout(self)
        box.setContentsMargins(10, 4, 10, 4)
        box.setSpacing(0)
        box.addLayout(top)
        box.addWidget(self.detail_label)

    def show_view(self, view: BadgeView, theme: Theme) -> None:
        self.view = view
        self.name_label.setText(view.name)
        self.state_label.setText(view.state)
        self.detail_label.setText(view.detail)
        self.state_label.setStyleSheet(f"color: {getattr(theme, view.tone)};")
        self.name_label.setStyleSheet(f"color: {theme.text};")
        self.detail_label.setStyleSheet(f"color: {theme.muted};")


class DeviceStrip(QWidget):
    """Badges for the devices the station reports, in its order; a plain line when there are none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.badges: list[DeviceBadge] = []
        self.empty_label = QLabel("No monitors connected")
        self.empty_label.setObjectName("muted")
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.addWidget(self.empty_label)
        self._row.addStretch(1)

    def show_statuses(self, statuses: list[DeviceStatus], now_us: int, theme: Theme) -> None:
        while len(self.badges) < len(statuses):
            badge = DeviceBadge(self)
            self._row.insertWidget(len(self.badges), badge)
            self.badges.append(badge)
        while len(self.badges) > len(statuses):
            self.badges.pop().deleteLater()
        for badge, status in zip(self.badges, statuses, strict=True):
            badge.show_view(badge_view(status, now_us), theme)
        self.empty_label.setVisible(not statuses)
