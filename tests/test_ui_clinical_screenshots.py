"""The main window with the clinical dock and a filled event lane, in both themes.

`make screenshots` (KAPMONITOR_SCREENSHOTS=1) writes docs/screenshots/session-{dark,light}.png; a plain run
renders the same into a temporary directory and checks the parts are laid out whole and lined up.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from ui_station_double import StationDouble, session_history

from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.live.main_window import MainWindow
from kapmonitor.ui.theme import DARK, LIGHT, Theme

NOW_US = 1_763_760_000_000_000
MIN = 60_000_000
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def fill_session(window: MainWindow, clock: list[int]) -> None:
    """Forty minutes of an esketamine session, entered through the panels as a nurse would."""
    template = builtin_templates()["intranasal-esketamine"]
    record = SessionRecord.for_template(template)
    start = NOW_US - 40 * MIN
    clock[0] = start
    dock = window.set_clinical(record, template, 68.0, author="RN Kim", session_start_us=start)
    dock.prompts.timer.stop()

    def at(minutes_before_now: float) -> None:
        clock[0] = NOW_US - round(minutes_before_now * MIN)

    at(35)
    dock.ratings.choose("moaas")
    dock.ratings.record_value(5)
    at(34)
    dock.ratings.choose("patient-vas")
    dock.ratings.fields["anxiety"].setText("4")
    dock.ratings.submit()
    at(30)
    dock.notes.note.setText("Intention set, music on")
    dock.notes.add_note()
    for minutes, lot in ((17, "EK4471"), (12, "EK4472")):
        at(minutes)
        dock.doses.spray_box.lot.setText(lot)
        dock.doses.spray_box.device_given()
    at(16)
    dock.notes.quick_event("6")
    at(7)
    dock.notes.quick_event("3")
    at(5)
    dock.ratings.choose("cadss", "cadss-6")
    for key, value in zip(("1", "2", "6", "7", "15", "22"), (2, 2, 1, 1, 0, 1), strict=True):
        dock.ratings.fields[key].setText(str(value))
    dock.ratings.submit()
    at(3)
    dock.notes.note.setText("Tingling in hands, calm")
    dock.notes.add_note()
    at(0)
    dock.tabs.setCurrentWidget(dock.doses)
    dock.entries_changed()


@pytest.mark.parametrize("theme", [DARK, LIGHT], ids=["dark", "light"])
def test_screenshot_of_a_session_with_the_clinical_record(qtbot, tmp_path: Path, theme: Theme) -> None:  # noqa: ANN001
    clock = [NOW_US]
    station = StationDouble()
    store = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(station, clock=lambda: clock[0], store=store, demo=True)
    qtbot.addWidget(window)
    window.plot_timer.stop()
    window.status_timer.stop()
    clock[0] = NOW_US - 40 * MIN
    window.session_panel.start_session("DEMO-001")
    fill_session(window, clock)
    station.publish(session_history(NOW_US))
    window.set_theme(theme)
    window.resize(1920, 1080)
    window.show()
    qtbot.waitExposed(window)
    for _ in range(2):  # the lane lines up with the trends once both are laid out
        window.refresh_plots()
        window.refresh_numbers()
        QApplication.processEvents()

    image = window.grab().toImage()
    out = DOCS if os.environ.get("KAPMONITOR_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    assert image.save(str(out / f"session-{theme.name}.png"))

    dock = window.clinical
    assert dock is not None
    assert dock.doses.total_label.text() == "Given 56.0 mg  \u00b7  0.82 mg/kg"
    assert [line.text for line in dock.prompts.lines] == ["MOAA/S due"]
    assert [m.kind for m in dock.lane.marks] == [
        "rating",
        "rating",
        "note",
        "spray",
        "quick-event",
        "spray",
        "quick-event",
        "rating",
        "note",
    ]
    label = dock.doses.total_label
    assert label.width() >= label.sizeHint().width()
    trend_box = window.trends.rows[0].getViewBox().sceneBoundingRect()
    lane_box = dock.lane.getPlotItem().getViewBox().sceneBoundingRect()
    trend_left = window.trends.mapTo(window, window.trends.mapFromScene(trend_box.topLeft())).x()
    lane_left = dock.lane.mapTo(window, dock.lane.mapFromScene(lane_box.topLeft())).x()
    assert abs(trend_left - lane_left) <= 1
    assert abs(trend_box.width() - lane_box.width()) <= 1
