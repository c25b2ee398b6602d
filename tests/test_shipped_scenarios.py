"""Every scenario shipped in resources/scenarios loads: devices, patient, episodes and clinical entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from kapmonitor.core.paths import resources_dir
from kapmonitor.devices.registry import protocol_names
from kapmonitor.devices.simulation.scenario import Scenario
from kapmonitor.session.scenario_entries import entries_from_sections

SCENARIOS = sorted((resources_dir() / "scenarios").glob("*.toml"))


def test_scenarios_are_shipped() -> None:
    assert {p.stem for p in SCENARIOS} >= {"demo", "esketamine-session", "iv-infusion", "desaturation"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenario_loads_with_its_entries(path: Path) -> None:
    scenario = Scenario.load(path)
    assert set(scenario.devices) <= set(protocol_names())
    entries = entries_from_sections(scenario.sections, start_us=0, source=path.name)
    assert [e.t_us for e in entries] == sorted(e.t_us for e in entries)
    if scenario.duration_s is not None:
        assert all(e.t_us <= scenario.duration_s * 1_000_000 for e in entries)
