# ruff: noqa: E402
"""Acknowledgement latency of the real bot against a bare Bolt app that only acks.

Both run the same way (waitress on loopback, signature checks on, the Web API stand-in as
Slack); clients post correctly signed slash commands and button clicks and time the HTTP
answer, which is what Slack's 3-second rule measures. Run:

    .venv/bin/python benchmarks/ack_latency.py [--requests 400] [--think-ms 0]

It prints p50/p99 per scenario at 1 and 20 concurrent clients, the ratio to the bare app,
and the SQL statements one click runs with 1 team and with 500 teams.
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

from slack_bolt import App
from sqlalchemy import event

from bot.app import Runtime, create_app, make_web_client
from bot.config import Settings
from bot.migrate import upgrade
from bot.services import (
    overview,
    workspaces,
)
from bot.services import teams as team_service
from bot.web import Server, WebApp
from tests.signed_client import SlackClient
from tests.slack_web_api import FakeSlack

SECRET = "benchmark-secret"
TEAMS = 20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bare_app(settings: Settings) -> App:
    app = App(signing_secret=SECRET, client=make_web_client(settings))
    app.command(settings.slash_command)(lambda ack: ack())
    app.action({"action_id": "answer_yes"})(lambda ack: ack())
    return app


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


def click_value(assessment_id: int) -> str:
    return json.dumps({"a": assessment_id, "c": "data_versioning", "v": "yes"})


def serve_bare(port: int, api_url: str) -> None:
    """`--serve-bare`: the baseline, a Bolt app that only acks, on the same server."""
    settings = Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret=SECRET,
        slack_api_url=api_url,
        database_url="sqlite://",
    )
    runtime = Runtime.from_settings(settings)
    Server(WebApp(bare_app(settings), runtime), "127.0.0.1", port).serve_forever()


def serve_fake_slack(port_file: str) -> None:
    """`--serve-slack`: the Web API stand-in in a process of its own, as Slack would be."""
    slack = FakeSlack(response_url_max_uses=10**9).start()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per scenario")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0,
        help="pause of each client after each answer (0: saturate the server)",
    )
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-slack", help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_slack:
        return serve_fake_slack(args.serve_slack)
    if args.serve_bare:
        return serve_bare(args.serve_bare, args.api_url)

    workdir = Path(tempfile.mkdtemp())
    url = f"sqlite:///{workdir / 'bench.db'}"
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
            for number in range(TEAMS):
                team_service.create_team(session, "T0TEST", f"Bench {number}", f"U{number}")
            session.commit()
        ports = {"bot": free_port(), "bare": free_port()}
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
        }
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bot.cli",
                    "web",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ports["bot"]),
                ],
                env=env,
                cwd=ROOT,
                stderr=subprocess.DEVNULL,
            )
        )
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--serve-bare",
                    str(ports["bare"]),
                    "--api-url",
                    api_url,
                ],
                env=env,
                stderr=subprocess.DEVNULL,
            )
        )
        urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for server_url in urls.values():
            wait_healthy(server_url)

        # one assessment in progress per team, so clicks are real answers (or stale ones)
        setup = SlackClient(urls["bot"], SECRET, fake_slack=remote)
        for number in range(TEAMS):
            setup.command(f"assess Bench {number}", user_id=f"U{number}")
        time.sleep(1)

        scenarios = {
            "command": lambda c, n: c.command(f"status Bench {n % TEAMS}", user_id=f"U{n % TEAMS}"),
            "click": lambda c, n: c.block_action(
                "answer_yes",
                value=click_value(n % TEAMS + 1),
                block_id="answers",
                user_id=f"U{n % TEAMS}",
            ),
        }
        results: dict[tuple[str, str, int], list[float]] = {}
        for kind, make_request in scenarios.items():
            for concurrency in (1, 20):
                for name, server_url in urls.items():

                    def factory(server_url=server_url):
                        return SlackClient(server_url, SECRET, fake_slack=remote)

                    count = args.requests if concurrency > 1 else args.requests // 4
                    run(factory, 20, concurrency, make_request)  # warm up
                    time.sleep(0.5)
                    results[(kind, name, concurrency)] = run(
                        factory, count, concurrency, make_request, args.think_ms / 1000
                    )
                    time.sleep(1)  # let the bot finish its post-ack work

        print(
            f"{'scenario':<22}{'p50 ms':>9}{'p99 ms':>9}{'bare p50':>10}{'bare p99':>10}"
            f"{'p99 ratio':>10}"
        )
        for kind in scenarios:
            for concurrency in (1, 20):
                ours = results[(kind, "bot", concurrency)]
                bare = results[(kind, "bare", concurrency)]
                p99, bare99 = percentile(ours, 0.99) * 1000, percentile(bare, 0.99) * 1000
                print(
                    f"{kind + ' x' + str(concurrency):<22}"
                    f"{statistics.median(ours) * 1000:>9.1f}{p99:>9.1f}"
                    f"{statistics.median(bare) * 1000:>10.1f}{bare99:>10.1f}{p99 / bare99:>10.2f}"
                )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
    count_statements(url)


def count_statements(url: str) -> None:
    """SQL statements of one answer click, with few and with many teams (in-process)."""
    with FakeSlack() as slack:
        settings = Settings(
            slack_bot_token="xoxb-test-token",
            slack_signing_secret=SECRET,
            slack_api_url=slack.api_url,
            database_url=url,
        )
        runtime = Runtime.from_settings(settings)
        server = Server(WebApp(create_app(settings, runtime), runtime), "127.0.0.1", 0).start()
        statements = []

        def count_statement(*args):
            statements.append(args[2])

        client = SlackClient(server.url, SECRET, fake_slack=slack)
        for extra in (0, 480):
            with runtime.session_factory() as session:
                for number in range(extra):
                    team_service.create_team(session, "T0TEST", f"Extra {number}", "U1")
                session.commit()
            before = len(slack.calls_to("response_url"))
            client.command(f"assess Stmt {extra}", user_id="UX")
            calls = slack.wait_for("response_url", count=before + 1, timeout=10)
            value = calls[before].args["blocks"][-2]["elements"][0]["value"]
            time.sleep(0.3)
            statements.clear()
            event.listen(runtime.engine, "before_cursor_execute", count_statement)
            before = len(slack.calls_to("response_url"))
            client.block_action("answer_yes", value=value, block_id="answers", user_id="UX")
            slack.wait_for("response_url", count=before + 1, timeout=10)
            time.sleep(0.3)
            event.remove(runtime.engine, "before_cursor_execute", count_statement)
            with runtime.session_factory() as session:
                teams = overview.level_counts(session, "T0TEST")[1]
            print(
                f"SQL statements for one click ({teams} teams in the workspace): {len(statements)}"
            )
        server.stop()


if __name__ == "__main__":
    main()
