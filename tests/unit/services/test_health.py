"""Readiness from the worker registry on a real SQLite database: a preset is served while a
worker's heartbeat is fresh, not after it lapses or the worker leaves; Discord and the
database are named when they are what is wrong."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from db import JobStats, WorkerRegistry, make_engine, make_sessionmaker
from db.models import WorkerRow, utcnow
from services.health import Health
from tests.conftest import copy_sqlite_schema


async def test_ready_while_a_live_worker_serves_each_preset(tmp_path, sqlite_schema):
    engine = make_engine(copy_sqlite_schema(sqlite_schema, tmp_path / "h.db"))
    sessions = make_sessionmaker(engine)
    workers = WorkerRegistry(sessions)
    health = Health(JobStats(sessions), workers, ["sdxl", "tiny"], lease_s=30)
    assert await health.problems() == ["no live worker serves sdxl, tiny"]
    await workers.beat("gpu-1", ["tiny"])
    assert await health.problems() == ["no live worker serves sdxl"]
    await workers.beat("gpu-2", ["sdxl", "tiny"])
    assert await health.problems() == []
    async with sessions() as session, session.begin():  # gpu-2 went quiet a minute ago
        await session.execute(
            update(WorkerRow)
            .where(WorkerRow.worker_id == "gpu-2")
            .values(seen_at=utcnow() - timedelta(minutes=1))
        )
    assert await health.problems() == ["no live worker serves sdxl"]
    await workers.leave("gpu-1")
    assert [w.worker_id for w in await workers.live(utcnow() - timedelta(hours=1))] == ["gpu-2"]
    connected = [False]
    health.discord_connected = lambda: connected[0]
    assert "Discord is not connected" in await health.problems()
    await engine.dispose()
    (tmp_path / "h.db").unlink()
    broken = make_sessionmaker(make_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/x.db"))
    down = Health(JobStats(broken), WorkerRegistry(broken), ["tiny"], lease_s=30)
    [problem] = await down.problems()
    assert problem.startswith("the database is unreachable")
