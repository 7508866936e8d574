"""Export: every answer and level change of a workspace (or one team), as CSV or JSON.

A platform lead takes the data elsewhere (a spreadsheet, a BI tool, an audit), so nothing is
summarised away: every answer row is kept, including those of runs in progress or abandoned,
with the assessment's status beside it so the reader can filter.

One CSV file holds both kinds of row, told apart by its first column `kind` (`answer` or
`level_change`); a single file is what both the Slack upload and `mlops-bot export --output`
hand over, and one sheet sorts and filters in any spreadsheet. The JSON form keeps the two
lists apart, because machines prefer a shape to a discriminator column.

Teams with a connected tool also get one `evidence` row per capability: what their tools say
now (`evidence_state`: verified, partial, not_found, contradiction or unknown, and
`evidence_summary`), beside the current answer, with an owner's reason in `note` where a
contradiction was dismissed. The source's address is not exported; no secret ever is.

Every query is scoped by the workspace id, on the rows and on the team they join to, so an
export can only ever contain the asking workspace's data.

Who may export what is EXPORT_PERMISSION (bot.services.permissions.exportable_teams): with
`owners` (the default) a person exports the teams they own, admins export everything; with
`admins` only admins export; with `everyone` any member exports any team. Notes are candid,
so an export holds only teams the asker may export; the operator's CLI (database access)
holds them all, and can leave the notes out (`--no-notes`) for a file meant to be passed on.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import Checklist
from bot.models import AnswerRecord, Assessment, LevelChange, Team, utcnow
from bot.services import evidence_view, maturity

CSV_COLUMNS = [
    "kind",
    "team",
    "purpose",
    "when",
    "who",
    "assessment_id",
    "assessment_status",
    "capability_id",
    "capability_title",
    "answer",
    "note",
    "from_level",
    "to_level",
    "model",
    "cause",
    "evidence_state",
    "evidence_summary",
]

# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection");
# tab and carriage return are in the list because some spreadsheets skip them before a
# formula. The apostrophe is in it so that neutralising stays reversible: any cell that starts
# with one of these gets exactly one extra "'" in front, which a reader simply drops.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


@dataclass(frozen=True)
class AnswerRow:
    team: str
    purpose: str  # the team's purpose now: production, research, proof_of_concept, single_use
    assessment_id: int | None
    assessment_status: str | None
    capability_id: str
    capability_title: str | None
    answer: str
    note: str | None
    answered_by: str
    answered_at: str
    model: str | None = None  # the models the assessment ran against ("google:default-1")


@dataclass(frozen=True)
class LevelRow:
    team: str
    purpose: str
    assessment_id: int | None
    from_level: int | None
    to_level: int
    changed_by: str
    changed_at: str
    model: str | None = None  # the model the level is in
    cause: str | None = None  # "model" when only the model changed; None for an assessment


@dataclass(frozen=True)
class EvidenceRow:
    """What a team's tools say about one capability at export time (teams with a connected
    tool only): verified, partial, not_found, contradiction or unknown."""

    team: str
    purpose: str
    capability_id: str
    capability_title: str | None
    answer: str | None
    evidence_state: str
    evidence_summary: str
    checked_at: str
    dismissed_reason: str | None


@dataclass(frozen=True)
class Export:
    """What one export contains: the answers and level changes, oldest first per team."""

    workspace_id: str
    team: str | None
    exported_at: str
    answers: list[AnswerRow]
    level_changes: list[LevelRow]
    owned_only: bool = False  # a workspace export limited to the asker's own teams
    evidence: list[EvidenceRow] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.answers and not self.level_changes and not self.evidence

    @property
    def team_count(self) -> int:
        return len({row.team for row in self.answers} | {row.team for row in self.level_changes})


def _iso(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else ""


def _title(checklist: Checklist | maturity.ModelSet, capability_id: str) -> str | None:
    try:
        return checklist.capability(capability_id).title
    except KeyError:  # answered under another checklist version: keep the row, leave it blank
        return None


def collect(
    session: Session,
    workspace_id: str,
    team: Team | None = None,
    *,
    team_ids: Collection[int] | None = None,
    notes: bool = True,
    checklist: Checklist | None = None,
) -> Export:
    """Every answer and level change of the workspace, or of `team` within it, or of the
    teams `team_ids` (what permissions.exportable_teams returned); `notes=False` leaves notes out.

    Two queries whatever the size. A team from another workspace yields nothing: the team's
    own workspace id is part of every condition.
    """
    if checklist is None:
        checklist = maturity.for_workspace(session, workspace_id)
    scope = [Team.workspace_id == workspace_id]
    if team is not None:
        scope.append(Team.id == team.id)
    if team_ids is not None:
        scope.append(Team.id.in_(list(team_ids)))
    answers = session.execute(
        select(
            AnswerRecord, Team.name, Team.purpose, Assessment.status, Assessment.checklist_version
        )
        .join(Team, Team.id == AnswerRecord.team_id)
        .outerjoin(
            Assessment,
            (Assessment.id == AnswerRecord.assessment_id)
            & (Assessment.workspace_id == workspace_id),
        )
        .where(AnswerRecord.workspace_id == workspace_id, *scope)
        .order_by(Team.name_key, Team.id, AnswerRecord.id)
    )
    answer_rows = [
        AnswerRow(
            team=name,
            purpose=str(purpose),
            assessment_id=record.assessment_id,
            assessment_status=str(status) if status is not None else None,
            capability_id=record.capability_id,
            capability_title=_title(checklist, record.capability_id),
            answer=str(record.value),
            note=record.note if notes else None,
            answered_by=record.answered_by,
            answered_at=_iso(record.answered_at),
            model=version,
        )
        for record, name, purpose, status, version in answers
    ]
    changes = session.execute(
        select(LevelChange, Team.name, Team.purpose)
        .join(Team, Team.id == LevelChange.team_id)
        .where(LevelChange.workspace_id == workspace_id, *scope)
        .order_by(Team.name_key, Team.id, LevelChange.id)
    )
    level_rows = [
        LevelRow(
            team=name,
            purpose=str(purpose),
            assessment_id=change.assessment_id,
            from_level=change.from_level,
            to_level=change.to_level,
            changed_by=change.changed_by,
            changed_at=_iso(change.changed_at),
            model=change.model_ref,
            cause=change.cause,
        )
        for change, name, purpose in changes
    ]
    now = utcnow()
    teams = list(session.scalars(select(Team).where(*scope).order_by(Team.name_key, Team.id)))
    evidence_rows = [
        EvidenceRow(
            team=shown.name,
            purpose=str(shown.purpose),
            capability_id=row.capability.id,
            capability_title=row.capability.title,
            answer=str(row.answer.value) if row.answer is not None else None,
            evidence_state=str(row.state),
            evidence_summary=row.evidence.summary,
            checked_at=_iso(row.evidence.checked_at),
            dismissed_reason=(row.dismissal.reason if row.dismissal and notes else None),
        )
        for shown, view in evidence_view.states_for_export(session, workspace_id, teams, now)
        for row in view.rows
    ]
    return Export(
        workspace_id=workspace_id,
        team=team.name if team is not None else None,
        exported_at=_iso(now),
        answers=answer_rows,
        level_changes=level_rows,
        owned_only=team is None and team_ids is not None,
        evidence=evidence_rows,
    )


def neutralise(cell: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (see FORMULA_TRIGGERS)."""
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


def _level(level: int | None) -> str:
    return "" if level is None else f"L{level}"


def csv_rows(data: Export) -> list[list[str]]:
    """The CSV's rows after the header, every cell already neutralised."""
    rows: list[list[str]] = []
    for a in data.answers:
        rows.append(
            [
                "answer",
                a.team,
                a.purpose,
                a.answered_at,
                a.answered_by,
                "" if a.assessment_id is None else str(a.assessment_id),
                a.assessment_status or "",
                a.capability_id,
                a.capability_title or "",
                a.answer,
                a.note or "",
                "",
                "",
                a.model or "",
                "",
                "",
                "",
            ]
        )
    for c in data.level_changes:
        rows.append(
            [
                "level_change",
                c.team,
                c.purpose,
                c.changed_at,
                c.changed_by,
                "" if c.assessment_id is None else str(c.assessment_id),
                "",
                "",
                "",
                "",
                "",
                _level(c.from_level),
                _level(c.to_level),
                c.model or "",
                c.cause or "",
                "",
                "",
            ]
        )
    for e in data.evidence:
        rows.append(
            [
                "evidence",
                e.team,
                e.purpose,
                e.checked_at,
                "",
                "",
                "",
                e.capability_id,
                e.capability_title or "",
                e.answer or "",
                e.dismissed_reason or "",
                "",
                "",
                "",
                "",
                e.evidence_state,
                e.evidence_summary,
            ]
        )
    return [[neutralise(cell) for cell in row] for row in rows]


def to_csv(data: Export) -> str:
    """RFC 4180 CSV (CRLF, quoted where needed): answers first, then level changes.

    Returned as text; whoever writes it to a file adds the UTF-8 byte order mark
    (`encode_csv`) so Excel reads non-ASCII names correctly.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(data))
    return buffer.getvalue()


def encode_csv(text: str) -> bytes:
    """UTF-8 with a byte order mark: without it Excel guesses a legacy code page."""
    return text.encode("utf-8-sig")


def to_json(data: Export) -> str:
    """The same data as one JSON document: levels as numbers, text exactly as entered."""
    document = {
        "workspace_id": data.workspace_id,
        "team": data.team,
        "exported_at": data.exported_at,
        "answers": [asdict(row) for row in data.answers],
        "level_changes": [asdict(row) for row in data.level_changes],
        "evidence": [asdict(row) for row in data.evidence],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def filename(data: Export, extension: str = "csv") -> str:
    """`mlops-maturity-<team or workspace>-<date>.csv`, safe on every file system."""
    subject = data.team or data.workspace_id
    slug = re.sub(r"[^a-z0-9]+", "-", subject.lower()).strip("-")[:40] or "team"
    return f"mlops-maturity-{slug}-{data.exported_at[:10]}.{extension}"
