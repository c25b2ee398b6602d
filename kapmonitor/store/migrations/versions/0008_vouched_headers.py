"""Vouched headers: a user account can be deactivated (kept, with its history, but no longer able to log in or
sign), and from this version on kapmonitor vouches for every patient, session, device, clinical record header and
user account row it writes with an audit entry (``store/header_proof.py``).

Rows written before this version have no such entry. The migration does not write audit entries (that needs the
installation's audit key, which a migration may not hold); ``kapmonitor audit vouch`` does, once, on a
workstation that holds the key (docs/audit.md says what that promises for those rows).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("user_account", sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("active")
