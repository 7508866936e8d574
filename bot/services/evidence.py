"""Evidence for a team: the tools it connected, what they showed, and refreshing them.

What Slack calls (see docs/evidence.md for the contract):

- `connect_source` / `disconnect_source` / `sources_for_team`: one MLflow tracking server
  and one repository per team; connecting again replaces it. The URL must pass the
  operators' allow-list (bot.evidence.hosts), checked here without any network.
- `evidence_for_team` / `evidence_for_teams`: per capability, a `CapabilityEvidence`
  (state, one-line summary, details, when checked, limited), at a moment, against the
  team's current answers (for contradictions).
- `request_refresh`: at most once per REFRESH_COOLDOWN per team; it records the request
  and returns, and the worker reads the sources (never the web process).

What the worker calls: `record_findings` and `record_error` after reading a source.
Every query is scoped by the workspace id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain import DEFAULT_CHECKLIST, Answer, Checklist
from bot.domain.evidence import (
    STALE_AFTER,
    CapabilityEvidence,
    Fact,
    Finding,
    SourceKind,
    SourceStatus,
    evaluate_all,
)
from bot.errors import COMMAND, NotFound, UserError
from bot.evidence import hosts
from bot.models import EvidenceFact, EvidenceSource, Team, utcnow
from bot.mrkdwn import escape
from bot.services.teams import current_answers

REFRESH_COOLDOWN = timedelta(minutes=5)
"""A team may ask for a refresh at most this often (each one reads its tools again)."""

OPTION_MAX = 200
_PREFIX = re.compile(r"[^'\"\\\x00-\x1f]{1,200}")
_BRANCH = re.compile(r"[A-Za-z0-9._/+-]{1,200}")
_PATH = re.compile(r"[A-Za-z0-9._/ +-]{1,200}")

MLFLOW_OPTIONS = ("experiments", "models")
REPO_OPTIONS = ("branch", "path")


class RefreshTooSoon(UserError):
    """A refresh asked for within REFRESH_COOLDOWN of the last one; `retry_at` says when."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


def parse_kind(kind: str | SourceKind) -> SourceKind:
    """`mlflow` or `repo` (any case); UserError otherwise."""
    try:
        return SourceKind(str(kind).strip().lower())
    except ValueError:
        raise UserError(
            f"Evidence comes from `mlflow` or `repo`, not `{escape(str(kind))}`: e.g. "
            f"`{COMMAND} connect Fraud ML mlflow https://mlflow.example.com`."
        ) from None


def options_from_words(kind: str | SourceKind, words: Sequence[str]) -> dict[str, str]:
    """The options typed after the URL in `/mlops connect`.

    MLflow: `experiments=<prefix>` and `models=<prefix>`. Repository: `[branch] [path]`
    positionally, or `branch=...` and `path=...`. Raises UserError naming what is wrong.
    """
    kind = parse_kind(kind)
    names = MLFLOW_OPTIONS if kind is SourceKind.MLFLOW else REPO_OPTIONS
    options: dict[str, str] = {}
    positional = list(REPO_OPTIONS) if kind is SourceKind.REPO else []
    for word in words:
        key, eq, value = word.partition("=")
        if eq:
            if key.strip().lower() not in names:
                raise UserError(
                    f"`{escape(key)}` is not an option for {kind.label}: it takes "
                    + ", ".join(f"`{n}=...`" for n in names)
                    + "."
                )
            key = key.strip().lower()
        elif positional:
            key, value = positional.pop(0), word
        else:
            raise UserError(
                f"I don't know what `{escape(word)}` means here: {kind.label} takes "
                + ", ".join(f"`{n}=...`" for n in names)
                + "."
            )
        if key in positional:
            positional.remove(key)
        options[key] = value
    return clean_options(kind, options)


def clean_options(kind: SourceKind, options: Mapping[str, Any] | None) -> dict[str, str]:
    """Validated options for `kind`; UserError for an unknown key or a value out of shape."""
    options = dict(options or {})
    names = MLFLOW_OPTIONS if kind is SourceKind.MLFLOW else REPO_OPTIONS
    cleaned: dict[str, str] = {}
    for key, value in options.items():
        if key not in names:
            raise UserError(f"`{escape(str(key))}` is not an option for {kind.label}.")
        if value is None or str(value).strip() == "":
            continue
        value = str(value).strip()
        if key in MLFLOW_OPTIONS and not _PREFIX.fullmatch(value):
            raise UserError(
                f"`{key}=` takes a name prefix of up to {OPTION_MAX} characters, without quotes."
            )
        if key == "branch" and (
            not _BRANCH.fullmatch(value)
            or value.startswith(("-", "/", "."))
            or ".." in value
            or value.endswith((".lock", "/"))
        ):
            raise UserError(f"`{escape(value)}` is not a branch name Git accepts.")
        if key == "path":
            value = value.strip("/")
            if (
                not value
                or not _PATH.fullmatch(value)
                or any(part in ("", ".", "..") for part in value.split("/"))
            ):
                raise UserError(
                    f"`{escape(value)}` is not a folder in the repository: give a relative path "
                    "such as `services/fraud`, without `..`."
                )
        cleaned[key] = value
    return cleaned


def _source(session: Session, team: Team, kind: SourceKind) -> EvidenceSource | None:
    return session.scalar(
        select(EvidenceSource).where(
            EvidenceSource.workspace_id == team.workspace_id,
            EvidenceSource.team_id == team.id,
            EvidenceSource.kind == kind,
        )
    )


def connect_source(
    session: Session,
    settings: Settings,
    team: Team,
    kind: str | SourceKind,
    url: str,
    options: Mapping[str, Any] | None,
    actor: str,
    now: datetime | None = None,
) -> EvidenceSource:
    """Connect `team`'s MLflow or repository, replacing one of the same kind.

    Raises UserError (hosts.HostRefused) for a URL outside EVIDENCE_ALLOWED_HOSTS, with
    credentials in it, or of the wrong scheme; UserError for bad options. Nothing is
    contacted here: the source is marked for the worker to read soon, and the facts of a
    replaced source are deleted (they describe another URL). Permission is the caller's
    check (`permissions.check_may_manage_evidence`).
    """
    now = now or utcnow()
    kind = parse_kind(kind)
    target = hosts.parse(url, kind.value, settings)
    cleaned = clean_options(kind, options)
    source = _source(session, team, kind)
    if source is None:
        source = EvidenceSource(
            workspace_id=team.workspace_id, team_id=team.id, kind=kind, created_at=now
        )
        session.add(source)
    else:
        session.execute(delete(EvidenceFact).where(EvidenceFact.source_id == source.id))
    source.url = target.url
    source.options = cleaned
    source.created_by = actor
    source.created_at = now
    source.last_checked_at = None
    source.last_error = None
    source.last_head_commit = None
    source.next_check_at = now
    source.refresh_requested_at = now
    source.lease_until = None
    session.flush()
    return source


def disconnect_source(session: Session, team: Team, kind: str | SourceKind) -> None:
    """Forget `team`'s source of `kind` and its facts; NotFound if none is connected."""
    kind = parse_kind(kind)
    source = _source(session, team, kind)
    if source is None:
        raise NotFound(f"*{escape(team.name)}* has no {kind.label} connected.")
    session.execute(delete(EvidenceFact).where(EvidenceFact.source_id == source.id))
    session.delete(source)
    session.flush()


def sources_for_team(session: Session, team: Team) -> list[EvidenceSource]:
    """The team's connected sources, MLflow first."""
    sources = session.scalars(
        select(EvidenceSource).where(
            EvidenceSource.workspace_id == team.workspace_id, EvidenceSource.team_id == team.id
        )
    )
    return sorted(sources, key=lambda s: s.kind != SourceKind.MLFLOW)


def _status(source: EvidenceSource) -> SourceStatus:
    return SourceStatus(source.kind, source.url, source.last_checked_at, source.last_error)


def _fact(row: EvidenceFact, kind: SourceKind) -> Fact:
    return Fact(
        kind,
        row.capability_id,
        row.strength,
        row.summary,
        row.observed_at,
        row.expires_at,
        row.details or {},
    )


def evidence_for_teams(
    session: Session,
    workspace_id: str,
    teams: Iterable[Team],
    now: datetime | None = None,
    checklist: Checklist = DEFAULT_CHECKLIST,
) -> dict[int, dict[str, CapabilityEvidence]]:
    """`evidence_for_team` for many teams of one workspace, in three queries."""
    now = now or utcnow()
    teams = [t for t in teams if t.workspace_id == workspace_id]
    ids = [t.id for t in teams]
    if not ids:
        return {}
    sources: dict[int, list[EvidenceSource]] = {i: [] for i in ids}
    by_id: dict[int, EvidenceSource] = {}
    for source in session.scalars(
        select(EvidenceSource).where(
            EvidenceSource.workspace_id == workspace_id, EvidenceSource.team_id.in_(ids)
        )
    ):
        sources[source.team_id].append(source)
        by_id[source.id] = source
    facts: dict[int, list[Fact]] = {i: [] for i in ids}
    if by_id:
        for row in session.scalars(
            select(EvidenceFact).where(
                EvidenceFact.workspace_id == workspace_id,
                EvidenceFact.source_id.in_(list(by_id)),
            )
        ):
            source = by_id[row.source_id]
            facts[source.team_id].append(_fact(row, source.kind))
    answers = current_answers(session, workspace_id, ids)
    return {
        team_id: evaluate_all(
            facts[team_id],
            [_status(s) for s in sources[team_id]],
            now,
            {cid: record.value for cid, record in answers[team_id].items()},
            checklist,
        )
        for team_id in ids
    }


def evidence_for_team(
    session: Session,
    team: Team,
    now: datetime | None = None,
    answers: Mapping[str, Answer] | None = None,
    checklist: Checklist = DEFAULT_CHECKLIST,
) -> dict[str, CapabilityEvidence]:
    """Capability id -> CapabilityEvidence for `team` at `now`, in asking order.

    `answers` are the answers to weigh for contradictions; by default the team's current
    ones (finished assessments). Pass an assessment's answers so far to show evidence
    beside a question being answered.
    """
    now = now or utcnow()
    if answers is None:
        return evidence_for_teams(session, team.workspace_id, [team], now, checklist)[team.id]
    sources = sources_for_team(session, team)
    kinds = {s.id: s.kind for s in sources}
    rows = (
        session.scalars(
            select(EvidenceFact).where(
                EvidenceFact.workspace_id == team.workspace_id,
                EvidenceFact.source_id.in_(list(kinds)),
            )
        )
        if kinds
        else []
    )
    facts = [_fact(row, kinds[row.source_id]) for row in rows]
    return evaluate_all(facts, [_status(s) for s in sources], now, answers, checklist)


def request_refresh(session: Session, team: Team, now: datetime | None = None) -> datetime:
    """Ask the worker to read `team`'s sources again soon; returns the request's time.

    Raises NotFound when nothing is connected, and RefreshTooSoon (with `retry_at`) within
    REFRESH_COOLDOWN of the previous request. Only a timestamp is written: the web
    process never reads a source itself.
    """
    now = now or utcnow()
    sources = sources_for_team(session, team)
    if not sources:
        raise NotFound(
            f"*{escape(team.name)}* has no tools connected yet: "
            f"`{COMMAND} connect {escape(team.name)} mlflow &lt;url&gt;` or "
            "`... repo &lt;git-url&gt;`."
        )
    last = max((s.refresh_requested_at for s in sources if s.refresh_requested_at), default=None)
    if last is not None and now - last < REFRESH_COOLDOWN:
        retry_at = last + REFRESH_COOLDOWN
        minutes = max(1, int((retry_at - now).total_seconds() + 59) // 60)
        raise RefreshTooSoon(
            f"*{escape(team.name)}*'s tools were asked for a refresh less than "
            f"{int(REFRESH_COOLDOWN.total_seconds() // 60)} minutes ago; try again in "
            f"{minutes} min.",
            retry_at,
        )
    session.execute(
        update(EvidenceSource)
        .where(EvidenceSource.id.in_([s.id for s in sources]))
        .values(refresh_requested_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return now


def pending_refresh(source: EvidenceSource) -> bool:
    """A refresh was asked for after the source was last read."""
    return source.refresh_requested_at is not None and (
        source.last_checked_at is None or source.refresh_requested_at > source.last_checked_at
    )


# --- What the worker records ---------------------------------------------------------


def record_findings(
    session: Session,
    source: EvidenceSource,
    findings: Iterable[Finding],
    observed_at: datetime,
    *,
    head_commit: str | None = None,
) -> int:
    """Replace `source`'s facts with `findings`, observed at `observed_at`; returns how many.

    Facts expire STALE_AFTER after they were observed. The source's error is cleared.
    """
    session.execute(delete(EvidenceFact).where(EvidenceFact.source_id == source.id))
    count = 0
    for finding in findings:
        session.add(
            EvidenceFact(
                workspace_id=source.workspace_id,
                source_id=source.id,
                capability_id=finding.capability_id,
                strength=finding.strength,
                summary=finding.summary[:500],
                details=finding.details,
                observed_at=observed_at,
                expires_at=observed_at + STALE_AFTER,
            )
        )
        count += 1
    source.last_checked_at = observed_at
    source.last_error = None
    if head_commit is not None:
        source.last_head_commit = head_commit
    session.flush()
    return count


def record_unchanged(session: Session, source: EvidenceSource, observed_at: datetime) -> int:
    """The repository's head has not moved: its facts hold for another STALE_AFTER."""
    source.last_checked_at = observed_at
    source.last_error = None
    return session.execute(
        update(EvidenceFact)
        .where(EvidenceFact.source_id == source.id)
        .values(observed_at=observed_at, expires_at=observed_at + STALE_AFTER)
    ).rowcount


def record_error(
    session: Session, source: EvidenceSource, error: str, observed_at: datetime
) -> None:
    """The source could not be read: the error is kept (shown as unknown, never as "no");
    earlier facts stay until they expire."""
    source.last_checked_at = observed_at
    source.last_error = " ".join(str(error).split())[:500]
    session.flush()
