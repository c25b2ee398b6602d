"""The first schema: patients, sessions, devices, numeric readings, waveform chunks, link events.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _track_columns() -> list[sa.Column]:
    return [
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("session.id"), nullable=False),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("device.id"), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "patient",
        _id(),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("weight_kg", sa.Float(), nullable=True),
    )
    op.create_table(
        "session",
        _id(),
        sa.Column("patient_id", sa.Integer(), sa.ForeignKey("patient.id"), nullable=False),
        sa.Column("protocol", sa.String(200), nullable=False),
        sa.Column("room", sa.String(100), nullable=False),
        sa.Column("nurse", sa.String(200), nullable=False),
        sa.Column("prescriber", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_us", sa.BigInteger(), nullable=True),
        sa.Column("end_us", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_session_patient_id", "session", ["patient_id"])
    op.create_table(
        "device",
        _id(),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("session.id"), nullable=False),
        sa.Column("device", sa.String(300), nullable=False),
        sa.Column("protocol", sa.String(64), nullable=False),
        sa.Column("address", sa.String(255), nullable=False),
    )
    op.create_index("ix_device_session_device", "device", ["session_id", "device"], unique=True)
    op.create_table(
        "numeric_reading",
        _id(),
        *_track_columns(),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("t_us", sa.BigInteger(), nullable=False),
        sa.Column("t_device_us", sa.BigInteger(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("flags", sa.Text(), nullable=False),
    )
    op.create_index("ix_numeric_track_time", "numeric_reading", ["session_id", "device_id", "metric", "t_us"])
    op.create_table(
        "wave_chunk",
        _id(),
        *_track_columns(),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("t_us", sa.BigInteger(), nullable=False),
        sa.Column("rate_hz", sa.Float(), nullable=False),
        sa.Column("n_samples", sa.Integer(), nullable=False),
        sa.Column("samples", sa.LargeBinary(), nullable=False),
        sa.Column("flags", sa.Text(), nullable=False),
    )
    op.create_index("ix_wave_track_time", "wave_chunk", ["session_id", "device_id", "metric", "t_us"])
    op.create_table(
        "link_event",
        _id(),
        *_track_columns(),
        sa.Column("t_us", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    op.create_index("ix_link_event_session_time", "link_event", ["session_id", "device_id", "t_us"])


def downgrade() -> None:
    for table in ("link_event", "wave_chunk", "numeric_reading", "device", "session", "patient"):
        op.drop_table(table)
