"""A simulated device in-process: the simulator's bytes go straight into the same decode and stamp path as a
serial link, without a pseudo-terminal. For demos, replays faster than real time, and fast tests.
"""

from __future__ import annotations

import logging
import time

from kapmonitor.core.clock import now_us
from kapmonitor.core.readings import LinkEvent, LinkEventKind
from kapmonitor.devices.base import DeviceDescriptor, HostDriver
from kapmonitor.devices.links.threaded import ThreadedLink
from kapmonitor.devices.links.transport import LinkState
from kapmonitor.devices.simulation.interface import DeviceSimulator

log = logging.getLogger(__name__)

TICK_S = 0.02


class SimulatedTransport(ThreadedLink):
    """Runs ``simulator`` at ``speed`` x real time. Arrival stamps follow simulated time, so a scenario
    replayed at 10x still lays its waveforms out on a true time axis."""

    thread_prefix = "kapmonitor-sim"

    def __init__(
        self,
        protocol: str | DeviceDescriptor,
        simulator: DeviceSimulator,
        *,
        device: str | None = None,
        driver: HostDriver | None = None,
        speed: float = 1.0,
    ) -> None:
        super().__init__(protocol, "sim", device=device, driver=driver)
        self.simulator = simulator
        self.speed = speed

    def _failure_words(self) -> str:
        return "internal error in the simulated device"

    def _serve(self) -> None:
        started_us, sim_s = now_us(), 0.0
        last = time.monotonic()
        linked = False
        keepalive = self.descriptor.keepalive
        next_keepalive_s = keepalive.interval_s if keepalive else float("inf")
        while not self._stop.wait(TICK_S):
            now = time.monotonic()
            dt = (now - last) * self.speed
            last, sim_s = now, sim_s + dt
            data = self.simulator.advance(dt)
            arrival = started_us + round(sim_s * 1_000_000)
            if self.simulator.connected != linked:
                linked = self._follow_connection(arrival)
                if linked:
                    data += self._greet()
            if keepalive and sim_s >= next_keepalive_s:
                data += self.simulator.receive(keepalive.payload)
                next_keepalive_s = sim_s + keepalive.interval_s
            if linked and (command := self._path.commands(sim_s)):
                data += self.simulator.receive(command)
            if linked and (data or self._path.driver is not None):
                self._emit(self._path.feed(data, arrival))

    def _follow_connection(self, arrival: int) -> bool:
        if self.simulator.connected:
            if self._state == LinkState.RECONNECTING:
                self.reconnects += 1
            self._set_state(LinkState.CONNECTED, "simulated device streaming")
            return True
        self._path.reset()
        message = "simulated device disconnected; reconnecting"
        self._set_state(LinkState.RECONNECTING, message)
        if self._publish is not None:
            self._publish([LinkEvent(LinkEventKind.GAP, message, arrival, self.device)])
        return False

    def _greet(self) -> bytes:
        """What a serial link would send on opening; the simulator's reply is part of the stream."""
        command = self.descriptor.start_command
        return self.simulator.receive(command) if command else b""
