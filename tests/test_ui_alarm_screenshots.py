"""The main window with an active high alarm (a desaturation) and an active medium alarm (blood pressure above
180/110 after ketamine), in both themes.

`make screenshots` (KAPMONITOR_SCREENSHOTS=1) writes docs/screenshots/alarm-{high,medium}-{dark,light}.png; a
plain run renders into a temporary directory and checks the bar and the tile carry the alarm's colour.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from alarm_ui_double import AlarmStationDouble, SilentPlayer
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from screen_fit import DESK, LAPTOP, fits
from test_ui_screenshots import pixels_near
from ui_station_double import CUFF, OXIMETER, reading, session_history, status

from kapmonitor.core.readings import WaveChunk
from kapmonitor.devices.links.transport import LinkState
from kapmonitor.ui.live import alarm_bar
from kapmonitor.ui.live.alarm_bar import ALARM_COLOURS
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.theme import DARK, LIGHT, Theme

NOW_US = 1_763_760_000_000_000
S = 1_000_000
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def desaturation(now: int) -> list:  # noqa: ANN201
    values = [92, 90, 88, 86, 84, 83, 82, 81, 81, 80, 80, 80, 79, 79, 80]
    return [
        r
        for i, v in enumerate(values)
        for r in (
            reading("spo2", v, now - (len(values) - 1 - i) * S),
            reading("pulse_rate", 104 + i, now - (len(values) - 1 - i) * S),
        )
    ]


def bp_surge(now: int) -> list:  # noqa: ANN201
    return [
        reading(metric, value, now - 1 * S, device=CUFF)
        for metric, value in (("nibp_systolic", 188), ("nibp_diastolic", 106), ("nibp_mean", 133))
    ]


@pytest.mark.parametrize("size", [DESK, LAPTOP], ids=["1920x1080", "1366x768"])
@pytest.mark.parametrize("theme", [DARK, LIGHT], ids=["dark", "light"])
@pytest.mark.parametrize("priority", ["high", "medium"])
def test_screenshot_of_an_active_alarm(
    qtbot, tmp_path: Path, monkeypatch, theme: Theme, priority: str, size: tuple[int, int]
) -> None:  # noqa: ANN001
    monkeypatch.setenv("KAPMONITOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(alarm_bar, "TonePlayer", lambda: SilentPlayer(available=False))
    station = AlarmStationDouble()
    clock = [NOW_US - 40 * 60 * S]
    store = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(station, clock=lambda: clock[0], store=store)
    qtbot.addWidget(window)
    window.plot_timer.stop()
    window.status_timer.stop()
    window.alarm_panel.bar.refresh_timer.stop()
    window.session_panel.start_session("KAP-0042")
    clock[0] = NOW_US
    if priority == "high":  # the history stops where the desaturation's readings begin; the pleth runs on
        station.publish(session_history(NOW_US - 15 * S))
        station.publish(desaturation(NOW_US))
        station.publish([i for i in session_history(NOW_US, minutes=1) if isinstance(i, WaveChunk)])
    else:
        station.publish(session_history(NOW_US))
        station.publish(bp_surge(NOW_US))
    station.set_statuses(
        [
            status(OXIMETER, LinkState.CONNECTED, NOW_US - 300_000, frames=2400),
            status(CUFF, LinkState.CONNECTED, NOW_US - 20 * S, frames=9),
        ]
    )
    window.set_theme(theme)
    window.show()
    qtbot.waitExposed(window)
    assert fits(window, size) == []  # the bar fits without growing the window
    window.refresh_plots()
    window.refresh_numbers()
    window.alarm_panel.bar.refresh()
    QApplication.processEvents()

    image = window.grab().toImage()
    out = DOCS if os.environ.get("KAPMONITOR_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    laptop = "-laptop" if size == LAPTOP else ""
    assert image.save(str(out / f"alarm-{priority}-{theme.name}{laptop}.png"))

    bar, colour = window.alarm_panel.bar, ALARM_COLOURS[priority][0]
    assert bar.top is not None and bar.top.priority == priority
    assert bar.background == colour
    assert pixels_near(bar.grab().toImage(), colour) > 2000
    assert (image.width(), image.height()) == size
    tile = window.spo2_tile if priority == "high" else window.nibp_tile
    assert tile.alarm_colour == colour
    assert pixels_near(tile.grab().toImage(), colour) > 300  # the thick border
    assert any(s.alarm == "no_alarm_sound" for s in bar.states)  # this double has no sound: said, not hidden
