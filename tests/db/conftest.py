from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from db import create_schema, make_engine, make_sessionmaker


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[object]:
    engine = make_engine(database_url)
    await create_schema(engine)
    yield make_sessionmaker(engine)
    await engine.dispose()
