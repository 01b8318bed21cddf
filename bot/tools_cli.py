"""`imaginebot describe IMAGE | blend A B [C..] -o OUTDIR | shorten "PROMPT"`: /describe,
/blend and /shorten locally, without Discord (the worker's engine calls, on `--model`'s
preset and its captioner, IP-Adapter and text encoder)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from services.settings import Settings

COMMANDS = {
    "describe": "print four prompts (JSON) for an image file",
    "blend": "blend 2-5 image files into a grid and four images",
    "shorten": "print a prompt's important words and shorter prompts (JSON)",
}


def add_commands(sub: Any) -> None:
    """Register the commands on the `imaginebot` subparsers."""
    from services.blend import DIMENSIONS

    for name, what in COMMANDS.items():
        op = sub.add_parser(name, help=f"{what}, locally, without Discord")
        if name == "describe":
            op.add_argument("image", type=Path)
        elif name == "blend":
            op.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
            op.add_argument("-o", "--output", default="out", help="output folder")
            op.add_argument("--dimensions", choices=list(DIMENSIONS), default="square")
        else:
            op.add_argument("prompt")
        op.add_argument("--model", help="preset name, overrides IMAGINEBOT_MODEL")
        if name != "shorten":
            op.add_argument("--seed", type=int, help="default: random")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the command; ValueError or OSError for bad input (the message says what to fix)."""
    from PIL import Image

    from inference.presets import NO_CAPTIONER, get_preset
    from inference.prompt import GenerationRequest, PromptError, WeightedPrompt, parse
    from inference.seeds import random_seed
    from inference.shorten import split_prompt
    from services.blend import DIMENSIONS, MAX_IMAGES, MIN_IMAGES

    preset = get_preset(settings.model, settings.load_presets())
    seed = getattr(args, "seed", None)
    seed = seed if seed is not None else random_seed()
    if args.command == "shorten":
        try:
            parse(args.prompt)
        except PromptError as exc:
            raise ValueError(f"{exc.message} [{exc.code}]") from None
        if not split_prompt(args.prompt)[0]:
            raise ValueError("the prompt has no words to shorten")
    elif args.command == "describe" and preset.captioner == NO_CAPTIONER:
        raise ValueError("describing is off: set IMAGINEBOT_CAPTIONER to a captioning model")
    elif args.command == "blend":
        if not MIN_IMAGES <= len(args.images) <= MAX_IMAGES:
            raise ValueError(f"blend takes {MIN_IMAGES} to {MAX_IMAGES} images")
        if preset.ip_adapter is None:
            raise ValueError(f"the model {preset.name} cannot blend: it has no IP-Adapter")
    paths = [args.image] if args.command == "describe" else getattr(args, "images", [])
    images = []
    for path in paths:
        with Image.open(path) as opened:
            images.append(opened.convert("RGB"))
    from inference.engine import Engine  # torch: after the checks

    engine = Engine(preset, settings.resolved_models_dir, settings.device, settings.memory_options)
    if args.command == "shorten":
        shortened = engine.shorten(args.prompt)
        shown = {"important": list(shortened.important), "options": list(shortened.options)}
        print(json.dumps(shown, ensure_ascii=False))
        return 0
    if args.command == "describe":
        print(json.dumps(engine.describe(images[0], seed), ensure_ascii=False))
        return 0
    request = GenerationRequest(
        (WeightedPrompt(""),), aspect=DIMENSIONS[args.dimensions], blend=(1.0,) * len(images)
    )
    from bot.image_cli import write_images

    grid = engine.blend(request, images, seed)
    meta = {"prompt": " ".join(map(str, paths)), "model": preset.name, "operation": "blend"}
    write_images(Path(args.output), grid, seed, meta)
    return 0
