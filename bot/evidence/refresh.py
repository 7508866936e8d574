"""Keeping evidence fresh: which sources are due, reading them, recording what they showed.

Run by the worker (a pass every PASS_SECONDS) and by `mlops-bot evidence refresh`. A source
is due when its `next_check_at` has come (MLflow every 6 hours, repositories daily, each
plus a random jitter so a thousand teams connected on one afternoon do not all fall due
in the same minute), or a refresh was asked for in Slack after its last read.

- **No transaction across the network.** A source is claimed with a lease in one short
  transaction, read with no database work open, and its result recorded in another; a
  source reconnected to another URL meanwhile keeps its new state.
- **Bounded.** A pool of `concurrency` threads, and per host at most PER_HOST_CONCURRENCY
  reads at once, started at least PER_HOST_SPACING apart, so one team's server or a
  shared Git host is never hammered.
- **Cheap repositories.** `git ls-remote` first: an unchanged head keeps its facts (observed
  again). Teams that share a repository, branch and folder share one clone per pass.
- **Never "no" for could-not-look.** A failure is recorded as the source's error.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import sessionmaker

from bot.config import Settings
from bot.domain.evidence import Finding, SourceKind, mlflow_findings, repo_findings
from bot.evidence import SourceError, detectors, hosts
from bot.evidence import credentials as credential_store
from bot.evidence import git as gitread
from bot.evidence import mlflow as mlflowread
from bot.models import EvidenceFact, EvidenceSource, Team, utcnow
from bot.services import evidence as service

log = logging.getLogger(__name__)

INTERVALS = {SourceKind.MLFLOW: timedelta(hours=6), SourceKind.REPO: timedelta(days=1)}
JITTER = 0.1
"""Up to this fraction of the interval is added at random to each next check."""
LEASE = timedelta(minutes=15)
PASS_SECONDS = 30
CONCURRENCY = 4
PER_HOST_CONCURRENCY = 2
PER_HOST_SPACING = 0.05
BATCH = 200


@dataclass
class Outcome:
    source_id: int
    team: str
    kind: SourceKind
    url: str
    result: str  # "read", "unchanged", "error"
    detail: str = ""
    seconds: float = 0.0


@dataclass
class PassResult:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    def as_counts(self) -> dict[str, int]:
        return {r: self.count(r) for r in ("read", "unchanged", "error")}


class HostPace:
    """Per host: at most `limit` reads at once, started at least `spacing` seconds apart."""

    def __init__(self, limit: int = PER_HOST_CONCURRENCY, spacing: float = PER_HOST_SPACING):
        self.limit, self.spacing = limit, spacing
        self._lock = threading.Lock()
        self._hosts: dict[str, tuple[threading.Semaphore, list[float]]] = {}

    def hold(self, host: str):
        with self._lock:
            if host not in self._hosts:
                self._hosts[host] = (threading.Semaphore(self.limit), [0.0])
            semaphore, last = self._hosts[host]
        pace = self

        class _Held:
            def __enter__(self_inner):
                semaphore.acquire()
                with pace._lock:
                    wait = last[0] + pace.spacing - time.monotonic()
                    last[0] = max(time.monotonic(), last[0] + pace.spacing)
                if wait > 0:
                    time.sleep(wait)

            def __exit__(self_inner, *exc):
                semaphore.release()

        return _Held()


@dataclass(frozen=True)
class _Claimed:
    id: int
    workspace_id: str
    team: str
    kind: SourceKind
    url: str
    options: dict
    last_head_commit: str | None
    has_facts: bool


def due_filter(now: datetime):
    return (
        or_(
            EvidenceSource.next_check_at.is_(None),
            EvidenceSource.next_check_at <= now,
            EvidenceSource.last_checked_at.is_(None),
            EvidenceSource.refresh_requested_at > EvidenceSource.last_checked_at,
        ),
        or_(EvidenceSource.lease_until.is_(None), EvidenceSource.lease_until < now),
    )


def claim(
    session_factory: sessionmaker,
    now: datetime,
    *,
    limit: int = BATCH,
    force: bool = False,
    workspace_id: str | None = None,
    team_name: str | None = None,
    exclude: set[int] | frozenset[int] = frozenset(),
) -> list[_Claimed]:
    """Lease up to `limit` due sources (every matching one with `force`), but not `exclude`."""
    from bot.services.teams import name_key

    with session_factory.begin() as session:
        query = select(EvidenceSource, Team.name).join(Team, Team.id == EvidenceSource.team_id)
        filters = (
            list(due_filter(now))
            if not force
            else [or_(EvidenceSource.lease_until.is_(None), EvidenceSource.lease_until < now)]
        )
        if workspace_id:
            filters.append(EvidenceSource.workspace_id == workspace_id)
        if team_name:
            filters.append(Team.name_key == name_key(team_name))
        if exclude:
            filters.append(EvidenceSource.id.not_in(sorted(exclude)))
        asked = or_(
            EvidenceSource.last_checked_at.is_(None),
            EvidenceSource.refresh_requested_at > EvidenceSource.last_checked_at,
        )
        rows = session.execute(  # what people asked for in Slack first, then the oldest due
            query.where(*filters)
            .order_by(case((asked, 0), else_=1), EvidenceSource.next_check_at, EvidenceSource.id)
            .limit(limit)
        ).all()
        claimed = []
        for source, name in rows:
            taken = session.execute(
                update(EvidenceSource)
                .where(
                    EvidenceSource.id == source.id,
                    or_(EvidenceSource.lease_until.is_(None), EvidenceSource.lease_until < now),
                )
                .values(lease_until=now + LEASE)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not taken:
                continue
            has_facts = (
                session.scalar(
                    select(EvidenceFact.id).where(EvidenceFact.source_id == source.id).limit(1)
                )
                is not None
            )
            claimed.append(
                _Claimed(
                    source.id,
                    source.workspace_id,
                    name,
                    source.kind,
                    source.url,
                    dict(source.options or {}),
                    source.last_head_commit,
                    has_facts,
                )
            )
        return claimed


def web_link(url: str, commit: str) -> str | None:
    """A link template (with `{path}`) to a file at `commit`, for hosts with a known web view."""
    if not url.startswith("https://"):
        return None
    base = url.removesuffix("/").removesuffix(".git")
    host = base.split("/")[2].lower()
    if host == "github.com" or host.endswith(".github.com"):
        return f"{base}/blob/{commit}/{{path}}"
    if host.startswith("gitlab.") or host == "gitlab.com":
        return f"{base}/-/blob/{commit}/{{path}}"
    return None


class Reader:
    """Reads claimed sources; shared state of one pass (credentials, pace, repo cache)."""

    def __init__(
        self,
        settings: Settings,
        *,
        pace: HostPace | None = None,
        timeout: float | None = None,
        resolver=None,
    ) -> None:
        self.settings = settings
        self.credentials = credential_store.from_settings(settings)
        self.pace = pace or HostPace()
        self.timeout = timeout
        self.resolver = resolver
        self._cache: dict[tuple, tuple[str, list[Finding]]] = {}
        self._heads: dict[tuple, str] = {}
        self._cache_lock = threading.Lock()
        self._key_locks: dict[tuple, threading.Lock] = {}

    def read(self, claimed: _Claimed, now: datetime) -> tuple[str, list[Finding], str | None]:
        """("read", findings, head) or ("unchanged", [], head); raises on failure."""
        target = hosts.parse(claimed.url, claimed.kind.value, self.settings)
        with self.pace.hold(target.netloc if target.port else "file"):
            if claimed.kind is SourceKind.MLFLOW:
                observed = mlflowread.observe(
                    target,
                    claimed.options,
                    self.credentials,
                    now,
                    timeout=self.timeout or mlflowread_timeout(self.settings),
                    resolver=self.resolver,
                )
                return "read", mlflow_findings(observed), None
            return self._read_repo(target, claimed)

    def _read_repo(self, target: hosts.Target, claimed: _Claimed):
        addresses = hosts.resolve(target, self.resolver) if self.resolver else hosts.resolve(target)
        credential = self.credentials.for_host(target.host, target.port) if target.host else None
        git = gitread.Git(target, addresses, credential, timeout=self.timeout or gitread.TIMEOUT)
        branch = claimed.options.get("branch")
        with self._cache_lock:
            head_lock = self._key_locks.setdefault(("head", claimed.url, branch), threading.Lock())
        with head_lock:  # one ls-remote per repository and branch per pass
            head = self._heads.get((claimed.url, branch))
            if head is None:
                head = self._heads[(claimed.url, branch)] = gitread.head(git, branch)
        if head == claimed.last_head_commit and claimed.has_facts:
            return "unchanged", [], head
        key = (claimed.url, branch, claimed.options.get("path"), head)
        with self._cache_lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:  # teams sharing a repository share one clone per pass
            cached = self._cache.get(key)
            if cached is None:
                scope = claimed.options.get("path")
                snapshot = gitread.snapshot(
                    git, branch, lambda paths: detectors.select(paths, scope)
                )
                signals = detectors.detect(snapshot.paths, snapshot.files)
                findings = repo_findings(
                    signals, link=web_link(claimed.url, snapshot.commit), commit=snapshot.commit
                )
                cached = (snapshot.commit, findings)
                self._cache[key] = cached
        return "read", cached[1], cached[0]


def mlflowread_timeout(settings: Settings) -> float:
    return float(settings.http_timeout)


def _record(
    session_factory: sessionmaker,
    claimed: _Claimed,
    result: str,
    findings: list[Finding],
    head: str | None,
    error: str | None,
    now: datetime,
) -> None:
    with session_factory.begin() as session:
        source = session.get(EvidenceSource, claimed.id)
        if source is None or source.url != claimed.url or (source.options or {}) != claimed.options:
            return  # disconnected or reconnected elsewhere meanwhile: this read is moot
        if error is not None:
            service.record_error(session, source, error, now)
        elif result == "unchanged":
            service.record_unchanged(session, source, now)
            source.last_head_commit = head
        else:
            service.record_findings(session, source, findings, now, head_commit=head)
        interval = INTERVALS[claimed.kind]
        source.next_check_at = now + interval + interval * random.uniform(0, JITTER)
        source.lease_until = None


def refresh(
    session_factory: sessionmaker,
    settings: Settings,
    *,
    now: Callable[[], datetime] = utcnow,
    force: bool = False,
    workspace_id: str | None = None,
    team_name: str | None = None,
    concurrency: int = CONCURRENCY,
    limit: int | None = None,
    reader: Reader | None = None,
    progress: Callable[[int, int, Outcome], None] | None = None,
    stop: threading.Event | None = None,
) -> PassResult:
    """Read every due source (every matching one with `force`) once; returns the outcomes."""
    result = PassResult()
    reader = reader or Reader(settings)
    done_ids: set[int] = set()
    lock = threading.Lock()
    total_seen = 0
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="evidence") as pool:
        while not (stop and stop.is_set()):
            batch_limit = BATCH if limit is None else min(BATCH, limit - total_seen)
            if batch_limit <= 0:
                break
            claimed = claim(
                session_factory,
                now(),
                limit=batch_limit,
                force=force,
                workspace_id=workspace_id,
                team_name=team_name,
                exclude=done_ids,
            )
            if not claimed:
                break
            total_seen += len(claimed)

            def work(item: _Claimed, total=total_seen) -> None:
                started = time.monotonic()
                at = now()
                findings: list[Finding] = []
                head = error = None
                kind = "error"
                try:
                    kind, findings, head = reader.read(item, at)
                except (SourceError, hosts.HostRefused) as failure:
                    error = str(failure)
                except Exception as failure:  # a bug must not stop the pass; say what broke
                    log.exception("reading evidence source %s failed", item.id)
                    error = f"unexpected error ({failure.__class__.__name__})"
                _record(session_factory, item, kind, findings, head, error, now())
                outcome = Outcome(
                    item.id,
                    item.team,
                    item.kind,
                    item.url,
                    kind,
                    error or "",
                    time.monotonic() - started,
                )
                with lock:
                    result.outcomes.append(outcome)
                    if progress:
                        progress(len(result.outcomes), total, outcome)

            list(pool.map(work, claimed))
            done_ids.update(c.id for c in claimed)
    return result
