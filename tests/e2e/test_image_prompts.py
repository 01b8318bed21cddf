"""/imagine with an image prompt, through real discord.py, the fake Discord and a real local
image server: drawn from the downloaded image, or refused privately."""

from __future__ import annotations

import asyncio
import io

import pytest
from aiohttp import web
from PIL import Image

from inference.presets import PRESETS, resolution
from testing.imageserver import gradient, png_of


def _allow_local_images(runner) -> None:
    runner.settings = runner.settings.model_copy(update={"image_hosts": ["127.0.0.1"]})


async def _finished(fake, message):
    await fake.wait_for(lambda: message.attachments and message.components, timeout=60)
    return message


def _grid(message) -> Image.Image:
    return Image.open(io.BytesIO(message.attachments[0].data))


@pytest.mark.slow
async def test_an_image_prompt_is_downloaded_once_and_drawn_and_rerolled(
    world, runner, image_server
):
    fake, alice = world.fake, world.alice
    url = image_server.add_bytes("fox.png", png_of(gradient(120, 80)))
    _allow_local_images(runner)
    bot = await runner.start()
    prompt = f"{url} a fox in snow --ar 3:2 --seed 9 --iw 2"
    inter = await fake.slash(alice, world.channel, "imagine", prompt=prompt)
    assert await inter.wait_for_response() == 4 and not inter.ephemeral
    await _finished(fake, inter.original)
    width, height = resolution(PRESETS["tiny"], (3, 2))
    assert _grid(inter.original).size == (2 * width, 2 * height)
    [job] = await bot.services.jobs.for_user(alice.id)
    assert len(job.prompt_images) == 1 and job.request["image_weight"] == 2.0
    assert bot.services.store.path(job.prompt_images[0], "png").exists()
    assert image_server.hits["fox.png"] == 1

    reroll = await fake.click(alice, inter.original, inter.original.button("🔄"))
    await reroll.wait_for_response()
    await _finished(fake, reroll.original)
    child = await bot.services.jobs.get(
        max(j.id for j in await bot.services.jobs.for_user(alice.id))
    )
    assert child.parent_id == job.id and child.prompt_images == job.prompt_images
    assert image_server.hits["fox.png"] == 1  # the reroll drew from the stored file


async def test_an_image_prompt_from_another_host_is_refused_privately(world, runner, image_server):
    url = image_server.add_bytes("fox.png", png_of(gradient()))
    bot = await runner.start()  # default hosts: Discord's CDN only
    prompt = f"{url} a fox"
    inter = await world.fake.slash(world.alice, world.channel, "imagine", prompt=prompt)
    await inter.wait_for_response()
    assert inter.ephemeral
    embed = inter.original.embeds[0]
    assert embed["title"] == "Invalid parameter"
    assert embed["description"].startswith(f"Image prompt {url}: host 127.0.0.1 is not allowed")
    assert "upload the image to Discord and paste its link" in embed["description"]
    assert prompt in embed["fields"][0]["value"]
    assert await bot.services.jobs.for_user(world.alice.id) == []
    assert image_server.hits["fox.png"] == 0


@pytest.mark.slow
async def test_a_slow_image_download_is_deferred_in_time_then_answered(world, runner, image_server):
    fake = world.fake

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(2.5)  # past the bot's 2 s acknowledgement budget
        return web.Response(body=png_of(gradient()), content_type="image/png")

    url = image_server.add("slow.png", slow)
    _allow_local_images(runner)
    await runner.start()
    inter = await fake.slash(world.alice, world.channel, "imagine", prompt=f"{url} an owl")
    assert await inter.wait_for_response(timeout=5) == 5  # "thinking", inside Discord's 3 s
    await _finished(fake, inter.original)  # the thinking message became the job, then its grid
    assert inter.original.content.startswith(f"**{url} an owl**")


async def test_the_image_classifier_screens_image_prompts_before_they_are_used(
    world, runner, image_server, tmp_path
):
    """The default image filter's real transformers path, on a tiny twin that flags every
    image: an image prompt is refused before it steers a render, saying it was the prompt."""
    from moderation.images import build_tiny_image_classifier

    fake, alice = world.fake, world.alice
    flags_all = build_tiny_image_classifier(tmp_path / "flags-all", flags_everything=True)
    url = image_server.add_bytes("fox.png", png_of(gradient(64, 64)))
    _allow_local_images(runner)
    runner.settings = runner.settings.model_copy(
        update={"output_filter": "classifier", "image_classifier": str(flags_all)}
    )
    bot = await runner.start()
    inter = await fake.slash(alice, world.channel, "imagine", prompt=f"{url} a fox in snow")
    await inter.wait_for_response()
    await fake.wait_for(lambda: inter.original.embeds, timeout=60)
    assert inter.original.embeds[0]["title"] == "Job failed"
    assert not inter.original.attachments
    [job] = await bot.services.jobs.for_user(alice.id)
    assert job.error.endswith("(image prompt classifier: nsfw)"), job.error
