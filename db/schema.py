"""Schema migrations with Alembic: `upgrade` brings any database to the current schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


# procrastinate's tables (distributed mode, migration 0014) are its own, not our models'.
QUEUE_ENGINE_PREFIX = "procrastinate_"


def ours(name: str | None, type_: str, _parents: Any = None) -> bool:
    """Whether a schema object is one of our models' (Alembic's `include_name` hook)."""
    return not (type_ == "table" and name is not None and name.startswith(QUEUE_ENGINE_PREFIX))


def alembic_config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply every migration up to `revision` (idempotent; run at embedded start-up)."""

    def _upgrade(connection: Any) -> None:
        command.upgrade(alembic_config(connection), revision)

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def current_revision(engine: AsyncEngine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def _current(connection: Any) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_current)
