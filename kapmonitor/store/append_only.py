"""Database guards that refuse UPDATE and DELETE of rows that are never changed (the clinical record, the audit
trail), as SQLite triggers or PostgreSQL triggers. Used by the migrations that create those tables.

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
