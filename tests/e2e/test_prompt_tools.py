"""/describe, /blend and /shorten through real discord.py and the fake Discord, with the tiny
models (captioner, IP-Adapter, text encoder): their answers, and the buttons that run them
as jobs under the same moderation, limits and history."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from inference.presets import PRESETS, resolution
from testing.imageserver import gradient, png_of

pytestmark = pytest.mark.slow


def _allow_local_images(runner) -> None:
    runner.settings = runner.settings.model_copy(update={"image_hosts": ["127.0.0.1"]})


async def _finished(fake, message, timeout=90):
    await fake.wait_for(lambda: message.components and not _waiting(message), timeout=timeout)
    return message


def _waiting(message) -> bool:
    return "Cancel" in message.buttons()


def _image(message) -> Image.Image:
    return Image.open(io.BytesIO(message.attachments[0].data))


def _solid(colour, size=(96, 64)) -> bytes:
    return png_of(Image.new("RGB", size, colour))


async def test_describe_answers_four_prompts_whose_buttons_start_jobs(world, runner):
    fake, alice = world.fake, world.alice
    _allow_local_images(runner)
    bot = await runner.start()
    upload = fake.upload("fox.png", png_of(gradient(120, 80)))
    inter = await fake.slash(alice, world.channel, "describe", image=upload)
    await inter.wait_for_response()
    message = await _finished(fake, inter.original)
    [embed] = message.embeds
    lines = [line for line in embed["description"].split("\n\n") if line]
    assert len(lines) == 4 and all(line.endswith("--ar 3:2") for line in lines)
    assert len(set(lines)) == 4
    assert {"1", "2", "3", "4", "Imagine all"} <= set(message.buttons())
    assert message.attachments  # the described image is shown with its prompts
    [job] = await bot.services.jobs.for_user(alice.id)
    assert job.action == "describe" and len(job.answer["prompts"]) == 4

    run = await fake.click(alice, message, message.buttons()["2"])
    await run.wait_for_response()
    grid = await _finished(fake, run.original)
    imagined = [j for j in await bot.services.jobs.for_user(alice.id) if j.action == "imagine"]
    assert [j.prompt for j in imagined] == [job.answer["prompts"][1]]
    width, height = resolution(PRESETS["tiny"], (3, 2))
    assert _image(grid).size == (2 * width, 2 * height)

    again = await fake.click(alice, message, message.buttons()["🔄"])
    await again.wait_for_response()
    rerolled = await _finished(fake, again.original)
    jobs = [j for j in await bot.services.jobs.for_user(alice.id) if j.action == "describe"]
    assert len(jobs) == 2 and jobs[0].prompt_images == jobs[1].prompt_images
    assert rerolled.embeds[0]["description"] != embed["description"]

    history = await fake.slash(alice, world.channel, "history")
    await history.wait_for_response()
    assert f"**#{job.id}** /describe" in history.original.content
    shown = await fake.slash(alice, world.channel, "show", job_id=job.id)
    await shown.wait_for_response()
    assert shown.original.embeds[0]["description"] == embed["description"]
    assert set(shown.original.buttons()) == set(message.buttons())


async def test_imagine_all_starts_one_job_per_prompt_and_others_may_not_press(world, runner):
    fake, alice, bob = world.fake, world.alice, world.bob
    _allow_local_images(runner)
    bot = await runner.start()
    upload = fake.upload("fox.png", png_of(gradient(64, 64)))
    inter = await fake.slash(alice, world.channel, "describe", image=upload)
    await inter.wait_for_response()
    message = await _finished(fake, inter.original)
    stolen = await fake.click(bob, message, message.buttons()["1"])
    await stolen.wait_for_response()
    assert stolen.ephemeral and await bot.services.jobs.for_user(bob.id) == []

    everything = await fake.click(alice, message, message.buttons()["Imagine all"])
    await everything.wait_for_response()
    imagined = [j for j in await bot.services.jobs.for_user(alice.id) if j.action == "imagine"]
    [describe] = [j for j in await bot.services.jobs.for_user(alice.id) if j.action == "describe"]
    assert sorted(j.prompt for j in imagined) == sorted(describe.answer["prompts"])
    assert all(p.endswith("--ar 1:1") for p in describe.answer["prompts"])


async def test_describe_refuses_a_link_from_a_host_not_allowed(world, runner, image_server):
    url = image_server.add_bytes("fox.png", png_of(gradient()))
    bot = await runner.start()  # default hosts: Discord's CDN only
    inter = await world.fake.slash(world.alice, world.channel, "describe", link=url)
    await inter.wait_for_response()
    assert inter.ephemeral
    assert "host 127.0.0.1 is not allowed" in inter.original.embeds[0]["description"]
    assert await bot.services.jobs.for_user(world.alice.id) == []
    assert image_server.hits["fox.png"] == 0


async def test_blend_of_two_attachments_is_a_grid_that_depends_on_both(world, runner):
    fake, alice = world.fake, world.alice
    _allow_local_images(runner)
    bot = await runner.start()
    red, blue, green = (fake.upload(f"{c}.png", _solid(c)) for c in ("red", "blue", "green"))
    grids = []
    for pair in ((red, blue), (red, green)):
        inter = await fake.slash(
            alice, world.channel, "blend", image1=pair[0], image2=pair[1], dimensions="landscape"
        )
        await inter.wait_for_response()
        grids.append(_image(await _finished(fake, inter.original)))
    width, height = resolution(PRESETS["tiny"], (3, 2))
    assert grids[0].size == (2 * width, 2 * height)
    difference = np.abs(np.asarray(grids[0], float) - np.asarray(grids[1], float)).mean()
    assert difference > 1.0
    jobs = await bot.services.jobs.for_user(alice.id)
    assert {j.action for j in jobs} == {"blend"} and all(len(j.prompt_images) == 2 for j in jobs)
    assert all(j.request["blend"] == [1.0, 1.0] for j in jobs)

    message = inter.original
    assert {"U1", "V1"} <= set(message.buttons())
    reroll = await fake.click(alice, message, message.buttons()["🔄"])
    await reroll.wait_for_response()
    await _finished(fake, reroll.original)
    child = max(await bot.services.jobs.for_user(alice.id), key=lambda j: j.id)
    assert child.action == "reroll" and child.request["blend"] == [1.0, 1.0]


async def test_shorten_bolds_the_important_words_and_its_buttons_run_the_options(world, runner):
    fake, alice = world.fake, world.alice
    bot = await runner.start()
    prompt = "a red fox sitting in a misty forest at dawn, oil painting --ar 3:2"
    inter = await fake.slash(alice, world.channel, "shorten", prompt=prompt)
    await inter.wait_for_response()
    message = await _finished(fake, inter.original)
    [embed] = message.embeds
    important, options = (field["value"] for field in embed["fields"])
    assert "**" in important
    [job] = await bot.services.jobs.for_user(alice.id)
    assert job.action == "shorten"
    assert job.answer["words"] == prompt.split(" --")[0].replace(",", "").split()
    assert set(job.answer["important"]) <= set(job.answer["words"])
    shown = job.answer["options"]
    assert 1 <= len(shown) <= 5 and all(o.endswith("--ar 3:2") for o in shown)
    assert all(len(o) < len(prompt) for o in shown)
    run = await fake.click(alice, message, message.buttons()["1"])
    await run.wait_for_response()
    await _finished(fake, run.original)
    [imagined] = [j for j in await bot.services.jobs.for_user(alice.id) if j.action == "imagine"]
    assert imagined.prompt == shown[0] and imagined.request["aspect"] == "3:2"


async def test_shorten_moderates_the_prompt_like_imagine(world, runner):
    bot = await runner.start()
    inter = await world.fake.slash(
        world.alice, world.channel, "shorten", prompt="a naked woman on a beach"
    )
    await inter.wait_for_response()
    assert inter.ephemeral and inter.original.embeds[0]["title"] == "Banned prompt detected"
    assert await bot.services.jobs.for_user(world.alice.id) == []


async def test_a_banned_member_can_neither_describe_blend_nor_shorten(world, runner):
    fake, alice = world.fake, world.alice
    _allow_local_images(runner)
    bot = await runner.start()
    await bot.services.bans.ban(world.guild.id, alice.id, "spam", world.mod.id)
    red, blue = (fake.upload(f"{c}.png", _solid(c)) for c in ("red", "blue"))
    for name, options in (
        ("describe", {"image": red}),
        ("blend", {"image1": red, "image2": blue}),
        ("shorten", {"prompt": "a red fox"}),
    ):
        inter = await fake.slash(alice, world.channel, name, **options)
        await inter.wait_for_response()
        assert inter.ephemeral, name
        assert "banned" in inter.original.embeds[0]["description"].lower(), name
    assert await bot.services.jobs.for_user(alice.id) == []


async def test_a_full_queue_refuses_a_blend(world, runner):
    fake, alice = world.fake, world.alice
    _allow_local_images(runner)
    runner.settings = runner.settings.model_copy(update={"max_queued_jobs": 1})
    bot = await runner.start(run_worker=False)
    red, blue = (fake.upload(f"{c}.png", _solid(c)) for c in ("red", "blue"))
    first = await fake.slash(alice, world.channel, "shorten", prompt="a red fox")
    await first.wait_for_response()
    second = await fake.slash(alice, world.channel, "blend", image1=red, image2=blue)
    await second.wait_for_response()
    assert second.ephemeral and "queue" in second.original.embeds[0]["title"].lower()
    assert [j.action for j in await bot.services.jobs.for_user(alice.id)] == ["shorten"]
