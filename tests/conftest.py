"""Shared fixtures: databases migrated with Alembic, the Web API stand-in, the running bot.

Every database-backed test runs on SQLite and, when TEST_DATABASE_URL names a PostgreSQL
server, on PostgreSQL too (in a schema of its own, so a shared `test` database is safe).
The bot runs for real: waitress on a loopback port, signed requests in, Web API calls out
to `FakeSlack`, which records them.
"""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from bot.app import Runtime, create_app
from bot.config import Settings, normalise_database_url
from bot.crypto import generate_key
from bot.db import make_engine
from bot.migrate import upgrade
from bot.models import Base
from bot.web import Server, WebApp
from tests.signed_client import SlackClient
from tests.slack_web_api import FakeSlack

BOT_TOKEN = "xoxb-test-token"
TEAM_ID = "T0TEST"
# A fresh key per test session: stored tokens are encrypted as in production (bot.crypto).
TOKEN_KEY = generate_key()


def postgres_url_or_skip() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        pytest.skip("PostgreSQL tests skipped: set TEST_DATABASE_URL (see README) to run them")
    return normalise_database_url(url)


def fresh_postgres_schema(base_url: str, schema: str) -> str:
    """Drop and create `schema`; return a URL whose connections use it by default."""
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:
        # Set means "test on PostgreSQL": a run that skipped those tests would pass without
        # testing the database production uses, so an unreachable server fails them.
        pytest.fail(
            f"PostgreSQL at TEST_DATABASE_URL is not reachable: {' '.join(str(error).split())}",
            pytrace=False,
        )
    finally:
        admin.dispose()
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"


def free_port() -> int:
    """A port nothing listens on now, for a server a test starts as a separate process."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fresh_sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / f'bot-{uuid.uuid4().hex[:8]}.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    """A database migrated to head, once per test session and kind."""
    if request.param == "sqlite":
        url = fresh_sqlite_url(tmp_path_factory.mktemp("db"))
    else:
        url = fresh_postgres_schema(postgres_url_or_skip(), f"mlops_test_{os.getpid()}")
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def _engine(database_url) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(_engine) -> Iterator[Engine]:
    """The migrated database, emptied before each test so tests cannot see each other."""
    with _engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    yield _engine


@pytest.fixture
def session(engine) -> Iterator[Session]:
    """A session whose work is rolled back at the end of the test."""
    connection = engine.connect()
    transaction = connection.begin()
    db = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield db
    finally:
        db.close()
        transaction.rollback()
        connection.close()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@dataclass
class RunningBot:
    """The bot as Slack sees it: a URL, a signing secret, and what it stores."""

    url: str
    settings: Settings
    runtime: Runtime
    client: SlackClient
    slack: FakeSlack
    operator_url: str = ""
    """The operator's address (METRICS_PORT): /metrics and the detailed /healthz."""

    def session(self) -> Session:
        return self.runtime.session_factory()


def make_settings(slack: FakeSlack, database_url: str, **overrides) -> Settings:
    values = dict(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=secrets.token_hex(16),
        slack_api_url=slack.api_url,
        database_url=database_url,
        port=0,
        token_encryption_keys=(TOKEN_KEY,),
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_bot(engine, slack, database_url) -> Iterator[Callable[..., RunningBot]]:
    """`make_bot(**settings)`: the bot with some settings changed (SLASH_COMMAND, ...)."""
    servers: list[Server] = []

    def start(**overrides) -> RunningBot:
        settings = make_settings(slack, database_url, **overrides)
        runtime = Runtime.from_settings(settings, engine=engine)
        server = Server(
            WebApp(create_app(settings, runtime), runtime),
            host="127.0.0.1",
            port=0,
            operator_port=0,
        )
        server.start()
        servers.append(server)
        client = SlackClient(
            base_url=server.url,
            signing_secret=settings.slack_signing_secret,
            team_id=TEAM_ID,
            fake_slack=slack,
        )
        return RunningBot(server.url, settings, runtime, client, slack, server.operator_url)

    try:
        yield start
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def bot(make_bot) -> RunningBot:
    return make_bot()
