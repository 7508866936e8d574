# ruff: noqa: E402
"""Sustained load, and faults under load, against the bot as it is deployed.

Topologies: `multi` is gunicorn with 2 web processes x 8 threads, a ticking worker and a
drain-only worker on PostgreSQL (TEST_DATABASE_URL or the local server); `single` is one
web process and one worker on SQLite. The Web API stand-in runs in its own process, as Slack would.

Each client owns a team and behaves like a person: it types `/mlops assess`, then clicks
an answer, waits until the answer is saved (as the person waits for the message to move
on), clicks the next, and starts again when the assessment is done. A click whose answer
does not appear (the bot told the person it could not save) is clicked again.

    .venv/bin/python benchmarks/load.py --topology multi --duration 120 --clients 16
    .venv/bin/python benchmarks/load.py --topology multi --fault pg-restart
    .venv/bin/python benchmarks/load.py --topology multi --fault kill-web
    .venv/bin/python benchmarks/load.py --topology multi --fault slack-errors

It reports throughput, acknowledgement latency (p50/p99), errors, re-clicks, and checks
that no answer was lost or recorded twice. Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text

from benchmarks.ack_latency import RemoteSlack, free_port
from bot.db import make_engine
from bot.domain import DEFAULT_CHECKLIST
from bot.migrate import upgrade
from bot.models import AnswerRecord, Assessment, AssessmentStatus, Team
from tests.signed_client import SlackClient

SECRET = "load-secret"
CAPABILITIES = list(DEFAULT_CHECKLIST.ids)


def serve_slack(port_file: str, chaos: bool) -> None:
    """The stand-in; with `chaos`, bursts of 500s and 429s every few seconds."""
    from tests.slack_web_api import FakeSlack

    # One response URL serves every request, for as long as the run lasts. Slack's per-method
    # limits are fanout.py's subject; here they would only measure the stand-in.
    slack = FakeSlack(
        response_url_max_uses=10**9, response_url_ttl=float("inf"), rate_limits=False
    ).start()
    Path(port_file).write_text(slack.api_url + " " + slack.response_url("load"))
    round_ = 0
    while True:
        time.sleep(3)
        round_ += 1
        slack.reset()  # keeps memory flat; faults are set again below
        if chaos:
            for method in ("chat.postMessage", "response_url", "views.publish"):
                if round_ % 2:
                    slack.server_error(method, status=500, times=5)
                else:
                    slack.rate_limit(method, retry_after=1, times=5)


def fresh_postgres(base: str) -> str:
    from tests.conftest import fresh_postgres_schema

    return fresh_postgres_schema(base, f"mlops_load_{os.getpid()}")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.reclicks = 0
        self.confirmed = 0
        # every answer click: (assessment, capability, the clicking user id, acknowledged 200)
        self.clicks: list[tuple[int, str, str, bool]] = []
        self.timeline: list[tuple[float, bool]] = []

    def request(self, seconds: float, ok: bool, what: str = "") -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.timeline.append((time.monotonic(), ok))
            if not ok:
                self.errors[what] += 1


def client_loop(number, url, remote, engine, stop, stats) -> None:
    """One person assessing their team again and again."""
    client = SlackClient(url, SECRET, fake_slack=remote, timeout=10)
    user, team_name = f"U{number}", f"Load {number}"

    def post(action):
        started = time.perf_counter()
        try:
            response = action()
        except OSError as error:
            stats.request(time.perf_counter() - started, False, type(error).__name__)
            return False
        ok = response.status == 200
        stats.request(time.perf_counter() - started, ok, f"HTTP {response.status}")
        return ok

    attempts = 0

    def current():
        try:
            with engine.connect() as connection:
                row = connection.execute(
                    select(Assessment.id, Assessment.position)
                    .join(Team, Team.id == Assessment.team_id)
                    .where(
                        Team.name == team_name, Assessment.status == AssessmentStatus.IN_PROGRESS
                    )
                ).first()
                return (row[0], row[1]) if row else None
        except Exception:
            return "db-down"

    while not stop.is_set():
        if not post(lambda: client.command(f"assess {team_name}", user_id=user, channel_id="C1")):
            time.sleep(0.2)
            continue
        deadline = time.monotonic() + 10
        state = None
        while time.monotonic() < deadline and not stop.is_set():
            state = current()
            if isinstance(state, tuple):
                break
            time.sleep(0.05)
        if not isinstance(state, tuple):
            continue
        assessment_id, position = state
        while position < len(CAPABILITIES) and not stop.is_set():
            value = json.dumps(
                {
                    "assessment_id": assessment_id,
                    "capability_id": CAPABILITIES[position],
                    "answer": "yes",
                }
            )
            # Each click comes from a user id of its own, so the saved row names the click
            # that saved it (answers record who clicked; anyone may answer).
            attempts += 1
            clicker = f"{user}x{attempts}"
            acknowledged = post(
                lambda value=value, clicker=clicker: client.block_action(
                    "answer_yes", value=value, block_id="answers", user_id=clicker, channel_id="C1"
                )
            )
            with stats.lock:
                stats.clicks.append((assessment_id, CAPABILITIES[position], clicker, acknowledged))
            deadline = time.monotonic() + 5
            moved = False
            while time.monotonic() < deadline:
                state = current()
                if state is None or (isinstance(state, tuple) and state[1] > position):
                    moved = True
                    break
                time.sleep(0.02)
            if moved:
                with stats.lock:
                    stats.confirmed += 1
                if state is None:  # finished
                    break
                position = state[1]
            else:
                with stats.lock:
                    stats.reclicks += 1


def lost_clicks(
    clicks: list[tuple[int, str, str, bool]], saved_by: dict[tuple[int, str], str]
) -> list[tuple[int, str, str]]:
    """Clicks acknowledged with 200 whose answer the bot did not save.

    A click is fine when its own answer row exists, or when it came after the click that
    saved that question (it was stale, rightly ignored). Any other acknowledged click was
    lost, even if the person's re-click saved the answer later: Slack showed them success.
    """
    lost = []
    seen_saver: set[tuple[int, str]] = set()
    for assessment_id, capability, clicker, acknowledged in clicks:
        key = (assessment_id, capability)
        if saved_by.get(key) == clicker:
            seen_saver.add(key)
        elif acknowledged and key not in seen_saver:
            lost.append((assessment_id, capability, clicker))
    return lost


def start_processes(args, workdir: Path, env: dict, port: int) -> list[subprocess.Popen]:
    command = [sys.executable, "-m", "bot.cli"]
    web = [*command, "web", "--host", "127.0.0.1", "--port", str(port)]
    if args.topology == "multi":
        web += ["--workers", "2", "--threads", "8"]
    out = (workdir / "processes.log").open("w")  # noqa: SIM115 - lives as long as they do
    processes = [subprocess.Popen(web, env=env, cwd=workdir, stdout=out, stderr=out)]
    workers = [[], ["--drain-only"]] if args.topology == "multi" else [[]]
    for extra in workers:  # multi: one worker ticks, the other only sends
        processes.append(
            subprocess.Popen(
                [*command, "worker", *extra], env=env, cwd=workdir, stdout=out, stderr=out
            )
        )
    return processes


def inject(fault: str, processes: list[subprocess.Popen], log) -> None:
    if fault == "pg-restart":
        version = sorted(os.listdir("/etc/postgresql"))[0]
        log(f"fault: restarting PostgreSQL {version}")
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
            check=True,
        )
        log("fault: PostgreSQL is back")
    elif fault == "kill-web":
        children = subprocess.run(
            ["pgrep", "-P", str(processes[0].pid)], capture_output=True, text=True
        ).stdout.split()
        if children:
            log(f"fault: SIGKILL web worker process {children[0]} mid-load")
            os.kill(int(children[0]), signal.SIGKILL)
        else:
            log(f"fault: SIGKILL the web process {processes[0].pid}, then start it again")
            processes[0].kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--topology", choices=["multi", "single"], default="multi")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (60)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--fault", choices=["none", "pg-restart", "kill-web", "slack-errors"], default="none"
    )
    parser.add_argument("--serve-slack", help=argparse.SUPPRESS)
    parser.add_argument("--chaos", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_slack:
        return serve_slack(args.serve_slack, args.chaos)

    started_at = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - started_at:6.1f}s] {message}", flush=True)

    workdir = Path(tempfile.mkdtemp())
    if args.topology == "multi":
        base = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
        url = fresh_postgres(base.replace("postgresql://", "postgresql+psycopg://", 1))
    else:
        url = f"sqlite:///{workdir / 'load.db'}"
    upgrade(url)
    engine = (
        make_engine(url, pool_size=args.clients + 2) if "postgresql" in url else make_engine(url)
    )

    port_file = workdir / "slack"
    slack_cmd = [sys.executable, __file__, "--serve-slack", str(port_file)]
    if args.fault == "slack-errors":
        slack_cmd.append("--chaos")
    slack = subprocess.Popen(slack_cmd)
    while not (port_file.exists() and port_file.read_text()):
        time.sleep(0.05)
    api_url, response_url = port_file.read_text().split()
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SLACK_")},
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
    }
    processes = start_processes(args, workdir, env, port)
    base_url = f"http://127.0.0.1:{port}"
    probe = SlackClient(base_url, SECRET)
    for _ in range(300):
        try:
            if probe.get("/healthz").status == 200:
                break
        except OSError:
            time.sleep(0.1)
    log(f"{args.topology}: {args.clients} clients for {args.duration:.0f}s, fault {args.fault}")

    stats, stop = Stats(), threading.Event()
    remote = RemoteSlack(response_url)
    threads = [
        threading.Thread(
            target=client_loop, args=(n, base_url, remote, engine, stop, stats), daemon=True
        )
        for n in range(args.clients)
    ]
    load_started = time.monotonic()
    for thread in threads:
        thread.start()
    fault_at = load_started + args.duration / 3
    fault_done = args.fault in ("none", "slack-errors")
    while time.monotonic() - load_started < args.duration:
        time.sleep(0.2)
        if not fault_done and time.monotonic() >= fault_at:
            inject(args.fault, processes, log)
            fault_done = True
            if processes[0].poll() is not None:  # the single web process was killed
                processes[0] = start_processes(args, workdir, env, port)[0]
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    elapsed = time.monotonic() - load_started
    time.sleep(2)

    with engine.connect() as connection:
        answers = connection.execute(select(func.count()).select_from(AnswerRecord)).scalar()
        doubles = connection.execute(
            select(func.count()).select_from(
                select(AnswerRecord.assessment_id, AnswerRecord.capability_id)
                .group_by(AnswerRecord.assessment_id, AnswerRecord.capability_id)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar()
        finished = connection.execute(
            select(func.count())
            .select_from(Assessment)
            .where(Assessment.status == AssessmentStatus.COMPLETED)
        ).scalar()
        saved_by = {
            (row.assessment_id, row.capability_id): row.answered_by
            for row in connection.execute(
                select(
                    AnswerRecord.assessment_id, AnswerRecord.capability_id, AnswerRecord.answered_by
                )
            )
        }
        connection.execute(text("SELECT 1"))

    latencies = sorted(stats.latencies)
    ok = len(latencies) - sum(stats.errors.values())
    print()
    print(f"topology {args.topology}, fault {args.fault}, {args.clients} clients, {elapsed:.0f}s")
    print(f"requests        {len(latencies)} ({len(latencies) / elapsed:.1f}/s), ok {ok}")
    print(
        f"ack p50 / p99   {statistics.median(latencies) * 1000:.1f} / "
        f"{latencies[int(0.99 * (len(latencies) - 1))] * 1000:.1f} ms"
    )
    print(f"errors          {dict(stats.errors) or 0}")
    print(
        f"answers saved   {answers} (confirmed clicks {stats.confirmed}, re-clicks "
        f"{stats.reclicks}), assessments finished {finished}"
    )
    print(f"answers twice   {doubles}")
    lost = lost_clicks(stats.clicks, saved_by)
    print(f"answers lost    {len(lost)} (clicks acknowledged with 200 and never saved)")
    for assessment_id, capability, clicker in lost[:5]:
        print(f"  lost: assessment {assessment_id} {capability} clicked as {clicker}")
    if args.fault not in ("none",):
        failures = [t for t, good in stats.timeline if not good]
        if failures:
            print(
                f"failed requests between {failures[0] - load_started:.1f}s and "
                f"{failures[-1] - load_started:.1f}s"
            )
    for process in processes:
        process.terminate()
    slack.terminate()
    for process in [*processes, slack]:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    engine.dispose()


if __name__ == "__main__":
    main()
