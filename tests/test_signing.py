"""Rotating the signing secret without downtime: during a rotation a request signed with the
previous secret is accepted (and logged, so the operator knows when to finish), and after
SLACK_SIGNING_SECRET_PREVIOUS is removed the same request is refused.

Through the front door: signed requests to the running bot, with Bolt's verification on.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.app import Runtime, create_app
from bot.config import load_settings
from bot.signing import PREVIOUS_USED, PREVIOUS_VARIABLE
from bot.web import Server, WebApp
from tests.conftest import make_settings
from tests.driver import text_of
from tests.signed_client import SlackClient

OLD, NEW = secrets.token_hex(16), secrets.token_hex(16)


@contextmanager
def bot_with(engine, slack, database_url, **secrets_) -> Iterator[str]:
    settings = make_settings(slack, database_url, **secrets_)
    runtime = Runtime.from_settings(settings, engine=engine)
    server = Server(WebApp(create_app(settings, runtime), runtime), "127.0.0.1", 0).start()
    try:
        yield server.url
    finally:
        server.stop()


def signed_with(url: str, secret: str, slack) -> SlackClient:
    return SlackClient(url, secret, fake_slack=slack)


def help_reply(client: SlackClient, slack) -> str:
    before = len(slack.calls_to("response_url"))
    response = client.command("help")
    assert response.status == 200, response.body
    if response.body.strip():
        return response.body
    return text_of(slack.wait_for("response_url", count=before + 1)[-1].args)


@pytest.fixture(autouse=True)
def fresh_log_limit():
    """Each test sees the first use of the old secret logged at once."""
    PREVIOUS_USED.logged_at = None
    PREVIOUS_USED.unlogged = 0


def test_the_previous_secret_is_accepted_during_rotation_and_logged(
    engine, slack, database_url, caplog
):
    caplog.set_level(logging.WARNING, logger="bot.signing")
    rotating = {"slack_signing_secret": NEW, "slack_signing_secret_previous": OLD}
    with bot_with(engine, slack, database_url, **rotating) as url:
        assert help_reply(signed_with(url, NEW, slack), slack)
        assert not [r for r in caplog.records if PREVIOUS_VARIABLE in r.getMessage()]
        # Slack still signs with the old secret: accepted, and the operator is told.
        assert help_reply(signed_with(url, OLD, slack), slack)
        (line,) = [r for r in caplog.records if PREVIOUS_VARIABLE in r.getMessage()]
        assert "(1 since the last line)" in line.getMessage()
        assert OLD not in line.getMessage() and NEW not in line.getMessage()
        # more uses within the minute are counted, not logged line by line
        assert help_reply(signed_with(url, OLD, slack), slack)
        assert len([r for r in caplog.records if PREVIOUS_VARIABLE in r.getMessage()]) == 1
        assert PREVIOUS_USED.unlogged == 1
        # a third secret is a forgery, rotation or not
        assert signed_with(url, secrets.token_hex(16), slack).command("help").status == 401


def test_the_previous_secret_is_refused_once_removed(engine, slack, database_url):
    with bot_with(engine, slack, database_url, slack_signing_secret=NEW) as url:
        assert signed_with(url, OLD, slack).command("help").status == 401
        assert help_reply(signed_with(url, NEW, slack), slack)


def test_an_unparseable_body_signed_with_the_previous_secret_is_a_bad_request(
    engine, slack, database_url
):
    """The adapter's own check (for bodies Bolt cannot parse) knows both secrets too."""
    rotating = {"slack_signing_secret": NEW, "slack_signing_secret_previous": OLD}
    with bot_with(engine, slack, database_url, **rotating) as url:
        assert signed_with(url, OLD, slack).post("{not json", "application/json").status == 400
        assert signed_with(url, "x" * 32, slack).post("{not json", "application/json").status == 401


def test_the_setting_is_read_and_ignored_when_equal_to_the_current_secret():
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": NEW}
    assert load_settings(base).slack_signing_secret_previous is None
    rotating = load_settings({**base, PREVIOUS_VARIABLE: OLD})
    assert rotating.slack_signing_secret_previous == OLD
    assert OLD not in repr(rotating)
    assert load_settings({**base, PREVIOUS_VARIABLE: NEW}).slack_signing_secret_previous is None
