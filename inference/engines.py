"""The engines one worker serves: one per model preset, created and loaded on first use.

A preset stays loaded once used; with `max_loaded`, at most that many are (the least
recently used one is let go, and on CUDA its memory freed, before another loads), so a GPU
can serve more presets than it holds at once. Pipelines within a preset share weights (see
Engine.load).
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from inference.engine import Engine
from inference.memory import MemoryOptions
from inference.presets import Preset, served_presets


class UnservedModel(LookupError):
    """A job asks for a model preset this worker does not serve."""


class EnginePool:
    def __init__(
        self,
        presets: Mapping[str, Preset],
        served: Sequence[str],
        cache_dir: Path,
        device: str | None = None,
        memory: MemoryOptions | None = None,
        max_loaded: int | None = None,
    ) -> None:
        if max_loaded is not None and max_loaded < 1:
            raise ValueError("at least one model must stay loaded (--max-loaded 1 or more)")
        self.presets = served_presets(presets, served)
        self.max_loaded = max_loaded
        self.default = served[0]
        self.cache_dir = cache_dir
        self.device = device
        self.memory = memory
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return list(self.presets)

    def get(self, name: str) -> Engine:
        """The engine for preset `name` (not loaded yet: Engine.load is blocking, call it from a
        worker thread). Raises UnservedModel for a preset this pool does not serve."""
        if name not in self.presets:
            raise UnservedModel(
                f"model {name!r} is not served by this worker (it serves {', '.join(self.names)})"
            )
        with self._lock:
            engine = self._engines.pop(name, None)
            if engine is None:
                self._make_room()
                engine = Engine(self.presets[name], self.cache_dir, self.device, self.memory)
            self._engines[name] = engine  # the most recently used last
            return engine

    @property
    def loaded(self) -> list[str]:
        """The presets held now, least recently used first."""
        with self._lock:
            return list(self._engines)

    def _make_room(self) -> None:
        """Let the least recently used engines go until another fits `max_loaded`."""
        if self.max_loaded is None or len(self._engines) < self.max_loaded:
            return
        while len(self._engines) >= self.max_loaded:
            oldest = next(iter(self._engines))
            del self._engines[oldest]
        gc.collect()
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()
