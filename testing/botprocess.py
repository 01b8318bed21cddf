"""The bot in a process of its own, pointed at a fake Discord that another process serves,
so a benchmark measures the bot's event loop and not the fake's.

Benchmarks use `bot_process`. The child is the real bot configured the usual way
(IMAGINEBOT_* variables, DISCORD_TOKEN, DISCORD_API_BASE, DISCORD_GATEWAY_URL); on SIGTERM it
prints its event-loop lag figures as one JSON line and exits; SIGUSR1 starts the lag window
anew (so start-up and model loading are not counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import create_bot
from bot.discord_endpoints import point_at
from services.settings import Settings


async def main() -> None:
    settings = Settings()
    assert settings.token is not None
    logging.basicConfig(level=settings.log_level.upper(), format="bot: %(levelname)s %(message)s")
    point_at(settings.api_base, settings.gateway_url)
    bot = create_bot(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, bot.lag.reset)
    runner = asyncio.create_task(bot.start(settings.token.get_secret_value()))
    await stop.wait()
    print(json.dumps(dataclasses.asdict(bot.lag.stats())), flush=True)
    await bot.close()
    runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner


class BotProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lag: dict[str, Any] = {}  # samples, p50_ms, p99_ms, max_ms, once it stopped

    def measure_lag_from_now(self) -> None:
        self.process.send_signal(signal.SIGUSR1)


@contextlib.asynccontextmanager
async def bot_process(
    api_base: str, gateway_url: str, token: str, settings: dict[str, str]
) -> AsyncIterator[BotProcess]:
    """Run the bot process; on leaving, stop it and read its lag stats."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGINEBOT_", "DISCORD_"))}
    env.update(
        {
            f"IMAGINEBOT_{k.upper()}": v
            for k, v in {"semantic_moderation": "false", **settings}.items()
        }
    )
    env.update(DISCORD_TOKEN=token, DISCORD_API_BASE=api_base, DISCORD_GATEWAY_URL=gateway_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, env=env, stdout=asyncio.subprocess.PIPE
    )
    bot = BotProcess(process)
    try:
        yield bot
    finally:
        process.terminate()
        out, _ = await process.communicate()
        lines = out.decode().strip().splitlines()
        if lines:
            bot.lag.update(json.loads(lines[-1]))


if __name__ == "__main__":
    asyncio.run(main())
