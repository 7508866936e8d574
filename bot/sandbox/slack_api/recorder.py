"""What the app sent: every call the stand-in answered, and ways for tests to wait on them.

Apps answer Slack first and call the Web API afterwards on worker threads, so tests wait on
a condition (``wait_for``, ``wait_until``) rather than sleep; this module is the stand-in's
assertion surface and knows nothing about what the calls mean.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox.lifecycle import wait_on


@dataclass
class Call:
    """One request the fake received, kept so tests can assert on what the app sent.

    ``method`` is the Web API method ("chat.postMessage"), ``"response_url"`` for posts to a
    response URL, or ``"file_upload"`` for the raw upload step of files_upload_v2. ``status``
    and ``error`` describe the answer the fake gave, so failed calls stay visible.
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    token: str | None
    time: float
    http_method: str = "POST"
    status: int = 200
    error: str | None = None
    response: Any = None

    @property
    def failed(self) -> bool:
        """True when the fake answered with a non-200 status or ``ok: false``."""
        return self.status != 200 or self.error is not None


class Recorder:
    """The recorded calls, guarded by the stand-in's lock and woken by its condition."""

    def __init__(self, changed: threading.Condition) -> None:
        self._changed = changed
        self._calls: list[Call] = []

    def record(self, call: Call) -> None:
        """Keep ``call`` (the caller holds the lock and notes the change)."""
        self._calls.append(call)

    def clear(self) -> None:
        with self._changed:
            self._calls.clear()

    @property
    def calls(self) -> list[Call]:
        """A snapshot of every call so far, oldest first."""
        with self._changed:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """Every call to ``method`` so far, oldest first (failed ones included)."""
        with self._changed:
            return [call for call in self._calls if call.method == method]

    def last(self, method: str | None = None) -> Call:
        """The most recent call (to ``method``); AssertionError naming what was seen if none."""
        with self._changed:
            matching = [c for c in self._calls if method is None or c.method == method]
            if not matching:
                raise AssertionError(f"no call to {method or 'any method'}; saw {self.summary()}")
            return matching[-1]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Wait until at least ``count`` calls to ``method`` (matching ``where``) arrived.

        Returns all matching calls; raises AssertionError listing what did arrive.
        """

        def matching() -> list[Call]:
            return [c for c in self._calls if c.method == method and (where is None or where(c))]

        def enough() -> tuple[list[Call]] | None:
            found = matching()
            return (found,) if len(found) >= count else None

        ready = wait_on(self._changed, enough, timeout, poll=0.05)
        if ready is None:
            with self._changed:
                raise AssertionError(
                    f"expected {count} call(s) to {method} within {timeout}s, got "
                    f"{len(matching())}; saw {self.summary()}"
                )
        return ready[0]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``condition()`` is true (checked whenever a call arrives, or every 50 ms)."""
        if not wait_on(self._changed, condition, timeout, poll=0.05):
            with self._changed:
                raise AssertionError(f"condition not met within {timeout}s; saw {self.summary()}")

    def summary(self, limit: int = 30) -> str:
        """The last ``limit`` calls as ``method[status error]``, for assertion messages."""
        shown = [
            f"{c.method}" + (f"[{c.status} {c.error}]" if c.failed else "")
            for c in self._calls[-limit:]
        ]
        more = len(self._calls) - len(shown)
        prefix = f"[... {more} earlier, " if more else "["
        return prefix + ", ".join(shown) + "]"
