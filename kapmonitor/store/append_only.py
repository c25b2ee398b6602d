"""Database guards that refuse UPDATE and DELETE of rows that are never changed (the clinical record, the audit
trail, packed blocks of readings), as SQLite triggers or PostgreSQL triggers, and the guards of the recording's
staging tables (a row leaves only once a block holds it). Used by the migrations that create those tables.

They guard against mistakes and casual edits, not against someone who owns the database: the audit trail's proof
is its hash chain, which ``kapmonitor audit verify`` checks.
"""

from __future__ import annotations

from collections.abc import Callable

# One PostgreSQL function raises for every guarded table; each trigger passes the message as its argument.
_PG_FUNCTION = "kapmonitor_append_only"


def create_guards(execute: Callable[[str], object], dialect: str, table: str, message: str) -> None:
    """Triggers on ``table`` that refuse UPDATE and DELETE (and on PostgreSQL TRUNCATE) with ``message``."""
    if dialect == "sqlite":
        for action in ("UPDATE", "DELETE"):
            execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
    elif dialect == "postgresql":
        execute(
            f"CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        for action, level in (("UPDATE", "ROW"), ("DELETE", "ROW"), ("TRUNCATE", "STATEMENT")):
            execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"FOR EACH {level} EXECUTE FUNCTION {_PG_FUNCTION}('{message}')"
            )


def drop_guards(execute: Callable[[str], object], dialect: str, table: str) -> None:
    if dialect == "sqlite":
        for action in ("update", "delete"):
            execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    elif dialect == "postgresql":
        for action in ("update", "delete", "truncate"):
            execute(f"DROP TRIGGER IF EXISTS {table}_no_{action} ON {table}")


def _covered(block: str, row: str) -> str:
    """SQL true when a block of ``block`` holds the staged row ``row`` (OLD): same track, its id in the block's
    row range and its time in the block's time range."""
    return (
        f"EXISTS (SELECT 1 FROM {block} b WHERE b.session_id = {row}.session_id AND b.device_id = {row}.device_id "
        f"AND b.metric = {row}.metric AND {row}.id BETWEEN b.first_row AND b.last_row "
        f"AND {row}.t_us BETWEEN b.first_us AND b.last_us)"
    )


def create_staging_guards(
    execute: Callable[[str], object], dialect: str, staging: str, block: str, *, updatable: bool
) -> None:
    """Triggers on a staging table (rows waiting to be packed into ``block``): a row is DELETEd only when a block
    already holds it; an UPDATE is refused always (``updatable`` False) or once a block holds the row (a waveform
    row is extended while it is the newest); TRUNCATE is refused (PostgreSQL)."""
    refuse_delete = f"a {staging} row is deleted only once a {block} holds it"
    refuse_update = f"{staging} rows are never changed" if not updatable else f"a packed {staging} row is never changed"
    if dialect == "sqlite":
        execute(
            f"CREATE TRIGGER {staging}_delete_packed BEFORE DELETE ON {staging} "
            f"WHEN NOT {_covered(block, 'OLD')} BEGIN SELECT RAISE(ABORT, '{refuse_delete}'); END"
        )
        when = f" WHEN {_covered(block, 'OLD')}" if updatable else ""
        execute(
            f"CREATE TRIGGER {staging}_no_update BEFORE UPDATE ON {staging}{when} "
            f"BEGIN SELECT RAISE(ABORT, '{refuse_update}'); END"
        )
    elif dialect == "postgresql":
        raise_ = "RAISE EXCEPTION '%', {} USING ERRCODE = 'insufficient_privilege'"
        execute(
            f"CREATE OR REPLACE FUNCTION {staging}_delete_packed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NOT {_covered(block, 'OLD')} THEN {raise_.format(repr(refuse_delete))}; END IF; RETURN OLD; END $$"
        )
        execute(
            f"CREATE TRIGGER {staging}_delete_packed BEFORE DELETE ON {staging} "
            f"FOR EACH ROW EXECUTE FUNCTION {staging}_delete_packed()"
        )
        check = _covered(block, "OLD") if updatable else "TRUE"
        execute(
            f"CREATE OR REPLACE FUNCTION {staging}_no_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF {check} THEN {raise_.format(repr(refuse_update))}; END IF; RETURN NEW; END $$"
        )
        execute(
            f"CREATE TRIGGER {staging}_no_update BEFORE UPDATE ON {staging} "
            f"FOR EACH ROW EXECUTE FUNCTION {staging}_no_update()"
        )
        execute(
            f"CREATE TRIGGER {staging}_no_truncate BEFORE TRUNCATE ON {staging} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}('{staging} rows are removed only by packing')"
        )


def drop_staging_guards(execute: Callable[[str], object], dialect: str, staging: str) -> None:
    if dialect == "sqlite":
        for name in ("delete_packed", "no_update"):
            execute(f"DROP TRIGGER IF EXISTS {staging}_{name}")
    elif dialect == "postgresql":
        for name in ("delete_packed", "no_update", "no_truncate"):
            execute(f"DROP TRIGGER IF EXISTS {staging}_{name} ON {staging}")
        for name in ("delete_packed", "no_update"):
            execute(f"DROP FUNCTION IF EXISTS {staging}_{name}()")
