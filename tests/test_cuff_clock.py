"""The cuff on the protocol's clock: an IV infusion sets the SunTech module to every 10 min while it runs and
every 15 min after; esketamine's fixed BP checks start one measurement each when they fall due."""

from __future__ import annotations

from typing import Any

from kapmonitor.bed.cuff_clock import CuffClock
from kapmonitor.core.readings import Reading
from kapmonitor.devices.links.simulated import SimulatedTransport
from kapmonitor.devices.simulation.physiology import PhysiologicalModel
from kapmonitor.devices.simulation.scenario import Scenario
from kapmonitor.devices.suntech.driver import NibpSchedule, SuntechDriver
from kapmonitor.devices.suntech.frames import START_BP
from kapmonitor.devices.suntech.simulator import SuntechSimulator
from kapmonitor.session.cuff_schedule import bp_interval_min
from kapmonitor.session.entries import US_PER_MIN, BodyWeight, InfusionEvent, IntranasalDevice
from kapmonitor.session.templates import builtin_templates
from kapmonitor.session.timeline import SessionRecord

T0 = 1_800_000_000_000_000
IV = builtin_templates()["iv-infusion"]
ESK = builtin_templates()["intranasal-esketamine"]


def at(minutes: float) -> dict[str, Any]:
    t = T0 + round(minutes * US_PER_MIN)
    return {"t_us": t, "entered_us": t, "author": "RN Kim"}


def cuff() -> tuple[SimulatedTransport, SuntechDriver]:
    driver = SuntechDriver(NibpSchedule(interval_s=300.0))
    model = PhysiologicalModel(Scenario()).for_device("suntech-advantage")
    return SimulatedTransport("suntech-advantage", SuntechSimulator(model), driver=driver), driver


def infusion_record() -> SessionRecord:
    record = SessionRecord.for_template(IV)
    record.add(BodyWeight(**at(0), kg=70.0))
    record.add(InfusionEvent(**at(5), action="start", rate=0.75, weight_kg=70.0))
    record.add(InfusionEvent(**at(45), action="stop"))
    return record


def test_the_infusion_protocol_sets_the_cuff_to_10_then_15_minutes() -> None:
    record = infusion_record()
    assert bp_interval_min(IV, record, T0 + 20 * US_PER_MIN) == 10
    assert bp_interval_min(IV, record, T0 + 50 * US_PER_MIN) == 15
    transport, driver = cuff()
    clock = CuffClock(lambda: [transport])
    bp = [Reading("nibp_systolic", 120.0, "mmHg", t_us=T0 + 4 * US_PER_MIN, device=transport.device)]

    said = clock.tick(IV, record, bp, session_start_us=T0, now_us=T0 + 20 * US_PER_MIN)
    assert "every 10 min" in said and driver.schedule.interval_s == 600
    said = clock.tick(IV, record, bp, session_start_us=T0, now_us=T0 + 50 * US_PER_MIN)
    assert "every 15 min" in said and driver.schedule.interval_s == 900


def test_a_due_esketamine_bp_check_starts_one_measurement() -> None:
    record = SessionRecord.for_template(ESK)
    transport, driver = cuff()
    clock = CuffClock(lambda: [transport])
    said = clock.tick(ESK, record, [], session_start_us=T0, now_us=T0 + US_PER_MIN)
    assert said == ["on demand", "measuring for BP due (pre-dose)"]
    assert driver.schedule.interval_s is None
    assert driver.poll(0.0) == START_BP  # the module is told to start at its next poll
    assert clock.tick(ESK, record, [], session_start_us=T0, now_us=T0 + 2 * US_PER_MIN) == []  # asked once

    record.add(IntranasalDevice(**at(3), lot="EK1"))
    pre = [Reading("nibp_systolic", 124.0, "mmHg", t_us=T0 + 2 * US_PER_MIN, device=transport.device)]
    assert clock.tick(ESK, record, pre, session_start_us=T0, now_us=T0 + 20 * US_PER_MIN) == []
    said = clock.tick(ESK, record, pre, session_start_us=T0, now_us=T0 + 40 * US_PER_MIN)
    assert said == ["measuring for BP at ~40 min due"]
