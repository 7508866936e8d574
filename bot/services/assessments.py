"""The assessment conversation: start or resume, answer, go back, keep the rest, finish.

Every click is one short transaction that locks the assessment row (FOR UPDATE on
PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), checks that the click is
for the question being asked, appends an answer and moves on. A click on anything else (an
earlier question, a finished or replaced assessment) records nothing and returns the
current state, so double clicks and stale messages are harmless.

Finishing makes the run's answers current, updates the team's level, and records a level
change with its announcements in the outbox, all in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import outbox
from bot.domain import Answer, Capability, Checklist
from bot.errors import COMMAND, NotFound, UserError
from bot.models import (
    AnswerRecord,
    Assessment,
    AssessmentStatus,
    LevelChange,
    Team,
    utcnow,
)
from bot.services import maturity
from bot.services import teams as team_service
from bot.services.channels import announcement_channels

NOTE_MAX = 2000


@dataclass
class Question:
    """What the conversation shows for one step."""

    assessment: Assessment
    team: Team
    capability: Capability
    index: int
    total: int
    previous: AnswerRecord | None  # the team's current answer from a finished assessment
    draft: AnswerRecord | None  # this run's answer, when the person went back
    can_keep_rest: bool
    model: maturity.ModelSet | None = None
    # The question before the checklist, "Does a model of this team serve users in
    # production?", shown with the first question of a full run until someone answers it.
    ask_purpose: bool = False


@dataclass
class Finished:
    """The outcome of a finished assessment, for the level card."""

    assessment: Assessment
    team: Team
    state: team_service.TeamState
    level_change: LevelChange | None


@dataclass
class Outcome:
    """The result of a click: the question to show next, or the finished assessment.

    `stale` says the click did not match the question being asked (nothing was recorded).
    """

    question: Question | None = None
    finished: Finished | None = None
    stale: bool = False
    notice: str | None = None


Models = Checklist | maturity.ModelSet


def _models(session: Session, workspace_id: str, checklist: Models | None) -> maturity.ModelSet:
    """The models to ask: the workspace's own unless a caller (a test) names one."""
    if checklist is None:
        return maturity.for_workspace(session, workspace_id)
    return checklist if isinstance(checklist, maturity.ModelSet) else maturity.ModelSet(checklist)


def _scope(assessment: Assessment, checklist: Models) -> list[str]:
    # A step re-asked before the workspace switched model may name a capability no installed
    # model has any more: it is skipped rather than asked.
    asked = [cid for cid in assessment.capability_ids or () if cid in checklist.ids]
    return asked or list(checklist.ids)


def _drafts(session: Session, assessment: Assessment) -> dict[str, AnswerRecord]:
    rows = session.scalars(
        select(AnswerRecord)
        .where(AnswerRecord.assessment_id == assessment.id)
        .order_by(AnswerRecord.id)
    )
    return {row.capability_id: row for row in rows}


def load(
    session: Session, workspace_id: str, assessment_id: int, *, lock: bool = False
) -> Assessment:
    """The assessment, scoped to the workspace; NotFound with what to do if it is gone."""
    query = select(Assessment).where(
        Assessment.id == assessment_id, Assessment.workspace_id == workspace_id
    )
    assessment = session.scalar(query.with_for_update() if lock else query)
    if assessment is None:
        raise NotFound(
            "That assessment no longer exists (its team may have been removed). "
            f"Start again with `{COMMAND} assess <team>`."
        )
    return assessment


def _lock(session: Session, workspace_id: str, assessment_id: int) -> Assessment:
    return load(session, workspace_id, assessment_id, lock=True)


def question_at(
    session: Session,
    assessment: Assessment,
    index: int | None = None,
    checklist: Checklist | maturity.ModelSet | None = None,
) -> Question:
    """The question at `index` (default: the assessment's position)."""
    checklist = _models(session, assessment.workspace_id, checklist)
    scope = _scope(assessment, checklist)
    index = assessment.position if index is None else index
    team = session.get(Team, assessment.team_id)
    current = team_service.current_answers(session, assessment.workspace_id, [team.id])[team.id]
    drafts = _drafts(session, assessment)
    capability_id = scope[index]
    remaining = [cid for cid in scope[index:] if cid not in drafts or cid == capability_id]
    return Question(
        assessment=assessment,
        team=team,
        capability=checklist.capability(capability_id),
        index=index,
        total=len(scope),
        previous=current.get(capability_id),
        draft=drafts.get(capability_id),
        can_keep_rest=bool(current) and all(cid in current for cid in remaining),
        model=checklist,
        ask_purpose=index == 0
        and assessment.capability_ids is None
        and team.purpose_set_at is None,
    )


def start_or_resume(
    session: Session,
    team: Team,
    user_id: str,
    *,
    capability_ids: list[str] | None = None,
    checklist: Checklist | maturity.ModelSet | None = None,
) -> tuple[Question, bool]:
    """Resume the team's assessment in progress, or start one; returns (question, resumed).

    A run started for a subset (a step marked done) replaces nothing: if a run is already in
    progress it is resumed, because at most one runs per team and its answers must not be
    lost.
    """
    checklist = _models(session, team.workspace_id, checklist)
    existing = _in_progress(session, team)
    if existing is not None:
        _rewind_to_first_unanswered(session, existing, checklist)
        return question_at(session, existing, checklist=checklist), True
    assessment = Assessment(
        workspace_id=team.workspace_id,
        team_id=team.id,
        started_by=user_id,
        checklist_version=checklist.ref,
        capability_ids=capability_ids,
        position=0,
        status=AssessmentStatus.IN_PROGRESS,
    )
    try:
        with session.begin_nested():
            session.add(assessment)
    except IntegrityError:  # someone started one at the same moment: share it
        existing = _in_progress(session, team)
        if existing is None:
            raise
        return question_at(session, existing, checklist=checklist), True
    return question_at(session, assessment, checklist=checklist), False


def _in_progress(session: Session, team: Team) -> Assessment | None:
    return session.scalar(
        select(Assessment)
        .where(Assessment.team_id == team.id, Assessment.status == AssessmentStatus.IN_PROGRESS)
        .with_for_update()
    )


def _rewind_to_first_unanswered(
    session: Session, assessment: Assessment, checklist: Checklist
) -> None:
    drafts = _drafts(session, assessment)
    for index, cid in enumerate(_scope(assessment, checklist)):
        if cid not in drafts:
            assessment.position = min(assessment.position, index)
            return


def answer(
    session: Session,
    workspace_id: str,
    assessment_id: int,
    capability_id: str,
    value: str,
    user_id: str,
    *,
    note: str | None = None,
    checklist: Checklist | maturity.ModelSet | None = None,
) -> Outcome:
    """Record one click on an answer button (or a note submitted with its answer)."""
    try:
        choice = Answer(value)
    except ValueError:
        raise UserError("That answer is not one I know; please use the buttons.") from None
    if note is not None:
        note = note.strip() or None
        if note and len(note) > NOTE_MAX:
            raise UserError(f"Notes can be at most {NOTE_MAX} characters.")
    checklist = _models(session, workspace_id, checklist)
    assessment, outcome = _lock_current(
        session, workspace_id, assessment_id, capability_id, checklist
    )
    if outcome is not None:
        return outcome
    session.add(
        AnswerRecord(
            workspace_id=workspace_id,
            team_id=assessment.team_id,
            assessment_id=assessment.id,
            capability_id=capability_id,
            value=choice,
            note=note,
            answered_by=user_id,
        )
    )
    assessment.position += 1
    session.flush()
    if assessment.position >= len(_scope(assessment, checklist)):
        return Outcome(finished=_finish(session, assessment, user_id, checklist))
    return Outcome(question=question_at(session, assessment, checklist=checklist))


def back(
    session: Session,
    workspace_id: str,
    assessment_id: int,
    capability_id: str,
    checklist: Checklist | maturity.ModelSet | None = None,
) -> Outcome:
    """Step back one question; answers stay, and answering again appends a newer one."""
    checklist = _models(session, workspace_id, checklist)
    assessment, outcome = _lock_current(
        session, workspace_id, assessment_id, capability_id, checklist
    )
    if outcome is not None:
        return outcome
    assessment.position = max(0, assessment.position - 1)
    return Outcome(question=question_at(session, assessment, checklist=checklist))


def keep_rest(
    session: Session,
    workspace_id: str,
    assessment_id: int,
    capability_id: str,
    user_id: str,
    checklist: Checklist | maturity.ModelSet | None = None,
) -> Outcome:
    """Keep the previous answers for every question not yet answered in this run, and finish."""
    checklist = _models(session, workspace_id, checklist)
    assessment, outcome = _lock_current(
        session, workspace_id, assessment_id, capability_id, checklist
    )
    if outcome is not None:
        return outcome
    current = team_service.current_answers(session, workspace_id, [assessment.team_id])[
        assessment.team_id
    ]
    drafts = _drafts(session, assessment)
    scope = _scope(assessment, checklist)
    remaining = [
        cid for cid in scope[assessment.position :] if cid not in drafts or cid == capability_id
    ]
    if not all(cid in current for cid in remaining):
        raise UserError("Some of the remaining questions have no earlier answer to keep.")
    for cid in remaining:
        previous = current[cid]
        session.add(
            AnswerRecord(
                workspace_id=workspace_id,
                team_id=assessment.team_id,
                assessment_id=assessment.id,
                capability_id=cid,
                value=previous.value,
                note=previous.note,
                answered_by=user_id,
            )
        )
    assessment.position = len(scope)
    session.flush()
    return Outcome(finished=_finish(session, assessment, user_id, checklist))


def _lock_current(
    session: Session,
    workspace_id: str,
    assessment_id: int,
    capability_id: str,
    checklist: Checklist,
) -> tuple[Assessment, Outcome | None]:
    """Lock the assessment; the outcome is set when the click is not for the current question."""
    assessment = _lock(session, workspace_id, assessment_id)
    return assessment, _check_current(session, assessment, capability_id, checklist)


def _check_current(
    session: Session, assessment: Assessment, capability_id: str, checklist: Checklist
) -> Outcome | None:
    """None when the click is for the question being asked; else the current state."""
    if assessment.status == AssessmentStatus.COMPLETED:
        team = session.get(Team, assessment.team_id)
        state = team_service.team_states(session, assessment.workspace_id, [team], checklist)[0]
        return Outcome(
            finished=Finished(assessment, team, state, None),
            stale=True,
            notice="This assessment is already finished; here is where the team stands.",
        )
    if assessment.status != AssessmentStatus.IN_PROGRESS:
        raise UserError(
            f"This assessment was replaced by a newer one. Run `{COMMAND} assess` to continue it."
        )
    scope = _scope(assessment, checklist)
    if assessment.position >= len(scope) or scope[assessment.position] != capability_id:
        return Outcome(
            question=question_at(session, assessment, checklist=checklist),
            stale=True,
            notice="That question was already answered; here is the current one.",
        )
    return None


def _finish(session: Session, assessment: Assessment, user_id: str, checklist: Models) -> Finished:
    now = utcnow()
    assessment.status = AssessmentStatus.COMPLETED
    assessment.completed_at = now
    session.flush()
    team = session.get(Team, assessment.team_id)
    state = team_service.team_states(session, team.workspace_id, [team], checklist)[0]
    assessment.level = state.report.level
    previous_level = team.level
    team.level = state.report.level
    team.last_assessed_at = now
    team.last_assessed_by = user_id
    change = None
    if previous_level != state.report.level:
        change = record_level_change(
            session,
            team,
            previous_level,
            state.report.level,
            user_id,
            assessment.id,
            model_ref=checklist.primary.ref if isinstance(checklist, maturity.ModelSet) else None,
        )
    return Finished(assessment, team, state, change)


def record_level_change(
    session: Session,
    team: Team,
    from_level: int | None,
    to_level: int,
    user_id: str,
    assessment_id: int | None,
    *,
    model_ref: str | None = None,
) -> LevelChange:
    """Record the change and enqueue its announcements in the same transaction.

    A team's first assessment is recorded (it starts the timeline) but only announced when
    it lands above L0: "Team X is at L0" is not news.
    """
    change = LevelChange(
        workspace_id=team.workspace_id,
        team_id=team.id,
        assessment_id=assessment_id,
        from_level=from_level,
        to_level=to_level,
        changed_by=user_id,
        model_ref=model_ref,
    )
    session.add(change)
    session.flush()
    if from_level is None and to_level == 0:
        return change
    for channel_id in announcement_channels(session, team):
        outbox.enqueue(
            session,
            workspace_id=team.workspace_id,
            key=f"level:{change.id}:{channel_id}",
            kind=outbox.DeliveryKind.LEVEL_CHANGE,
            channel_id=channel_id,
            payload={"level_change_id": change.id, "team_id": team.id},
        )
    return change
