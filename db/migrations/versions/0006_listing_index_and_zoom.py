"""history listing index, zoom factor

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("zoom", sa.Float(), nullable=True))
    op.create_index(
        "ix_jobs_listing",
        "jobs",
        ["user_id", "created_at", "id"],
        postgresql_where=sa.text("deleted_at IS NULL"),
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_include=["stealth", "state", "favourite"],
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_listing", table_name="jobs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("zoom")
