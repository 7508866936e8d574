"""The sandbox's clock: real time plus an offset that the page's clock control moves.

Digests, nudges and reminders are due at times of the week, and nobody evaluating the bot
wants to wait for Monday. Jumping the clock moves "now" for the worker's ticks only; the bot's
request handlers keep real time, which is what they would see in Slack too.

The clock only moves forward (a jump back is refused, saying so), and it is kept in the
sandbox's own database (`sandbox_clock`, one row), because what the worker did at the jumped
time is kept there too: started again on real time, the sandbox would find nudges sent "in
the future" and send none until real time caught up.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, Engine, Float, Integer, MetaData, Table, select, update

# The sandbox's own table, created in the sandbox's database only (never by a migration:
# a real deployment has no sandbox clock).
SANDBOX_TABLES = MetaData()
CLOCK_TABLE = Table(
    "sandbox_clock",
    SANDBOX_TABLES,
    Column("id", Integer, primary_key=True),
    Column("offset_seconds", Float, nullable=False),
)

# A jump to a moment this close before "now" (a time picked to the minute) is no jump back.
SLACK = timedelta(minutes=1)


class ClockBackwards(ValueError):
    """A jump to a moment before the sandbox's "now"."""


def next_weekday_at(now: datetime, weekday: int, hour: int, minute: int = 0) -> datetime:
    """The first moment after `now` that falls on `weekday` (0 = Monday) at hour:minute, UTC."""
    now = now.astimezone(UTC)
    candidate = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    candidate += timedelta(days=(weekday - now.weekday()) % 7)
    if candidate <= now:
        candidate += timedelta(days=7)
    return candidate


class SandboxClock:
    """Thread-safe "now" for the sandbox's worker; it only ever moves forward.

    `attach(engine)` keeps it in that database: the stored offset is read back, and every
    jump is written there.
    """

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()
        self._engine: Engine | None = None

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def attach(self, engine: Engine) -> datetime:
        """Keep the clock in `engine`'s database from now on; returns the clock's "now"."""
        SANDBOX_TABLES.create_all(engine, checkfirst=True)
        with engine.begin() as connection:
            stored = connection.execute(select(CLOCK_TABLE.c.offset_seconds)).scalar()
        with self._lock:
            if stored is not None:
                self._offset = max(self._offset, timedelta(seconds=stored))
            self._engine = engine
            self._save()
        return self.now()

    def _save(self) -> None:
        """Write the offset (under the lock); a no-op until attached."""
        if self._engine is None:
            return
        seconds = self._offset.total_seconds()
        with self._engine.begin() as connection:
            if not connection.execute(update(CLOCK_TABLE).values(offset_seconds=seconds)).rowcount:
                connection.execute(CLOCK_TABLE.insert().values(id=1, offset_seconds=seconds))

    def jump(self, to: datetime) -> datetime:
        """Make `to` (an aware datetime) the current time; a moment in the past is refused
        with ClockBackwards, which says what the time is."""
        if to.tzinfo is None:
            raise ValueError("the clock needs a time with a time zone")
        with self._lock:
            real = datetime.now(UTC)
            now = real + self._offset
            if to < now - SLACK:
                raise ClockBackwards(
                    f"The sandbox clock only moves forward: it is already "
                    f"{now:%a %d %b %Y, %H:%M} UTC, so {to.astimezone(UTC):%a %d %b %Y, %H:%M} "
                    "UTC has passed. Pick a later time."
                )
            self._offset = max(self._offset, to.astimezone(UTC) - real)
            self._save()
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
