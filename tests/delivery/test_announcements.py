"""Level-change announcements: from a finished assessment to the channels, within seconds."""

from __future__ import annotations

import time

from bot.domain import DEFAULT_CHECKLIST
from bot.outbox import enqueue
from bot.worker import DrainLoop, make_sender
from tests.delivery.conftest import WS, assert_valid_message, key_of, posts
from tests.driver import Person, eventually, run_assessment


def level_posts(slack) -> list:
    return [
        call
        for call in posts(slack)
        if (call.args.get("metadata") or {}).get("event_payload", {}).get("key", "")[:6] == "level:"
    ]


def test_finishing_an_assessment_is_announced_in_home_and_digest_channels(bot, org):
    """Through the front door: a person levels up; the running worker announces it."""
    org.subscribe("CDIGEST")
    loop = DrainLoop(make_sender(bot.runtime)).start()
    try:
        person = Person(bot, channel_id="CHOME")
        l1 = DEFAULT_CHECKLIST.required_for(1)
        run_assessment(person, "Fraud ML", {cap: "yes" for cap in l1})
        finished = time.monotonic()
        bot.slack.wait_until(lambda: len(level_posts(bot.slack)) >= 2, timeout=10)
        took = time.monotonic() - finished
        for _ in range(2):  # another drain or two: still exactly one per channel
            previous = loop.last
            assert eventually(lambda previous=previous: loop.last is not previous, timeout=10)
    finally:
        loop.stop()
    sent = level_posts(bot.slack)
    assert sorted(c.args["channel"] for c in sent) == ["CDIGEST", "CHOME"]
    assert took < 5, f"announced {took:.1f}s after the last answer"
    for call in sent:
        assert_valid_message(call.args)
        assert "Fraud ML moved up to L1" in call.args["text"]
    assert len(level_posts(bot.slack)) == 2


def test_a_level_change_is_sent_once_per_channel_however_often_it_is_enqueued(bot, org, sender):
    team = org.team("Fraud ML", home="CHOME", yes=5)
    org.subscribe("CDIGEST")
    change = org.level_change(team, 0, 1)
    with bot.runtime.session_factory.begin() as session:  # the flow retried, say
        again = enqueue(
            session,
            workspace_id=WS,
            key=f"level:{change}:CHOME",
            kind="level_change",
            channel_id="CHOME",
            payload={"level_change_id": change, "team_id": team},
        )
    assert again is False
    assert sender.drain().sent == 2
    assert sorted(key_of(c) for c in posts(bot.slack)) == [
        f"level:{change}:CDIGEST",
        f"level:{change}:CHOME",
    ]
    assert sender.drain().sent == 0


def test_a_move_down_reads_as_one(bot, org, sender):
    team = org.team("Fraud ML", home="CHOME", yes=0)
    org.level_change(team, 1, 0)
    sender.drain()
    (post,) = posts(bot.slack, "CHOME")
    assert "moved down to L0" in post.args["text"]
    assert_valid_message(post.args)


def test_an_announcement_names_what_is_left_of_the_next_step(bot, org, sender):
    """Through the front door: L1 reached with CI/CD already in place; the next step (5) is
    only half to do, and the announcement says which half."""
    person = Person(bot, channel_id="CHOME")
    l1 = {cap: "yes" for cap in DEFAULT_CHECKLIST.required_for(1)}
    run_assessment(person, "Fraud ML", {**l1, "cicd": "yes"})
    sender.drain()
    (announced,) = level_posts(bot.slack)
    assert_valid_message(announced.args)
    assert "Next step: *Step 5, A/B testing is what's left*" in str(announced.args["blocks"])
