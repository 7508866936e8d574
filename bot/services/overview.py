"""Read-back views: a team's history, the org overview, and a person's own teams.

Each function runs a fixed number of queries whatever the number of teams or answers, so
`/mlops teams` stays fast for an organisation of hundreds of teams.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.domain import Answer
from bot.models import (
    AnswerRecord,
    Assessment,
    AssessmentStatus,
    LevelChange,
    Team,
    TeamOwner,
)
from bot.services.teams import TeamState, team_states

HISTORY_EDITS = 30
TEAMS_PER_PAGE = 60
HOME_TEAMS = 15


@dataclass(frozen=True)
class AnswerChange:
    capability_id: str
    before: Answer | None
    after: Answer
    by: str
    at: datetime
    note: str | None


@dataclass(frozen=True)
class History:
    team: Team
    changes: list[LevelChange]
    edits: list[AnswerChange]
    more_edits: int


def history(session: Session, team: Team) -> History:
    """Level timeline (newest first) and the answers that changed, from finished runs."""
    changes = list(
        session.scalars(
            select(LevelChange)
            .where(LevelChange.team_id == team.id, LevelChange.workspace_id == team.workspace_id)
            .order_by(LevelChange.id.desc())
            .limit(20)
        )
    )
    records = session.scalars(
        select(AnswerRecord)
        .join(Assessment, Assessment.id == AnswerRecord.assessment_id)
        .where(
            AnswerRecord.team_id == team.id,
            AnswerRecord.workspace_id == team.workspace_id,
            Assessment.status == AssessmentStatus.COMPLETED,
        )
        .order_by(AnswerRecord.id)
    )
    last: dict[str, AnswerRecord] = {}
    edits: list[AnswerChange] = []
    for record in records:
        before = last.get(record.capability_id)
        if before is None or before.value != record.value or before.note != record.note:
            edits.append(
                AnswerChange(
                    record.capability_id,
                    before.value if before else None,
                    record.value,
                    record.answered_by,
                    record.answered_at,
                    record.note,
                )
            )
        last[record.capability_id] = record
    edits.reverse()
    return History(team, changes, edits[:HISTORY_EDITS], max(0, len(edits) - HISTORY_EDITS))


@dataclass(frozen=True)
class TeamRow:
    name: str
    level: int | None
    trend: str | None  # "up", "down" or None
    progress: str
    next_step: str | None
    assessed_at: datetime | None


@dataclass(frozen=True)
class Overview:
    rows: list[TeamRow]
    counts: dict[int | None, int]
    total: int
    page: int
    pages: int


def _trends(session: Session, workspace_id: str) -> dict[int, str]:
    latest = (
        select(func.max(LevelChange.id))
        .where(LevelChange.workspace_id == workspace_id)
        .group_by(LevelChange.team_id)
    )
    trends = {}
    for change in session.scalars(select(LevelChange).where(LevelChange.id.in_(latest))):
        if change.from_level is not None and change.from_level != change.to_level:
            trends[change.team_id] = "up" if change.to_level > change.from_level else "down"
    return trends


def level_counts(session: Session, workspace_id: str) -> tuple[dict[int | None, int], int]:
    counts: dict[int | None, int] = {0: 0, 1: 0, 2: 0, None: 0}
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
    rows = [
        TeamRow(
            name=state.team.name,
            level=state.team.level,
            trend=trends.get(state.team.id),
            progress=state.report.progress_text if state.answers else "",
            next_step=state.next_step.title if state.next_step and state.answers else None,
            assessed_at=state.team.last_assessed_at,
        )
        for state in team_states(session, workspace_id, teams)
    ]
    return Overview(rows, counts, total, page, pages)


@dataclass(frozen=True)
class Home:
    mine: list[TeamState]
    more: int
    counts: dict[int | None, int]
    total: int


def home(session: Session, workspace_id: str, user_id: str) -> Home:
    """The viewer's teams (owned, created or assessed by them) and the org's counts."""
    owned = select(TeamOwner.team_id).where(
        TeamOwner.workspace_id == workspace_id, TeamOwner.user_id == user_id
    )
    condition = (
        Team.workspace_id == workspace_id,
        or_(Team.id.in_(owned), Team.created_by == user_id, Team.last_assessed_by == user_id),
    )
    total_mine = session.scalar(select(func.count()).select_from(Team).where(*condition))
    teams = list(
        session.scalars(select(Team).where(*condition).order_by(Team.name_key).limit(HOME_TEAMS))
    )
    counts, total = level_counts(session, workspace_id)
    return Home(team_states(session, workspace_id, teams), total_mine - len(teams), counts, total)
