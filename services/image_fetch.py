"""Image prompts: download a prompt's leading image links safely and keep them as PNG files.

Only allowed hosts (exact host name), http(s), no redirects (a redirect could lead anywhere),
a time limit, a byte cap enforced while streaming, and a pixel cap read from the file header
before any decoding (Pillow's own bomb guard only warns below twice its limit). Decoding and
re-encoding run in a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import aiohttp
import fpng
import numpy as np
import yarl
from PIL import Image, UnidentifiedImageError

from db import PROMPT_IMAGE_FORMAT

T = TypeVar("T")

if TYPE_CHECKING:
    from db import ImageStore
    from services.settings import Settings

MIB = 1024 * 1024
# Only decoders for the formats people paste; Pillow would otherwise try dozens.
FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
CHUNK = 64 * 1024
DECODE_AT_ONCE = 2
UPLOAD_FIX = "upload the image to Discord and paste its link"


@dataclass(frozen=True)
class FetchLimits:
    """Where image prompts may come from and how big they may be (see `Settings`)."""

    hosts: frozenset[str]
    max_bytes: int
    max_pixels: int
    timeout_s: float
    # Per job: distinct image links (image prompts and references) and their pixels together.
    max_links: int = 6
    max_total_pixels: int = 2 * 4096 * 4096

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchLimits:
        return cls(
            frozenset(settings.image_hosts),
            settings.image_max_bytes,
            settings.image_max_pixels,
            settings.image_timeout_s,
            settings.image_max_links,
            settings.image_max_total_pixels,
        )


class PixelBudget:
    """The pixels one job's images may take together, claimed as each header is read (before
    the image is decoded), so a prompt of many large links is refused, not held in memory."""

    def __init__(self, limits: FetchLimits) -> None:
        self.limits = limits
        self.used = 0
        self._lock = threading.Lock()

    def claim(self, url: str, width: int, height: int) -> None:
        with self._lock:
            if self.used + width * height > self.limits.max_total_pixels:
                raise ImageFetchError(
                    url,
                    f"this image ({width}x{height}) takes the prompt's images past "
                    f"{self.limits.max_total_pixels:,} pixels together",
                    "use fewer or smaller images",
                    "image_total_pixels",
                )
            self.used += width * height


class ImageFetchError(Exception):
    """An image prompt that cannot be used: which link, what is wrong, how to fix it."""

    def __init__(self, url: str, problem: str, fix: str, code: str) -> None:
        self.url = url
        self.code = code
        self.message = f"Image prompt {url}: {problem}; {fix}."
        super().__init__(self.message)


def check_url(url: str, limits: FetchLimits) -> yarl.URL:
    """The link to request, if its scheme and host are allowed (no I/O)."""
    try:
        parsed = yarl.URL(url)
    except ValueError:
        raise ImageFetchError(url, "is not a valid link", UPLOAD_FIX, "image_url") from None
    if parsed.scheme not in ("http", "https"):
        raise ImageFetchError(
            url,
            f"only http and https links can be used, not {parsed.scheme or 'none'}",
            UPLOAD_FIX,
            "image_url",
        )
    if parsed.user is not None or parsed.password is not None:
        raise ImageFetchError(
            url, "links with a user name or password are not fetched", UPLOAD_FIX, "image_url"
        )
    host = (parsed.host or "").lower().rstrip(".")
    if host not in limits.hosts:
        allowed = ", ".join(sorted(limits.hosts)) or "none"
        raise ImageFetchError(
            url, f"host {host} is not allowed (allowed: {allowed})", UPLOAD_FIX, "image_host"
        )
    return parsed


def check_bytes(url: str, size: int, limits: FetchLimits) -> None:
    """Refuse a download past the byte cap (called with the running total while streaming)."""
    if size > limits.max_bytes:
        raise ImageFetchError(
            url,
            f"the file is larger than {_mib(limits.max_bytes)}",
            "use a smaller image (or save it as JPEG or WebP)",
            "image_bytes",
        )


def check_pixels(url: str, width: int, height: int, limits: FetchLimits) -> None:
    """Refuse an image past the pixel cap, from the size its header declares."""
    if width * height > limits.max_pixels:
        raise _too_many_pixels(url, f"the image is {width}x{height} pixels", limits)


def _too_many_pixels(url: str, what: str, limits: FetchLimits) -> ImageFetchError:
    return ImageFetchError(
        url,
        f"{what}, more than {limits.max_pixels:,} in all",
        "resize it (for example to 2048x2048) and upload it again",
        "image_pixels",
    )


def decode(
    url: str, data: bytes, limits: FetchLimits, budget: PixelBudget | None = None
) -> Image.Image:
    """The image as RGB (transparency over white), its size checked (alone, and against the
    job's `budget`) before decoding. CPU-heavy: call it off the event loop."""
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError:  # so big that Pillow refuses to open it
        raise _too_many_pixels(url, "the image is far too large", limits) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise ImageFetchError(
            url,
            "the link does not lead to a PNG, JPEG, WebP or GIF image",
            "link the image file itself, not a web page",
            "image_format",
        ) from None
    with image:
        check_pixels(url, image.width, image.height, limits)
        if budget is not None:
            budget.claim(url, image.width, image.height)
        try:
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                rgb = Image.new("RGB", rgba.size, (255, 255, 255))
                rgb.paste(rgba, mask=rgba.getchannel("A"))
                return rgb
            return image.convert("RGB")
        except (OSError, ValueError, SyntaxError):
            raise ImageFetchError(
                url,
                "the image is damaged or cut short and cannot be decoded",
                "save it again and upload it",
                "image_decode",
            ) from None


def png_bytes(image: Image.Image) -> bytes:
    """Plain PNG of the RGB pixels (no metadata: the same picture always hashes the same)."""
    return bytes(fpng.from_ndarray(np.ascontiguousarray(np.asarray(image))))


class ImageFetcher:
    """Downloads image prompts under `limits`; with a store, keeps them there as PNG files."""

    def __init__(self, limits: FetchLimits, store: ImageStore | None = None) -> None:
        self.limits = limits
        self.store = store
        # A decoded image at the pixel cap is ~50 MB: decode a few at a time, whoever asks.
        self._decoding = asyncio.Semaphore(DECODE_AT_ONCE)

    async def fetch(self, urls: Sequence[str]) -> dict[str, Image.Image]:
        """Each distinct link's image (RGB), downloaded at the same time; the first failing
        link, in prompt order, raises ImageFetchError."""
        return await self._each(urls, lambda image: image)

    async def store_all(self, urls: Sequence[str]) -> dict[str, str]:
        """Each distinct link's stored PNG file (its SHA-256), downloaded once; each image
        is stored as soon as it is decoded, and only its digest kept."""
        if self.store is None:
            raise RuntimeError("this fetcher has no image store")
        return await self._each(urls, self._put)

    async def _each(self, urls: Sequence[str], keep: Callable[[Image.Image], T]) -> dict[str, T]:
        distinct = list(dict.fromkeys(urls))
        if len(distinct) > self.limits.max_links:
            raise ImageFetchError(
                distinct[self.limits.max_links],
                f"this prompt has {len(distinct)} image links",
                f"use at most {self.limits.max_links}",
                "image_links",
            )
        targets = {url: check_url(url, self.limits) for url in distinct}  # refuse before I/O
        budget = PixelBudget(self.limits)
        timeout = aiohttp.ClientTimeout(total=self.limits.timeout_s)
        # No transparent decompression: a small gzip body could inflate far past the byte cap.
        async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as session:
            results = await asyncio.gather(
                *(self._one(session, url, target, budget, keep) for url, target in targets.items()),
                return_exceptions=True,
            )
        kept: dict[str, T] = {}
        for url, result in zip(distinct, results, strict=True):
            if isinstance(result, BaseException):
                raise result
            kept[url] = result
        return kept

    def _put(self, image: Image.Image) -> str:
        assert self.store is not None
        return self.store.put(png_bytes(image), PROMPT_IMAGE_FORMAT)

    async def _one(
        self,
        session: aiohttp.ClientSession,
        url: str,
        target: yarl.URL,
        budget: PixelBudget,
        keep: Callable[[Image.Image], T],
    ) -> T:
        data = await self._download(session, url, target)
        async with self._decoding:  # decoded, kept (stored) and let go, a few at a time
            image = await asyncio.to_thread(decode, url, data, self.limits, budget)
            return await asyncio.to_thread(keep, image)

    async def _download(self, session: aiohttp.ClientSession, url: str, target: yarl.URL) -> bytes:
        chunks: list[bytes] = []
        try:
            async with session.get(
                target, allow_redirects=False, headers={"Accept-Encoding": "identity"}
            ) as response:
                if 300 <= response.status < 400:
                    raise ImageFetchError(
                        url,
                        f"the link redirects elsewhere (HTTP {response.status})",
                        f"link the image file itself; {UPLOAD_FIX}",
                        "image_redirect",
                    )
                if response.status != 200:
                    answer = f"HTTP {response.status} {response.reason or ''}".rstrip()
                    raise ImageFetchError(
                        url,
                        f"the server answered {answer}",
                        "check that the link opens the image (Discord links expire: paste a "
                        "fresh one)",
                        "image_http",
                    )
                if response.content_length is not None:
                    check_bytes(url, response.content_length, self.limits)
                total = 0
                async for chunk in response.content.iter_chunked(CHUNK):
                    total += len(chunk)
                    check_bytes(url, total, self.limits)
                    chunks.append(chunk)
        except TimeoutError:
            raise ImageFetchError(
                url,
                f"the download took longer than {self.limits.timeout_s:g} s",
                "try again, or use a smaller image",
                "image_timeout",
            ) from None
        except aiohttp.ClientError as exc:
            raise ImageFetchError(
                url,
                f"the download failed ({type(exc).__name__})",
                "check the link, or upload the image to Discord and paste its link",
                "image_download",
            ) from None
        return b"".join(chunks)


def _mib(size: int) -> str:
    return f"{size / MIB:g} MiB"
