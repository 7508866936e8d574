"""Operating the bot: each process asks only for the secrets it needs, database errors are
one clear line, and the CLI's operator tools. Real processes, real databases."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from bot.db import make_engine, make_session_factory
from bot.migrate import upgrade
from bot.models import WorkerHeartbeat, Workspace
from bot.sandbox.demo import seed
from tests.conftest import (
    BOT_TOKEN,
    free_port,
    fresh_postgres_schema,
    fresh_sqlite_url,
    postgres_url_or_skip,
)
from tests.signed_client import SlackClient
from tests.tcp_forwarder import TcpForwarder
from tests.test_cli import clean_env, mlops_bot, wait_for_page

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow  # real processes and a database outage


def _read_lines(stream, into: list[str]) -> None:
    for line in stream:
        into.append(line)


def _start(args: list[str], cwd, env) -> tuple[subprocess.Popen, list[str]]:
    """Start `mlops-bot ARGS`, collecting its output lines on a thread as they come."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    return process, lines


def _wait_for_line(text: str, process: subprocess.Popen, lines: list[str], timeout=60) -> None:
    """Until a line of the output contains `text`; the process must stay up meanwhile."""
    deadline = time.monotonic() + timeout
    while not any(text in line for line in lines):
        assert process.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, f"no {text!r} in:\n" + "".join(lines)
        time.sleep(0.1)


def _wait_for_first_tick(url: str, process: subprocess.Popen, lines: list[str]) -> None:
    """The worker's first tick runs at start and leaves its heartbeat in the database."""
    engine = make_engine(url)
    try:
        deadline = time.monotonic() + 30
        query = select(func.count()).select_from(WorkerHeartbeat)
        while True:  # a connection per look: on SQLite an open one would hold the write lock
            with engine.connect() as connection:
                if connection.execute(query).scalar():
                    return
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "the worker never ticked:\n" + "".join(lines)
            time.sleep(0.2)
    finally:
        engine.dispose()


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
    process, lines = _start(["worker"], tmp_path, env)
    try:
        _wait_for_first_tick(url, process, lines)
    finally:
        process.terminate()
        process.wait(timeout=15)
    output = "".join(lines)
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


def test_worker_logs_a_database_outage_once_and_a_summary_when_it_is_back(tmp_path, slack):
    """The database goes away under a running worker and comes back: three lines, no traces."""
    direct = fresh_postgres_schema(postgres_url_or_skip(), f"mlops_outage_{os.getpid()}")
    upgrade(direct)
    real = make_url(direct)
    forwarder = TcpForwarder(free_port(), (real.host or "127.0.0.1", real.port or 5432)).start()
    through = real.set(host="127.0.0.1", port=forwarder.port).render_as_string(hide_password=False)
    env = clean_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=slack.api_url, DATABASE_URL=through)
    process, lines = _start(["worker"], tmp_path, env)

    try:
        _wait_for_first_tick(direct, process, lines)
        forwarder.stop()  # the outage
        _wait_for_line("database unavailable", process, lines)
        time.sleep(6)  # several drains' worth: each would have logged a traceback before
        forwarder.start()
        _wait_for_line("database is back", process, lines)
    finally:
        forwarder.stop()
        process.terminate()
        process.wait(timeout=15)
    output = "".join(lines)
    assert "Traceback" not in output
    (outage,) = [line for line in lines if "database unavailable" in line]
    assert "while draining the outbox" in outage and "retrying with backoff" in outage
    (back,) = [line for line in lines if "database is back" in line]
    assert re.search(r"after \d+ s of outage \(\d+ failed attempts?\)", back)


def _healthz(port: int, process: subprocess.Popen, lines: list[str], until, timeout=60) -> dict:
    """GET /healthz until `until(report)` holds; the process must stay up all along."""
    deadline = time.monotonic() + timeout
    report: dict = {}
    while True:
        assert process.poll() is None, "".join(lines)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                assert answer.status == 200
                report = json.loads(answer.read())
            if until(report):
                return report
        except OSError:
            pass  # not listening yet
        assert time.monotonic() < deadline, f"/healthz said {report}:\n" + "".join(lines)
        time.sleep(0.2)


def test_web_starts_while_slack_is_unreachable_and_says_so_on_healthz(tmp_path, slack):
    """A Slack incident at start: serve anyway, report it, and recover when Slack is back."""
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    slack_port = urlsplit(slack.api_url).port
    gateway = TcpForwarder(free_port(), ("127.0.0.1", slack_port))  # off: Slack is down
    port, operator = free_port(), free_port()
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,  # in the environment, where Bolt reads it too
        SLACK_SIGNING_SECRET="start-secret",
        SLACK_API_URL=slack.api_url.replace(f":{slack_port}/", f":{gateway.port}/"),
        DATABASE_URL=url,
        METRICS_PORT=str(operator),
    )
    process, lines = _start(["web", "--host", "127.0.0.1", "--port", str(port)], tmp_path, env)
    try:
        down = _healthz(operator, process, lines, lambda r: r["slack"] != "checking")
        assert down["status"] == "degraded" and down["database"] is True
        assert down["slack"].startswith("Slack's Web API is not reachable")
        public = _healthz(port, process, lines, lambda r: True)
        assert public == {"status": "degraded", "database": True}  # the reason is not public
        time.sleep(3)  # retries go on meanwhile, quietly
        gateway.start()
        up = _healthz(operator, process, lines, lambda r: r["slack"] == "ok")
        assert up["status"] == "ok"
        client = SlackClient(
            base_url=f"http://127.0.0.1:{port}", signing_secret="start-secret", fake_slack=slack
        )
        assert client.command("help").status == 200
        (reply,) = slack.wait_for("response_url", timeout=10)
        assert "/mlops assess" in json.dumps(reply.args["blocks"])
    finally:
        gateway.stop()
        process.terminate()
        process.wait(timeout=15)
    output = "".join(lines)
    assert "Traceback" not in output
    assert len([line for line in lines if "not reachable" in line]) == 1, output
    assert "Slack answers again after" in output
    # Bolt's "As you gave `client` as well, `token` will be unused" and kin: not a warning
    # on every start.
    assert not [line for line in lines if "WARNING slack_bolt" in line], output


def _gunicorn_web(tmp_path, slack, **env_extra):
    """`mlops-bot web` with 2 gunicorn workers on a fresh database, up and answering:
    (process, output lines, a signed client, the operator's port)."""
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    port, operator = free_port(), free_port()
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET="gunicorn-secret",
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=url,
        METRICS_PORT=str(operator),
        **env_extra,
    )
    args = ["web", "--host", "127.0.0.1", "--port", str(port), "--workers", "2", "--threads", "2"]
    process, lines = _start(args, tmp_path, env)
    try:
        _healthz(operator, process, lines, lambda r: r.get("slack") == "ok")
    except BaseException:
        process.terminate()
        raise
    client = SlackClient(
        base_url=f"http://127.0.0.1:{port}", signing_secret="gunicorn-secret", fake_slack=slack
    )
    return process, lines, client, operator


def test_with_log_format_json_every_line_of_gunicorn_web_is_json(tmp_path, slack):
    process, lines, client, _operator = _gunicorn_web(tmp_path, slack, LOG_FORMAT="json")
    try:
        assert client.command("help").status == 200
        slack.wait_for("response_url", timeout=10)
    finally:
        process.terminate()  # gunicorn's graceful stop logs too
        process.wait(timeout=30)

    def parsed(line: str) -> dict | None:
        try:
            return json.loads(line)
        except ValueError:
            return None

    not_json = [line for line in lines if line.strip() and parsed(line) is None]
    assert not not_json, "".join(lines)
    entries = [parsed(line) for line in lines if line.strip()]
    loggers = {entry["logger"] for entry in entries}
    assert "gunicorn.error" in loggers, loggers
    messages = " | ".join(entry["message"] for entry in entries)
    assert "Booting worker" in messages and "Shutting down" in messages
    assert any(e["logger"] == "mlops_bot.requests" and e["status"] == 200 for e in entries)


_LATE_WORKER = """
import os, sys, tempfile, time
from pathlib import Path
from bot.multiprocess import remove_when_children_exited
shared, seen = Path(tempfile.mkdtemp(dir=sys.argv[1])), Path(sys.argv[1]) / "seen"
if os.fork() == 0:  # a worker still booting when the master's shutdown ends
    time.sleep(float(sys.argv[2]))
    seen.write_text("there" if shared.is_dir() else "gone")
    os._exit(0)
removed = remove_when_children_exited(shared, timeout=float(sys.argv[3]))
print(removed, shared.is_dir())
"""


@pytest.mark.parametrize(
    ("boot", "timeout", "removed"), [(1.0, 30, "True False"), (3.0, 0.3, "False True")]
)
def test_the_metrics_directory_outlives_every_web_worker(tmp_path, boot, timeout, removed):
    """The master removes the shared metrics directory only once no worker runs: a worker
    booting late must still find it (else it fails: "PROMETHEUS_MULTIPROC_DIR is not set or
    not a directory"); one that outlives the wait keeps it."""
    script = [sys.executable, "-c", _LATE_WORKER, str(tmp_path), str(boot), str(timeout)]
    result = subprocess.run(script, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == removed
    deadline = time.monotonic() + 30
    while not (tmp_path / "seen").exists():  # the orphaned child's report, when it lives on
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert (tmp_path / "seen").read_text() == "there"


def test_workspace_list_shows_the_workspaces_the_database_knows(tmp_path):
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    engine = make_engine(url)
    try:
        seed(make_session_factory(engine), datetime(2026, 11, 30, 9, tzinfo=UTC))
        with engine.begin() as connection:  # a second one, uninstalled and never named
            connection.execute(
                insert(Workspace).values(
                    id="T0GONE",
                    created_at=datetime(2026, 1, 5, tzinfo=UTC),
                    uninstalled_at=datetime(2026, 11, 2, tzinfo=UTC),
                )
            )
    finally:
        engine.dispose()
    result = mlops_bot("workspace", "list", cwd=tmp_path, env=clean_env(DATABASE_URL=url))
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["WORKSPACE", "NAME", "TEAMS", "ASSESSED", "FIRST", "SEEN", "STATE"]
    assert rows[0].split() == ["T0SANDBOX", "Sandbox", "Inc", "12", "12", "2025-10-26", "installed"]
    assert rows[1].split() == ["T0GONE", "-", "0", "0", "2026-01-05", "uninstalled", "2026-11-02"]


def test_workspace_list_on_an_empty_database_says_so(tmp_path):
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    result = mlops_bot("workspace", "list", cwd=tmp_path, env=clean_env(DATABASE_URL=url))
    assert result.returncode == 0 and result.stdout == ""
    assert "no workspaces in sqlite:///" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["export", "--workspace", "T0SANDBOX"], ["workspace", "list"], ["outbox"]],
)
def test_operator_tools_refuse_a_sqlite_path_that_does_not_exist(args, tmp_path):
    env = clean_env(DATABASE_URL="sqlite:///mlops-bot-typo.db")
    result = mlops_bot(*args, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "DATABASE_URL names mlops-bot-typo.db, which does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == [], "no empty database may be left behind"


def test_a_copied_env_example_starts_the_sandbox_and_says_why(tmp_path):
    """`cp .env.example .env; make run` before filling it in: the sandbox, not Slack."""
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    port = free_port()
    process, lines = _start(["run", "--port", str(port)], tmp_path, clean_env())
    try:
        page = wait_for_page(f"http://127.0.0.1:{port}/", process)
        assert "user-switcher" in page
        _wait_for_line("in your browser", process, lines)  # printed after the page is up
    finally:
        process.terminate()
        process.wait(timeout=15)
    output = "".join(lines)
    assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are still the placeholders of " in output
    assert "so this is the sandbox" in output
    assert "Traceback" not in output


def test_a_placeholder_token_is_refused_by_web_in_one_line(tmp_path):
    shutil.copy(ROOT / ".env.example", tmp_path / ".env")
    result = mlops_bot("web", cwd=tmp_path, env=clean_env(), timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "mlops-bot: configuration error: SLACK_BOT_TOKEN is still the placeholder 'xoxb-...' "
        "from .env.example: set it to the Bot User OAuth Token (xoxb-...) from "
        "api.slack.com/apps -> your app -> OAuth & Permissions."
    )
    assert not list(tmp_path.glob("*.db"))


def test_socket_mode_waits_for_slack_instead_of_exiting(tmp_path):
    """Slack unreachable when `socket` starts: it stays up, says so once, and keeps trying."""
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET="socket-secret",
        SLACK_APP_TOKEN="xapp-1-A0TEST-1-secret",
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",  # nothing listens: Slack is down
        DATABASE_URL=url,
    )
    process, lines = _start(["socket"], tmp_path, env)
    try:
        _wait_for_line("opening the Socket Mode connection", process, lines)
        time.sleep(4)  # several retries' worth (1, 2 s ...): still up, still quiet
        assert process.poll() is None, "".join(lines)
    finally:
        process.terminate()
        process.wait(timeout=15)
    output = "".join(lines)
    assert "Traceback" not in output
    (line,) = [line for line in lines if "opening the Socket Mode connection" in line]
    assert "Slack's Web API is not reachable" in line and "retrying with backoff" in line
    assert "xapp-1-A0TEST-1-secret" not in output


def test_a_gunicorn_worker_that_exits_leaves_the_others_metrics_alone(tmp_path, slack):
    """gunicorn replaces a worker that exits (max requests, a timeout, a kill); the one that
    left must not take the shared metrics directory with it, or no new worker can boot."""
    process, lines, client, operator = _gunicorn_web(tmp_path, slack)

    def booted() -> list[int]:
        return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", "".join(lines))]

    try:
        deadline = time.monotonic() + 60
        while len(booted()) < 2:
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        os.kill(booted()[0], signal.SIGTERM)  # one worker leaves; gunicorn boots another
        while len(booted()) < 3:
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.1)
        for _ in range(4):  # whichever workers answer, every one can count and be scraped
            assert client.command("help").status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{operator}/metrics", timeout=10) as page:
            metrics = page.read().decode()
        assert process.poll() is None, "".join(lines)
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert 'mlops_bot_requests_total{kind="command",status="200"} 4.0' in metrics
    assert "Worker failed to boot" not in "".join(lines)
