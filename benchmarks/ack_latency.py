# ruff: noqa: E402
"""Acknowledgement latency of the bot's web process beside a bare Bolt app that only acks.

The bare app runs under gunicorn (gthread, 1 worker, 8 threads); the bot runs as
`mlops-bot web`. Both are signed by the same client and talk to the same Web API stand-in,
in a process of its own as Slack would be. Each scenario sends `--requests` requests at 1
and at 20 concurrent clients (a closed loop) and times the HTTP answer, which is what
Slack's 3-second rule measures:

- `/mlops help` and `/mlops status Fraud ML`;
- an answer click that saves: every click answers the current question of an assessment
  of its own (set up before the run), and the run checks afterwards that each was saved.

    .venv/bin/python benchmarks/ack_latency.py [--requests 300] [--repeat 1]
        [--database-url postgresql+psycopg://...] [--think-ms 0]

It prints, per scenario and concurrency, p50/p99 of both, the p99 ratio and the
throughput of both. `--repeat N` runs the whole table N times, to show the noise.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select

from bot.app import Runtime
from bot.config import Settings
from bot.domain import DEFAULT_CHECKLIST
from bot.migrate import upgrade
from bot.models import AnswerRecord, Assessment
from bot.services import assessments, workspaces
from bot.services import teams as team_service
from tests.signed_client import SlackClient
from tests.slack_web_api import FakeSlack

SECRET = "benchmark-secret"
CONCURRENCY = (1, 20)
WARM_UP = 20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(
    client_factory, requests: int, concurrency: int, make_request, think: float = 0.0
) -> list[float]:
    """Each client sends its share of `requests`, pausing `think` seconds after each answer
    (0: a closed loop that keeps the server saturated)."""
    latencies: list[float] = []

    def worker(index: int) -> None:
        client = client_factory()
        if think:  # spread the clients out, as people are
            time.sleep(think * index / concurrency)
        for number in range(index, requests, concurrency):
            started = time.perf_counter()
            response = make_request(client, number)
            latencies.append(time.perf_counter() - started)
            assert response.status == 200, (response.status, response.body)
            if think:
                time.sleep(think)

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    return latencies


def serve_fake_slack(port_file: str) -> None:
    """`--serve-slack`: the Web API stand-in in a process of its own, as Slack would be."""
    # One response URL serves every request, for as long as the run lasts. Slack's per-method
    # limits are fanout.py's subject; here they would only measure the stand-in.
    slack = FakeSlack(
        response_url_max_uses=10**9, response_url_ttl=float("inf"), rate_limits=False
    ).start()
    # one response URL for every request: the clients live in another process
    Path(port_file).write_text(slack.api_url + " " + slack.response_url("bench"))
    while True:
        time.sleep(60)
        slack.reset()  # keep memory flat over long runs


class RemoteSlack:
    """What the signed client asks of the stand-in, when the stand-in is another process."""

    def __init__(self, response_url: str):
        self.url = response_url

    def response_url(self, *args, **kwargs) -> str:
        return self.url

    def new_trigger_id(self) -> str:
        return f"{time.time():.6f}.bench"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str) -> None:
    for _ in range(200):
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not start")


def serve_bare(port: int, env: dict[str, str]) -> subprocess.Popen:
    """The baseline: a Bolt app that only acks, under gunicorn gthread, 1 worker, 8 threads."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--worker-class",
            "gthread",
            "--workers",
            "1",
            "--threads",
            "8",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "benchmarks.bare_app:application",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )


def prepare_clicks(runtime: Runtime, count: int, label: str) -> list[str]:
    """`count` assessments in progress, one per team; the click values that answer their
    current (first) question, so that every measured click saves an answer."""
    first = DEFAULT_CHECKLIST.capabilities[0].id
    values = []
    with runtime.session_factory() as session:
        for number in range(count):
            team = team_service.create_team(session, "T0TEST", f"Click {label} {number}", "U1")
            session.flush()
            assessments.start_or_resume(session, team, "U1")
            assessment_id = session.scalar(
                select(func.max(Assessment.id)).where(Assessment.team_id == team.id)
            )
            values.append(
                json.dumps(
                    {"assessment_id": assessment_id, "capability_id": first, "answer": "yes"}
                )
            )
        session.commit()
    return values


def answers_saved(runtime: Runtime) -> int:
    with runtime.session_factory() as session:
        return session.scalar(select(func.count()).select_from(AnswerRecord)) or 0


def measure(
    urls: dict[str, str], remote, runtime: Runtime, requests: int, think: float, round_: int
) -> dict[tuple[str, int, str], tuple[list[float], float]]:
    """One table: (scenario, clients, server) -> (latencies, requests per second)."""
    results = {}
    scenarios = {
        "/mlops help": lambda values: lambda c, n: c.command("help", user_id="U1"),
        "/mlops status Fraud ML": lambda values: (
            lambda c, n: c.command("status Fraud ML", user_id="U1")
        ),
        "answer click (saves)": lambda values: (
            lambda c, n: c.block_action(
                "answer_yes", value=values[n], block_id="answers", user_id="U1"
            )
        ),
    }
    for scenario, make in scenarios.items():
        for clients in CONCURRENCY:
            for name, server_url in urls.items():
                values: list[str] = []
                if scenario.startswith("answer"):
                    values = prepare_clicks(
                        runtime, requests + WARM_UP, f"{round_}-{clients}-{name}"
                    )
                    saved_before = answers_saved(runtime)

                def factory(server_url=server_url):
                    return SlackClient(server_url, SECRET, fake_slack=remote)

                run(factory, WARM_UP, clients, make(values[:WARM_UP]))
                time.sleep(0.5)
                started = time.perf_counter()
                latencies = run(factory, requests, clients, make(values[WARM_UP:]), think)
                elapsed = time.perf_counter() - started
                results[(scenario, clients, name)] = (latencies, requests / elapsed)
                if values and name == "bot":
                    expected = saved_before + requests + WARM_UP
                    deadline = time.monotonic() + 30
                    while answers_saved(runtime) < expected and time.monotonic() < deadline:
                        time.sleep(0.1)
                    saved = answers_saved(runtime) - saved_before
                    if saved != requests + WARM_UP:
                        print(f"  ! only {saved} of {requests + WARM_UP} clicks were saved")
                time.sleep(1)  # let the bot finish its post-ack work
    return results


def print_table(results, round_: int) -> None:
    print(f"\nround {round_}")
    print("| request | clients | bare p50 / p99 | bot p50 / p99 | p99 ratio | bare / bot req/s |")
    print("|---|---|---|---|---|---|")
    for scenario in dict.fromkeys(key[0] for key in results):
        for clients in CONCURRENCY:
            bare, bare_rate = results[(scenario, clients, "bare")]
            ours, our_rate = results[(scenario, clients, "bot")]
            b50, b99 = statistics.median(bare) * 1000, percentile(bare, 0.99) * 1000
            o50, o99 = statistics.median(ours) * 1000, percentile(ours, 0.99) * 1000
            print(
                f"| {scenario} | {clients} | {b50:.1f} / {b99:.1f} ms | {o50:.1f} / {o99:.1f} ms"
                f" | {o99 / b99:.2f}x | {bare_rate:.0f} / {our_rate:.0f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="requests per scenario")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the whole table")
    parser.add_argument("--database-url", help="the bot's database (default: a SQLite file)")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0,
        help="pause of each client after each answer (0: saturate the server)",
    )
    parser.add_argument("--serve-slack", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_slack:
        return serve_fake_slack(args.serve_slack)

    workdir = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    upgrade(url)
    processes = []
    try:
        port_file = workdir / "slack-url"
        processes.append(
            subprocess.Popen([sys.executable, __file__, "--serve-slack", str(port_file)])
        )
        for _ in range(200):
            if port_file.exists() and port_file.read_text():
                break
            time.sleep(0.05)
        api_url, response_url = port_file.read_text().split()
        remote = RemoteSlack(response_url)
        settings = Settings(
            slack_bot_token="xoxb-test-token",
            slack_signing_secret=SECRET,
            slack_api_url=api_url,
            database_url=url,
        )
        runtime = Runtime.from_settings(settings)
        with runtime.session_factory() as session:
            workspaces.ensure(session, "T0TEST")
            team = team_service.create_team(session, "T0TEST", "Fraud ML", "U1")
            session.flush()
            assessments.start_or_resume(session, team, "U1")
            session.commit()
        ports = {"bare": free_port(), "bot": free_port()}
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
        }
        web = [sys.executable, "-m", "bot.cli", "web", "--host", "127.0.0.1"]
        processes.append(
            subprocess.Popen(
                [*web, "--port", str(ports["bot"])],
                env=env,
                cwd=ROOT,
                stderr=subprocess.DEVNULL,
            )
        )
        processes.append(serve_bare(ports["bare"], env))
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for server_url in urls.values():
            wait_healthy(server_url)
        kind = url.split(":")[0]
        print(f"{args.requests} requests per level; {os.cpu_count()} CPUs; database {kind}")
        for round_ in range(1, args.repeat + 1):
            results = measure(urls, remote, runtime, args.requests, args.think_ms / 1000, round_)
            print_table(results, round_)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
