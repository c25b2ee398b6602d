"""The demo as a newcomer sees it: a real station, the demo scenario's first 45 minutes already recorded, the
simulated oximeter and cuff streaming live through pseudo-terminals, the clinical record filled in.

`make screenshots` (KAPMONITOR_SCREENSHOTS=1) writes docs/screenshots/demo-{dark,light}.png at 1920x1080 and
demo-laptop.png at 1366x768 (the README's picture); a plain test run
renders into a temporary directory and checks what is shown and stored.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot
from screen_fit import DESK, LAPTOP, fits

from kapmonitor.bed.demo import ALREADY_MINUTES, demo_scenario, start_demo
from kapmonitor.bed.station import Station
from kapmonitor.core.access import User
from kapmonitor.store.clinical_log import session_record
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.theme import DARK, LIGHT, Theme

DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


@pytest.mark.parametrize("theme", [DARK, LIGHT], ids=["dark", "light"])
def test_demo_session_in_progress(qtbot: QtBot, tmp_path: Path, theme: Theme) -> None:
    station = Station(f"sqlite:///{tmp_path / 'demo.sqlite'}")
    store = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(station, store=store, demo=True)
    qtbot.addWidget(window)
    try:
        window.set_user(User("demo", frozenset({"nurse", "clinician"})))
        window.set_theme(theme)
        demo = start_demo(station, demo_scenario())
        window.session_panel.show_running(demo.session_id, demo.patient, demo.protocol, demo.start_us, "")
        window.show()
        qtbot.waitUntil(
            lambda: (
                window.nibp_tile.value_label.text().count("/") == 1 and window.nibp_tile.value_label.text()[0].isdigit()
            ),
            timeout=15000,
        )
        qtbot.waitUntil(lambda: window.spo2_tile.value_label.text().isdigit(), timeout=15000)
        window.refresh_plots()
        window.refresh_numbers()

        record = session_record(station.database, demo.session_id)
        assert demo.entries == len(record.log) >= 8  # weight, doses, ratings, a note, a quick event
        assert window.clinical is not None
        assert window.session_panel.elapsed_label.text().startswith(f"0:{ALREADY_MINUTES:.0f}")
        out = DOCS if os.environ.get("KAPMONITOR_SCREENSHOTS") else tmp_path
        out.mkdir(parents=True, exist_ok=True)
        assert fits(window, DESK) == []
        assert window.grab().save(str(out / f"demo-{theme.name}.png"))
        if theme is DARK:  # the README's picture: the demo on a 1366x768 laptop, every control on the screen
            assert fits(window, LAPTOP) == []
            window.refresh_plots()
            window.refresh_numbers()
            image = window.grab().toImage()
            assert image.save(str(out / "demo-laptop.png"))
            assert (image.width(), image.height()) == LAPTOP
    finally:
        station.stop()
