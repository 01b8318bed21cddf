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
    [job] = await bot.services.jobs.for_user(alice.id)
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
    [job] = await bot.services.jobs.for_user(alice.id)
    assert job.request["aspect"] == "16:9" and job.request["chaos"] == 10
    assert job.request["stylize"] == 300

    deleted = await _run(world, alice, "prefer", "option", "delete", name="wide")
    assert "Deleted" in deleted.original.content
    unknown = await _run(world, alice, "imagine", prompt="a fox --wide")
    assert unknown.original.embeds[0]["title"] == "Invalid parameter"


def _image(message):
    import io

    from PIL import Image

    return Image.open(io.BytesIO(message.attachments[0].data))


async def test_settings_offer_the_served_models_and_jobs_use_the_chosen_one(
    world, runner, tmp_path, tiny_models_dir
):
    from inference.tiny import build_tiny_pipeline

    fake, alice = world.fake, world.alice
    # A second preset from a presets file: the same tiny weights at a larger native size.
    tiny = build_tiny_pipeline(tiny_models_dir / "tiny")
    presets = tmp_path / "presets.toml"
    presets.write_text(
        f'[presets.tiny-wide]\nmodel = "{tiny}"\nnative_size = 96\nmultiple = 16\nsteps = 2\n'
    )
    runner.settings = runner.settings.model_copy(
        update={"models": ["tiny-wide"], "presets_file": presets}
    )
    bot = await runner.start()
    menu = await _run(world, alice, "settings")
    models = menu.original.selects()[f"ib:set:model:{alice.id}"]["options"]
    assert [o["value"] for o in models] == ["tiny", "tiny-wide"]
    assert "model tiny," in menu.original.content
    picked = await fake.select(alice, menu.original, f"ib:set:model:{alice.id}", ["tiny-wide"])
    assert await picked.wait_for_response() == 7
    assert "model tiny-wide," in menu.original.content

    made = await _run(world, alice, "imagine", prompt="a fox --seed 3")
    await fake.wait_for(lambda: made.original.attachments, timeout=60)
    [job] = await bot.services.jobs.for_user(alice.id)
    assert job.model == "tiny-wide"
    assert _image(made.original).size == (2 * 96, 2 * 96)
    info = await _run(world, alice, "info")
    assert "**Model:** tiny-wide" in info.original.content


async def test_remix_opens_a_form_and_runs_the_edited_prompt(world, runner):
    fake, alice = world.fake, world.alice
    bot = await runner.start()
    menu = await _run(world, alice, "settings")
    toggled = await fake.click(alice, menu.original, menu.original.button("Remix mode"))
    await toggled.wait_for_response()
    assert "remix on" in menu.original.content and "Remix mode ✓" in menu.original.buttons()

    made = await _run(world, alice, "imagine", prompt="a red fox --seed 5")
    await fake.wait_for(lambda: made.original.attachments, timeout=60)
    pressed = await fake.click(alice, made.original, made.original.button("V2"))
    assert await pressed.wait_for_response() == 9  # the form, not a job
    field = pressed.modal["components"][0]["components"][0]
    assert field["value"] == "a red fox --seed 5"

    # The form still works after a restart: its custom_id says what to do.
    await runner.stop_all()
    bot = await runner.start()
    submitted = await fake.submit_modal(alice, pressed, {"prompt": "a blue fox --ar 2:1"})
    await submitted.wait_for_response()
    await fake.wait_for(lambda: submitted.original.attachments, timeout=60)
    remixed = (await bot.services.jobs.for_user(alice.id))[0]
    assert remixed.prompt == "a blue fox --ar 2:1" and remixed.parent_index == 2
    grid = _image(submitted.original)
    assert grid.width == 2 * grid.height

    again = await fake.click(alice, made.original, made.original.button("🔄"))
    await again.wait_for_response()
    bad = await fake.submit_modal(alice, again, {"prompt": "a fox --chaos 500"})
    await bad.wait_for_response()
    assert bad.ephemeral and bad.original.embeds[0]["title"] == "Invalid parameter"
    blocked = await fake.submit_modal(alice, again, {"prompt": "a nude woman"})
    await blocked.wait_for_response()
    assert blocked.ephemeral and blocked.original.embeds[0]["title"] == "Banned prompt detected"
    assert "Appeal" in blocked.original.buttons()
    assert len(await bot.services.jobs.for_user(alice.id)) == 2  # the refused remixes made no job


async def test_fast_and_relax_switch_the_lane_and_show_the_fast_time_left(world, runner):
    alice = world.alice
    bot = await runner.start(run_worker=False)
    relaxed = await _run(world, alice, "relax")
    assert relaxed.ephemeral and "Relax mode on" in relaxed.original.content
    assert "fast time left today: 1h 0m of 1h 0m" in relaxed.original.content
    waiting = await _run(world, alice, "imagine", prompt="a sleepy fox")
    assert waiting.original.content.endswith("(Waiting to start) (relax)")
    [job] = await bot.services.jobs.for_user(alice.id)
    assert job.lane == "relax"
    fast = await _run(world, alice, "fast")
    assert "Fast mode on" in fast.original.content
    info = await _run(world, alice, "info")
    assert "**Fast time left:** 1h 0m of 1h 0m" in info.original.content
    assert "**Mode:** fast" in info.original.content
