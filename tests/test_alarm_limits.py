"""Alarm profiles: the shipped files, the checker's messages, per-session overrides and baseline limits."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from kapmonitor.alarms.limits import AlarmLimit, ProfileError
from kapmonitor.alarms.profile_file import available_profiles, builtin_profile, load_profile

T0 = 1_760_000_000_000_000  # some session's start, UTC microseconds


def test_the_adult_profile_holds_the_monitor_defaults() -> None:
    adult = builtin_profile("adult")
    assert adult.limit("spo2") == AlarmLimit(
        "spo2", low=90, low_priority="medium", high_priority="medium", delay_s=10
    )
    assert adult.limit("spo2_desat") == AlarmLimit(
        "spo2", low=85, low_priority="high", delay_s=10, name="spo2_desat"
    )
    assert (
        adult.limit("pulse_rate").low,
        adult.limit("pulse_rate").high,
        adult.limit("pulse_rate").delay_s,
    ) == (
        50,
        120,
        10,
    )
    assert (adult.limit("nibp_systolic").high, adult.limit("nibp_diastolic").high) == (160, 90)
    assert adult.limit("nibp_systolic").delay_s == 0  # a new measurement alarms at once
    assert adult.no_data_s["spo2"] == 30
    assert adult.technical_priority("recording_failed") == "high"
    assert not adult.latch_high


def test_the_kap_clinic_profile_holds_blood_pressure_at_180_over_110() -> None:
    clinic = builtin_profile("kap-clinic")
    assert (clinic.limit("nibp_systolic").high, clinic.limit("nibp_diastolic").high) == (180, 110)
    assert clinic.latch_high
    assert {"adult", "kap-clinic"} <= set(available_profiles())


def test_an_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match=r"no alarm profile named 'child'.*adult"):
        builtin_profile("child")


def test_a_profile_file_with_mistakes_gets_every_mistake_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        """
        name = "bad"
        colour = "red"
        [limits.spo2]
        low = "ninety"
        priority = "urgent"
        [limits.nibp_systolic]
        low = 180
        high = 90
        delay_s = -1
        [limits.blood_glucose]
        high = 38
        [limits.pulse_rate]
        priority = "high"
        [desaturation]
        priority = "high"
        [technical]
        sensor_off = "loud"
        fire = "high"
        [no_data]
        spo2 = 0
        """,
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    message = str(caught.value)
    for expected in (
        "bad.toml",
        "unknown key 'colour'",
        "[limits.spo2] low: must be a number, got 'ninety'",
        "[limits.spo2] priority: must be one of high, medium, low, got 'urgent'",
        "[limits.nibp_systolic]: low (180) must be below high (90)",
        "[limits.nibp_systolic]: delay_s must be between 0 and 600 seconds, got -1.0",
        "unknown metric 'blood_glucose'",
        "[limits.pulse_rate]: needs a low or a high limit",
        "[desaturation]: needs 'below'",
        "[technical] sensor_off: must be one of high, medium, low, got 'loud'",
        "unknown key 'fire'",
        "[no_data] spo2: must be more than 0 seconds",
    ):
        assert expected in message, f"{expected!r} missing from:\n{message}"


def test_unreadable_and_malformed_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read alarm profile"):
        load_profile(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[limits.spo2\nlow = 90\n", encoding="utf-8")
    with pytest.raises(ProfileError, match="is not valid TOML"):
        load_profile(broken)
    empty = tmp_path / "empty.toml"
    empty.write_text('name = "empty"\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="needs at least one limit"):
        load_profile(empty)


def test_a_session_override_records_who_changed_what_and_when() -> None:
    clinic = builtin_profile("kap-clinic")
    changed = clinic.override(
        "nibp_systolic", user="RN Okafor", t_us=T0, reason="hypertensive at baseline", high=190
    )
    assert changed.limit("nibp_systolic").high == 190
    assert clinic.limit("nibp_systolic").high == 180  # the clinic's profile itself is untouched
    (record,) = changed.overrides
    assert (record.user, record.t_us, record.key, record.reason) == (
        "RN Okafor",
        T0,
        "nibp_systolic",
        "hypertensive at baseline",
    )
    assert (record.before.high, record.after.high) == (180, 190)
    again = changed.override("spo2_desat", user="Dr Lee", t_us=T0 + 60_000_000, low=80)
    assert [(o.user, o.key) for o in again.overrides] == [
        ("RN Okafor", "nibp_systolic"),
        ("Dr Lee", "spo2_desat"),
    ]
    assert isinstance(again.overrides, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.user = "someone else"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("key", "changes", "user", "expected"),
    [
        ("nibp_systolic", {"high": 190}, "  ", "name of the person"),
        ("nibp_systolic", {"metric": "spo2"}, "RN", "cannot change metric"),
        ("nibp_systolic", {"low": 200}, "RN", "low (200) must be below high (180)"),
        ("nibp_systolic", {"high_priority": "urgent"}, "RN", "high_priority must be one of"),
        ("nibp_systolic", {"high": "190"}, "RN", "high must be a finite number, got '190'"),
        ("nibp_systolic", {"delay_s": True}, "RN", "delay_s must be between 0 and 600 seconds"),
        ("etco2", {"high": 50}, "RN", "has no limit 'etco2'"),
    ],
)
def test_a_bad_override_is_refused_with_a_reason(key: str, changes: dict, user: str, expected: str) -> None:
    clinic = builtin_profile("kap-clinic")
    with pytest.raises(ProfileError, match=re.escape(expected)):
        clinic.override(key, user=user, t_us=T0, **changes)


def test_baseline_relative_limits_follow_the_patients_own_pressure() -> None:
    adult = builtin_profile("adult")
    relative = adult.with_baseline({"nibp_systolic": 150, "nibp_diastolic": 95}, user="RN Okafor", t_us=T0)
    systolic = relative.limit("nibp_systolic")
    assert (systolic.low, systolic.high) == (round(150 * 0.68 + 10), round(150 * 0.86 + 38))  # 112, 167
    assert relative.limit("nibp_diastolic").high == round(95 * 0.86 + 32)  # 114
    assert [o.reason for o in relative.overrides] == ["baseline 150", "baseline 95"]
    with pytest.raises(ProfileError, match="no baseline rule for 'spo2'"):
        adult.with_baseline({"spo2": 97}, user="RN", t_us=T0)


def test_latching_is_per_limit_or_for_every_high_priority_alarm() -> None:
    adult, clinic = builtin_profile("adult"), builtin_profile("kap-clinic")
    desat, spo2 = clinic.limit("spo2_desat"), clinic.limit("spo2")
    assert clinic.should_latch(desat, "low") and not clinic.should_latch(spo2, "low")
    assert not adult.should_latch(desat, "low")
    latched = adult.override("spo2", user="RN", t_us=T0, latching=True)
    assert latched.should_latch(latched.limit("spo2"), "low")
