"""The clinic as the central station sees it: every chair recording on the shared database, and the only writes
the central station makes (acknowledging a chair's alarm, pausing its audio, in the logged-in user's name).

The central station's window talks to this (as :class:`kapmonitor.bed.port.CentralBoard`) and imports nothing
from the store; ``demo_clinic`` sets up ``make demo-clinic``'s private server and simulated chairs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property

from sqlalchemy import Engine

from kapmonitor.bed.demo import start_demo
from kapmonitor.bed.station import Station
from kapmonitor.core.paths import resources_dir
from kapmonitor.devices.simulation.scenario import Scenario
from kapmonitor.store.chair_board import (
    ChairAlarm,
    ChairBoard,
    ChairView,
    acknowledge_at_central,
    pause_audio_at_central,
)
from kapmonitor.store.db import open_database
from kapmonitor.store.pg_server import ServerUnavailable, start_local_server
from kapmonitor.store.users import UserDirectory

__all__ = ["ClinicBoard", "ServerUnavailable", "demo_clinic"]


class ClinicBoard:
    """The chairs recording on ``database`` (a SQLAlchemy engine), refreshed by :meth:`poll`."""

    def __init__(self, database: Engine) -> None:
        self.database = database
        self._board = ChairBoard(database)

    @classmethod
    def open(cls, db_url: str | None) -> ClinicBoard:
        """The board of the database at ``db_url`` (default: this computer's); raises DatabaseUnavailable."""
        return cls(open_database(db_url))

    @property
    def where(self) -> str:
        """The database, for the status line (without a password)."""
        return self.database.url.render_as_string(hide_password=True)

    @cached_property
    def users(self) -> UserDirectory:
        """The clinic's user accounts (the central station's login)."""
        return UserDirectory(self.database)

    def poll(self, now: int | None = None) -> list[ChairView]:
        """Every chair recording now, from the rows written since the last poll (call a few times a second)."""
        return self._board.poll(now)

    def acknowledge(self, session_id: int, alarm: ChairAlarm, user: str) -> None:
        """Acknowledge ``alarm`` of that chair: a row in its alarm log, which the chair's station applies."""
        acknowledge_at_central(self.database, session_id, alarm, user)

    def pause_audio(self, session_id: int, user: str, seconds: float) -> None:
        pause_audio_at_central(self.database, session_id, user, seconds)

    def close(self) -> None:
        self.database.dispose()


# ``make demo-clinic``: bed, scenario, patient, minutes already recorded
DEMO_CHAIRS = (
    ("chair 1", "demo.toml", "DEMO-001", 45.0),
    ("chair 2", "esketamine-session.toml", "DEMO-002", 20.0),
    ("chair 3", "desaturation.toml", "DEMO-003", 2.0),
)


def _scenario(name: str, patient: str) -> Scenario:
    scenario = Scenario.load(resources_dir() / "scenarios" / name)
    about = dict(scenario.sections.get("session", {}))
    about["patient"] = patient
    return replace(scenario, sections={**scenario.sections, "session": about})


@contextmanager
def demo_clinic(
    say: Callable[[str], None], chairs: Sequence[tuple[str, str, str, float]] = DEMO_CHAIRS
) -> Iterator[str]:
    """A private PostgreSQL server with a clinic database and a full bedside station recording at each chair
    (simulated oximeter and cuff on pseudo-terminals, started part-way into its scenario); yields the
    database's URL. Everything is stopped and removed again on leaving. Raises ServerUnavailable when no
    PostgreSQL server can be started here."""
    server = start_local_server()
    stations: list[Station] = []
    try:
        url = server.create_database("clinic")
        say(f"demo clinic database {url}")
        for bed, name, patient, minutes in chairs:
            station = Station(url, bed=bed)
            station.user = "demo nurse"
            stations.append(station)
            say(f"starting {bed} ({patient}, {name})")
            start_demo(station, _scenario(name, patient), already_minutes=minutes)
        yield url
    finally:
        for station in stations:
            station.stop()
        server.cleanup()
