"""`imaginebot` command line: run the bot, render locally, parse or moderate a prompt."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pydantic import ValidationError

from bot.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="imaginebot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="connect to Discord and serve /imagine (embedded mode)")
    run.add_argument("--database-url", help="overrides IMAGINEBOT_DATABASE_URL")
    imagine = sub.add_parser("imagine", help="render a prompt locally, without Discord")
    imagine.add_argument("prompt")
    imagine.add_argument("-o", "--output", default="out.png", help="grid file (.png) or a folder")
    imagine.add_argument("--model", help="preset name, overrides IMAGINEBOT_MODEL")
    parse = sub.add_parser("parse", help="print a prompt's parsed request as JSON")
    parse.add_argument("prompt")
    moderate = sub.add_parser("moderate", help="print the moderation verdict for a prompt")
    moderate.add_argument("prompt")
    moderate.add_argument(
        "--semantic", action="store_true", help="also run the optional semantic layer"
    )
    database = sub.add_parser("db", help="database maintenance")
    database.add_argument("action", choices=["upgrade"], help="apply schema migrations")
    database.add_argument("--database-url", help="overrides IMAGINEBOT_DATABASE_URL")
    sub.add_parser("version", help="print the version")
    args = parser.parse_args(argv)
    handler = {
        "run": _run,
        "imagine": _imagine,
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
    import discord

    from bot.app import ImagineBot
    from bot.discord_endpoints import point_at

    try:
        settings = _settings(database_url=args.database_url)
    except ValidationError as exc:
        return _fail(f"invalid setting: {_first_error(exc)}")
    if settings.token is None or not settings.token.get_secret_value().strip():
        return _fail(
            "DISCORD_TOKEN is not set. Copy your bot's token from https://discord.com/"
            "developers/applications and run: DISCORD_TOKEN=<token> imaginebot run"
        )
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    point_at(settings.api_base, settings.gateway_url)
    try:
        bot = ImagineBot(settings)
    except ValueError as exc:  # an unknown preset or a bad presets file
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


def _imagine(args: argparse.Namespace) -> int:
    from inference.engine import Engine
    from inference.images import compose_grid
    from inference.presets import get_preset, load_presets
    from inference.prompt import PromptError, parse
    from inference.seeds import grid_seeds, random_seed

    try:
        settings = _settings(model=args.model)
        request = parse(args.prompt)
        preset = get_preset(settings.model, load_presets(settings.presets_file))
    except ValidationError as exc:
        return _fail(f"invalid setting: {_first_error(exc)}")
    except PromptError as exc:
        return _fail(f"{exc.message} [{exc.code}]")
    except ValueError as exc:
        return _fail(f"invalid setting: {exc}")
    seed = request.seed if request.seed is not None else random_seed()
    engine = Engine(preset, settings.resolved_models_dir, settings.device)
    engine.load()
    images = engine.grid(request, seed)
    out = Path(args.output)
    if out.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
        out.parent.mkdir(parents=True, exist_ok=True)
        compose_grid(images).save(out)
    else:
        out.mkdir(parents=True, exist_ok=True)
        compose_grid(images).save(out / "grid.png")
        for i, (image, s) in enumerate(zip(images, grid_seeds(seed), strict=True), start=1):
            image.save(out / f"image_{i}_seed_{s}.png")
        sidecar = {
            "request": request.to_json(),
            "seeds": grid_seeds(seed),
            "model": engine.preset.name,
        }
        (out / "job.json").write_text(json.dumps(sidecar, indent=2))
    print(f"wrote {out} (seeds {grid_seeds(seed)})")
    return 0


def _parse(args: argparse.Namespace) -> int:
    from inference.prompt import contract_json

    result, code = contract_json(args.prompt)
    print(json.dumps(result, ensure_ascii=False))
    return code


def _moderate(args: argparse.Namespace) -> int:
    from bot.moderate import deployment_policy, moderate_prompt
    from moderation.semantic import SemanticCheck

    try:
        semantic = SemanticCheck() if args.semantic else None
        policy = deployment_policy(_settings().lexicon_file)
    except (RuntimeError, ValidationError, OSError) as exc:
        return _fail(str(exc))
    print(json.dumps(moderate_prompt(args.prompt, policy, semantic).to_json(), ensure_ascii=False))
    return 0


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
