"""Opening the database: any SQLAlchemy URL, SQLite tuned for a recorder, and Alembic migrations run in code.

No alembic.ini is needed at run time: the Alembic configuration is built here and points at the migrations
that ship inside the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import CursorResult, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

from kapmonitor.core.errors import UserError
from kapmonitor.core.paths import default_db_url

MIGRATIONS = Path(__file__).with_name("migrations")
# How long a writer waits for another connection's lock before SQLite reports "database is locked".
BUSY_TIMEOUT_MS = 5000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the review window, `sessions list`) run while the recorder writes; NORMAL still
    # survives a
    # killed process (only a power cut can lose the last commits).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


class DatabaseUnavailable(UserError):
    """The database URL cannot be used: a typo, a missing driver, a directory that cannot be created."""


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return url


def engine_for(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: SQLite in the user data directory). Does not migrate."""
    url = url or default_db_url()
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return create_engine(url, pool_pre_ping=True)
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    except (exc.ArgumentError, ImportError, OSError) as error:
        raise DatabaseUnavailable(f"cannot use database {_shown(url)}: {error}") from error
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    config.attributes["engine"] = engine
    return config


def upgrade_engine(engine: Engine) -> None:
    try:
        command.upgrade(alembic_config(engine), "head")
    except exc.DBAPIError as error:  # cannot connect, read-only file, not a database
        shown = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"cannot open database {shown}: {error.orig}") from error


def upgrade(url: str | None = None) -> str:
    """Bring the database at ``url`` to the newest schema (creating it if empty); returns the URL used."""
    url = url or default_db_url()
    engine = engine_for(url)
    try:
        upgrade_engine(engine)
    finally:
        engine.dispose()
    return url


def open_database(url: str | None = None) -> Engine:
    """Migrate, then return an engine ready for the recorder and the repository."""
    engine = engine_for(url)
    upgrade_engine(engine)
    return engine


def inserted_id(result: CursorResult[Any]) -> int:
    """The id of the row a single-row INSERT just added (every kapmonitor table has an integer key)."""
    key = result.inserted_primary_key
    if key is None:  # only an executemany or a non-INSERT has none: a programming error, not bad input
        raise RuntimeError("the statement was not a single-row INSERT")
    return int(key[0])
