"""The outbox: every message the bot sends on its own is a `deliveries` row first.

`enqueue` inserts a row keyed by its idempotency key and does nothing if the key exists, so
callers may enqueue as often as they like; it joins the caller's transaction, so a level
change and its announcement commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.models import Delivery, DeliveryState, utcnow


def enqueue(
    session: Session,
    *,
    workspace_id: str,
    key: str,
    kind: str,
    channel_id: str,
    payload: dict[str, Any] | None = None,
    available_at: datetime | None = None,
) -> bool:
    """Add a delivery unless `key` is already known; True when a row was inserted."""
    values = dict(
        workspace_id=workspace_id,
        idempotency_key=key,
        kind=kind,
        channel_id=channel_id,
        payload=payload or {},
        state=DeliveryState.PENDING,
        attempts=0,
        available_at=available_at or utcnow(),
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
    result = session.execute(statement)
    return bool(result.rowcount)
