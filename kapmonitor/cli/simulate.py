"""`kapmonitor simulate`: a simulated device on a pseudo-terminal (path printed) or on a serial port; a network
monitor (``hl7-pcd01``) sends to a listener instead (``--to tcp://HOST:PORT``), one message a second, and prints
each answer that is not an acceptance."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

import serial

from kapmonitor.cli.errors import CommandError
from kapmonitor.devices.base import DeviceDescriptor, SerialSettings
from kapmonitor.devices.links.pty import PtyDevice
from kapmonitor.devices.links.serial import open_failure_message
from kapmonitor.devices.registry import UnknownProtocol, descriptor
from kapmonitor.devices.simulation.interface import DeviceSimulator
from kapmonitor.devices.simulation.physiology import PhysiologicalModel
from kapmonitor.devices.simulation.scenario import Scenario, ScenarioError

TICK_S = 0.02


def run(protocol: str, port: str | None = None, scenario: str | None = None, to: str | None = None) -> int:
    found = _descriptor(protocol, network=to is not None)
    model = PhysiologicalModel(_scenario(scenario)).for_device(found.protocol)
    simulator = found.simulator(model)  # type: ignore[misc]  # checked in _descriptor
    stop = threading.Event()
    with _until_signalled(stop):
        if to is not None:
            from kapmonitor.cli.simulate_network import serve_network

            serve_network(simulator, to, stop)
        elif port is None:
            _serve_pty(simulator, found.protocol, stop)
        else:
            _serve_port(simulator, port, found.serial or SerialSettings(), stop)
    return 0


def _descriptor(protocol: str, network: bool = False) -> DeviceDescriptor:
    try:
        found = descriptor(protocol)
    except UnknownProtocol as exc:
        raise CommandError(str(exc)) from None
    if found.simulator is None:
        raise CommandError(f"protocol {protocol!r} has no simulator")
    if found.link == "network" and not network:
        raise CommandError(f"protocol {protocol!r} sends to a listener: give --to tcp://HOST:PORT")
    if found.link == "network":
        return found
    if network:
        raise CommandError(f"protocol {protocol!r} is not a network protocol; use --pty or --port")
    if found.link != "serial":
        raise CommandError(
            f"protocol {protocol!r} is a Bluetooth profile; only serial devices can be simulated here"
        )
    return found


def _scenario(path: str | None) -> Scenario:
    if path is None:
        return Scenario.default()
    try:
        return Scenario.load(path)
    except ScenarioError as exc:
        raise CommandError(str(exc)) from None


@contextlib.contextmanager
def _until_signalled(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM end the stream cleanly (the pty link is removed, the port closed)."""

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _serve_pty(simulator: DeviceSimulator, name: str, stop: threading.Event) -> None:
    device = PtyDevice(simulator, name=name).start()
    try:
        print(device.port, flush=True)
        while not stop.wait(0.2):
            pass
    finally:
        device.stop()


def _serve_port(
    simulator: DeviceSimulator, port: str, settings: SerialSettings, stop: threading.Event
) -> None:
    try:
        link = serial.Serial(port, **settings.as_pyserial(), timeout=0, write_timeout=1.0)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise CommandError(open_failure_message(port, exc)) from None
    print(f"simulating {simulator.protocol} on {port}", flush=True)
    last = time.monotonic()
    try:
        while not stop.wait(TICK_S):
            now = time.monotonic()
            out = simulator.advance(now - last) if simulator.connected else b""
            last = now
            waiting = link.in_waiting
            if waiting:
                out += simulator.receive(link.read(waiting))
            if out:
                link.write(out)
    except (serial.SerialException, OSError) as exc:
        raise CommandError(f"lost serial port {port}: {exc}") from None
    finally:
        link.close()
