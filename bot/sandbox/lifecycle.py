"""What the sandbox's servers share: `start()` returns the server, `stop()` ends it, `with`
does both; and waiting on a condition variable until something holds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Self, TypeVar

T = TypeVar("T")


class Startable:
    """`with` starts the server and stops it at the end, even when the block fails."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_on(changed: threading.Condition, ready: Callable[[], T], timeout: float, poll: float) -> T:
    """Until `ready()` is truthy, holding `changed`'s lock while it is asked; returns its
    last value (falsy if `timeout` ran out first).

    It is asked again whenever `changed` is notified, and every `poll` seconds for what
    changes without a notification.
    """
    deadline = time.monotonic() + timeout
    with changed:
        while not (value := ready()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return value
            changed.wait(min(remaining, poll))
        return value
