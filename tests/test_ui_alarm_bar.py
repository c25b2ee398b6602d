"""The alarm bar and the tiles in the main window: the priority colour and flash rate, Acknowledge and
Pause audio (with its countdown) reach the engine and the alarm log, tones by priority, therapy-room mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from alarm_ui_double import AlarmStationDouble, SilentPlayer
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QFontMetrics
from screen_fit import SCREENS, fits, grab
from ui_station_double import reading

from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.ui.live import alarm_bar
from kapmonitor.ui.live.alarm_bar import ALARM_COLOURS, FLASH_HALF_MS, countdown
from kapmonitor.ui.main_window import MainWindow
from kapmonitor.ui.theme import DARK, LIGHT
from kapmonitor.ui.widgets.tones import (
    PATTERNS,
    RATE_HZ,
    Backend,
    TonePlayer,
    ToneSchedule,
    burst,
    find_backend,
    tone_files,
)

NOW_US = 1_763_760_000_000_000
S = 1_000_000


@pytest.fixture(autouse=True)
def _tone_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAPMONITOR_CACHE_DIR", str(tmp_path / "cache"))


class Bed:
    def __init__(self, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, player: SilentPlayer) -> None:  # noqa: ANN001
        monkeypatch.setattr(alarm_bar, "TonePlayer", lambda: player)
        monkeypatch.setattr("kapmonitor.ui.live.alarm_view.getpass.getuser", lambda: "RN Diaz")
        self.clock = [NOW_US]
        self.station = AlarmStationDouble()
        store = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
        self.window = MainWindow(self.station, clock=lambda: self.clock[0], store=store)
        qtbot.addWidget(self.window)
        self.window.plot_timer.stop()
        self.window.status_timer.stop()
        self.panel = self.window.alarm_panel
        assert self.panel is not None
        self.bar = self.panel.bar
        self.bar.refresh_timer.stop()  # the tests refresh by hand

    def spo2(self, *values_at: tuple[float, int]) -> None:
        self.station.publish([reading("spo2", v, NOW_US + t * S) for v, t in values_at])
        self.clock[0] = NOW_US + values_at[-1][1] * S
        self.bar.refresh()


@pytest.fixture
def bed(qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bed:  # noqa: ANN001
    return Bed(qtbot, tmp_path, monkeypatch, SilentPlayer())


def test_no_alarm_shows_a_quiet_bar(bed: Bed) -> None:
    bed.bar.refresh()
    assert bed.bar.message_label.text() == "No alarms"
    assert bed.bar.background == DARK.panel
    assert not bed.bar.flash_timer.isActive()
    assert bed.window.spo2_tile.alarm_colour is None


def test_a_desaturation_turns_bar_and_spo2_tile_red_and_flashes_at_2_hz(bed: Bed) -> None:
    bed.spo2((80, 0), (79, 11))
    red = ALARM_COLOURS["high"][0]
    assert bed.bar.top is not None and bed.bar.top.alarm == "spo2_desat"
    assert "below 85" in bed.bar.message_label.text()
    assert bed.bar.others_label.text() == "+1 more"  # SpO2 low (medium) is on too
    assert bed.bar.background == red
    assert bed.bar.flash_timer.isActive() and bed.bar.flash_timer.interval() == FLASH_HALF_MS["high"] == 250
    bed.bar.flash_timer.timeout.emit()
    assert bed.bar.background == DARK.panel  # the off half of the flash
    assert bed.window.spo2_tile.alarm_colour == red
    assert bed.window.pulse_tile.alarm_colour is None
    assert bed.bar.player.played == [("high", False)]


def test_a_medium_alarm_is_yellow_and_flashes_slowly_and_the_light_theme_keeps_the_colour(bed: Bed) -> None:
    bed.spo2((88, 0), (88, 11))
    yellow = ALARM_COLOURS["medium"][0]
    assert bed.bar.top is not None and bed.bar.top.priority == "medium"
    assert bed.bar.flash_timer.interval() == FLASH_HALF_MS["medium"] == 833  # 0.6 Hz
    assert bed.window.spo2_tile.alarm_colour == yellow
    bed.window.set_theme(LIGHT)
    bed.panel.refresh()
    assert bed.bar.background == yellow
    assert bed.window.spo2_tile.alarm_background != DARK.panel


def test_a_low_alarm_is_cyan_and_steady(bed: Bed) -> None:
    bed.station.publish([reading("nibp_systolic", None, NOW_US, device="suntech-advantage@sim")])
    bed.bar.refresh()
    assert bed.bar.top is not None and bed.bar.top.alarm == "nibp_failed"
    assert bed.bar.background == ALARM_COLOURS["low"][0]
    assert not bed.bar.flash_timer.isActive()


def test_acknowledge_silences_stops_the_flashing_and_is_logged_with_who(bed: Bed) -> None:
    bed.spo2((80, 0), (79, 11))
    bed.bar.acknowledge_button.click()
    assert {s.state for s in bed.station.alarm_engine.active()} == {"acknowledged"}
    assert not bed.bar.flash_timer.isActive() and bed.bar.flash_on
    assert not bed.bar.acknowledge_button.isEnabled()
    bed.station.deliver_alarms()
    bed.panel.refresh()
    rows = bed.panel.log_view.rows()
    assert rows[0][1:] == ("medium", "acknowledged", "SpO\u2082 80 % below 90", "RN Diaz")
    assert ("high", "acknowledged", "SpO\u2082 80 % below 85 (desaturation)", "RN Diaz") in [r[1:] for r in rows]
    assert ("high", "raised", "SpO\u2082 80 % below 85 (desaturation)", "") in [r[1:] for r in rows]


def test_pause_audio_counts_down_from_2_minutes_is_logged_and_ends(bed: Bed) -> None:
    bed.spo2((88, 0), (88, 11))
    assert bed.bar.pause_button.text() == "Pause audio 2:00"
    played = len(bed.bar.player.played)
    bed.bar.pause_button.click()
    assert bed.bar.pause_button.text() == "Audio paused 2:00" and not bed.bar.pause_button.isEnabled()
    bed.clock[0] += 43 * S
    bed.bar.refresh()
    assert bed.bar.pause_button.text() == "Audio paused 1:17"
    assert len(bed.bar.player.played) == played  # silent while paused
    bed.station.deliver_alarms()
    bed.panel.refresh()
    assert ("low", "audio paused", "audio paused for 120 s", "RN Diaz") in [r[1:] for r in bed.panel.log_view.rows()]
    bed.clock[0] += 80 * S
    bed.station.alarm_engine.tick(bed.clock[0])
    bed.bar.refresh()
    assert bed.bar.pause_button.text() == "Pause audio 2:00" and bed.bar.pause_button.isEnabled()
    assert len(bed.bar.player.played) == played + 1  # the alarm sounds again


def test_therapy_room_mode_dims_softens_medium_but_not_high(bed: Bed) -> None:
    bed.panel.therapy_action.trigger()
    assert bed.panel.therapy_room and not bed.panel.overlay.isHidden()
    bed.spo2((88, 0), (88, 11))
    assert bed.bar.player.played[-1] == ("medium", True)
    bed.spo2((80, 12), (79, 23))
    assert bed.bar.player.played[-1] == ("high", False)
    assert bed.window.store.value("view/therapy_room") == "true"
    bed.panel.therapy_action.trigger()
    assert bed.panel.overlay.isHidden()


def test_without_any_sound_output_a_technical_alarm_says_why_and_what_to_do_once(
    qtbot, tmp_path, monkeypatch  # noqa: ANN001
) -> None:
    logged: list[AlarmEvent] = []
    bed = Bed(qtbot, tmp_path, monkeypatch, SilentPlayer(available=False))
    bed.station.subscribe_alarms(logged.extend)
    bed.window.show()
    bed.bar.refresh()
    bed.station.deliver_alarms()
    label = bed.bar.message_label
    # One calm line on the bar, a low-priority technical alarm in its steady cyan; cause and remedy in its tooltip.
    assert label.text() == "No alarm sound on this computer"
    assert bed.bar.top is not None and (bed.bar.top.priority, bed.bar.top.kind) == ("low", "technical")
    assert bed.bar.background == ALARM_COLOURS["low"][0] and not bed.bar.flash_timer.isActive()
    assert label.toolTip().startswith("No alarm sound: no sound output")  # what is wrong and why
    assert "Alarms show on screen only" in label.toolTip() and "pw-play" in label.toolTip()  # and what to do
    for size in SCREENS:
        assert fits(bed.window, size) == []
        lines = label.heightForWidth(label.contentsRect().width()) / QFontMetrics(label.font()).lineSpacing()
        assert round(lines) == 1, f"{lines:.1f} lines at {size}"
        grab(bed.window, tmp_path / f"no-sound-{size[0]}x{size[1]}.png")
    # The alarm log keeps the whole message: cause and remedy.
    [active] = logged
    assert (active.alarm, active.kind, active.state) == ("no_alarm_sound", "technical", "active")
    assert active.message.startswith("No alarm sound: no sound output") and "restart kapmonitor" in active.message
    qtbot.mouseClick(bed.bar.acknowledge_button, Qt.MouseButton.LeftButton)
    bed.station.deliver_alarms()
    assert label.text() == "No alarms" and label.toolTip() == ""  # seen, and gone from the bar
    assert [(e.alarm, e.state, e.user) for e in logged[1:]] == [("no_alarm_sound", "cleared", "RN Diaz")]
    bed.spo2((80, 0), (79, 11))  # a real alarm later: shown as ever, and the missing sound is not repeated
    assert bed.bar.top is not None and bed.bar.top.alarm == "spo2_desat"
    assert label.font().pixelSize() == 34 and "below 85" in label.text()
    assert all(s.alarm != "no_alarm_sound" for s in bed.bar.states)
    assert "No alarm sound" in bed.bar.pause_button.toolTip()


def pulse_count(samples: np.ndarray) -> int:
    """Pulses: sound rising after at least 50 ms of quiet (a tone's own zero crossings are far shorter)."""
    count, quiet = 0, RATE_HZ
    for loud in np.abs(samples.astype(int)) > 1000:
        if loud:
            count += quiet > 0.05 * RATE_HZ
            quiet = 0
        else:
            quiet += 1
    return count


def test_tones_are_iec_like_bursts_written_once_as_wav(tmp_path: Path) -> None:
    files = tone_files(tmp_path)
    assert {p.name for p in files.values()} == {
        f"alarm-{p}{s}-v1.wav" for p in ("high", "medium", "low") for s in ("", "-soft")
    }
    for priority, starts in PATTERNS.items():
        samples = burst(priority)
        assert pulse_count(samples) == len(starts), priority
        assert len(samples) / RATE_HZ < 4.0
    assert len(PATTERNS["high"]) == 10 and len(PATTERNS["medium"]) == 3 and len(PATTERNS["low"]) == 1
    assert abs(burst("medium", 0.3)).max() < abs(burst("medium")).max() * 0.35
    mtime = files[("high", False)].stat().st_mtime_ns
    assert tone_files(tmp_path)[("high", False)].stat().st_mtime_ns == mtime  # not rewritten


def test_a_player_command_is_the_fallback_and_none_means_unavailable() -> None:
    assert find_backend(lambda name: "/usr/bin/paplay" if name == "paplay" else None).name in (
        "Qt Multimedia",
        "paplay",
    )
    nothing = TonePlayer(Backend(""))
    assert not nothing.available and not nothing.play("high")
    assert "no sound output" in (nothing.problem or "")


def test_the_tone_schedule_repeats_by_priority_and_rises_at_once() -> None:
    schedule = ToneSchedule()
    assert schedule.due("medium", 0.0) == "medium"
    assert schedule.due("medium", 5.0) is None
    assert schedule.due("high", 6.0) == "high"  # a higher alarm sounds at once
    assert schedule.due("high", 13.0) is None and schedule.due("high", 14.0) == "high"
    assert schedule.due(None, 15.0) is None and schedule.due("low", 16.0) == "low"
    assert countdown(120) == "2:00" and countdown(76.2) == "1:17" and countdown(0) == "0:00"


def test_closing_the_window_stops_the_bar(bed: Bed) -> None:
    bed.spo2((80, 0), (79, 11))
    bed.bar.refresh_timer.start()
    bed.window.close()
    assert not bed.bar.refresh_timer.isActive() and not bed.bar.flash_timer.isActive()


def test_the_logged_in_user_acknowledges_not_the_computer_account(bed: Bed) -> None:
    from kapmonitor.core.access import User

    bed.window.set_user(User("rn.okafor", frozenset({"nurse"})))
    bed.spo2((80, 0), (79, 11))
    bed.bar.acknowledge_button.click()
    bed.station.deliver_alarms()
    bed.panel.refresh()
    assert {r[4] for r in bed.panel.log_view.rows() if r[2] == "acknowledged"} == {"rn.okafor"}
