"""Test configuration shared by every test: Qt offscreen, a throw-away data directory, no stray threads; and
the empty clinic database the store tests start from (``db_url``, ``engine``)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kapmonitor.store.db import open_database

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path_factory.mktemp("kapmonitor-home")
    monkeypatch.setenv("KAPMONITOR_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("KAPMONITOR_CONFIG_DIR", str(base / "config"))


@pytest.fixture(autouse=True)
def _no_leaked_threads() -> object:
    """Fail a test that leaves a kapmonitor thread running (a transport, the hub, the recorder)."""
    before = {t.ident for t in threading.enumerate()}
    yield
    leaked = [
        t
        for t in threading.enumerate()
        if t.ident not in before and t.name.startswith("kapmonitor") and t.is_alive()
    ]
    for t in leaked:
        t.join(timeout=2.0)
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"threads left running: {still}"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for one test."""
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The database at ``db_url``, migrated to the current schema; disposed after the test."""
    engine = open_database(db_url)
    yield engine
    engine.dispose()
