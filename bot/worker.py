"""The worker: one scheduler tick a minute that enqueues what is due, and an outbox drain.

Schedules live in our tables, not in an APScheduler job store (APScheduler 3's stores must
never be shared between schedulers). The tick is stateless and idempotent: what is due is
worked out from the clock and our tables, and every due item has an outbox key named after
its local calendar period. So a restart, a catch-up after downtime or two overlapping
workers during a deploy are harmless: the same key again is ignored.

The drain runs on its own thread every second, beside the minute tick, because level-change
announcements are written by the web process and must go out within seconds.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from slack_sdk import WebClient
from sqlalchemy import select

from bot import retention
from bot.app import Runtime, make_web_client
from bot.db import DatabaseOutage, is_outage
from bot.models import Workspace, utcnow
from bot.observability import record_tick
from bot.outbox import DrainResult, Pacer, Sender
from bot.services import digests, nudges, people, workspaces
from messages import plural
from messages.outbox import renderers

log = logging.getLogger(__name__)

TICK_SECONDS = 60
DRAIN_SECONDS = 1.0

CHANNEL_RATE, CHANNEL_BURST = 1.0, 3
"""chat.postMessage: about one message per second per channel, with short bursts."""
WORKSPACE_RATE, WORKSPACE_BURST = 10.0, 20
"""Slack does not publish the workspace-wide figure; 600 a minute stays well inside it."""


def sender_client(runtime: Runtime) -> WebClient:
    """A Web API client for the outbox: no sleeping on 429s and no silent re-posts.

    slack_sdk's connection-error retry could post a message twice when a reply is lost; the
    outbox retries itself, after checking the channel for the message's key.
    """
    client = make_web_client(runtime.settings, retry_rate_limits=False)
    client.retry_handlers = []
    return client


def make_sender(runtime: Runtime, client: WebClient | None = None, **kwargs) -> Sender:
    """The outbox's sender, wired at start-up: the pace, each workspace's token, and what
    each kind of delivery says (`messages.outbox.renderers`)."""
    settings = runtime.settings
    kwargs.setdefault("renderers", renderers())
    kwargs.setdefault("pacer", Pacer(CHANNEL_RATE, CHANNEL_BURST, WORKSPACE_RATE, WORKSPACE_BURST))
    if settings.oauth:  # many workspaces, each with its own bot token
        from bot.installations import installation_store

        store = installation_store(settings, runtime.session_factory)
        kwargs.setdefault("token_for", store.bot_token)
    return Sender(
        runtime.session_factory,
        client or sender_client(runtime),
        settings,
        admins=lambda session, workspace_id: people.known_admins(session, settings, workspace_id),
        **kwargs,
    )


def enqueue_due(
    runtime: Runtime,
    now: datetime | None = None,
    client: WebClient | None = None,
    *,
    client_for: Callable[[str], WebClient] | None = None,
) -> dict[str, int]:
    """Enqueue the digests, nudges and reminders due at `now`, one workspace at a time.

    `client` (or `client_for(workspace_id)`) refreshes the users.info cache of owners'
    time zones; without one, only what is cached is used.
    """
    now = now or utcnow()
    counts = {"digest": 0, "nudge": 0, "reminder": 0}
    with runtime.session_factory.begin() as session:
        # uninstalled workspaces keep their data for the retention period, then it goes
        purged = workspaces.purge_expired(session, runtime.settings.retention_days, now)
    if purged:
        log.info(
            "purged %s past retention: %s", plural(len(purged), "workspace"), ", ".join(purged)
        )
        counts["purged"] = len(purged)
    for table, n in retention.purge(runtime.session_factory, runtime.settings, now).items():
        counts[f"purged_{table}"] = n
    with runtime.session_factory() as session:
        workspace_ids = list(
            session.scalars(select(Workspace.id).where(Workspace.uninstalled_at.is_(None)))
        )
    for workspace_id in workspace_ids:
        try:
            with runtime.session_factory.begin() as session:
                counts["digest"] += digests.enqueue_due(session, workspace_id, now)
                people_client = client_for(workspace_id) if client_for else client
                for kind, n in nudges.enqueue_due(
                    session, people_client, runtime.settings, workspace_id, now
                ).items():
                    counts[kind] += n
        except Exception:  # one workspace's bad data must not starve the others
            log.exception("enqueueing for workspace %s failed", workspace_id)
    return counts


def tick(
    runtime: Runtime,
    now: datetime | None = None,
    *,
    sender: Sender | None = None,
) -> dict[str, int]:
    """Enqueue everything due at `now` and drain the outbox once; returns counts."""
    own = sender is None
    sender = sender or make_sender(runtime)
    try:
        counts = enqueue_due(runtime, now, client_for=sender.client_for)
        result = sender.drain()
    finally:
        if own:
            sender.close()
    counts.update(
        sent=result.sent + result.already_sent,
        rescheduled=result.rescheduled,
        failed=result.failed,
        dead=result.dead,
        cancelled=result.cancelled,
    )
    log.debug("tick at %s: %s", (now or utcnow()).isoformat(), counts)
    return counts


class DrainLoop:
    """Drains the outbox every `interval` seconds on a daemon thread until stopped."""

    def __init__(
        self,
        sender: Sender,
        interval: float = DRAIN_SECONDS,
        outage: DatabaseOutage | None = None,
    ) -> None:
        self.sender = sender
        self.interval = interval
        self.outage = outage or DatabaseOutage(log)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, name="outbox-drain", daemon=True)
        self.last: DrainResult | None = None

    def start(self) -> DrainLoop:
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.last = self.sender.drain(self.stop_event, linger=self.sender.horizon)
                self.outage.succeeded()
            except Exception as error:
                if is_outage(error):  # one line per outage, then back off until it is over
                    self.outage.failed(error, "draining the outbox")
                else:  # a bug: its traceback, and the next drain tries again
                    log.exception("outbox drain failed")
            self.stop_event.wait(self.outage.delay(self.interval))

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
        self.sender.close()


def _safe_enqueue(runtime: Runtime, sender: Sender, outage: DatabaseOutage) -> None:
    try:
        counts = enqueue_due(runtime, client_for=sender.client_for)
        if any(counts.values()):
            log.info("due now: %s", counts)
        record_tick(runtime.engine, "scheduler")  # /healthz and /metrics report its age
        outage.succeeded()
    except Exception as error:  # one bad tick must not stop the scheduler; the next one retries
        if is_outage(error):
            outage.failed(error, "ticking")
        else:
            log.exception("worker tick failed")


def _safe_evidence(runtime: Runtime, outage: DatabaseOutage) -> None:
    """One pass over the evidence sources that are due (bot.evidence.refresh); a pass that
    is still reading when the next is due is not doubled (max_instances=1)."""
    from bot.evidence import refresh

    try:
        result = refresh.refresh(runtime.session_factory, runtime.settings)
        if result.outcomes:
            log.info("evidence refreshed: %s", result.as_counts())
    except Exception as error:
        if is_outage(error):
            outage.failed(error, "refreshing evidence")
        else:
            log.exception("evidence refresh failed")


def _add_job(scheduler, runtime: Runtime, loop: DrainLoop) -> None:
    from bot.evidence.refresh import PASS_SECONDS

    scheduler.add_job(
        _safe_evidence,
        "interval",
        seconds=PASS_SECONDS,
        args=[runtime, loop.outage],
        id="evidence",
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )
    scheduler.add_job(
        _safe_enqueue,
        "interval",
        seconds=TICK_SECONDS,
        args=[runtime, loop.sender, loop.outage],  # one outage, reported once by either
        id="tick",
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )


def run_forever(runtime: Runtime, *, drain_only: bool = False) -> None:
    """`mlops-bot worker`: block, ticking every minute (in UTC), draining every second.

    `drain_only` runs just the drain: extra workers that add sending capacity while exactly
    one worker ticks (a second ticker would be harmless, but it is work for nothing).
    """
    loop = DrainLoop(make_sender(runtime)).start()
    if drain_only:
        log.info("worker started: draining the outbox every %s s (no tick)", DRAIN_SECONDS)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(3600):
                pass
        finally:
            loop.stop()
        return
    scheduler = BlockingScheduler(timezone="UTC")
    _add_job(scheduler, runtime, loop)
    log.info(
        "worker started: a tick every %s s, the outbox drained every %s s",
        TICK_SECONDS,
        DRAIN_SECONDS,
    )
    try:
        scheduler.start()
    finally:
        loop.stop()


class _BackgroundWorker(BackgroundScheduler):
    """The scheduler of `mlops-bot run`, which also stops the drain thread on shutdown."""

    drain_loop: DrainLoop

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait=wait)
        self.drain_loop.stop(timeout=10.0 if wait else 0.5)


def start_background(runtime: Runtime) -> BackgroundScheduler:
    """`mlops-bot run`: tick and drain on background threads beside the web server."""
    scheduler = _BackgroundWorker(timezone="UTC")
    scheduler.drain_loop = DrainLoop(make_sender(runtime)).start()
    _add_job(scheduler, runtime, scheduler.drain_loop)
    scheduler.start()
    return scheduler
