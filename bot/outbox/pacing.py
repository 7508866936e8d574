"""The pace: token buckets per channel and per workspace, so Slack's limits set the speed.

Kept just under Slack's limits (chat.postMessage allows about one message a second per
channel, with short bursts), so 429s stay rare and our code is never the bottleneck.
"""

from __future__ import annotations

import threading
import time


class Pacer:
    """Token buckets per channel and per workspace, as reservations (GCRA).

    `reserve` returns the monotonic time a message may go and books it, so a batch is spread
    over time without any thread polling. We deliberately leave one token of each bucket
    unused: requests arrive at Slack a few milliseconds apart from when we sent them, and a
    spare token absorbs that jitter instead of turning it into 429s.
    """

    def __init__(
        self,
        per_channel: float | None = 1.0,
        channel_burst: int = 3,
        per_workspace: float | None = 20.0,
        workspace_burst: int = 20,
    ) -> None:
        self._limits: dict[str, tuple[float, float] | None] = {
            "channel": _gcra(per_channel, channel_burst),
            "workspace": _gcra(per_workspace, workspace_burst),
        }
        self._tat: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def _keys(self, workspace_id: str, channel_id: str) -> list[tuple[tuple[str, str], tuple]]:
        keys = []
        for kind, name in (("channel", channel_id), ("workspace", workspace_id)):
            limit = self._limits[kind]
            if limit is not None:
                keys.append(((kind, f"{workspace_id}:{name}"), limit))
        return keys

    def earliest(self, workspace_id: str, channel_id: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            return self._earliest(self._keys(workspace_id, channel_id), now)

    def _earliest(self, keys, now: float) -> float:
        slot = now
        for key, (_interval, tolerance) in keys:
            slot = max(slot, self._tat.get(key, now) - tolerance)
        return slot

    def reserve(self, workspace_id: str, channel_id: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        with self._lock:
            keys = self._keys(workspace_id, channel_id)
            slot = self._earliest(keys, now)
            for key, (interval, _tolerance) in keys:
                self._tat[key] = max(self._tat.get(key, now), slot) + interval
            return slot


def _gcra(rate: float | None, burst: int) -> tuple[float, float] | None:
    if rate is None:
        return None
    interval = 1.0 / rate
    return interval, max(0, burst - 2) * interval  # one token kept spare, see Pacer
