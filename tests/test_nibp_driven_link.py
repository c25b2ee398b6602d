"""A SunTech NIBP module is driven by the host: the link starts a measurement, polls the cuff, reads the result."""

from __future__ import annotations

from kapmonitor.core.readings import LinkEvent, Reading
from kapmonitor.devices.links.pty import PtyDevice
from kapmonitor.devices.links.serial import SerialTransport
from kapmonitor.devices.links.simulated import SimulatedTransport
from kapmonitor.devices.simulation.physiology import PhysiologicalModel
from kapmonitor.devices.suntech.driver import NibpSchedule, SuntechDriver
from kapmonitor.devices.suntech.simulator import SuntechSimulator
from tests.link_test_protocol import Collected, wait_for

MEASURE_NOW = NibpSchedule(interval_s=None, measure_at_start=True)


def _values(items: list[object], metric: str) -> list[float | None]:
    return [i.value for i in items if isinstance(i, Reading) and i.metric == metric]


def test_in_process_cuff_measures_at_start_and_reports_inflation_and_result() -> None:
    got = Collected()
    link = SimulatedTransport(
        "suntech-advantage", SuntechSimulator(PhysiologicalModel(seed=3)), speed=25.0, driver=SuntechDriver(MEASURE_NOW)
    )
    link.start(got)
    try:
        wait_for(lambda: _values(got.items, "nibp_systolic"), timeout=20, what="a blood pressure result")
    finally:
        link.stop()
    items = got.items
    systolic = _values(items, "nibp_systolic")[0]
    diastolic = _values(items, "nibp_diastolic")[0]
    assert systolic is not None and diastolic is not None and 40 < diastolic < systolic < 220
    assert max(v for v in _values(items, "cuff_pressure") if v is not None) > systolic  # inflated above systolic
    assert any(isinstance(i, LinkEvent) and i.kind == "measurement_started" for i in items)


def test_cuff_on_a_pty_is_driven_through_the_real_serial_path() -> None:
    got = Collected()
    pty = PtyDevice(SuntechSimulator(PhysiologicalModel(seed=4)), name="cuff", speed=25.0).start()
    link = SerialTransport("suntech-advantage", pty.port, driver=SuntechDriver(MEASURE_NOW))
    link.start(got)
    try:
        wait_for(lambda: _values(got.items, "nibp_systolic"), timeout=20, what="a blood pressure result")
    finally:
        link.stop()
        pty.stop()
    assert _values(got.items, "nibp_mean")[0] is not None
    assert link.stats().frames_ok >= 3  # cuff readings, then the result
