"""The alarm log: one row per alarm event, with its session and who acted.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alarm_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("session.id"), nullable=False),
        sa.Column("t_us", sa.BigInteger(), nullable=False),
        sa.Column("alarm_id", sa.String(400), nullable=False),
        sa.Column("alarm", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(10), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("device", sa.String(300), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("limit_value", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
    )
    op.create_index("ix_alarm_event_session_time", "alarm_event", ["session_id", "t_us"])


def downgrade() -> None:
    op.drop_table("alarm_event")
