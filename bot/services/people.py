"""Slack people the bot acts for or on: a cache of users.info (who is an admin is decided
from it in bot.services.permissions).

Nudges need each owner's time zone and must skip deactivated people; digests are an admin's
decision. Asking Slack every minute for 1,500 owners would burn users.info's rate limit, so
answers are cached in `slack_users`: for a day for time zones, for a few minutes for admin
rights (losing them should take effect quickly).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.models import SlackUser, utcnow
from bot.services import workspaces

log = logging.getLogger(__name__)

PROFILE_TTL = timedelta(hours=24)
ADMIN_TTL = timedelta(minutes=10)


def cached(session: Session, workspace_id: str, user_ids: Iterable[str]) -> dict[str, SlackUser]:
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = session.scalars(
        select(SlackUser).where(SlackUser.workspace_id == workspace_id, SlackUser.user_id.in_(ids))
    )
    return {row.user_id: row for row in rows}


def _store(session: Session, workspace_id: str, user_id: str, **values) -> SlackUser:
    """Upsert one cache row; two requests refreshing the same person must not collide."""
    workspaces.ensure(session, workspace_id)
    values = dict(values, fetched_at=utcnow())
    row = dict(workspace_id=workspace_id, user_id=user_id, **values)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(SlackUser).values(**row)
    statement = statement.on_conflict_do_update(
        index_elements=["workspace_id", "user_id"], set_=values
    )
    session.execute(statement)
    session.expire_all()
    return session.get(SlackUser, (workspace_id, user_id))


class RateLimited(Exception):
    """users.info answered 429: stop asking for now (the next tick carries on)."""


def refresh(
    session: Session, client: WebClient, workspace_id: str, user_id: str
) -> SlackUser | None:
    """Ask users.info and cache the answer; on a Slack error keep what we had.

    `user_not_found` is cached as deleted: nobody should be nudged who Slack does not know.
    """
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        reason = error.response.get("error") if error.response is not None else None
        if reason == "user_not_found":
            return _store(session, workspace_id, user_id, deleted=True, is_admin=False)
        if reason == "ratelimited" or (
            error.response is not None and error.response.status_code == 429
        ):
            raise RateLimited(user_id) from error
        log.warning("users.info for %s failed (%s); using the cache", user_id, reason)
        return session.get(SlackUser, (workspace_id, user_id))
    except OSError as error:
        log.warning("users.info for %s failed (%s); using the cache", user_id, error)
        return session.get(SlackUser, (workspace_id, user_id))
    return _store(
        session,
        workspace_id,
        user_id,
        timezone=user.get("tz") or None,
        is_admin=bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")),
        deleted=bool(user.get("deleted")),
    )


def get(
    session: Session,
    client: WebClient,
    workspace_id: str,
    user_id: str,
    max_age: timedelta = PROFILE_TTL,
) -> SlackUser | None:
    """The cached person, refreshed from Slack when older than `max_age`."""
    row = session.get(SlackUser, (workspace_id, user_id))
    if row is not None and row.fetched_at > utcnow() - max_age:
        return row
    try:
        return refresh(session, client, workspace_id, user_id)
    except RateLimited:
        return row  # a person waiting for an answer gets what we know


def known_admins(session: Session, settings: Settings, workspace_id: str) -> list[str]:
    """Who to tell when something the bot sends on its own keeps failing.

    The bot admins of BOT_ADMINS first (they asked for it); else the workspace admins the
    cache has seen, because those are the people who set up digests.
    """
    if settings.admin_user_ids:
        return sorted(settings.admin_user_ids)
    rows = session.scalars(
        select(SlackUser.user_id).where(
            SlackUser.workspace_id == workspace_id,
            SlackUser.is_admin.is_(True),
            SlackUser.deleted.is_(False),
        )
    )
    return sorted(rows)


def refresh_stale(
    session: Session,
    client: WebClient,
    workspace_id: str,
    user_ids: Iterable[str],
    *,
    budget: int,
) -> int:
    """Refresh up to `budget` people whose cache is missing or a day old; returns how many.

    The budget keeps one tick well inside users.info's rate limit (Tier 4, 100+/min); the rest
    wait for the next minute, so a large workspace warms its cache over a few ticks.
    """
    # Freshness is judged on the real clock, which stamped `fetched_at`, not on the tick's
    # `now` (an operator's `jobs due --at` moment, or the sandbox's clock).
    fresh_after = utcnow() - PROFILE_TTL
    ids = sorted(set(user_ids))
    known = cached(session, workspace_id, ids)
    stale = [uid for uid in ids if uid not in known or known[uid].fetched_at <= fresh_after]
    done = 0
    for user_id in stale[:budget]:
        try:
            refresh(session, client, workspace_id, user_id)
        except RateLimited:
            log.info(
                "users.info is rate limited; %d people wait for the next tick", len(stale) - done
            )
            break
        done += 1
    return done
