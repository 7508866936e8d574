"""Operating the bot: each process asks only for the secrets it needs, database errors are
one clear line, and the CLI's operator tools. Real processes, real databases."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.db import make_engine
from bot.migrate import upgrade
from bot.models import WorkerHeartbeat
from tests.conftest import (
    BOT_TOKEN,
    free_port,
    fresh_postgres_schema,
    fresh_sqlite_url,
    postgres_url_or_skip,
)
from tests.tcp_forwarder import TcpForwarder
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


def test_migrate_on_a_database_that_does_not_exist_says_so_in_one_line(tmp_path):
    base = make_url(postgres_url_or_skip())
    missing = base.set(database=f"mlops_no_such_db_{os.getpid()}")
    url = missing.render_as_string(hide_password=False)
    result = mlops_bot("migrate", cwd=tmp_path, env=clean_env(DATABASE_URL=url))
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("mlops-bot: database error:")
    assert f'database "mlops_no_such_db_{os.getpid()}" does not exist' in line
    assert line.endswith("(check DATABASE_URL)")


def _read_lines(stream, into: list[str]) -> None:
    for line in stream:
        into.append(line)


def test_worker_logs_a_database_outage_once_and_a_summary_when_it_is_back(tmp_path, slack):
    """The database goes away under a running worker and comes back: three lines, no traces."""
    direct = fresh_postgres_schema(postgres_url_or_skip(), f"mlops_outage_{os.getpid()}")
    upgrade(direct)
    real = make_url(direct)
    forwarder = TcpForwarder(free_port(), (real.host or "127.0.0.1", real.port or 5432)).start()
    through = real.set(host="127.0.0.1", port=forwarder.port).render_as_string(hide_password=False)
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url, DATABASE_URL=through)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
    reader.start()

    def wait_for(text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in lines):
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, f"no {text!r} in:\n" + "".join(lines)
            time.sleep(0.2)

    engine = make_engine(direct)
    try:
        wait_for("worker started")
        deadline = time.monotonic() + 30
        with engine.connect() as connection:
            query = select(func.count()).select_from(WorkerHeartbeat)
            while not connection.execute(query).scalar():
                assert time.monotonic() < deadline, "the worker never ticked"
                time.sleep(0.2)
        forwarder.stop()  # the outage
        wait_for("database unavailable")
        time.sleep(6)  # several drains' worth: each would have logged a traceback before
        forwarder.start()
        wait_for("database is back")
    finally:
        engine.dispose()
        forwarder.stop()
        process.terminate()
        process.wait(timeout=15)
        reader.join(timeout=5)
    output = "".join(lines)
    assert "Traceback" not in output
    (outage,) = [line for line in lines if "database unavailable" in line]
    assert "while draining the outbox" in outage and "retrying with backoff" in outage
    (back,) = [line for line in lines if "database is back" in line]
    assert re.search(r"after \d+ s of outage \(\d+ failed attempts?\)", back)
