"""Word that the jobs table changed: jobs queued, started, ended or allowed to start.

Whoever acts on it subscribes (an in-process worker looks for a job at once, the bot's
delivery updates the messages); whoever changes the table says so. In-process only: other
processes learn of changes through the database.
"""

from __future__ import annotations

from collections.abc import Callable


class JobEvents:
    def __init__(self) -> None:
        self._subscribers: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        """`callback` runs (on the event loop, and must not block) after every change."""
        self._subscribers.append(callback)

    def changed(self) -> None:
        for callback in self._subscribers:
            callback()
