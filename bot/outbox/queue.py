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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.models import Delivery, DeliveryState, utcnow
from bot.outbox.kinds import LOWEST, PRIORITY, DeliveryKind, rank

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


def claim(
    session_factory: sessionmaker[Session], owner: str, *, limit: int, lease_seconds: float
) -> list[Claimed]:
    """Take up to `limit` available rows under a lease for `owner`, in one transaction."""
    with session_factory.begin() as session:
        now = db_now(session)
        candidates = session.execute(
            select(Delivery.id, Delivery.state, Delivery.last_error)
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
        uncertain = {
            row.id
            for row in candidates
            if row.state == DeliveryState.SENDING or (row.last_error or "").startswith("uncertain:")
        }
        rows = session.execute(
            update(Delivery)
            .where(Delivery.id.in_([row.id for row in candidates]))
            .values(
                state=DeliveryState.SENDING,
                lease_owner=owner,
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
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda c: (rank(c.kind), c.id))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def finish(session: Session, row: Claimed, owner: str, **values: Any) -> bool:
    """Update a row we hold; False when the lease has passed to someone else meanwhile."""
    table = Delivery.__table__  # a plain Core UPDATE: the ORM's bulk path costs ~1 ms a row
    result = session.execute(
        update(table)
        .where(
            table.c.id == row.id,
            table.c.lease_owner == owner,
            table.c.state == DeliveryState.SENDING,
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
    if row.state == DeliveryState.SENDING and row.lease_until and row.lease_until > utcnow():
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
