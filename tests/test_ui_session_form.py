"""The new-session form on a laptop and a desk monitor: each protocol picked from the box reads whole in it (the
short title where the full one is long, the full one in the tooltip), and the window stays the screen's width.
Grabbed at 1366x768 and 1920x1080 with the longest title chosen."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox
from pytestqt.qtbot import QtBot
from screen_fit import SCREENS, fits, grab
from ui_station_double import StationDouble

from kapmonitor.session.templates import builtin_templates
from kapmonitor.ui.main_window import MainWindow


def text_room(combo: QComboBox) -> int:
    """How wide the box's text may be: its edit field, as the style lays it out."""
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    field = combo.style().subControlRect(
        QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, combo
    )
    return field.width()


def pick(qtbot: QtBot, combo: QComboBox, protocol: str) -> None:
    """Open the box and click the protocol's line, as the nurse does."""
    combo.showPopup()
    view = combo.view()
    qtbot.waitUntil(view.isVisible, timeout=2000)
    index = view.model().index(combo.findData(protocol), 0)
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(index).center())
    qtbot.waitUntil(lambda: not view.isVisible(), timeout=2000)


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> MainWindow:
    shown = MainWindow(StationDouble(), store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(shown)
    shown.plot_timer.stop()
    shown.status_timer.stop()
    shown.show()
    qtbot.waitExposed(shown)
    return shown


@pytest.mark.parametrize("protocol", sorted(builtin_templates()))
def test_each_protocol_reads_whole_in_the_box_on_a_laptop(qtbot: QtBot, window: MainWindow, protocol: str) -> None:
    combo = window.session_panel.protocol_combo
    template = builtin_templates()[protocol]
    pick(qtbot, combo, protocol)
    assert combo.currentData() == protocol
    assert combo.currentText() == template.shown_title
    assert combo.toolTip().startswith(template.title)  # the full title, whatever the box shows
    for size in SCREENS:
        assert fits(window, size) == []  # the window is the screen's width: the box did not push it wider
        needed = QFontMetrics(combo.font()).horizontalAdvance(combo.currentText())
        assert needed <= text_room(combo), f"{combo.currentText()!r} needs {needed} px, has {text_room(combo)}"


def test_an_esketamine_session_starts_from_the_form_with_its_title_whole(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    panel = window.session_panel
    combo = panel.protocol_combo
    pick(qtbot, combo, "intranasal-esketamine")
    assert combo.currentText() == "Esketamine (Spravato)"
    assert combo.itemData(combo.currentIndex(), Qt.ItemDataRole.ToolTipRole) == "Intranasal esketamine (Spravato)"
    qtbot.keyClicks(panel.patient_edit, "KAP-0042")
    panel.weight_spin.setValue(68.0)
    qtbot.keyClicks(panel.room_edit, "Room 2")
    qtbot.keyClicks(panel.prescriber_edit, "Dr Lee")
    for width, height in SCREENS:
        assert fits(window, (width, height)) == []
        grab(window, tmp_path / f"session-form-esketamine-{width}x{height}.png")
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert window.station.started_sessions == [("KAP-0042", "intranasal-esketamine")]  # type: ignore[attr-defined]
