"""After an upscale: Upscale (Subtle/Creative), Zoom Out, Custom Zoom, pans and Make Square,
through real discord.py, the fake Discord and the tiny model."""

from __future__ import annotations

import io

from PIL import Image

from inference.presets import PRESETS, resolution

TINY = PRESETS["tiny"]


def _image(message) -> Image.Image:
    return Image.open(io.BytesIO(message.attachments[0].data))


async def _done(fake, message):
    await fake.wait_for(lambda: message.attachments and message.components, timeout=60)
    return message


async def _press(world, user, message, label):
    inter = await world.fake.click(user, message, message.button(label))
    await inter.wait_for_response()
    return inter


async def _single(world, prompt):
    """A finished U2 of a finished grid of `prompt`, as alice."""
    fake, alice = world.fake, world.alice
    made = await fake.slash(alice, world.channel, "imagine", prompt=prompt)
    await made.wait_for_response()
    grid = await _done(fake, made.original)
    upscale = await _press(world, alice, grid, "U2")
    return await _done(fake, upscale.original)


async def test_upscales_zooms_pans_and_make_square_post_their_results(world, runner):
    fake, alice = world.fake, world.alice
    await runner.start()
    single = await _single(world, "a fox in snow --ar 3:2 --seed 8")
    width, height = resolution(TINY, (3, 2))
    assert _image(single).size == (width, height)

    subtle = await _press(world, alice, single, "Upscale (Subtle)")
    await _done(fake, subtle.original)
    assert subtle.original.content.endswith(f"- Upscaled (Subtle) by <@{alice.id}>")
    assert _image(subtle.original).size == (2 * width, 2 * height)
    assert "Upscale (Creative)" not in subtle.original.buttons()  # upscaled once
    assert "Zoom Out 2x" in subtle.original.buttons()

    zoom = await _press(world, alice, single, "Zoom Out 2x")
    await _done(fake, zoom.original)
    assert zoom.original.content.endswith(f"- Zoom Out by <@{alice.id}>")
    assert _image(zoom.original).size == (2 * width, 2 * height)  # a grid, same image size
    assert "U1" in zoom.original.buttons()

    pan = await _press(world, alice, single, "⬅️")
    await _done(fake, pan.original)
    assert pan.original.content.endswith(f"- Pan Left by <@{alice.id}>")
    panned = _image(pan.original)
    assert panned.height == 2 * height and panned.width > 2 * width

    square = await _press(world, alice, single, "Make Square")
    await _done(fake, square.original)
    grid = _image(square.original)
    assert grid.width == grid.height == 2 * width

    again = await _press(world, alice, square.original, "🔄")  # reroll repeats the square
    await _done(fake, again.original)
    assert again.original.content.endswith(f"- Make Square by <@{alice.id}>")
    assert _image(again.original).size == grid.size


async def test_custom_zoom_asks_how_far_and_refuses_a_bad_factor(world, runner):
    fake, alice = world.fake, world.alice
    bot = await runner.start()
    single = await _single(world, "a fox --seed 9")
    square = next(
        c for row in single.components for c in row["components"] if c.get("label") == "Make Square"
    )
    assert square["disabled"]  # a square image cannot be made square

    opened = await _press(world, alice, single, "Custom Zoom")
    assert opened.response_type == 9
    fields = [row["components"][0] for row in opened.modal["components"]]
    assert [(f["custom_id"], f["value"]) for f in fields] == [
        ("prompt", "a fox --seed 9"),
        ("zoom", "2"),
    ]
    bad = await fake.submit_modal(alice, opened, {"prompt": "a fox --seed 9", "zoom": "3"})
    await bad.wait_for_response()
    assert bad.ephemeral and bad.original.embeds[0]["title"] == "Invalid zoom"
    assert "'3'" in bad.original.embeds[0]["description"]

    ok = await fake.submit_modal(
        alice, opened, {"prompt": "a fox in a forest --ar 2:1", "zoom": "1.5"}
    )
    await ok.wait_for_response()
    await _done(fake, ok.original)
    job = (await bot.services.jobs.for_user(alice.id))[0]
    assert (job.action, job.zoom, job.prompt) == ("zoom_out", 1.5, "a fox in a forest --ar 2:1")
    grid = _image(ok.original)
    assert grid.width == 2 * grid.height  # the aspect changed with the prompt

    stranger = await fake.click(world.bob, single, single.button("Custom Zoom"))
    await stranger.wait_for_response()
    assert stranger.ephemeral and stranger.original.embeds[0]["title"] == "Not your job"


async def test_every_other_button_of_a_single_image_posts_its_labelled_result(world, runner):
    fake, alice = world.fake, world.alice
    await runner.start()
    single = await _single(world, "a fox at dawn --ar 3:2 --seed 10")
    width, height = resolution(TINY, (3, 2))
    expected = {
        "Upscale (Creative)": ("Upscaled (Creative) by", (2 * width, 2 * height)),
        "Upscale 4x": ("Upscaled (4x) by", (4 * width, 4 * height)),
        "Vary (Subtle)": ("Variations (Subtle) by", (2 * width, 2 * height)),
        "Vary (Strong)": ("Variations (Strong) by", (2 * width, 2 * height)),
        "Zoom Out 1.5x": ("Zoom Out by", (2 * width, 2 * height)),
        "➡️": ("Pan Right by", None),
        "⬆️": ("Pan Up by", None),
        "⬇️": ("Pan Down by", None),
    }
    for label, (says, size) in expected.items():
        pressed = await _press(world, alice, single, label)
        await _done(fake, pressed.original)
        assert pressed.original.content.endswith(f"- {says} <@{alice.id}>"), label
        image = _image(pressed.original)
        if size is not None:
            assert image.size == size, label
        elif label == "➡️":
            assert image.height == 2 * height and image.width > 2 * width
        else:
            assert image.width == 2 * width and image.height > 2 * height


async def test_every_custom_id_the_bot_posts_has_exactly_one_handler(world, runner):
    fake = world.fake
    bot = await runner.start()
    assert bot.router.unhandled() == []
    single = await _single(world, "a fox in snow --seed 8")
    for command in (("settings",), ("history",), ("privacy", "delete")):
        asked = await fake.slash(world.alice, world.channel, *command)
        await asked.wait_for_response()
    posted = [
        component["custom_id"]
        for message in [*fake.messages(world.channel), *fake.ephemerals(world.alice)]
        for row in message.components
        for component in row["components"]
        if "custom_id" in component
    ]
    assert len(posted) > 30 and "❤️" in single.buttons()
    for custom_id in posted:
        assert bot.router.handler_for(custom_id) is not None, custom_id
        assert len(bot.router.registry.claims(custom_id)) == 1, custom_id
