"""The organisation's overview (`/mlops teams`): every team with its level and trend, a page
at a time, and the count of teams per level (also shown in App Home).

It points where the return is highest: production teams at L0 come first, then the other
production teams by level, then the teams whose models are not in production (research,
proofs of concept, single-use), counted apart as "L0 by choice". It can be filtered by
purpose (`/mlops teams research`).

Each function runs a fixed number of queries whatever the number of teams, so the overview
stays fast for an organisation of hundreds of teams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.domain import PURPOSES, Purpose, Step, by_choice, in_production, purpose_label
from bot.domain import teams_count as count_text
from bot.models import LevelChange, Team
from bot.services import maturity
from bot.services.maturity import ModelSet
from bot.services.teams import team_states

TEAMS_PER_PAGE = 60


@dataclass(frozen=True)
class TeamRow:
    name: str
    level: int | None
    trend: str | None  # "up", "down" or None
    progress: str
    next_step: str | None
    assessed_at: datetime | None
    step: Step | None = None  # the next step, and what is left of it, for its headline
    left: tuple[str, ...] = ()
    group: str = ""  # the heading of the rows it belongs with (mrkdwn)
    purpose: Purpose = Purpose.PRODUCTION


@dataclass(frozen=True)
class Overview:
    rows: list[TeamRow]
    counts: dict[int | None, int]  # production teams per level (None: not assessed)
    total: int  # the teams shown (of the purpose asked for, else all)
    page: int
    pages: int
    model: ModelSet | None = None
    apart: list[str] = field(default_factory=list)  # "4 research teams", ...: by choice
    purpose: Purpose | None = None  # the filter, if any


def _trends(session: Session, workspace_id: str) -> dict[int, str]:
    latest = (
        select(func.max(LevelChange.id))
        # a level that moved only because the model changed is no trend: nobody moved
        .where(LevelChange.workspace_id == workspace_id, LevelChange.cause.is_(None))
        .group_by(LevelChange.team_id)
    )
    trends = {}
    for change in session.scalars(select(LevelChange).where(LevelChange.id.in_(latest))):
        if change.from_level is not None and change.from_level != change.to_level:
            trends[change.team_id] = "up" if change.to_level > change.from_level else "down"
    return trends


def org_counts(
    session: Session, workspace_id: str
) -> tuple[dict[int | None, int], dict[Purpose, int], int]:
    """Production teams per level, every team per purpose, and all teams: one query."""
    # every level of the workspace's primary model, even those no team is at
    model_levels = maturity.for_workspace(session, workspace_id).levels
    levels: dict[int | None, int] = {**dict.fromkeys(model_levels, 0), None: 0}
    purposes: dict[Purpose, int] = dict.fromkeys(PURPOSES, 0)
    rows = session.execute(
        select(Team.purpose, Team.level, func.count())
        .where(Team.workspace_id == workspace_id)
        .group_by(Team.purpose, Team.level)
    )
    for purpose, level, count in rows:
        purposes[purpose] = purposes.get(purpose, 0) + count
        if in_production(purpose):
            levels[level] = levels.get(level, 0) + count
    return levels, purposes, sum(purposes.values())


def apart_texts(purposes: dict[Purpose, int]) -> list[str]:
    """ "4 research teams", "1 proof-of-concept team": the teams not in production."""
    return [
        count_text(purpose, count)
        for purpose, count in purposes.items()
        if count and not in_production(purpose)
    ]


def level_counts(session: Session, workspace_id: str) -> tuple[dict[int | None, int], int]:
    """Production teams per level, and the number of all teams."""
    levels, _, total = org_counts(session, workspace_id)
    return levels, total


def group_of(purpose: Purpose, level: int | None, models: ModelSet) -> str:
    """The heading a team is listed under: where the return is, first."""
    if not in_production(purpose):
        return f"*{purpose_label(purpose).capitalize()}* · not in production, {by_choice()}"
    if level is None:
        return "*In production, not assessed yet*"
    if level == 0:
        return f"*In production at {models.level_label(0)}* · where moving up pays most"
    return f"*In production at {models.level_label(level)}*"


def _order():
    """Production before the rest; within each purpose L0 first, then up, not assessed last."""
    purpose_rank = case(
        *((Team.purpose == purpose, rank) for rank, purpose in enumerate(PURPOSES)),
        else_=len(PURPOSES),
    )
    return (
        purpose_rank,
        case((Team.level.is_(None), 1), else_=0),
        Team.level,
        Team.name_key,
    )


def teams_overview(
    session: Session, workspace_id: str, page: int = 1, purpose: Purpose | None = None
) -> Overview:
    """One page of the teams (of `purpose`, else all) with level, trend, progress, next step."""
    counts, per_purpose, total = org_counts(session, workspace_id)
    shown = per_purpose.get(purpose, 0) if purpose is not None else total
    pages = max(1, -(-shown // TEAMS_PER_PAGE))
    page = min(max(1, page), pages)
    scope = [Team.workspace_id == workspace_id]
    if purpose is not None:
        scope.append(Team.purpose == purpose)
    teams = list(
        session.scalars(
            select(Team)
            .where(*scope)
            .order_by(*_order())
            .offset((page - 1) * TEAMS_PER_PAGE)
            .limit(TEAMS_PER_PAGE)
        )
    )
    trends = _trends(session, workspace_id)
    states = team_states(session, workspace_id, teams)
    models = maturity.for_workspace(session, workspace_id)
    rows = [
        TeamRow(
            name=state.team.name,
            level=state.team.level,
            trend=trends.get(state.team.id),
            progress=state.report.progress_text if state.answers else "",
            next_step=state.next_step.title if state.next_step and state.answers else None,
            assessed_at=state.team.last_assessed_at,
            step=state.next_step if state.answers else None,
            left=state.left,
            group=group_of(state.team.purpose, state.team.level, models),
            purpose=state.team.purpose,
        )
        for state in states
    ]
    return Overview(rows, counts, shown, page, pages, models, apart_texts(per_purpose), purpose)
