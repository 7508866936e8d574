"""A person's App Home: the teams they own, created or assessed, and the org's level counts.

A fixed number of queries whatever the number of teams; at most HOME_TEAMS teams are shown.
The teams can be filtered by purpose (production, research, ...), from a menu in the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.domain import Purpose
from bot.models import Team, TeamOwner, utcnow
from bot.services import maturity
from bot.services.digests import SharedPicture, latest_picture
from bot.services.maturity import ModelSet
from bot.services.overview import apart_texts, org_counts
from bot.services.teams import TeamState, team_states

HOME_TEAMS = 15
PICTURE_DAYS = 8
"""App Home shows the trend picture of a digest from the last week (and a day's slack)."""


@dataclass(frozen=True)
class Home:
    mine: list[TeamState]
    more: int
    counts: dict[int | None, int]  # production teams per level
    total: int
    apart: list[str]  # "4 research teams", ...: counted apart, L0 by choice
    purpose: Purpose | None = None  # the filter, if any
    model: ModelSet | None = None
    picture: SharedPicture | None = None


def home(session: Session, workspace_id: str, user_id: str, purpose: Purpose | None = None) -> Home:
    """The viewer's teams (owned, created or assessed by them; of `purpose` if given) and the
    org's counts."""
    owned = select(TeamOwner.team_id).where(
        TeamOwner.workspace_id == workspace_id, TeamOwner.user_id == user_id
    )
    condition = [
        Team.workspace_id == workspace_id,
        or_(Team.id.in_(owned), Team.created_by == user_id, Team.last_assessed_by == user_id),
    ]
    if purpose is not None:
        condition.append(Team.purpose == purpose)
    total_mine = session.scalar(select(func.count()).select_from(Team).where(*condition))
    teams = list(
        session.scalars(select(Team).where(*condition).order_by(Team.name_key).limit(HOME_TEAMS))
    )
    counts, per_purpose, total = org_counts(session, workspace_id)
    picture = latest_picture(session, workspace_id, utcnow() - timedelta(days=PICTURE_DAYS))
    return Home(
        team_states(session, workspace_id, teams),
        total_mine - len(teams),
        counts,
        total,
        apart_texts(per_purpose),
        purpose,
        maturity.for_workspace(session, workspace_id),
        picture,
    )
