"""The HL7 outbox: messages for a clinic's interface engine, kept until the engine accepts them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hl7_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("session_id", sa.Integer(), sa.ForeignKey("session.id"), nullable=True),
        sa.Column("destination", sa.String(300), nullable=False),
        sa.Column("control_id", sa.String(64), nullable=False),
        sa.Column("t_us", sa.BigInteger(), nullable=False),
        sa.Column("queued_us", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_attempt_us", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=False, server_default=""),
        sa.Column("sent_us", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_hl7_outbox_queue", "hl7_outbox", ["destination", "status", "id"])
    op.create_index("ux_hl7_outbox_control", "hl7_outbox", ["destination", "control_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_hl7_outbox_control", table_name="hl7_outbox")
    op.drop_index("ix_hl7_outbox_queue", table_name="hl7_outbox")
    op.drop_table("hl7_outbox")
