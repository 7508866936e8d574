# ruff: noqa: E402
"""Peak memory of `mlops-bot web` when a stranger posts one huge unsigned body (issue 18).

For each server (waitress: one process; gunicorn: `--workers 2`) and each way of sending
(a declared Content-Length, and chunked), a fresh web process is started on SQLite, one
POST /slack/events of --size-mb megabytes with a bogus signature is sent, and the rise of
the processes' peak resident memory (VmHWM in /proc, summed over master and workers) is
reported with the answer and how long it took.

    .venv/bin/python benchmarks/body_limit.py                        # this checkout
    .venv/bin/python benchmarks/body_limit.py --source /tmp/before   # another checkout's bot

`--source` runs the web process from another copy of the code (e.g. `git archive` of an
older commit), so the same measurement gives the before and after figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.migrate import upgrade
from tests.conftest import BOT_TOKEN, free_port, fresh_sqlite_url
from tests.public_port import MB, WebProcess, peak_kb, rise_kb, send_body
from tests.slack_web_api import FakeSlack


def measure(
    source: Path, workers: int, size: int, chunked: bool, slack: FakeSlack, log_level: str
) -> str:
    workdir = Path(tempfile.mkdtemp(prefix="mlops-body-limit-"))
    url = fresh_sqlite_url(workdir)
    upgrade(url)
    env = {
        "PYTHONPATH": str(source),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": "benchmark-secret",
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": url,
        "LOG_LEVEL": log_level,
    }
    server = WebProcess(env, free_port(), workdir, workers=workers).wait_ready(workers)
    try:
        before = peak_kb(server.process.pid)
        answer = send_body("127.0.0.1", server.port, size, chunked=chunked)
        after = peak_kb(server.process.pid)
    finally:
        server.stop()
    return (
        f"{'gunicorn x2' if workers > 1 else 'waitress':12} "
        f"{'chunked' if chunked else 'Content-Length':15} "
        f"answer {answer.status!s:5} in {answer.seconds:6.2f} s, "
        f"sent {answer.sent / MB:6.1f} MB, peak {sum(before.values()) / 1024:7.1f} MB -> "
        f"{sum(after.values()) / 1024:7.1f} MB (rise {rise_kb(before, after) / 1024:7.1f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=300)
    parser.add_argument("--source", type=Path, default=ROOT, help="the bot's code to run")
    parser.add_argument("--servers", default="waitress,gunicorn")
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL of the web process")
    args = parser.parse_args()
    servers = {"waitress": 1, "gunicorn": 2}
    print(
        f"{args.size_mb} MB unsigned POST /slack/events, LOG_LEVEL={args.log_level}, "
        f"bot code from {args.source}"
    )
    with FakeSlack() as slack:
        for name in args.servers.split(","):
            for chunked in (False, True):
                line = measure(
                    args.source, servers[name], args.size_mb * MB, chunked, slack, args.log_level
                )
                print(line, flush=True)


if __name__ == "__main__":
    main()
