"""The alarm engine, one scenario per rule: readings in (with their times), alarm events out."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kapmonitor.alarms.engine import UNTRUSTED_FLAGS, AlarmEngine
from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.alarms.profile_file import builtin_profile
from kapmonitor.core.metrics import unit_of
from kapmonitor.core.readings import DecodeError, LinkEvent, Reading, WaveChunk

S = 1_000_000
T0 = 1_760_000_000 * S  # the session's first second; scenario times below are seconds after it
OX = "nonin-df7@/dev/ttyUSB0"
CUFF = "suntech-advantage@/dev/ttyUSB1"


def reading(t: float, metric: str, value: float | None, *flags: str, device: str = OX) -> Reading:
    return Reading(metric, value, unit_of(metric), frozenset(flags), t_us=T0 + round(t * S), device=device)


def spo2(start: float, values: Iterable[float | None], *flags: str) -> list[Reading]:
    """One SpO2 reading a second from ``start``, as an oximeter sends them."""
    return [reading(start + i, "spo2", v, *flags) for i, v in enumerate(values)]


def link(t: float, kind: str, device: str = OX, detail: str = "") -> LinkEvent:
    return LinkEvent(kind, detail, t_us=T0 + round(t * S), device=device)


def seen(events: Iterable[AlarmEvent]) -> list[tuple[float, str, str, str]]:
    """Events as (seconds into the session, alarm, priority, state)."""
    return [(round((e.t_us - T0) / S, 3), e.alarm, e.priority, e.state) for e in events]


@pytest.fixture
def adult() -> AlarmEngine:
    return AlarmEngine(builtin_profile("adult"))


@pytest.fixture
def clinic() -> AlarmEngine:
    return AlarmEngine(builtin_profile("kap-clinic"))


def test_a_five_second_dip_under_a_ten_second_delay_raises_nothing(adult: AlarmEngine) -> None:
    events = adult.process(spo2(0, [97] * 60 + [88] * 5 + [97] * 30))
    assert events == []


def test_a_dip_that_outlasts_the_delay_alarms_and_the_recovering_value_clears_it(adult: AlarmEngine) -> None:
    events = adult.process(spo2(0, [97] * 65 + [88] * 20 + [96] * 10))
    assert seen(events) == [(75.0, "spo2_low", "medium", "active"), (85.0, "spo2_low", "medium", "cleared")]
    assert events[0].value == 88 and events[0].limit == 90 and events[0].message == "SpO\u2082 88 % below 90"
    assert events[1].value == 96 and events[1].message == "SpO\u2082 back to 96 %"
    assert events[0].to_json(T0) == {
        "t": 75.0,
        "alarm": "spo2_low",
        "priority": "medium",
        "state": "active",
        "kind": "physiological",
        "device": OX,
        "metric": "spo2",
        "value": 88,
        "limit": 90.0,
        "message": "SpO\u2082 88 % below 90",
    }
    assert adult.active() == []


def test_a_delay_runs_out_on_a_tick_when_no_further_reading_comes(adult: AlarmEngine) -> None:
    assert adult.process(spo2(0, [97, 88])) == []
    assert adult.tick(T0 + 10 * S) == []
    assert seen(adult.tick(T0 + 12 * S)) == [(11.0, "spo2_low", "medium", "active")]


def test_a_desaturation_is_a_high_priority_alarm_of_its_own(adult: AlarmEngine) -> None:
    events = adult.process(spo2(0, [97] * 10 + [82] * 15))
    assert seen(events) == [(20.0, "spo2_desat", "high", "active"), (20.0, "spo2_low", "medium", "active")]
    assert events[0].message == "SpO\u2082 82 % below 85 (desaturation)"
    assert [a.alarm for a in adult.active()] == ["spo2_desat", "spo2_low"]  # highest priority first


def test_a_latching_high_alarm_stays_shown_until_acknowledged(clinic: AlarmEngine) -> None:
    events = clinic.process(spo2(0, [97] * 10 + [82] * 12 + [97] * 5))
    assert seen(events) == [
        (20.0, "spo2_desat", "high", "active"),
        (20.0, "spo2_low", "medium", "active"),
        (22.0, "spo2_low", "medium", "cleared"),
        (22.0, "spo2_desat", "high", "latched"),  # the clinic latches high-priority alarms
    ]
    (shown,) = clinic.active()
    assert (shown.alarm, shown.state, shown.audible, shown.value) == ("spo2_desat", "latched", True, 82)
    acked = clinic.acknowledge(shown.alarm_id, "RN Okafor", T0 + 30 * S)
    assert seen(acked) == [(30.0, "spo2_desat", "high", "cleared")]
    assert acked[0].user == "RN Okafor"
    assert clinic.active() == []


def test_acknowledging_a_present_alarm_silences_it_until_it_clears(adult: AlarmEngine) -> None:
    adult.process(spo2(0, [97] * 5 + [88] * 12))
    (shown,) = adult.active()
    acked = adult.acknowledge(shown.alarm_id, "RN Okafor")
    assert seen(acked) == [(16.0, "spo2_low", "medium", "acknowledged")]
    assert adult.active()[0].state == "acknowledged" and not adult.active()[0].audible
    assert adult.acknowledge(shown.alarm_id, "RN Okafor") == []  # twice is once
    assert seen(adult.process(spo2(17, [95]))) == [(17.0, "spo2_low", "medium", "cleared")]
    with pytest.raises(ValueError, match="name of the person"):
        adult.acknowledge(shown.alarm_id, "")


def test_an_audio_pause_silences_for_two_minutes_then_sounds_again(adult: AlarmEngine) -> None:
    adult.process(spo2(0, [88] * 11))
    paused = adult.pause_audio(T0 + 20 * S, user="RN Okafor")
    assert seen(paused) == [(20.0, "audio_paused", "low", "paused"), (20.0, "spo2_low", "medium", "paused")]
    assert all(e.user == "RN Okafor" for e in paused)
    assert paused[0].message == "audio paused for 120 s"
    assert adult.pause_remaining_s(T0 + 50 * S) == 90.0
    assert [(a.state, a.audible) for a in adult.active()] == [("paused", False)]
    assert adult.process(spo2(11, [88] * 129)) == []  # the dip goes on, silently, until 139 s
    assert seen(adult.process(spo2(140, [88] * 5))) == [
        (140.0, "audio_paused", "low", "cleared"),
        (140.0, "spo2_low", "medium", "active"),
    ]
    assert adult.pause_remaining_s(T0 + 145 * S) == 0.0
    assert [(a.state, a.audible) for a in adult.active()] == [("active", True)]


def test_no_valid_data_for_the_set_age_is_a_technical_alarm(adult: AlarmEngine) -> None:
    assert adult.process(spo2(0, [97] * 10)) == []  # last value at 9 s; adult no-data age is 30 s
    assert adult.tick(T0 + 38 * S) == []
    events = adult.tick(T0 + 40 * S)
    assert seen(events) == [(39.0, "no_data", "medium", "active")]
    assert (events[0].kind, events[0].device) == ("technical", OX)
    assert seen(adult.process(spo2(45, [97]))) == [(45.0, "no_data", "medium", "cleared")]


def test_none_values_count_as_no_data(adult: AlarmEngine) -> None:
    events = adult.process(spo2(0, [97]) + spo2(1, [None] * 40))
    assert seen(events) == [(30.0, "no_data", "medium", "active")]


@pytest.mark.parametrize("kind", ["reconnecting", "disconnected", "gap", "stale"])
def test_a_lost_link_is_a_device_disconnected_alarm(adult: AlarmEngine, kind: str) -> None:
    events = adult.process([*spo2(0, [97] * 5), link(5, kind, detail="no bytes for 3 s")])
    assert seen(events) == [(5.0, "device_disconnected", "medium", "active")]
    assert events[0].message == f"{OX}: {kind} (no bytes for 3 s)"
    assert seen(adult.process([link(8, "connected")])) == [(8.0, "device_disconnected", "medium", "cleared")]


def test_a_disconnected_device_does_not_also_raise_no_data(adult: AlarmEngine) -> None:
    adult.process([*spo2(0, [97] * 5), link(5, "disconnected")])
    assert adult.tick(T0 + 100 * S) == []
    assert seen(adult.process(spo2(101, [97]))) == [(101.0, "device_disconnected", "medium", "cleared")]


def test_after_a_reconnect_the_data_age_counts_from_the_reconnect(adult: AlarmEngine) -> None:
    adult.process([*spo2(0, [97] * 5), link(5, "disconnected"), link(100, "connected")])
    assert adult.tick(T0 + 129 * S) == []  # searching for a pulse after the reconnect is not yet "no data"
    assert seen(adult.tick(T0 + 131 * S)) == [(130.0, "no_data", "medium", "active")]


def test_a_sensor_put_back_on_gets_the_full_data_age_to_find_a_pulse(adult: AlarmEngine) -> None:
    events = adult.process(
        spo2(0, [97] * 5) + spo2(5, [None] * 60, "sensor_off") + spo2(65, [None] * 20, "searching")
    )
    assert seen(events) == [
        (5.0, "sensor_off", "medium", "active"),
        (65.0, "sensor_off", "medium", "cleared"),
    ]
    assert seen(adult.tick(T0 + 96 * S)) == [(95.0, "no_data", "medium", "active")]


def test_old_records_a_cuff_replays_from_its_memory_raise_nothing(adult: AlarmEngine) -> None:
    stored = [
        reading(0, "nibp_systolic", 190, "stored", device=CUFF),
        reading(0, "nibp_mean", None, "stored", device=CUFF),
    ]
    assert adult.process(stored) == []


def test_sensor_off_replaces_the_spo2_low_alarm_with_the_technical_one(adult: AlarmEngine) -> None:
    # A finger pulled out: DF7 reports sensor off and SpO2 0 (or no value); that is not a desaturation.
    events = adult.process(
        spo2(0, [97] * 5) + spo2(5, [0] * 20, "sensor_off") + spo2(25, [None] * 20, "sensor_off")
    )
    assert seen(events) == [(5.0, "sensor_off", "medium", "active")]
    assert seen(adult.process(spo2(60, [96]))) == [(60.0, "sensor_off", "medium", "cleared")]


def test_sensor_off_takes_over_from_a_spo2_low_alarm_already_shown(adult: AlarmEngine) -> None:
    events = adult.process(spo2(0, [88] * 12) + spo2(12, [None], "sensor_off"))
    assert seen(events) == [
        (10.0, "spo2_low", "medium", "active"),
        (12.0, "sensor_off", "medium", "active"),
        (12.0, "spo2_low", "medium", "cleared"),
    ]


def test_a_new_blood_pressure_above_the_limit_alarms_at_once(clinic: AlarmEngine) -> None:
    bp_175 = [
        reading(600, "nibp_systolic", 175, device=CUFF),
        reading(600, "nibp_diastolic", 100, device=CUFF),
    ]
    assert clinic.process(bp_175) == []  # the KAP clinic holds systolic at 180
    surge = [
        reading(900, "nibp_systolic", 186, device=CUFF),
        reading(900, "nibp_diastolic", 112, device=CUFF),
    ]
    events = clinic.process(surge)
    assert seen(events) == [
        (900.0, "nibp_systolic_high", "medium", "active"),
        (900.0, "nibp_diastolic_high", "medium", "active"),
    ]
    assert events[0].message == "Systolic 186 mmHg above 180"
    # A spot measurement holds until the next one: no readings in between, no change.
    assert clinic.tick(T0 + 1_400 * S) == []
    calm = [
        reading(1_500, "nibp_systolic", 150, device=CUFF),
        reading(1_500, "nibp_diastolic", 95, device=CUFF),
    ]
    assert [e.state for e in clinic.process(calm)] == ["cleared", "cleared"]


def test_the_adult_profile_alarms_on_175_systolic(adult: AlarmEngine) -> None:
    events = adult.process([reading(600, "nibp_systolic", 175, device=CUFF)])
    assert seen(events) == [(600.0, "nibp_systolic_high", "medium", "active")]


def test_a_failed_blood_pressure_measurement_is_a_technical_alarm(adult: AlarmEngine) -> None:
    failed = [reading(600, m, None, "cuff_loose", device=CUFF) for m in ("nibp_systolic", "nibp_diastolic")]
    events = adult.process(failed)
    assert seen(events) == [(600.0, "nibp_failed", "low", "active")]
    assert events[0].message == f"{CUFF}: blood pressure measurement failed (cuff_loose)"
    ok = adult.process([reading(660, "nibp_systolic", 128, device=CUFF)])
    assert seen(ok) == [(660.0, "nibp_failed", "low", "cleared")]
    module_error = adult.process([link(700, "nibp_failed", device=CUFF, detail="cuff leak")])
    assert seen(module_error) == [(700.0, "nibp_failed", "low", "active")]


def test_readings_without_a_value_never_raise_a_physiological_alarm(adult: AlarmEngine) -> None:
    items = [reading(t, m, None) for t in range(0, 25) for m in ("spo2", "pulse_rate")]
    items += [reading(30, m, None, device=CUFF) for m in ("nibp_systolic", "nibp_mean")]
    assert all(e.kind == "technical" for e in adult.process(items))


def test_values_the_device_marks_unreliable_do_not_alarm(adult: AlarmEngine) -> None:
    assert adult.process(spo2(0, [70] * 20, "searching") + spo2(20, [70] * 20, "stored")) == []


def test_a_value_without_a_number_interrupts_a_pending_breach(adult: AlarmEngine) -> None:
    events = adult.process(spo2(0, [88] * 6 + [None] + [88] * 6))  # 6 s, a gap, 6 s: never 10 s in a row
    assert events == []


def test_a_low_battery_flag_is_a_low_priority_technical_alarm(adult: AlarmEngine) -> None:
    events = adult.process(spo2(0, [97] * 3) + spo2(3, [97] * 3, "low_battery") + spo2(6, [97]))
    assert seen(events) == [(3.0, "low_battery", "low", "active"), (6.0, "low_battery", "low", "cleared")]


def test_a_failed_recording_is_an_alarm_until_it_resumes(adult: AlarmEngine) -> None:
    events = adult.process([link(50, "recording_failed", device="recorder", detail="disk full")])
    assert seen(events) == [(50.0, "recording_failed", "high", "active")]
    assert events[0].message == "recording failed (disk full)"
    assert seen(adult.process([link(80, "recording_resumed", device="recorder")])) == [
        (80.0, "recording_failed", "high", "cleared")
    ]


def test_the_engine_is_a_hub_sink_whose_events_wait_to_be_drained(adult: AlarmEngine) -> None:
    adult.write(spo2(0, [88] * 11))
    adult.write([DecodeError("checksum", 125, t_us=T0 + 11 * S, device=OX)])
    adult.write([WaveChunk("pleth", 75, (1, 2, 3), t_us=T0 + 12 * S, device=OX)])
    assert seen(adult.drain_events()) == [(10.0, "spo2_low", "medium", "active")]
    assert adult.drain_events() == []
    assert adult.decode_errors[OX] == 1


def test_a_limit_changed_during_the_session_applies_at_once_and_is_recorded(adult: AlarmEngine) -> None:
    adult.process([reading(600, "nibp_systolic", 150, device=CUFF)])
    events = adult.override_limit("nibp_systolic", user="Dr Lee", now_us=T0 + 700 * S, high=140)
    assert seen(events) == [(700.0, "nibp_systolic_high", "medium", "active")]
    (record,) = adult.profile.overrides
    assert (record.user, record.t_us, record.after.high) == ("Dr Lee", T0 + 700 * S, 140)


def test_switching_a_limit_off_clears_its_alarm(adult: AlarmEngine) -> None:
    adult.process([reading(600, "pulse_rate", 130)])
    adult.process([reading(600 + i, "pulse_rate", 130) for i in range(1, 11)])
    assert [a.alarm for a in adult.active()] == ["pulse_rate_high"]
    events = adult.override_limit("pulse_rate", user="Dr Lee", high=None, reason="known tachycardia")
    assert seen(events) == [(610.0, "pulse_rate_high", "medium", "cleared")]


def test_a_baseline_set_by_a_nurse_moves_the_blood_pressure_limits(clinic: AlarmEngine) -> None:
    clinic.process([reading(0, "nibp_systolic", 110, device=CUFF)])
    events = clinic.set_baseline({"nibp_systolic": 110}, user="RN Okafor")  # high = 110 x 0.86 + 38 = 133
    assert events == []
    surge = clinic.process([reading(900, "nibp_systolic", 140, device=CUFF)])
    assert seen(surge) == [(900.0, "nibp_systolic_high", "medium", "active")]
    assert surge[0].limit == 133


def test_a_person_acts_at_the_clock_time_when_the_engine_has_one() -> None:
    engine = AlarmEngine(builtin_profile("adult"), clock=lambda: T0 + 20 * S)
    engine.process(spo2(0, [88] * 11))
    (shown,) = engine.active()
    assert seen(engine.acknowledge(shown.alarm_id, "RN Okafor")) == [
        (20.0, "spo2_low", "medium", "acknowledged")
    ]
    assert engine.pause_remaining_s() == 0.0
    engine.pause_audio(seconds=60, user="RN Okafor")
    assert engine.pause_remaining_s() == 60.0


def test_baseline_limits_can_come_from_the_first_measurement() -> None:
    engine = AlarmEngine(dataclasses.replace(builtin_profile("adult"), baseline_auto=True))
    assert engine.process([reading(0, "nibp_systolic", 150, device=CUFF)]) == []  # high becomes 167
    assert engine.process([reading(600, "nibp_systolic", 165, device=CUFF)]) == []
    events = engine.process([reading(1_200, "nibp_systolic", 170, device=CUFF)])
    assert seen(events) == [(1_200.0, "nibp_systolic_high", "medium", "active")]
    assert engine.profile.overrides[0].reason == "baseline 150"


def test_a_replay_runs_on_item_time_not_wall_time(adult: AlarmEngine) -> None:
    # Three hours of one-second readings go through in well under a second of wall time; the alarm is at 2 h.
    values = [97.0] * 7_200 + [88.0] * 12 + [97.0] * 3_600
    events = adult.process(spo2(0, values))
    assert seen(events) == [
        (7_210.0, "spo2_low", "medium", "active"),
        (7_212.0, "spo2_low", "medium", "cleared"),
    ]


# ---- properties -------------------------------------------------------------------------------------------

METRICS = ("spo2", "pulse_rate", "nibp_systolic", "nibp_diastolic")
values = st.one_of(st.none(), st.floats(min_value=-50, max_value=400, allow_nan=False))
flags = st.frozensets(
    st.sampled_from(["sensor_off", "low_battery", "searching", "artifact", "stored"]), max_size=2
)
steps = st.lists(
    st.tuples(
        st.integers(0, 20_000_000), st.sampled_from(METRICS), values, flags, st.sampled_from([OX, CUFF])
    ),
    max_size=120,
)


def _readings(raw: list[tuple[int, str, float | None, frozenset[str], str]]) -> list[Reading]:
    t, out = T0, list[Reading]()
    for dt, metric, value, fl, device in raw:
        t += dt
        out.append(Reading(metric, value, unit_of(metric), fl, t_us=t, device=device))
    return out


@settings(max_examples=150, deadline=None)
@given(steps, st.sampled_from(["adult", "kap-clinic"]))
def test_any_readings_never_raise_and_alarms_come_only_from_real_values(raw: list, name: str) -> None:
    engine = AlarmEngine(builtin_profile(name))
    items = _readings(raw)
    events = engine.process(items) + engine.tick(T0 + 10**10)
    trusted = {
        (r.device, r.metric, r.value) for r in items if r.value is not None and not r.flags & UNTRUSTED_FLAGS
    }
    for event in events:
        if event.kind == "physiological" and event.state == "active":
            assert (event.device, event.metric, event.value) in trusted
    assert [e.t_us for e in events] == sorted(e.t_us for e in events)


@settings(max_examples=60, deadline=None)
@given(steps)
def test_readings_that_are_all_none_never_give_a_physiological_alarm(raw: list) -> None:
    engine = AlarmEngine(builtin_profile("adult"))
    items = _readings([(dt, m, None, fl, d) for dt, m, _v, fl, d in raw])
    events = engine.process(items) + engine.tick(T0 + 10**10)
    assert not [e for e in events if e.kind == "physiological"]
