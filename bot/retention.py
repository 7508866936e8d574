"""Retention: the worker tick deletes what has served its purpose, so no table grows forever.

- `deliveries` that are finished (sent, failed, dead or cancelled) go after
  DELIVERY_RETENTION_DAYS. A delivery's idempotency key is what stops a second copy of a
  message, so a row must outlive every moment its key could be enqueued again: the longest
  is a reassessment reminder's 28-day window (bot.services.nudges), which is why the setting
  cannot go below MIN_DELIVERY_RETENTION_DAYS. Pending and sending rows are never touched.
- `processed_events` ids go after EVENT_RETENTION_HOURS: Slack retries an event within
  minutes, so a day is plenty to recognise a retry.
- `oauth_states` go once expired: a state is single-use and valid for ten minutes.

Uninstalled workspaces are purged whole by bot.services.workspaces.purge_expired.

Deletes run in batches, each in its own short transaction, so a first purge of a large
table never holds SQLite's write lock (or PostgreSQL row locks) for long.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.models import Delivery, DeliveryState, OAuthState, ProcessedEvent, utcnow

log = logging.getLogger(__name__)

BATCH = 1000
FINISHED = (
    DeliveryState.SENT,
    DeliveryState.FAILED,
    DeliveryState.DEAD,
    DeliveryState.CANCELLED,
)


def _delete_in_batches(session_factory: sessionmaker[Session], column, *conditions) -> int:
    """DELETE ... WHERE conditions, BATCH rows (by primary key `column`) per transaction."""
    total = 0
    while True:
        with session_factory.begin() as session:
            ids = list(session.scalars(select(column).where(*conditions).limit(BATCH)))
            if ids:
                session.execute(delete(column.class_).where(column.in_(ids)))
        total += len(ids)
        if len(ids) < BATCH:
            return total


def purge(
    session_factory: sessionmaker[Session], settings: Settings, now: datetime | None = None
) -> dict[str, int]:
    """Delete what is past its retention at `now`; returns rows deleted per table."""
    now = now or utcnow()
    delivery_cutoff = now - timedelta(days=settings.delivery_retention_days)
    deleted = {
        "deliveries": _delete_in_batches(
            session_factory,
            Delivery.id,
            Delivery.state.in_(FINISHED),
            Delivery.created_at < delivery_cutoff,
            or_(Delivery.sent_at.is_(None), Delivery.sent_at < delivery_cutoff),
        ),
        "processed_events": _delete_in_batches(
            session_factory,
            ProcessedEvent.event_id,
            ProcessedEvent.received_at < now - timedelta(hours=settings.event_retention_hours),
        ),
        "oauth_states": _delete_in_batches(
            session_factory, OAuthState.state, OAuthState.expires_at < now
        ),
    }
    if any(deleted.values()):
        log.info(
            "retention: deleted %s",
            ", ".join(f"{count} {table}" for table, count in deleted.items() if count),
        )
    return {table: count for table, count in deleted.items() if count}
