"""Users and roles, the hash-chained audit trail, and session owners for crash recovery.

Triggers (SQLite and PostgreSQL) refuse UPDATE and DELETE on the audit table. They are a guard against mistakes
and casual edits, not the proof: anyone with the file (or the database's owner) can drop a trigger. The proof is
the hash chain, which ``kapmonitor audit verify`` checks.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kapmonitor.store.append_only import create_guards, drop_guards

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None



def upgrade() -> None:
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("roles", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
    )
    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("t_us", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "session_owner",
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("session.id"), primary_key=True),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("process_start", sa.String(64), nullable=False),
        sa.Column("claimed_us", sa.BigInteger(), nullable=False),
        sa.Column("heartbeat_us", sa.BigInteger(), nullable=False),
    )
    create_guards(op.execute, op.get_bind().dialect.name, "audit_entry", "the audit trail is append-only")


def downgrade() -> None:
    drop_guards(op.execute, op.get_bind().dialect.name, "audit_entry")
    for table in ("session_owner", "audit_entry", "user_account"):
        op.drop_table(table)
