"""Auto-detection: each serial simulator on a pseudo-terminal is recognised by its own protocol; line noise is
recognised by none."""

from __future__ import annotations

import random

import pytest

from kapmonitor.devices.base import SerialSettings
from kapmonitor.devices.links.probe import NO_PROTOCOL, FrameRun, Phase, plan, probe_port
from kapmonitor.devices.links.pty import PtyDevice
from kapmonitor.devices.nonin.descriptors import NoninDf13Simulator
from kapmonitor.devices.registry import all_descriptors, descriptor
from kapmonitor.devices.simulation.interface import DeviceSimulator
from kapmonitor.devices.simulation.physiology import PhysiologicalModel

WINDOW_S = 0.8
# Simulated speed per protocol, so that even one-frame-a-second devices send several frames in a window.
SPEED = {"masimo-ascii": 6.0, "nonin-df8": 6.0}


class LineNoise(DeviceSimulator):
    """A port with something on it that speaks no known protocol."""

    def __init__(self) -> None:
        self._random = random.Random(7)

    def advance(self, dt_s: float) -> bytes:
        return bytes(self._random.randrange(256) for _ in range(int(dt_s * 960)))

    def receive(self, data: bytes) -> bytes:
        return b""

    @property
    def connected(self) -> bool:
        return True


def simulator_for(protocol: str) -> DeviceSimulator:
    model = PhysiologicalModel().for_device(protocol)
    if protocol == "nonin-df13":
        return NoninDf13Simulator(model, interval_s=0.2)  # a spot check every 30 s would outlast the window
    factory = descriptor(protocol).simulator
    assert factory is not None
    return factory(model)


SERIAL = [d.protocol for d in all_descriptors() if d.link == "serial"]


def test_every_serial_simulator_is_covered() -> None:
    assert {
        "nonin-df2", "nonin-df7", "nonin-df8", "nonin-df13", "masimo-ascii", "contec-v7", "contec-legacy",
        "suntech-advantage",
    } <= set(SERIAL)  # fmt: skip


@pytest.mark.parametrize("protocol", SERIAL)
def test_detection_names_the_protocol_the_simulator_speaks(protocol: str) -> None:
    device = PtyDevice(simulator_for(protocol), name=protocol, speed=SPEED.get(protocol, 1.0)).start()
    try:
        report = probe_port(device.port, window_s=WINDOW_S)
    finally:
        device.stop()
    assert report.detection is not None, report.message
    assert report.detection.protocol == protocol
    assert report.detection.frames_in_a_row >= 3


def test_line_noise_is_no_known_protocol() -> None:
    device = PtyDevice(LineNoise(), name="noise").start()
    try:
        report = probe_port(device.port, window_s=WINDOW_S / 2)
    finally:
        device.stop()
    assert report.detection is None
    assert report.message.startswith(NO_PROTOCOL)
    assert report.bytes_heard > 0


def test_a_missing_port_says_what_to_check(tmp_path) -> None:  # noqa: ANN001
    report = probe_port(str(tmp_path / "ttyUSB9"), window_s=0.1)
    assert report.detection is None
    assert "not found" in report.message and "plugged in" in report.message


def test_one_lucky_frame_is_not_a_detection() -> None:
    run = FrameRun(descriptor("nonin-df8"))
    frames = simulator_for("nonin-df8").advance(2.0)  # two DF8 frames, then noise
    run.feed(frames + b"\xff\x00\x13" * 10)
    assert 0 < run.best_run < 3


def test_streaming_devices_are_heard_before_any_command_is_sent() -> None:
    phases = plan(all_descriptors())
    nonin = SerialSettings(baudrate=9600)
    first_9600 = next(p for p in phases if p.settings == nonin)
    assert first_9600 == Phase(nonin, first_9600.protocols)  # listening only
    assert "nonin-df7" in first_9600.protocols
    asked = [p.asking for p in phases if p.send]
    assert "suntech-advantage" in asked and "contec-v7" in asked
    assert all(d.link == "serial" for d in all_descriptors() if d.protocol in {q for p in phases for q in p.protocols})
