"""What people see of the evidence in Slack: per capability the answer beside what the tools
say, the level two ways, contradictions and their dismissals, the digest's line.

The evidence itself (sources, facts, states, the verified level) is the evidence core's
(bot.services.evidence, bot.domain.evidence); this module only puts it beside the team's
answers and the owners' dismissals, in the shape the templates show. A dismissal answers one
answer: while that answer is current its contradiction shows as dismissed with the reason,
and is not counted; a new answer is judged afresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain import DEFAULT_CHECKLIST, Capability, Checklist
from bot.domain.evidence import CapabilityEvidence, EvidenceState, evaluate_all, verified_level
from bot.errors import COMMAND, NotFound, UserError
from bot.models import (
    AnswerRecord,
    EvidenceDismissal,
    EvidenceFact,
    EvidenceSource,
    Team,
    utcnow,
)
from bot.services import evidence as core
from bot.services.teams import TeamState, team_states

REASON_MAX = 500
FACTS_PER_ROW = 4
LINK_MAX = 400  # longer links are shown as text: a row must fit one section


@dataclass(frozen=True)
class FactLine:
    """One fact behind a state, as a person reads it: text, and a link when there is one."""

    text: str
    link: str | None = None


@dataclass(frozen=True)
class EvidenceRow:
    """One capability: the team's answer, what the tools say, and an owner's dismissal."""

    capability: Capability
    answer: AnswerRecord | None
    evidence: CapabilityEvidence
    facts: tuple[FactLine, ...]
    dismissal: EvidenceDismissal | None = None

    @property
    def state(self) -> EvidenceState:
        return self.evidence.state

    @property
    def open_contradiction(self) -> bool:
        return self.evidence.state == EvidenceState.CONTRADICTION and self.dismissal is None


@dataclass(frozen=True)
class SourceLine:
    kind: str
    label: str
    url: str
    options: dict[str, Any]
    last_checked_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class TeamEvidence:
    """Everything `/mlops evidence` and the level card show of a team's evidence."""

    team: Team
    sources: tuple[SourceLine, ...]
    rows: tuple[EvidenceRow, ...]
    answered_level: int | None  # None: not assessed yet
    verified_level: int
    now: datetime
    # The evidence speaks for the default model's capabilities; under another primary model
    # the two levels are not on one scale, so only the badges are shown.
    comparable: bool = True

    @property
    def connected(self) -> bool:
        return bool(self.sources)

    @property
    def contradictions(self) -> list[EvidenceRow]:
        return [row for row in self.rows if row.open_contradiction]

    def row(self, capability_id: str) -> EvidenceRow | None:
        return next((row for row in self.rows if row.capability.id == capability_id), None)


def _source_line(source: EvidenceSource) -> SourceLine:
    return SourceLine(
        kind=str(source.kind),
        label=source.kind.label,
        url=source.url,
        options=dict(source.options or {}),
        last_checked_at=source.last_checked_at,
        last_error=source.last_error,
    )


def _dismissals(
    session: Session, workspace_id: str, answer_ids: Iterable[int]
) -> dict[int, EvidenceDismissal]:
    ids = [i for i in answer_ids if i is not None]
    if not ids:
        return {}
    rows = session.scalars(
        select(EvidenceDismissal)
        .where(EvidenceDismissal.workspace_id == workspace_id, EvidenceDismissal.answer_id.in_(ids))
        .order_by(EvidenceDismissal.id)
    )
    return {row.answer_id: row for row in rows}


def _count(number: Any, word: str) -> str:
    """ "1 run", "142 runs": a count in its own number."""
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def safe_link(url: Any) -> str | None:
    """An http(s) link Slack can show as `<link|text>`, or None: nothing that could break
    the markup or smuggle credentials into a message."""
    if not isinstance(url, str) or len(url) > LINK_MAX:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None
    if any(ch in url for ch in "<>| \t\r\n"):
        return None
    return url


def fact_lines(evidence: CapabilityEvidence, limit: int = FACTS_PER_ROW) -> tuple[FactLine, ...]:
    """The numbers, files and links behind a state, strongest source first.

    Details come from the core's facts (docs/evidence.md): each has its source's summary; a
    repository's names the files it saw (`signals`: path, line, what, link at the commit),
    MLflow's its server (`url`), the experiments with runs and the registered models, each
    with a link into MLflow's own pages.
    """
    lines: list[FactLine] = []
    for detail in evidence.details:
        summary = str(detail.get("summary") or "")
        if summary and summary != evidence.summary:
            lines.append(FactLine(summary))
        commit = str(detail.get("commit") or "")[:10]
        for signal in detail.get("signals") or []:
            if not isinstance(signal, Mapping):
                continue
            where = str(signal.get("path") or "")
            if signal.get("line"):
                where += f":{signal['line']}"
            text = f"{signal.get('what', '')} in {where}" + (f" @ {commit}" if commit else "")
            lines.append(FactLine(text, safe_link(signal.get("link"))))
        linked = False
        for experiment in (detail.get("experiments_with_runs") or [])[:3]:
            if isinstance(experiment, Mapping):
                link = safe_link(experiment.get("link"))
                linked = linked or link is not None
                runs = experiment.get("runs", "?")
                lines.append(
                    FactLine(
                        f"experiment {experiment.get('name', '?')}: {_count(runs, 'run')}", link
                    )
                )
            elif isinstance(experiment, str):
                lines.append(FactLine(f"experiment {experiment}"))
        for model in (detail.get("models") or [])[:3]:
            if isinstance(model, Mapping) and model.get("name"):
                aliases = ", ".join(str(a) for a in model.get("aliases") or [])
                link = safe_link(model.get("link"))
                linked = linked or link is not None
                text = f"model {model['name']}: {_count(model.get('versions', 0), 'version')}"
                lines.append(FactLine(text + (f", aliases {aliases}" if aliases else ""), link))
        if not linked and detail.get("source") == "mlflow" and safe_link(detail.get("url")):
            lines.append(FactLine("open MLflow", safe_link(detail.get("url"))))
    unique = list(dict.fromkeys(lines))
    return tuple(unique[:limit])


def team_evidence(
    session: Session,
    state: TeamState,
    *,
    now: datetime | None = None,
    checklist: Checklist = DEFAULT_CHECKLIST,
) -> TeamEvidence:
    """The team's evidence beside its current answers (those of finished runs).

    A team with nothing connected costs one query: every capability is unknown then, and
    there is no contradiction to look up dismissals for.
    """
    now = now or utcnow()
    team = state.team
    sources = core.sources_for_team(session, team)
    if sources:
        evidence = core.evidence_for_team(session, team, now=now, answers=state.values)
        dismissals = _dismissals(
            session, team.workspace_id, [record.id for record in state.answers.values()]
        )
    else:
        evidence = evaluate_all([], [], now, state.values, checklist)
        dismissals = {}
    rows = []
    for capability in checklist.capabilities:
        record = state.answers.get(capability.id)
        item = evidence[capability.id]
        dismissal = dismissals.get(record.id) if record is not None else None
        if dismissal is not None and dismissal.capability_id != capability.id:
            dismissal = None
        rows.append(EvidenceRow(capability, record, item, fact_lines(item), dismissal))
    return TeamEvidence(
        team=team,
        sources=tuple(_source_line(source) for source in sources),
        rows=tuple(rows),
        answered_level=state.report.level if state.answers else None,
        verified_level=verified_level(evidence, checklist),
        now=now,
        comparable=state.model is None or state.model.primary.name == checklist.name,
    )


def evidence_for(session: Session, workspace_id: str, team: Team) -> TeamEvidence:
    return team_evidence(session, team_states(session, workspace_id, [team])[0])


def question_evidence(
    session: Session, team: Team, capability_id: str, *, now: datetime | None = None
) -> CapabilityEvidence | None:
    """What the tools say about the capability a question asks, before it is answered: None
    when the team has connected nothing (then there is nothing to show)."""
    if not core.sources_for_team(session, team):
        return None
    evidence = core.evidence_for_team(session, team, now=now or utcnow(), answers={})
    return evidence.get(capability_id)


# --------------------------------------------------------------------------- dismissals


def check_reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise UserError("Please say why the tools are wrong here, so others can see it.")
    if len(text) > REASON_MAX:
        raise UserError(
            f"A reason can be at most {REASON_MAX} characters; that one has {len(text)}."
        )
    return text


def dismiss(
    session: Session, team: Team, capability_id: str, reason: str, user_id: str
) -> EvidenceDismissal:
    """Record an owner's reason that the contradiction on `capability_id` is not one.

    Refused (nothing written) when there is no open contradiction there any more: the
    evidence or the answer may have changed since the button was shown.
    """
    reason = check_reason(reason)
    try:
        title = DEFAULT_CHECKLIST.capability(capability_id).title
    except KeyError:
        raise UserError("That capability is not one I know; please use a fresh message.") from None
    view = evidence_for(session, team.workspace_id, team)
    row = view.row(capability_id)
    if row is None or row.answer is None or row.state != EvidenceState.CONTRADICTION:
        raise NotFound(
            f"*{title}* has no contradiction to dismiss any more: the answer or the evidence "
            f"changed. `{COMMAND} evidence` shows the current state."
        )
    if row.dismissal is not None:
        return row.dismissal
    dismissal = EvidenceDismissal(
        workspace_id=team.workspace_id,
        team_id=team.id,
        capability_id=capability_id,
        answer_id=row.answer.id,
        summary=row.evidence.summary[:1000],
        reason=reason,
        dismissed_by=user_id,
    )
    session.add(dismissal)
    session.flush()
    return dismissal


# --------------------------------------------------------------------------- the digest


@dataclass(frozen=True)
class EvidenceTotals:
    """The digest's line: teams whose tools verify a level, answers the tools contradict."""

    connected_teams: int
    verified_teams: int
    contradictions: int


def totals(
    session: Session, workspace_id: str, states: Sequence[TeamState], now: datetime
) -> EvidenceTotals:
    """Over the teams with a connected source; a team counts as verified when its tools
    verify at least its first level. A few queries whatever the number of teams."""
    connected = set(
        session.scalars(
            select(EvidenceSource.team_id).where(EvidenceSource.workspace_id == workspace_id)
        )
    )
    chosen = [state for state in states if state.team.id in connected]
    if not chosen:
        return EvidenceTotals(0, 0, 0)
    evidence = core.evidence_for_teams(session, workspace_id, [s.team for s in chosen], now)
    answer_ids = [record.id for state in chosen for record in state.answers.values()]
    dismissed = _dismissals(session, workspace_id, answer_ids)
    verified = contradictions = 0
    for state in chosen:
        items = evidence[state.team.id]
        verified += verified_level(items) >= 1
        for capability_id, item in items.items():
            record = state.answers.get(capability_id)
            if item.state == EvidenceState.CONTRADICTION and not (
                record is not None and record.id in dismissed
            ):
                contradictions += 1
    return EvidenceTotals(len(chosen), verified, contradictions)


def fingerprint(session: Session, workspace_id: str) -> tuple:
    """Changes whenever a source is read again or a contradiction dismissed (facts are
    replaced on each read, so their newest id moves)."""
    facts = session.scalar(
        select(func.max(EvidenceFact.id)).where(EvidenceFact.workspace_id == workspace_id)
    )
    dismissals = session.scalar(
        select(func.max(EvidenceDismissal.id)).where(EvidenceDismissal.workspace_id == workspace_id)
    )
    return (facts, dismissals)


def states_for_export(
    session: Session, workspace_id: str, teams: Sequence[Team], now: datetime
) -> list[tuple[Team, TeamEvidence]]:
    """Each team with a connected source and its evidence, for the export."""
    connected = set(
        session.scalars(
            select(EvidenceSource.team_id).where(EvidenceSource.workspace_id == workspace_id)
        )
    )
    chosen = [team for team in teams if team.id in connected]
    return [
        (state.team, team_evidence(session, state, now=now))
        for state in team_states(session, workspace_id, chosen)
    ]
