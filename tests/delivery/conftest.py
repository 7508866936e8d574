"""Fixtures for digests, nudges and the outbox: an org in the database, a sender on FakeSlack.

Everything Slack-facing runs against the real bot and the Web API stand-in; time-dependent
rules are driven by passing `now` to the tick, never by patching the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.blocks import Block

from bot.domain import DEFAULT_CHECKLIST, Answer
from bot.models import (
    Cadence,
    Delivery,
    DigestSubscription,
    LevelChange,
    Team,
    TeamOwner,
    TeamReminder,
    Workspace,
    utcnow,
)
from bot.outbox import Sender, enqueue
from bot.sandbox.seed import seed_finished_assessment
from bot.services.digests import digest_channels
from bot.worker import make_sender, tick
from tests.conftest import TEAM_ID

WS = TEAM_ID


def assert_valid_message(message: dict) -> None:
    """What Slack would accept: at most 50 blocks, each valid by slack_sdk's models."""
    blocks = message.get("blocks") or []
    assert 0 < len(blocks) <= 50
    for block in Block.parse_all(blocks):
        block.to_dict()  # validates recursively (lengths, counts, required fields)
    assert message.get("text")


@dataclass
class Org:
    """Builds the workspace the tests need, the way the assessment flow would leave it."""

    bot: object

    def session(self):
        return self.bot.runtime.session_factory.begin()

    def joined(self, channel: str | None) -> None:
        """Make the bot a member of `channel` unless the test declared it otherwise.

        The stand-in, like Slack, lets the bot read history only where it is a member; these
        tests are about what the outbox does in channels it has joined (a test of the
        not-joined case declares the channel with `add_channel(..., is_member=False)`).
        """
        if channel and channel not in self.bot.slack.channels:
            self.bot.slack.add_channel(channel, is_member=True)

    def team(
        self,
        name: str,
        owners: tuple[str, ...] = ("UOWNER",),
        *,
        home: str | None = None,
        yes: int = 0,
        assessed_days_ago: int | None = None,
        assessed_at: datetime | None = None,
        cadence: Cadence | None = None,
    ) -> int:
        """A team whose first `yes` capabilities (asking order) are answered yes, assessed
        through the service (`seed_finished_assessment`) without a level change."""
        self.joined(home)
        if assessed_days_ago is not None:
            assessed_at = utcnow() - timedelta(days=assessed_days_ago)
        answers = {cap: Answer.YES for cap in DEFAULT_CHECKLIST.ids[:yes]}
        with self.session() as session:
            if session.get(Workspace, WS) is None:
                session.add(Workspace(id=WS))
                session.flush()
            team = Team(
                workspace_id=WS,
                name=name,
                name_key=name.casefold(),
                home_channel_id=home,
                created_by="UADMIN",
            )
            session.add(team)
            session.flush()
            for user in owners:
                session.add(TeamOwner(team_id=team.id, user_id=user, workspace_id=WS))
            if cadence is not None:  # no row: the default cadence, as for a new team
                session.add(TeamReminder(team_id=team.id, workspace_id=WS, cadence=cadence))
            seed_finished_assessment(
                session,
                team,
                answers,
                by=owners[0] if owners else "UADMIN",
                at=assessed_at,
                record_level_change=False,
            )
            if assessed_at is None:
                # The tests tick at fixed moments: "assessed now" on the wall clock would be
                # a contact (holding back nudges) or an age that moves with the day the suite
                # runs. Without a given moment the team has no last-assessment time.
                team.last_assessed_at = None
            return team.id

    def subscribe(
        self, channel: str, cadence="weekly", weekday=0, at="09:00", tz="UTC", created=None
    ):
        self.joined(channel)
        with self.session() as session:
            if session.get(Workspace, WS) is None:
                session.add(Workspace(id=WS))
                session.flush()
            session.add(
                DigestSubscription(
                    workspace_id=WS,
                    channel_id=channel,
                    cadence=Cadence(cadence),
                    weekday=weekday if cadence == "weekly" else None,
                    local_time=at,
                    timezone=tz,
                    created_by="UADMIN",
                    created_at=created or datetime(2020, 1, 1, tzinfo=UTC),
                )
            )

    def level_change(
        self, team_id: int, from_level: int | None, to_level: int, *, announce: bool = True
    ) -> int:
        """Record a level change and enqueue its announcements as the assessment flow does."""
        with self.session() as session:
            team = session.get(Team, team_id)
            change = LevelChange(
                workspace_id=WS,
                team_id=team_id,
                from_level=from_level,
                to_level=to_level,
                changed_by="UOWNER",
            )
            session.add(change)
            session.flush()
            channels = [team.home_channel_id] if team.home_channel_id else []
            channels += digest_channels(session, WS)
            if not announce:
                channels = []
            for channel in channels:
                enqueue(
                    session,
                    workspace_id=WS,
                    key=f"level:{change.id}:{channel}",
                    kind="level_change",
                    channel_id=channel,
                    payload={"level_change_id": change.id, "team_id": team_id},
                )
            return change.id

    def deliveries(self) -> list[Delivery]:
        with self.bot.runtime.session_factory() as session:
            return list(session.query(Delivery).order_by(Delivery.id))

    def delivery(self, key: str) -> Delivery:
        with self.bot.runtime.session_factory() as session:
            return session.query(Delivery).filter_by(idempotency_key=key).one()


@pytest.fixture
def org(bot) -> Org:
    return Org(bot)


@pytest.fixture
def sender(bot) -> Iterator[Sender]:
    """The outbox sender as the worker builds it, with short backoffs for tests."""
    made = make_sender(bot.runtime, backoff_base=0.2, lease_seconds=30)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def run_tick(bot, sender):
    """`run_tick(now)`: enqueue what is due at `now` and drain once, like `jobs due --at`."""

    def run(now: datetime) -> dict:
        return tick(bot.runtime, now, sender=sender)

    return run


def posts(slack, channel: str | None = None) -> list:
    """Successful chat.postMessage calls (to `channel`, a user id for DMs)."""
    return [
        call
        for call in slack.calls_to("chat.postMessage")
        if not call.failed and (channel is None or call.args.get("channel") == channel)
    ]


def key_of(call) -> str:
    return call.args["metadata"]["event_payload"]["key"]


def buttons(message: dict) -> dict[str, dict]:
    """The interactive elements of a message, by action_id."""
    return {
        element["action_id"]: element
        for block in message.get("blocks") or []
        if block["type"] == "actions"
        for element in block["elements"]
    }
