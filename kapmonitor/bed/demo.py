"""The demo session: a scenario's first minutes replayed into the record, then the same patient live.

A newcomer opening ``kapmonitor --demo`` sees a session in progress whose trends, dosing timeline, ratings and
notes are already filled in, with simulated monitors streaming on from there through the real serial path.
Headless: the window only shows what this puts in the station.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.bed.replay import Replay
from kapmonitor.bed.station import Station
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.paths import resources_dir
from kapmonitor.core.readings import Item, LinkEvent
from kapmonitor.devices.simulation.interface import LaterPatient
from kapmonitor.devices.simulation.physiology import PhysiologicalModel
from kapmonitor.devices.simulation.scenario import Scenario
from kapmonitor.devices.suntech.driver import NibpSchedule, SuntechDriver
from kapmonitor.session.scenario_entries import entries_from_sections
from kapmonitor.session.templates import builtin_templates

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
    items, events = _replay_beginning(station, replace(scenario, duration_s=offset_s))
    # The devices start only now: a simulator left writing to a pseudo-terminal nobody reads would meet the
    # serial link with a backlog, not with live data.
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
    session_id = station.start_session(patient, protocol, room=str(about.get("room", "")))
    start_us = now_us() - round(offset_s * US_PER_S)
    station.backdate_session(start_us)
    _record_beginning(station, items, events, shift_us=start_us - REPLAY_ORIGIN_US, live=live)
    entries = _clinical_beginning(station, scenario, session_id, protocol, start_us, offset_s)
    station.start()
    return DemoSession(session_id, patient, protocol, start_us, entries)


REPLAY_ORIGIN_US = 1  # the replay runs on its own time axis from here; the items are moved onto the session's


def _replay_beginning(station: Station, scenario: Scenario) -> tuple[list[Item], list[AlarmEvent]]:
    items: list[Item] = []
    events: list[AlarmEvent] = []
    Replay(
        scenario,
        AlarmEngine(station.alarm_engine.profile),
        start_us=REPLAY_ORIGIN_US,
        on_items=items.extend,
        on_events=events.extend,
    ).run()
    return items, events


def _record_beginning(
    station: Station, items: list[Item], events: list[AlarmEvent], *, shift_us: int, live: dict[str, str]
) -> None:
    """The replayed minutes go where live data goes (buffers, recording, alarm log: the station's prefill path),
    on the session's time axis and under the live devices' ids, so the trends run on without a seam."""
    moved: list[Item] = []
    for item in items:
        device = live.get(item.device.split("@")[0], item.device)
        if isinstance(item, LinkEvent):
            moved.append(replace(item, t_us=item.t_us + shift_us, device=device))
        else:
            moved.append(item.stamped(item.t_us + shift_us, device))
    station.prefill(moved, [replace(e, t_us=e.t_us + shift_us) for e in events])


def _clinical_beginning(
    station: Station, scenario: Scenario, session_id: int, protocol: str, start_us: int, offset_s: float
) -> int:
    entries = [
        e
        for e in entries_from_sections(scenario.sections, start_us, author=DEMO_AUTHOR, source=scenario.source)
        if e.t_us <= start_us + offset_s * US_PER_S
    ]
    record = station.records.clinical_log(session_id, builtin_templates().get(protocol))
    for entry in entries:
        record.add(entry)
    return len(entries)
