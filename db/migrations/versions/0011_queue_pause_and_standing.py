"""moderators can pause a guild's queue; indexes for a user's standing in the queue

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("queue_paused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_jobs_user_finished", "jobs", ["user_id", "finished_at"])
    op.create_index("ix_jobs_user_state", "jobs", ["user_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_jobs_user_state", table_name="jobs")
    op.drop_index("ix_jobs_user_finished", table_name="jobs")
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.drop_column("queue_paused")
