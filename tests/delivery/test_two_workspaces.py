"""Two workspaces, one bot: what the bot sends on its own goes to the workspace it is about.

The request paths are covered by tests/test_isolation.py; these cover what nobody asked for
at that moment: digests, nudges, reassessment reminders and level-change announcements. Each
workspace has its own bot token (as after OAuth installs), so a message that Slack receives
with T1's token landed in T1, and each workspace's team has a name that must never appear in
the other's messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.domain import DEFAULT_CHECKLIST
from bot.models import Team, utcnow
from bot.outbox import Sender
from bot.worker import make_sender, tick
from tests.delivery.conftest import assert_valid_message, key_of, posts
from tests.driver import Person, buttons, run_assessment, text_of
from tests.test_isolation import WorkspaceBot

T1, T2 = "T1", "T2"
TOKENS = {T1: "xoxb-workspace-one", T2: "xoxb-workspace-two"}
WORKSPACE_OF = {token: ws for ws, token in TOKENS.items()}
NAMES = {T1: "Orion Fraud", T2: "Vega Churn"}
OWNERS = {T1: "U1", T2: "U2"}
HOMES = {T1: "C1HOME", T2: "C2HOME"}
DIGESTS = {T1: "C1DIGEST", T2: "C2DIGEST"}
L1 = {cap: "yes" for cap in DEFAULT_CHECKLIST.required_for(1)}


@dataclass
class Two:
    bot: object
    people: dict[str, Person]
    teams: dict[str, int]

    def sent(self, prefix: str, since: int = 0) -> list:
        """Posts whose outbox key starts with `prefix` (`digest:`, `nudge:`, ...), from the
        `since`-th successful post on."""
        return [call for call in posts(self.bot.slack)[since:] if key_of(call).startswith(prefix)]


def next_monday_0830_utc() -> datetime:
    """09:30 in Berlin on a Monday at least a week away: a nudge morning past the 09:00
    digests, and a week after the assessments just now (they count as contact)."""
    today = utcnow().astimezone(UTC).replace(hour=8, minute=30, second=0, microsecond=0)
    return today + timedelta(days=(7 - today.weekday()) % 7 + 7)


@pytest.fixture
def sender(bot) -> Iterator[Sender]:
    """The worker's sender, using each workspace's own token like after OAuth installs."""
    made = make_sender(bot.runtime, token_for=TOKENS.get, backoff_base=0.2)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def two(bot) -> Two:
    """In each workspace an admin subscribes a digest channel and an owner assesses a team:
    T1's lands at L1 (announced), T2's at L0."""
    people, teams = {}, {}
    for ws, token in TOKENS.items():
        bot.slack.add_token(token, team_id=ws)
        bot.slack.add_user(OWNERS[ws], tz="Europe/Berlin", is_admin=True, team_id=ws)
        person = Person(WorkspaceBot(bot, ws), OWNERS[ws], HOMES[ws])
        person.command(f"digest <#{DIGESTS[ws]}|digest> daily 09:00 Europe/Berlin")
        run_assessment(person, NAMES[ws], L1 if ws == T1 else {})
        people[ws] = person
    with bot.session() as session:
        for team in session.scalars(select(Team)):
            teams[team.workspace_id] = team.id
    assert set(teams) == {T1, T2}
    return Two(bot, people, teams)


def assert_in_its_own_workspace(call, ws: str, teams: dict[str, int]) -> None:
    """Sent with `ws`'s token, naming `ws`'s team and never the other workspace's, with
    buttons that act on `ws`'s team only."""
    other = T2 if ws == T1 else T1
    assert WORKSPACE_OF[call.token] == ws, f"{key_of(call)} sent into {WORKSPACE_OF[call.token]}"
    shown = text_of(call.args)
    assert NAMES[other] not in shown, f"{ws}'s message shows {other}'s team: {shown[:300]}"
    for element in buttons(call.args).values():
        value = element.get("value")
        if value and value.startswith("{"):
            team_id = json.loads(value).get("team_id")
            assert team_id in (None, teams[ws]), f"a button for {other}'s team"


def test_level_changes_are_announced_only_in_their_own_workspace(bot, two, sender):
    sender.drain()
    announced = two.sent("level:")
    assert sorted(call.args["channel"] for call in announced) == [DIGESTS[T1], HOMES[T1]]
    for call in announced:
        assert_in_its_own_workspace(call, T1, two.teams)
        assert f"{NAMES[T1]} moved up to L1" in call.args["text"]

    # T2's team moves up too: only T2's channels hear of it.
    before = len(posts(bot.slack))
    run_assessment(two.people[T2], NAMES[T2], L1)
    sender.drain()
    announced = two.sent("level:", since=before)
    assert sorted(call.args["channel"] for call in announced) == [DIGESTS[T2], HOMES[T2]]
    for call in announced:
        assert_in_its_own_workspace(call, T2, two.teams)


def test_each_digest_summarises_its_own_workspace(bot, two, sender):
    counts = tick(bot.runtime, next_monday_0830_utc(), sender=sender)
    assert counts["digest"] == 2
    digests = {call.args["channel"]: call for call in two.sent("digest:")}
    assert set(digests) == {DIGESTS[T1], DIGESTS[T2]}
    for ws in (T1, T2):
        call = digests[DIGESTS[ws]]
        assert_valid_message(call.args)
        assert_in_its_own_workspace(call, ws, two.teams)
        assert call.args["text"].startswith("MLOps maturity digest: 1 team,")
    assert NAMES[T1] in text_of(digests[DIGESTS[T1]].args)  # moved up this week


def assert_each_owner_hears_of_their_own_team(two: Two, prefix: str) -> None:
    """One DM per owner (key `prefix`...), sent into and about the owner's own workspace."""
    dms = two.sent(prefix)
    assert sorted(call.args["channel"] for call in dms) == [OWNERS[T1], OWNERS[T2]]
    for call in dms:
        ws = T1 if call.args["channel"] == OWNERS[T1] else T2
        assert_valid_message(call.args)
        assert_in_its_own_workspace(call, ws, two.teams)
        assert NAMES[ws] in text_of(call.args)


def test_each_owner_is_nudged_about_their_own_team(bot, two, sender):
    tick(bot.runtime, next_monday_0830_utc(), sender=sender)
    assert_each_owner_hears_of_their_own_team(two, "nudge:")


def test_each_owner_is_reminded_to_reassess_their_own_team(bot, two, sender):
    long_ago = utcnow() - timedelta(days=bot.settings.stale_after_days + 30)
    with bot.runtime.session_factory.begin() as session:
        session.execute(update(Team).values(last_assessed_at=long_ago))
    tick(bot.runtime, next_monday_0830_utc(), sender=sender)
    assert_each_owner_hears_of_their_own_team(two, "reassess:")
