"""/history, /show, /info, favourites and deleting: a member's own work, through discord.py."""

from __future__ import annotations


async def _run(world, user, /, *path, **options):
    inter = await world.fake.slash(user, world.channel, *path, **options)
    await inter.wait_for_response()
    return inter


async def _grid(world, user, prompt):
    inter = await _run(world, user, "imagine", prompt=prompt)
    await world.fake.wait_for(lambda: inter.original.attachments, timeout=60)
    return inter.original


async def test_history_pages_newest_first_and_show_brings_a_job_back(world, runner):
    fake, alice = world.fake, world.alice
    await runner.start()
    for n in range(7):
        await _grid(world, alice, f"fox number {n}")
    page = await _run(world, alice, "history")
    assert page.ephemeral and "page 1 of 2" in page.original.content
    lines = page.original.content.splitlines()[1:]
    assert [("fox number 6" in lines[0]), ("fox number 2" in lines[4])] == [True, True]
    nxt = await fake.click(alice, page.original, page.original.button("▶"))
    assert await nxt.wait_for_response() == 7
    assert "page 2 of 2" in page.original.content and "fox number 0" in page.original.content

    job_label = next(label for label in page.original.buttons() if label.startswith("#"))
    shown = await fake.click(alice, page.original, page.original.button(job_label))
    await shown.wait_for_response()
    assert not shown.ephemeral and shown.original.attachments
    assert "U1" in shown.original.buttons()
    again = await fake.click(alice, shown.original, shown.original.button("U1"))
    await again.wait_for_response()
    await fake.wait_for(lambda: again.original.attachments, timeout=60)


async def test_show_refuses_another_members_job(world, runner):
    bot = await runner.start()
    await _grid(world, world.alice, "alice's fox")
    [job] = await bot.services.jobs.for_user(world.alice.id)
    refused = await _run(world, world.bob, "show", job_id=job.id)
    assert refused.ephemeral and refused.original.embeds[0]["title"] == "Not your job"
    missing = await _run(world, world.bob, "show", job_id=999999)
    assert missing.original.embeds[0]["title"] == "Job unavailable"


async def test_favourites_and_delete(world, runner):
    fake, alice = world.fake, world.alice
    bot = await runner.start()
    keep = await _grid(world, alice, "a fox to keep")
    gone = await _grid(world, alice, "a fox to delete")
    fav = await fake.click(alice, keep, keep.button("❤️"))
    await fav.wait_for_response()
    assert "Added to your favourites" in fav.original.content
    favourites = await _run(world, alice, "history", favourites=True)
    assert "a fox to keep" in favourites.original.content
    assert "a fox to delete" not in favourites.original.content

    stranger = await fake.click(world.bob, gone, gone.button("🗑️"))
    await stranger.wait_for_response()
    assert stranger.original.embeds[0]["title"] == "Not your job"
    delete = await fake.click(alice, gone, gone.button("🗑️"))
    await delete.wait_for_response()
    await fake.wait_for(lambda: gone.deleted)
    listing = await _run(world, alice, "history")
    assert "a fox to delete" not in listing.original.content
    assert "a fox to keep" in listing.original.content
    assert len(await bot.services.jobs.for_user(alice.id)) == 1


async def test_info_shows_queue_and_usage(world, runner):
    await runner.start()
    await _grid(world, world.alice, "a fox")
    info = await _run(world, world.alice, "info")
    assert info.ephemeral
    assert "Running:** 0" in info.original.content and "Jobs kept:** 1" in info.original.content
    assert "GPU time today" in info.original.content


async def test_help_is_a_private_guide_within_embed_limits(world, runner):
    await runner.start()
    guide = await _run(world, world.alice, "help")
    assert guide.ephemeral
    names = [f["name"] for f in guide.original.embeds[0]["fields"]]
    assert names == ["Prompts", "Buttons", "Images and prompts", "Your things", "Rules"]
    text = " ".join(f["value"] for f in guide.original.embeds[0]["fields"])
    assert all(f"`/{name}" in text for name in ("imagine", "describe", "blend", "shorten"))


async def test_stealth_jobs_are_never_shown_to_another_member(world, runner):
    fake, alice, bob = world.fake, world.alice, world.bob
    bot = await runner.start()
    await _grid(world, alice, "a public fox")
    menu = await _run(world, alice, "settings")
    toggled = await fake.click(alice, menu.original, menu.original.button("Public mode"))
    await toggled.wait_for_response()
    assert "Stealth mode" in menu.original.buttons()
    await _grid(world, alice, "a secret fox")
    secret = (await bot.services.jobs.for_user(alice.id))[0]
    assert secret.stealth

    listed = await _run(world, bob, "history", member=alice)
    assert listed.ephemeral and "a public fox" in listed.original.content
    assert "a secret fox" not in listed.original.content
    assert "#" not in "".join(listed.original.buttons())  # no Show buttons for others' jobs
    assert "https://discord.com/channels/" in listed.original.content
    own = await _run(world, alice, "history")
    assert "a secret fox" in own.original.content and "a public fox" in own.original.content

    shown = await _run(world, bob, "show", job_id=secret.id)
    assert shown.original.embeds[0]["title"] == "Job unavailable"  # not even "not yours"
    info = await _run(world, alice, "info")
    assert "**Visibility:** stealth" in info.original.content


async def test_a_long_history_pages_on_without_counting_everything(world, runner, monkeypatch):
    import services.history
    from db import JobState, NewJob

    monkeypatch.setattr(services.history, "COUNTED", 6)
    fake, alice = world.fake, world.alice
    imagine_bot = await runner.start()
    for n in range(12):  # queued rows are enough for a listing; nothing renders them
        new = NewJob(
            idempotency_key=f"long:{n}",
            user_id=alice.id,
            channel_id=world.channel.id,
            guild_id=world.guild.id,
            prompt=f"old fox {n}",
            request={},
            model="tiny",
            action="imagine",
        )
        await imagine_bot.services.jobs.create(new, JobState.CANCELLED)
    page = await _run(world, alice, "history")
    assert "page 1 of 2+" in page.original.content
    for expected in ("page 2 of 2+", "page 3 of 3+"):
        nxt = await fake.click(alice, page.original, page.original.button("▶"))
        await nxt.wait_for_response()
        assert expected in page.original.content
    assert "old fox 0" in page.original.content
    last = next(b for row in page.original.components for b in row["components"]
                if b.get("emoji", {}).get("name") == "▶")  # fmt: skip
    assert last["disabled"]


async def test_a_server_can_turn_stealth_off_for_jobs_made_there(world, runner):
    alice, mod = world.alice, world.mod
    bot = await runner.start(run_worker=False)
    await bot.services.prefs.set_stealth(alice.id, True)
    refused = await _run(world, alice, "mod", "setup", allow_stealth=False)
    assert refused.original.embeds[0]["title"] == "Moderators only"
    setup = await _run(world, mod, "mod", "setup", allow_stealth=False)
    assert "stealth mode is off" in setup.original.content
    await _run(world, alice, "imagine", prompt="a fox for everyone")
    [job] = await bot.services.jobs.for_user(alice.id)
    assert not job.stealth
    menu = await _run(world, alice, "settings")
    assert "off on this server: your jobs here are public" in menu.original.content
    await _run(world, mod, "mod", "setup", allow_stealth=True)
    await _run(world, alice, "imagine", prompt="a secret fox")
    assert (await bot.services.jobs.for_user(alice.id))[0].stealth
