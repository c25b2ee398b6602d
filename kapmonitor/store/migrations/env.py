"""Alembic environment, run in code by kapmonitor.store.db (no alembic.ini)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from alembic import context
from sqlalchemy import Connection, Engine, text

from kapmonitor.store.db import engine_for
from kapmonitor.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# One upgrade at a time: stations of a clinic starting together after an update, or the app and a command on one
# file, would otherwise each run the same migration and all but one fail ("table ... already exists"). The one
# that waited then finds the schema current and runs nothing.
UPGRADE_LOCK_KEY = 0x6B61706D  # PostgreSQL advisory lock key: "kapm"


@contextlib.contextmanager
def _sqlite_file_locked(engine: Engine) -> Iterator[None]:
    """An exclusive flock on the database file itself for the upgrade (SQLite's own locks are fcntl locks, which
    flock does not touch); nothing to lock for a database in memory or a platform without flock."""
    database = engine.url.database
    try:
        import fcntl
    except ImportError:  # no flock here: upgrades are not serialised
        yield
        return
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    try:
        handle = Path(database).expanduser().open("ab")  # creates the empty file SQLite takes as a new database
    except OSError:  # a read-only file or folder: nothing will be written, so nothing to serialise
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _lock_postgresql(connection: Connection) -> None:
    """Held to the end of the upgrade's transaction; taken before alembic reads the schema's version."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK_KEY})


def run_online() -> None:
    engine: Engine | None = config.attributes.get("engine")
    owned = engine is None
    if engine is None:
        engine = engine_for(config.get_main_option("sqlalchemy.url"))
    try:
        with _sqlite_file_locked(engine), engine.connect() as connection:
            # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds tables when
            # a migration needs to.
            context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                _lock_postgresql(connection)
                context.run_migrations()
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
