"""Beds: every session names the bed (chair) it is recorded at, and a session's owner names the bed holding it;
an alarm log row names where it was written ("" at the chair's own station, "central" at the central station).

A clinic's stations share one database; the bed tells the central station and the review which chair a session
was in, and keeps a session from being recorded at two beds at once. Sessions recorded before this had no bed
name: they get "".

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("session", sa.Column("bed", sa.String(100), nullable=False, server_default=""))
    op.add_column("session_owner", sa.Column("bed", sa.String(100), nullable=False, server_default=""))
    op.add_column("alarm_event", sa.Column("origin", sa.String(100), nullable=False, server_default=""))
    # The central station asks for the sessions in progress, often.
    op.create_index("ix_session_status", "session", ["status"])


def downgrade() -> None:
    op.drop_index("ix_session_status", table_name="session")
    with op.batch_alter_table("alarm_event") as batch:
        batch.drop_column("origin")
    with op.batch_alter_table("session_owner") as batch:
        batch.drop_column("bed")
    with op.batch_alter_table("session") as batch:
        batch.drop_column("bed")
