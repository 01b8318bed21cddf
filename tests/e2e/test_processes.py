"""What a running `imaginebot run` process has loaded: a bot whose workers run elsewhere
(PostgreSQL, no embedded worker) never loads torch; an embedded bot, which renders, does."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import _postgres_database

IMAGINEBOT = str(Path(sys.executable).parent / "imaginebot")
pytestmark = pytest.mark.slow


def _torch_libraries(pid: int) -> set[str]:
    """The shared libraries of torch mapped into process `pid`."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {
        line.split()[-1]
        for line in maps.splitlines()
        if ("/torch/" in line and line.rstrip().endswith(".so")) or "libtorch" in line
    }


async def _libraries_once_ready(fake, world, tmp_path: Path, **settings: str) -> set[str]:
    """Start the bot as a server owner does, wait until it synced its commands (ready), and
    read what it has loaded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGINEBOT_", "DISCORD_"))}
    env.update({f"IMAGINEBOT_{k.upper()}": v for k, v in settings.items()})
    env.update(
        DISCORD_TOKEN=fake.token,
        DISCORD_API_BASE=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        IMAGINEBOT_GUILD_IDS=str(world.guild.id),
        IMAGINEBOT_DATA_DIR=str(tmp_path / "data"),
        IMAGINEBOT_GUILD_READY_TIMEOUT_S="0.2",
    )
    process = await asyncio.create_subprocess_exec(
        IMAGINEBOT, "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        await fake.wait_for(
            lambda: bool(fake.commands(world.guild)) or process.returncode is not None,
            timeout=120,
        )
        assert process.returncode is None, (await process.stderr.read()).decode()[-2000:]
        return _torch_libraries(process.pid)
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.postgres
async def test_a_bot_whose_workers_run_elsewhere_never_loads_torch(
    fake, world, tmp_path, postgres_schema
):
    async for url in _postgres_database(template=postgres_schema):
        # The semantic moderation layers run MiniLM on torch in the bot: off here, so that
        # only the diffusion stack is in question.
        loaded = await _libraries_once_ready(
            fake,
            world,
            tmp_path,
            database_url=url,
            model="tiny",
            embedded_worker="false",
            semantic_moderation="false",
        )
        assert loaded == set()


async def test_an_embedded_bot_which_renders_has_torch_loaded(fake, world, tmp_path):
    loaded = await _libraries_once_ready(
        fake, world, tmp_path, model="tiny", models_dir=str(tmp_path / "models")
    )
    assert any("libtorch" in path for path in loaded), loaded
