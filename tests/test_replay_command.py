"""``kapmonitor replay``: the shipped alarm scenario as JSON lines and as a table, recorded with --db, and
plain errors for unusable input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import inspect

from kapmonitor.cli import main
from kapmonitor.core.paths import resources_dir
from kapmonitor.store.alarm_log import alarm_events
from kapmonitor.store.db import engine_for
from kapmonitor.store.repository import SessionRepository

ALARMS = str(resources_dir() / "scenarios" / "alarms.toml")
SHORT = """
duration_s = 120
[[episode]]
kind = "disconnect"
start_s = 30
duration_s = 5
[[note]]
at_s = 10
text = "Probe checked."
"""


@pytest.fixture(scope="module")
def shipped_lines() -> list[dict[str, object]]:
    import io

    from kapmonitor.cli import replay as replay_command
    from kapmonitor.cli.parser import build_parser

    out = io.StringIO()
    assert replay_command.run(build_parser().parse_args(["replay", ALARMS, "--json"]), out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_the_shipped_scenario_prints_every_alarm_as_a_json_line(shipped_lines: list[dict[str, object]]) -> None:
    for line in shipped_lines:
        assert list(line)[:4] == ["t", "alarm", "priority", "state"]
    seen = {(line["alarm"], line["priority"], line["state"]) for line in shipped_lines}
    assert {
        ("spo2_low", "medium", "active"),
        ("spo2_desat", "high", "active"),
        ("spo2_desat", "high", "latched"),
        ("sensor_off", "medium", "active"),
        ("audio_paused", "low", "paused"),
        ("device_disconnected", "medium", "active"),
        ("nibp_systolic_high", "medium", "active"),
    } <= seen
    times = [float(line["t"]) for line in shipped_lines]  # type: ignore[arg-type]
    assert times == sorted(times) and 0 < times[0] < times[-1] <= 1800
    acknowledged = [line for line in shipped_lines if line["alarm"] == "spo2_desat" and line["state"] == "cleared"]
    assert acknowledged == [{**acknowledged[0], "t": 260.0, "user": "RN Diaz"}]


def test_the_table_names_time_priority_state_and_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "short.toml"
    scenario.write_text(SHORT)
    assert main(["replay", str(scenario)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["time", "priority", "state", "alarm", "message"]
    assert lines[1].split()[:4] == ["0:00:30.0", "medium", "active", "device_disconnected"]
    assert lines[2].split()[:4] == ["0:00:35.0", "medium", "cleared", "device_disconnected"]


def test_with_db_the_replay_is_a_recorded_session_with_its_alarm_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = tmp_path / "short.toml"
    scenario.write_text(SHORT)
    url = f"sqlite:///{tmp_path / 'k.db'}"
    assert main(["replay", str(scenario), "--json", "--db", url]) == 0
    captured = capsys.readouterr()
    printed = [json.loads(line) for line in captured.out.splitlines()]
    assert "recorded as session 1" in captured.err
    engine = engine_for(url)
    try:
        assert "alarm_event" in inspect(engine).get_table_names()
        logged = alarm_events(engine, 1)
        assert [(e.alarm, e.state) for e in logged] == [(p["alarm"], p["state"]) for p in printed]
        detail = SessionRepository(engine).session_detail(1)
        assert detail["status"] == "ended"
        metrics = {track["metric"] for track in detail["tracks"]}
        assert {"spo2", "pulse_rate", "pleth"} <= metrics
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("duration_s = -1\n", "duration_s must be more than 0"),
        ('devices = ["no-such-monitor"]\n', "unknown protocol 'no-such-monitor'"),
        ('[[alarm_action]]\nat_s = 5\naction = "silence"\nuser = "x"\n', 'action must be "acknowledge" or "pause"'),
        ('[[alarm_action]]\nat_s = 5\naction = "pause"\n', "user must name the person acting"),
    ],
)
def test_an_unusable_scenario_is_one_plain_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    scenario = tmp_path / "bad.toml"
    scenario.write_text(text)
    assert main(["replay", str(scenario), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kapmonitor: ") and message in err and err.count("\n") == 1


def test_a_missing_file_and_a_negative_speed_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path / "none.toml")]) == 2
    assert "no such scenario file" in capsys.readouterr().err
    assert main(["replay", ALARMS, "--speed", "-2"]) == 2
    assert "--speed" in capsys.readouterr().err


def test_speed_paces_the_replay_at_n_times_real_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kapmonitor.bed import replay as replay_module

    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    monkeypatch.setattr(replay_module.time, "sleep", sleep)
    monkeypatch.setattr(replay_module.time, "monotonic", lambda: clock[0])
    scenario = tmp_path / "short.toml"
    scenario.write_text("duration_s = 20\n")
    assert main(["replay", str(scenario), "--speed", "10", "--json"]) == 0
    assert 1.5 <= sum(slept) <= 2.0  # 20 s of scenario at 10 x: about 2 s of waiting
