from __future__ import annotations

from pathlib import Path

import pytest

from db import JobRepository, make_engine, make_sessionmaker, upgrade_schema


@pytest.fixture
async def repo(tmp_path: Path):
    """Jobs on a real SQLite database of the test's own."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}")
    await upgrade_schema(engine)
    yield JobRepository(make_sessionmaker(engine))
    await engine.dispose()
