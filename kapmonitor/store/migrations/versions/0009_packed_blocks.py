"""Packed blocks of readings and waveform rows: a session's record on disk at a fraction of its size.

``numeric_block`` and ``wave_block`` hold a track's rows, many to a row (``store/packing.py``); the row tables
become the staging area the recorder writes first. Blocks are never changed (the append-only guards); a staged
row may be deleted only when a block holds it, and a reading is never changed (staging guards). Rows written
before this migration stay where they are and are read together with any blocks.

The readings' covering track index (0005) gives way to one on (session, time): staged rows are few, read a
session at a time, and arrive in time order, so that index stays compact, where PostgreSQL kept the covering
index (four tracks inserting in four places) at half-empty pages, 0.7 MB for the few hundred staged rows of a
4-hour session (migration 0005's note: 5.9 MB for all its readings).

On SQLite the two staging tables are rebuilt with AUTOINCREMENT keys: SQLite otherwise hands out the highest id
plus one, so once packing had emptied a table its ids would start again from 1, and a block's row ids (which
readers that follow a running session, the central station and the guards go by) would no longer name one row.
PostgreSQL's sequences never go back.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kapmonitor.store.append_only import create_guards, create_staging_guards, drop_guards, drop_staging_guards

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


TRACK = ["session_id", "device_id", "metric"]


def _block_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("session.id"), nullable=False),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("device.id"), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("first_row", sa.Integer(), nullable=False),
        sa.Column("last_row", sa.Integer(), nullable=False),
        sa.Column("first_us", sa.BigInteger(), nullable=False),
        sa.Column("last_us", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "numeric_block",
        *_block_columns(),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "wave_block",
        *_block_columns(),
        sa.Column("end_us", sa.BigInteger(), nullable=False),
        sa.Column("n_rows", sa.Integer(), nullable=False),
        sa.Column("n_samples", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_numeric_block_track", "numeric_block", [*TRACK, "first_row"])
    op.create_index("ix_wave_block_track", "wave_block", [*TRACK, "first_row"])
    for table in ("numeric_block", "wave_block"):
        create_guards(op.execute, dialect, table, f"{table} rows are never changed")
    op.create_index("ix_numeric_session_time", "numeric_reading", ["session_id", "t_us"])
    op.drop_index("ix_numeric_track_cover", table_name="numeric_reading")
    if dialect == "sqlite":
        for staging in ("numeric_reading", "wave_chunk"):
            with op.batch_alter_table(staging, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
                pass
    create_staging_guards(op.execute, dialect, "numeric_reading", "numeric_block", updatable=False)
    create_staging_guards(op.execute, dialect, "wave_chunk", "wave_block", updatable=True)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for staging in ("numeric_reading", "wave_chunk"):
        drop_staging_guards(op.execute, dialect, staging)
    op.create_index("ix_numeric_track_cover", "numeric_reading", [*TRACK, "t_us", "id", "value", "flags"])
    op.drop_index("ix_numeric_session_time", table_name="numeric_reading")
    for table in ("wave_block", "numeric_block"):
        drop_guards(op.execute, dialect, table)
        op.drop_table(table)
