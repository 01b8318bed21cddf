"""The bot as a server owner runs it: the services, the client with every feature, and (in
embedded mode) the worker that renders in the same process.

The worker's modules (torch, diffusers) are imported only when this process renders: a bot
whose workers run elsewhere never loads them.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING

from bot.client import ImagineBot
from bot.cogs import EXTENSIONS
from inference.licences import check_licences
from services.container import Services, build_services
from services.settings import Settings

if TYPE_CHECKING:
    from inference.worker import OutputFilter

log = logging.getLogger(__name__)


def create_bot(
    settings: Settings,
    *,
    run_worker: bool | None = None,
    output_filter: OutputFilter | None = None,
) -> ImagineBot:
    """The bot, ready to start. Raises ValueError for a setting that cannot work (an unknown
    preset, a bad presets file, a missing optional extra)."""
    services = build_services(settings)
    # The models members may pick: restricted licences must have been accepted.
    check_licences(services.presets, settings.accept_licences)
    bot = ImagineBot(services, EXTENSIONS)
    bot.add_background("purge", services.maintenance.run)
    services.health.discord_connected = lambda: bot.is_ready() and not bot.is_closed()
    if settings.metrics_port:
        from web.health import serve_health

        health, metrics_host, metrics_port = (
            services.health,
            settings.metrics_host,
            settings.metrics_port,
        )
        bot.add_background("metrics", lambda: serve_health(health, metrics_host, metrics_port))
    if services.gallery is not None and settings.web_port:
        from web.server import serve

        gallery, regions = services.gallery, services.regions
        host, port = settings.web_host, settings.web_port
        health = services.health
        bot.add_background("web", lambda: serve(gallery, regions, health, host, port))
    renders = settings.renders_in_process if run_worker is None else run_worker
    if renders:
        _add_worker(bot, services, output_filter)
    else:
        log.info(
            "this bot does not render: `imaginebot worker` processes on the same database "
            "do (IMAGINEBOT_EMBEDDED_WORKER=true renders here too)"
        )
    return bot


def _add_worker(bot: ImagineBot, services: Services, output_filter: OutputFilter | None) -> None:
    from db import WorkerJobs
    from inference.engines import EnginePool
    from inference.watermark import check_available
    from inference.worker import Worker
    from moderation.images import load_output_filter

    settings = services.settings
    if settings.watermark:
        check_available()  # at once, with how to fix it, not when the worker starts
    worker = Worker(
        WorkerJobs(services.sessions, settings.max_running_jobs, settings.fast_allowance_s),
        services.store,
        EnginePool(
            services.presets,
            services.models,
            settings.resolved_models_dir,
            settings.device,
            settings.memory_options,
        ),
        f"embedded-{secrets.token_hex(3)}",
        max_attempts=settings.max_attempts,
        output_filter=output_filter
        or load_output_filter(
            settings.output_filter, settings.image_classifier, settings.resolved_models_dir
        ),
        lease_s=settings.lease_seconds,
        render_timeout_s=settings.render_timeout_s,
        # On SQLite it is the only worker: whatever ran before a restart was its own.
        sole_worker=settings.resolved_database_url.startswith("sqlite"),
        watermark=settings.watermark,
    )
    worker.on_change = services.events.changed
    services.events.subscribe(worker.wake)
    bot.worker = worker
    bot.add_background("worker", worker.run)
