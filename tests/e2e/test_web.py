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
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from PIL import Image
from pydantic import SecretStr

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
    await bot.services.jobs.delete(job.id)
    assert (await page.goto(f"{base}/jobs/{job.id}?t={token}")).status == 404
    await page.goto(link)
    assert await page.locator(".card").count() == 0
    await bot.services.bans.ban(world.guild.id, world.alice.id, "spam", world.mod.id)
    response = await page.goto(link)
    assert response.status == 403 and "banned" in await page.text_content("main")
