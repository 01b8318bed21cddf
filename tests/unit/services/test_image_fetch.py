"""The image prompt fetcher against a real local HTTP image_server: what it keeps, what it refuses."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from aiohttp import web
from PIL import Image

from db import ImageStore
from services.image_fetch import (
    FetchLimits,
    ImageFetcher,
    ImageFetchError,
    check_bytes,
    check_pixels,
    check_url,
)
from testing.imageserver import gradient, png_header_only, png_of

LIMITS = FetchLimits(frozenset({"127.0.0.1"}), 64 * 1024, 4096 * 4096, 5.0)


@pytest.fixture
def fetcher(tmp_path):
    return ImageFetcher(LIMITS, ImageStore(tmp_path / "images"))


async def _refused(fetcher: ImageFetcher, url: str) -> ImageFetchError:
    with pytest.raises(ImageFetchError) as caught:
        await fetcher.fetch([url])
    assert caught.value.url == url and caught.value.message.startswith(f"Image prompt {url}: ")
    return caught.value


@pytest.mark.parametrize(
    ("url", "code", "snippet"),
    [
        ("https://cdn.discordapp.com/a.png", None, None),
        ("https://CDN.DiscordApp.com./a.png", None, None),
        ("https://cdn.discordapp.com:8443/a.png", None, None),
        ("https://evil.example/a.png", "image_host", "host evil.example is not allowed"),
        ("https://cdn.discordapp.com.evil.example/a.png", "image_host", "not allowed"),
        ("https://x.cdn.discordapp.com/a.png", "image_host", "not allowed"),
        ("https://cdn.discordapp.com@evil.example/a.png", "image_url", "user name"),
        ("ftp://cdn.discordapp.com/a.png", "image_url", "only http and https"),
        ("https://evil.example\\@cdn.discordapp.com/a.png", "image_url", "not a valid link"),
    ],
    ids=[
        "allowed",
        "case-and-trailing-dot",
        "other-port",
        "other-host",
        "suffix-trick",
        "subdomain",
        "userinfo",
        "ftp",
        "backslash",
    ],
)
def test_check_url_allows_only_exact_hosts_over_http(url, code, snippet):
    limits = FetchLimits(frozenset({"cdn.discordapp.com"}), 1, 1, 1.0)
    if code is None:
        assert check_url(url, limits).host.lower().startswith("cdn.discordapp.com")
        return
    with pytest.raises(ImageFetchError) as caught:
        check_url(url, limits)
    assert caught.value.code == code and snippet in caught.value.message
    assert "upload the image to Discord and paste its link" in caught.value.message


def test_size_checks_name_the_limit():
    check_bytes("u", LIMITS.max_bytes, LIMITS)
    check_pixels("u", 4096, 4096, LIMITS)
    with pytest.raises(ImageFetchError, match=r"larger than 0\.0625 MiB"):
        check_bytes("u", LIMITS.max_bytes + 1, LIMITS)
    with pytest.raises(ImageFetchError, match="4097x4096 pixels, more than 16,777,216"):
        check_pixels("u", 4097, 4096, LIMITS)


async def test_an_image_is_stored_once_as_rgb_png(image_server, fetcher):
    source = gradient(40, 30)
    url = image_server.add_bytes("fox.png", png_of(source.convert("RGBA")))
    stored = await fetcher.store_all([url, url])
    assert list(stored) == [url] and image_server.hits["fox.png"] == 1
    path = fetcher.store.path(stored[url], "png")
    with Image.open(path) as kept:
        assert kept.format == "PNG" and kept.mode == "RGB" and kept.size == (40, 30)
        assert np.array_equal(np.asarray(kept), np.asarray(source))
    again = await fetcher.store_all([url])
    assert again == stored  # the same picture is the same file


async def test_transparency_is_laid_over_white(image_server, fetcher):
    clear = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    url = image_server.add_bytes("clear.png", png_of(clear))
    [image] = (await fetcher.fetch([url])).values()
    assert image.getpixel((3, 3)) == (255, 255, 255)


async def test_a_disallowed_host_is_refused_without_a_request(image_server, fetcher):
    image_server.add_bytes("fox.png", png_of(gradient()))
    url = image_server.url("fox.png", host="localhost")
    error = await _refused(fetcher, url)
    assert error.code == "image_host" and "host localhost is not allowed" in error.message
    assert image_server.hits["fox.png"] == 0


async def test_bytes_that_are_not_an_image_are_refused(image_server, fetcher):
    url = image_server.add_bytes("page", b"<html>not a picture</html>", "text/html")
    error = await _refused(fetcher, url)
    assert error.code == "image_format" and "PNG, JPEG, WebP or GIF" in error.message


async def test_a_damaged_image_is_refused(image_server, fetcher):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    whole = png_of(Image.fromarray(noise, "RGB"))
    url = image_server.add_bytes("cut.png", whole[: len(whole) // 2])
    assert (await _refused(fetcher, url)).code == "image_decode"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "streamed"])
async def test_too_many_bytes_are_refused_while_streaming(image_server, fetcher, declared):
    async def big(request: web.Request) -> web.StreamResponse:
        if declared:
            return web.Response(body=b"\0" * (LIMITS.max_bytes + 1))
        response = web.StreamResponse()  # chunked: no length announced
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"\0" * 8192)
        return response

    error = await _refused(fetcher, image_server.add("big", big))
    assert error.code == "image_bytes" and "larger than" in error.message


@pytest.mark.parametrize(
    ("width", "height"), [(20000, 20000), (5000, 5000)], ids=["pillow-bomb", "over-our-cap"]
)
async def test_too_many_pixels_are_refused_from_the_header(image_server, fetcher, width, height):
    url = image_server.add_bytes("huge.png", png_header_only(width, height))
    error = await _refused(fetcher, url)
    assert error.code == "image_pixels" and "16,777,216" in error.message


async def test_a_redirect_to_another_host_is_not_followed(image_server, fetcher):
    image_server.add_bytes("fox.png", png_of(gradient()))

    async def away(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(image_server.url("fox.png", host="localhost"))

    error = await _refused(fetcher, image_server.add("away", away))
    assert error.code == "image_redirect" and "302" in error.message
    assert image_server.hits["fox.png"] == 0


async def test_a_missing_image_names_the_status(image_server, fetcher):
    error = await _refused(fetcher, image_server.url("gone.png"))
    assert error.code == "image_http" and "HTTP 404 Not Found" in error.message


async def test_a_slow_server_times_out(image_server, tmp_path):
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1)
        return web.Response(body=png_of(gradient()))

    quick = ImageFetcher(FetchLimits(LIMITS.hosts, LIMITS.max_bytes, LIMITS.max_pixels, 0.3))
    error = await _refused(quick, image_server.add("slow", slow))
    assert error.code == "image_timeout" and "0.3 s" in error.message


async def test_the_first_bad_link_in_prompt_order_is_reported(image_server, fetcher):
    good = image_server.add_bytes("fox.png", png_of(gradient()))
    with pytest.raises(ImageFetchError) as caught:
        await fetcher.store_all(
            [good, image_server.url("gone.png"), image_server.url("also-gone.png")]
        )
    assert caught.value.url == image_server.url("gone.png")


async def test_too_many_image_links_are_refused_naming_the_first_one_over(image_server, tmp_path):
    from dataclasses import replace

    fetcher = ImageFetcher(replace(LIMITS, max_links=2), ImageStore(tmp_path / "images"))
    urls = [image_server.add_bytes(f"{n}.png", png_of(gradient())) for n in range(3)]
    with pytest.raises(ImageFetchError) as caught:
        await fetcher.store_all(urls)
    assert caught.value.code == "image_links" and caught.value.url == urls[2]
    assert "3 image links" in caught.value.message and "at most 2" in caught.value.message
    assert sum(image_server.hits.values()) == 0  # refused before any download


async def test_the_images_of_a_job_share_one_pixel_budget(image_server, tmp_path):
    from dataclasses import replace

    budget = 3 * 120 * 80  # room for three 120x80 images, not four
    fetcher = ImageFetcher(replace(LIMITS, max_total_pixels=budget), ImageStore(tmp_path / "i"))
    urls = [image_server.add_bytes(f"g{n}.png", png_of(gradient(120, 80))) for n in range(4)]
    assert len(await fetcher.store_all(urls[:3])) == 3
    with pytest.raises(ImageFetchError) as caught:
        await fetcher.store_all(urls)
    assert caught.value.code == "image_total_pixels"
    assert f"past {budget:,} pixels together" in caught.value.message
