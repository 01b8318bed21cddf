"""Progress-edit budget: keeps message edits under Discord's limits before any 429 happens.

Discord allows about 5 message edits per 5 s in one channel; we allow one edit per message
per second and 4 per channel in any 5 s window. Progress that cannot be shown now is not
lost: the next sweep shows the newest value (edits coalesce).
"""

from __future__ import annotations

from collections import defaultdict, deque

PER_MESSAGE_INTERVAL_S = 1.0
CHANNEL_WINDOW_S = 5.0
CHANNEL_EDITS_PER_WINDOW = 4


class EditBudget:
    """Decides whether a progress edit may go out now. Pure: the caller passes the clock."""

    def __init__(
        self,
        per_message_interval: float = PER_MESSAGE_INTERVAL_S,
        channel_window: float = CHANNEL_WINDOW_S,
        channel_edits: int = CHANNEL_EDITS_PER_WINDOW,
    ) -> None:
        self.per_message_interval = per_message_interval
        self.channel_window = channel_window
        self.channel_edits = channel_edits
        self._last_edit: dict[int, float] = {}
        self._channel: defaultdict[int, deque[float]] = defaultdict(deque)

    def try_spend(self, channel_id: int, message_id: int, now: float) -> bool:
        """True (and the edit is counted) if an edit may go out at `now`."""
        if now - self._last_edit.get(message_id, float("-inf")) < self.per_message_interval:
            return False
        recent = self._channel[channel_id]
        while recent and now - recent[0] >= self.channel_window:
            recent.popleft()
        if len(recent) >= self.channel_edits:
            return False
        recent.append(now)
        self._last_edit[message_id] = now
        return True

    def final_ready(self, message_id: int, now: float) -> bool:
        """A result may replace the progress once the message's last edit is a second old
        (results skip the channel budget, not the per-message interval)."""
        return now - self._last_edit.get(message_id, float("-inf")) >= self.per_message_interval

    def count(self, channel_id: int, now: float) -> None:
        """Record an edit that had to go out regardless (a final result)."""
        self._channel[channel_id].append(now)

    def forget(self, message_id: int) -> None:
        self._last_edit.pop(message_id, None)
