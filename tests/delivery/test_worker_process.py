"""`mlops-bot worker` as deployed: a real process that announces a level change in seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.observability import worker_tick_age
from tests.delivery.conftest import key_of, posts

pytestmark = pytest.mark.slow  # the worker as its own process

ROOT = Path(__file__).resolve().parents[2]


def test_the_worker_process_announces_a_level_change_within_seconds(bot, org, database_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE"))}
    env.update(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=bot.slack.api_url,
        LOG_LEVEL="WARNING",
    )
    team = org.team("Fraud ML", home="CHOME", yes=5)
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while worker_tick_age(bot.runtime.engine) is None:  # its first tick: it is up
            assert worker.poll() is None, worker.communicate()[1]
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.05)
        change = org.level_change(team, 0, 1)
        enqueued = time.monotonic()
        bot.slack.wait_until(lambda: len(posts(bot.slack, "CHOME")) == 1, timeout=10)
        took = time.monotonic() - enqueued
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            _out, err = worker.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            _out, err = worker.communicate()
    assert "Traceback" not in err, err
    (post,) = posts(bot.slack, "CHOME")
    assert key_of(post) == f"level:{change}:CHOME"
    assert took < 4, f"took {took:.1f}s"
