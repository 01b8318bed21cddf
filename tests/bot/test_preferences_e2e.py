"""/settings and /prefer through real discord.py: stored per user, applied under typed flags."""

from __future__ import annotations


async def _run(world, user, /, *path, **options):
    inter = await world.fake.slash(user, world.channel, *path, **options)
    await inter.wait_for_response()
    return inter


async def test_settings_menus_store_defaults_that_prompts_use(world, runner):
    fake, alice = world.fake, world.alice
    bot = await runner.start()
    menu = await _run(world, alice, "settings")
    assert menu.ephemeral and "built-in defaults" in menu.original.content
    stylize = f"ib:set:stylize:{alice.id}"
    picked = await fake.select(alice, menu.original, stylize, ["750"])
    assert await picked.wait_for_response() == 7
    assert "stylize 750" in menu.original.content
    chosen = [o for o in menu.original.selects()[stylize]["options"] if o.get("default")]
    assert [o["value"] for o in chosen] == ["750"]

    stranger = await fake.select(world.bob, menu.original, stylize, ["50"])
    await stranger.wait_for_response()
    assert stranger.ephemeral

    await _run(world, alice, "imagine", prompt="a fox")
    [job] = await bot.jobs.for_user(alice.id)
    assert job.request["stylize"] == 750


async def test_prefer_option_and_suffix(world, runner):
    alice = world.alice
    bot = await runner.start()
    saved = await _run(
        world, alice, "prefer", "option", "set", name="wide", value="--ar 16:9 --c 10"
    )
    assert saved.ephemeral and "--wide" in saved.original.content
    listed = await _run(world, alice, "prefer", "option", "list")
    assert "`--wide` = `--ar 16:9 --c 10`" in listed.original.content
    bad = await _run(world, alice, "prefer", "suffix", value="a cat --ar 1:1")
    assert bad.original.embeds[0]["title"] == "Invalid parameter"
    await _run(world, alice, "prefer", "suffix", value="--s 300")

    await _run(world, alice, "imagine", prompt="a fox --wide")
    [job] = await bot.jobs.for_user(alice.id)
    assert job.request["aspect"] == "16:9" and job.request["chaos"] == 10
    assert job.request["stylize"] == 300

    deleted = await _run(world, alice, "prefer", "option", "delete", name="wide")
    assert "Deleted" in deleted.original.content
    unknown = await _run(world, alice, "imagine", prompt="a fox --wide")
    assert unknown.original.embeds[0]["title"] == "Invalid parameter"
