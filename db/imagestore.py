"""Content-addressed image files: the bytes we own, named by their SHA-256 (never CDN links)."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Collection
from pathlib import Path

# How the files that are not results are stored: image prompts as the bot downloaded them
# (plain PNG, so the same picture always hashes the same), latent previews of running renders.
PROMPT_IMAGE_FORMAT = "png"
PREVIEW_FORMAT = "jpg"


class ImageStore:
    """Files under `root/ab/abcdef....ext`; writes are atomic, so a crash never leaves half a file.

    Blocking file I/O: call from a worker thread, not the event loop.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes, ext: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if not self.path(digest, ext).exists():
            self.write(digest, ext, data)
        return digest

    def write(self, digest: str, ext: str, data: bytes) -> None:
        """Keep `data` under another file's digest (a thumbnail of it: ext "thumb.webp")."""
        path = self.path(digest, ext)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)

    def get(self, digest: str, ext: str) -> bytes:
        return self.path(digest, ext).read_bytes()

    def delete(self, digest: str, ext: str) -> None:
        self.path(digest, ext).unlink(missing_ok=True)

    def sweep(self, ext: str, older_than_s: float, keep: Collection[str] = ()) -> int:
        """Delete the `ext` files written more than `older_than_s` ago, except the digests in
        `keep`; the number deleted. For files nothing records, like the earlier latent
        previews of a render whose worker died."""
        cutoff = time.time() - older_than_s
        deleted = 0
        for path in self.root.glob(f"??/*.{ext}"):
            try:
                if path.stem not in keep and path.stat().st_mtime < cutoff:
                    path.unlink()
                    deleted += 1
            except FileNotFoundError:  # deleted meanwhile (the render ended)
                continue
        return deleted

    def path(self, digest: str, ext: str) -> Path:
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise ValueError(f"not a SHA-256 hex digest: {digest!r}")
        return self.root / digest[:2] / f"{digest}.{ext}"
