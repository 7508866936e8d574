"""Teams with a finished assessment, made the way a person makes them: through the service.

The sandbox's demo organisation, the tests and the benchmarks all need teams that have
already been assessed. Writing those rows by hand would copy the assessment service's rules
(append-only answers, the stored level, the level-change timeline) and drift from them;
`seed_finished_assessment` instead answers every question with
`bot.services.assessments`, so seeded data is exactly what the bot itself would have
written, and only moves the timestamps to the moment asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from bot.domain import Answer
from bot.models import AnswerRecord, Assessment, Delivery, Team
from bot.services import assessments


def seed_finished_assessment(
    session: Session,
    team: Team,
    answers: Mapping[str, Answer | str],
    *,
    by: str,
    at: datetime | None = None,
    announce: bool = False,
    record_level_change: bool = True,
) -> assessments.Finished:
    """Run one whole assessment of `team` through the service; returns how it finished.

    `answers` maps capability ids to answers; a capability left out is answered "no". `at`
    backdates the run (its answers a minute apart before it, the completion, the team's
    last assessment and any level change at it), so history and staleness can be seeded.
    A seeded level change is history, not news: its announcements are dropped unless
    `announce`. With `record_level_change=False` the change is not kept at all, so the team
    stands at its level without having "moved" (digests list no mover, no announcement).
    """
    question, _ = assessments.start_or_resume(session, team, by)
    assessment_id = question.assessment.id
    for _ in range(question.total):  # every question of the workspace's models
        capability_id = question.capability.id
        value = Answer(answers.get(capability_id, Answer.NO))
        outcome = assessments.answer(
            session, team.workspace_id, assessment_id, capability_id, value.value, by
        )
        if outcome.finished is not None:
            break
        question = outcome.question
    else:  # pragma: no cover - the checklist always ends
        raise RuntimeError(f"the assessment of {team.name} did not finish")
    finished = outcome.finished
    change = finished.level_change
    if change is not None and not (announce and record_level_change):
        session.execute(
            delete(Delivery).where(
                Delivery.workspace_id == team.workspace_id,
                Delivery.idempotency_key.like(f"level:{change.id}:%"),
            )
        )
    if change is not None and not record_level_change:
        session.delete(change)
        finished.level_change = None
    if at is not None:
        _backdate(session, finished, at)
    session.flush()
    return finished


def seed_finished_assessments(
    session: Session,
    plan: Iterable[tuple[Team, Mapping[str, Answer | str]]],
    *,
    by: str,
    at: datetime | None = None,
) -> None:
    """`seed_finished_assessment` for many teams at once, without level changes.

    The first team of each distinct set of answers is assessed through the service; every
    other team with the same answers gets a copy of the rows that run wrote (the
    assessment, its answers, the team's level and last assessment), so a benchmark's
    thousand teams hold exactly what the service would have written, in seconds. No level
    change is recorded: the teams stand at their levels without having moved.
    """
    groups: dict[frozenset, list[Team]] = {}
    for team, answers in plan:
        key = frozenset((cid, Answer(value)) for cid, value in answers.items())
        groups.setdefault(key, []).append(team)
    for key, (first, *others) in groups.items():
        finished = seed_finished_assessment(
            session, first, dict(key), by=by, at=at, record_level_change=False
        )
        if others:
            _copy_run(session, finished, others)
    session.flush()


def _copy_run(session: Session, finished: assessments.Finished, teams: list[Team]) -> None:
    template, source = finished.assessment, finished.team
    records = list(
        session.scalars(select(AnswerRecord).where(AnswerRecord.assessment_id == template.id))
    )
    runs = [
        Assessment(**_columns(template, team_id=team.id, workspace_id=team.workspace_id))
        for team in teams
    ]
    session.add_all(runs)
    for team in teams:
        team.level = source.level
        team.last_assessed_at = source.last_assessed_at
        team.last_assessed_by = source.last_assessed_by
    session.flush()
    session.execute(
        insert(AnswerRecord),
        [
            _columns(
                record,
                team_id=run.team_id,
                workspace_id=run.workspace_id,
                assessment_id=run.id,
            )
            for run in runs
            for record in records
        ],
    )


def _columns(row: object, **changes: object) -> dict[str, object]:
    """A row's column values but its primary key, with `changes` applied."""
    mapper = row.__mapper__  # type: ignore[attr-defined]
    values = {c.key: getattr(row, c.key) for c in mapper.column_attrs if c.key != "id"}
    return values | changes


def _backdate(session: Session, finished: assessments.Finished, at: datetime) -> None:
    records = session.scalars(
        select(AnswerRecord)
        .where(AnswerRecord.assessment_id == finished.assessment.id)
        .order_by(AnswerRecord.id.desc())
    )
    offset = 0
    for offset, record in enumerate(records, start=1):
        record.answered_at = at - timedelta(minutes=offset)
    finished.assessment.started_at = at - timedelta(minutes=offset + 1)
    finished.assessment.completed_at = at
    finished.team.last_assessed_at = at
    if finished.level_change is not None:
        finished.level_change.changed_at = at
