"""The nurse's main window, driven through real widgets by published Readings and WaveChunks."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings, Qt
from ui_station_double import CUFF, OXIMETER, StationDouble, reading, session_history, status

from kapmonitor.core.readings import WaveChunk
from kapmonitor.devices.links.transport import LinkState
from kapmonitor.ui.main_window import DEMO_BANNER, MainWindow
from kapmonitor.ui.theme import DARK, LIGHT

NOW_US = 1_763_760_000_000_000


class FakeClock:
    def __init__(self, now_us: int) -> None:
        self.now_us = now_us

    def __call__(self) -> int:
        return self.now_us

    def advance(self, seconds: float) -> None:
        self.now_us += int(seconds * 1_000_000)


@pytest.fixture
def station() -> StationDouble:
    return StationDouble()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW_US)


@pytest.fixture
def store(tmp_path) -> QSettings:  # noqa: ANN001
    return QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, station: StationDouble, clock: FakeClock, store: QSettings) -> MainWindow:  # noqa: ANN001
    win = MainWindow(station, clock=clock, store=store)
    qtbot.addWidget(win)
    win.plot_timer.stop()  # the tests refresh by hand, at the clock they set
    win.status_timer.stop()
    return win


def test_tiles_show_the_published_values(window: MainWindow, station: StationDouble) -> None:
    station.publish(
        [
            reading("spo2", 97, NOW_US),
            reading("pulse_rate", 72, NOW_US),
            reading("perfusion_index", 3.4, NOW_US),
        ]
    )
    window.refresh_numbers()
    assert window.spo2_tile.value_label.text() == "97"
    assert window.pulse_tile.value_label.text() == "72"
    assert window.pi_tile.value_label.text() == "3.4"
    assert window.spo2_tile.note_label.text() == "now"
    assert window.spo2_tile.value_colour == DARK.spo2


def test_no_data_and_no_value_show_dashes_never_a_number(window: MainWindow, station: StationDouble) -> None:
    window.refresh_numbers()
    assert window.spo2_tile.value_label.text() == "---"
    assert window.nibp_tile.value_label.text() == "---/---"
    station.publish([reading("spo2", 97, NOW_US - 1_000_000), reading("spo2", None, NOW_US)])
    window.refresh_numbers()
    assert window.spo2_tile.value_label.text() == "---"
    assert window.spo2_tile.note_label.text() == "no value"


def test_sensor_off_is_shown_in_words_with_dashes(window: MainWindow, station: StationDouble) -> None:
    station.publish(
        [
            reading("spo2", 0, NOW_US, flags=frozenset({"sensor_off"})),
            reading("pulse_rate", 71, NOW_US, flags=frozenset({"artifact"})),
        ]
    )
    window.refresh_numbers()
    assert window.spo2_tile.value_label.text() == "---"
    assert window.spo2_tile.note_label.text() == "SENSOR OFF"
    assert window.pulse_tile.value_label.text() == "71"
    assert window.pulse_tile.note_label.text() == "ARTIFACT"


def test_a_value_goes_stale_after_five_seconds(
    window: MainWindow, station: StationDouble, clock: FakeClock
) -> None:
    station.publish([reading("spo2", 96, NOW_US)])
    clock.advance(4)
    window.refresh_numbers()
    assert window.spo2_tile.value_colour == DARK.spo2
    clock.advance(8)
    window.refresh_numbers()
    assert window.spo2_tile.value_label.text() == "96"
    assert window.spo2_tile.note_label.text() == "12 s old"
    assert window.spo2_tile.value_colour == DARK.stale


def test_blood_pressure_keeps_its_measurement_time_and_stays_current_for_minutes(
    window: MainWindow, station: StationDouble, clock: FakeClock
) -> None:
    station.publish(
        [
            reading("nibp_systolic", 128, NOW_US, CUFF),
            reading("nibp_diastolic", 82, NOW_US, CUFF),
            reading("nibp_mean", 97, NOW_US, CUFF),
        ]
    )
    clock.advance(5 * 60)
    window.refresh_numbers()
    assert window.nibp_tile.value_label.text() == "128/82"
    assert window.nibp_tile.detail_label.text() == "(97)"
    assert window.nibp_tile.note_label.text().endswith("5 min ago")
    assert window.nibp_tile.value_colour == DARK.systolic
    clock.advance(25 * 60)
    window.refresh_numbers()
    assert window.nibp_tile.value_colour == DARK.stale


def test_plot_curves_hold_the_buffered_data(window: MainWindow, station: StationDouble) -> None:
    station.publish(session_history(NOW_US))
    window.refresh_plots()
    t, spo2 = window.trends.curves["spo2"].getData()
    bt, bv = station.buffers.arrays((OXIMETER, "spo2"))
    assert np.array_equal(t, bt[-len(t) :]) and np.array_equal(spo2, bv[-len(t) :])
    assert len(t) >= 30 * 60
    _, systolic = window.trends.curves["nibp_systolic"].getData()
    assert systolic[-1] == station.buffers.latest((CUFF, "nibp_systolic")).value
    x, y = window.pleth.curve.getData()
    assert x[-1] == pytest.approx(0, abs=0.05) and x[0] == pytest.approx(-10, abs=0.05)
    assert len(y) >= 700


def test_trends_use_a_clock_time_axis_peak_downsampling_and_clip_to_view(window: MainWindow) -> None:
    for plot in window.trends.rows:
        assert isinstance(plot.getAxis("bottom"), pg.DateAxisItem)
        assert plot.clipToViewMode()
        assert plot.downsampleMode()[2] == "peak"
    window.refresh_plots()
    low, high = window.trends.rows[0].viewRange()[0]
    assert high == pytest.approx(NOW_US / 1e6) and high - low == pytest.approx(30 * 60)


def test_the_pulse_trend_follows_the_oximeter_not_an_occasional_cuff_reading(
    window: MainWindow, station: StationDouble
) -> None:
    station.publish([reading("pulse_rate", 70 + i, NOW_US - (10 - i) * 1_000_000) for i in range(10)])
    station.publish([reading("pulse_rate", 90, NOW_US, CUFF)])
    window.refresh_numbers()
    window.refresh_plots()
    assert window.pulse_tile.value_label.text() == "79"
    assert len(window.trends.curves["pulse_rate"].getData()[1]) == 10


def test_the_pleth_waveform_is_drawn_against_the_clock(window: MainWindow, station: StationDouble) -> None:
    chunk = WaveChunk("pleth", 75.0, tuple(range(75)), frozenset(), NOW_US - 1_000_000, OXIMETER)
    station.publish([chunk])
    window.refresh_plots()
    x, y = window.pleth.curve.getData()
    assert list(y) == list(range(75))
    assert (x[0], x[-1]) == (pytest.approx(-1.0), pytest.approx(-1 / 75))


def test_a_pleth_that_stops_scrolls_out_of_view(
    window: MainWindow, station: StationDouble, clock: FakeClock
) -> None:
    station.publish([WaveChunk("pleth", 75.0, tuple(range(75)), frozenset(), NOW_US - 1_000_000, OXIMETER)])
    clock.advance(5)
    window.refresh_plots()
    x, _ = window.pleth.curve.getData()
    assert x[-1] == pytest.approx(-5 - 1 / 75, abs=1e-3)
    clock.advance(7)
    window.refresh_plots()
    x, _ = window.pleth.curve.getData()
    assert x is None or len(x) == 0


def test_start_and_stop_a_session_with_the_typed_patient_id(
    qtbot,
    window: MainWindow,
    station: StationDouble,
    clock: FakeClock,  # noqa: ANN001
) -> None:
    panel = window.session_panel
    qtbot.keyClicks(panel.patient_edit, "KAP-0042")
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert station.started_sessions == [("KAP-0042", "")]
    assert panel.session_label.text() == "Session 1  ·  KAP-0042"
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    clock.advance(65)
    window.refresh_numbers()
    assert panel.elapsed_label.text() == "0:01:05"

    questions: list[str] = []
    panel.confirm = lambda q: questions.append(q) or False
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert station.stopped_sessions == [] and station.session_id == 1
    panel.confirm = lambda q: True
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    assert station.stopped_sessions == [1]
    assert "KAP-0042" in questions[0]
    assert panel.session_label.text() == "No session running"
    assert panel.start_button.isEnabled()


@pytest.mark.parametrize("typed", ["", "Jane Doe"])
def test_a_missing_or_name_like_patient_id_starts_nothing(
    qtbot,
    window: MainWindow,
    station: StationDouble,
    typed: str,  # noqa: ANN001
) -> None:
    qtbot.keyClicks(window.session_panel.patient_edit, typed)
    qtbot.mouseClick(window.session_panel.start_button, Qt.MouseButton.LeftButton)
    assert station.started_sessions == []
    assert "patient" in window.session_panel.message_label.text().lower()


def test_a_failed_session_start_is_explained_and_the_monitor_keeps_running(
    qtbot,
    window: MainWindow,
    station: StationDouble,  # noqa: ANN001
) -> None:
    station.fail_next_start = OSError("database is locked")
    qtbot.keyClicks(window.session_panel.patient_edit, "KAP-7")
    qtbot.mouseClick(window.session_panel.start_button, Qt.MouseButton.LeftButton)
    assert "database is locked" in window.session_panel.message_label.text()
    assert window.session_panel.start_button.isEnabled()


def test_theme_switch_changes_colours_and_is_remembered(
    qtbot,
    window: MainWindow,
    station: StationDouble,
    clock: FakeClock,
    store: QSettings,  # noqa: ANN001
) -> None:
    station.publish([reading("spo2", 97, NOW_US)])
    window.refresh_numbers()
    assert window.theme is DARK
    window.theme_actions["light"].trigger()
    assert window.theme is LIGHT
    assert window.spo2_tile.value_colour == LIGHT.spo2 != DARK.spo2
    assert LIGHT.background in window.styleSheet()
    assert window.pleth.backgroundBrush().color().name() == LIGHT.panel
    again = MainWindow(station, clock=clock, store=store)
    qtbot.addWidget(again)
    assert again.theme is LIGHT and again.theme_actions["light"].isChecked()


def test_device_strip_shows_state_frames_errors_and_data_age(
    window: MainWindow, station: StationDouble
) -> None:
    window.refresh_numbers()
    assert not window.device_strip.empty_label.isHidden()
    station.set_statuses(
        [
            status(OXIMETER, LinkState.CONNECTED, NOW_US - 300_000, frames=1200, errors=2),
            status(CUFF, LinkState.RECONNECTING, NOW_US - 40_000_000, frames=3),
        ]
    )
    window.refresh_numbers()
    oximeter, cuff = window.device_strip.badges
    assert oximeter.name_label.text() == "Nonin oximeter"  # its simulator: the port is named for the protocol
    assert oximeter.state_label.text() == "Connected"
    assert oximeter.detail_label.text() == "1200 frames  ·  2 checksum errors  ·  data now"
    assert cuff.state_label.text() == "Reconnecting"
    assert "data 40 s ago" in cuff.detail_label.text()
    for badge in (oximeter, cuff):  # readable from the nurse's chair
        assert min(label.font().pixelSize() for label in (badge.name_label, badge.detail_label)) >= 14
    assert window.device_strip.empty_label.isHidden()
    station.set_statuses([])
    window.refresh_numbers()
    assert window.device_strip.badges == []


def test_demo_banner_and_timers(qtbot, station: StationDouble, clock: FakeClock, store: QSettings) -> None:  # noqa: ANN001
    demo = MainWindow(station, clock=clock, store=store, demo=True)
    qtbot.addWidget(demo)
    assert demo.banner.text() == DEMO_BANNER and not demo.banner.isHidden()
    assert demo.plot_timer.isActive() and demo.plot_timer.interval() == 33
    assert demo.status_timer.isActive() and demo.status_timer.interval() == 500
    plain = MainWindow(station, clock=clock, store=store)
    qtbot.addWidget(plain)
    assert plain.banner.isHidden()


def test_a_session_ended_by_the_station_itself_is_shown_as_ended(
    qtbot,
    window: MainWindow,
    station: StationDouble,  # noqa: ANN001
) -> None:
    window.session_panel.start_session("KAP-9")
    station.stop_session()
    window.refresh_numbers()
    assert window.session_panel.session_label.text() == "No session running"
    assert window.session_panel.start_button.isEnabled()


def test_bedside_text_is_readable_from_two_metres(window: MainWindow) -> None:
    """At least 14 px at 1080p: trend axes and their titles, the pleth's title, the session's controls."""
    for plot in window.trends.rows:
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            assert axis.style["tickFont"].pixelSize() >= 14
            assert axis.label.font().pixelSize() >= 14
    assert int(window.trends.bp_key.opts["size"].removesuffix("px")) >= 14  # the NIBP row's heading and key
    assert int(window.pleth.title.opts["size"].removesuffix("px")) >= 14  # its heading, above the wave
    panel = window.session_panel
    for control in (panel.stop_button, panel.start_button, panel.patient_edit, panel.protocol_combo):
        assert control.font().pixelSize() >= 14, control
