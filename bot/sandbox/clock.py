"""The sandbox's clock: real time plus an offset that the page's clock control moves.

Digests, nudges and reminders are due at times of the week, and nobody evaluating the bot
wants to wait for Monday. Jumping the clock moves "now" for the worker's ticks only; the bot's
request handlers keep real time, which is what they would see in Slack too.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


def next_weekday_at(now: datetime, weekday: int, hour: int, minute: int = 0) -> datetime:
    """The first moment after `now` that falls on `weekday` (0 = Monday) at hour:minute, UTC."""
    now = now.astimezone(UTC)
    candidate = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    candidate += timedelta(days=(weekday - now.weekday()) % 7)
    if candidate <= now:
        candidate += timedelta(days=7)
    return candidate


class SandboxClock:
    """Thread-safe "now" for the sandbox's worker; it only ever moves forward."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def jump(self, to: datetime) -> datetime:
        """Make `to` (an aware datetime) the current time, unless it is in the past."""
        if to.tzinfo is None:
            raise ValueError("the clock needs a time with a time zone")
        with self._lock:
            real = datetime.now(UTC)
            self._offset = max(self._offset, to.astimezone(UTC) - real)
            return real + self._offset

    def preset(self, name: str) -> datetime:
        """The target of a named jump on the page: next-monday, hour, day or week."""
        now = self.now()
        if name == "next-monday":
            return next_weekday_at(now, 0, 9)
        steps = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
        if name not in steps:
            raise ValueError(f"unknown clock preset {name!r}")
        return now + steps[name]
