"""A worker process for the crash and concurrency tests: drain the outbox once and exit.

Run as `python -m tests.delivery.drain_child DATABASE_URL SLACK_API_URL LEASE_SECONDS`; a
real process, so the tests can SIGKILL it or run two against one database.
"""

from __future__ import annotations

import json
import sys

from bot.app import Runtime
from bot.config import Settings
from bot.outbox import Pacer
from bot.worker import make_sender


def main(database_url: str, api_url: str, lease_seconds: str) -> None:
    settings = Settings(
        slack_bot_token="xoxb-test-token",
        slack_signing_secret="unused",
        slack_api_url=api_url,
        database_url=database_url,
    )
    runtime = Runtime.from_settings(settings)
    sender = make_sender(
        runtime,
        pacer=Pacer(None, 1, None, 1),
        lease_seconds=float(lease_seconds),
        threads=4,
        batch=20,
    )
    print("ready", flush=True)
    sys.stdin.readline()  # "go": lets a test start several workers at the same moment
    result = sender.drain()
    sender.close()
    print(json.dumps({"sent": result.sent, "lost_lease": result.lost_lease}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
