"""A team's history: its level timeline, its purpose's changes, the answers that changed
between finished runs, and the contradictions owners dismissed, with their reasons.

Three queries whatever the number of runs: `/mlops history` reads the same rows the export
does, and shows at most HISTORY_EDITS answer changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import Answer
from bot.models import (
    AnswerRecord,
    Assessment,
    AssessmentStatus,
    EvidenceDismissal,
    LevelChange,
    PurposeChange,
    Team,
)
from bot.services import maturity, purposes

HISTORY_EDITS = 30
HISTORY_DISMISSALS = 10


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
    purposes: list[PurposeChange]
    model: maturity.ModelSet | None = None
    dismissals: list[EvidenceDismissal] = field(default_factory=list)


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
    dismissals = list(
        session.scalars(
            select(EvidenceDismissal)
            .where(
                EvidenceDismissal.team_id == team.id,
                EvidenceDismissal.workspace_id == team.workspace_id,
            )
            .order_by(EvidenceDismissal.id.desc())
            .limit(HISTORY_DISMISSALS)
        )
    )
    return History(
        team,
        changes,
        edits[:HISTORY_EDITS],
        max(0, len(edits) - HISTORY_EDITS),
        purposes.changes(session, team),
        maturity.for_workspace(session, team.workspace_id),
        dismissals,
    )
