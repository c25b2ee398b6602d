"""The main window with the clinical dock and a filled event lane, in both themes.

`make screenshots` (KAPMONITOR_SCREENSHOTS=1) writes docs/screenshots/session-{dark,light}.png at 1920x1080,
session-laptop.png at 1366x768 and session-1600x900.png; a plain run renders the same into a temporary
directory and checks the window fits each screen with every control on it, laid out whole and lined up.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from screen_fit import DESK, LAPTOP, fits
from ui_station_double import StationDouble, session_history

from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord
from kapmonitor.ui.main_window import MainWindow
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


@pytest.mark.parametrize(
    ("theme", "size", "name"),
    [
        (DARK, LAPTOP, "session-laptop"),
        (DARK, (1600, 900), "session-1600x900"),
        (DARK, DESK, "session-dark"),
        (LIGHT, DESK, "session-light"),
    ],
    ids=["laptop", "1600x900", "dark", "light"],
)
def test_screenshot_of_a_session_with_the_clinical_record(  # noqa: ANN001
    qtbot, tmp_path: Path, theme: Theme, size: tuple[int, int], name: str
) -> None:
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
    window.show()
    qtbot.waitExposed(window)
    assert fits(window, size) == []  # the window at the screen's size, every control on it
    for _ in range(2):  # the lane lines up with the trends once both are laid out
        window.refresh_plots()
        window.refresh_numbers()
        QApplication.processEvents()
    assert fits(window, size) == []  # and with the numbers and entries drawn

    image = window.grab().toImage()
    out = DOCS if os.environ.get("KAPMONITOR_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    assert image.save(str(out / f"{name}.png"))
    assert (image.width(), image.height()) == size

    dock = window.clinical
    assert dock is not None
    assert dock.doses.total_label.text() == "Esketamine 56.0 mg  \u00b7  0.82 mg/kg"
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


def test_the_window_is_as_wide_in_the_third_session_as_in_the_first(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    clock = [NOW_US]
    station = StationDouble()
    store = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(station, clock=lambda: clock[0], store=store)
    qtbot.addWidget(window)
    window.plot_timer.stop()
    window.status_timer.stop()
    window.show()
    least: list[tuple[int, int]] = []
    for patient in ("KAP-0001", "KAP-0002", "KAP-0003"):
        window.session_panel.start_session(patient)
        fill_session(window, clock)
        QApplication.processEvents()
        hint = window.minimumSizeHint()
        least.append((hint.width(), hint.height()))
        window.session_panel.confirm = lambda _question: True
        window.session_panel.stop_clicked()
    assert least[0] == least[1] == least[2]
    assert least[0][0] <= LAPTOP[0] and least[0][1] <= LAPTOP[1]


@pytest.mark.parametrize("size", [LAPTOP, (1600, 900)], ids=["1366x768", "1600x900"])
@pytest.mark.parametrize("protocol", ["iv-infusion", "intranasal-esketamine", "im-ketamine"])
def test_every_page_of_the_clinical_record_fits_beside_the_monitor(  # noqa: ANN001
    qtbot, tmp_path: Path, size: tuple[int, int], protocol: str
) -> None:
    """Give bolus, Resume, the quick events, Void: every control of every page on the screen, none off its edge."""
    clock = [NOW_US]
    station = StationDouble()
    store = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(station, clock=lambda: clock[0], store=store, demo=True)
    qtbot.addWidget(window)
    window.plot_timer.stop()
    window.status_timer.stop()
    window.session_panel.start_session("DEMO-001")
    template = builtin_templates()[protocol]
    dock = window.set_clinical(SessionRecord.for_template(template), template, 70.0, author="RN Kim")
    dock.notes.note.setText("Music changed")
    dock.notes.add_note()
    window.show()
    qtbot.waitExposed(window)
    shown = []
    for index in range(dock.tabs.count()):
        dock.tabs.setCurrentIndex(index)
        problems = fits(window, size)
        assert problems == [], "\n".join(problems)
        shown.append(dock.tabs.tabText(index))
    assert shown == ["Dose", "Rating", "Notes", "Entries"]
    assert dock.entries.void_button.isVisible()
