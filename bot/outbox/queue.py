"""The queue: adding rows, claiming them under a lease, and recording how they ended.

`enqueue` inserts a row keyed by its idempotency key and does nothing if the key exists, so
callers may enqueue as often as they like; it joins the caller's transaction, so a level
change and its announcement commit together or not at all.

`claim` is `SELECT ... FOR UPDATE SKIP LOCKED` then `UPDATE ... RETURNING` in one
transaction. On PostgreSQL the row locks keep concurrent drains apart; on SQLite every
transaction of our engine starts with `BEGIN IMMEDIATE`, which serialises claims the same
way (FOR UPDATE is not rendered there). A claim takes a lease measured on the database clock,
so processes on machines whose clocks disagree still agree on when a lease has run out, and
`finish` only records an outcome while the lease is still the caller's.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.models import Delivery, DeliveryState, utcnow
from bot.outbox import pacing
from bot.outbox.kinds import LOWEST, PRIORITY, DeliveryKind, rank
from bot.outbox.pacing import Pacer

log = logging.getLogger(__name__)


def enqueue(
    session: Session,
    *,
    workspace_id: str,
    key: str,
    kind: DeliveryKind | str,
    channel_id: str,
    payload: dict[str, Any] | None = None,
    available_at: datetime | None = None,
) -> bool:
    """Add a delivery unless `key` is already known; True when a row was inserted."""
    values = dict(
        workspace_id=workspace_id,
        idempotency_key=key,
        kind=str(kind),
        channel_id=channel_id,
        payload=payload or {},
        state=DeliveryState.PENDING,
        attempts=0,
        available_at=available_at or _available_now(),
        created_at=utcnow(),
    )
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = (
            postgresql.insert(Delivery)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
    elif dialect == "sqlite":
        statement = (
            sqlite.insert(Delivery)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
        )
    else:  # pragma: no cover - only the two supported databases
        statement = insert(Delivery).values(**values)
    # RETURNING, not rowcount: an ORM-enabled insert reports rowcount -1 on PostgreSQL.
    return session.execute(statement.returning(Delivery.id)).first() is not None


def enqueue_many(
    session: Session, workspace_id: str, items: list[dict[str, Any]], chunk: int = 500
) -> set[str]:
    """`enqueue` for many rows in a few statements; returns the keys actually inserted.

    Items are dicts with key, kind, channel_id and payload. A Monday morning's 1,500
    nudges would otherwise be 1,500 round trips inside the tick's transaction.
    """
    inserted: set[str] = set()
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now, available = utcnow(), _available_now()
    for start in range(0, len(items), chunk):
        values = [
            dict(
                workspace_id=workspace_id,
                idempotency_key=item["key"],
                kind=str(item["kind"]),
                channel_id=item["channel_id"],
                payload=item.get("payload") or {},
                state=DeliveryState.PENDING,
                attempts=0,
                available_at=available,
                created_at=now,
            )
            for item in items[start : start + chunk]
        ]
        statement = (
            insert_fn(Delivery)
            .values(values)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(Delivery.idempotency_key)
        )
        inserted.update(session.scalars(statement))
    return inserted


def _available_now() -> datetime:
    """ "Now" for a new row, a second early: rows are enqueued on this process's clock but
    claimed on the database's (SQLite's has millisecond steps), and a row written a
    microsecond "in the future" would wait for the next drain instead of going at once."""
    return utcnow() - timedelta(seconds=1)


def db_now(session: Session) -> datetime:
    """The database's clock, the one every lease and availability time is compared with.

    PostgreSQL's now() is frozen at the start of a transaction; clock_timestamp() is not.
    """
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(text("SELECT clock_timestamp()")).scalar_one().astimezone(UTC)
    raw = session.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
    return datetime.fromisoformat(raw).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Claimed:
    """A row this process holds the lease on, with what the sender needs to know."""

    id: int
    workspace_id: str
    key: str
    kind: str  # a DeliveryKind's value, or whatever an older or newer version wrote
    channel_id: str
    payload: dict[str, Any]
    attempts: int  # including this one
    created_at: datetime
    uncertain: bool  # an earlier attempt may have reached Slack: check before re-posting
    lease: str = ""  # this claim's lease token: the sender's name and a nonce
    slot: float = 0.0  # when it may go, booked in the shared pace (this process's monotonic)
    claimed_at: float = 0.0  # when this process claimed it (monotonic)


def claim(
    session_factory: sessionmaker[Session],
    owner: str,
    *,
    limit: int,
    lease_seconds: float,
    pacer: Pacer | None = None,
    horizon: float = math.inf,
) -> list[Claimed]:
    """Take up to `limit` available rows under a lease for `owner`, in one transaction.

    Each claim's lease has its own token (`owner/nonce`): a sender that still holds a row
    whose lease ran out, and then claims it again itself, must not finish it twice.

    With a `pacer`, only rows that the shared pace would let go within `horizon` seconds
    are taken (an estimate: `book` decides); the others stay pending, their `available_at`
    moved to about when they could go, so a channel with a thousand queued messages is
    looked at a few at a time rather than every round. A row taken stays `pending` until
    the sender is about to post it (`mark_sending`): only then can a crash leave a message
    that Slack may have, the case the crash check is for.
    """
    with session_factory.begin() as session:
        now = db_now(session)
        candidates = session.execute(
            select(
                Delivery.id,
                Delivery.workspace_id,
                Delivery.channel_id,
                Delivery.state,
                Delivery.last_error,
            )
            .where(
                Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
                Delivery.available_at <= now,
                (Delivery.lease_until.is_(None)) | (Delivery.lease_until < now),
            )
            .order_by(
                case(
                    *((Delivery.kind == str(kind), order) for kind, order in PRIORITY.items()),
                    else_=LOWEST,
                ),
                Delivery.available_at,
                Delivery.id,
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not candidates:
            return []
        take, later = candidates, {}
        if pacer is not None:
            tats = pacing.read_budgets(
                session, {(r.workspace_id, r.channel_id) for r in candidates}
            )
            take, later = _plan(pacer, tats, candidates, now.timestamp(), horizon)
        _defer(session, later)
        if not take:
            return []
        uncertain = {
            row.id
            for row in take
            if row.state == DeliveryState.SENDING or (row.last_error or "").startswith("uncertain:")
        }
        lease = f"{owner}/{uuid.uuid4().hex[:6]}"
        rows = session.execute(
            update(Delivery)
            .where(Delivery.id.in_([row.id for row in take]))
            .values(
                lease_owner=lease,
                lease_until=now + timedelta(seconds=lease_seconds),
                attempts=Delivery.attempts + 1,
            )
            .returning(
                Delivery.id,
                Delivery.workspace_id,
                Delivery.idempotency_key,
                Delivery.kind,
                Delivery.channel_id,
                Delivery.payload,
                Delivery.attempts,
                Delivery.created_at,
            )
        ).all()
    claimed_at = time.monotonic()
    claimed = [
        Claimed(
            id=row.id,
            workspace_id=row.workspace_id,
            key=row.idempotency_key,
            kind=row.kind,
            channel_id=row.channel_id,
            payload=row.payload or {},
            attempts=row.attempts,
            created_at=_aware(row.created_at),
            uncertain=row.id in uncertain,
            lease=lease,
            claimed_at=claimed_at,
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda c: (rank(c.kind), c.id))


def _plan(
    pacer: Pacer, tats: dict[str, float], rows: list, now: float, horizon: float
) -> tuple[list, dict[int, float]]:
    """Which rows may go within `horizon` given the budgets `tats` (simulating their bookings),
    and for the others about when they may (row id -> available_at, database clock)."""
    booked = dict(tats)
    ahead = dict(tats)  # also counts the rows that wait, to spread out when they come back
    take, later = [], {}
    for row in rows:
        slot = pacer.earliest(booked, row.workspace_id, row.channel_id, now)
        if slot - now <= horizon:
            pacer.book(booked, row.workspace_id, row.channel_id, slot)
            pacer.book(ahead, row.workspace_id, row.channel_id, slot)
            take.append(row)
        else:
            then = pacer.earliest(ahead, row.workspace_id, row.channel_id, now)
            pacer.book(ahead, row.workspace_id, row.channel_id, then)
            later[row.id] = max(now, then - horizon / 2)
    return take, later


def _defer(session: Session, later: dict[int, float]) -> None:
    """Make rows available again at the given times (epoch seconds, database clock)."""
    if not later:
        return
    table = Delivery.__table__
    session.execute(
        update(table).where(table.c.id == bindparam("row_id")).values(available_at=bindparam("at")),
        [{"row_id": i, "at": datetime.fromtimestamp(at, UTC)} for i, at in later.items()],
    )


def book(
    session_factory: sessionmaker[Session],
    rows: list[Claimed],
    *,
    pacer: Pacer | None,
    horizon: float = math.inf,
) -> list[Claimed]:
    """Book each row's send time in the shared pace; returns the rows with their `slot`.

    Done once the rows are rendered and can go, in a transaction that holds each of their
    workspaces' budget rows, so every sender's bookings line up into one pace. A row that
    can no longer go within `horizon` (another sender booked meanwhile) goes back to the
    queue for about when it could.
    """
    if not rows:
        return []
    with session_factory.begin() as session:
        now, mono = _clocks(session)
        base = now.timestamp()
        if pacer is None:
            return [replace(row, slot=mono) for row in rows]
        tats = pacing.lock_budgets(session, {(r.workspace_id, r.channel_id) for r in rows}, base)
        booked = dict(tats)
        taken, later = [], {}
        for row in rows:
            slot = pacer.earliest(booked, row.workspace_id, row.channel_id, base)
            if slot - base <= horizon:
                pacer.book(booked, row.workspace_id, row.channel_id, slot)
                taken.append(replace(row, slot=mono + (slot - base)))
            else:
                later[row.id] = max(base, slot - horizon / 2)
        pacing.save_budgets(session, {k: v for k, v in booked.items() if tats.get(k) != v})
        for row in rows:
            if row.id in later:
                finish(  # its state stays: `sending` from a dead sender is still uncertain
                    session,
                    row,
                    attempts=row.attempts - 1,  # never tried
                    available_at=datetime.fromtimestamp(later[row.id], UTC),
                )
    return taken


def _clocks(session: Session) -> tuple[datetime, float]:
    """The database's "now", and this process's monotonic clock at that moment."""
    before = time.monotonic()
    now = db_now(session)
    return now, (before + time.monotonic()) / 2


def mark_sending(session: Session, rows: list[Claimed]) -> set[int]:
    """Record that these rows' posts are about to start; returns the ids still ours.

    From here on a crash may leave a message in Slack that we did not record, so whoever
    takes the row next checks the channel before posting (the crash check).
    """
    table = Delivery.__table__
    return set(
        session.scalars(
            update(table)
            .where(or_(*(and_(table.c.id == r.id, table.c.lease_owner == r.lease) for r in rows)))
            .values(state=DeliveryState.SENDING)
            .returning(table.c.id)
        )
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def finish(session: Session, row: Claimed, **values: Any) -> bool:
    """Update a row we hold; False when its lease has passed on meanwhile (to another
    sender, or to a later claim of our own)."""
    table = Delivery.__table__  # a plain Core UPDATE: the ORM's bulk path costs ~1 ms a row
    result = session.execute(
        update(table)
        .where(
            table.c.id == row.id,
            table.c.lease_owner == row.lease,
            table.c.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
        )
        .values(lease_owner=None, lease_until=None, **values)
    )
    if not result.rowcount:
        log.warning("lost the lease on %s before recording its outcome", row.key)
    return bool(result.rowcount)


def next_due_in(session: Session) -> float | None:
    """Seconds until the next waiting row becomes available (database clock)."""
    now = db_now(session)
    soonest = session.scalar(
        select(func.min(Delivery.available_at)).where(Delivery.state == DeliveryState.PENDING)
    )
    return None if soonest is None else max(0.0, (soonest - now).total_seconds())


def retry_key(session: Session, key: str) -> str:
    """`mlops-bot outbox retry KEY`: make a failed or dead row pending again, now.

    A sent row is refused: sending it again is exactly the duplicate the outbox exists to
    prevent. Returns a sentence for the operator; raises LookupError/ValueError otherwise.
    """
    row = session.scalar(select(Delivery).where(Delivery.idempotency_key == key))
    if row is None:
        raise LookupError(f"no delivery with key {key!r}")
    if row.state == DeliveryState.SENT:
        raise ValueError(f"{key} was already sent at {row.sent_at:%Y-%m-%d %H:%M} UTC")
    if row.lease_until and row.lease_until > utcnow():
        raise ValueError(f"{key} is being sent right now (lease until {row.lease_until:%H:%M:%S})")
    previous = row.state
    row.state = DeliveryState.PENDING
    row.available_at = utcnow()
    row.attempts = 0
    row.lease_owner = row.lease_until = None
    if previous in (DeliveryState.FAILED, DeliveryState.DEAD, DeliveryState.CANCELLED):
        row.last_error = f"retried by an operator (was {previous}: {row.last_error})"
    return f"{key}: {previous} -> pending; the worker sends it within seconds"


def summary(session: Session, failures: int = 10) -> tuple[dict[str, int], list[Delivery]]:
    """Counts by state and the latest failed or dead rows, for `mlops-bot outbox`."""
    counts = {state.value: 0 for state in DeliveryState}
    for state, count in session.execute(
        select(Delivery.state, func.count()).group_by(Delivery.state)
    ):
        counts[DeliveryState(state).value] = count
    last = list(
        session.scalars(
            select(Delivery)
            .where(Delivery.state.in_([DeliveryState.FAILED, DeliveryState.DEAD]))
            .order_by(Delivery.id.desc())
            .limit(failures)
        )
    )
    return counts, last
