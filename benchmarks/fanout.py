"""Fan-out benchmark: how fast the outbox delivers a Monday morning's digests and nudges.

1,000 teams in 200 channels with 1,500 owners; every channel subscribes to the weekly digest
and every owner is due a nudge at the same moment. The Web API stand-in enforces Slack's
per-channel pace (1 message/s, burst 3) and a workspace-wide limit, answering 429 beyond
them. We report the time from "due" to "last message in Slack" against the minimum those
limits allow, duplicates and losses, and then the sender's raw throughput with every limit
off (our code must not be the bottleneck).

    .venv/bin/python benchmarks/fanout.py [--database-url URL] [--workspace-rate 100]

By default it runs on a fresh SQLite file; pass a PostgreSQL URL to measure that instead.
Slack does not publish its workspace-wide figure, so the stand-in and our pacer are given
the same one (--workspace-rate, per second).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, func, select, text  # noqa: E402

from bot.app import Runtime  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.domain import DEFAULT_CHECKLIST, Answer  # noqa: E402
from bot.migrate import upgrade  # noqa: E402
from bot.models import (  # noqa: E402
    AnswerRecord,
    Assessment,
    AssessmentStatus,
    Base,
    Cadence,
    Delivery,
    DeliveryState,
    DigestSubscription,
    LevelChange,
    SlackUser,
    Team,
    TeamOwner,
    Workspace,
)
from bot.outbox import Pacer, enqueue_many  # noqa: E402
from bot.sandbox.slack_api import FakeSlack  # noqa: E402
from bot.worker import CHANNEL_BURST, CHANNEL_RATE, enqueue_due, make_sender  # noqa: E402

WS = "T0TEST"
TEAMS, CHANNELS, OWNERS = 1000, 200, 1500
ZONES = ["Europe/London", "Europe/Berlin", "Europe/Lisbon", "Africa/Lagos"]
NOW = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)  # a Monday morning in all four zones


def seed(runtime: Runtime, announce: bool = False) -> int:
    """The org, as it stands on a Monday morning; returns how many messages are due.

    With `announce`, every team has also just moved up a level, so each home channel has
    five announcements waiting besides its digest: the per-channel limit then binds.
    """
    with runtime.session_factory.begin() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
        session.add(Workspace(id=WS))
        session.flush()
        teams = [
            Team(
                workspace_id=WS,
                name=f"Team {n:04d}",
                name_key=f"team {n:04d}",
                home_channel_id=f"C{n % CHANNELS:04d}",
                created_by="UADMIN",
            )
            for n in range(TEAMS)
        ]
        session.add_all(teams)
        session.flush()
        runs = [
            Assessment(
                workspace_id=WS,
                team_id=t.id,
                started_by="UADMIN",
                status=AssessmentStatus.COMPLETED,
                checklist_version=DEFAULT_CHECKLIST.version,
            )
            for t in teams
        ]
        session.add_all(runs)
        session.flush()
        session.add_all(
            AnswerRecord(
                workspace_id=WS,
                team_id=t.id,
                assessment_id=run.id,
                capability_id=cap,
                value=Answer.YES if i < n % 6 else Answer.NO,
                answered_by="UADMIN",
            )
            for n, (t, run) in enumerate(zip(teams, runs, strict=True))
            for i, cap in enumerate(DEFAULT_CHECKLIST.ids)
        )
        # 1,500 owners: every team has one, the first 500 a second.
        owner_pairs = [(t.id, f"U{n:05d}") for n, t in enumerate(teams)]
        owner_pairs += [(teams[n].id, f"U{TEAMS + n:05d}") for n in range(OWNERS - TEAMS)]
        session.add_all(TeamOwner(team_id=t, user_id=u, workspace_id=WS) for t, u in owner_pairs)
        # users.info answers, cached as after the first few ticks of a running worker.
        session.add_all(
            SlackUser(workspace_id=WS, user_id=u, timezone=ZONES[i % len(ZONES)])
            for i, (_, u) in enumerate(owner_pairs)
        )
        session.add_all(
            DigestSubscription(
                workspace_id=WS,
                channel_id=f"C{c:04d}",
                cadence=Cadence.WEEKLY,
                weekday=0,
                local_time="09:00",
                timezone=ZONES[c % len(ZONES)],
                created_by="UADMIN",
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
            for c in range(CHANNELS)
        )
    if announce:
        with runtime.session_factory.begin() as session:
            changes = [
                LevelChange(workspace_id=WS, team_id=t.id, from_level=0, to_level=1, changed_by="U")
                for t in teams
            ]
            session.add_all(changes)
            session.flush()
            enqueue_many(
                session,
                WS,
                [
                    {
                        "key": f"level:{c.id}:{t.home_channel_id}",
                        "kind": "level_change",
                        "channel_id": t.home_channel_id,
                        "payload": {"level_change_id": c.id, "team_id": t.id},
                    }
                    for c, t in zip(changes, teams, strict=True)
                ],
            )
    if runtime.engine.dialect.name == "postgresql":
        # Fresh tables have no planner statistics until autovacuum's ANALYZE a minute later;
        # a real workspace's tables have them, so take them now rather than time a bad plan.
        with runtime.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    return CHANNELS + OWNERS + (TEAMS if announce else 0)


def drain_until_empty(url: str, api_url: str, rate: float, burst: int, threads: int) -> None:
    """The worker side, in its own process as in production (`mlops-bot worker`)."""
    settings = Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret="unused",
        slack_api_url=api_url,
        database_url=url,
    )
    runtime = Runtime.from_settings(settings)
    pacer = Pacer(CHANNEL_RATE, CHANNEL_BURST, rate, burst) if rate > 0 else Pacer(None, 1, None, 1)
    sender = make_sender(runtime, pacer=pacer, threads=threads)
    stop = threading.Event()
    try:
        while True:
            sender.drain(stop, linger=sender.horizon)
            with runtime.session_factory() as session:
                left = session.scalar(
                    select(func.count()).where(
                        Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING])
                    )
                )
            if not left:
                break
            time.sleep(0.01)
    finally:
        sender.close()


def run(
    runtime: Runtime,
    slack: FakeSlack,
    url: str,
    rate: float,
    burst: int,
    threads: int,
    expected: int,
) -> dict:
    slack.reset()
    started = time.monotonic()
    counts = enqueue_due(runtime, NOW, None)
    enqueued = time.monotonic()
    worker = subprocess.run(
        [
            sys.executable,
            __file__,
            "--drain",
            url,
            slack.api_url,
            str(rate),
            str(burst),
            str(threads),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if worker.returncode:
        print(worker.stderr[-3000:], file=sys.stderr)
    calls = slack.calls_to("chat.postMessage")
    ok = [c for c in calls if not c.failed]
    keys = Counter(c.args["metadata"]["event_payload"]["key"] for c in ok)
    due = expected
    return {
        "due": sum(counts.values()),
        "enqueue_s": enqueued - started,
        # From the first request Slack saw to the last message it accepted.
        "deliver_s": (max(c.time for c in ok) - min(c.time for c in calls)) if ok else 0.0,
        "sent": len(keys),
        "duplicates": sum(n - 1 for n in keys.values()),
        "lost": due - len(keys),
        "rate_limited": sum(1 for c in calls if c.status == 429),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workspace-rate", type=float, default=100.0)
    parser.add_argument("--workspace-burst", type=int, default=100)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--announce", action="store_true", help="also 1,000 level-change announcements"
    )
    parser.add_argument("--drain", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drain:
        url, api_url, rate, burst, threads = args.drain
        drain_until_empty(url, api_url, float(rate), int(burst), int(threads))
        return 0

    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/fanout.db"
    upgrade(url)
    with FakeSlack() as slack:
        settings = Settings(
            slack_bot_token="xoxb-test-token",
            slack_signing_secret="unused",
            slack_api_url=slack.api_url,
            database_url=url,
        )
        runtime = Runtime.from_settings(settings)
        print(
            f"database: {runtime.engine.dialect.name}; {TEAMS} teams, {CHANNELS} channels, "
            f"{OWNERS} owners"
        )

        # 1. Slack's limits on: per channel 1/s (burst 3), workspace-wide W/s (burst B).
        expected = seed(runtime, announce=args.announce)
        slack.pace(per_channel_per_second=CHANNEL_RATE, burst=CHANNEL_BURST)
        slack.pace_workspace(args.workspace_rate, args.workspace_burst)
        limited = run(
            runtime, slack, url, args.workspace_rate, args.workspace_burst, args.threads, expected
        )
        # Per channel: its messages beyond the burst, one a second. Without --announce a
        # channel gets one digest and a DM one nudge, so this never binds.
        per_channel = (TEAMS // CHANNELS if args.announce else 0) + 1
        per_channel_min = max(0, per_channel - CHANNEL_BURST) / CHANNEL_RATE
        workspace_min = max(0, expected - args.workspace_burst) / args.workspace_rate
        minimum = max(per_channel_min, workspace_min)
        print(
            f"limits on : {limited['sent']}/{expected} delivered in {limited['deliver_s']:.2f} s "
            f"(minimum the limits allow {minimum:.2f} s, ratio "
            f"{limited['deliver_s'] / minimum:.3f}x); enqueue {limited['enqueue_s']:.2f} s; "
            f"duplicates {limited['duplicates']}, lost {limited['lost']}, "
            f"429s {limited['rate_limited']}"
        )

        # 2. Every limit off: the sender's own speed.
        seed(runtime, announce=args.announce)
        slack.pace(None)
        slack.pace_workspace(None)
        raw = run(runtime, slack, url, 0, 1, args.threads, expected)
        print(
            f"limits off: {raw['sent']}/{expected} delivered in {raw['deliver_s']:.2f} s = "
            f"{raw['sent'] / raw['deliver_s']:.0f} messages/s; enqueue {raw['enqueue_s']:.2f} s; "
            f"duplicates {raw['duplicates']}, lost {raw['lost']}"
        )
        runtime.engine.dispose()
    good = (
        limited["deliver_s"] <= 1.1 * minimum
        and raw["sent"] / raw["deliver_s"] >= 200
        and not (limited["duplicates"] or limited["lost"] or raw["duplicates"] or raw["lost"])
    )
    print("targets met" if good else "targets NOT met")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
