"""A team's purpose: set, changed, kept in its history, and a move to production announced.

Every setting by a person is a `purpose_changes` row (the first with no `from_purpose`), so
`/mlops history` shows who said what and when. A change from research, proof of concept or
single-use to production is news like a level change: it is announced through the outbox
in the team's home channel and every digest channel, once per change (the key names the
change), and from then on the team's owners are nudged.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.domain import Purpose, Step, in_production
from bot.models import PurposeChange, Team, utcnow
from bot.outbox import Claimed
from bot.services.channels import announcement_channels
from bot.services.teams import team_states


def set_purpose(
    session: Session,
    team: Team,
    purpose: Purpose,
    user_id: str,
    *,
    nudges_anyway: bool | None = None,
) -> PurposeChange | None:
    """Record that `user_id` says the team's models are for `purpose`.

    Returns the change recorded, or None when the purpose was already that (a form saved
    again, a retried request): nothing is recorded or announced twice. The team's row is
    locked and read afresh, so two people changing it at once record one change each, in
    turn, and a move to production is announced once.
    """
    session.flush()
    locked = session.scalar(
        select(Team)
        .where(Team.id == team.id, Team.workspace_id == team.workspace_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    first = locked.purpose_set_at is None
    previous = locked.purpose
    locked.purpose_set_at = utcnow()
    if nudges_anyway is not None:
        locked.nudges_anyway = nudges_anyway
    if not first and previous == purpose:
        session.flush()
        return None
    locked.purpose = purpose
    change = PurposeChange(
        workspace_id=locked.workspace_id,
        team_id=locked.id,
        from_purpose=None if first else previous,
        to_purpose=purpose,
        changed_by=user_id,
    )
    session.add(change)
    session.flush()
    if not first and not in_production(previous) and in_production(purpose):
        _announce(session, locked, change)
    return change


def _announce(session: Session, team: Team, change: PurposeChange) -> None:
    for channel_id in announcement_channels(session, team):
        outbox.enqueue(
            session,
            workspace_id=team.workspace_id,
            key=f"production:{change.id}:{channel_id}",
            kind=outbox.DeliveryKind.PRODUCTION,
            channel_id=channel_id,
            payload={"purpose_change_id": change.id, "team_id": team.id},
        )


def changes(session: Session, team: Team, limit: int = 20) -> list[PurposeChange]:
    """The team's purpose settings, newest first."""
    return list(
        session.scalars(
            select(PurposeChange)
            .where(
                PurposeChange.team_id == team.id,
                PurposeChange.workspace_id == team.workspace_id,
            )
            .order_by(PurposeChange.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class ProductionMove:
    """A team's move to production, as announced: from what, where it stands, its next step."""

    team_id: int
    team: str
    from_purpose: Purpose
    level: int | None
    changed_by: str
    next_step: Step | None


def production_move_for(session: Session, row: Claimed) -> ProductionMove | None:
    """The move a row announces; None when the change or its team is gone, or the team has
    left production again before the message went (it would no longer be true)."""
    change = session.get(PurposeChange, row.payload.get("purpose_change_id"))
    if change is None or change.workspace_id != row.workspace_id or change.from_purpose is None:
        return None
    team = session.get(Team, change.team_id)
    if team is None or not in_production(team.purpose):
        return None
    state = team_states(session, row.workspace_id, [team])[0]
    return ProductionMove(
        team.id,
        team.name,
        change.from_purpose,
        team.level if state.answers else None,
        change.changed_by,
        state.next_step,
    )
