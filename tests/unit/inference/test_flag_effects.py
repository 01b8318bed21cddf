"""Every flag acts on the picture, or is refused naming itself: on a guidance (CFG) model and
on its guidance-distilled twin (guidance 0, like sd-turbo), both tiny and real diffusers."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from inference.capabilities import Unsupported, check, fit
from inference.engine import Engine
from inference.presets import PRESETS
from inference.prompt import parse

CFG = PRESETS["tiny"]
DISTILLED = replace(CFG, name="tiny-g0", guidance_scale=0.0)
SEED = 7
BASE = "a red fox in the snow"
CLEAR = 1.0  # mean absolute pixel difference (0-255) that no rounding noise reaches


@pytest.fixture(scope="module", params=[CFG, DISTILLED], ids=["cfg", "guidance-0"])
def engine(request, tiny_models_dir):
    engine = Engine(request.param, tiny_models_dir)
    engine.load()
    return engine


def _distance(a, b) -> float:
    pairs = zip(a, b, strict=True)
    return float(np.mean([np.abs(np.asarray(x, np.float32) - np.asarray(y, np.float32)).mean()
                          for x, y in pairs]))  # fmt: skip


def _grid(engine, prompt, seed=SEED):
    return engine.grid(parse(prompt), seed=seed)


@pytest.fixture(scope="module")
def base(engine):
    return _grid(engine, BASE)


@pytest.mark.parametrize(
    "flags",
    [
        "--no people",
        "--chaos 60",
        "--stylize 0",
        "--stylize 1000",
        "--style raw",
        "--q .5",
        "--q 2",
        "--tile",
        "--stop 50",
        "--weird 500",
        "--weird 3000",
    ],
)
def test_a_flag_changes_the_grid_or_is_refused_naming_it(engine, base, flags):
    request = parse(f"{BASE} {flags}")
    try:
        check(engine.preset, fit(engine.preset, request), {engine.preset.name: engine.preset})
    except Unsupported as refused:
        assert flags.split()[0] in refused.message
        return
    flagged = engine.grid(request, seed=SEED)
    assert _distance(base, flagged) > CLEAR


def test_negative_weights_act_with_their_magnitude(engine):
    plain = _grid(engine, f"{BASE}::2")
    half = _grid(engine, f"{BASE}::2 people::-0.5")
    whole = _grid(engine, f"{BASE}::2 people::-1")
    assert _distance(plain, half) > CLEAR
    assert _distance(half, whole) > 0.25


def test_positive_weights_blend_by_their_magnitude(engine):
    light = _grid(engine, "a red fox:: snow::0.5")
    heavy = _grid(engine, "a red fox:: snow::2")
    assert _distance(light, heavy) > CLEAR


def test_words_past_the_77th_token_still_change_the_picture(engine):
    # The tiny tokenizer spends one token per character: 100 characters are past 77 tokens.
    head = "a red fox " * 15
    assert len(engine._pipe.tokenizer(head).input_ids) > 77
    short = _grid(engine, head)
    longer = _grid(engine, head + "standing in a bright green meadow")
    assert _distance(short, longer) > CLEAR


def test_stop_is_continuous_and_lower_values_are_less_finished(engine, monkeypatch):
    stops = {s: _grid(engine, f"{BASE} --stop {s}") for s in (10, 11, 12)}
    assert _distance(stops[10], stops[11]) > 0.1 and _distance(stops[11], stops[12]) > 0.1

    def latents(prompt):
        return _final_latents(engine, monkeypatch, lambda: _grid(engine, prompt))

    full = latents(BASE)
    gaps = [float((latents(f"{BASE} --stop {s}") - full).abs().mean()) for s in (10, 40, 80)]
    assert gaps[0] > gaps[1] > gaps[2] > 0


def _source(engine):
    return engine.grid(parse("a lighthouse at dusk"), seed=3)[0]


@pytest.mark.parametrize("strengths", [(0.35, 0.4), (0.7, 0.75), (0.2, 0.45)])
def test_neighbouring_img2img_strengths_render_differently(engine, strengths):
    source = _source(engine)
    low, high = (engine.vary(parse(BASE), source, seed=5, strength=s) for s in strengths)
    assert _distance(low, high) > 0.1


def _source_latents(engine, image):
    """The VAE latents of `image`, as img2img starts from them (a random VAE does not
    reproduce its input, so closeness to the source is measured in latent space)."""
    import torch

    pipe = engine._img2img
    with torch.no_grad():
        return pipe.vae.encode(pipe.image_processor.preprocess(image)).latent_dist.mode()


def _final_latents(engine, monkeypatch, render):
    """The latents the VAE decodes at the end of `render()`."""
    vae = engine._pipe.vae
    decode = vae.decode
    seen = []

    def recording(latents, *args, **kwargs):
        seen.append(latents.detach().clone())
        return decode(latents, *args, **kwargs)

    monkeypatch.setattr(vae, "decode", recording)
    try:
        render()
    finally:
        monkeypatch.undo()
    return seen[-1]


def _latent_gap(engine, monkeypatch, source, render) -> float:
    start = _source_latents(engine, source)
    return float((_final_latents(engine, monkeypatch, render) - start).abs().mean())


def test_vary_subtle_stays_closer_to_the_source_than_strong(engine, monkeypatch):
    from inference.operations import VARY_STRONG, VARY_SUBTLE

    source = _source(engine)
    gaps = [
        _latent_gap(engine, monkeypatch, source, lambda s=s: engine.vary(parse(BASE), source, 5, s))
        for s in (VARY_SUBTLE, VARY_STRONG)
    ]
    assert gaps[0] < gaps[1]


def test_image_weight_is_continuous_and_more_weight_keeps_more_of_the_image(engine, monkeypatch):
    image = _source(engine)
    url = "https://x.io/a.png"

    def render(iw):
        return lambda: engine.from_images(parse(f"{url} {BASE} --iw {iw}"), [image], seed=5)

    gaps = [_latent_gap(engine, monkeypatch, image, render(iw)) for iw in (0.5, 0.75, 1, 2)]
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3]


def _refs(style=(), character=()):
    from inference.references import References

    return References(list(style), list(character))


RED = (200, 30, 30)
BLUE = (20, 40, 220)


def _plain(colour):
    from PIL import Image

    return Image.new("RGB", (64, 64), colour)


def test_style_and_character_references_act_through_the_ip_adapter(engine, base):
    def with_refs(flags, refs):
        return engine.grid(parse(f"{BASE} {flags}"), seed=SEED, references=refs)

    url = "https://x.io/ref.png"
    red = with_refs(f"--sref {url}", _refs([_plain(RED)]))
    blue = with_refs(f"--sref {url}", _refs([_plain(BLUE)]))
    assert _distance(base, red) > CLEAR and _distance(red, blue) > CLEAR
    strong = with_refs(f"--sref {url} --sw 1000", _refs([_plain(RED)]))
    assert _distance(red, strong) > CLEAR
    character = with_refs(f"--cref {url}", _refs(character=[_plain(RED)]))
    assert _distance(base, character) > CLEAR
    weaker = with_refs(f"--cref {url} --cw 0", _refs(character=[_plain(RED)]))
    assert _distance(character, weaker) > CLEAR
    # The adapter is unloaded after the call: a plain prompt renders as before.
    assert _distance(base, _grid(engine, BASE)) == 0


def test_a_reference_job_without_its_images_fails_instead_of_ignoring_them(engine):
    with pytest.raises(ValueError, match="were not downloaded"):
        _grid(engine, f"{BASE} --sref https://x.io/ref.png")
