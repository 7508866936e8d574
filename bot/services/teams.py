"""Teams and their current answers: lookups every surface shares.

Team names are matched case-insensitively (Unicode case folding, surrounding whitespace and
runs of spaces ignored), and every query is scoped by the workspace id.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain import DEFAULT_CHECKLIST, Answer, Checklist, LevelReport, Step, next_step, report
from bot.models import AnswerRecord, Team

NAME_MAX = 80


def name_key(name: str) -> str:
    """The form names are compared in: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def find_team(session: Session, workspace_id: str, name: str) -> Team | None:
    return session.scalar(
        select(Team).where(Team.workspace_id == workspace_id, Team.name_key == name_key(name))
    )


def teams_in_channel(session: Session, workspace_id: str, channel_id: str) -> list[Team]:
    return list(
        session.scalars(
            select(Team)
            .where(Team.workspace_id == workspace_id, Team.home_channel_id == channel_id)
            .order_by(Team.name_key)
        )
    )


def current_answers(
    session: Session, workspace_id: str, team_ids: Iterable[int]
) -> dict[int, dict[str, AnswerRecord]]:
    """The newest answer per capability for each team, in one query."""
    ids = list(team_ids)
    result: dict[int, dict[str, AnswerRecord]] = {team_id: {} for team_id in ids}
    if not ids:
        return result
    newest = (
        select(func.max(AnswerRecord.id))
        .where(AnswerRecord.workspace_id == workspace_id, AnswerRecord.team_id.in_(ids))
        .group_by(AnswerRecord.team_id, AnswerRecord.capability_id)
    )
    for record in session.scalars(select(AnswerRecord).where(AnswerRecord.id.in_(newest))):
        result[record.team_id][record.capability_id] = record
    return result


@dataclass(frozen=True)
class TeamState:
    """A team with its current answers, level report and next step."""

    team: Team
    answers: dict[str, AnswerRecord]
    report: LevelReport
    next_step: Step | None

    @property
    def values(self) -> dict[str, Answer]:
        return {cap: record.value for cap, record in self.answers.items()}


def team_states(
    session: Session,
    workspace_id: str,
    teams: list[Team],
    checklist: Checklist = DEFAULT_CHECKLIST,
) -> list[TeamState]:
    """Level reports and next steps for `teams`, with one query for all their answers."""
    answers = current_answers(session, workspace_id, [team.id for team in teams])
    states = []
    for team in teams:
        values = {cap: record.value for cap, record in answers[team.id].items()}
        states.append(
            TeamState(
                team, answers[team.id], report(values, checklist), next_step(values, checklist)
            )
        )
    return states
