from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from db import make_engine, make_sessionmaker


@pytest.fixture
async def sessions(migrated_database_url: str) -> AsyncIterator[object]:
    engine = make_engine(migrated_database_url)
    yield make_sessionmaker(engine)
    await engine.dispose()
