"""/imagine to a grid, U/V/reroll, permissions, restarts and bad input, through real discord.py."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest
from PIL import Image

from inference.images import crop_from_grid
from inference.presets import PRESETS, resolution

PROMPT = "a red fox in snow --ar 3:2 --seed 42 --no people"
TINY = PRESETS["tiny"]


def _image(message) -> Image.Image:
    assert len(message.attachments) == 1, message.attachments
    return Image.open(io.BytesIO(message.attachments[0].data))


async def _finished(fake, message):
    """Wait until a job message carries its image and buttons (a running job's message may
    carry a preview already, with its Cancel button)."""
    await fake.wait_for(
        lambda: message.attachments and message.components and "Cancel" not in message.buttons(),
        timeout=60,
    )
    return message


async def _imagine(world, user, prompt):
    inter = await world.fake.slash(user, world.channel, "imagine", prompt=prompt)
    assert await inter.wait_for_response() == 4
    return inter


async def test_imagine_posts_a_grid_and_u_v_reroll_make_children(world, runner):
    fake, alice = world.fake, world.alice
    bot = await runner.start()
    inter = await _imagine(world, alice, PROMPT)
    message = inter.original
    assert not inter.ephemeral
    assert message.content == f"**{PROMPT}** - <@{alice.id}> (Waiting to start)"
    await _finished(fake, message)
    assert message.content == f"**{PROMPT}** - <@{alice.id}>"
    assert message.allowed_mentions["parse"] == [] and [
        str(u) for u in message.allowed_mentions["users"]
    ] == [str(alice.id)]
    width, height = resolution(TINY, (3, 2))
    grid = _image(message)
    assert grid.size == (2 * width, 2 * height)
    assert list(message.buttons()) == [
        "U1",
        "U2",
        "U3",
        "U4",
        "🔄",
        "V1",
        "V2",
        "V3",
        "V4",
        "❤️",
        "🗑️",
        "✉️",
    ]
    [job] = await bot.services.jobs.for_user(alice.id)
    assert job.seeds == [42, 43, 44, 45] and job.request["negative"] == ["people"]
    assert job.message_id == message.id and len(job.images) == 5

    upscale = await fake.click(alice, message, message.button("U2"))
    assert await upscale.wait_for_response() == 4
    await _finished(fake, upscale.original)
    assert upscale.original.content == f"**{PROMPT}** - Image #2 <@{alice.id}>"
    single = _image(upscale.original)
    assert single.size == (width, height)
    assert np.array_equal(
        np.asarray(single.convert("RGB")), np.asarray(crop_from_grid(grid.convert("RGB"), 2))
    )
    assert list(upscale.original.buttons()) == [
        "Upscale (Subtle)",
        "Upscale (Creative)",
        "Upscale 4x",
        "Vary (Subtle)",
        "Vary (Strong)",
        "Zoom Out 2x",
        "Zoom Out 1.5x",
        "Custom Zoom",
        "Make Square",
        "⬅️",
        "➡️",
        "⬆️",
        "⬇️",
        "❤️",
        "🗑️",
        "✉️",
    ]

    # ✉️: the parameters and seeds, privately, to anyone who can see a public result.
    details = await fake.click(world.bob, message, message.button("✉️"))
    await details.wait_for_response()
    assert details.ephemeral
    fields = {f["name"]: f["value"] for f in details.original.embeds[0]["fields"]}
    assert fields["Seeds"] == "1: `42` · 2: `43` · 3: `44` · 4: `45`"
    assert fields["Model"] == "tiny" and fields["Steps"] == "2"
    assert "--seed 42" in fields["Prompt"] and "--no people" in fields["Prompt"]

    variation = await fake.click(alice, message, message.button("V3"))
    await variation.wait_for_response()
    await _finished(fake, variation.original)
    assert variation.original.content == f"**{PROMPT}** - Variations (Strong) by <@{alice.id}>"
    assert _image(variation.original).size == grid.size
    assert "U1" in variation.original.buttons()

    reroll = await fake.click(alice, message, message.button("🔄"))
    await reroll.wait_for_response()
    await _finished(fake, reroll.original)
    assert reroll.original.content == f"**{PROMPT}** - <@{alice.id}>"
    assert reroll.original.attachments[0].data != message.attachments[0].data

    # children work the same way: a button on the variation's grid
    grandchild = await fake.click(alice, variation.original, variation.original.button("U1"))
    await grandchild.wait_for_response()
    await _finished(fake, grandchild.original)
    assert "Image #1" in grandchild.original.content


async def test_buttons_work_after_a_restart_and_only_for_their_owner(world, runner):
    fake, alice, bob = world.fake, world.alice, world.bob
    bot = await runner.start()
    inter = await _imagine(world, alice, "a lighthouse --seed 7")
    await _finished(fake, inter.original)
    await runner.stop(bot)

    await runner.start()
    stranger = await fake.click(bob, inter.original, inter.original.button("U1"))
    await stranger.wait_for_response()
    assert stranger.ephemeral
    assert stranger.original.embeds[0]["title"] == "Not your job"

    after = await fake.click(alice, inter.original, inter.original.button("V1"))
    await after.wait_for_response()
    await _finished(fake, after.original)
    assert "Variations" in after.original.content


async def test_a_job_queued_before_a_restart_is_finished_by_the_next_process(world, runner):
    fake, alice = world.fake, world.alice
    bot = await runner.start(run_worker=False)  # this process never renders the job
    inter = await _imagine(world, alice, "a queued fox")
    await runner.stop(bot)
    assert not inter.original.attachments

    await runner.start()
    await _finished(fake, inter.original)
    assert inter.original.content == f"**a queued fox** - <@{alice.id}>"


@pytest.mark.parametrize(
    ("prompt", "title", "snippet"),
    [
        ("a fox --bogus 3", "Invalid parameter", "bogus"),
        ("a fox --ar 3.5:2", "Invalid parameter", "aspect"),
        ("a fox --seed -4", "Invalid parameter", "seed"),
        ("a nude woman", "Banned prompt detected", "nude"),
    ],
    ids=["unknown-flag", "decimal-aspect", "negative-seed", "denied-term"],
)
async def test_bad_prompts_get_a_private_explanation_and_no_job(
    world, runner, prompt, title, snippet
):
    bot = await runner.start()
    inter = await _imagine(world, world.alice, prompt)
    assert inter.ephemeral
    embed = inter.original.embeds[0]
    assert embed["title"] == title
    assert snippet in embed["description"].lower()
    if title == "Invalid parameter":
        assert prompt in embed["fields"][0]["value"]
    assert await bot.services.jobs.for_user(world.alice.id) == []


async def test_moderators_ban_and_unban_and_others_cannot(world, runner):
    fake, alice, bob, mod = world.fake, world.alice, world.bob, world.mod
    await runner.start()
    denied = await fake.slash(alice, world.channel, "mod", "ban", user=bob, reason="spam")
    await denied.wait_for_response()
    assert denied.ephemeral and denied.original.embeds[0]["title"] == "Moderators only"

    ban = await fake.slash(mod, world.channel, "mod", "ban", user=bob, reason="spam")
    await ban.wait_for_response()
    assert ban.ephemeral and "Banned" in ban.original.content

    refused = await _imagine(world, bob, "a cat")
    assert refused.ephemeral and "spam" in refused.original.embeds[0]["description"]

    unban = await fake.slash(mod, world.channel, "mod", "unban", user=bob)
    await unban.wait_for_response()
    allowed = await _imagine(world, bob, "a cat")
    assert not allowed.ephemeral and "Waiting to start" in allowed.original.content


async def test_everyone_in_a_prompt_pings_no_one(world, runner):
    await runner.start()
    inter = await _imagine(world, world.alice, "@everyone look at <@&123> this fox")
    await _finished(world.fake, inter.original)
    mentions = inter.original.allowed_mentions
    assert mentions["parse"] == [] and mentions.get("roles", []) == []
    assert [str(u) for u in mentions["users"]] == [str(world.alice.id)]


async def test_large_permutation_asks_first_then_posts_one_message_per_job(world, runner):
    fake, alice = world.fake, world.alice
    await runner.start()
    inter = await _imagine(world, alice, "a {red, blue, green} fox --repeat 2")
    assert inter.ephemeral and "6 jobs" in inter.original.content
    yes = await fake.click(alice, inter.original, inter.original.button("Yes"))
    await yes.wait_for_response()
    assert "Starting 6 jobs" in inter.original.content
    await fake.wait_for(
        lambda: len(yes.followups) == 6 and all(m.attachments for m in yes.followups), timeout=120
    )
    assert sorted(m.content.split("**")[1] for m in yes.followups) == sorted(
        ["a red fox --repeat 2"] * 2
        + ["a blue fox --repeat 2"] * 2
        + ["a green fox --repeat 2"] * 2
    )


async def test_a_configured_moderator_role_counts_without_manage_messages(world, runner):
    fake = world.fake
    helpers = fake.add_role(world.guild, "Helpers", 0)
    carol = fake.add_user("carol")
    fake.add_member(world.guild, carol, roles=[helpers])
    runner.settings.mod_role_ids = [helpers.id]
    await runner.start()
    ban = await fake.slash(carol, world.channel, "mod", "ban", user=world.bob, reason="spam")
    await ban.wait_for_response()
    assert "Banned" in ban.original.content


async def test_cancel_button_stops_a_waiting_job_for_its_owner_only(world, runner):
    fake, alice = world.fake, world.alice
    bot = await runner.start(run_worker=False)
    inter = await _imagine(world, alice, "a fox that waits")
    message = inter.original
    assert list(message.buttons()) == ["Cancel"]
    stranger = await fake.click(world.bob, message, message.button("Cancel"))
    await stranger.wait_for_response()
    assert stranger.original.embeds[0]["title"] == "Not your job"
    click = await fake.click(alice, message, message.button("Cancel"))
    assert await click.wait_for_response() == 6
    await fake.wait_for(lambda: message.content.endswith("(Cancelled)") and not message.components)
    [job] = await bot.services.jobs.for_user(alice.id)
    assert job.state == "cancelled"


async def test_progress_is_shown_as_percent_edits_within_the_edit_budget(
    world, runner, monkeypatch
):
    # A render of a few seconds (not the tests' usual two steps), so that progress shows
    # after the queue place has used the message's one edit a second.
    monkeypatch.setitem(PRESETS, "tiny", replace(TINY, default_steps=240))
    await runner.start()
    inter = await _imagine(world, world.alice, "a slow fox --seed 1")
    message = await _finished(world.fake, inter.original)
    shown = [edit["content"] for edit in message.edits]
    percents = [int(m[1]) for c in shown if (m := re.search(r"\((\d+)%\)$", c))]
    assert percents, shown
    assert percents == sorted(percents) and all(0 <= p < 100 for p in percents)
    progress_edits = [r for r in world.fake.requests if r.method == "PATCH"][:-1]  # not the result
    assert all(b.time - a.time >= 0.9 for a, b in pairwise(progress_edits))  # about 1 edit/s


@pytest.mark.slow
async def test_a_running_job_shows_a_latent_preview_that_the_result_replaces(
    world, runner, monkeypatch
):
    monkeypatch.setitem(PRESETS, "tiny", replace(TINY, default_steps=480))  # a few seconds
    bot = await runner.start()
    inter = await _imagine(world, world.alice, "a fox coming into view --seed 2")
    message = await _finished(world.fake, inter.original)
    [job] = await bot.services.jobs.for_user(world.alice.id)
    with_preview = [
        edit
        for edit in message.edits
        if edit["attachments"] == [f"preview_{job.id}.jpg"]
        and re.search(r"\(\d+%\)$", edit["content"])
    ]
    assert with_preview, [(e["content"], e["attachments"]) for e in message.edits]
    assert [a.filename for a in message.attachments] == [f"imaginebot_{job.id}.png"]
    progress_edits = [r for r in world.fake.requests if r.method == "PATCH"][:-1]
    assert all(b.time - a.time >= 0.9 for a, b in pairwise(progress_edits))  # no extra edits


@pytest.mark.slow
async def test_cancelling_a_job_that_shows_a_preview_takes_the_preview_off(
    world, runner, monkeypatch
):
    monkeypatch.setitem(PRESETS, "tiny", replace(TINY, default_steps=2000))  # long enough
    await runner.start()
    inter = await _imagine(world, world.alice, "a fox that stops --seed 3")
    message = inter.original
    await world.fake.wait_for(lambda: message.attachments, timeout=60)  # the preview
    assert "Cancel" in message.buttons()
    click = await world.fake.click(world.alice, message, message.button("Cancel"))
    assert await click.wait_for_response() == 6
    await world.fake.wait_for(lambda: message.content.endswith("(Cancelled)"), timeout=60)
    assert not message.attachments and not message.components


async def test_a_result_after_the_token_expired_is_delivered_through_the_channel(world, runner):
    fake, alice = world.fake, world.alice
    bot = await runner.start(run_worker=False)
    inter = await _imagine(world, alice, "a patient fox --seed 4")
    await runner.stop(bot)
    fake.advance(16 * 60)  # the interaction token is dead now
    since = fake.clock.now()
    await runner.start()
    await _finished(fake, inter.original)
    assert inter.original.content == f"**a patient fox --seed 4** - <@{alice.id}>"
    calls = [(r.method, r.path.split("/")[1], r.status) for r in fake.rest_calls(since)]
    assert ("PATCH", "webhooks", 401) in calls and ("PATCH", "channels", 200) in calls


async def test_a_deleted_job_message_gets_its_result_as_a_new_message(world, runner):
    fake, alice = world.fake, world.alice
    bot = await runner.start(run_worker=False)
    inter = await _imagine(world, alice, "a vanishing fox")
    inter.original.deleted = True  # someone deleted the bot's message meanwhile
    await runner.stop(bot)
    await runner.start()
    reposted = await fake.wait_for(
        lambda: next((m for m in fake.messages(world.channel) if m.attachments), None), timeout=60
    )
    assert reposted.id != inter.original.id and "a vanishing fox" in reposted.content
    assert list(reposted.buttons())[:4] == ["U1", "U2", "U3", "U4"]


async def test_a_result_over_the_upload_limit_is_re_encoded_not_dropped(world, runner):
    import numpy as np

    from db import StoredImage, WorkerJobs
    from inference.images import encode_png

    fake, alice = world.fake, world.alice
    bot = await runner.start(run_worker=False)
    inter = await _imagine(world, alice, "a very detailed fox")
    pixels = np.random.default_rng(2).integers(0, 256, (2048, 2048, 3), dtype=np.uint8)
    big = encode_png(Image.fromarray(pixels), {"prompt": "a very detailed fox"})
    assert len(big) > 10 * 1024 * 1024
    digest = bot.services.store.put(big, "png")
    [job] = await bot.services.jobs.for_user(alice.id)
    await WorkerJobs(bot.services.sessions).claim_next("test")
    images = [StoredImage(i, digest, 2048, 2048, None) for i in range(5)]
    await WorkerJobs(bot.services.sessions).finish(job.id, images, [1, 2, 3, 4], 1.0)
    bot.delivery.notify()
    await _finished(fake, inter.original)
    attachment = inter.original.attachments[0]
    assert (
        attachment.filename.endswith((".webp", ".jpg")) and len(attachment.data) <= 10 * 1024 * 1024
    )
    assert bot.services.store.path(digest, "png").stat().st_size == len(
        big
    )  # the full file is kept


async def test_direct_messages_follow_the_owners_setting(world, runner):
    fake, alice = world.fake, world.alice
    runner.settings.guild_ids = []  # global commands, as DMs need
    dm = fake.dm_channel(alice)
    bot = await runner.start()
    refused = await fake.slash(alice, dm, "imagine", prompt="a fox in a dm")
    await refused.wait_for_response()
    assert refused.ephemeral and refused.original.embeds[0]["title"] == "Not available in DMs"
    await runner.stop(bot)

    runner.settings.allow_dms = True
    await runner.start()
    blocked = await fake.slash(alice, dm, "imagine", prompt="a nude woman")
    await blocked.wait_for_response()
    assert blocked.original.embeds[0]["title"] == "Banned prompt detected"
    allowed = await fake.slash(alice, dm, "imagine", prompt="a fox in a dm --seed 1")
    await allowed.wait_for_response()
    await _finished(fake, allowed.original)
    assert allowed.original.channel_id == dm.id and "U1" in allowed.original.buttons()


async def test_auto_sharding_asks_discord_for_the_shard_count_and_serves(world, runner):
    fake = world.fake
    runner.settings = runner.settings.model_copy(update={"shards": "auto"})
    bot = await runner.start()
    assert bot.shard_count == 1
    assert any(r.path.startswith("/gateway/bot") for r in fake.rest_calls())
    inter = await _imagine(world, world.alice, "a fox --seed 2")
    await _finished(fake, inter.original)


async def test_waiting_messages_show_their_fair_place_in_the_queue(world, runner):
    fake, alice, bob = world.fake, world.alice, world.bob
    await runner.start(run_worker=False)  # nothing starts: the queue only grows
    mine = [await _imagine(world, alice, f"fox {n} --seed {n}") for n in range(3)]
    theirs = await _imagine(world, bob, "a single owl --seed 9")
    expected = [(mine[0], 1), (theirs, 2), (mine[1], 3), (mine[2], 4)]  # bob: behind one job
    for inter, place in expected:
        await fake.wait_for(
            lambda inter=inter, place=place: inter.original.content.endswith(
                f"(Waiting to start, #{place} in queue)"
            ),
            timeout=30,
        )


async def test_the_embedded_worker_renders_with_the_memory_options(world, runner):
    runner.settings = runner.settings.model_copy(
        update={"attention_slicing": True, "vae_tiling": True}
    )
    bot = await runner.start()
    inter = await _imagine(world, world.alice, "a frugal fox --seed 3")
    await world.fake.wait_for(
        lambda: inter.original.attachments and "U1" in inter.original.buttons(), timeout=60
    )
    engine = bot.worker.engines.get("tiny")
    assert engine.memory.attention_slicing and engine._pipe.vae.use_tiling


async def test_the_discord_connection_pool_is_bounded(world, runner):
    runner.settings = runner.settings.model_copy(update={"http_connections": 7})
    bot = await runner.start(run_worker=False)
    assert bot.http.connector.limit_per_host == 7


async def test_waiting_messages_estimate_the_wait_from_recent_renders(world, runner):
    from db import StoredImage, WorkerJobs

    fake, alice = world.fake, world.alice
    bot = await runner.start(run_worker=False)
    sessions = bot.services.sessions
    await bot.services.health.workers.beat("gpu-1", ["tiny"])  # one live worker for tiny
    first = await _imagine(world, alice, "a fox --seed 1")
    await fake.wait_for(lambda: "#1 in queue" in first.original.content, timeout=30)
    assert "about" not in first.original.content  # no render time known yet: no figure
    rendering = WorkerJobs(sessions, 3)
    job = await rendering.claim_next("gpu-1")
    await rendering.finish(job.id, [StoredImage(1, "0" * 64, 64, 64, 1)], [1], 12.0, "gpu-1")
    waiting = [await _imagine(world, world.bob, f"an owl {n} --seed {n}") for n in range(2)]
    for inter, text in zip(
        waiting, ("#1 in queue, about 10 s", "#2 in queue, about 25 s"), strict=True
    ):
        await fake.wait_for(
            lambda inter=inter, text=text: text in inter.original.content, timeout=30
        )
