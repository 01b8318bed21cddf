from __future__ import annotations

from pathlib import Path

import pytest

from db import make_engine, make_sessionmaker
from testing.jobs import job_tables
from tests.conftest import copy_sqlite_schema


@pytest.fixture
async def repo(tmp_path: Path, sqlite_schema: Path):
    """Jobs on a real SQLite database of the test's own."""
    engine = make_engine(copy_sqlite_schema(sqlite_schema, tmp_path / "w.db"))
    yield job_tables(make_sessionmaker(engine))
    await engine.dispose()
