"""Teams with a finished assessment, made the way a person makes them: through the service.

The sandbox's demo organisation, the tests and the benchmarks all need teams that have
already been assessed. Writing those rows by hand would copy the assessment service's rules
(append-only answers, the stored level, the level-change timeline) and drift from them;
`seed_finished_assessment` instead answers every question with
`bot.services.assessments`, so seeded data is exactly what the bot itself would have
written, and only moves the timestamps to the moment asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.domain import Answer
from bot.models import AnswerRecord, Delivery, Team
from bot.services import assessments


def seed_finished_assessment(
    session: Session,
    team: Team,
    answers: Mapping[str, Answer | str],
    *,
    by: str,
    at: datetime | None = None,
    announce: bool = False,
) -> assessments.Finished:
    """Run one whole assessment of `team` through the service; returns how it finished.

    `answers` maps capability ids to answers; a capability left out is answered "no". `at`
    backdates the run (its answers a minute apart before it, the completion, the team's
    last assessment and any level change at it), so history and staleness can be seeded.
    A seeded level change is history, not news: its announcements are dropped unless
    `announce`.
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
    if change is not None and not announce:
        session.execute(
            delete(Delivery).where(
                Delivery.workspace_id == team.workspace_id,
                Delivery.idempotency_key.like(f"level:{change.id}:%"),
            )
        )
    if at is not None:
        _backdate(session, finished, at)
    session.flush()
    return finished


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
