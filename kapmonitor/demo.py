"""The demo session: a scenario's first minutes replayed into the record, then the same patient live.

A newcomer opening ``kapmonitor --demo`` sees a session in progress whose trends, dosing timeline, ratings and
notes are already filled in, with simulated monitors streaming on from there through the real serial path.
Headless: the window only shows what this puts in the station.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.readings import Item, LinkEvent
from kapmonitor.devices.physiology import PhysiologicalModel
from kapmonitor.devices.scenario import Scenario
from kapmonitor.devices.simulation import LaterPatient
from kapmonitor.devices.suntech import NibpSchedule, SuntechDriver
from kapmonitor.paths import resources_dir
from kapmonitor.replay import Replay
from kapmonitor.session.scenario_entries import entries_from_sections
from kapmonitor.session.templates import builtin_templates
from kapmonitor.station import Station
from kapmonitor.store.clinical_log import ClinicalLog

DEMO_SCENARIO = "demo.toml"
ALREADY_MINUTES = 45.0
DEMO_AUTHOR = "demo nurse"
# The live cuff measures on arrival and then every 3 minutes, so its cycle shows within a short look.
DEMO_NIBP = NibpSchedule(interval_s=180.0, measure_at_start=True)


@dataclass(frozen=True)
class DemoSession:
    session_id: int
    patient: str
    protocol: str
    start_us: int
    entries: int


def demo_scenario() -> Scenario:
    return Scenario.load(resources_dir() / "scenarios" / DEMO_SCENARIO)


def start_demo(station: Station, scenario: Scenario, already_minutes: float = ALREADY_MINUTES) -> DemoSession:
    """Add the scenario's simulated devices to ``station``, record its first ``already_minutes`` as if they had
    happened, and leave the session running with the devices streaming live from that point of the story."""
    offset_s = already_minutes * 60
    model = PhysiologicalModel(scenario)
    live = {
        protocol: station.add_simulated(
            protocol,
            model=LaterPatient(model.for_device(protocol), offset_s),
            driver=SuntechDriver(DEMO_NIBP) if protocol == "suntech-advantage" else None,
        ).device
        for protocol in scenario.devices
    }
    about = scenario.sections.get("session", {})
    patient = str(about.get("patient", "DEMO-001"))
    protocol = str(about.get("protocol", ""))
    session_id = station.start_session(patient, protocol)
    start_us = now_us() - round(offset_s * US_PER_S)
    station.repository.backdate_start(session_id, start_us)
    _replay_beginning(station, replace(scenario, duration_s=offset_s), start_us, live)
    entries = _clinical_beginning(station, scenario, session_id, protocol, start_us, offset_s)
    station.start()
    return DemoSession(session_id, patient, protocol, start_us, entries)


def _replay_beginning(station: Station, scenario: Scenario, start_us: int, live: dict[str, str]) -> None:
    """The replayed minutes go where live data goes (buffers, recorder, alarm log) under the live device ids."""

    def as_live(items: list[Item]) -> list[Item]:
        out: list[Item] = []
        for item in items:
            device = live.get(item.device.split("@")[0], item.device)
            out.append(replace(item, device=device) if isinstance(item, LinkEvent) else item.stamped(item.t_us, device))
        return out

    def take(items: list[Item]) -> None:
        items = as_live(items)
        station.buffers.write(items)
        if station.recorder is not None:
            station.recorder.write(items)

    alarms = AlarmEngine(station.alarms.profile)
    log = station.alarm_log
    Replay(
        scenario, alarms, start_us=start_us, on_items=take, on_events=log.write if log is not None else None
    ).run()
    if station.recorder is not None:
        station.recorder.flush(timeout=60.0)


def _clinical_beginning(
    station: Station, scenario: Scenario, session_id: int, protocol: str, start_us: int, offset_s: float
) -> int:
    entries = [
        e
        for e in entries_from_sections(scenario.sections, start_us, author=DEMO_AUTHOR, source=scenario.source)
        if e.t_us <= start_us + offset_s * US_PER_S
    ]
    record = ClinicalLog(station.engine, session_id, builtin_templates().get(protocol), audit=station.audit)
    for entry in entries:
        record.add(entry)
    return len(entries)
