"""The pace: budgets per channel and per workspace, shared by every sender through the database.

Slack allows about one message a second per channel (with short bursts) and an unpublished
amount per workspace; beyond them it answers 429. Each budget is a GCRA "theoretical arrival
time" (`tat`): the moment its next message may go. The budgets live in the `outbox_pace`
table, and a sender books its messages' send times in the same transaction that claims
them (`bot.outbox.queue.claim`), under a lock on each workspace's budget row. So however many
sender processes drain the outbox, on whatever machines, they keep one pace between them,
and a sender that dies holds no share of it: what it booked and did not send is a moment of
unused budget, and its rows come back when their lease runs out.
(docs/decisions/0010-shared-pace.md says why this and not a pace per process.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.models import PaceBudget

IDLE_SECONDS = 3600.0
"""A channel budget unused for this long is full again; its row can go (`forget_idle`)."""


@dataclass(frozen=True)
class Limit:
    """One kind of budget: a message every `interval` seconds, `tolerance` seconds early."""

    interval: float
    tolerance: float


class Pacer:
    """Slack's limits as GCRA budgets: the rules, not the state (the state is in `tats`).

    We deliberately leave one token of each bucket unused: requests arrive at Slack a few
    milliseconds apart from when we sent them, and a spare token absorbs that jitter instead
    of turning it into 429s.
    """

    def __init__(
        self,
        per_channel: float | None = 1.0,
        channel_burst: int = 3,
        per_workspace: float | None = 20.0,
        workspace_burst: int = 20,
    ) -> None:
        self.channel = _gcra(per_channel, channel_burst)
        self.workspace = _gcra(per_workspace, workspace_burst)

    @staticmethod
    def workspace_key(workspace_id: str) -> str:
        """The workspace's budget row, also the lock that keeps its claims in turn."""
        return f"w:{workspace_id}"

    @staticmethod
    def channel_key(workspace_id: str, channel_id: str) -> str:
        return f"c:{workspace_id}:{channel_id}"

    def _budgets(self, workspace_id: str, channel_id: str) -> list[tuple[str, Limit]]:
        budgets = []
        if self.channel is not None:
            budgets.append((self.channel_key(workspace_id, channel_id), self.channel))
        if self.workspace is not None:
            budgets.append((self.workspace_key(workspace_id), self.workspace))
        return budgets

    def earliest(
        self, tats: Mapping[str, float], workspace_id: str, channel_id: str, now: float
    ) -> float:
        """When a message to `channel_id` may go, given the budgets' `tats`."""
        slot = now
        for key, limit in self._budgets(workspace_id, channel_id):
            slot = max(slot, tats.get(key, now) - limit.tolerance)
        return slot

    def book(self, tats: dict[str, float], workspace_id: str, channel_id: str, slot: float):
        """Spend the budgets for a message sent at `slot` (from `earliest`)."""
        for key, limit in self._budgets(workspace_id, channel_id):
            tats[key] = max(tats.get(key, slot), slot) + limit.interval


def _gcra(rate: float | None, burst: int) -> Limit | None:
    if rate is None:
        return None
    interval = 1.0 / rate
    return Limit(interval, max(0, burst - 2) * interval)  # one token kept spare, see Pacer


# ---------------------------------------------------------------------------- shared state


def _insert(session: Session):
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def lock_budgets(
    session: Session, pairs: Iterable[tuple[str, str]], now: float
) -> dict[str, float]:
    """Lock the workspaces' budgets (in key order, so claims never deadlock) and read them
    with their channels'. Returns tat by key; a budget never used is absent (full).

    Holding a workspace's row is what lets this transaction book that workspace's channels:
    every claim touching one of them waits here first. A workspace row is created outside
    the claim's transaction on PostgreSQL (created inside it, its row lock would be taken
    out of key order); SQLite runs one writer at a time anyway.
    """
    pairs = set(pairs)
    workspace_keys = sorted({Pacer.workspace_key(ws) for ws, _ in pairs})
    known = set(session.scalars(select(PaceBudget.key).where(PaceBudget.key.in_(workspace_keys))))
    missing = [{"key": key, "tat": now} for key in workspace_keys if key not in known]
    if missing:
        statement = _insert(session)(PaceBudget).values(missing).on_conflict_do_nothing()
        if session.get_bind().dialect.name == "postgresql":
            with session.get_bind().engine.begin() as connection:
                connection.execute(statement)
        else:
            session.execute(statement)
    tats = {
        key: tat
        for key, tat in session.execute(
            select(PaceBudget.key, PaceBudget.tat)
            .where(PaceBudget.key.in_(workspace_keys))
            .order_by(PaceBudget.key)
            .with_for_update(key_share=True)
        )
    }
    channel_keys = sorted({Pacer.channel_key(ws, channel) for ws, channel in pairs})
    rows = session.execute(
        select(PaceBudget.key, PaceBudget.tat).where(PaceBudget.key.in_(channel_keys))
    )
    tats.update({key: tat for key, tat in rows})
    return tats


def read_budgets(session: Session, pairs: Iterable[tuple[str, str]]) -> dict[str, float]:
    """The budgets of these workspaces and channels as they stand, without locking them."""
    keys = {Pacer.workspace_key(ws) for ws, _ in pairs}
    keys |= {Pacer.channel_key(ws, channel) for ws, channel in pairs}
    rows = session.execute(select(PaceBudget.key, PaceBudget.tat).where(PaceBudget.key.in_(keys)))
    return {key: tat for key, tat in rows}


def save_budgets(session: Session, tats: Mapping[str, float]) -> None:
    """Write the booked budgets back (an upsert: a channel may be new, or just tidied away)."""
    if not tats:
        return
    statement = _insert(session)(PaceBudget).values(
        [{"key": key, "tat": tat} for key, tat in sorted(tats.items())]
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["key"], set_={"tat": statement.excluded.tat}
        )
    )


def forget_idle(session: Session, now: float) -> int:
    """Delete channel budgets idle for an hour (a Monday's nudges leave a row per person)."""
    result = session.execute(
        delete(PaceBudget).where(PaceBudget.key.like("c:%"), PaceBudget.tat < now - IDLE_SECONDS)
    )
    return result.rowcount or 0
