"""A database that was never migrated, or not to the latest revision: `web` and `worker` say
so in one line and do not start, instead of telling every person "I can't reach my database"
(issue 9, item 9). A web process already running when that happens answers 503 on /healthz
with the reason."""

from __future__ import annotations

import pytest

from bot.app import Runtime, create_app
from bot.migrate import SCHEMA_BEHIND, upgrade
from bot.web import Server, WebApp
from tests.conftest import BOT_TOKEN, fresh_sqlite_url, make_settings
from tests.signed_client import SlackClient
from tests.test_cli import clean_env, mlops_bot


@pytest.fixture(params=["empty", "behind"])
def stale_database(request, tmp_path) -> str:
    """An un-migrated SQLite file, or one at the first revision of several."""
    url = fresh_sqlite_url(tmp_path)
    if request.param == "behind":
        upgrade(url, "0001")
    else:
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as connection:  # the file exists, but holds no schema
            connection.execute(text("CREATE TABLE unrelated (id INTEGER)"))
        engine.dispose()
    return url


@pytest.mark.parametrize(
    "args", [["web"], ["web", "--workers", "2"], ["worker"]], ids=["web", "gunicorn", "worker"]
)
def test_refuses_to_start_with_one_line(args, stale_database, tmp_path, slack):
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET="schema-secret",
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=stale_database,
    )
    result = mlops_bot(*args, cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [f"mlops-bot: {SCHEMA_BEHIND}"], result.stderr
    assert "run `mlops-bot migrate`" in lines[0]
    assert not slack.calls_to("auth.test"), "nothing may talk to Slack before the check"


def healthz_of(database_url: str, slack):
    """What an in-process web server on `database_url` answers on /healthz."""
    settings = make_settings(slack, database_url)
    runtime = Runtime.from_settings(settings)
    server = Server(WebApp(create_app(settings, runtime), runtime), host="127.0.0.1", port=0)
    server.start()
    try:
        return SlackClient(server.url, settings.slack_signing_secret).get("/healthz")
    finally:
        server.stop()
        runtime.engine.dispose()


def test_a_running_web_process_reports_it_on_healthz(stale_database, slack):
    health = healthz_of(stale_database, slack)
    assert health.status == 503
    assert health.json() == {"status": "unavailable", "database": True, "reason": SCHEMA_BEHIND}


def test_at_head_it_starts(tmp_path, slack):
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    health = healthz_of(url, slack)
    assert health.status == 200 and health.json() == {"status": "ok", "database": True}
