"""No secret in any log line, even at DEBUG, on every path that handles one (issue 22,
item 3): the OAuth install (Slack's answer carries the new bot token), the worker and the
CLI in many-workspace mode (they read each workspace's bot token from the database, and
slack_sdk logs what it sends and receives), with a database URL that carries a password.

Each process runs as an operator runs it (`mlops-bot web`, `worker`, `jobs due`), so the
filter is proved where it is installed: on the log handlers, at start-up, by every
subcommand. Without it, the install prints the new token (slack_sdk logs Slack's answer at
DEBUG), and a careless `log.debug(token)` anywhere in the worker or the CLI would too.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.db import make_engine
from bot.migrate import upgrade
from bot.outbox import enqueue
from bot.redaction import MARK, RedactingFilter, secrets_in
from bot.services import workspaces
from tests.conftest import TOKEN_KEY, free_port, fresh_postgres_schema, fresh_sqlite_url
from tests.oauth import CLIENT_ID, CLIENT_SECRET, NEW_TOKEN, OAuthSlack, install
from tests.public_port import WebProcess
from tests.signed_client import SlackClient
from tests.test_cli import clean_env

SIGNING_SECRET = "5f1c0ffee5ec2e7da7a5ec2e7s1gn1ng"
DB_PASSWORD = "pg-Pa55word-not-for-logs"


def database_with_password(tmp_path: Path) -> str:
    """PostgreSQL (trust authentication accepts any password) when TEST_DATABASE_URL is
    set, so the URL carries one; a SQLite file otherwise."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base:
        return fresh_sqlite_url(tmp_path)
    url = fresh_postgres_schema(base, f"mlops_redaction_{os.getpid()}")
    return url.replace("postgres@", f"postgres:{DB_PASSWORD}@", 1)


@pytest.fixture
def oauth_slack() -> Iterator[OAuthSlack]:
    with OAuthSlack() as slack:
        slack.oauth_calls = []
        slack.add_token(NEW_TOKEN, team_id="T2", team="Second Org", user_id="UBOT2", bot_id="B2")
        yield slack


@pytest.fixture
def oauth_env(oauth_slack, tmp_path) -> dict[str, str]:
    url = database_with_password(tmp_path)
    upgrade(url)
    return clean_env(
        SLACK_CLIENT_ID=CLIENT_ID,
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        TOKEN_ENCRYPTION_KEYS=TOKEN_KEY,
        SLACK_API_URL=oauth_slack.api_url,
        DATABASE_URL=url,
        LOG_LEVEL="DEBUG",
    )


def assert_no_secret(log: str) -> None:
    for secret in (NEW_TOKEN, CLIENT_SECRET, SIGNING_SECRET, DB_PASSWORD, TOKEN_KEY):
        assert secret not in log, f"{secret} in the log"
    assert "xoxb-installed" not in log


def installed(env: dict[str, str], slack: OAuthSlack, workdir: Path) -> str:
    """Install into T2 through a real `mlops-bot web` at DEBUG; return what it logged."""
    web = WebProcess(env, free_port(), workdir).wait_ready()
    try:
        status, body = install(SlackClient(web.url, SIGNING_SECRET, fake_slack=slack))
        assert status == 200, body
    finally:
        web.stop()
    return web.log()


def enqueue_alert(env: dict[str, str], key: str) -> None:
    engine = make_engine(env["DATABASE_URL"])
    try:
        with engine.begin() as connection:
            from sqlalchemy.orm import Session

            session = Session(bind=connection)
            workspaces.ensure(session, "T2")
            enqueue(
                session,
                workspace_id="T2",
                key=key,
                kind="alert",
                channel_id="CALERT",
                payload={"channel_id": "CX", "reason": "test", "key": key},
            )
            session.flush()
    finally:
        engine.dispose()


def test_oauth_install_at_debug_logs_no_token(oauth_env, oauth_slack, tmp_path):
    log = installed(oauth_env, oauth_slack, tmp_path)
    assert "oauth.v2.access" in log  # slack_sdk logged the exchange, token and all
    assert_no_secret(log)
    assert f'"access_token": "{MARK}"' in log  # Slack's answer, with the token taken out


def test_worker_at_debug_logs_no_token(oauth_env, oauth_slack, tmp_path):
    installed(oauth_env, oauth_slack, tmp_path)
    enqueue_alert(oauth_env, "alert:worker")
    with (tmp_path / "worker.log").open("w+") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker", "--drain-only"],
            env=oauth_env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            (post,) = oauth_slack.wait_for(
                "chat.postMessage", timeout=30, where=lambda c: c.args.get("channel") == "CALERT"
            )
            assert post.token == NEW_TOKEN  # it did read and use the token
        finally:
            worker.terminate()
            worker.wait(timeout=20)
        out.seek(0)
        log = out.read()
    assert "chat.postMessage" in log  # it logged at DEBUG what it sent
    assert_no_secret(log)


def test_cli_at_debug_logs_no_token(oauth_env, oauth_slack, tmp_path):
    installed(oauth_env, oauth_slack, tmp_path)
    enqueue_alert(oauth_env, "alert:cli")
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "jobs", "due", "--at", datetime.now(UTC).isoformat()],
        env=oauth_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert oauth_slack.calls_to("chat.postMessage")
    log = result.stdout + result.stderr
    assert "chat.postMessage" in log
    assert_no_secret(log)


def test_the_filter_rewrites_every_shape_and_keeps_the_rest():
    secrets = secrets_in(
        {
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "METRICS_TOKEN": "metrics-token-value-123",
            "DATABASE_URL": f"postgresql://bot:{DB_PASSWORD}@db:5432/bot",
            "PORT": "3000",
        }
    )
    redactor = RedactingFilter(secrets)
    record = logging.makeLogRecord(
        {
            "msg": "token %s secret %s url %s auth %s app %s rotated %s",
            "args": (
                "xoxb-123-456-abc",
                SIGNING_SECRET,
                f"postgresql://bot:{DB_PASSWORD}@db:5432/bot",
                "Bearer metrics-token-value-123",
                "xapp-1-A1-xyz",
                "xoxe.xoxp-1-abc",
            ),
            "workspace": "T1 xoxp-9-9-user",
        }
    )
    assert redactor.filter(record)
    text = record.getMessage()
    for secret in ("123-456-abc", SIGNING_SECRET, DB_PASSWORD, "metrics-token-value", "1-A1"):
        assert secret not in text
    assert "xoxb-[redacted]" in text and "postgresql://bot:***@db:5432/bot" in text
    assert record.workspace == "T1 xoxp-[redacted]"
    # ordinary words survive, including ones that merely look like prefixes
    plain = logging.makeLogRecord({"msg": "Basic Information -> App Credentials on port 3000"})
    redactor.filter(plain)
    assert plain.getMessage() == "Basic Information -> App Credentials on port 3000"

    try:
        raise RuntimeError(f"could not connect with xoxb-999-888-zzz to {SIGNING_SECRET}")
    except RuntimeError:
        failed = logging.makeLogRecord({"msg": "boom", "exc_info": sys.exc_info()})
    redactor.filter(failed)
    assert "xoxb-999" not in failed.exc_text and SIGNING_SECRET not in failed.exc_text
    assert "RuntimeError" in failed.exc_text


def test_evidence_credentials_given_inline_are_redacted_whatever_their_shape():
    inline = json.dumps(
        {
            "mlflow.internal": {"token": "tkn-plain"},
            "git.x": {"username": "u", "password": "pw-9zQx77"},
        }
    )
    secrets = secrets_in({"EVIDENCE_CREDENTIALS": inline, "PORT": "3000"})
    assert set(secrets) >= {"tkn-plain", "pw-9zQx77"} and "u" not in secrets
    record = logging.makeLogRecord({"msg": "read with tkn-plain and pw-9zQx77 as someone"})
    assert RedactingFilter(secrets).filter(record)
    assert record.getMessage() == "read with [redacted] and [redacted] as someone"
