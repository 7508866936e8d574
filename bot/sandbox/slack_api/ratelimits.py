"""Slack's per-method rate limits: each method's tier, per workspace, on the stand-in's clock.

Slack gives every Web API method a tier (docs.slack.dev/apis/web-api/rate-limits): Tier 1
about 1 call a minute, Tier 2 20, Tier 3 50, Tier 4 100, per method and workspace, with
short bursts allowed; beyond it the answer is HTTP 429 ``ratelimited`` with ``Retry-After``.
chat.postMessage is "special" (about one message a second per channel), which the stand-in
models with ``FakeSlack.pace`` instead. Apps distributed commercially outside the Marketplace
and created after 2025-05-29 get a much harsher conversations.history and
conversations.replies: one call a minute per workspace, at most 15 messages a call
(``strict_history``).

Buckets refill on the stand-in's clock, so a test moves the clock (``FakeSlack.advance``)
instead of waiting a minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}

# The tier of each method the stand-in serves, from its reference page.
TIERS: dict[str, int] = {
    "auth.test": 4,  # "special" on the page; generous in practice
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "chat.delete": 3,
    "chat.getPermalink": 4,
    "conversations.open": 3,
    "conversations.join": 3,
    "conversations.info": 3,
    "conversations.history": 3,
    "conversations.replies": 3,
    "users.info": 4,
    "users.lookupByEmail": 3,
    "views.open": 4,
    "views.push": 4,
    "views.update": 4,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
}

STRICT_HISTORY_METHODS = ("conversations.history", "conversations.replies")
STRICT_HISTORY_PER_MINUTE = 1
STRICT_HISTORY_MESSAGES = 15


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimits:
    """Token buckets per (workspace, method): ``per_minute`` calls, refilled evenly."""

    def __init__(self, *, enabled: bool = True, strict_history: bool = False) -> None:
        self.enabled = enabled
        self.strict_history = strict_history
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def per_minute(self, method: str) -> int | None:
        """How many calls a minute ``method`` gets; None for no limit.

        The strict history limit applies even with the tiers switched off: it is what a
        test of it asked for.
        """
        if self.strict_history and method in STRICT_HISTORY_METHODS:
            return STRICT_HISTORY_PER_MINUTE
        tier = TIERS.get(method) if self.enabled else None
        return TIER_PER_MINUTE[tier] if tier else None

    def history_page_limit(self, method: str) -> int | None:
        """The most messages one call returns under the strict history limit, else None."""
        if self.strict_history and method in STRICT_HISTORY_METHODS:
            return STRICT_HISTORY_MESSAGES
        return None

    def take(self, workspace: str, method: str, now: float) -> int | None:
        """Spend one call; None if allowed, else the whole seconds until one is allowed."""
        limit = self.per_minute(method)
        if limit is None:
            return None
        rate = limit / 60.0
        bucket = self._buckets.get((workspace, method))
        if bucket is None:
            bucket = self._buckets[(workspace, method)] = _Bucket(float(limit), now)
        bucket.tokens = min(float(limit), bucket.tokens + max(0.0, now - bucket.at) * rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return max(1, math.ceil((1 - bucket.tokens) / rate))

    def clear(self) -> None:
        self._buckets.clear()
