"""The web companion in a real Chromium (Debian's, through playwright) against the bot on the
fake Discord: the links the bot posts open the pages, images load, and what a link may not
see stays out of reach (tampered and expired links, stealth jobs, deleted jobs, bans)."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import shutil
import socket
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from PIL import Image
from pydantic import SecretStr

from db.models import utcnow
from services.gallery import THUMB_FORMAT
from services.links import Grant

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
# Where a real run writes the screenshots that docs/ shows (unset: none are written).
SCREENSHOTS = os.environ.get("IMAGINEBOT_SCREENSHOTS")


@pytest.fixture
async def browser():
    if not HAVE_CHROMIUM:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required under CI=true and is not at {CHROMIUM}")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        await launched.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _start(runner):
    port = _free_port()
    runner.settings = runner.settings.model_copy(
        update={
            "web_port": port,
            "web_url": f"http://127.0.0.1:{port}",
            "web_secret": SecretStr("a test secret that is long enough"),
        }
    )
    bot = await runner.start()
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            try:
                async with http.get(f"http://127.0.0.1:{port}/gallery"):
                    return bot
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise AssertionError("the web companion never started")


async def _result(world, user, prompt):
    inter = await world.fake.slash(user, world.channel, "imagine", prompt=prompt)
    await inter.wait_for_response()
    message = inter.original
    await world.fake.wait_for(lambda: message.attachments and "Web" in message.links(), timeout=60)
    return message


async def _gallery_link(world, user) -> str:
    inter = await world.fake.slash(user, world.channel, "web")
    await inter.wait_for_response()
    assert inter.ephemeral
    return inter.original.links()["Open your gallery"]


async def _all_images_loaded(page) -> bool:
    return await page.evaluate(
        "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
    )


async def _status(url: str) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, dict(response.headers), await response.read()


async def _shot(page, name: str) -> None:
    if SCREENSHOTS:
        await page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


async def test_the_result_link_opens_the_job_page_with_its_images_and_parameters(
    world, runner, browser
):
    bot = await _start(runner)
    message = await _result(world, world.alice, "a lighthouse at dusk --seed 77 --ar 3:2")
    [job] = await bot.services.jobs.for_user(world.alice.id)
    page = await browser.new_page()
    response = await page.goto(message.links()["Web"])
    assert response.status == 200
    await page.wait_for_load_state("networkidle")
    assert await page.text_content("#prompt") == "a lighthouse at dusk --seed 77 --ar 3:2"
    assert await page.locator("img").count() == 5  # the grid and its four images
    assert await _all_images_loaded(page)
    parameters = await page.text_content(".parameters")
    assert "tiny" in parameters and "3:2" in parameters and "77" in parameters
    for index in range(5):
        src = await page.locator("img").nth(index).get_attribute("src")
        status, headers, body = await _status(f"{runner.settings.web_url}{src}")
        assert status == 200 and headers["Content-Type"] == "image/png"
        assert headers["X-Content-Type-Options"] == "nosniff"
        Image.open(io.BytesIO(body)).verify()
    assert "default-src 'none'" in response.headers["content-security-policy"]
    await _shot(page, "job-page")
    # That link opens this job's page only: not the gallery, not another job.
    token = parse_qs(urlsplit(message.links()["Web"]).query)["t"][0]
    assert (await page.goto(f"{runner.settings.web_url}/gallery?t={token}")).status == 404
    assert (await page.goto(f"{runner.settings.web_url}/jobs/{job.id + 1}?t={token}")).status == 404


async def test_the_gallery_lists_the_members_jobs_and_filters_them(world, runner, browser):
    bot = await _start(runner)
    await _result(world, world.alice, "a red fox in snow --seed 1")
    await _result(world, world.alice, "a blue whale at sea --seed 2")
    page = await browser.new_page()
    assert (await page.goto(await _gallery_link(world, world.alice))).status == 200
    await page.wait_for_load_state("networkidle")
    captions = await page.locator(".card .caption").all_text_contents()
    assert captions == ["a blue whale at sea --seed 2", "a red fox in snow --seed 1"]
    assert await _all_images_loaded(page)  # thumbnails (WebP, made once)
    await _shot(page, "gallery")
    await page.fill("input[name=q]", "whale")
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert await page.locator(".card .caption").all_text_contents() == [captions[0]]
    await page.locator(".card a").first.click()
    await page.wait_for_load_state("networkidle")
    assert await page.text_content("#prompt") == captions[0]
    jobs = await bot.services.jobs.for_user(world.alice.id)
    assert page.url.startswith(f"{runner.settings.web_url}/jobs/{max(j.id for j in jobs)}?")


async def test_tampered_and_expired_links_are_refused(world, runner, browser):
    bot = await _start(runner)
    link = await _gallery_link(world, world.alice)
    page = await browser.new_page()
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    response = await page.goto(tampered)
    assert response.status == 403 and "not valid" in await page.text_content("main")
    links = bot.services.links
    old = Grant(world.alice.id, world.guild.id, None, 1_000, 2_000)  # expired long ago
    response = await page.goto(links.gallery_url(old))
    assert response.status == 403 and "expired" in await page.text_content("main")
    # Bob's valid link, its grant rewritten to name Alice and its signature kept.
    payload, mac = links.token(Grant(world.bob.id, world.guild.id, None, 1_000, 2**40)).split(".")
    grant = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    rewritten = grant.replace(str(world.bob.id), str(world.alice.id)).encode()
    forged = base64.urlsafe_b64encode(rewritten).decode().rstrip("=") + "." + mac
    response = await page.goto(f"{runner.settings.web_url}/gallery?t={forged}")
    assert response.status == 403 and "not valid" in await page.text_content("main")


async def test_another_members_stealth_job_cannot_be_reached(world, runner, browser):
    bot = await _start(runner)
    await bot.services.prefs.set_stealth(world.bob.id, True)
    message = await _wait_stealth(world, world.bob, "a secret garden --seed 5")
    assert "Web" not in message.links()  # a stealth result's message carries no page link
    [secret] = await bot.services.jobs.for_user(world.bob.id)
    page = await browser.new_page()
    alice_link = await _gallery_link(world, world.alice)
    token = parse_qs(urlsplit(alice_link).query)["t"][0]
    base = runner.settings.web_url
    assert (await page.goto(f"{base}/jobs/{secret.id}?t={token}")).status == 404
    assert (await page.goto(f"{base}/jobs/{secret.id}/images/0?t={token}")).status == 404
    await page.goto(f"{base}/server?t={token}")
    assert await page.locator(".card").count() == 0  # the server gallery leaves it out
    bob_link = await _gallery_link(world, world.bob)
    bob_token = parse_qs(urlsplit(bob_link).query)["t"][0]
    assert (await page.goto(f"{base}/jobs/{secret.id}?t={bob_token}")).status == 200


async def _wait_stealth(world, user, prompt):
    inter = await world.fake.slash(user, world.channel, "imagine", prompt=prompt)
    await inter.wait_for_response()
    message = inter.original
    await world.fake.wait_for(lambda: message.attachments and message.components, timeout=60)
    return message


async def test_deleting_a_job_or_a_ban_closes_its_pages(world, runner, browser):
    bot = await _start(runner)
    await _result(world, world.alice, "a paper boat --seed 3")
    [job] = await bot.services.jobs.for_user(world.alice.id)
    link = await _gallery_link(world, world.alice)
    token = parse_qs(urlsplit(link).query)["t"][0]
    base = runner.settings.web_url
    page = await browser.new_page()
    assert (await page.goto(f"{base}/jobs/{job.id}?t={token}")).status == 200
    await page.goto(link)
    await page.wait_for_load_state("networkidle")  # the gallery made the grid's thumbnail
    grid = next(i for i in job.images if i.index == 0)
    thumb = bot.services.store.path(grid.sha256, THUMB_FORMAT)
    assert thumb.exists()
    await bot.services.jobs.delete(job.id)
    assert (await page.goto(f"{base}/jobs/{job.id}?t={token}")).status == 404
    await bot.services.maintenance.purge_deleted(utcnow() + timedelta(seconds=1))
    assert not thumb.exists()  # purged with the job's images
    await page.goto(link)
    assert await page.locator(".card").count() == 0
    await bot.services.bans.ban(world.guild.id, world.alice.id, "spam", world.mod.id)
    response = await page.goto(link)
    assert response.status == 403 and "banned" in await page.text_content("main")


async def _upscaled(world, user, prompt):
    """A finished upscale (U1) of a fresh grid: the image Vary (Region) works on."""
    grid = await _result(world, user, prompt)
    pressed = await world.fake.click(user, grid, grid.button("U1"))
    await pressed.wait_for_response()
    single = pressed.followups[0] if pressed.followups else pressed.original
    await world.fake.wait_for(lambda: "Vary (Region)" in single.buttons(), timeout=60)
    return single


async def _editor_link(world, user, single) -> str:
    pressed = await world.fake.click(user, single, single.button("Vary (Region)"))
    await pressed.wait_for_response()
    assert pressed.ephemeral
    return pressed.original.links()["Open the editor"]


async def _region_result(world, bot, user):
    """Wait for the Vary (Region) job's grid in the channel; the job and the message."""

    def posted():
        return next(
            (
                m for m in world.fake.messages(world.channel)
                if "Vary (Region) by" in m.content and m.attachments and "U1" in m.buttons()
            ),
            None,
        )  # fmt: skip

    message = await world.fake.wait_for(posted, timeout=90)
    jobs = await bot.services.jobs.for_user(user.id)
    return next(j for j in jobs if j.action == "vary_region"), message


def _stored(bot, digest: str, fmt: str = "png") -> Image.Image:
    return Image.open(bot.services.store.path(digest, fmt)).convert("RGB")


async def test_vary_region_paints_a_mask_and_posts_the_new_grid_in_discord(world, runner, browser):
    import numpy as np

    bot = await _start(runner)
    single = await _upscaled(world, world.alice, "a lighthouse at dusk --seed 8")
    page = await browser.new_page()
    assert (await page.goto(await _editor_link(world, world.alice, single))).status == 200
    await page.wait_for_load_state("networkidle")
    box = await page.locator("#mask").bounding_box()
    await page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=8)
    await page.mouse.up()
    await page.fill("#prompt", "a lighthouse with a red door --seed 8")
    await _shot(page, "vary-region-editor")
    await page.click("#submit")
    job, message = await _region_result(world, bot, world.alice)
    await page.wait_for_selector("#result img", timeout=30_000)
    await page.wait_for_load_state("networkidle")
    assert await page.locator("#result img").count() == 4 and await _all_images_loaded(page)
    assert job.prompt == "a lighthouse with a red door --seed 8"
    [upscale] = [
        j for j in await bot.services.jobs.for_user(world.alice.id) if j.action == "upscale"
    ]
    assert job.parent_id == upscale.id and len(job.prompt_images) == 1
    mask = np.asarray(_stored(bot, job.prompt_images[0]).convert("L")) > 127
    assert 0.02 < mask.mean() < 0.6  # the stroke, not the whole image
    source = np.asarray(_stored(bot, next(i for i in upscale.images if i.index == 1).sha256))
    for image in (i for i in job.images if i.index > 0):
        drawn = np.asarray(_stored(bot, image.sha256))
        assert drawn.shape == source.shape
        assert np.array_equal(drawn[~mask], source[~mask])  # outside the region: untouched
        assert np.abs(drawn[mask].astype(int) - source[mask]).mean() > 1  # inside: redrawn
    assert message.channel_id == world.channel.id


async def test_the_editor_works_with_the_keyboard_alone(world, runner, browser):
    bot = await _start(runner)
    single = await _upscaled(world, world.alice, "a quiet harbour --seed 4")
    page = await browser.new_page()
    await page.goto(await _editor_link(world, world.alice, single))
    await page.wait_for_load_state("networkidle")
    for _ in range(12):  # Tab through the toolbar to the image
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "mask":
            break
    assert await page.evaluate("document.activeElement.id") == "mask"
    await page.keyboard.down(" ")
    for key in ("ArrowRight", "ArrowRight", "ArrowDown", "ArrowDown"):
        await page.keyboard.press(key)
    await page.keyboard.up(" ")
    await page.keyboard.press("r")  # the rectangle tool: Enter at two corners
    await page.keyboard.press("Enter")
    await page.keyboard.press("Shift+ArrowLeft")
    await page.keyboard.press("Enter")
    await page.keyboard.press("Tab")  # the prompt
    assert await page.evaluate("document.activeElement.id") == "prompt"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "submit"
    await page.keyboard.press("Enter")
    job, _ = await _region_result(world, bot, world.alice)
    assert job.prompt == "a quiet harbour --seed 4"  # the prompt as it was, unedited
    await page.wait_for_selector("#result img", timeout=30_000)


async def test_only_the_owner_reaches_the_editor_and_an_empty_mask_is_refused(
    world, runner, browser
):
    bot = await _start(runner)
    single = await _upscaled(world, world.alice, "a tin robot --seed 6")
    pressed = await world.fake.click(world.bob, single, single.button("Vary (Region)"))
    await pressed.wait_for_response()
    assert pressed.ephemeral and "Open the editor" not in pressed.original.links()
    page = await browser.new_page()
    bob_token = parse_qs(urlsplit(await _gallery_link(world, world.bob)).query)["t"][0]
    [upscale] = [
        j for j in await bot.services.jobs.for_user(world.alice.id) if j.action == "upscale"
    ]
    base = runner.settings.web_url
    assert (await page.goto(f"{base}/jobs/{upscale.id}/region?t={bob_token}")).status == 404
    await page.goto(await _editor_link(world, world.alice, single))
    await page.wait_for_load_state("networkidle")
    await page.click("#submit")  # nothing painted
    # (polled from here: the page's CSP forbids the eval wait_for_function would need)
    for _ in range(100):
        if "Nothing is painted" in (await page.text_content("#message") or ""):
            break
        await asyncio.sleep(0.1)
    assert "Nothing is painted" in await page.text_content("#message")
    assert not [
        j for j in await bot.services.jobs.for_user(world.alice.id) if j.action == "vary_region"
    ]


async def test_erasing_ones_data_revokes_the_links_made_before(world, runner, browser):
    fake = world.fake
    await _start(runner)
    await _result(world, world.alice, "a fox to forget --seed 1")
    link = await _gallery_link(world, world.alice)
    page = await browser.new_page()
    assert (await page.goto(link)).status == 200
    ask = await fake.slash(world.alice, world.channel, "privacy", "delete")
    await ask.wait_for_response()
    erase = await fake.click(world.alice, ask.original, ask.original.button("Erase everything"))
    await erase.wait_for_response()
    response = await page.goto(link)
    assert response.status == 403 and "revoked" in await page.text_content("main")
    await asyncio.sleep(1.1)  # links carry whole seconds: a new one is issued after the erasure
    assert (await page.goto(await _gallery_link(world, world.alice))).status == 200
