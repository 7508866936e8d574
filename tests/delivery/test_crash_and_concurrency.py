"""The outbox under real failures: a worker killed mid-send, two workers on one database,
two overlapping ticks. Real processes, real database, the Web API stand-in as Slack."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text

from bot.models import Delivery, DeliveryState
from bot.outbox import Pacer, db_now, enqueue
from bot.worker import enqueue_due, make_sender
from tests.delivery.conftest import WS, key_of, posts
from tests.driver import eventually

pytestmark = pytest.mark.slow  # worker processes killed mid-send

ROOT = Path(__file__).resolve().parents[2]


def start_child(database_url: str, api_url: str, lease_seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.delivery.drain_child",
            database_url,
            api_url,
            str(lease_seconds),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready", process.stderr.read()
    return process


def go(process: subprocess.Popen) -> None:
    process.stdin.write("go\n")
    process.stdin.flush()


def wait_until(condition, timeout=10.0):
    assert eventually(condition, timeout), "timed out"


def state_of(bot, key: str) -> str:
    with bot.runtime.engine.connect() as connection:
        return connection.execute(
            text("SELECT state FROM deliveries WHERE idempotency_key = :k"), {"k": key}
        ).scalar_one()


def test_sigkill_between_slack_reply_and_commit_neither_loses_nor_duplicates(
    bot, org, sender, database_url
):
    team = org.team("Fraud ML", home="CHOME", yes=5)
    change = org.level_change(team, 0, 1)
    key = f"level:{change}:CHOME"
    bot.slack.delay("chat.postMessage", 1.5)  # Slack is slow to answer: the post is in flight

    child = start_child(database_url, bot.slack.api_url, lease_seconds=2)
    go(child)
    try:
        wait_until(lambda: state_of(bot, key) == "sending")  # the child claimed it
        # Hold the row, so the child cannot commit what Slack answers.
        blocker = bot.runtime.engine.connect()
        transaction = blocker.begin()
        blocker.execute(
            text("UPDATE deliveries SET kind = kind WHERE idempotency_key = :k"), {"k": key}
        )
        bot.slack.wait_for("chat.postMessage", timeout=5)  # Slack has the message
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        transaction.rollback()
        blocker.close()
    finally:
        if child.poll() is None:
            child.kill()
    bot.slack.delay("chat.postMessage", 0)
    assert state_of(bot, key) == "sending"  # the child died before recording the send
    assert len(posts(bot.slack, "CHOME")) == 1
    posted_ts = posts(bot.slack, "CHOME")[0].response["ts"]

    wait_until(lambda: lease_of(bot, key)[1])  # the dead worker's lease runs out (database clock)
    result = sender.drain()

    assert result.already_sent == 1 and result.sent == 0
    assert len(posts(bot.slack, "CHOME")) == 1, "re-sent after the crash"
    assert bot.slack.calls_to("conversations.history"), "must look before re-sending"
    row = org.delivery(key)
    assert row.state == DeliveryState.SENT
    assert row.message_ts == posted_ts


def test_crash_before_slack_got_it_is_sent_after_restart(bot, org, sender):
    team = org.team("Fraud ML", home="CHOME", yes=5)
    change = org.level_change(team, 0, 1)
    key = f"level:{change}:CHOME"
    claimed_by_a_dead_worker(bot, key)
    result = sender.drain()
    assert result.sent == 1
    assert [key_of(c) for c in posts(bot.slack, "CHOME")] == [key]
    assert org.delivery(key).state == DeliveryState.SENT


def claimed_by_a_dead_worker(bot, key: str) -> None:
    """As a worker leaves a row that it may have posted before it died: sending, lease gone."""
    with bot.runtime.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE deliveries SET state = 'sending', attempts = 1, lease_owner = 'dead', "
                "lease_until = :past WHERE idempotency_key = :k"
            ),
            {"k": key, "past": datetime(2020, 1, 1)},
        )


def bot_message(bot, channel: str, key: str) -> dict:
    """A message the bot posted earlier for `key`, as conversations.history shows it."""
    return bot.slack.add_message(
        channel,
        f"earlier message for {key}",
        user=bot.slack.bot_user_id,
        bot_id=bot.slack.bot_id,
        metadata={"event_type": "mlops_bot_delivery", "event_payload": {"key": key}},
    )


def test_the_crash_check_tells_this_rows_message_from_the_bots_others(bot, org, sender):
    """A busy channel: the bot's earlier messages (with metadata, other keys) and people's.

    The row whose message is there, 250 messages back, is recorded as sent without posting;
    the row whose message is not there is posted, although other bot messages are.
    """
    team = org.team("Fraud ML", home="CHOME", yes=5)
    posted = f"level:{org.level_change(team, 0, 1)}:CHOME"
    lost = f"level:{org.level_change(team, 1, 2)}:CHOME"
    for n in range(5):
        bot_message(bot, "CHOME", f"level:old{n}:CHOME")
    found = bot_message(bot, "CHOME", posted)
    for n in range(250):
        if n % 2:
            bot.slack.add_message("CHOME", f"people talking {n}", user="UPERSON")
        else:
            bot_message(bot, "CHOME", f"digest:{WS}:CHOME:2026-W{n}")
    claimed_by_a_dead_worker(bot, posted)
    claimed_by_a_dead_worker(bot, lost)

    result = sender.drain()

    assert (result.already_sent, result.sent) == (1, 1)
    assert [key_of(call) for call in posts(bot.slack, "CHOME")] == [lost]
    assert org.delivery(posted).message_ts == found["ts"]
    assert org.delivery(lost).message_ts == posts(bot.slack, "CHOME")[0].response["ts"]
    assert {org.delivery(k).state for k in (posted, lost)} == {DeliveryState.SENT}


def posted_before_the_crash(sender, channel: str, key: str) -> str:
    """An attempt that reached Slack (chat:write.public: no membership needed), whose answer
    the dead worker never recorded; returns the message's ts."""
    metadata = {"event_type": "mlops_bot_delivery", "event_payload": {"key": key}}
    return sender.client.chat_postMessage(channel=channel, text=key, metadata=metadata)["ts"]


def test_the_crash_check_reads_a_public_channel_the_bot_never_joined(bot, org, sender):
    """Real Slack refuses history to a non-member (`not_in_channel`), and with
    chat:write.public the bot posts into public channels it never joined: the check joins
    the channel and reads it, and the message is not posted twice."""
    bot.slack.add_channel("CPUBLIC", is_member=False)
    team = org.team("Fraud ML", home="CPUBLIC", yes=5)
    key = f"level:{org.level_change(team, 0, 1)}:CPUBLIC"
    ts = posted_before_the_crash(sender, "CPUBLIC", key)
    claimed_by_a_dead_worker(bot, key)

    result = sender.drain()

    assert (result.already_sent, result.sent) == (1, 0)
    assert [key_of(call) for call in posts(bot.slack, "CPUBLIC")] == [key], "posted twice"
    assert org.delivery(key).message_ts == ts
    assert [c.args["channel"] for c in bot.slack.calls_to("conversations.join")] == ["CPUBLIC"]


def test_a_crash_with_50_messages_in_flight_posts_each_once_under_slacks_history_limit(bot, org):
    """conversations.history at one call a minute and 15 messages a call (new commercial
    apps outside the Marketplace): its 429s make the rows wait, never re-post them.

    Two channels (one the bot never joined), each with 40 earlier messages of traffic and
    25 rows in flight when the worker died: 15 of them had reached Slack, 10 had not.
    """
    bot.slack.add_channel("CNEW", is_member=False)
    org.team("Fraud ML", home="CBUSY")
    # Posting's own pace is not under test here: the stand-in does not pace posts either.
    sender = make_sender(bot.runtime, pacer=Pacer(None, 1, None, 1))
    keys, reached = [], set()
    with bot.runtime.session_factory.begin() as session:
        for channel in ("CBUSY", "CNEW"):
            for n in range(25):
                key = f"alert:{channel}:{n}"
                keys.append(key)
                enqueue(
                    session,
                    workspace_id=WS,
                    key=key,
                    kind="alert",
                    channel_id=channel,
                    payload={"channel_id": "CX", "reason": "test", "key": key},
                )
    for channel in ("CBUSY", "CNEW"):
        for n in range(40):
            bot.slack.add_message(channel, f"people talking {n}", user="UPERSON")
        for n in range(15):
            key = f"alert:{channel}:{n}"
            posted_before_the_crash(sender, channel, key)
            reached.add(key)
        for n in range(25):
            bot.slack.add_message(channel, f"more talk {n}", user="UPERSON")
    for key in keys:
        claimed_by_a_dead_worker(bot, key)
    bot.slack.strict_history()

    outcomes = Counter()
    try:
        for _ in range(40):  # each round: drain, then a minute passes for Slack and the outbox
            result = sender.drain()
            outcomes.update(sent=result.sent, already_sent=result.already_sent)
            if {d.state for d in org.deliveries()} == {DeliveryState.SENT}:
                break
            bot.slack.advance(61)
            make_all_available(bot)
    finally:
        sender.close()

    sent = Counter(key_of(call) for call in posts(bot.slack))
    assert {key: n for key, n in sent.items() if n != 1} == {}, "posted twice"
    assert set(sent) == set(keys), "lost"
    assert outcomes == {"sent": 20, "already_sent": 30}
    history = bot.slack.calls_to("conversations.history")
    assert any(call.status == 429 for call in history), "the history limit never bit"


def make_all_available(bot) -> None:
    with bot.runtime.engine.begin() as connection:
        connection.execute(
            text("UPDATE deliveries SET available_at = :past"), {"past": datetime(2020, 1, 1)}
        )


def test_a_live_lease_is_not_taken_over(bot, org, sender):
    team = org.team("Fraud ML", home="CHOME", yes=5)
    change = org.level_change(team, 0, 1)
    with bot.runtime.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE deliveries SET state = 'sending', lease_owner = 'other', "
                "lease_until = :future"
            ),
            {"future": datetime(2099, 1, 1)},
        )
    assert sender.drain().sent == 0
    assert posts(bot.slack) == []
    assert org.delivery(f"level:{change}:CHOME").state == DeliveryState.SENDING


def test_a_worker_whose_lease_ran_out_cannot_overwrite_the_new_owners_outcome(bot, org):
    """A slow Slack answer outlives a worker's lease; another worker takes the row and sends
    it. The first worker's late answer (an error) must not mark the delivered message failed
    nor alarm an admin: only the lease's owner records an outcome."""
    team = org.team("Fraud ML", home="CHOME", yes=5)
    key = f"level:{org.level_change(team, 0, 1)}:CHOME"
    bot.slack.add_user("UADMIN", tz="UTC", is_admin=True)
    bot.slack.fail("chat.postMessage", error="channel_not_found")  # the slow worker's answer
    bot.slack.delay("chat.postMessage", 3)
    slow = make_sender(bot.runtime, lease_seconds=0.5, owner="slow")
    fast = make_sender(bot.runtime, lease_seconds=60, owner="fast")
    slow_result, claimed_once = [], threading.Event()
    thread = threading.Thread(target=lambda: slow_result.append(slow.drain(claimed_once)))
    try:
        thread.start()
        wait_until(lambda: state_of(bot, key) == "sending")  # its post is under way
        assert lease_of(bot, key)[0] == "slow"
        claimed_once.set()  # it claims nothing more, but still waits for Slack's answer
        wait_until(lambda: lease_of(bot, key) == ("slow", True))  # the lease runs out
        fast_result = fast.drain()  # takes the row over while the slow one still waits
        thread.join(timeout=30)
    finally:
        slow.close()
        fast.close()
    assert fast_result.sent == 1
    assert slow_result[0].lost_lease == 1 and slow_result[0].failed == 0
    (delivered,) = [call for call in bot.slack.calls_to("chat.postMessage") if not call.failed]
    row = org.delivery(key)
    assert row.state == DeliveryState.SENT
    assert row.message_ts == delivered.response["ts"]
    assert [d.kind for d in org.deliveries()] == ["level_change"], "an admin was told of a failure"


def lease_of(bot, key: str) -> tuple[str | None, bool]:
    """Which sender holds `key`'s lease, and whether it has run out (database clock)."""
    with bot.runtime.session_factory() as session:
        row = session.execute(
            select(Delivery.lease_owner, Delivery.lease_until).where(
                Delivery.idempotency_key == key
            )
        ).one()
        sender = row.lease_owner.split("/")[0] if row.lease_owner else None
        return sender, row.lease_until is not None and row.lease_until < db_now(session)


def test_two_worker_processes_send_each_key_once(bot, org, database_url):
    org.team("Seed", home="C0", yes=0)
    with bot.runtime.session_factory.begin() as session:
        for n in range(240):
            enqueue(
                session,
                workspace_id=WS,
                key=f"test:{n}",
                kind="alert",
                channel_id=f"C{n % 24}",
                payload={"channel_id": f"C{n % 24}", "reason": "test", "key": f"k{n}"},
            )
    bot.slack.delay("chat.postMessage", 0.01)  # Slack takes a moment: the workers overlap
    children = [start_child(database_url, bot.slack.api_url, 30) for _ in range(2)]
    for child in children:
        go(child)
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    sent = Counter(key_of(call) for call in posts(bot.slack))
    assert len(sent) == 240
    assert max(sent.values()) == 1, [k for k, n in sent.items() if n > 1]
    assert all(o["sent"] > 0 for o in outputs), f"one worker did everything: {outputs}"
    assert sum(o["sent"] for o in outputs) == 240
    assert {d.state for d in org.deliveries()} == {DeliveryState.SENT}


def test_two_overlapping_ticks_enqueue_each_key_once(bot, org):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    for n in range(20):
        org.team(f"Team {n}", yes=1)
        org.subscribe(f"CD{n}", tz="Europe/Berlin")
    now = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)  # Monday 09:30 in Berlin
    enqueue_due(bot.runtime, now, None)  # nothing cached yet: fills nothing, digests only
    with bot.runtime.session_factory.begin() as session:
        from bot.models import SlackUser

        session.add(SlackUser(workspace_id=WS, user_id="UOWNER", timezone="Europe/Berlin"))
    barrier = threading.Barrier(4)
    errors = []

    def run():
        try:
            barrier.wait()
            enqueue_due(bot.runtime, now, None)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    keys = Counter(d.idempotency_key.rsplit(":", 1)[0].split(":")[0] for d in org.deliveries())
    # Each digest comes with its trend picture, a delivery of its own.
    assert keys == {"digest": 20, "picture": 20, "nudge": 20}
    assert len({d.idempotency_key for d in org.deliveries()}) == 60
