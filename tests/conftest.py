"""Test configuration shared by every test: Qt offscreen, a throw-away data directory, no stray threads; and
the empty clinic database the store tests start from (``db_url``, ``engine``), once on SQLite and once on a real
PostgreSQL server that this test run starts (``pg_server``).

Without PostgreSQL installed the PostgreSQL half is skipped with the reason; where it must run (CI, or
``make test``, which sets KAPMONITOR_REQUIRE_POSTGRES=1) a server that cannot start fails those tests instead."""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from kapmonitor.store.db import open_database
from kapmonitor.store.pg_server import LocalServer, ServerUnavailable, start_local_server

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session", autouse=True)
def _audit_key_for_the_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One audit key file for the whole run, so a database a module-scoped fixture wrote verifies in every test
    (each test still gets its own configuration directory); never the keyring of the account running the tests.
    tests/test_trust_audit_key.py exercises the keyring and the key's own file with settings of its own."""
    saved = {k: os.environ.get(k) for k in ("KAPMONITOR_AUDIT_KEY_STORE", "KAPMONITOR_AUDIT_KEY_FILE")}
    os.environ["KAPMONITOR_AUDIT_KEY_STORE"] = "file"
    os.environ["KAPMONITOR_AUDIT_KEY_FILE"] = str(tmp_path_factory.mktemp("audit-key") / "audit.key")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


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


def postgres_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("KAPMONITOR_REQUIRE_POSTGRES"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[LocalServer]:
    """One PostgreSQL server for the whole test run, on loopback and a free port; stopped and removed after."""
    try:
        server = start_local_server()
    except ServerUnavailable as error:
        if postgres_required():
            pytest.fail(f"PostgreSQL is required here but did not start: {error}", pytrace=False)
        pytest.skip(f"no PostgreSQL server: {error}")
    yield server
    server.cleanup()


_databases = itertools.count(1)


def fresh_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    server: LocalServer = request.getfixturevalue("pg_server")
    return server.create_database(f"test_{os.getpid()}_{next(_databases)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database for one test: a SQLite file, then a database on the test run's PostgreSQL."""
    return fresh_database_url(request.param, tmp_path, request)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file, for tests about the embedded database itself (its file, its locks)."""
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The database at ``db_url``, migrated to the current schema; disposed after the test."""
    engine = open_database(db_url)
    yield engine
    engine.dispose()
