"""Evidence: what a team's own tools say about each capability, as plain Python.

Facts are gathered per source (an MLflow tracking server, a Git repository) by
`bot.evidence` and stored with when they were observed and when they expire. The checks
here are pure functions over those facts, so every rule can be tested without network or
database:

- `mlflow_findings` and `repo_findings` turn what a source showed into one `Finding` per
  capability that source can speak for: a strength (strong, weak or none), a one-line
  summary a person reads in Slack, and the details behind it (numbers, file paths, links).
  A finding of strength "none" is a real observation ("looked, found nothing"), stored
  like any other; a source that could not be read yields no finding at all.
- `evaluate` combines a capability's stored facts with the team's answer at a moment:
  verified, partial, not found, contradiction, or unknown. Could-not-look is never "No":
  no source, an unreachable one, and facts older than `STALE_AFTER` are all unknown.
- `verified_level`: a level counts as verified only when all its capabilities are.

Feature store, drift monitoring and A/B testing are "limited evidence" until their
detectors prove reliable: shown with that label, and never a contradiction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.domain import DEFAULT_CHECKLIST, Answer, Checklist

__all__ = [
    "AUTHORITATIVE",
    "LIMITED",
    "RUN_WINDOW_DAYS",
    "STALE_AFTER",
    "CapabilityEvidence",
    "EvidenceState",
    "Fact",
    "Finding",
    "Signal",
    "SourceKind",
    "SourceStatus",
    "Strength",
    "evaluate",
    "evaluate_all",
    "mlflow_findings",
    "repo_findings",
    "suggested_answer",
    "verified_level",
]

STALE_AFTER = timedelta(days=7)
"""Facts older than this say nothing any more: the capability is unknown until checked."""

RUN_WINDOW_DAYS = 30
"""MLflow runs started within this many days show experiment tracking is in use."""

LIMITED = frozenset({"feature_store", "drift_monitoring", "ab_testing"})
"""Capabilities whose detectors are not yet proven: "limited evidence", never a contradiction."""


class SourceKind(StrEnum):
    """Where evidence comes from. Stored by value: part of the database and command format."""

    MLFLOW = "mlflow"
    REPO = "repo"

    @property
    def label(self) -> str:
        return "MLflow" if self is SourceKind.MLFLOW else "Repository"


MLFLOW_CAPABILITIES = ("experiment_tracking", "model_registry")
"""What an MLflow tracking server can speak for."""

REPO_CAPABILITIES = (
    "data_versioning",
    "experiment_tracking",
    "model_registry",
    "automated_training",
    "feature_store",
    "cicd",
    "ab_testing",
    "automated_retraining",
    "drift_monitoring",
)
"""What a repository can speak for (everything, the last three with limited evidence)."""

AUTHORITATIVE = frozenset(
    {
        (SourceKind.MLFLOW, "experiment_tracking"),
        (SourceKind.MLFLOW, "model_registry"),
    }
)
"""(source, capability) pairs where finding nothing contradicts a Yes.

A team that connects its MLflow says "this is where we track and register": no run in 30
days and no registered model there is a fact about the team. A repository is one of many a
team may have, so nothing missing from it contradicts anyone; it only ever adds evidence.
"""


class EvidenceState(StrEnum):
    """What the tools say about one capability. Stored and sent by value."""

    VERIFIED = "verified"
    PARTIAL = "partial"
    NOT_FOUND = "not_found"
    CONTRADICTION = "contradiction"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


class Strength(StrEnum):
    """How much one source's observation says for a capability."""

    STRONG = "strong"
    WEAK = "weak"
    NONE = "none"


_RANK = {Strength.STRONG: 2, Strength.WEAK: 1, Strength.NONE: 0}


@dataclass(frozen=True)
class Finding:
    """What one source shows for one capability, ready to be stored as a fact."""

    capability_id: str
    strength: Strength
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Signal:
    """One thing a repository detector saw: a file, a line, what it means."""

    capability_id: str
    strength: Strength
    what: str
    path: str
    line: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"what": self.what, "path": self.path, "strength": self.strength}
        if self.line is not None:
            data["line"] = self.line
        return data


@dataclass(frozen=True)
class Fact:
    """A stored finding, as `evaluate` needs it (built from an `evidence_facts` row)."""

    source_kind: SourceKind
    capability_id: str
    strength: Strength
    summary: str
    observed_at: datetime
    expires_at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)

    def fresh(self, now: datetime) -> bool:
        return self.expires_at > now


@dataclass(frozen=True)
class SourceStatus:
    """A connected source, as `evaluate` needs it: when it was last read, and how."""

    kind: SourceKind
    url: str
    last_checked_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class CapabilityEvidence:
    """The evidence for one capability of one team, as every surface shows it.

    `summary` is one line ("MLflow: 142 runs in 30 days across 3 experiments");
    `details` holds each fresh fact's summary, source and details (numbers, paths, links),
    strongest first; `checked_at` is when the newest fact used was observed (None when
    nothing fresh is known); `limited` marks capabilities with limited evidence.
    """

    capability_id: str
    state: EvidenceState
    summary: str
    details: tuple[Mapping[str, Any], ...] = ()
    checked_at: datetime | None = None
    limited: bool = False

    @property
    def suggests(self) -> Answer | None:
        return suggested_answer(self.state)


def suggested_answer(state: EvidenceState) -> Answer | None:
    """The answer the evidence points to ("this suggests Yes"), or None when it says nothing."""
    return {
        EvidenceState.VERIFIED: Answer.YES,
        EvidenceState.PARTIAL: Answer.PARTLY,
        EvidenceState.NOT_FOUND: Answer.NO,
        EvidenceState.CONTRADICTION: Answer.NO,
    }.get(state)


# --- MLflow ---------------------------------------------------------------------------


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def mlflow_findings(observed: Mapping[str, Any]) -> list[Finding]:
    """Findings from what an MLflow tracking server showed (`bot.evidence.mlflow`).

    `observed` holds `experiments` (how many matched the prefix), `runs_30d` (runs started
    in the last RUN_WINDOW_DAYS days, capped by paging: `runs_capped` says so),
    `experiments_with_runs` (names, with run counts), `last_run_at` (ISO time or None) and
    `models`: registered models, each with `name`, `versions`, `aliases` and `stages`.

    Experiment tracking: runs in the window are strong; older runs only are weak (tracking
    was set up, but is it used?). Model registry: a model with a version that has an alias
    or a stage other than None (or several versions) is strong; models with versions only
    are weak; a registered name with no version counts as nothing.
    """
    runs = int(observed.get("runs_30d") or 0)
    capped = bool(observed.get("runs_capped"))
    active = observed.get("experiments_with_runs") or []
    experiments = int(observed.get("experiments") or 0)
    links = {"url": observed["url"]} if observed.get("url") else {}
    runs_text = f"{runs}+" if capped else str(runs)
    if runs:
        tracking = Finding(
            "experiment_tracking",
            Strength.STRONG,
            f"MLflow: {runs_text} runs in {RUN_WINDOW_DAYS} days across "
            f"{_plural(len(active), 'experiment')}",
            {
                "runs_30d": runs,
                "runs_capped": capped,
                "experiments_with_runs": active,
                "experiments": experiments,
                **links,
            },
        )
    elif observed.get("last_run_at"):
        tracking = Finding(
            "experiment_tracking",
            Strength.WEAK,
            f"MLflow: no runs in {RUN_WINDOW_DAYS} days; the last one started "
            f"{str(observed['last_run_at'])[:10]}",
            {
                "runs_30d": 0,
                "last_run_at": observed["last_run_at"],
                "experiments": experiments,
                **links,
            },
        )
    else:
        tracking = Finding(
            "experiment_tracking",
            Strength.NONE,
            f"MLflow: no runs in {RUN_WINDOW_DAYS} days"
            + (f" in {_plural(experiments, 'experiment')}" if experiments else "; no experiments"),
            {"runs_30d": 0, "experiments": experiments, **links},
        )

    models = list(observed.get("models") or [])
    promoted = [m for m in models if m.get("aliases") or _staged(m) or m.get("versions", 0) > 1]
    versioned = [m for m in models if m.get("versions", 0) > 0]
    model_details = {"models": models[:20], "registered_models": len(models), **links}
    if promoted:
        aliases = sum(len(m.get("aliases") or []) for m in models)
        extra = f", {_plural(aliases, 'alias', 'aliases')}" if aliases else ""
        registry = Finding(
            "model_registry",
            Strength.STRONG,
            f"MLflow: {_plural(len(versioned), 'registered model')} with versions{extra}",
            model_details,
        )
    elif versioned:
        registry = Finding(
            "model_registry",
            Strength.WEAK,
            f"MLflow: {_plural(len(versioned), 'registered model')}, one version each, "
            "no alias or stage",
            model_details,
        )
    else:
        registry = Finding(
            "model_registry",
            Strength.NONE,
            "MLflow: no registered model with a version"
            if models
            else "MLflow: no registered model",
            model_details,
        )
    return [tracking, registry]


def _staged(model: Mapping[str, Any]) -> bool:
    return any(stage and stage != "None" for stage in model.get("stages") or [])


# --- Repository -----------------------------------------------------------------------

_NOTHING = {
    "data_versioning": "no DVC-tracked data",
    "experiment_tracking": "no code logging to MLflow or W&B",
    "model_registry": "no code registering models",
    "automated_training": "no orchestrator definition that trains",
    "feature_store": "no Feast feature views",
    "cicd": "no CI job that trains, evaluates or promotes a model",
    "ab_testing": "no traffic split for a model",
    "automated_retraining": "no schedule that reaches training",
    "drift_monitoring": "no drift check in a scheduled job",
}


def repo_findings(
    signals: Iterable[Signal], *, link: str | None = None, commit: str | None = None
) -> list[Finding]:
    """One finding per capability from a repository's detector signals.

    The strongest signal decides the strength; the summary names it and its file ("Repo:
    mlflow.log_metric in train/train.py (+2 more)"). `link` is a URL template with `{path}`
    for the file at the commit, when the host has one (a web view); details carry the paths.
    """
    by_capability: dict[str, list[Signal]] = {cid: [] for cid in REPO_CAPABILITIES}
    for signal in signals:
        by_capability.setdefault(signal.capability_id, []).append(signal)
    findings = []
    for capability_id, found in by_capability.items():
        found.sort(key=lambda s: (-_RANK[s.strength], s.path, s.line or 0))
        base: dict[str, Any] = {"commit": commit} if commit else {}
        if not found:
            findings.append(
                Finding(
                    capability_id,
                    Strength.NONE,
                    f"Repo: {_NOTHING.get(capability_id, 'nothing found')}",
                    base,
                )
            )
            continue
        best = found[0]
        more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
        signals_out = []
        for signal in found[:10]:
            item = signal.as_dict()
            if link:
                item["link"] = link.format(path=signal.path)
            signals_out.append(item)
        findings.append(
            Finding(
                capability_id,
                best.strength,
                f"Repo: {best.what} in {best.path}{more}",
                {**base, "signals": signals_out, "count": len(found)},
            )
        )
    return findings


# --- Combining facts ------------------------------------------------------------------


def _ago(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min ago"
    if seconds < 86400 * 2:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def evaluate(
    capability_id: str,
    facts: Iterable[Fact],
    sources: Sequence[SourceStatus],
    now: datetime,
    answer: Answer | str | None = None,
) -> CapabilityEvidence:
    """The evidence state of one capability at `now`.

    - No source connected, or none that speaks for this capability: unknown.
    - No fresh fact (never read, unreachable, or everything older than STALE_AFTER):
      unknown, saying which ("could not reach ...", "last checked 9 days ago").
    - A strong fresh fact: verified. Only weak ones: partial. Only "none": not found.
    - Contradiction: the answer is Yes, no fresh fact is strong, and a fresh fact from a
      source that is authoritative for this capability found nothing (never for the
      limited ones). A weak hint elsewhere does not excuse it: the source the team named
      as its tool has nothing.
    """
    limited = capability_id in LIMITED
    relevant_kinds = {
        kind
        for kind in SourceKind
        if capability_id
        in (MLFLOW_CAPABILITIES if kind is SourceKind.MLFLOW else REPO_CAPABILITIES)
    }
    if not relevant_kinds:  # e.g. a model's "source control": nothing here reads it yet
        return CapabilityEvidence(
            capability_id,
            EvidenceState.UNKNOWN,
            "The bot cannot check this from MLflow or Git",
            limited=limited,
        )
    connected = [s for s in sources if s.kind in relevant_kinds]
    if not connected:
        return CapabilityEvidence(
            capability_id,
            EvidenceState.UNKNOWN,
            "No tool connected that shows this",
            limited=limited,
        )
    mine = [
        f for f in facts if f.capability_id == capability_id and f.source_kind in relevant_kinds
    ]
    connected_kinds = {s.kind for s in connected}
    fresh = [f for f in mine if f.fresh(now) and f.source_kind in connected_kinds]
    if not fresh:
        return CapabilityEvidence(
            capability_id,
            EvidenceState.UNKNOWN,
            _unknown_reason(connected, mine, now),
            checked_at=max((f.observed_at for f in mine), default=None),
            limited=limited,
        )
    fresh.sort(key=lambda f: (-_RANK[f.strength], f.source_kind != SourceKind.MLFLOW))
    best = fresh[0]
    details = tuple(
        {
            "source": f.source_kind.value,
            "strength": f.strength.value,
            "summary": f.summary,
            "observed_at": f.observed_at.isoformat(),
            **dict(f.details),
        }
        for f in fresh
    )
    checked_at = max(f.observed_at for f in fresh)
    if best.strength is Strength.STRONG:
        state = EvidenceState.VERIFIED
    elif best.strength is Strength.WEAK:
        state = EvidenceState.PARTIAL
    else:
        state = EvidenceState.NOT_FOUND
    summary = best.summary
    if (
        answer == Answer.YES
        and not limited
        and state is not EvidenceState.VERIFIED
        and any(
            f.strength is Strength.NONE and (f.source_kind, capability_id) in AUTHORITATIVE
            for f in fresh
        )
    ):
        state = EvidenceState.CONTRADICTION
        summary = next(
            f.summary
            for f in fresh
            if f.strength is Strength.NONE and (f.source_kind, capability_id) in AUTHORITATIVE
        )
    return CapabilityEvidence(capability_id, state, summary, details, checked_at, limited)


def _unknown_reason(connected: Sequence[SourceStatus], facts: Sequence[Fact], now: datetime) -> str:
    errors = [s for s in connected if s.last_error]
    if errors:
        source = errors[0]
        return f"{source.kind.label}: could not check ({source.last_error})"
    if facts:
        newest = max(f.observed_at for f in facts)
        return f"Stale: last checked {_ago(newest, now)}"
    return "Not checked yet"


def evaluate_all(
    facts: Iterable[Fact],
    sources: Sequence[SourceStatus],
    now: datetime,
    answers: Mapping[str, Answer | str] | None = None,
    checklist: Checklist = DEFAULT_CHECKLIST,
) -> dict[str, CapabilityEvidence]:
    """`evaluate` for every capability of the checklist, in asking order."""
    facts = list(facts)
    answers = answers or {}
    return {cid: evaluate(cid, facts, sources, now, answers.get(cid)) for cid in checklist.ids}


def verified_level(
    evidence: Mapping[str, CapabilityEvidence | EvidenceState],
    checklist: Checklist = DEFAULT_CHECKLIST,
) -> int:
    """The level the evidence verifies: the highest whose every capability is verified.

    Cumulative like the answered level (bot.domain.levels): a gap at L1 means L0 however
    much of L2 the tools show.
    """

    def verified(cid: str) -> bool:
        item = evidence.get(cid)
        state = item.state if isinstance(item, CapabilityEvidence) else item
        return state == EvidenceState.VERIFIED

    level = 0
    for candidate in range(1, checklist.top_level + 1):
        if not all(verified(cid) for cid in checklist.required_for(candidate)):
            break
        level = candidate
    return level
