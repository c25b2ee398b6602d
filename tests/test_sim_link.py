"""The in-process simulated link: the decode and stamp path of a serial port, without a pseudo-terminal."""

from __future__ import annotations

from link_test_protocol import DESCRIPTOR, Collected, LinkTestSimulator, wait_for

from kapmonitor.core.readings import Reading
from kapmonitor.devices.links.simulated import SimulatedTransport
from kapmonitor.devices.links.transport import LinkState
from kapmonitor.devices.simulation.physiology import PhysiologicalModel
from kapmonitor.devices.simulation.scenario import Episode, Scenario


def test_simulated_frames_arrive_stamped_and_contiguous() -> None:
    got = Collected()
    link = SimulatedTransport(DESCRIPTOR, LinkTestSimulator(), speed=5.0)
    link.start(got)
    try:
        wait_for(lambda: len(got.samples()) >= 100, what="100 samples")
        assert link.state == LinkState.CONNECTED
    finally:
        link.stop()
        link.stop()
    samples = got.samples()
    assert samples == list(range(len(samples)))
    chunks = got.chunks()
    assert all(c.device == "link-test@sim" for c in chunks)
    for before, after in zip(chunks[:-1], chunks[1:], strict=True):
        assert abs(after.t_us - (before.t_us + before.duration_us)) <= 1
    # at 5x, the stamps follow simulated time: the waveform spans its true length
    assert chunks[-1].t_us - chunks[0].t_us == round((len(samples) - len(chunks[-1].samples)) * 20_000)
    assert link.stats().frames_ok == len(samples)
    assert link.status().state == LinkState.STOPPED


def test_the_start_command_and_keepalives_reach_the_simulator() -> None:
    sim, got = LinkTestSimulator(), Collected()
    link = SimulatedTransport(DESCRIPTOR, sim, speed=4.0)
    link.start(got)
    try:
        wait_for(lambda: len(got.events("ack")) >= 2, what="keepalive answers")
    finally:
        link.stop()
    assert sim.received.startswith(b"GO?")


def test_a_scripted_disconnect_gives_a_gap_and_the_link_comes_back() -> None:
    scenario = Scenario(episodes=(Episode("disconnect", start_s=1.0, duration_s=1.0),))
    model = PhysiologicalModel(scenario)

    class Cabled(LinkTestSimulator):
        @property
        def connected(self) -> bool:
            return model.vitals(self.t).connected

    got = Collected()
    link = SimulatedTransport(DESCRIPTOR, Cabled(model), speed=8.0)
    link.start(got)
    try:
        wait_for(
            lambda: link.reconnects == 1 and len(got.events("connected")) == 2, what="the link to come back"
        )
    finally:
        link.stop()
    assert len(got.events("gap")) == 1
    readings = [i for i in got.snapshot() if isinstance(i, Reading)]
    assert readings and readings[0].value is not None
