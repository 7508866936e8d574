"""The outbox against a misbehaving Slack: rate limits, outages, permanent errors, pace.

The stand-in answers like Slack does (HTTP 429 with Retry-After, 500s, `ok: false`), and
the assertions are about what people would notice: a message arrives once, or an admin is
told once why it cannot.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.models import Delivery, DeliveryState, utcnow
from bot.outbox import Pacer, enqueue
from bot.worker import make_sender
from tests.delivery.conftest import WS, assert_valid_message, key_of, posts

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def announcement(org):
    """One level-change announcement waiting for the home channel; returns its key."""
    team = org.team("Fraud <ML>", home="CHOME", yes=5)
    change = org.level_change(team, 0, 1)
    return f"level:{change}:CHOME"


def make_available(bot) -> None:
    """Let time pass for the outbox: whatever waits for a Retry-After or backoff is due."""
    with bot.runtime.session_factory.begin() as session:
        session.execute(update(Delivery).values(available_at=utcnow() - timedelta(seconds=1)))


def test_metadata_carries_the_key_and_names_are_escaped(bot, sender, announcement):
    sender.drain()
    (post,) = posts(bot.slack, "CHOME")
    assert post.args["metadata"] == {
        "event_type": "mlops_bot_delivery",
        "event_payload": {"key": announcement},
    }
    assert_valid_message(post.args)
    assert "Fraud &lt;ML&gt;" in str(post.args["blocks"])


def test_429_reschedules_at_retry_after_without_sleeping(bot, org, sender, announcement):
    bot.slack.rate_limit("chat.postMessage", retry_after=30)
    started = time.monotonic()
    result = sender.drain()
    assert time.monotonic() - started < 3, "the sender waited for the rate limit"
    assert result.rescheduled == 1
    row = org.delivery(announcement)
    assert row.state == DeliveryState.PENDING and row.attempts == 0
    assert timedelta(seconds=25) < row.available_at - utcnow() <= timedelta(seconds=31)
    assert sender.drain().sent == 0  # not before Retry-After
    make_available(bot)
    assert sender.drain().sent == 1
    assert len(posts(bot.slack, "CHOME")) == 1


def test_slacks_rate_limited_error_waits_like_a_429_and_never_kills_the_message(
    bot, org, announcement
):
    """`rate_limited` (HTTP 200, "posted too many messages") is Slack asking us to wait, not
    a failure: however often it comes, no attempt is spent and no admin is alarmed."""
    sender = make_sender(bot.runtime, backoff_base=0.01, max_attempts=3)
    try:
        bot.slack.fail("chat.postMessage", error="rate_limited", times=5)
        for _ in range(5):
            assert sender.drain().rescheduled == 1
            row = org.delivery(announcement)
            assert row.state == DeliveryState.PENDING and row.attempts == 0
            assert row.available_at > utcnow(), "retried at once: no wait"
            make_available(bot)
        assert sender.drain().sent == 1
    finally:
        sender.close()
    assert len(posts(bot.slack, "CHOME")) == 1
    assert org.delivery(announcement).state == DeliveryState.SENT
    assert [d.kind for d in org.deliveries()] == ["level_change"]  # no alert to an admin


def test_500_backs_off_then_checks_before_sending_again(bot, org, sender, announcement):
    bot.slack.server_error("chat.postMessage", status=500, times=2)
    assert sender.drain().rescheduled == 1
    first = org.delivery(announcement)
    assert first.state == DeliveryState.PENDING and first.last_error.startswith("uncertain")
    make_available(bot)
    sender.drain()
    second = org.delivery(announcement)
    assert second.attempts == 2
    assert second.available_at - utcnow() > timedelta(seconds=0.2)  # backed off further
    make_available(bot)
    assert sender.drain().sent == 1
    assert len(posts(bot.slack, "CHOME")) == 1
    assert bot.slack.calls_to("conversations.history"), "a 500 may have posted: look first"


def test_dead_after_the_last_attempt_and_an_admin_is_told(bot, org, announcement):
    bot.slack.add_user("UADMIN", tz="UTC", is_admin=True)
    from bot.services import people

    sender = make_sender(bot.runtime, backoff_base=0.01, max_attempts=3)
    try:
        with bot.runtime.session_factory.begin() as session:
            people.refresh(session, sender.client, WS, "UADMIN")
        bot.slack.server_error("chat.postMessage", status=503, times=3)
        for _ in range(3):
            sender.drain()
            make_available(bot)
        row = org.delivery(announcement)
        assert row.state == DeliveryState.DEAD
        assert "gave up after 3 attempts" in row.last_error
        sender.drain()
    finally:
        sender.close()
    (alert,) = posts(bot.slack, "UADMIN")
    assert "<#CHOME>" in alert.args["blocks"][0]["text"]["text"]


PERMANENT = [
    "channel_not_found",
    "is_archived",
    "account_inactive",
    "cannot_dm_bot",
    "user_not_found",
    "messages_tab_disabled",
    "invalid_blocks",
]


@pytest.mark.parametrize("error", PERMANENT)
def test_permanent_errors_fail_with_the_reason_and_tell_an_admin_once(bot, org, sender, error):
    bot.slack.add_user("UADMIN", tz="UTC", is_admin=True)
    from bot.services import people

    with bot.runtime.session_factory.begin() as session:
        people.refresh(session, sender.client, WS, "UADMIN")
    team = org.team("Fraud ML", home="CHOME", yes=5)
    first = org.level_change(team, 0, 1)
    bot.slack.fail("chat.postMessage", error=error)
    sender.drain()  # fails, then tells the admin
    second = org.level_change(team, 1, 2)
    bot.slack.fail("chat.postMessage", error=error)
    sender.drain()  # fails the same way: the admin knows already
    for change in (first, second):
        row = org.delivery(f"level:{change}:CHOME")
        assert (row.state, row.last_error) == (DeliveryState.FAILED, error), row.available_at
    alerts = posts(bot.slack, "UADMIN")
    assert len(alerts) == 1, "told once per channel and reason"
    assert_valid_message(alerts[0].args)
    assert error in alerts[0].args["text"]
    assert posts(bot.slack, "CHOME") == []


def test_not_in_channel_joins_and_sends(bot, org, sender, announcement):
    bot.slack.add_channel("CHOME", is_member=False)
    # Slack answers not_in_channel to a post only without chat:write.public.
    bot.slack.scopes.discard("chat:write.public")
    assert sender.drain().sent == 1
    assert bot.slack.calls_to("conversations.join")
    assert len(posts(bot.slack, "CHOME")) == 1


def test_a_private_channel_without_the_bot_fails_plainly(bot, org, sender):
    bot.slack.add_channel("GPRIVATE", is_member=False, is_private=True)
    team = org.team("Fraud ML", home="GPRIVATE", yes=5)
    change = org.level_change(team, 0, 1)
    sender.drain()
    row = org.delivery(f"level:{change}:GPRIVATE")
    assert row.state == DeliveryState.FAILED and row.last_error == "channel_not_found"


def test_pace_keeps_one_channel_under_slacks_limit(bot, org):
    """The stand-in enforces 5 messages/s per channel (burst 3); we never hit a 429."""
    bot.slack.pace(per_channel_per_second=5, burst=3)
    org.team("Seed", yes=0)
    with bot.runtime.session_factory.begin() as session:
        for n in range(12):
            enqueue(
                session,
                workspace_id=WS,
                key=f"pace:{n}",
                kind="alert",
                channel_id="CBUSY",
                payload={"channel_id": "CX", "reason": "test", "key": "k"},
            )
    sender = make_sender(bot.runtime, pacer=Pacer(5, 3, None, 1))
    try:
        started = time.monotonic()
        while len(posts(bot.slack, "CBUSY")) < 12 and time.monotonic() - started < 10:
            sender.drain()
            time.sleep(0.05)
    finally:
        sender.close()
    calls = bot.slack.calls_to("chat.postMessage")
    assert len(posts(bot.slack, "CBUSY")) == 12
    assert not [c for c in calls if c.status == 429]
    assert time.monotonic() - started >= (12 - 2) / 5 * 0.9  # paced, not bursted


def test_a_change_gone_before_sending_is_cancelled(bot, org, sender, announcement):
    from bot.models import LevelChange

    with bot.runtime.session_factory.begin() as session:
        for change in session.query(LevelChange):
            session.delete(change)
    assert sender.drain().cancelled == 1
    assert org.delivery(announcement).state == DeliveryState.CANCELLED
    assert posts(bot.slack) == []


# ---------------------------------------------------------------------------- operators


def mlops_bot(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def operator_env(bot, database_url):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE"))}
    env.update(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=bot.slack.api_url,
    )
    return env


def test_outbox_command_shows_counts_and_failures_and_retries(
    bot, org, sender, announcement, operator_env
):
    bot.slack.fail("chat.postMessage", error="is_archived")
    sender.drain()
    shown = mlops_bot("outbox", env=operator_env)
    assert shown.returncode == 0, shown.stderr
    assert "failed 1" in shown.stdout
    assert announcement in shown.stdout and "is_archived" in shown.stdout

    retried = mlops_bot("outbox", "retry", announcement, env=operator_env)
    assert retried.returncode == 0, retried.stderr
    assert "failed -> pending" in retried.stdout
    assert sender.drain().sent == 1
    again = mlops_bot("outbox", "retry", announcement, env=operator_env)
    assert again.returncode == 1 and "already sent" in again.stderr
    unknown = mlops_bot("outbox", "retry", "nope", env=operator_env)
    assert unknown.returncode == 1 and "no delivery with key" in unknown.stderr
    assert len(posts(bot.slack, "CHOME")) == 1


def test_jobs_due_enqueues_and_sends_what_is_due_then(bot, org, operator_env):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    org.team("Fraud ML", yes=1)
    org.subscribe("CDIGEST", weekday=0, at="09:00", tz="Europe/Berlin")
    done = mlops_bot("jobs", "due", "--at", "2026-11-30T09:30+01:00", env=operator_env)
    assert done.returncode == 0, done.stderr
    # sent 3: the digest, its trend picture and the nudge
    assert "digest 1" in done.stdout and "nudge 1" in done.stdout and "sent 3" in done.stdout
    assert {key_of(c).split(":")[0] for c in posts(bot.slack)} == {"digest", "nudge"}
    again = mlops_bot("jobs", "due", "--at", "2026-11-30T10:00+01:00", env=operator_env)
    assert "digest 0" in again.stdout and "sent 0" in again.stdout
    bad = mlops_bot("jobs", "due", "--at", "monday", env=operator_env)
    assert bad.returncode == 2 and "ISO time" in bad.stderr


def test_each_workspace_is_sent_with_its_own_token(bot, org):
    """With OAuth installs every workspace has its own bot token; the sender uses it."""
    from bot.models import Workspace

    bot.slack.add_token("xoxb-other-workspace", team_id="T0OTHER")
    with bot.runtime.session_factory.begin() as session:
        session.add(Workspace(id="T0OTHER"))
        session.flush()
        enqueue(
            session,
            workspace_id="T0OTHER",
            key="alert:T0OTHER:1",
            kind="alert",
            channel_id="COTHER",
            payload={"channel_id": "CX", "reason": "test", "key": "k"},
        )
    tokens = {"T0OTHER": "xoxb-other-workspace"}
    sender = make_sender(bot.runtime, token_for=tokens.get)
    try:
        assert sender.drain().sent == 1
    finally:
        sender.close()
    (post,) = posts(bot.slack, "COTHER")
    assert post.token == "xoxb-other-workspace"
