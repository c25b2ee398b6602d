"""``make demo-clinic``: a private PostgreSQL server, three simulated chairs recording into it, and the central
station watching them. Everything is removed again when the window closes.

Each chair is a full bedside station (its own simulated oximeter and cuff on pseudo-terminals, its own alarm
engine, recorder and session) at its own bed, started part-way into a demo scenario so its trends and dosing are
already filled in; chair 3's patient desaturates, so the central station has an alarm to show.
"""

from __future__ import annotations

import signal
import sys
from dataclasses import replace

from kapmonitor.bed.demo import start_demo
from kapmonitor.bed.station import Station
from kapmonitor.core.paths import resources_dir
from kapmonitor.devices.simulation.scenario import Scenario
from kapmonitor.store.pg_server import ServerUnavailable, start_local_server

CHAIRS = (  # bed, scenario, patient, minutes already recorded
    ("chair 1", "demo.toml", "DEMO-001", 45.0),
    ("chair 2", "esketamine-session.toml", "DEMO-002", 20.0),
    ("chair 3", "desaturation.toml", "DEMO-003", 2.0),
)


def _scenario(name: str, patient: str) -> Scenario:
    scenario = Scenario.load(resources_dir() / "scenarios" / name)
    about = dict(scenario.sections.get("session", {}))
    about["patient"] = patient
    return replace(scenario, sections={**scenario.sections, "session": about})


def main() -> int:
    from kapmonitor.ui.app import startup_problem

    problem = startup_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    # SIGTERM while the chairs start: the finally below still stops them and removes the server
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        server = start_local_server()
    except ServerUnavailable as error:
        print(f"kapmonitor: {error}", file=sys.stderr)
        return 1
    stations: list[Station] = []
    try:
        url = server.create_database("clinic")
        print(f"kapmonitor: demo clinic database {url}", file=sys.stderr)
        for bed, name, patient, minutes in CHAIRS:
            station = Station(url, bed=bed)
            station.user = "demo nurse"
            stations.append(station)
            print(f"kapmonitor: starting {bed} ({patient}, {name})", file=sys.stderr)
            start_demo(station, _scenario(name, patient), already_minutes=minutes)
        from kapmonitor.ui.central.app import run

        return run(url, demo_user=True)
    finally:
        for station in stations:
            station.stop()
        server.cleanup()


if __name__ == "__main__":
    sys.exit(main())
