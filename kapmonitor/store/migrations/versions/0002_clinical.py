"""The clinical record: one row per entry, never changed, and the protocol each record checks doses against.

On SQLite, triggers refuse any UPDATE or DELETE of these rows: corrections are amendment rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_APPEND_ONLY = ("clinical_record", "clinical_entry")


def upgrade() -> None:
    op.create_table(
        "clinical_record",
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("session.id"), primary_key=True),
        sa.Column("protocol", sa.String(200), nullable=False),
        sa.Column("max_mg_per_kg", sa.Float(), nullable=True),
    )
    op.create_table(
        "clinical_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("session.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("t_us", sa.BigInteger(), nullable=False),
        sa.Column("entered_us", sa.BigInteger(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("amends_seq", sa.Integer(), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
    )
    op.create_index("ix_clinical_entry_session_seq", "clinical_entry", ["session_id", "seq"], unique=True)
    if op.get_bind().dialect.name == "sqlite":
        for table in _APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} rows are never changed: enter an amendment'); END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in _APPEND_ONLY:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    op.drop_index("ix_clinical_entry_session_seq", table_name="clinical_entry")
    op.drop_table("clinical_entry")
    op.drop_table("clinical_record")
