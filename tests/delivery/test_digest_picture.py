"""The digest's trend picture: shared into the digest's channel right after the digest, once
per digest, through the outbox (its own delivery row), and never twice after a crash.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from PIL import Image
from slack_sdk import WebClient
from sqlalchemy import select, update

from bot.models import Delivery, DeliveryState, DigestSubscription
from tests.conftest import BOT_TOKEN
from tests.delivery.conftest import WS, key_of, posts
from tests.driver import Person

MONDAY = datetime(2026, 11, 30, 9, 5, tzinfo=UTC)
PICTURE_KEY = f"picture:{WS}:CDIGEST:2026-W49"


@pytest.fixture
def admin_person(bot) -> Person:
    bot.slack.add_user("UADMIN", tz="UTC", is_admin=True)
    return Person(bot, user_id="UADMIN")


def shares(bot, channel: str) -> list[dict]:
    return [m for m in bot.slack.messages.get(channel, []) if m.get("upload")]


def test_the_digest_is_followed_by_its_trend_picture_once(bot, org, run_tick):
    fraud = org.team("Fraud ML", yes=5)
    org.team("Vision", yes=1)
    org.level_change(fraud, None, 1, announce=False)
    org.subscribe("CDIGEST", weekday=0, at="09:00", tz="UTC")
    counts = run_tick(MONDAY)
    assert counts["digest"] == 1 and counts["sent"] == 2

    (digest,) = [c for c in posts(bot.slack, "CDIGEST") if key_of(c).startswith("digest:")]
    messages = bot.slack.messages["CDIGEST"]
    # The digest and its picture, each once. Claimed in that order, but sent by the sender's
    # threads within the channel's burst, so Slack may show them either way round.
    assert sorted(bool(m.get("upload")) for m in messages[-2:]) == [False, True]
    (share,) = shares(bot, "CDIGEST")
    (file,) = share["files"]
    assert file["name"] == "maturity-trend-2026-W49.png"
    record = bot.slack.files[file["id"]]
    assert record["alt_txt"].startswith("Teams per level, week by week, 1 week from 30 Nov 2026")
    assert "This week: 0 at L0 · Manual, 1 at L1 · ML pipeline, 0 at L2" in record["alt_txt"]
    image = Image.open(io.BytesIO(record["content"]))
    assert image.size == (record["original_w"], record["original_h"]) == (800, 420)
    assert "charts off" in share["text"]
    with bot.runtime.session_factory() as session:
        sub = session.scalar(select(DigestSubscription))
        assert sub.picture_file_id == file["id"] and sub.picture_shared_at is not None
    assert org.delivery(PICTURE_KEY).state == DeliveryState.SENT

    again = run_tick(MONDAY.replace(hour=10))  # repeated ticks: no second digest or picture
    assert again["digest"] == 0 and again["sent"] == 0
    assert len(bot.slack.calls_to("files.completeUploadExternal")) == 1
    assert digest.args["channel"] == "CDIGEST"


def test_charts_off_sends_the_digest_alone_and_on_brings_the_picture_back(bot, admin_person):
    bot.slack.add_channel("CDIGEST", is_member=True)
    said = admin_person.command("digest <#CDIGEST|leads> weekly monday 09:00 UTC charts off")
    assert "without the trend picture" in said["text"] + json.dumps(said.get("blocks"))
    from bot.worker import tick

    tick(bot.runtime, datetime(2026, 12, 7, 9, 5, tzinfo=UTC))  # after subscribing (now)
    assert posts(bot.slack, "CDIGEST") and shares(bot, "CDIGEST") == []
    with bot.runtime.session_factory() as session:
        assert session.scalar(select(DigestSubscription.charts)) is False
        kinds = {d.kind for d in session.scalars(select(Delivery))}
        assert "picture" not in kinds

    admin_person.command("digest <#CDIGEST|leads> charts on")
    tick(bot.runtime, datetime(2026, 12, 14, 9, 5, tzinfo=UTC))
    assert [f["name"] for m in shares(bot, "CDIGEST") for f in m["files"]] == [
        "maturity-trend-2026-W51.png"
    ]
    refused = admin_person.command("digest <#CDIGEST|leads> charts maybe")
    assert "Say `charts on` or `charts off`" in refused["text"]


def test_a_picture_that_may_have_gone_before_a_crash_is_found_not_uploaded_again(bot, org, sender):
    org.team("Fraud ML", yes=5)
    org.subscribe("CDIGEST", weekday=0, at="09:00", tz="UTC")
    from bot.worker import enqueue_due

    enqueue_due(bot.runtime, MONDAY, None)
    # An earlier attempt shared the file, then its worker died before recording it.
    WebClient(token=BOT_TOKEN, base_url=bot.slack.api_url).files_upload_v2(
        channel="CDIGEST", content=b"\x89PNG earlier", filename="maturity-trend-2026-W49.png"
    )
    with bot.runtime.session_factory.begin() as session:
        session.execute(
            update(Delivery)
            .where(Delivery.idempotency_key == PICTURE_KEY)
            .values(state=DeliveryState.SENDING, attempts=1)
        )
    result = sender.drain()
    assert result.already_sent == 1 and result.sent == 1  # the digest went; the picture was there
    assert len(bot.slack.calls_to("files.completeUploadExternal")) == 1
    assert org.delivery(PICTURE_KEY).state == DeliveryState.SENT


def test_a_picture_for_an_unsubscribed_channel_is_cancelled(bot, org, sender):
    org.team("Fraud ML", yes=5)
    org.subscribe("CDIGEST", weekday=0, at="09:00", tz="UTC")
    from bot.worker import enqueue_due

    enqueue_due(bot.runtime, MONDAY, None)
    with bot.runtime.session_factory.begin() as session:
        session.execute(update(DigestSubscription).values(charts=False))
    result = sender.drain()
    assert result.cancelled == 1
    assert bot.slack.calls_to("files.getUploadURLExternal") == []


def home_blocks(bot, user: str, count: int) -> list[dict]:
    bot.client.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"})
    calls = bot.slack.wait_for(
        "views.publish", count=count, where=lambda c: c.args.get("user_id") == user
    )
    assert not calls[-1].failed
    return bot.slack.home_views[user]["blocks"]


def test_app_home_shows_the_digests_trend_picture(bot, org, run_tick):
    fraud = org.team("Fraud ML", yes=5)
    org.level_change(fraud, None, 1, announce=False)
    before = home_blocks(bot, "U1", 1)
    assert not [b for b in before if b["type"] == "image"]  # no digest yet: no picture

    org.subscribe("CDIGEST", weekday=0, at="09:00", tz="UTC")
    run_tick(MONDAY)
    (share,) = shares(bot, "CDIGEST")
    (image,) = [b for b in home_blocks(bot, "U1", 2) if b["type"] == "image"]
    assert image["slack_file"] == {"id": share["files"][0]["id"]}
    assert "This week: 0 at L0 · Manual, 1 at L1 · ML pipeline" in image["alt_text"]
    assert "digest of 30 Nov 2026" in image["title"]["text"]


def test_app_home_leaves_out_a_picture_its_viewer_cannot_see(bot, org, run_tick):
    org.team("Fraud ML", yes=5)
    bot.slack.add_channel("GLEADS", is_private=True, is_member=True)
    org.subscribe("GLEADS", weekday=0, at="09:00", tz="UTC")
    run_tick(MONDAY)
    assert shares(bot, "GLEADS")
    blocks = home_blocks(bot, "U1", 2)  # refused once with the picture, then without it
    assert not [b for b in blocks if b["type"] == "image"]
    assert "Your organisation" in json.dumps(blocks)
    bot.slack.refused.clear()  # the refusal was Slack's answer, handled
