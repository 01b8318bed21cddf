from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from db import make_engine, upgrade_schema
from db.models import Base
from db.schema import alembic_config, current_revision, ours


async def test_migrations_build_exactly_the_models_and_rerun_harmlessly(database_url):
    engine = make_engine(database_url)
    try:
        await upgrade_schema(engine)
        await upgrade_schema(engine)
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert head is not None and await current_revision(engine) == head

        def diff(connection):
            context = MigrationContext.configure(
                connection, opts={"compare_type": False, "include_name": ours}
            )
            return compare_metadata(context, Base.metadata)

        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()
