"""`--demo`: a dozen teams at different levels with some history, so the overview, the App
Home and the digest look like a real organisation from the first click; three of them have a
local Git repository connected, so `/mlops evidence` shows what the bot found there. It runs
Google's model; as Ada (an admin) `/mlops model` switches to Microsoft's, keeping every answer.
Two of them are not in production (a research team and a proof of concept), so the digest
counts them apart.

Every assessment is run through the assessment service (`bot.sandbox.seed`), so answers,
stored levels and the level-change timeline are exactly what the bot itself writes; only
the dates are moved into the past. Seeding is skipped when the workspace already has teams,
so restarting with `--demo` never duplicates anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.domain import DEFAULT_CHECKLIST, Answer, Purpose
from bot.models import (
    Cadence,
    DigestSubscription,
    PurposeChange,
    Team,
    TeamReminder,
    Workspace,
)
from bot.sandbox.demo_repos import make_repositories
from bot.sandbox.seed import seed_finished_assessment
from bot.sandbox.workspace import DIGEST_CHANNEL, TEAM_ID, TEAM_NAME, TIMEZONE
from bot.services import evidence
from bot.services.purposes import set_purpose
from bot.services.teams import create_team, find_team

_CODES = {"Y": Answer.YES, "P": Answer.PARTLY, "N": Answer.NO, "?": Answer.NOT_SURE}


@dataclass(frozen=True)
class DemoTeam:
    """A team and its assessments, oldest first: (days ago, one answer code per capability
    in asking order: Y yes, P partly, N no, ? not sure)."""

    name: str
    owner: str
    channel: str | None
    runs: tuple[tuple[int, str], ...]
    purpose: Purpose = Purpose.PRODUCTION


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
    DemoTeam("Computer Vision", "U0ALAN", None, ((15, "PPNN? NNNN"),), Purpose.RESEARCH),
    DemoTeam("Pricing", "U0GRACE", None, ((25, "YYYYP YYYY"),)),
    DemoTeam("Risk Scoring", "U0KATHERINE", None, ((100, "YYYYY NNNN"),)),
    DemoTeam("Support Assistant", "U0ADA", None, ((5, "Y?NNN NNNN"),), Purpose.PROOF_OF_CONCEPT),
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
    team = create_team(session, TEAM_ID, spec.name, spec.owner)
    team.created_at = first_day
    for owner in team.owners:
        owner.added_at = first_day
    reminder = session.get(TeamReminder, team.id)
    reminder.cadence, reminder.updated_by, reminder.updated_at = (
        Cadence.WEEKLY,
        spec.owner,
        first_day,
    )
    for days_ago, code in spec.runs:
        seed_finished_assessment(
            session, team, _answers(code), by=spec.owner, at=now - timedelta(days=days_ago)
        )
    set_purpose(session, team, spec.purpose, spec.owner)
    for change in session.scalars(select(PurposeChange).where(PurposeChange.team_id == team.id)):
        change.changed_at = first_day
    team.purpose_set_at = first_day
    # The home channel comes last: the demo's history is not announced there at start.
    team.home_channel_id = spec.channel


def _connect_repositories(session: Session, settings: Settings, repos_dir: Path) -> None:
    for name, url in make_repositories(repos_dir).items():
        team = find_team(session, TEAM_ID, name)
        owner = team.owners[0].user_id
        evidence.connect_source(session, settings, team, "repo", url, {}, owner)


def seed(
    session_factory: sessionmaker[Session],
    now: datetime,
    *,
    settings: Settings | None = None,
    repos_dir: Path | None = None,
) -> bool:
    """Write the demo organisation unless the sandbox workspace has teams; True if written.

    With `settings` (allowing file:// URLs) and `repos_dir`, some teams also get a local Git
    repository connected for evidence (bot.sandbox.demo_repos), for the worker to read.
    """
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
        if settings is not None and repos_dir is not None:
            _connect_repositories(session, settings, repos_dir)
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
