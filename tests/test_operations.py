"""Operating the bot: each process asks only for the secrets it needs, database errors are
one clear line, and the CLI's operator tools. Real processes, real databases."""

from __future__ import annotations

import subprocess
import sys
import time

from sqlalchemy import func, select

from bot.db import make_engine
from bot.migrate import upgrade
from bot.models import WorkerHeartbeat
from tests.conftest import BOT_TOKEN, fresh_sqlite_url
from tests.test_cli import clean_env, mlops_bot


def test_jobs_due_and_export_need_no_signing_secret(tmp_path, slack):
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url, DATABASE_URL=url)
    due = mlops_bot("jobs", "due", "--at", "2026-11-30T09:00Z", cwd=tmp_path, env=env)
    assert due.returncode == 0, due.stderr
    assert due.stdout.startswith("due at 2026-11-30 09:00 UTC: digest 0")

    export = mlops_bot(
        "export", "--workspace", "T0NONE", cwd=tmp_path, env=clean_env(DATABASE_URL=url)
    )
    assert "SLACK_SIGNING_SECRET" not in export.stderr
    assert export.stderr.strip() == "mlops-bot: no workspace T0NONE in the database"


def test_worker_runs_without_a_signing_secret(tmp_path, slack):
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url, DATABASE_URL=url)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    engine = make_engine(url)
    try:
        deadline = time.monotonic() + 30
        while True:  # the first tick runs at start and leaves its heartbeat
            assert process.poll() is None, process.communicate()[0]
            with engine.connect() as connection:
                ticks = connection.execute(select(func.count()).select_from(WorkerHeartbeat))
                if ticks.scalar():
                    break
            assert time.monotonic() < deadline, "the worker never ticked"
            time.sleep(0.2)
    finally:
        engine.dispose()
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert "SLACK_SIGNING_SECRET" not in output
    assert "Traceback" not in output


def test_web_still_needs_the_signing_secret(tmp_path):
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, DATABASE_URL=fresh_sqlite_url(tmp_path))
    result = mlops_bot("web", cwd=tmp_path, env=env, timeout=30)
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET is not set" in result.stderr
