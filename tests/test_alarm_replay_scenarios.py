"""Each alarm rule, shown by a scenario file replayed through the real simulators, decoders and alarm engine
(kap-clinic limits: SpO2 low 90 after 10 s, desaturation below 85 high after 10 s and latching, NIBP 180/110
at once, no data after 30 s)."""

from __future__ import annotations

from pathlib import Path

from kapmonitor.alarms import AlarmEngine, AlarmEvent
from kapmonitor.alarms.profile_file import builtin_profile
from kapmonitor.bed.replay import Replay
from kapmonitor.core.readings import Item, Reading
from kapmonitor.devices.simulation.scenario import Scenario

START_US = 1_800_000_000_000_000
OXIMETER = "nonin-df7@replay"
CUFF = "suntech-advantage@replay"


class Run:
    def __init__(self, toml: str, tmp_path: Path, *, silent: tuple[float, float] | None = None) -> None:
        path = tmp_path / "scenario.toml"
        path.write_text(toml)
        self.items: list[Item] = []
        replay = Replay(
            Scenario.load(path),
            AlarmEngine(builtin_profile("kap-clinic")),
            start_us=START_US,
            on_items=self.items.extend,
        )
        if silent is not None:
            _silence(replay, *silent)
        self.events = replay.run()

    def seen(self, alarm: str) -> list[tuple[float, str, str]]:
        return [(s(e.t_us), e.state, e.user) for e in self.events if e.alarm == alarm]

    def first(self, alarm: str, state: str = "active") -> AlarmEvent:
        return next(e for e in self.events if e.alarm == alarm and e.state == state)

    def readings(self, metric: str, device: str = OXIMETER) -> list[Reading]:
        return [i for i in self.items if isinstance(i, Reading) and i.metric == metric and i.device == device]


def s(t_us: int) -> float:
    return (t_us - START_US) / 1e6


def _silence(replay: Replay, start_s: float, end_s: float) -> None:
    """The oximeter's cable stays plugged in but nothing arrives (a hung adapter): no link event at all."""
    device = replay.devices[0]
    advance, clock = device.simulator.advance, [0.0]

    def quiet(dt: float) -> bytes:
        clock[0] += dt
        data = advance(dt)
        return b"" if start_s <= clock[0] < end_s else data

    device.simulator.advance = quiet  # type: ignore[method-assign]


DESATURATION = """
duration_s = 300
[patient]
spo2 = 97
[[episode]]
kind = "desaturation"
start_s = 60
duration_s = 120
value = {value}
"""


def test_spo2_low_waits_for_its_10_s_delay(tmp_path: Path) -> None:
    run = Run(DESATURATION.format(value=87), tmp_path)
    below = [r for r in run.readings("spo2") if r.value is not None and r.value < 90]
    alarm = run.first("spo2_low")
    assert alarm.priority == "medium"
    assert 10.0 <= s(alarm.t_us) - s(below[0].t_us) <= 11.0
    assert run.seen("spo2_desat") == []  # 87 % is not a desaturation below 85
    assert run.seen("spo2_low")[-1][1] == "cleared"


def test_desaturation_is_a_high_alarm_that_latches_until_acknowledged(tmp_path: Path) -> None:
    toml = DESATURATION.format(value=80) + '[[alarm_action]]\nat_s = 250\naction = "acknowledge"\nuser = "RN Diaz"\n'
    run = Run(toml, tmp_path)
    desat = run.seen("spo2_desat")
    assert [state for _, state, _ in desat] == ["active", "latched", "cleared"]
    assert run.first("spo2_desat").priority == "high"
    assert desat[-1] == (250.0, "cleared", "RN Diaz")
    assert desat[1][0] < 250.0  # the SpO2 had recovered; the bar kept the alarm until a nurse saw it
    assert run.seen("spo2_low")[-1][1] == "cleared"  # a medium alarm does not latch


def test_an_audio_pause_ends_after_its_time_and_the_alarm_sounds_again(tmp_path: Path) -> None:
    toml = (
        DESATURATION.format(value=87)
        + '[[alarm_action]]\nat_s = 100\naction = "pause"\nseconds = 30\nuser = "RN Diaz"\n'
    )
    run = Run(toml, tmp_path)
    assert run.seen("audio_paused") == [(100.0, "paused", "RN Diaz"), (130.0, "cleared", "")]
    assert [(t, state) for t, state, _ in run.seen("spo2_low")][:3] == [
        (s(run.first("spo2_low").t_us), "active"),
        (100.0, "paused"),
        (130.0, "active"),
    ]


def test_no_data_after_30_s_without_a_valid_value(tmp_path: Path) -> None:
    run = Run("duration_s = 200\n", tmp_path, silent=(60.0, 140.0))
    last = max(s(r.t_us) for r in run.readings("spo2") if s(r.t_us) < 60.0)
    assert run.seen("no_data") == [(last + 30.0, "active", ""), (run.seen("no_data")[1][0], "cleared", "")]
    assert 140.0 <= run.seen("no_data")[1][0] <= 142.0
    assert run.first("no_data").kind == "technical"


def test_a_pulled_cable_raises_device_disconnected_until_it_is_back(tmp_path: Path) -> None:
    toml = 'duration_s = 120\n[[episode]]\nkind = "disconnect"\nstart_s = 40\nduration_s = 10\n'
    run = Run(toml, tmp_path)
    assert [(t, state) for t, state, _ in run.seen("device_disconnected")] == [(40.0, "active"), (50.0, "cleared")]
    assert run.seen("no_data") == []  # the more specific technical alarm speaks for the silence


def test_sensor_off_replaces_spo2_low_with_the_technical_alarm(tmp_path: Path) -> None:
    toml = DESATURATION.format(value=87) + '[[episode]]\nkind = "sensor_off"\nstart_s = 120\nduration_s = 30\n'
    run = Run(toml, tmp_path)
    sensor_off = run.seen("sensor_off")
    assert [state for _, state, _ in sensor_off] == ["active", "cleared"]
    off_at, back_at = sensor_off[0][0], sensor_off[1][0]
    assert 120.0 <= off_at <= 121.0
    low = run.seen("spo2_low")
    assert (off_at, "cleared", "") in low  # SpO2-low gives way at once
    assert not [t for t, state, _ in low if state == "active" and off_at <= t < back_at]
    assert run.seen("no_data") == []


def test_a_blood_pressure_above_180_alarms_at_the_measurement(tmp_path: Path) -> None:
    toml = """
duration_s = 400
devices = ["suntech-advantage"]
[patient]
systolic = 130
diastolic = 80
ketamine_systolic_rise = 0
ketamine_diastolic_rise = 0
[[episode]]
kind = "bp_surge"
start_s = 100
duration_s = 400
value = 75
"""
    run = Run(toml, tmp_path)
    systolic = [r for r in run.readings("nibp_systolic", CUFF) if r.value is not None]
    high = [r for r in systolic if r.value > 180]
    assert high, [r.value for r in systolic]
    alarm = run.first("nibp_systolic_high")
    assert alarm.t_us == high[0].t_us  # no delay: the new measurement alarms at once
    assert alarm.value == high[0].value and alarm.limit == 180.0
    assert run.seen("no_data") == []  # a cuff measuring every 5 min is not "no data"
