"""Fan-out benchmark: how fast the outbox delivers a Monday morning's digests and nudges.

1,000 teams in 200 channels with 1,500 owners; every channel subscribes to the weekly digest
and every owner is due a nudge at the same moment. The Web API stand-in enforces Slack's
per-channel pace (1 message/s, burst 3) and a workspace-wide limit, answering 429 beyond
them. The senders (`--senders N` processes, as `mlops-bot worker --drain-only` runs them)
are started first; we report the time from when the messages became due (the tick's commit)
to the last message in Slack against the minimum those limits allow, the 429s Slack answered
(a target: under 1% of messages, or the pace is not working), duplicates and losses, and
then the senders' raw throughput with every limit off (our code must not be the
bottleneck). `--kill-one-after S` SIGKILLs one sender S seconds in: its rows come back when
its lease (`--lease`) runs out, the only delay allowed.

    .venv/bin/python benchmarks/fanout.py [--database-url URL] [--senders 2]
        [--kill-one-after 5 --lease 10] [--workspace-rate 100]

By default it runs on a fresh SQLite file; pass a PostgreSQL URL to measure that instead.
Slack does not publish its workspace-wide figure, so the stand-in and our pacer are given
the same one (--workspace-rate, per second).
"""

from __future__ import annotations

import argparse
import signal
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
from bot.sandbox.seed import seed_finished_assessments  # noqa: E402
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
        # answered through the assessment service (once per distinct set of answers)
        seed_finished_assessments(
            session,
            [
                (t, {cap: Answer.YES for cap in DEFAULT_CHECKLIST.ids[: n % 6]})
                for n, t in enumerate(teams)
            ],
            by="UADMIN",
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


def drain_until_empty(url: str, api_url: str, rate: float, burst: int, threads: int, lease: float):
    """One sender, in its own process as in production (`mlops-bot worker --drain-only`).

    Says "ready" once built, starts on "go" (so process start-up is not timed), and stops
    when no row is pending or being sent, by any sender.
    """
    settings = Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret="unused",
        slack_api_url=api_url,
        database_url=url,
    )
    runtime = Runtime.from_settings(settings)
    pacer = Pacer(CHANNEL_RATE, CHANNEL_BURST, rate, burst) if rate > 0 else None
    sender = make_sender(runtime, pacer=pacer, threads=threads, lease_seconds=lease)
    if pacer is None:
        sender.pacer = None  # every limit off: the sender's own speed
    stop = threading.Event()
    print("ready", flush=True)
    sys.stdin.readline()
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
            time.sleep(0.05)
    finally:
        sender.close()


def run(
    runtime: Runtime,
    slack: FakeSlack,
    url: str,
    args: argparse.Namespace,
    expected: int,
    *,
    limits: bool,
    kill_after: float | None = None,
) -> dict:
    """Start the senders, enqueue what is due, and time from then to the last message."""
    slack.reset()
    rate = args.workspace_rate if limits else 0
    command = [sys.executable, __file__, "--drain", url, slack.api_url, str(rate)]
    command += [str(args.workspace_burst), str(args.threads), str(args.lease)]
    senders = [
        subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(args.senders)
    ]
    for sender in senders:
        assert sender.stdout.readline().strip() == "ready", "a sender did not start"
    started = time.monotonic()
    counts = enqueue_due(runtime, NOW, None)
    enqueued = time.monotonic()
    due_at = time.time()  # the messages became due (claimable) here: the clock starts
    for sender in senders:
        sender.stdin.write("go\n")
        sender.stdin.flush()
    if kill_after is not None:
        time.sleep(kill_after)
        senders[0].send_signal(signal.SIGKILL)
    for sender in senders:
        sender.wait(timeout=900)
    killed = kill_after is not None
    failed = [s.returncode for s in senders[1 if killed else 0 :] if s.returncode]
    if failed:
        print(f"a sender failed: exit codes {failed}", file=sys.stderr)
    calls = slack.calls_to("chat.postMessage")
    ok = [c for c in calls if not c.failed]
    keys = Counter(c.args["metadata"]["event_payload"]["key"] for c in ok)
    if args.timeline:  # messages Slack accepted in each second after due
        per = Counter(int(c.time - due_at) for c in ok)
        print("timeline:", [per.get(i, 0) for i in range(int(max(per) + 1))])
    return {
        "due": sum(counts.values()),
        "enqueue_s": enqueued - started,
        "deliver_s": (max(c.time for c in ok) - due_at) if ok else 0.0,
        # The pace alone: from the first request Slack saw to the last message it accepted.
        "paced_s": (max(c.time for c in ok) - min(c.time for c in calls)) if ok else 0.0,
        "sent": len(keys),
        "duplicates": sum(n - 1 for n in keys.values()),
        "lost": expected - len(keys),
        "rate_limited": sum(1 for c in calls if c.status == 429),
        "history_reads": len(slack.calls_to("conversations.history")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workspace-rate", type=float, default=100.0)
    parser.add_argument("--workspace-burst", type=int, default=100)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--senders", type=int, default=1, help="sender processes draining at once")
    parser.add_argument(
        "--kill-one-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="SIGKILL one sender this long after the messages became due",
    )
    parser.add_argument("--lease", type=float, default=60.0, help="the senders' lease, seconds")
    parser.add_argument("--skip-raw", action="store_true", help="skip the run with limits off")
    parser.add_argument("--timeline", action="store_true", help="print messages per second")
    parser.add_argument(
        "--announce", action="store_true", help="also 1,000 level-change announcements"
    )
    parser.add_argument("--drain", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drain:
        url, api_url, rate, burst, threads, lease = args.drain
        drain_until_empty(url, api_url, float(rate), int(burst), int(threads), float(lease))
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
        killing = args.kill_one_after is not None
        print(
            f"database: {runtime.engine.dialect.name}; {TEAMS} teams, {CHANNELS} channels, "
            f"{OWNERS} owners; {args.senders} sender(s)"
            + (
                f", one SIGKILLed {args.kill_one_after:g} s in (lease {args.lease:g} s)"
                if killing
                else ""
            )
        )

        # 1. Slack's limits on: per channel 1/s (burst 3), workspace-wide W/s (burst B).
        expected = seed(runtime, announce=args.announce)
        slack.pace(per_channel_per_second=CHANNEL_RATE, burst=CHANNEL_BURST)
        slack.pace_workspace(args.workspace_rate, args.workspace_burst)
        limited = run(
            runtime, slack, url, args, expected, limits=True, kill_after=args.kill_one_after
        )
        # Per channel: its messages beyond the burst, one a second. Without --announce a
        # channel gets one digest and a DM one nudge, so this never binds.
        per_channel = (TEAMS // CHANNELS if args.announce else 0) + 1
        per_channel_min = max(0, per_channel - CHANNEL_BURST) / CHANNEL_RATE
        workspace_min = max(0, expected - args.workspace_burst) / args.workspace_rate
        minimum = max(per_channel_min, workspace_min)
        allowed = 1.05 * minimum + (args.lease if killing else 0)
        share = limited["rate_limited"] / expected
        print(
            f"limits on : {limited['sent']}/{expected} delivered in {limited['deliver_s']:.2f} s "
            f"from due (minimum the limits allow {minimum:.2f} s, ratio "
            f"{limited['deliver_s'] / minimum:.3f}x, target <= {allowed:.2f} s; first to last "
            f"message {limited['paced_s']:.2f} s); "
            f"429s {limited['rate_limited']} ({share:.1%}, target < 1%); "
            f"duplicates {limited['duplicates']}, lost {limited['lost']}; "
            f"enqueue {limited['enqueue_s']:.2f} s; crash-check history reads "
            f"{limited['history_reads']}"
        )
        good = (
            limited["deliver_s"] <= allowed
            and share < 0.01
            and not (limited["duplicates"] or limited["lost"])
        )

        # 2. Every limit off: the senders' own speed.
        if not args.skip_raw:
            seed(runtime, announce=args.announce)
            slack.pace(None)
            slack.pace_workspace(None)
            raw = run(runtime, slack, url, args, expected, limits=False)
            print(
                f"limits off: {raw['sent']}/{expected} delivered in {raw['deliver_s']:.2f} s = "
                f"{raw['sent'] / raw['deliver_s']:.0f} messages/s; "
                f"enqueue {raw['enqueue_s']:.2f} s; "
                f"duplicates {raw['duplicates']}, lost {raw['lost']}"
            )
            good = good and raw["sent"] / raw["deliver_s"] >= 200
            good = good and not (raw["duplicates"] or raw["lost"])
        runtime.engine.dispose()
    print("targets met" if good else "targets NOT met")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
