"""The central station's window: tiles for the chairs recording on the shared database, the most urgent alarm
in the banner, a click on Acknowledge written to that chair's alarm log in the user's name, the window
fitting a laptop and a desk screen with eight chairs, and a server it cannot reach shown as a technical alarm."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from alarm_ui_double import SilentPlayer
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from screen_fit import SCREENS, fits, grab
from sqlalchemy import Engine
from store_fakes import ScriptedMonitor

from bench.central_views import eight_chairs
from kapmonitor.bed.clinic import ClinicBoard
from kapmonitor.bed.station import Station
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.readings import Reading
from kapmonitor.store.alarm_log import alarm_events
from kapmonitor.store.db import open_database
from kapmonitor.store.pg_server import LocalServer
from kapmonitor.ui.central.tile import ChairTile
from kapmonitor.ui.central.window import CentralWindow
from kapmonitor.ui.screen_size import TITLE_BAR_ALLOWANCE
from kapmonitor.ui.theme import DARK, LIGHT

OXIMETER = "nonin-df7@/dev/ttyUSB0"
DOCS = Path(__file__).parents[1] / "docs" / "screenshots"


@pytest.fixture
def chair(sqlite_url: str) -> Iterator[tuple[Station, ScriptedMonitor]]:
    station = Station(sqlite_url, bed="chair 3")
    monitor = ScriptedMonitor(OXIMETER)
    station.add_transport(monitor)
    station.start()
    station.start_session("KAP-0003", "im-ketamine")
    yield station, monitor
    station.stop()


@pytest.fixture
def database(sqlite_url: str) -> Iterator[Engine]:
    engine = open_database(sqlite_url)
    yield engine
    engine.dispose()


def test_a_desaturating_chair_is_in_the_banner_and_acknowledged_from_here(
    qtbot: QtBot, chair: tuple[Station, ScriptedMonitor], database: Engine
) -> None:
    station, monitor = chair
    played = SilentPlayer()
    window = CentralWindow(ClinicBoard(database), "RN Diaz", player=played, theme=DARK, poll_ms=100)
    qtbot.addWidget(window)
    window.show()
    t0 = now_us()
    monitor.send([Reading("spo2", 80, "%", t_us=t0, device=OXIMETER),
                  Reading("spo2", 79, "%", t_us=t0 + 11 * US_PER_S, device=OXIMETER)])
    qtbot.waitUntil(lambda: "chair 3" in window.banner.text() and window.banner.isVisible(), timeout=20_000)
    assert window.banner.text().startswith("HIGH  chair 3: SpO\u2082 80 % below 85 (desaturation)")
    assert ("high", False) in played.played  # sounded here too
    [tile] = window.tiles.values()
    assert tile.bed.text() == "chair 3" and "KAP-0003" in tile.who.text() and "im-ketamine" in tile.who.text()
    assert tile.spo2.text() == "79"
    for _ in range(2):  # the desaturation, then the low SpO2 beside it (most urgent first)
        qtbot.waitUntil(lambda: tile.ack_button.isEnabled(), timeout=20_000)
        qtbot.mouseClick(tile.ack_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: tile.top_unacknowledged() is None or "+1" not in window.banner.text(), timeout=20_000)
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=20_000)
    assert [row.text().endswith("acknowledged by RN Diaz") for row in tile.alarm_rows if row.isVisible()] == [
        True, True]
    logged = [(e.alarm, e.state, e.user) for e in alarm_events(database, station.session_id or 0)]
    assert ("spo2_desat", "acknowledged", "RN Diaz") in logged and ("spo2_low", "acknowledged", "RN Diaz") in logged


@pytest.mark.parametrize("theme", [DARK, LIGHT], ids=["dark", "light"])
def test_eight_chairs_fit_a_laptop_and_a_desk_screen(
    qtbot: QtBot, database: Engine, tmp_path: Path, theme: object
) -> None:
    window = CentralWindow(ClinicBoard(database), "RN Diaz", player=SilentPlayer(), theme=theme, poll_ms=None)
    qtbot.addWidget(window)
    now = now_us()
    window.show_views(eight_chairs(now), now)
    window.show()
    out = DOCS if os.environ.get("KAPMONITOR_SCREENSHOTS") else tmp_path
    for size in SCREENS:
        assert fits(window, size) == []
        grab(window, out / f"central-{theme.name}-{size[0]}x{size[1]}.png")  # type: ignore[attr-defined]
    silent = window.tiles[6]
    assert silent.spo2.text() == "\u2014" and "silent for 42 s" in silent.alarm_rows[0].text()


def test_a_database_the_central_station_cannot_reach_is_a_technical_alarm_until_it_is_back(
    qtbot: QtBot, pg_server: LocalServer
) -> None:
    url = pg_server.create_database("central_network_cut")
    station = Station(url, bed="chair 1")
    station.start()
    station.start_session("KAP-0001")
    database = open_database(url)
    played = SilentPlayer()
    window = CentralWindow(ClinicBoard(database), "RN Diaz", player=played, theme=DARK, poll_ms=100)
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: len(window.tiles) == 1, timeout=20_000)
        pg_server.stop()  # the network between the desk and the server is cut
        qtbot.waitUntil(lambda: "cannot reach the database" in window.banner.text(), timeout=30_000)
        assert window.banner.text().startswith("HIGH  central station: cannot reach the database")
        assert not window.tiles[station.session_id or 0].isEnabled()  # greyed, not shown as current
        assert ("high", False) in played.played
        pg_server.start()
        qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=30_000)
        assert window.tiles[station.session_id or 0].isEnabled()
    finally:
        window.stop()
        station.stop()
        database.dispose()


def test_the_window_opens_at_its_design_size_less_what_the_screen_and_its_title_bar_take(
    qtbot: QtBot, database: Engine
) -> None:
    window = CentralWindow(ClinicBoard(database), "RN Diaz", player=SilentPlayer(), theme=DARK, poll_ms=None)
    qtbot.addWidget(window)
    free = window.screen().availableGeometry()
    # 1366x768 as designed; on a 1366x768 laptop 768 less the title bar, so the title bar stays on the screen.
    assert window.width() == max(min(1366, free.width()), window.minimumSizeHint().width())
    assert window.height() == max(min(768, free.height() - TITLE_BAR_ALLOWANCE), window.minimumSizeHint().height())


def test_a_chair_without_a_blood_pressure_yet_shows_grey_dashes_as_the_bedside_does(qtbot: QtBot) -> None:
    now = now_us()
    tile = ChairTile(DARK)
    qtbot.addWidget(tile)
    tile.show_view(replace(eight_chairs(now)[0], nibp=(None, None, None)), now)
    assert (tile.nibp.text(), tile.nibp_age.text()) == ("\u2014/\u2014", "no measurement yet")
    assert DARK.stale in tile.nibp.styleSheet() and DARK.systolic not in tile.nibp.styleSheet()
    tile.show_view(eight_chairs(now)[0], now)
    assert tile.nibp.text() == "121/80 (93)" and DARK.systolic in tile.nibp.styleSheet()
