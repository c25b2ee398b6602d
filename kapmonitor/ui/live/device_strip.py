"""The strip along the bottom: one badge per device with its link state in words, its frame and error counts by
kind, and its data age (``ui/widgets/link_status``, which the Devices window shares)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from kapmonitor.devices.links.transport import DeviceStatus
from kapmonitor.devices.registry import model_of
from kapmonitor.ui.theme import Theme
from kapmonitor.ui.widgets.link_status import data_words, link_words

BADGE_MIN_WIDTH = 240
NAME_PX = 18  # readable from the nurse's chair, 2 m away (at least 14 px at 1080p)
DETAIL_PX = 16


@dataclass(frozen=True)
class BadgeView:
    name: str
    state: str
    detail: str
    tone: str  # "ok", "warning", "fault" or "muted": which Theme colour the state word takes
    message: str = ""  # the link's own last words ("receiving from /dev/ttyUSB0"): the badge's tooltip


def badge_view(status: DeviceStatus, now_us: int) -> BadgeView:
    """The device by model and port, what is true of its link in words, its counts and data age."""
    address = PurePath(status.address).name or status.address
    model = model_of(f"{status.protocol}@{status.address}")
    name = model if address in ("", status.protocol) else f"{model} ({address})"
    words = link_words(status, now_us)
    state = words.state[:1].upper() + words.state[1:]
    return BadgeView(name, state, data_words(status, now_us), words.tone, status.message)


class DeviceBadge(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deviceBadge")
        self.setMinimumWidth(BADGE_MIN_WIDTH)
        self.view: BadgeView | None = None
        self.name_label = QLabel()
        self.state_label = QLabel()
        self.detail_label = QLabel()
        bold = QFont()
        bold.setPixelSize(NAME_PX)
        bold.setBold(True)
        small = QFont()
        small.setPixelSize(DETAIL_PX)
        self.name_label.setFont(bold)
        self.state_label.setFont(bold)
        self.detail_label.setFont(small)
        # Two badges beside the clinical record on a laptop: a long state or count line wraps, never clips.
        for label in (self.state_label, self.detail_label):
            label.setWordWrap(True)
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.name_label.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Preferred)  # whole, always
        top = QHBoxLayout()
        top.addWidget(self.name_label)
        top.addSpacing(16)
        top.addWidget(self.state_label, 1)
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
        self.setToolTip(view.message)
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
        self._row.addStretch(0)  # takes the room only while there are no badges (they stretch by 1)

    def show_statuses(self, statuses: list[DeviceStatus], now_us: int, theme: Theme) -> None:
        while len(self.badges) < len(statuses):
            badge = DeviceBadge(self)
            self._row.insertWidget(len(self.badges), badge, 1)  # the badges share the width equally
            self.badges.append(badge)
        while len(self.badges) > len(statuses):
            self.badges.pop().deleteLater()
        for badge, status in zip(self.badges, statuses, strict=True):
            badge.show_view(badge_view(status, now_us), theme)
        self.empty_label.setVisible(not statuses)
