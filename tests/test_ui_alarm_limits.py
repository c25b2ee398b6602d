"""The alarm-limits screen on a real station: a nurse lowers the NIBP systolic high limit from 180 to 170 with a
reason, the engine alarms at 175, the change is listed with who and why and audited with before and after; a
user without the permission sees the limits read-only; a wrong value changes nothing; a profile switch is
audited. `make screenshots` writes docs/screenshots/alarm-limits.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from kapmonitor.bed.station import Station
from kapmonitor.core.access import User
from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import Reading
from kapmonitor.ui.live.alarm_limits import OFF, AlarmLimitsDialog
from kapmonitor.ui.theme import DARK

CUFF = "suntech-ct40@bed-1"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
NURSE = User("nina", frozenset({"nurse"}))


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    station = Station(f"sqlite:///{tmp_path / 'limits.sqlite'}", record=False)
    yield station
    station.stop()


def open_dialog(qtbot, station: Station, user: User | None = NURSE) -> AlarmLimitsDialog:  # noqa: ANN001
    dialog = AlarmLimitsDialog(station, user, theme=DARK)
    qtbot.addWidget(dialog)
    return dialog


def test_lowering_the_systolic_high_limit_alarms_at_175_and_is_listed_and_audited(qtbot, station) -> None:  # noqa: ANN001
    dialog = open_dialog(qtbot, station)
    row = dialog.rows["nibp_systolic"]
    assert row.threshold("high") == 180  # the KAP clinic default
    row.thresholds["high"].setValue(170)
    dialog.reason.setText("baseline 150/95, per Dr Lee")
    assert dialog.apply(), dialog.message.text()

    assert station.alarm_engine.profile.limit("nibp_systolic").high == 170
    events = station.alarm_engine.process([Reading("nibp_systolic", 175.0, "mmHg", t_us=now_us(), device=CUFF)])
    assert [(e.alarm, e.state) for e in events] == [("nibp_systolic_high", "active")]

    cells = [dialog.overrides.item(0, c).text() for c in range(dialog.overrides.columnCount())]
    assert cells[1:] == ["nina", "nibp_systolic", "high 180 \u2192 170", "baseline 150/95, per Dr Lee"]
    [entry] = [e for e in station.audit.entries() if e.action == "alarm.limit_change"]
    assert entry.user == "nina" and entry.subject == "nibp_systolic"
    assert entry.data()["before"]["high"] == 180 and entry.data()["after"]["high"] == 170
    assert entry.data()["reason"] == "baseline 150/95, per Dr Lee"


def test_every_limit_is_listed_with_the_desaturation_limit_on_its_own_row(qtbot, station) -> None:  # noqa: ANN001
    dialog = open_dialog(qtbot, station)
    assert "kap-clinic" in dialog.profile_label.text()
    assert list(dialog.rows) == station.alarm_engine.profile.keys()
    desat = dialog.rows["spo2_desat"]
    assert desat.threshold("low") == 85 and "high" not in desat.thresholds
    assert desat.priorities["low"].currentText() == "high"
    assert dialog.rows["spo2"].thresholds["high"].text() == OFF  # no high SpO2 limit


def test_a_user_without_the_permission_sees_the_limits_read_only(qtbot, station) -> None:  # noqa: ANN001
    admin = User("ada", frozenset({"administrator"}))
    dialog = open_dialog(qtbot, station, admin)
    assert not dialog.rows["nibp_systolic"].thresholds["high"].isEnabled()
    assert not dialog.apply_button.isEnabled() and not dialog.switch_button.isEnabled()
    assert "read-only" in dialog.refusal.text() and "ada" in dialog.refusal.text()
    assert not dialog.apply()  # even called directly
    assert station.alarm_engine.profile.overrides == ()


def test_a_nurse_may_change_limits_but_not_switch_the_profile(qtbot, station) -> None:  # noqa: ANN001
    dialog = open_dialog(qtbot, station)
    assert dialog.apply_button.isEnabled() and not dialog.switch_button.isEnabled()
    assert "technician" in dialog.refusal.text()


def test_a_low_limit_above_the_high_limit_gives_a_message_and_changes_nothing(qtbot, station) -> None:  # noqa: ANN001
    dialog = open_dialog(qtbot, station)
    dialog.rows["pulse_rate"].thresholds["low"].setValue(130)
    dialog.rows["nibp_systolic"].thresholds["high"].setValue(170)  # a good change in the same apply
    dialog.reason.setText("trial")
    assert not dialog.apply()
    assert "low limit (130) must be below the high limit (120)" in dialog.message.text()
    assert station.alarm_engine.profile.overrides == ()
    assert not [e for e in station.audit.entries() if e.action == "alarm.limit_change"]


def test_a_change_without_a_reason_is_refused(qtbot, station) -> None:  # noqa: ANN001
    dialog = open_dialog(qtbot, station)
    dialog.rows["nibp_systolic"].thresholds["high"].setValue(170)
    assert not dialog.apply()
    assert "reason" in dialog.message.text()
    assert station.alarm_engine.profile.limit("nibp_systolic").high == 180


def test_a_limit_switched_off_is_allowed_and_shown_as_off(qtbot, station) -> None:  # noqa: ANN001
    dialog = open_dialog(qtbot, station)
    box = dialog.rows["heart_rate"].thresholds["high"]
    box.setValue(box.minimum())
    dialog.reason.setText("no ECG on this patient")
    assert dialog.apply(), dialog.message.text()
    assert station.alarm_engine.profile.limit("heart_rate").high is None
    assert dialog.rows["heart_rate"].thresholds["high"].text() == OFF
    assert dialog.overrides.item(0, 3).text() == "high 120 \u2192 off"


def test_baseline_relative_limits_follow_the_profile_rules(qtbot, station) -> None:  # noqa: ANN001
    dialog = open_dialog(qtbot, station)
    dialog.baseline_box.setChecked(True)
    dialog.baseline_spins["nibp_systolic"].setValue(150)
    assert dialog.rows["nibp_systolic"].threshold("high") == round(150 * 0.86 + 38)  # 167
    assert not dialog.rows["nibp_systolic"].thresholds["high"].isEnabled()
    dialog.reason.setText("pre-dose baseline")
    assert dialog.apply(), dialog.message.text()
    limit = station.alarm_engine.profile.limit("nibp_systolic")
    assert (limit.low, limit.high) == (round(150 * 0.68 + 10), 167)
    assert station.alarm_engine.profile.overrides[-1].reason.startswith("baseline")


def test_a_technician_switches_to_the_adult_profile_and_it_is_audited(qtbot, station) -> None:  # noqa: ANN001
    dialog = open_dialog(qtbot, station, User("tim", frozenset({"technician"})))
    dialog.profile_choice.setCurrentText("adult")
    assert dialog.switch_profile(), dialog.message.text()
    assert station.alarm_engine.profile.name == "adult"
    assert dialog.rows["nibp_systolic"].threshold("high") == 160
    [entry] = [e for e in station.audit.entries() if e.action == "alarm.profile_change"]
    assert entry.user == "tim" and entry.data()["before"] == "kap-clinic" and entry.data()["after"] == "adult"


def test_without_logins_the_os_user_is_the_author(qtbot, station, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr("kapmonitor.ui.live.alarm_limits.getpass.getuser", lambda: "bed1")
    dialog = open_dialog(qtbot, station, None)
    dialog.rows["spo2"].thresholds["low"].setValue(88)
    dialog.reason.setText("COPD, usual 89-91")
    assert dialog.apply()
    assert station.alarm_engine.profile.overrides[-1].user == "bed1"


def test_screenshot_of_the_alarm_limits_screen(qtbot, station, tmp_path: Path) -> None:  # noqa: ANN001
    dialog = open_dialog(qtbot, station)
    dialog.rows["nibp_systolic"].thresholds["high"].setValue(170)
    dialog.reason.setText("baseline 150/95, per Dr Lee")
    dialog.apply()
    dialog.resize(1100, 780)  # its size on a screen with room (on a laptop: the screen's, tests/test_ui_dialogs_fit)
    dialog.show()
    qtbot.waitExposed(dialog)
    QApplication.processEvents()
    out = DOCS if os.environ.get("KAPMONITOR_SCREENSHOTS") else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    assert dialog.grab().toImage().save(str(out / "alarm-limits.png"))


def test_the_view_menu_opens_the_screen_for_the_person_logged_in(qtbot, station, tmp_path: Path) -> None:  # noqa: ANN001
    from PySide6.QtCore import QSettings

    from kapmonitor.ui.main_window import MainWindow

    window = MainWindow(station, store=QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.set_user(NURSE)
    action = window.alarm_panel.limits_action
    assert action is not None and action.text() == "Alarm limits\u2026"
    action.trigger()
    dialog = window.alarm_limits_dialog
    assert dialog.author == "nina" and dialog.isVisible()
    dialog.close()
    window.close()
