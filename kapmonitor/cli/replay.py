"""``kapmonitor replay SCENARIO [--speed N] [--json] [--db URL]``: a scenario through decoders and alarms.

Prints every alarm event as it happens: one JSON object a line with ``--json`` (``t`` in seconds from the
scenario start), otherwise a table. With ``--db`` the replay is also recorded as a session: readings,
waveforms, link events, the alarm log and, when this build has the clinical record, the scenario's entries; run
as fast as possible, that session ends now (it began the scenario's duration ago).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from kapmonitor.alarms.engine import AlarmEngine
from kapmonitor.alarms.events import AlarmEvent
from kapmonitor.alarms.limits import ProfileError
from kapmonitor.alarms.profile_file import builtin_profile
from kapmonitor.bed.replay import Replay, replay_duration_s
from kapmonitor.cli.errors import CommandError
from kapmonitor.core.clock import US_PER_S, now_us
from kapmonitor.devices.registry import UnknownProtocol
from kapmonitor.devices.simulation.scenario import Scenario, ScenarioError

DEFAULT_PROFILE = "kap-clinic"
REPLAY_PATIENT = "SIM-REPLAY"


class EventPrinter:
    """Writes alarm events as JSON lines or as a table, flushed line by line (a paced replay is watched)."""

    def __init__(self, origin_us: int, as_json: bool, out: TextIO) -> None:
        self.origin_us, self.as_json, self.out = origin_us, as_json, out
        if not as_json:
            print(f"{'time':>9}  {'priority':<8} {'state':<12} {'alarm':<20} message", file=out)

    def __call__(self, events: Sequence[AlarmEvent]) -> None:
        for e in events:
            if self.as_json:
                line = json.dumps(e.to_json(self.origin_us), ensure_ascii=False)
            else:
                t = (e.t_us - self.origin_us) / US_PER_S
                who = f"  (by {e.user})" if e.user else ""
                line = f"{_clock(t):>9}  {e.priority:<8} {e.state:<12} {e.alarm:<20} {e.message}{who}"
            print(line, file=self.out, flush=True)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    tenths = int(round((seconds - whole) * 10)) % 10
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}.{tenths}"


def load_scenario(path: str) -> Scenario:
    try:
        return Scenario.load(path)
    except ScenarioError as exc:
        raise CommandError(str(exc)) from None


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if args.speed is not None and args.speed < 0:
        raise CommandError("--speed must be 0 (as fast as possible) or a positive multiple of real time")
    scenario = load_scenario(args.scenario)
    try:
        alarms = AlarmEngine(builtin_profile(getattr(args, "profile", None) or DEFAULT_PROFILE))
    except ProfileError as exc:
        raise CommandError(str(exc)) from None
    start_us = now_us()
    if args.db is not None and not args.speed:
        # Recorded as fast as it runs: the session is stamped as having just ended, as the demo's replayed
        # first minutes are, never as running on into the future.
        start_us -= round(replay_duration_s(scenario) * US_PER_S)
    printer = EventPrinter(start_us, args.json, out)
    try:
        replay = Replay(scenario, alarms, start_us=start_us, speed=args.speed or 0.0, on_events=printer)
    except (ScenarioError, UnknownProtocol, ValueError) as exc:
        raise CommandError(f"{args.scenario}: {exc}") from None
    if args.db is None:
        replay.run()
        return 0
    from kapmonitor.bed.replay_recording import ReplayRecording
    from kapmonitor.core.beds import bed_or_configured

    with ReplayRecording(args.db, scenario, replay, bed=bed_or_configured(args.bed)) as recording:
        replay.run()
    print(
        f"recorded as session {recording.session_id} ({replay_duration_s(scenario):g} s of scenario)",
        file=sys.stderr,
    )
    for note in recording.notes:
        print(f"kapmonitor: {note}", file=sys.stderr)
    return 0
