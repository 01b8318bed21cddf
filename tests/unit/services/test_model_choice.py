"""Which model a job renders with, and what it refuses before anything is queued: the one
capability check (inference.capabilities) as /imagine and a remix reach it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from db import JobState
from inference.presets import PRESETS
from inference.prompt import GenerationRequest
from services.errors import InvalidParameter
from tests.unit.services.job_services import _finished, _origin


@pytest.fixture
def versions(service):
    """tiny answers to --v 6 and --niji 6; tiny-fast is its --turbo twin."""
    presets = service.intake.presets
    presets["tiny"] = replace(PRESETS["tiny"], aliases=("6", "niji 6"), turbo="tiny-fast")
    presets["tiny-fast"] = replace(PRESETS["tiny"], name="tiny-fast", guidance_scale=0.0)
    service.intake.models = list(presets)
    return service


async def _refused(service, prompt):
    with pytest.raises(InvalidParameter) as info:
        await service.imagine.imagine(prompt, _origin())
    assert await service.jobs.for_user(1) == []  # nothing queued
    return info.value


@pytest.mark.parametrize(
    ("prompt", "model"),
    [
        ("a fox --v 6", "tiny"),
        ("a fox --niji 6", "tiny"),
        ("a fox --model tiny-wide", "tiny-wide"),
        ("a fox --model tiny --turbo", "tiny-fast"),
        ("a fox --v 6 --turbo", "tiny-fast"),
    ],
)
async def test_version_model_and_turbo_pick_the_preset(versions, prompt, model):
    await versions.prefs.set_model(1, "tiny-wide")  # the prompt's own choice wins
    [job] = await versions.imagine.imagine(prompt, _origin())
    assert job.model == model


async def test_permutations_may_render_with_different_models(versions):
    jobs = await versions.imagine.imagine("a fox --model {tiny, tiny-wide}", _origin())
    assert [job.model for job in jobs] == ["tiny", "tiny-wide"]


@pytest.mark.parametrize(
    ("prompt", "flag", "says"),
    [
        ("a fox --v 5", "--v 5", "models here: tiny (--v 6, niji 6)"),
        ("a fox --niji 5", "--niji 5", "models here:"),
        ("a fox --model sdxl", "--model sdxl", "models here:"),
    ],
)
async def test_an_unmapped_version_is_refused_with_what_is_available(versions, prompt, flag, says):
    refused = await _refused(versions, prompt)
    assert refused.code == "model_unavailable"
    assert flag in refused.description and says in refused.description


async def test_turbo_without_a_twin_is_refused(service):
    refused = await _refused(service, "a fox --turbo")
    assert "--turbo" in refused.description and "--fast" in refused.description


@pytest.mark.parametrize(
    ("prompt", "says"),
    [
        ("a fox --ar 1000000:1", "use ratios from 1:4 to 4:1"),
        ("a fox --ar 1:5", "use ratios from 1:4 to 4:1"),
        ("a fox --style cute", "--style cute is not a style of tiny"),
        ("a fox --sref 1234", "--sref style codes and `random` are Midjourney's own"),
        ("a fox --sref https://x.io/s.png::2", "per-link weights"),
        ("https://x.io/a.png a fox --cref https://x.io/c.png", "cannot be combined with image"),
        ("a fox --q .25", "use .5, 1, 2"),  # tiny has 2 steps: .25 would render like .5
    ],
)
async def test_typed_flags_the_model_cannot_honour_are_refused(service, prompt, says):
    refused = await _refused(service, prompt)
    assert says in refused.description


async def test_an_aspect_ratio_at_the_limit_is_accepted(service):
    [job] = await service.imagine.imagine("a fox --ar 4:1", _origin())
    assert job.state == JobState.QUEUED


async def test_settings_a_model_cannot_use_are_skipped_not_refused(service):
    flux = replace(PRESETS["tiny-flux"], name="tiny-wide")
    service.intake.presets["tiny-wide"] = flux
    await service.prefs.set_model(1, "tiny-wide")
    await service.prefs.set_suffix(1, "--no snow --tile --ar 8:1")
    [job] = await service.imagine.imagine("a fox", _origin())
    request = GenerationRequest.from_json(job.request)
    assert request.negative == ("snow",) and request.typed == frozenset()
    # Typed, the same flag is refused.
    with pytest.raises(InvalidParameter, match="--no"):
        await service.imagine.imagine("a fox --no snow", _origin())


async def test_a_remix_may_switch_the_model_and_is_checked_against_it(versions):
    parent = await _finished(versions)
    child = await versions.children.child(
        "v", 1, parent.id, _origin(), remix_prompt="a red fox --model tiny-wide"
    )
    assert child.model == "tiny-wide"
    with pytest.raises(InvalidParameter, match="--v 5"):
        await versions.children.child("v", 1, parent.id, _origin(), remix_prompt="a fox --v 5")


async def test_details_show_the_seeds_steps_and_guidance_and_keep_stealth_jobs_private(service):
    from services.errors import NotYourJob

    parent = await _finished(service)
    details = await service.controls.details(parent.id, _origin(user=2))  # public: anyone
    assert details.seeds == [(1, 42), (2, 43), (3, 44), (4, 45)]
    assert details.prompt == "a red fox --seed 42"
    assert (details.rendering.steps, details.rendering.guidance) == (2, 5.0)
    await service.prefs.set_stealth(1, True)
    hidden = await _finished(service)
    with pytest.raises(NotYourJob):
        await service.controls.details(hidden.id, _origin(user=2))
    assert (await service.controls.details(hidden.id, _origin(user=3, moderator=True))).seeds


async def test_settings_name_the_defaults_the_chosen_model_skips(service):
    from bot.ui.settings import settings_text
    from services.preferences import Preferences

    service.intake.presets["tiny-wide"] = replace(PRESETS["tiny-flux"], name="tiny-wide")
    preferences = Preferences(service.prefs, service.intake.guilds, service.intake.presets)
    await service.prefs.set_setting(1, "quality", 0.25)
    await service.prefs.set_suffix(1, "--no snow")
    prefs = await service.prefs.get(1)
    assert preferences.skipped(prefs) == ["--quality"]  # tiny: 2 steps, .25 renders as .5
    prefs = await service.prefs.set_model(1, "tiny-wide")
    assert preferences.skipped(prefs) == ["--no", "--quality"]
    text = settings_text(prefs, preferences.models, skipped=preferences.skipped(prefs))
    assert "tiny-wide cannot use --no, --quality from your settings" in text


async def test_reference_images_are_downloaded_stored_in_order_and_kept_by_a_reroll(
    service, image_server, tmp_path
):
    from db import ImageStore, StoredImage
    from services.image_fetch import FetchLimits, ImageFetcher
    from testing.imageserver import gradient, png_of

    limits = FetchLimits(frozenset({"127.0.0.1"}), 1024 * 1024, 4096 * 4096, 5.0)
    service.intake.images = ImageFetcher(limits, ImageStore(tmp_path / "images"))
    style = image_server.add_bytes("style.png", png_of(gradient()))
    face = image_server.add_bytes("face.png", png_of(gradient(30, 30)))
    [job] = await service.imagine.imagine(f"a fox --sref {style} --cref {face}", _origin())
    assert len(job.prompt_images) == 2 and job.prompt_images[0] != job.prompt_images[1]
    assert image_server.hits["style.png"] == image_server.hits["face.png"] == 1
    claimed = await service.worker.claim_next("w")
    images = [StoredImage(i, f"{i:064x}", 64, 64, None if i == 0 else i) for i in range(5)]
    await service.worker.finish(claimed.id, images, [1, 2, 3, 4], 0.1)
    reroll = await service.children.child("r", 0, job.id, _origin())
    assert reroll.prompt_images == job.prompt_images and image_server.hits["style.png"] == 1
