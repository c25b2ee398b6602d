"""The clinical record: one row per entry, never changed, and the protocol each record checks doses against.

Triggers (SQLite and PostgreSQL) refuse any UPDATE or DELETE of these rows: corrections are amendment rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kapmonitor.store.append_only import create_guards, drop_guards

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
    dialect = op.get_bind().dialect.name
    for table in _APPEND_ONLY:
        create_guards(op.execute, dialect, table, f"{table} rows are never changed: enter an amendment")


def downgrade() -> None:
    for table in _APPEND_ONLY:
        drop_guards(op.execute, op.get_bind().dialect.name, table)
    op.drop_index("ix_clinical_entry_session_seq", table_name="clinical_entry")
    op.drop_table("clinical_entry")
    op.drop_table("clinical_record")
