"""The front door: signed requests reach the bot, anything else is refused and changes nothing."""

import json
import time
from urllib.parse import urlencode

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import func, select

from bot.models import Base, ProcessedEvent
from handlers import base
from tests.driver import Person


def row_count(bot) -> int:
    with bot.session() as session:
        return sum(
            session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        )


def assert_valid_blocks(blocks, limit=50):
    assert 0 < len(blocks) <= limit
    for block in Block.parse_all(blocks):
        block.to_dict()  # validates recursively, raising on any Block Kit limit


def test_healthz(http_bot):
    """Front door over real HTTP: the public and the operator's address."""
    bot = http_bot
    response = bot.client.get("/healthz")
    assert response.status == 200
    # public: up or not, nothing more (docs/public-surface.md)
    assert response.json() == {"status": "ok", "database": True}
    detailed = bot.operator_client().get("/healthz").json()
    assert detailed["worker_last_tick_age_seconds"] is None  # no worker has ticked in this test


def test_help_end_to_end(http_bot):
    """Front door over real HTTP: a slash command."""
    bot = http_bot
    started = time.monotonic()
    response = bot.client.command("help")
    assert response.status == 200
    assert time.monotonic() - started < 3
    (reply,) = bot.slack.wait_for("response_url")
    text = json.dumps(reply.args["blocks"])
    for sub in ("assess", "status", "next", "history", "teams", "digest", "remind"):
        assert f"/mlops {sub}" in text
    assert reply.args.get("response_type", "ephemeral") == "ephemeral"
    assert_valid_blocks(reply.args["blocks"])


def test_bare_command_shows_help(bot):
    bot.client.command("")
    (reply,) = bot.slack.wait_for("response_url")
    assert "/mlops assess" in json.dumps(reply.args["blocks"])


def test_unknown_subcommand_suggests(bot):
    bot.client.command("stauts Fraud")
    (reply,) = bot.slack.wait_for("response_url")
    text = json.dumps(reply.args["blocks"])
    assert "stauts" in text and "Did you mean `/mlops status`?" in text
    assert_valid_blocks(reply.args["blocks"])


def test_unknown_subcommand_markup_is_escaped(bot):
    bot.client.command("<!channel>")
    (reply,) = bot.slack.wait_for("response_url")
    text = reply.args["blocks"][0]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text


def test_forged_signature_is_refused(http_bot):
    """Front door over real HTTP: an unsigned request is refused before anything runs."""
    bot = http_bot
    body = urlencode({"command": "/mlops", "text": "help", "team_id": "T0TEST"}).encode()
    response = bot.client.post(
        body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64
    )
    assert response.status == 401
    assert bot.slack.calls_to("response_url") == []
    assert row_count(bot) == 0


def test_stale_timestamp_is_refused(bot):
    body = urlencode({"command": "/mlops", "text": "help", "team_id": "T0TEST"}).encode()
    response = bot.client.post(
        body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 301
    )
    assert response.status == 401
    assert bot.slack.calls_to("response_url") == []


def test_body_altered_after_signing_is_refused(bot):
    signed = urlencode({"command": "/mlops", "text": "help", "team_id": "T0TEST"}).encode()
    altered = urlencode({"command": "/mlops", "text": "teams", "team_id": "T0TEST"}).encode()
    response = bot.client.post(altered, "application/x-www-form-urlencoded", sign_body=signed)
    assert response.status == 401
    assert bot.slack.calls_to("response_url") == []


def test_event_with_bad_signature_writes_nothing(bot):
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": "Ev1",
            "team_id": "T0TEST",
            "event": {"type": "app_uninstalled"},
        }
    ).encode()
    response = bot.client.post(body, "application/json", signature="v0=bad")
    assert response.status == 401
    assert row_count(bot) == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        (
            b"payload=" + json.dumps({"type": "no_such_type"}).encode(),
            "application/x-www-form-urlencoded",
        ),
        (b"{not json", "application/json"),
        (
            json.dumps({"type": "event_callback", "event": {"type": "made_up"}}).encode(),
            "application/json",
        ),
        (b"\x00\xff\xfe garbage", "application/octet-stream"),
        (b"", "application/x-www-form-urlencoded"),
    ],
)
def test_garbled_or_unknown_payloads_get_4xx_and_write_nothing(bot, body, content_type):
    try:
        body.decode()
        response = bot.client.post(body, content_type)
    except UnicodeDecodeError:  # cannot be signed the usual way; Slack never sends it
        response = bot.client.post(body, content_type, sign_body=b"")
    assert 400 <= response.status < 500, response.body
    assert row_count(bot) == 0


def test_event_retries_are_handled_once(http_bot):
    """Front door over real HTTP: an Events API event, and Slack's retry of it. A retried
    event runs its listener once: App Home is published once, not twice."""
    bot = http_bot
    opened = {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}
    first = bot.client.event(opened, event_id="Ev42")
    bot.slack.wait_for("views.publish")
    retry = bot.client.event(opened, event_id="Ev42", retry_num=1)
    assert first.status == 200 and retry.status == 200
    # A later, different event: once its App Home is out, a retry's would be too.
    bot.client.event({**opened, "user": "U2"}, event_id="Ev43")
    bot.slack.wait_for("views.publish", where=lambda call: call.args.get("user_id") == "U2")
    published = [call.args.get("user_id") for call in bot.slack.calls_to("views.publish")]
    assert sorted(published) == ["U1", "U2"]
    with bot.session() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 2


def test_url_verification_echoes_the_challenge(bot):
    response = bot.client.url_verification("abc123")
    assert response.status == 200
    assert "abc123" in response.body


def test_read_replies_ride_in_the_acknowledgement(bot):
    """help and status answer in the HTTP acknowledgement: no second round trip to Slack."""
    Person(bot).command("assess Fraud ML")
    posted = len(bot.slack.calls_to("response_url"))
    for text, says in [("help", "/mlops assess"), ("status Fraud ML", "Fraud ML")]:
        response = bot.client.command(text)
        answer = response.json()
        assert answer["response_type"] == "ephemeral"
        assert says in json.dumps(answer["blocks"])
        assert_valid_blocks(answer["blocks"])
    shown = bot.slack.calls_to("response_url")[posted:]
    assert [call.args.get("via") for call in shown] == ["ack", "ack"]  # nothing posted later


def test_a_reply_that_is_not_ready_in_time_goes_through_the_response_url(bot, monkeypatch):
    """Past the acknowledgement's budget the command is acknowledged empty, then answered."""
    monkeypatch.setattr(base, "ACK_BUDGET_SECONDS", 0)
    response = bot.client.command("help")
    assert response.status == 200 and not response.body.strip()
    (reply,) = bot.slack.wait_for("response_url")
    assert reply.args.get("via") is None and "/mlops assess" in json.dumps(reply.args["blocks"])
