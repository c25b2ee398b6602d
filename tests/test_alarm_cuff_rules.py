"""Two rules for blood-pressure cuffs: the pulse rate a cuff sends with each measurement every few minutes is
not "no data", and the SunTech module's "measurement_failed" raises the NIBP-failed technical alarm."""

from __future__ import annotations

from kapmonitor.alarms import AlarmEngine
from kapmonitor.alarms.profile_file import builtin_profile
from kapmonitor.core.readings import LinkEvent, Reading

S = 1_000_000
T0 = 1_760_000_000 * S
OX = "nonin-df7@/dev/ttyUSB0"
CUFF = "suntech-advantage@/dev/ttyUSB1"


def measurement(t: float, systolic: int, pulse: int) -> list[Reading]:
    at = T0 + round(t * S)
    return [
        Reading("nibp_systolic", systolic, "mmHg", t_us=at, device=CUFF),
        Reading("nibp_diastolic", 80, "mmHg", t_us=at, device=CUFF),
        Reading("nibp_mean", 95, "mmHg", t_us=at, device=CUFF),
        Reading("pulse_rate", pulse, "bpm", t_us=at, device=CUFF),
    ]


def test_a_cuffs_pulse_every_5_minutes_is_not_no_data_but_an_oximeters_silence_is() -> None:
    engine = AlarmEngine(builtin_profile("kap-clinic"))
    events = engine.process(measurement(0, 125, 72) + [Reading("pulse_rate", 70, "bpm", t_us=T0, device=OX)])
    events += engine.process(measurement(300, 128, 74))
    events += engine.tick(T0 + 600 * S)
    assert [(e.alarm, e.device, (e.t_us - T0) / S) for e in events] == [("no_data", OX, 30.0)]


def test_a_cuff_first_seen_by_its_pulse_rate_stops_being_watched_at_its_first_pressure() -> None:
    engine = AlarmEngine(builtin_profile("kap-clinic"))
    pulse_first = [measurement(0, 125, 72)[3], *measurement(0, 125, 72)[:3]]
    assert engine.process(pulse_first) == []
    assert engine.tick(T0 + 400 * S) == []


def test_the_suntech_measurement_failed_event_raises_nibp_failed_until_a_good_measurement() -> None:
    engine = AlarmEngine(builtin_profile("kap-clinic"))
    failed = engine.process([LinkEvent("measurement_failed", "cuff leak", T0, CUFF)])
    assert [(e.alarm, e.priority, e.state) for e in failed] == [("nibp_failed", "low", "active")]
    assert "cuff leak" in failed[0].message
    cleared = engine.process(measurement(300, 125, 72))
    assert [(e.alarm, e.state) for e in cleared] == [("nibp_failed", "cleared")]
