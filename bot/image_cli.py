"""`imaginebot upscale | vary | zoom | pan | square IMAGE`: the operations of the buttons on
an image file, locally, without Discord (the same engine calls as the worker's)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from services.settings import Settings

COMMANDS = {
    "upscale": "upscale (2x or 4x, Subtle or Creative)",
    "vary": "make 4 variations of",
    "zoom": "zoom out of",
    "pan": "pan",
    "square": "make square",
}


def add_commands(sub: Any) -> None:
    """Register the commands on the `imaginebot` subparsers."""
    for name, what in COMMANDS.items():
        op = sub.add_parser(name, help=f"{what} an image file locally, without Discord")
        op.add_argument("image", type=Path)
        op.add_argument("--prompt", default="", help="prompt and flags (default: the file's)")
        op.add_argument(
            "-o",
            "--output",
            default="out",
            help="output folder" + (" or .png file" if name == "upscale" else ""),
        )
        op.add_argument("--model", help="preset name, overrides IMAGINEBOT_MODEL")
        op.add_argument("--seed", type=int, help="default: random")
        if name == "upscale":
            op.add_argument("--factor", type=int, choices=[2, 4], default=2)
            op.add_argument("--creative", action="store_true", help="Upscale (Creative)")
        if name == "vary":
            op.add_argument("--subtle", action="store_true", help="Vary (Subtle)")
        if name == "zoom":
            op.add_argument("--factor", type=float, default=2.0, help="1.0 to 2.0")
        if name == "pan":
            op.add_argument("direction", choices=["left", "right", "up", "down"])


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Render the command's result into args.output; ValueError or OSError for bad input
    (the message says what to fix)."""
    from PIL import Image

    from inference.outpaint import OutpaintError, make_square, pan, zoom_out
    from inference.presets import canvas_limit, check_upscale, get_preset
    from inference.prompt import GenerationRequest, PromptError, parse
    from inference.provenance import read_provenance
    from inference.seeds import random_seed

    data = args.image.read_bytes()
    text = args.prompt or read_provenance(data).get("prompt", "")
    if not text and not (args.command == "upscale" and not args.creative):
        raise ValueError(f"{args.image} carries no prompt; give one with --prompt")
    preset = get_preset(settings.model, settings.load_presets())
    try:
        # A super-resolution upscale alone reads no prompt; every other operation draws.
        request = parse(text) if text else GenerationRequest(prompts=())
    except PromptError as exc:
        raise ValueError(f"{exc.message} [{exc.code}]") from None
    with Image.open(args.image) as opened:
        source = opened.convert("RGB")
    if args.command == "upscale":
        check_upscale(preset, source.size, args.factor)
    from inference.engine import Engine  # torch: after the checks
    from inference.operations import VARY_STRONG, VARY_SUBTLE
    from inference.upscaler import UpscalerError

    engine = Engine(preset, settings.resolved_models_dir, settings.device, settings.memory_options)
    seed = args.seed if args.seed is not None else random_seed()
    limit = canvas_limit(preset)
    try:
        if args.command == "upscale":
            images = [engine.upscale(request, source, seed, args.factor, args.creative)]
        elif args.command == "vary":
            strength = VARY_SUBTLE if args.subtle else VARY_STRONG
            images = engine.vary(request, source, seed, strength)
        else:
            canvas = (
                zoom_out(source, args.factor, preset.multiple, limit, request.aspect)
                if args.command == "zoom"
                else pan(source, args.direction, preset.multiple, limit)
                if args.command == "pan"
                else make_square(source, preset.multiple, limit)
            )
            images = engine.outpaint(request, canvas, seed)
    except (OutpaintError, UpscalerError) as exc:
        raise ValueError(str(exc)) from None
    meta = {"prompt": text, "model": preset.name, "operation": args.command}
    write_images(Path(args.output), images, seed, meta)
    return 0


def write_images(out: Path, images: list[Any], seed: int, meta: dict[str, str]) -> None:
    """One image to a .png path, or the images (and their grid) into a folder."""
    from inference.images import compose_grid, encode_png
    from inference.seeds import grid_seeds

    if out.suffix.lower() == ".png" and len(images) == 1:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(encode_png(images[0], {**meta, "seed": str(seed)}))
        print(f"wrote {out} ({images[0].width}x{images[0].height})")
        return
    out.mkdir(parents=True, exist_ok=True)
    seeds = grid_seeds(seed, len(images))
    if len(images) > 1:
        (out / "grid.png").write_bytes(encode_png(compose_grid(images), meta))
    for i, (image, s) in enumerate(zip(images, seeds, strict=True), start=1):
        (out / f"image_{i}_seed_{s}.png").write_bytes(encode_png(image, {**meta, "seed": str(s)}))
    print(f"wrote {len(images)} image(s) of {images[0].width}x{images[0].height} to {out}")
