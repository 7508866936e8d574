"""Shared fixtures: databases migrated with Alembic, the Web API stand-in, the running bot.

Every database-backed test runs on SQLite and, when TEST_DATABASE_URL names a PostgreSQL
server, on PostgreSQL too (in a schema of its own, so a shared `test` database is safe).
The bot runs for real: signed requests in, Web API calls out to `FakeSlack`, which records
them. Tests come in tiers:

- `session`: a rolled-back session for the services on their own (tests/services/).
- `bot`: the whole app, reached in-process through its WSGI app, exactly as a server would
  call it (signature check, body cap, Bolt's dispatch, listeners on Bolt's threads).
- `http_bot`: the same behind a real waitress server, for the few front-door tests per
  surface that prove the wiring (command, click, view submission, event, healthz; OAuth in
  tests/test_workspaces.py).
- tests marked `slow` start separate processes or a browser; `make test-fast` skips them.
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
    """The bot as Slack sees it: a signing secret, a client that posts to it, what it stores.

    Most tests reach the bot in-process: `client` hands Slack's signed request to the same
    WSGI app a server would run. `http_bot` puts a real waitress server in front, for the
    tests that prove the wiring; then `url` and `operator_url` are its addresses.
    """

    settings: Settings
    runtime: Runtime
    client: SlackClient
    slack: FakeSlack
    web: WebApp | None = None  # None when the bot is reached another way (Socket Mode)
    server: Server | None = None

    @property
    def url(self) -> str | None:
        return self.server.url if self.server is not None else None

    @property
    def operator_url(self) -> str | None:
        """The operator's address (METRICS_PORT): /metrics and the detailed /healthz."""
        return self.server.operator_url if self.server is not None else None

    def client_for(self, team_id: str = TEAM_ID) -> SlackClient:
        """Another client on the same transport, signing requests as workspace `team_id`."""
        return SlackClient(
            self.url,
            self.settings.slack_signing_secret,
            team_id=team_id,
            fake_slack=self.slack,
            wsgi_app=None if self.server is not None else self.web,
        )

    def operator_client(self) -> SlackClient:
        """A client for the operator's address (in-process: the app's operator endpoints)."""
        if self.server is not None:
            return SlackClient(self.operator_url, self.settings.slack_signing_secret)
        return SlackClient(None, self.settings.slack_signing_secret, wsgi_app=self.web.operator)

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
    """`make_bot(http=False, **settings)`: the bot with some settings changed
    (SLASH_COMMAND, ...); in-process unless `http`."""
    servers: list[Server] = []

    def start(*, http: bool = False, **overrides) -> RunningBot:
        settings = make_settings(slack, database_url, **overrides)
        runtime = Runtime.from_settings(settings, engine=engine)
        web = WebApp(create_app(settings, runtime), runtime)
        if not http:
            client = SlackClient(
                None, settings.slack_signing_secret, fake_slack=slack, wsgi_app=web
            )
            return RunningBot(settings, runtime, client, slack, web)
        server = Server(web, host="127.0.0.1", port=0, operator_port=0)
        server.start()
        servers.append(server)
        client = SlackClient(server.url, settings.slack_signing_secret, fake_slack=slack)
        return RunningBot(settings, runtime, client, slack, web, server)

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
        # Whatever a test looked at, the bot never sent Slack a message or view it refuses.
        assert not slack.refused, f"the bot sent Slack what it refuses: {slack.refused}"


@pytest.fixture
def bot(make_bot) -> RunningBot:
    """The bot, reached in-process through its WSGI app (see RunningBot)."""
    return make_bot()


@pytest.fixture
def http_bot(make_bot) -> RunningBot:
    """The bot behind a real waitress server on a loopback port: the front-door tests."""
    return make_bot(http=True)
