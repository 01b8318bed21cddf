"""Model presets: which weights, at what native size, with which defaults.

Resolution buckets: an aspect ratio keeps the preset's native pixel area (side x side) and
rounds both sides to the preset's multiple, e.g. for sd-turbo (512, multiple 64):
1:1 -> 512x512, 3:2 -> 640x448, 16:9 -> 704x384, 2:3 -> 448x640. docs/inference.md has the table.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from inference.outpaint import CanvasLimit

# Prompt features a pipeline may lack: a negative prompt (--no, negative :: weights) and
# --tile (circular padding of a UNet's convolutions).
FEATURES = frozenset({"negative", "tile"})
# Flux (a transformer, guidance-distilled): no negative prompt, no convolutions to wrap.
FLUX_FEATURES: frozenset[str] = frozenset()
# The classifier-free guidance a guidance-distilled (guidance 0) model runs at when a job has
# a negative prompt: turbo models stay clean at 1.5-2.5 with their own step count.
NEGATIVE_GUIDANCE = 2.0
# The widest aspect ratio a preset renders (1:4 to 4:1), as Midjourney allows for its models.
MAX_ASPECT = 4.0
# Canvases (zoom, pan, make square) never grow past this many times the native side.
MAX_SIDE_FACTOR = 3
# The super-resolution model of the upscales (inference.upscaler): by default Real-ESRGAN x4
# (BSD-3-Clause) from the hub; "builtin" is a tiny random one; "off" turns upscaling off.
DEFAULT_UPSCALER = "ai-forever/Real-ESRGAN/RealESRGAN_x4.pth"
BUILTIN_UPSCALER = "builtin"
NO_UPSCALER = "off"
# The image-captioning model of /describe (inference.describe): by default Salesforce's BLIP
# large (BSD-3-Clause) from the hub; "builtin" is a tiny random one; "off" turns it off.
DEFAULT_CAPTIONER = "Salesforce/blip-image-captioning-large"
BUILTIN_CAPTIONER = "builtin"
NO_CAPTIONER = "off"
# No upscale makes an image wider or taller than this (Midjourney's 4x of a 1024 px image).
MAX_UPSCALE_SIDE = 4096


@dataclass(frozen=True)
class HouseStyle:
    """The aesthetic a preset adds to every prompt, scaled by --stylize, dropped by --style
    raw: `positive` joins the prompt, `negative` the negative prompt (where guidance is on)."""

    positive: str
    negative: str = ""


@dataclass(frozen=True)
class IpAdapter:
    """The IP-Adapter --sref and --cref use: a hub repository or local folder ("builtin":
    a tiny random one built for the preset's UNet), the weights file in it, and its image
    encoder's folder (relative to `subfolder`)."""

    source: str
    subfolder: str = ""
    weight_name: str = ""
    image_encoder: str = "image_encoder"
    style_blocks: bool = False  # InstantStyle on SDXL (inference.references)


TINY_IP_ADAPTER = IpAdapter("builtin")
SD15_IP_ADAPTER = IpAdapter("h94/IP-Adapter", "models", "ip-adapter_sd15.safetensors")
SDXL_IP_ADAPTER = IpAdapter(
    "h94/IP-Adapter", "sdxl_models", "ip-adapter_sdxl.safetensors", style_blocks=True
)

HOUSE_STYLE = HouseStyle(
    "highly detailed, beautiful lighting, rich colours, artistic composition",
    "blurry, low quality, deformed, ugly",
)


@dataclass(frozen=True)
class Preset:
    name: str
    model_id: str  # hub id or local path; "builtin:<name>" for a locally built miniature
    native_size: int  # side of the square the model was trained at, in pixels
    multiple: int  # both sides are rounded to this (the UNet needs latents it can halve)
    default_steps: int
    guidance_scale: float
    min_side: int = 64
    # Prompt features the model's pipeline can honour (see `unsupported`).
    supports: frozenset[str] = field(default_factory=lambda: FEATURES)
    # A LoRA fused into the weights at load (local file or folder, or hub id), at this scale.
    lora: str | None = None
    lora_scale: float = 1.0
    # Guidance for negative prompts when guidance_scale is 0 (see NEGATIVE_GUIDANCE).
    negative_guidance: float = NEGATIVE_GUIDANCE
    house_style: HouseStyle | None = HOUSE_STYLE
    # What --v, --niji and --model may call this preset ("6", "niji 6", "photo").
    aliases: tuple[str, ...] = ()
    # The faster preset --turbo switches to (a distilled twin), if there is one.
    turbo: str | None = None
    max_aspect: float = MAX_ASPECT
    # What --sref and --cref run through; None: the preset refuses them.
    ip_adapter: IpAdapter | None = None
    # The super-resolution model file of its upscales (see DEFAULT_UPSCALER).
    upscaler: str = DEFAULT_UPSCALER
    # The captioning model of /describe (see DEFAULT_CAPTIONER).
    captioner: str = DEFAULT_CAPTIONER
    # Pinned weights: a hub commit (None: the latest) and a weights variant ("fp16").
    revision: str | None = None
    variant: str | None = None
    # The weights' licence, and whether it restricts use (non-commercial, gated): then the
    # owner must accept it (IMAGINEBOT_ACCEPT_LICENCES) before the preset loads.
    licence: str = "see the model's card"
    restricted: bool = False


# Stability AI's turbo models: research and non-commercial use only (commercial use needs
# Stability AI's membership).
_SAI_NC: dict[str, Any] = {
    "licence": "Stability AI Non-Commercial Research Community License (non-commercial use)",
    "restricted": True,
}

# Locally built random miniatures (SD, SDXL and Flux): the real code, offline, in seconds.
TINY = Preset(
    "tiny",
    "builtin:tiny",
    64,
    16,
    2,
    5.0,
    min_side=32,
    ip_adapter=TINY_IP_ADAPTER,
    upscaler=BUILTIN_UPSCALER,
    captioner=BUILTIN_CAPTIONER,
    licence="random weights built here (no licence needed)",
)

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("sd-turbo", "stabilityai/sd-turbo", 512, 64, 4, 0.0, **_SAI_NC),
        Preset(
            "sdxl-turbo",
            "stabilityai/sdxl-turbo",
            512,
            64,
            4,
            0.0,
            ip_adapter=SDXL_IP_ADAPTER,
            **_SAI_NC,
        ),
        Preset(
            "sd15",
            "stable-diffusion-v1-5/stable-diffusion-v1-5",
            512,
            64,
            25,
            7.0,
            aliases=("4",),
            turbo="sd-turbo",
            ip_adapter=SD15_IP_ADAPTER,
            licence="CreativeML OpenRAIL-M (use restrictions; commercial use allowed)",
        ),
        Preset(
            "sdxl",
            "stabilityai/stable-diffusion-xl-base-1.0",
            1024,
            64,
            30,
            6.0,
            aliases=("5", "5.1", "5.2", "6", "6.1"),
            turbo="sdxl-turbo",
            ip_adapter=SDXL_IP_ADAPTER,
            licence="CreativeML Open RAIL++-M (use restrictions; commercial use allowed)",
        ),
        # 16: 8x VAE downsampling, then 2x2 latent patches.
        Preset(
            "flux-schnell",
            "black-forest-labs/FLUX.1-schnell",
            1024,
            16,
            4,
            0.0,
            supports=FLUX_FEATURES,
            aliases=("7",),
            house_style=HouseStyle(HOUSE_STYLE.positive),
            licence="Apache-2.0",
        ),
        TINY,
        replace(TINY, name="tiny-xl", model_id="builtin:tiny-xl"),
        Preset(
            "tiny-flux",
            "builtin:tiny-flux",
            64,
            16,
            2,
            0.0,
            min_side=32,
            supports=FLUX_FEATURES,
            house_style=HouseStyle(HOUSE_STYLE.positive),
            upscaler=BUILTIN_UPSCALER,
            captioner=BUILTIN_CAPTIONER,
            licence=TINY.licence,
        ),
    )
}


def get_preset(name: str, presets: Mapping[str, Preset] = PRESETS) -> Preset:
    try:
        return presets[name]
    except KeyError:
        valid = ", ".join(sorted(presets))
        raise ValueError(f"unknown model preset {name!r}; valid presets: {valid}") from None


def served_presets(presets: Mapping[str, Preset], served: Sequence[str]) -> dict[str, Preset]:
    """The presets a deployment serves, in order (the first is the default); ValueError
    naming any that `presets` does not define."""
    missing = [name for name in served if name not in presets]
    if missing or not served:
        valid = ", ".join(sorted(presets))
        raise ValueError(f"unknown model preset(s) {missing}; valid presets: {valid}")
    return {name: presets[name] for name in served}


# Keys of a [presets.<name>] table in a presets file, and the Preset field each one sets.
_FILE_KEYS = {
    "model": "model_id",
    "native_size": "native_size",
    "multiple": "multiple",
    "steps": "default_steps",
    "guidance": "guidance_scale",
    "lora": "lora",
    "lora_scale": "lora_scale",
    "negative_guidance": "negative_guidance",
    "house_style": "house_style",
    "house_negative": "house_style",
    "aliases": "aliases",
    "turbo": "turbo",
    "max_aspect": "max_aspect",
    "features": "supports",
    "ip_adapter": "ip_adapter",
    "ip_adapter_subfolder": "ip_adapter",
    "ip_adapter_weight": "ip_adapter",
    "upscaler": "upscaler",
    "captioner": "captioner",
    "revision": "revision",
    "variant": "variant",
    "licence": "licence",
    "restricted": "restricted",
}
# The keys `_options_from_table` reads (the others map straight to a field).
_OPTION_KEYS = frozenset(
    {"negative_guidance", "house_style", "house_negative", "aliases", "turbo", "max_aspect"}
    | {"features", "ip_adapter", "ip_adapter_subfolder", "ip_adapter_weight"}
)
# A hub repository id: owner/name, as the hub spells them.
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def load_presets(path: Path | None) -> dict[str, Preset]:
    """The built-in presets plus those a server owner declares in a TOML file:

        [presets.my-model]
        model = "/models/my-model"   # any diffusers-format model: local path or hub id
        native_size = 768            # optional, default 512
        steps = 20                   # optional, default 25
        guidance = 6.5               # optional, default 7.0
        lora = "loras/ink.safetensors"  # optional: file/folder (relative to here) or hub id
        lora_scale = 0.8             # optional, default 1.0; only with `lora`
        negative_guidance = 2.0      # optional: guidance for --no when `guidance` is 0
        house_style = "..."          # optional: the look --stylize scales ("" for none)
        house_negative = "..."       # optional: its negative half
        aliases = ["6", "niji 6"]    # optional: what --v, --niji and --model call it
        turbo = "my-model-turbo"     # optional: the preset --turbo switches to
        max_aspect = 4               # optional: widest ratio (4 -> 1:4 to 4:1)
        features = ["negative", "tile"]  # optional: what its pipeline can do (default both)
        ip_adapter = "h94/IP-Adapter"  # optional: for --sref/--cref (hub id or folder)
        ip_adapter_subfolder = "models"  # with ip_adapter: where the weights are
        ip_adapter_weight = "ip-adapter_sd15.safetensors"
        upscaler = "models/4x.pth"   # optional: super-resolution model file (relative to
                                     # here) or hub file owner/repo/file.pth; "off" for none
        captioner = "Salesforce/blip-image-captioning-base"  # optional: /describe's model
        revision = "0123abc..."      # optional: the hub commit to load (pinned weights)
        variant = "fp16"             # optional: the weights variant to load
        licence = "..."; restricted = true  # optional: restricted ones need accepting

    Raises ValueError naming the file, the preset and the key that is wrong.
    """
    presets = dict(PRESETS)
    if path is None:
        return presets
    try:
        tables = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("presets", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"presets file {path}: {exc}") from None
    if not isinstance(tables, dict):
        raise ValueError(f"presets file {path}: `presets` must be tables like [presets.my-model]")
    for name, table in tables.items():
        presets[name] = _preset_from_table(path, name, table)
    return presets


def _preset_from_table(path: Path, name: str, table: Any) -> Preset:
    where = f"presets file {path}, [presets.{name}]"
    if not isinstance(table, dict):
        raise ValueError(f"{where}: expected a table of settings")
    unknown = set(table) - set(_FILE_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_FILE_KEYS)}")
    if not isinstance(table.get("model"), str) or not table["model"]:
        raise ValueError(f"{where}: `model` (a local path or hub id) is required")
    values = {"native_size": 512, "multiple": 64, "steps": 25, "guidance": 7.0, **table}
    if "lora" in table:
        values["lora"] = _lora_source(where, table["lora"], Path(path).parent)
    elif "lora_scale" in table:
        raise ValueError(f"{where}: `lora_scale` is set but there is no `lora` to scale")
    scale = values.get("lora_scale", 1.0)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not 0 < scale <= 2:
        raise ValueError(f"{where}: `lora_scale` must be a number above 0 and at most 2")
    values["lora_scale"] = float(scale)
    # A preset of a built-in preset's model starts from what that one declares.
    base = next((p for p in PRESETS.values() if p.model_id == table["model"]), None)
    upscaler = table.get("upscaler", base.upscaler if base is not None else DEFAULT_UPSCALER)
    values["upscaler"] = _upscaler_source(where, upscaler, Path(path).parent)
    if base is not None and "captioner" not in table:  # as the built-in preset does
        values["captioner"] = base.captioner
    if not isinstance(values.get("captioner", ""), str):
        raise ValueError(f"{where}: `captioner` must be a hub id, a folder, builtin or off")
    for key in ("revision", "variant", "licence"):
        if not isinstance(values.get(key, ""), str):
            raise ValueError(f"{where}: `{key}` must be text")
    if not isinstance(values.get("restricted", False), bool):
        raise ValueError(f"{where}: `restricted` must be true or false")
    for key in ("native_size", "multiple", "steps"):
        if not isinstance(values[key], int) or values[key] < 1:
            raise ValueError(f"{where}: `{key}` must be a positive whole number")
    if not isinstance(values["guidance"], int | float) or values["guidance"] < 0:
        raise ValueError(f"{where}: `guidance` must be a number >= 0")
    fields = {_FILE_KEYS[key]: value for key, value in values.items() if key not in _OPTION_KEYS}
    fields.update(_options_from_table(where, table, base))
    return Preset(name, min_side=min(64, values["native_size"]), **fields)


def _options_from_table(where: str, table: dict[str, Any], base: Preset | None) -> dict[str, Any]:
    """The optional keys that shape what a preset honours (see `load_presets`). A preset of
    a built-in preset's model (say `builtin:tiny` with another guidance) starts from what
    that one declares: its pipeline can do the same."""
    out: dict[str, Any] = {}
    default_style = base.house_style if base is not None else HOUSE_STYLE
    guidance = table.get("negative_guidance", NEGATIVE_GUIDANCE)
    if isinstance(guidance, bool) or not isinstance(guidance, int | float) or guidance <= 1:
        raise ValueError(f"{where}: `negative_guidance` must be a number above 1")
    out["negative_guidance"] = float(guidance)
    positive = table.get("house_style", default_style.positive if default_style else "")
    negative = table.get(
        "house_negative",
        default_style.negative if default_style and "house_style" not in table else "",
    )
    if not isinstance(positive, str) or not isinstance(negative, str):
        raise ValueError(f"{where}: `house_style` and `house_negative` must be text")
    out["house_style"] = (
        HouseStyle(positive.strip(), negative.strip()) if positive.strip() else None
    )
    aliases = table.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise ValueError(f'{where}: `aliases` must be a list of names like ["6", "niji 6"]')
    out["aliases"] = tuple(" ".join(a.lower().split()) for a in aliases)
    turbo = table.get("turbo")
    if turbo is not None and not isinstance(turbo, str):
        raise ValueError(f"{where}: `turbo` must name another preset")
    out["turbo"] = turbo
    ratio = table.get("max_aspect", MAX_ASPECT)
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 1 <= ratio <= 8:
        raise ValueError(f"{where}: `max_aspect` must be a number from 1 to 8")
    out["max_aspect"] = float(ratio)
    features = table.get("features", sorted(base.supports if base is not None else FEATURES))
    if not isinstance(features, list) or not set(features) <= FEATURES:
        raise ValueError(f"{where}: `features` must be a list drawn from {sorted(FEATURES)}")
    out["supports"] = frozenset(features)
    out["ip_adapter"] = _ip_adapter_from_table(where, table)
    if out["ip_adapter"] is None and base is not None and "ip_adapter" not in table:
        out["ip_adapter"] = base.ip_adapter
    return out


def _ip_adapter_from_table(where: str, table: dict[str, Any]) -> IpAdapter | None:
    source = table.get("ip_adapter")
    if source is None:
        if "ip_adapter_subfolder" in table or "ip_adapter_weight" in table:
            raise ValueError(f"{where}: `ip_adapter_*` keys need `ip_adapter` (hub id or folder)")
        return None
    subfolder, weight = table.get("ip_adapter_subfolder", ""), table.get("ip_adapter_weight")
    if not all(isinstance(v, str) for v in (source, subfolder, weight)) or not weight:
        raise ValueError(
            f"{where}: `ip_adapter` and `ip_adapter_weight` (the weights file) must be text"
        )
    return IpAdapter(source, subfolder, weight)


def _lora_source(where: str, value: Any, base: Path) -> str:
    """A local LoRA file or folder (made absolute, and it must exist) or a hub id."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: `lora` must be a path or hub id (owner/name)")
    candidate = (base / Path(value).expanduser()).resolve()
    local = value.startswith(("/", ".", "~")) or value.endswith((".safetensors", ".bin"))
    if candidate.exists():
        return str(candidate)
    if local or not _HUB_ID.fullmatch(value):
        raise ValueError(f"{where}: `lora` {value!r}: no such file or folder ({candidate})")
    return value


def _upscaler_source(where: str, value: Any, base: Path) -> str:
    """A local super-resolution model file (made absolute, and it must exist), a hub file
    (owner/repo/file), "builtin" or "off"."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: `upscaler` must be a file, a hub file (owner/repo/file) or off")
    if value in (BUILTIN_UPSCALER, NO_UPSCALER):
        return value
    candidate = (base / Path(value).expanduser()).resolve()
    if candidate.is_file():
        return str(candidate)
    if hub_file(value) is None:
        raise ValueError(f"{where}: `upscaler` {value!r}: no such file ({candidate})")
    return value


def hub_file(source: str) -> tuple[str, str] | None:
    """("owner/repo", "path/in/repo.pth") for a hub file written owner/repo/path, else None
    (a path that starts with /, . or ~ is local)."""
    parts = source.split("/")
    if len(parts) < 3 or not all(parts) or source.startswith(("/", ".", "~")):
        return None
    return "/".join(parts[:2]), "/".join(parts[2:])


def with_auxiliary(
    presets: Mapping[str, Preset], upscaler: str | None, captioner: str | None
) -> dict[str, Preset]:
    """The presets with IMAGINEBOT_UPSCALER and IMAGINEBOT_CAPTIONER applied: each, when
    set, is every preset's (or "off")."""
    chosen = {name: preset for name, preset in presets.items()}
    for name, preset in chosen.items():
        if upscaler:
            preset = replace(preset, upscaler=upscaler)
        if captioner:
            preset = replace(preset, captioner=captioner)
        chosen[name] = preset
    return chosen


def check_upscale(preset: Preset, size: tuple[int, int], factor: int) -> None:
    """ValueError, saying what to do instead, for an upscale this preset can't make: with
    upscaling off, or past MAX_UPSCALE_SIDE."""
    if preset.upscaler == NO_UPSCALER:
        raise ValueError(
            "Upscaling is off on this bot: its owner can turn it on by setting "
            "IMAGINEBOT_UPSCALER to a super-resolution model file."
        )
    if max(size) * factor > MAX_UPSCALE_SIDE:
        raise ValueError(
            f"An upscale {factor}x of this {size[0]}x{size[1]} image would pass "
            f"{MAX_UPSCALE_SIDE} px a side, this bot's largest: "
            + ("use Upscale (Subtle) (2x) instead." if factor > 2 else "vary or zoom it instead.")
        )


def canvas_limit(preset: Preset) -> CanvasLimit:
    """The largest canvas zoom, pan and make square may make: MAX_SIDE_FACTOR times the
    native side a side, and that squared times the native area (1536x1536 at 512)."""
    side = MAX_SIDE_FACTOR * preset.native_size
    return CanvasLimit(side, side * side)


def resolution(preset: Preset, aspect: tuple[int, int]) -> tuple[int, int]:
    """(width, height) for an aspect ratio at the preset's native pixel area."""
    w, h = aspect
    area = preset.native_size**2
    width = math.sqrt(area * w / h)
    height = width * h / w

    def snap(side: float) -> int:
        return max(preset.min_side, round(side / preset.multiple) * preset.multiple)

    return snap(width), snap(height)
