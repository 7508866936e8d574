"""`--demo`: a dozen teams at different levels with some history, so the overview, the App
Home and the digest look like a real organisation from the first click.

Rows are written through the models, like the bot's own services would leave them: answers
are append-only per assessment, each team's `level` is what `compute_level` says of its
newest answers, and a `LevelChange` is recorded whenever a completed assessment moved the
level. Seeding is skipped when the workspace already has teams, so restarting with `--demo`
never duplicates anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import DEFAULT_CHECKLIST, Answer, compute_level
from bot.models import (
    AnswerRecord,
    Assessment,
    AssessmentStatus,
    Cadence,
    DigestSubscription,
    LevelChange,
    Team,
    TeamOwner,
    TeamReminder,
    Workspace,
)
from bot.sandbox.workspace import DIGEST_CHANNEL, TEAM_ID, TEAM_NAME, TIMEZONE
from bot.services.teams import name_key

_CODES = {"Y": Answer.YES, "P": Answer.PARTLY, "N": Answer.NO, "?": Answer.NOT_SURE}


@dataclass(frozen=True)
class DemoTeam:
    """A team and its assessments, oldest first: (days ago, one answer code per capability
    in asking order: Y yes, P partly, N no, ? not sure)."""

    name: str
    owner: str
    channel: str | None
    runs: tuple[tuple[int, str], ...]


DEMO_TEAMS: tuple[DemoTeam, ...] = (
    DemoTeam("Fraud ML", "U0GRACE", "C0FRAUD", ((120, "YYPPN NNNN"), (12, "YYYYY YPYY"))),
    DemoTeam(
        "Search Ranking",
        "U0ALAN",
        "C0SEARCH",
        ((300, "YPNNN NNNN"), (200, "YYYYY NNNN"), (20, "YYYYY YYYY")),
    ),
    DemoTeam("Recommendations", "U0GRACE", None, ((45, "YYYYY YYYY"),)),
    DemoTeam("Forecasting", "U0KATHERINE", "C0FORECAST", ((8, "YYYPN NNNN"),)),
    DemoTeam("Ads CTR", "U0ALAN", None, ((150, "YYYNN NNNN"), (60, "YYYYY PNNP"))),
    DemoTeam("Churn Prediction", "U0KATHERINE", None, ((130, "YPNNN NNNN"),)),
    DemoTeam("NLP Platform", "U0ADA", None, ((30, "YYYYY YYNP"),)),
    DemoTeam("Computer Vision", "U0ALAN", None, ((15, "PPNN? NNNN"),)),
    DemoTeam("Pricing", "U0GRACE", None, ((25, "YYYYP YYYY"),)),
    DemoTeam("Risk Scoring", "U0KATHERINE", None, ((100, "YYYYY NNNN"),)),
    DemoTeam("Support Assistant", "U0ADA", None, ((5, "Y?NNN NNNN"),)),
    DemoTeam("Growth Analytics", "U0GRACE", None, ((90, "YYYYY PNNN"), (3, "YYYYY YYYY"))),
)


def _answers(code: str) -> dict[str, Answer]:
    letters = code.replace(" ", "")
    ids = DEFAULT_CHECKLIST.ids
    if len(letters) != len(ids):
        raise ValueError(f"demo answers {code!r} must give one letter per capability")
    return {cid: _CODES[letter] for cid, letter in zip(ids, letters, strict=True)}


def _seed_team(session: Session, spec: DemoTeam, now: datetime) -> None:
    first_day = now - timedelta(days=spec.runs[0][0] + 7)
    team = Team(
        workspace_id=TEAM_ID,
        name=spec.name,
        name_key=name_key(spec.name),
        home_channel_id=spec.channel,
        created_by=spec.owner,
        created_at=first_day,
    )
    session.add(team)
    session.flush()
    session.add(
        TeamOwner(team_id=team.id, user_id=spec.owner, workspace_id=TEAM_ID, added_at=first_day)
    )
    session.add(
        TeamReminder(
            team_id=team.id,
            workspace_id=TEAM_ID,
            cadence=Cadence.WEEKLY,
            updated_by=spec.owner,
            updated_at=first_day,
        )
    )
    level: int | None = None
    for days_ago, code in spec.runs:
        answers = _answers(code)
        started = now - timedelta(days=days_ago, minutes=20)
        done = now - timedelta(days=days_ago)
        new_level = compute_level(answers)
        assessment = Assessment(
            workspace_id=TEAM_ID,
            team_id=team.id,
            started_by=spec.owner,
            started_at=started,
            completed_at=done,
            status=AssessmentStatus.COMPLETED,
            checklist_version=DEFAULT_CHECKLIST.version,
            position=len(answers),
            level=new_level,
        )
        session.add(assessment)
        session.flush()
        for offset, (capability_id, value) in enumerate(answers.items()):
            session.add(
                AnswerRecord(
                    workspace_id=TEAM_ID,
                    team_id=team.id,
                    assessment_id=assessment.id,
                    capability_id=capability_id,
                    value=value,
                    answered_by=spec.owner,
                    answered_at=started + timedelta(minutes=2 * offset),
                )
            )
        if new_level != level:
            session.add(
                LevelChange(
                    workspace_id=TEAM_ID,
                    team_id=team.id,
                    assessment_id=assessment.id,
                    from_level=level,
                    to_level=new_level,
                    changed_by=spec.owner,
                    changed_at=done,
                )
            )
        level = new_level
        team.level = new_level
        team.last_assessed_at = done
        team.last_assessed_by = spec.owner


def seed(session_factory: sessionmaker[Session], now: datetime) -> bool:
    """Write the demo organisation unless the sandbox workspace has teams; True if written."""
    with session_factory.begin() as session:
        if session.get(Workspace, TEAM_ID) is None:
            session.add(Workspace(id=TEAM_ID, name=TEAM_NAME, created_at=now - timedelta(days=400)))
            session.flush()
        existing = session.scalar(
            select(func.count()).select_from(Team).where(Team.workspace_id == TEAM_ID)
        )
        if existing:
            return False
        for spec in DEMO_TEAMS:
            _seed_team(session, spec, now)
        subscription = DigestSubscription(
            workspace_id=TEAM_ID,
            channel_id=DIGEST_CHANNEL,
            cadence=Cadence.WEEKLY,
            weekday=0,
            local_time="09:00",
            timezone=TIMEZONE,
            created_by="U0ADA",
            created_at=now - timedelta(days=60),
        )
        # The schedule counts from its last change: "changed" now means no catch-up digest
        # at start, so the first one arrives when the clock control jumps to Monday 09:00.
        if hasattr(DigestSubscription, "updated_at"):
            subscription.updated_at = now
        else:
            subscription.created_at = now
        session.add(subscription)
    return True
