"""Scenario files: what a well-formed file gives, and a clear one-line message for each kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapmonitor.devices.simulation.scenario import Episode, Scenario, ScenarioError

REPO = Path(__file__).resolve().parents[1]

GOOD = """
duration_s = 900
devices = ["nonin-df7", "suntech-advantage"]

[patient]
spo2 = 97
pulse_rate = 68
systolic = 118
diastolic = 76
dose_at_s = 300

[[episode]]
kind = "desaturation"
start_s = 180
duration_s = 120
value = 86

[[episode]]
kind = "sensor_off"
start_s = 400
duration_s = 10
device = "nonin-df7"

[[dose]]
at_s = 300
drug = "ketamine"
amount_mg = 35

[[rating]]
at_s = 2700
scale = "MOAA/S"
score = 4

[[note]]
at_s = 200
text = "Chin lift."
"""


def test_a_scenario_file_gives_patient_episodes_devices_and_raw_sections(tmp_path: Path) -> None:
    path = tmp_path / "session.toml"
    path.write_text(GOOD)
    s = Scenario.load(path)
    assert (s.patient.spo2, s.patient.pulse_rate, s.patient.systolic, s.patient.diastolic) == (
        97,
        68,
        118,
        76,
    )
    assert s.patient.dose_at_s == 300
    assert s.patient.ketamine_systolic_rise == 16  # default response
    assert s.episodes == (
        Episode("desaturation", 180, 120, 86, None),
        Episode("sensor_off", 400, 10, None, "nonin-df7"),
    )
    assert s.duration_s == 900
    assert s.devices == ("nonin-df7", "suntech-advantage")
    assert s.sections["dose"] == [{"at_s": 300, "drug": "ketamine", "amount_mg": 35}]
    assert s.sections["rating"][0]["scale"] == "MOAA/S"
    assert s.sections["note"][0]["text"] == "Chin lift."
    assert s.source == str(path)


def test_an_empty_file_is_the_default_scenario() -> None:
    s = Scenario.from_toml("")
    assert s.patient == Scenario.default().patient
    assert (
        s.episodes == () and s.duration_s is None and s.devices == ("nonin-df7",) and dict(s.sections) == {}
    )


@pytest.mark.parametrize("name", ["demo.toml", "desaturation.toml"])
def test_the_shipped_scenarios_load(name: str) -> None:
    s = Scenario.load(REPO / "resources" / "scenarios" / name)
    assert s.episodes and s.devices and s.duration_s


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x = [", "not valid TOML"),
        ('[patient]\nspo2 = "high"', "[patient] spo2 must be a number, not 'high'"),
        ("[patient]\nspo2 = 980", "[patient] spo2 = 980 is outside 50..100"),
        ("[patient]\nheight = 180", "[patient] has unknown key(s) height"),
        ("[patient]\nsystolic = 80\ndiastolic = 90", "diastolic 90 must be below systolic 80"),
        ("[patient]\ndose_at_s = -5", "[patient] dose_at_s must be 0 or more"),
        (
            '[[episode]]\nkind = "seizure"\nstart_s = 1\nduration_s = 2',
            "[[episode]] #1: kind 'seizure' is not one of",
        ),
        ('[[episode]]\nkind = "desaturation"\nstart_s = 1\nduration_s = 2', "#1 (desaturation) needs value"),
        ('[[episode]]\nkind = "sensor_off"\nstart_s = 1\nduration_s = 2\nvalue = 3', "takes no value"),
        ('[[episode]]\nkind = "artifact"\nduration_s = 2', "#1 (artifact) needs start_s"),
        ('[[episode]]\nkind = "artifact"\nstart_s = 1\nduration_s = 0', "duration_s more than 0"),
        ('[[episode]]\nkind = "artifact"\nstart_s = 1\nduration_s = 2\nwhen = 3', "unknown key(s) when"),
        (
            '[[episode]]\nkind = "artifact"\nstart_s = 1\nduration_s = 2\ndevice = 7',
            "device must be a protocol",
        ),
        (
            '[[episode]]\nkind = "bradycardia"\nstart_s = 1\nduration_s = 2\nvalue = 400',
            "value = 400 is outside",
        ),
        ("episode = 3", "episodes are written as [[episode]] tables"),
        ('devices = "nonin-df7"', "devices must be a list of protocol names"),
        ("duration_s = -1", "duration_s must be more than 0"),
        ("speed = 3", "unknown top-level setting(s): speed"),
    ],
)
def test_a_malformed_scenario_names_the_file_the_entry_and_the_problem(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as caught:
        Scenario.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message and "Traceback" not in message


def test_the_second_bad_episode_is_named_by_its_position(tmp_path: Path) -> None:
    text = (
        '[[episode]]\nkind = "artifact"\nstart_s = 1\nduration_s = 2\n'
        '[[episode]]\nkind = "tachycardia"\nstart_s = 1\nduration_s = 2\n'
    )
    with pytest.raises(
        ScenarioError, match=r"\[\[episode\]\] #2 \(tachycardia\) needs value: the pulse rate"
    ):
        Scenario.from_toml(text, source="s.toml")


def test_a_missing_or_unreadable_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such scenario file"):
        Scenario.load(tmp_path / "absent.toml")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ScenarioError, match="binary.toml"):
        Scenario.load(tmp_path / "binary.toml")
