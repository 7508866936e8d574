"""The organisation's overview (`/mlops teams`): every team with its level and trend, a page
at a time, and the count of teams per level (also shown in App Home).

Each function runs a fixed number of queries whatever the number of teams, so the overview
stays fast for an organisation of hundreds of teams.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain import Step
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


@dataclass(frozen=True)
class Overview:
    rows: list[TeamRow]
    counts: dict[int | None, int]
    total: int
    page: int
    pages: int
    model: ModelSet | None = None


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


def level_counts(session: Session, workspace_id: str) -> tuple[dict[int | None, int], int]:
    # every level of the workspace's primary model, even those no team is at
    levels = maturity.for_workspace(session, workspace_id).levels
    counts: dict[int | None, int] = {**dict.fromkeys(levels, 0), None: 0}
    rows = session.execute(
        select(Team.level, func.count())
        .where(Team.workspace_id == workspace_id)
        .group_by(Team.level)
    )
    for level, count in rows:
        counts[level] = counts.get(level, 0) + count
    return counts, sum(counts.values())


def teams_overview(session: Session, workspace_id: str, page: int = 1) -> Overview:
    """One page of every team with its level, trend, progress and next step."""
    counts, total = level_counts(session, workspace_id)
    pages = max(1, -(-total // TEAMS_PER_PAGE))
    page = min(max(1, page), pages)
    teams = list(
        session.scalars(
            select(Team)
            .where(Team.workspace_id == workspace_id)
            .order_by(Team.name_key)
            .offset((page - 1) * TEAMS_PER_PAGE)
            .limit(TEAMS_PER_PAGE)
        )
    )
    trends = _trends(session, workspace_id)
    states = team_states(session, workspace_id, teams)
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
        )
        for state in states
    ]
    return Overview(rows, counts, total, page, pages, maturity.for_workspace(session, workspace_id))
