"""The data behind the pictures, and the pictures themselves, for one workspace.

A fixed number of queries whatever the number of teams: every team with its current
answers (two queries), every level change (one), or one team's finished assessments (one).
Weeks run Monday to Sunday in UTC; a week's count is the level each team held at its end
(or now, for the current week). Teams never assessed are in the heatmap, not the trend.

Evidence marks are optional input: a caller that knows which answers are verified or
contradicted passes `evidence` (team id -> capability id -> "verified"/"contradiction").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import DEFAULT_CHECKLIST, Checklist
from bot.models import Assessment, AssessmentStatus, LevelChange, Team
from bot.pictures import (
    HeatmapRow,
    Picture,
    TimelinePoint,
    TrendWeek,
    render_heatmap,
    render_timeline,
    render_trend,
)
from bot.services import evidence as evidence_service
from bot.services import maturity
from bot.services.teams import current_answers

TREND_WEEKS = 26

Evidence = Mapping[int, Mapping[str, str]]


def heatmap_rows(
    session: Session,
    workspace_id: str,
    evidence: Evidence | None = None,
    now: datetime | None = None,
) -> list[HeatmapRow]:
    """Every team of the workspace with its level, current answers and evidence marks.

    Without `evidence`, the evidence service says which answers connected tools verify or
    contradict (three queries for all teams); other states leave a cell unmarked.
    """
    teams = list(session.scalars(select(Team).where(Team.workspace_id == workspace_id)))
    answers = current_answers(session, workspace_id, [team.id for team in teams])
    if evidence is None:
        evidence = marks(session, workspace_id, teams, now)
    return [
        HeatmapRow(
            team.name,
            team.level,
            {cap: record.value.value for cap, record in answers[team.id].items()},
            dict(evidence.get(team.id, {})),
        )
        for team in teams
    ]


MARKED = ("verified", "contradiction")


def marks(
    session: Session, workspace_id: str, teams: list[Team], now: datetime | None
) -> dict[int, dict[str, str]]:
    """Team id -> capability id -> "verified" or "contradiction", from the evidence service."""
    found = evidence_service.evidence_for_teams(session, workspace_id, teams, now)
    return {
        team_id: {cap: str(item.state) for cap, item in items.items() if item.state in MARKED}
        for team_id, items in found.items()
    }


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def trend_weeks(
    session: Session, workspace_id: str, now: datetime, weeks: int = TREND_WEEKS
) -> list[TrendWeek]:
    """Teams per level for each of the last `weeks` weeks, or since the first assessment."""
    changes = session.execute(
        select(LevelChange.team_id, LevelChange.to_level, LevelChange.changed_at)
        .where(LevelChange.workspace_id == workspace_id)
        .order_by(LevelChange.changed_at, LevelChange.id)
    ).all()
    if not changes:
        return []
    now = now.astimezone(UTC)
    this_week = monday(now.date())
    first = monday(changes[0].changed_at.astimezone(UTC).date())
    start = max(first, this_week - timedelta(weeks=weeks - 1))
    result: list[TrendWeek] = []
    level_of: dict[int, int] = {}
    index = 0
    week = start
    while week <= this_week:
        end = min(datetime.combine(week + timedelta(days=7), datetime.min.time(), UTC), now)
        while index < len(changes) and changes[index].changed_at.astimezone(UTC) <= end:
            level_of[changes[index].team_id] = changes[index].to_level
            index += 1
        counts: dict[int, int] = {}
        for level in level_of.values():
            counts[level] = counts.get(level, 0) + 1
        result.append(TrendWeek(week, counts))
        week += timedelta(weeks=1)
    return result


def timeline_points(session: Session, team: Team) -> list[TimelinePoint]:
    """The team's finished assessments, oldest first, with the level each gave it."""
    rows = session.execute(
        select(Assessment.completed_at, Assessment.level)
        .where(
            Assessment.workspace_id == team.workspace_id,
            Assessment.team_id == team.id,
            Assessment.status == AssessmentStatus.COMPLETED,
            Assessment.level.is_not(None),
            Assessment.completed_at.is_not(None),
        )
        .order_by(Assessment.completed_at, Assessment.id)
    ).all()
    return [TimelinePoint(at, level) for at, level in rows]


@dataclass(frozen=True)
class Report:
    """The heatmap's pages and the trend, ready to upload or write."""

    heatmap: list[Picture]
    trend: Picture
    teams: int

    @property
    def pictures(self) -> list[Picture]:
        return [*self.heatmap, self.trend]


def report(
    session: Session,
    workspace_id: str,
    now: datetime,
    *,
    fmt: str = "png",
    evidence: Evidence | None = None,
    checklist: Checklist = DEFAULT_CHECKLIST,
    level_names: Mapping[int, str] | None = None,
) -> Report:
    rows = heatmap_rows(session, workspace_id, evidence, now)
    weeks = trend_weeks(session, workspace_id, now)
    return draw_report(rows, weeks, fmt=fmt, checklist=checklist, level_names=level_names)


def draw_report(
    rows: list[HeatmapRow],
    weeks: list[TrendWeek],
    *,
    fmt: str = "png",
    checklist: Checklist = DEFAULT_CHECKLIST,
    level_names: Mapping[int, str] | None = None,
) -> Report:
    """The report's pictures from data already read (no database needed to draw)."""
    pages = render_heatmap(rows, checklist, level_names=level_names, fmt=fmt)
    names = level_names if level_names is not None else dict(enumerate(checklist.level_names))
    trend = render_trend(weeks, fmt=fmt, level_names=names)
    return Report([page.picture for page in pages], trend, len(rows))


def model(session: Session, workspace_id: str) -> Checklist:
    """The maturity model the workspace's levels are in (its primary one)."""
    return maturity.for_workspace(session, workspace_id).primary


def trend_picture(
    session: Session,
    workspace_id: str,
    now: datetime,
    *,
    fmt: str = "png",
    level_names: Mapping[int, str] | None = None,
) -> Picture:
    if level_names is None:
        level_names = dict(enumerate(model(session, workspace_id).level_names))
    return render_trend(trend_weeks(session, workspace_id, now), fmt=fmt, level_names=level_names)


def timeline_picture(session: Session, team: Team, now: datetime, *, fmt: str = "png") -> Picture:
    names = dict(enumerate(model(session, team.workspace_id).level_names))
    return render_timeline(
        team.name, timeline_points(session, team), now=now, fmt=fmt, level_names=names
    )
