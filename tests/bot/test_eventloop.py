import asyncio

import pytest
import uvloop

from bot import eventloop


async def _loop_and(value: int) -> tuple[type, int]:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()), value


def test_serve_runs_on_uvloop_where_it_is_installed():
    loop_type, value = eventloop.serve(_loop_and(7))
    assert issubclass(loop_type, uvloop.Loop)
    assert value == 7


def test_serve_falls_back_to_asyncio_s_loop_without_uvloop(monkeypatch):
    monkeypatch.setattr(eventloop, "uvloop", None)
    loop_type, value = eventloop.serve(_loop_and(3))
    assert not issubclass(loop_type, uvloop.Loop)
    assert issubclass(loop_type, asyncio.BaseEventLoop)
    assert value == 3


def test_serve_passes_the_coroutine_s_exception_on():
    async def fails() -> None:
        raise LookupError("no such job")

    with pytest.raises(LookupError, match="no such job"):
        eventloop.serve(fails())
