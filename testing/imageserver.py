"""A real HTTP server on 127.0.0.1 that serves image prompts (and bad answers) to the fetcher."""

from __future__ import annotations

import io
import struct
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable

import numpy as np
from aiohttp import web
from PIL import Image

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ImageServer:
    """Routes added with `add`; `hits` counts requests per path."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_get("/{name:.*}", self._serve)
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/{path}"

    def add(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def add_bytes(self, path: str, body: bytes, content_type: str = "image/png") -> str:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(body=body, content_type=content_type)

        return self.add(path, handler)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        self.hits[name] += 1
        handler = self.routes.get(name)
        if handler is None:
            raise web.HTTPNotFound()
        return await handler(request)


def png_of(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def gradient(width: int = 96, height: int = 64) -> Image.Image:
    """A picture with structure (not flat), so closeness to it is measurable."""
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // width, y * 255 // height, (x + y) % 256], axis=-1)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG file whose header claims `width` x `height` (its pixel data is a stub)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
