"""Opening the database: any SQLAlchemy URL, SQLite tuned for a recorder, and Alembic migrations run in code.

No alembic.ini is needed at run time: the Alembic configuration is built here and points at the migrations
that ship inside the package.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
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
        reason = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]  # psycopg adds hint lines
        raise DatabaseUnavailable(f"cannot open database {shown}: {reason}") from error


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
    try:
        upgrade_engine(engine)
    except BaseException:
        engine.dispose()  # a database that cannot be opened keeps no file open
        raise
    return engine


def _sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names (None: not SQLite, in memory, or a URI filename left as given)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _read_only_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _read_only_engine(path: Path) -> Engine:
    """SQLite opened read-only: ``mode=ro`` where its directory lets SQLite keep the WAL index, else
    ``immutable=1`` (a read-only disk or directory, where nobody can be writing it)."""
    immutable = not os.access(path.parent, os.W_OK)
    uri = f"file:{quote(str(path.resolve()))}?" + ("immutable=1" if immutable else "mode=ro")

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)

    engine = create_engine("sqlite://", creator=connect)
    event.listen(engine, "connect", _read_only_pragmas)
    return engine


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _at_newest_schema(engine: Engine) -> bool:
    heads = set(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads()) == heads


def open_for_reading(url: str | None = None) -> Engine:
    """An engine for commands that only read (``sessions list/show/export``, ``audit verify``).

    A database that does not exist is refused, never created. An SQLite file this account cannot write (a
    read-only disk, a copy handed over for review) is opened read-only instead of migrated; it must already be
    at the newest schema.
    """
    url = url or default_db_url()
    try:
        path = _sqlite_file(url)
    except exc.ArgumentError as error:
        raise DatabaseUnavailable(f"cannot use database {_shown(url)}: {error}") from error
    if path is None:
        return open_database(url)
    if not path.is_file():
        raise DatabaseUnavailable(f"no database at {path} (a command that only reads never creates one)")
    if _writable(path):
        return open_database(url)
    engine = _read_only_engine(path)
    try:
        current = _at_newest_schema(engine)
    except exc.DBAPIError as error:
        engine.dispose()
        raise DatabaseUnavailable(f"cannot open database {path} read-only: {error.orig}") from error
    if not current:
        engine.dispose()
        raise DatabaseUnavailable(
            f"database {path} is read-only and older than this kapmonitor; upgrade a writable copy "
            "with `kapmonitor db upgrade --db URL`"
        )
    return engine


def inserted_id(result: CursorResult[Any]) -> int:
    """The id of the row a single-row INSERT just added (every kapmonitor table has an integer key)."""
    key = result.inserted_primary_key
    if key is None:  # only an executemany or a non-INSERT has none: a programming error, not bad input
        raise RuntimeError("the statement was not a single-row INSERT")
    return int(key[0])
