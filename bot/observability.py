"""What operators see: one structured log line per request, and Prometheus metrics.

Request counters and latency are kept per process; under gunicorn (several web processes)
prometheus-client's multiprocess mode writes them to files in PROMETHEUS_MULTIPROC_DIR and a
scrape of any process sums every process's files, so one scrape covers all workers and
counters only ever go up. The outbox, delivery and level figures are read from the database
at scrape time, so every process reports the same truth without sharing memory.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, insert, select, update

from bot.models import Base, Delivery, DeliveryState, Team, WorkerHeartbeat, utcnow

log = logging.getLogger("mlops_bot.requests")
refusals_log = logging.getLogger("mlops_bot.refused")

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0)


def describe(body: dict[str, Any]) -> tuple[str, str]:
    """(kind, action) of a Slack request: what an operator filters logs by. Never a token."""
    if body.get("command"):
        words = (body.get("text") or "").split()
        return "command", words[0].lower()[:32] if words else "help"
    kind = str(body.get("type") or "unknown")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        return kind, str(actions[0].get("action_id", ""))[:64]
    if kind in ("view_submission", "view_closed"):
        return kind, str((body.get("view") or {}).get("callback_id", ""))[:64]
    if kind == "event_callback":
        return "event", str((body.get("event") or {}).get("type", ""))[:64]
    return kind[:32], ""


def workspace_of(body: dict[str, Any]) -> str:
    team = body.get("team")
    if isinstance(team, dict):
        return str(team.get("id", ""))
    return str(body.get("team_id") or "")


class _DatabaseCollector(Collector):
    """Outbox depth, age of the oldest due row, deliveries by state, teams per level."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_state = GaugeMetricFamily(
            "mlops_bot_deliveries", "Outbox rows by state", labels=["state"]
        )
        depth = GaugeMetricFamily("mlops_bot_outbox_due", "Outbox rows due to be sent now")
        oldest = GaugeMetricFamily(
            "mlops_bot_outbox_oldest_due_seconds", "Age of the oldest row due to be sent"
        )
        levels = GaugeMetricFamily("mlops_bot_teams", "Teams by level", labels=["level"])
        sizes = GaugeMetricFamily(
            "mlops_bot_table_rows",
            "Rows per table (retention keeps them bounded)",
            labels=["table"],
        )
        tick = GaugeMetricFamily(
            "mlops_bot_worker_last_tick_age_seconds", "Seconds since the worker last ticked"
        )
        try:
            with self.engine.connect() as connection:
                counts = dict(
                    connection.execute(
                        select(Delivery.state, func.count()).group_by(Delivery.state)
                    ).all()
                )
                for state in DeliveryState:
                    by_state.add_metric([state.value], counts.get(state, 0))
                now = time.time()
                due_filter = (
                    Delivery.state == DeliveryState.PENDING,
                    Delivery.available_at <= utcnow(),
                )
                due_count, due_oldest = connection.execute(
                    select(func.count(), func.min(Delivery.created_at)).where(*due_filter)
                ).one()
                depth.add_metric([], due_count)
                oldest.add_metric([], _age(due_oldest, now))
                for level, count in connection.execute(
                    select(Team.level, func.count()).group_by(Team.level)
                ):
                    levels.add_metric(["none" if level is None else f"L{level}"], count)
                last_tick = connection.execute(select(func.max(WorkerHeartbeat.ticked_at))).scalar()
                if last_tick is not None:
                    tick.add_metric([], _age(last_tick, now))
                tables = Base.metadata.sorted_tables
                counts = connection.execute(  # one round trip for every table
                    select(
                        *(
                            select(func.count()).select_from(t).scalar_subquery().label(t.name)
                            for t in tables
                        )
                    )
                ).one()
                for table, count in zip(tables, counts, strict=True):
                    sizes.add_metric([table.name], count)
        except Exception:  # a scrape must answer even while the database is down
            log.warning("metrics: database unavailable", exc_info=True)
            return
        yield from (by_state, depth, oldest, levels, tick, sizes)


def _age(moment: datetime | str | None, now: float) -> float:
    """Seconds since `moment`; aggregates come back untyped (SQLite: text), so parse them."""
    if moment is None:
        return 0.0
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, now - moment.timestamp())


class RateLimitedWarning:
    """At most one WARNING line per reason per `interval` seconds.

    The first refusal is logged at once; the ones inside the window are only counted, and
    the next line says how many there were. A flood of bad requests cannot flood the logs.
    """

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def warn(self, reason: str, message: str, *args: object) -> bool:
        """Log the line if the window allows; True when it was logged."""
        now = self.clock()
        with self._lock:
            if now < self._next.get(reason, 0.0):
                self._held[reason] = self._held.get(reason, 0) + 1
                return False
            self._next[reason] = now + self.interval
            held = self._held.pop(reason, 0)
        if held:
            message += f" ({held} more like it since the last such line were not logged)"
        refusals_log.warning(message, *args, extra={"reason": reason})
        return True


class Metrics:
    """The process's registry: request counters and latency, plus the database figures.

    In multiprocess mode (PROMETHEUS_MULTIPROC_DIR set before prometheus_client was
    imported, as `mlops-bot web --workers N` does) the counters write to that directory and
    the registry a scrape renders collects from it, so the figures are the sum of all
    processes whichever one answers.
    """

    def __init__(self, engine: Engine):
        self.registry = CollectorRegistry()
        shared_dir = os.environ.get(MULTIPROCESS_DIR)
        if shared_dir and not getattr(values.ValueClass, "_multiprocess", False):
            raise RuntimeError(
                f"{MULTIPROCESS_DIR} was set after prometheus_client was imported; "
                "the counters would not be shared"
            )
        if shared_dir:
            multiprocess.MultiProcessCollector(self.registry, path=shared_dir)
        # in multiprocess mode the collector above reports the counters; registering them
        # here too would count this process twice
        own = None if shared_dir else self.registry
        self.requests = Counter(
            "mlops_bot_requests",
            "Slack requests by kind and HTTP status",
            ["kind", "status"],
            registry=own,
        )
        self.latency = Histogram(
            "mlops_bot_request_seconds",
            "Time to answer Slack (the acknowledgement), by kind",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        self.refusals = Counter(
            "mlops_bot_requests_refused",
            "Requests refused before any listener ran, by reason: signature (401, bad or "
            "missing Slack signature), too_large (413), timeout (408, stalled mid-body)",
            ["reason"],
            registry=own,
        )
        for reason in ("signature", "too_large", "timeout"):
            self.refusals.labels(reason)  # present at 0, so rate() works from the start
        self.refusal_log = RateLimitedWarning()
        self.registry.register(_DatabaseCollector(engine))

    def refused(self, reason: str, message: str, *args: object) -> None:
        """Count a refused request and log it (at most one line a minute per reason)."""
        self.refusals.labels(reason).inc()
        self.refusal_log.warn(reason, message, *args)

    def observe(self, body: dict[str, Any], status: int, seconds: float) -> None:
        """Count and time one request, and write its log line."""
        kind, action = describe(body)
        self.requests.labels(kind, str(status)).inc()
        self.latency.labels(kind).observe(seconds)
        log.info(
            "%s %s -> %s in %.1f ms",
            kind,
            action,
            status,
            seconds * 1000,
            extra={
                "workspace": workspace_of(body),
                "kind": kind,
                "action": action,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
            },
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


def record_tick(engine: Engine, name: str) -> None:
    """Note that worker `name` finished a tick (an upsert, portable to both databases)."""
    with engine.begin() as connection:
        updated = connection.execute(
            update(WorkerHeartbeat).where(WorkerHeartbeat.name == name).values(ticked_at=utcnow())
        ).rowcount
        if not updated:
            connection.execute(insert(WorkerHeartbeat).values(name=name, ticked_at=utcnow()))


def worker_tick_age(engine: Engine) -> float | None:
    """Seconds since any worker last ticked; None when no worker has ever ticked."""
    with engine.connect() as connection:
        last = connection.execute(select(func.max(WorkerHeartbeat.ticked_at))).scalar()
    return None if last is None else round(_age(last, time.time()), 1)
