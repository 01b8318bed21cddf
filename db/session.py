"""Async engine and session factory for SQLite (embedded) and PostgreSQL (distributed)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine


def make_engine(url: str) -> AsyncEngine:
    """An engine for `url`; SQLite gets WAL and write-locking transactions (no 'locked' errors)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(url)
    _ping_idle_connections(engine)
    return engine


# Seconds a pooled PostgreSQL connection may lie unused before it is checked on its way out.
PING_AFTER_IDLE_S = 10.0


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Check a pooled connection before use only if it lay idle PING_AFTER_IDLE_S or longer;
    if the server dropped it, the pool discards it and every connection older (a restart
    takes them all) and hands out a new one, unseen by the caller. SQLAlchemy's
    pool_pre_ping checks at every checkout, which on asyncpg costs three round trips (BEGIN,
    a ping, ROLLBACK): a third of the Python time of creating a job. A connection in steady
    use that a restart cut fails its next statement instead; SQLAlchemy then discards every
    connection the pool held, so a process sees one failed operation per restart."""
    dialect = engine.dialect

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise InvalidatePoolError("an idle pooled connection was closed") from error


def _configure_sqlite(engine: AsyncEngine) -> None:
    # pysqlite's own transaction handling defers BEGIN and then fails with "database is locked"
    # when two writers upgrade at once; taking the write lock up front makes writers queue on
    # busy_timeout instead.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)
