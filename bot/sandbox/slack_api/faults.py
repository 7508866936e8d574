"""Fault injection and pacing: the ways a test makes the stand-in misbehave like Slack can.

Injected faults answer the next few calls to a method with an error, a 429 or an outage;
delays hold every answer back; pacing answers 429 beyond a per-channel token bucket, like
Slack's ~1 message per second per channel. Kept apart from the workspace state so that what
Slack *is* and how a test *breaks* it can be read separately.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ApiResult = dict[str, Any]


@dataclass
class Fault:
    """An injected failure that answers the next ``remaining`` calls to one method."""

    kind: str  # "error", "ratelimit" or "status"
    remaining: int
    error: str = ""
    retry_after: int = 0
    status: int = 200

    def answer(self) -> tuple[int, ApiResult, dict[str, str]]:
        """The Web API answer this fault gives."""
        if self.kind == "ratelimit":
            return (
                429,
                {"ok": False, "error": "ratelimited"},
                {"Retry-After": str(self.retry_after)},
            )
        if self.kind == "status":
            return self.status, {"ok": False, "error": self.error}, {}
        return 200, {"ok": False, "error": self.error}, {}


@dataclass
class TokenBucket:
    """Token buckets per key, like Slack's ~1 message/s per channel with short bursts."""

    rate: float
    burst: float
    methods: frozenset[str] = frozenset()
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str, now: float) -> int | None:
        """Consume one token for ``key``; return None if allowed, else seconds to wait."""
        tokens, last = self.buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self.buckets[key] = (tokens - 1, now)
            return None
        # Rejected calls do not consume a token; Slack's Retry-After is whole seconds.
        self.buckets[key] = (tokens, now)
        return max(1, math.ceil((1 - tokens) / self.rate))


class Faults:
    """The faults, delays and pacing a test asked for; the stand-in consults it per call."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._queued: defaultdict[str, list[Fault]] = defaultdict(list)
        self._delays: dict[str, float] = {}
        self.pace: TokenBucket | None = None
        self.workspace_pace: TokenBucket | None = None

    def add(self, method: str, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._queued[method].append(fault)

    def take(self, method: str) -> Fault | None:
        """The fault that answers this call to ``method``, if one is queued (uses it up)."""
        for key in (method, "*"):
            queue = self._queued.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.pop(0)
                return fault
        return None

    def set_delay(self, method: str, seconds: float) -> None:
        with self._lock:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def delay_for(self, method: str) -> float:
        with self._lock:
            return self._delays.get(method) or self._delays.get("*") or 0.0

    def set_pace(
        self, per_channel_per_second: float | None, burst: int, methods: Iterable[str]
    ) -> None:
        with self._lock:
            if per_channel_per_second is None:
                self.pace = None
                return
            if per_channel_per_second <= 0 or burst < 1:
                raise ValueError("pace needs a positive rate and a burst of at least 1")
            self.pace = TokenBucket(float(per_channel_per_second), float(burst), frozenset(methods))

    def set_workspace_pace(
        self, per_second: float | None, burst: int, methods: Iterable[str]
    ) -> None:
        with self._lock:
            if per_second is None:
                self.workspace_pace = None
                return
            if per_second <= 0 or burst < 1:
                raise ValueError("pace needs a positive rate and a burst of at least 1")
            self.workspace_pace = TokenBucket(float(per_second), float(burst), frozenset(methods))

    def paced(self, method: str, workspace: str, channel: str, now: float) -> int | None:
        """Seconds to wait when pacing refuses this call; None if allowed.

        The workspace-wide bucket is asked first, so a call it refuses takes nothing from
        the channel's bucket.
        """
        for bucket, key in ((self.workspace_pace, workspace), (self.pace, channel)):
            if bucket is not None and method in bucket.methods:
                retry_after = bucket.take(key, now)
                if retry_after is not None:
                    return retry_after
        return None

    def clear(self) -> None:
        with self._lock:
            self._queued.clear()
            self._delays.clear()
            self.pace = None
            self.workspace_pace = None
