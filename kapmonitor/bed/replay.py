"""A scenario run through the real decoders and the alarm engine in simulated time, without a window or threads.

Each scenario device gets its simulator (watching one simulated patient) and the same :class:`DecodePath` a live
link uses; the simulators are advanced in fixed steps of simulated time and every step's bytes are decoded and
stamped with ``start_us + simulated time``. So a 3-hour session replays in seconds and raises the alarms the live
session would have raised, at the times it would have raised them. ``speed`` > 0 paces the run at that many times
real time instead (for watching it).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.core.readings import Item, LinkEvent, LinkEventKind
from kapmonitor.devices.links.stamping import DecodePath, resolve
from kapmonitor.devices.simulation.interface import DeviceSimulator, VitalsSnapshot
from kapmonitor.devices.simulation.physiology import PhysiologicalModel
from kapmonitor.devices.simulation.scenario import Scenario, ScenarioError

# Simulated time per step: finer than any alarm delay and than an oximeter's numeric updates (1 s), coarse
# enough that a 3-hour session replays in seconds.
STEP_S = 0.5
TAIL_S = 60.0  # a scenario without duration_s runs this long past its last episode
ADDRESS = "replay"

ItemSink = Callable[[Sequence[Item]], None]
EventSink = Callable[[Sequence[AlarmEvent]], None]


def replay_duration_s(scenario: Scenario) -> float:
    """``duration_s``, or (when the file sets none) a minute past the end of its last episode."""
    if scenario.duration_s is not None:
        return scenario.duration_s
    return max((ep.end_s for ep in scenario.episodes), default=0.0) + TAIL_S


@dataclass(frozen=True)
class AlarmAction:
    """What a nurse does at the bar during a scenario (a ``[[alarm_action]]`` table, docs/scenarios.md)."""

    at_s: float
    action: str  # "acknowledge" (the alarms named ``alarm``, or all shown) or "pause" (audio, ``seconds``)
    user: str
    alarm: str = ""
    seconds: float = 120.0

    def apply(self, alarms: AlarmEngine, t_us: int) -> list[AlarmEvent]:
        if self.action == "pause":
            return alarms.pause_audio(t_us, self.seconds, user=self.user)
        out: list[AlarmEvent] = []
        for shown in alarms.active():
            if not self.alarm or shown.alarm == self.alarm:
                out += alarms.acknowledge(shown.alarm_id, self.user, t_us)
        return out


def alarm_actions(scenario: Scenario) -> list[AlarmAction]:
    """The scenario's ``[[alarm_action]]`` entries in time order; a ScenarioError names a bad one."""
    entries = scenario.sections.get("alarm_action", [])
    if not isinstance(entries, list):
        raise ScenarioError(f"{scenario.source}: alarm actions are written as [[alarm_action]] tables")
    return sorted(
        (_action(e, f"{scenario.source}: [[alarm_action]] #{i}") for i, e in enumerate(entries, 1)),
        key=lambda a: a.at_s,
    )


def _action(entry: Any, where: str) -> AlarmAction:
    if not isinstance(entry, dict):
        raise ScenarioError(f"{where} must be a table")
    unknown = sorted(set(entry) - {"at_s", "action", "user", "alarm", "seconds"})
    if unknown:
        raise ScenarioError(f"{where} has unknown key(s) {', '.join(unknown)}")
    if entry.get("action") not in ("acknowledge", "pause"):
        raise ScenarioError(f'{where}: action must be "acknowledge" or "pause", not {entry.get("action")!r}')
    at_s, seconds = _seconds(entry, "at_s", None, where), _seconds(entry, "seconds", 120.0, where)
    user, alarm = entry.get("user", ""), entry.get("alarm", "")
    if not isinstance(user, str) or not user.strip():
        raise ScenarioError(f'{where}: user must name the person acting, e.g. user = "RN Diaz"')
    if not isinstance(alarm, str):
        raise ScenarioError(f'{where}: alarm must be an alarm name such as "spo2_desat"')
    return AlarmAction(at_s, entry["action"], user, alarm, seconds or 120.0)


def _seconds(entry: dict[str, Any], key: str, default: float | None, where: str) -> float:
    number = entry.get(key, default)
    if isinstance(number, bool) or not isinstance(number, int | float) or number < 0:
        raise ScenarioError(f"{where}: {key} must be a number of seconds, 0 or more, not {number!r}")
    return float(number)


class RememberingModel:
    """One device's view of the patient, remembering the last few moments asked for: a simulator asks for the
    same moment several times a step (is the cable in? what are the vitals?), and the model is a pure function
    of time, so the answer is the same."""

    def __init__(self, model: PhysiologicalModel, size: int = 8) -> None:
        self._model, self._size = model, size
        self._vitals: dict[float, VitalsSnapshot] = {}

    def vitals(self, t_s: float) -> VitalsSnapshot:
        found = self._vitals.get(t_s)
        if found is None:
            if len(self._vitals) >= self._size:
                self._vitals.clear()
            found = self._vitals[t_s] = self._model.vitals(t_s)
        return found

    def pleth(self, t0_s: float, n: int, rate_hz: float) -> np.ndarray:
        return self._model.pleth(t0_s, n, rate_hz)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


class ReplayedDevice:
    """One simulated device and its decode path, advanced by :meth:`step` the way sim_link's loop turns."""

    def __init__(self, protocol: str, model: PhysiologicalModel) -> None:
        self.descriptor = resolve(protocol)
        if self.descriptor.simulator is None:
            raise ValueError(f"{protocol} has no simulator, so a scenario cannot use it")
        self.simulator: DeviceSimulator = self.descriptor.simulator(RememberingModel(model.for_device(protocol)))
        self.device = f"{self.descriptor.protocol}@{ADDRESS}"
        self.path = DecodePath(self.descriptor, self.device)
        self._linked = False
        keepalive = self.descriptor.keepalive
        self._next_keepalive_s = keepalive.interval_s if keepalive else float("inf")

    def step(self, sim_s: float, dt_s: float, arrival_us: int) -> list[Item]:
        """Advance the device ``dt_s`` to ``sim_s``; the items it produced, stamped ``arrival_us``."""
        out: list[Item] = []
        data = self.simulator.advance(dt_s)
        connected = self.simulator.connected  # asked once: a simulator works it out from the patient model
        if connected != self._linked:
            self._linked = connected
            if self._linked:
                out.append(LinkEvent(LinkEventKind.CONNECTED, "simulated device streaming", arrival_us, self.device))
                command = self.descriptor.start_command
                data += self.simulator.receive(command) if command else b""
            else:
                self.path.reset()
                out.append(LinkEvent(LinkEventKind.GAP, "simulated device disconnected", arrival_us, self.device))
        keepalive = self.descriptor.keepalive
        if keepalive and sim_s >= self._next_keepalive_s:
            data += self.simulator.receive(keepalive.payload)
            self._next_keepalive_s = sim_s + keepalive.interval_s
        if self._linked and (command := self.path.commands(sim_s)):
            data += self.simulator.receive(command)
        if self._linked and (data or self.path.driver is not None):
            out += self.path.feed(data, arrival_us)
        return out


@dataclass
class Replay:
    """Replays ``scenario`` into ``alarms``; ``on_items`` (a recorder) sees every item, ``on_events`` every
    alarm event as it happens."""

    scenario: Scenario
    alarms: AlarmEngine
    start_us: int = 0
    step_s: float = STEP_S
    speed: float = 0.0
    seed: int = 0
    on_items: ItemSink | None = None
    on_events: EventSink | None = None

    def __post_init__(self) -> None:
        if self.step_s <= 0:
            raise ValueError("the replay step must be more than 0 seconds")
        if self.speed < 0:
            raise ValueError("--speed must be 0 (as fast as possible) or more")
        if not self.start_us:
            self.start_us = now_us()
        self.actions = alarm_actions(self.scenario)
        model = PhysiologicalModel(self.scenario, seed=self.seed)
        self.devices = [ReplayedDevice(protocol, model) for protocol in self.scenario.devices]

    def run(self) -> list[AlarmEvent]:
        """Every alarm event of the scenario, in order."""
        duration = replay_duration_s(self.scenario)
        steps = max(1, round(duration / self.step_s))
        events: list[AlarmEvent] = []
        actions = list(self.actions)
        bp_requests = sorted(_bp_times_s(self.scenario))
        wall_start = time.monotonic()
        for n in range(1, steps + 1):
            sim_s = n * self.step_s
            arrival = self.start_us + round(sim_s * US_PER_S)
            while bp_requests and bp_requests[0] <= sim_s:  # the nurse presses "measure now" on the cuff
                bp_requests.pop(0)
                for d in self.devices:
                    if hasattr(d.path.driver, "request_now"):
                        d.path.driver.request_now()  # type: ignore[union-attr]
            items = [item for d in self.devices for item in d.step(sim_s, self.step_s, arrival)]
            if items and self.on_items is not None:
                self.on_items(items)
            new = self.alarms.process(items) + self.alarms.tick(arrival)
            while actions and actions[0].at_s <= sim_s:
                action = actions.pop(0)
                new += action.apply(self.alarms, self.start_us + round(action.at_s * US_PER_S))
            if new:
                events += new
                if self.on_events is not None:
                    self.on_events(new)
            if self.speed > 0:
                ahead = sim_s / self.speed - (time.monotonic() - wall_start)
                if ahead > 0:
                    time.sleep(ahead)
        self.alarms.drain_events()  # returned here; the engine's polling queue is not read in a replay
        return events


def _bp_times_s(scenario: Scenario) -> tuple[float, ...]:
    """The scenario's ``[[bp]]`` requests (docs/clinical-record.md), read by the clinical record's own reader."""
    from kapmonitor.session.scenario_entries import bp_times_s

    return bp_times_s(scenario.sections, source=scenario.source)
