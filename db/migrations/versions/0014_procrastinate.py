"""procrastinate's schema on PostgreSQL: the dispatch tickets of distributed mode

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 07:30:00

Its SQL is procrastinate's own (`SchemaManager.get_schema()` of the pinned 3.10 series); a
later procrastinate release comes with a migration that applies its migration files.
SQLite databases (embedded mode, no procrastinate) are left as they are.
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy.util import await_only

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _script(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _script(_DROP)


def _script(sql: str) -> None:
    """Several statements, some with semicolons inside function bodies: one simple-protocol
    call (asyncpg's execute without arguments) inside the migration's transaction."""
    driver = op.get_bind().connection.driver_connection
    assert driver is not None  # a live asyncpg connection inside the migration
    await_only(driver.execute(sql))


_DROP = """
DO $$
DECLARE f record;
BEGIN
    FOR f IN SELECT oid::regprocedure AS signature FROM pg_proc
             WHERE proname LIKE 'procrastinate\\_%' LOOP
        EXECUTE 'DROP FUNCTION IF EXISTS ' || f.signature || ' CASCADE';
    END LOOP;
END $$;
DROP TABLE IF EXISTS procrastinate_periodic_defers, procrastinate_events,
    procrastinate_jobs, procrastinate_workers CASCADE;
DROP TYPE IF EXISTS procrastinate_job_event_type, procrastinate_job_status,
    procrastinate_job_to_defer_v1 CASCADE;
"""
