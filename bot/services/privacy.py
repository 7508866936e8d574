"""A person's request to be forgotten: their id and name removed from one workspace's data.

The bot stores Slack user ids, never names, except where people typed them (notes, team
names). `forget` replaces the person's id with FORGOTTEN in every column that records who did
something, removes their mentions (and, when given, their names) from free text, and deletes
the rows that exist only because of them (team ownerships, their cached profile, messages
addressed to them). What stays is the team's data: its answers and level history, now by
"someone".

The columns are listed here by name rather than discovered, so that a new table with a user
column is a decision (and `test_privacy` fails until it is listed), not an accident.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from bot.models import (
    AnswerRecord,
    Assessment,
    Delivery,
    DigestSubscription,
    EvidenceDismissal,
    EvidenceSource,
    Installation,
    LevelChange,
    PurposeChange,
    SlackUser,
    Team,
    TeamOwner,
    TeamReminder,
    WorkspaceModel,
)
from bot.services.teams import name_key

FORGOTTEN = "forgotten"
"""Stands in for a removed person's user id; messages render it as "someone"."""
REMOVED = "[removed]"

# (model, column) pairs that record which person did something, all scoped by workspace_id.
ACTOR_COLUMNS = [
    (Team, Team.created_by),
    (Team, Team.last_assessed_by),
    (TeamReminder, TeamReminder.updated_by),
    (Assessment, Assessment.started_by),
    (AnswerRecord, AnswerRecord.answered_by),
    (LevelChange, LevelChange.changed_by),
    (PurposeChange, PurposeChange.changed_by),
    (DigestSubscription, DigestSubscription.created_by),
    (EvidenceSource, EvidenceSource.created_by),
    (WorkspaceModel, WorkspaceModel.installed_by),
    (EvidenceDismissal, EvidenceDismissal.dismissed_by),
]


def _redactor(user_id: str, names: Iterable[str]) -> re.Pattern[str]:
    """Mentions as Slack sends them (<@U123>, <@U123|name>), the bare id, and each name."""
    parts = [rf"<@{re.escape(user_id)}(?:\|[^>]*)?>", rf"\b{re.escape(user_id)}\b"]
    parts += [re.escape(name.strip()) for name in names if name.strip()]
    return re.compile("|".join(parts), re.IGNORECASE)


def forget(
    session: Session, workspace_id: str, user_id: str, names: Iterable[str] = ()
) -> dict[str, int]:
    """Remove `user_id` (and `names`) from the workspace's data; returns changes per table.

    Idempotent: a second run finds nothing left to change.
    """
    changed: dict[str, int] = {}

    def count(table: str, n: int) -> None:
        if n:
            changed[table] = changed.get(table, 0) + n

    for model, column in ACTOR_COLUMNS:
        result = session.execute(
            update(model)
            .where(model.workspace_id == workspace_id, column == user_id)
            .values({column.key: FORGOTTEN})
        )
        count(model.__tablename__, result.rowcount)

    count(
        "installations",
        session.execute(
            update(Installation)
            .where(Installation.team_id == workspace_id, Installation.installer_user_id == user_id)
            .values(installer_user_id=None)
        ).rowcount,
    )

    pattern = _redactor(user_id, names)
    like = [AnswerRecord.note.contains(user_id)] + [
        AnswerRecord.note.ilike(f"%{name.strip()}%") for name in names if name.strip()
    ]
    for answer in session.scalars(
        select(AnswerRecord).where(AnswerRecord.workspace_id == workspace_id, or_(*like))
    ):
        redacted = pattern.sub(REMOVED, answer.note or "")
        if redacted != answer.note:
            answer.note = redacted
            count("answers", 1)
    dismissal_like = [EvidenceDismissal.reason.contains(user_id)] + [
        EvidenceDismissal.reason.ilike(f"%{name.strip()}%") for name in names if name.strip()
    ]
    for dismissal in session.scalars(
        select(EvidenceDismissal).where(
            EvidenceDismissal.workspace_id == workspace_id, or_(*dismissal_like)
        )
    ):
        redacted = pattern.sub(REMOVED, dismissal.reason)
        if redacted != dismissal.reason:
            dismissal.reason = redacted
            count("evidence_dismissals", 1)
    for team in session.scalars(select(Team).where(Team.workspace_id == workspace_id)):
        redacted = pattern.sub(REMOVED, team.name)
        if redacted != team.name:
            team.name = redacted[:80]
            team.name_key = name_key(team.name)
            count("teams", 1)

    count(
        "team_owners",
        session.execute(
            delete(TeamOwner).where(
                TeamOwner.workspace_id == workspace_id, TeamOwner.user_id == user_id
            )
        ).rowcount,
    )
    count(
        "slack_users",
        session.execute(
            delete(SlackUser).where(
                SlackUser.workspace_id == workspace_id, SlackUser.user_id == user_id
            )
        ).rowcount,
    )
    # Nudges and reminders go to the person's DM, addressed by their user id; the keys and
    # payloads of those rows name them too.
    count(
        "deliveries",
        session.execute(
            delete(Delivery).where(
                Delivery.workspace_id == workspace_id,
                or_(
                    Delivery.channel_id == user_id,
                    Delivery.idempotency_key.contains(f":{user_id}:"),
                    Delivery.idempotency_key.endswith(f":{user_id}"),
                ),
            )
        ).rowcount,
    )
    session.flush()
    return changed
