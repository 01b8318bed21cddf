"""The engines one worker serves: one per model preset, created and loaded on first use.

Every preset a worker serves stays loaded once used (a server owner enables only the presets
their GPU memory holds); pipelines within a preset share weights (see Engine.load).
"""

from __future__ import annotations

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
    ) -> None:
        self.presets = served_presets(presets, served)
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
            engine = self._engines.get(name)
            if engine is None:
                engine = Engine(self.presets[name], self.cache_dir, self.device, self.memory)
                self._engines[name] = engine
            return engine
