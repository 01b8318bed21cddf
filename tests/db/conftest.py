from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from db import make_engine, make_sessionmaker, upgrade_schema


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[object]:
    engine = make_engine(database_url)
    await upgrade_schema(engine)
    yield make_sessionmaker(engine)
    await engine.dispose()
