"""The latent previews of a running render, between the render thread and the worker loop."""

from __future__ import annotations

import logging
import threading

from PIL import Image

from db import PREVIEW_FORMAT, ImageStore
from inference.preview import encode_preview

log = logging.getLogger(__name__)


class Previews:
    """The latent previews of one render: the newest goes out with the next progress report;
    all are deleted from the store when the render ends (the result replaces them)."""

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        self._written: set[str] = set()
        self._pending: str | None = None
        self._lock = threading.Lock()

    def add(self, image: Image.Image) -> None:
        """Encode and store a preview (render thread); a failure costs the preview, not the job."""
        try:
            digest = self.store.put(encode_preview(image), PREVIEW_FORMAT)
        except Exception:
            log.exception("could not store a preview")
            return
        with self._lock:
            self._written.add(digest)
            self._pending = digest

    def take(self) -> str | None:
        """The newest preview not reported yet, if any."""
        with self._lock:
            digest, self._pending = self._pending, None
            return digest

    @property
    def waiting(self) -> bool:
        return self._pending is not None

    def delete_all(self) -> None:
        """Blocking file I/O: from a worker thread."""
        with self._lock:
            written, self._written = self._written, set()
        for digest in written:
            self.store.delete(digest, PREVIEW_FORMAT)
