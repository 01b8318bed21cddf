"""`imaginebot` command line: run the bot, render or edit images locally, read an image's
provenance, parse or moderate a prompt."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bot import image_cli, tools_cli
from services.settings import Settings

if TYPE_CHECKING:
    from PIL import Image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imaginebot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="connect to Discord and serve /imagine (embedded mode)")
    run.add_argument("--database-url", help="overrides IMAGINEBOT_DATABASE_URL")
    run.add_argument(
        "--no-worker",
        action="store_true",
        help="only the bot: `imaginebot worker` processes render (IMAGINEBOT_EMBEDDED_WORKER)",
    )
    worker = sub.add_parser("worker", help="render jobs from a shared database (distributed)")
    worker.add_argument("--database-url", help="overrides IMAGINEBOT_DATABASE_URL")
    worker.add_argument(
        "--models", help="the presets this worker serves, comma-separated (default: all served)"
    )
    worker.add_argument(
        "--max-loaded", type=int, help="keep at most this many presets loaded (least recent go)"
    )
    web = sub.add_parser("web", help="serve the web companion alone (distributed mode)")
    web.add_argument("--database-url", help="overrides IMAGINEBOT_DATABASE_URL")
    imagine = sub.add_parser("imagine", help="render a prompt locally, without Discord")
    imagine.add_argument("prompt")
    imagine.add_argument("-o", "--output", default="out.png", help="grid file (.png) or a folder")
    imagine.add_argument("--model", help="preset name, overrides IMAGINEBOT_MODEL")
    image_cli.add_commands(sub)
    tools_cli.add_commands(sub)
    provenance = sub.add_parser("provenance", help="print what an image file says made it")
    provenance.add_argument("image", type=Path)
    watermark = sub.add_parser(
        "watermark", help="read the invisible watermark: which job made an image"
    )
    watermark.add_argument("action", choices=["verify"])
    watermark.add_argument("image", type=Path)
    parse = sub.add_parser("parse", help="print a prompt's parsed request as JSON")
    parse.add_argument("prompt")
    moderate = sub.add_parser(
        "moderate",
        help="print the moderation verdict for a prompt (or a file of them, --batch), or "
        "train the classifier layer: imaginebot moderate train DATA...",
    )
    moderate.add_argument("prompt", nargs="*", help="the prompt; or `train` and data paths")
    moderate.add_argument(
        "--batch", metavar="FILE", help="one prompt per line (- for standard input)"
    )
    moderate.add_argument(
        "--semantic",
        action="store_true",
        help="run the semantic layers even if IMAGINEBOT_SEMANTIC_MODERATION is false",
    )
    moderate.add_argument(
        "-o", "--output", type=Path, help="train: where to write the weights (default: shipped)"
    )
    moderate.add_argument(
        "--embeddings", type=Path, help="train: cache file for the data's embeddings"
    )
    database = sub.add_parser("db", help="database maintenance")
    database.add_argument("action", choices=["upgrade"], help="apply schema migrations")
    database.add_argument("--database-url", help="overrides IMAGINEBOT_DATABASE_URL")
    sub.add_parser("version", help="print the version")
    args = parser.parse_args(argv)
    handler = {
        "run": _run,
        "worker": _worker,
        "web": _web,
        "imagine": _imagine,
        **dict.fromkeys([*image_cli.COMMANDS, *tools_cli.COMMANDS], _image_command),
        "provenance": _provenance,
        "watermark": _watermark,
        "parse": _parse,
        "moderate": _moderate,
        "db": _db,
        "version": _version,
    }[args.command]
    return handler(args)


def _fail(message: str) -> int:
    print(f"imaginebot: {message}", file=sys.stderr)
    return 2


def _settings(**overrides: object) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    return Settings(**values)  # type: ignore[arg-type]


def _run(args: argparse.Namespace) -> int:
    try:
        settings = _settings(
            database_url=args.database_url, embedded_worker=False if args.no_worker else None
        )
    except ValidationError as exc:
        return _fail(f"invalid setting: {_first_error(exc)}")
    if settings.token is None or not settings.token.get_secret_value().strip():
        return _fail(
            "DISCORD_TOKEN is not set. Copy your bot's token from https://discord.com/"
            "developers/applications and run: DISCORD_TOKEN=<token> imaginebot run"
        )
    # Imported once the settings are known good: a mistake there is answered at once.
    import discord

    from bot.app import create_bot
    from bot.discord_endpoints import point_at

    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    point_at(settings.api_base, settings.gateway_url)
    try:
        bot = create_bot(settings)
    except ValueError as exc:  # an unknown preset, a bad presets file, a missing extra
        return _fail(f"invalid setting: {exc}")

    async def serve() -> None:
        async with bot:
            await bot.start(settings.token.get_secret_value())

    try:
        asyncio.run(serve())
    except discord.LoginFailure:
        return _fail(
            "Discord rejected DISCORD_TOKEN (401 Unauthorized). Copy the token again from the "
            "Bot page of your application and set DISCORD_TOKEN to it."
        )
    except KeyboardInterrupt:
        pass
    return 0


def _worker(args: argparse.Namespace) -> int:
    """A GPU worker: claims jobs from the shared database, renders them into the shared image
    store, and leaves posting to the bot. Run any number, on any hosts."""
    import os
    import socket

    from db import ImageStore, WorkerJobs, make_engine, make_sessionmaker
    from inference.engines import EnginePool
    from inference.licences import check_licences
    from inference.presets import served_presets
    from inference.watermark import check_available
    from inference.worker import Worker
    from moderation.images import load_output_filter

    try:
        settings = _settings(database_url=args.database_url)
        served = settings.served_models
        if args.models:
            served = [name.strip() for name in args.models.split(",") if name.strip()]
        presets = settings.load_presets()
        check_licences(served_presets(presets, served), settings.accept_licences)
        engines = EnginePool(
            presets,
            served,
            settings.resolved_models_dir,
            settings.device,
            settings.memory_options,
            args.max_loaded,
        )
        output_filter = load_output_filter(
            settings.output_filter, settings.image_classifier, settings.resolved_models_dir
        )
        if settings.watermark:
            check_available()
    except ValidationError as exc:
        return _fail(f"invalid setting: {_first_error(exc)}")
    except (ValueError, RuntimeError) as exc:
        return _fail(f"invalid setting: {exc}")
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    worker_id = f"{socket.gethostname()}-{os.getpid()}"

    async def serve() -> None:
        engine = make_engine(settings.resolved_database_url)
        jobs = WorkerJobs(
            make_sessionmaker(engine),
            settings.max_running_jobs,
            settings.fast_allowance_s,
            models=engines.names,  # only the jobs of the presets it serves
        )
        worker = Worker(
            jobs,
            ImageStore(settings.images_dir),
            engines,
            worker_id,
            max_attempts=settings.max_attempts,
            output_filter=output_filter,
            lease_s=settings.lease_seconds,
            render_timeout_s=settings.render_timeout_s,
            sole_worker=False,
            watermark=settings.watermark,
        )
        logging.getLogger(__name__).info("worker %s serving %s", worker_id, engines.names)
        stopping = asyncio.current_task()
        assert stopping is not None
        for signum in (signal.SIGTERM, signal.SIGINT):  # a service manager's stop, Ctrl-C
            asyncio.get_running_loop().add_signal_handler(signum, stopping.cancel)
        health = None
        if settings.metrics_port:  # the worker's own /metrics, /healthz, /readyz
            health = asyncio.create_task(_worker_health(settings, engine, engines.names))
        try:
            await worker.run()  # gives back the job it renders when cancelled
        except asyncio.CancelledError:
            pass  # asked to stop
        finally:
            if health is not None:
                health.cancel()
            await engine.dispose()

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C before serving began
        asyncio.run(serve())
    return 0


def _imagine(args: argparse.Namespace) -> int:
    from inference.capabilities import Unsupported, check, choose_model, fit
    from inference.prompt import PromptError, parse_jobs
    from inference.references import job_image_urls
    from inference.seeds import grid_seeds, repeat_seed
    from services.image_fetch import ImageFetchError

    try:
        settings = _settings(model=args.model)
        presets = settings.load_presets()
        if settings.model not in presets:
            raise ValueError(f"unknown model preset {settings.model!r}")
        plan = []  # (request, preset name, repeat), one per grid: permutations x --repeat
        for request in parse_jobs(args.prompt):
            model = choose_model(presets, request, settings.model)
            check(presets[model], fit(presets[model], request), presets)
            plan += [(request, model, k) for k in range(request.repeat)]
    except ValidationError as exc:
        return _fail(f"invalid setting: {_first_error(exc)}")
    except PromptError as exc:
        return _fail(f"{exc.message} [{exc.code}]")
    except Unsupported as exc:
        return _fail(f"{exc.message} [{exc.code}]")
    except ValueError as exc:
        return _fail(f"invalid setting: {exc}")
    if Path(args.output).suffix.lower() in (".jpg", ".jpeg", ".webp"):
        return _fail("grids are written as PNG (with provenance): use -o grid.png or a folder")
    try:
        urls = tuple(dict.fromkeys(url for request, *_ in plan for url in job_image_urls(request)))
        downloaded = dict(zip(urls, _download_image_prompts(urls, settings), strict=True))
    except ImageFetchError as exc:
        return _fail(f"{exc.message} [{exc.code}]")
    from inference.engines import EnginePool  # torch: after the checks

    models = list(dict.fromkeys(model for _, model, _ in plan))
    engines = EnginePool(
        presets, models, settings.resolved_models_dir, settings.device, settings.memory_options
    )
    out = Path(args.output)
    for n, (request, model, k) in enumerate(plan, start=1):
        seed = repeat_seed(request.seed, k)
        images = _render_grid(engines.get(model), request, seed, downloaded)
        target = out if len(plan) == 1 else _numbered(out, n)
        _write_grid(target, images, seed, {"prompt": args.prompt, "model": model}, request)
        print(f"wrote {target} (model {model}, seeds {grid_seeds(seed)})")
    return 0


def _numbered(out: Path, n: int) -> Path:
    """grid.png -> grid-2.png; a folder -> folder/job-2."""
    return out.with_name(f"{out.stem}-{n}{out.suffix}") if out.suffix else out / f"job-{n}"


def _render_grid(engine: Any, request: Any, seed: int, downloaded: dict[str, Any]) -> list[Any]:
    from inference.references import job_image_urls, split_images

    engine.load()
    images = [downloaded[url] for url in job_image_urls(request)]
    prompt_images, references = split_images(request, images)
    if prompt_images:
        return engine.from_images(request, prompt_images, seed)
    return engine.grid(request, seed, references=references)


def _write_grid(
    out: Path, images: list[Any], seed: int, meta: dict[str, str], request: Any
) -> None:
    """The grid as a PNG naming its seeds, or a folder with the grid, each image and job.json."""
    from inference.images import compose_grid, encode_png
    from inference.seeds import grid_seeds

    seeds = grid_seeds(seed)
    grid_meta = {**meta, "seed": str(seed), "image_seeds": " ".join(map(str, seeds))}
    grid = encode_png(compose_grid(images), grid_meta)
    if out.suffix.lower() == ".png":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(grid)
        return
    out.mkdir(parents=True, exist_ok=True)
    (out / "grid.png").write_bytes(grid)
    for i, (image, s) in enumerate(zip(images, seeds, strict=True), start=1):
        (out / f"image_{i}_seed_{s}.png").write_bytes(encode_png(image, {**meta, "seed": str(s)}))
    sidecar = {"request": request.to_json(), "seeds": seeds, "model": meta["model"]}
    (out / "job.json").write_text(json.dumps(sidecar, indent=2))


def _download_image_prompts(urls: tuple[str, ...], settings: Settings) -> list[Image.Image]:
    """The prompt's image links, downloaded under the bot's own rules (allowed hosts, caps)."""
    if not urls:
        return []
    from services.image_fetch import FetchLimits, ImageFetcher

    fetched = asyncio.run(ImageFetcher(FetchLimits.from_settings(settings)).fetch(urls))
    return [fetched[url] for url in urls]


def _image_command(args: argparse.Namespace) -> int:
    """upscale | vary | zoom | pan | square on a file (bot.image_cli); describe | blend |
    shorten (bot.tools_cli)."""
    command = tools_cli if args.command in tools_cli.COMMANDS else image_cli
    try:
        return command.run(args, _settings(model=args.model))
    except ValidationError as exc:
        return _fail(f"invalid setting: {_first_error(exc)}")
    except (OSError, ValueError) as exc:
        return _fail(str(exc))


def _provenance(args: argparse.Namespace) -> int:
    from inference.provenance import read_provenance

    try:
        found = read_provenance(args.image.read_bytes())
    except OSError as exc:
        return _fail(str(exc))
    print(json.dumps(found, ensure_ascii=False, indent=2))
    return 0 if found else 1


def _watermark(args: argparse.Namespace) -> int:
    """Prints {"watermarked": bool, "job_id": int | null}; exits 0 only for a marked image."""
    from PIL import Image, UnidentifiedImageError

    from inference.watermark import WatermarkUnavailable, read_mark

    try:
        with Image.open(args.image) as image:
            job_id = read_mark(image)
    except (OSError, UnidentifiedImageError, WatermarkUnavailable) as exc:
        return _fail(str(exc))
    print(json.dumps({"watermarked": job_id is not None, "job_id": job_id}))
    return 0 if job_id is not None else 1


def _parse(args: argparse.Namespace) -> int:
    from inference.prompt import contract_json

    result, code = contract_json(args.prompt)
    print(json.dumps(result, ensure_ascii=False))
    return code


def _moderate(args: argparse.Namespace) -> int:
    from bot import moderation_cli

    try:
        return moderation_cli.moderate(args, _settings())
    except (RuntimeError, ValidationError, OSError, ValueError) as exc:
        return _fail(str(exc))


def _db(args: argparse.Namespace) -> int:
    from db import make_engine, upgrade_schema

    try:
        settings = _settings(database_url=args.database_url)
    except ValidationError as exc:
        return _fail(f"invalid setting: {_first_error(exc)}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)

    async def upgrade() -> None:
        engine = make_engine(settings.resolved_database_url)
        try:
            await upgrade_schema(engine)
        finally:
            await engine.dispose()

    asyncio.run(upgrade())
    print("database schema is up to date")
    return 0


async def _worker_health(settings: Settings, engine: Any, models: list[str]) -> None:
    from db import JobStats, WorkerRegistry, make_sessionmaker
    from services.health import Health
    from web.health import serve_health

    sessions = make_sessionmaker(engine)
    health = Health(JobStats(sessions), WorkerRegistry(sessions), models, settings.lease_seconds)
    await serve_health(health, settings.metrics_host, settings.metrics_port)


def _web(args: argparse.Namespace) -> int:
    """The web companion beside a bot that runs elsewhere (the same database and images)."""
    from services.container import build_services
    from web.server import serve

    try:
        settings = _settings(database_url=args.database_url)
        if not settings.web_port:
            raise ValueError("IMAGINEBOT_WEB_PORT is not set: give the port to serve on")
        services = build_services(settings)
    except ValidationError as exc:
        return _fail(f"invalid setting: {_first_error(exc)}")
    except ValueError as exc:
        return _fail(f"invalid setting: {exc}")
    gallery = services.gallery
    assert gallery is not None  # a port without a secret was refused above
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    async def run() -> None:
        await services.start()
        try:
            await serve(
                gallery, services.regions, services.health, settings.web_host, settings.web_port
            )
        finally:
            await services.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


def _version(args: argparse.Namespace) -> int:
    try:
        print(version("imaginebot"))
    except PackageNotFoundError:
        print("unknown (not installed)")
    return 0


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "settings"
    return f"{where}: {error['msg']}"


if __name__ == "__main__":
    sys.exit(main())
