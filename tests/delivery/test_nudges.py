"""Nudges and reassessment reminders: who gets one, when, and what the buttons do.

Time is driven by the tick's `now`; Slack is the stand-in, and every button press is a signed
request to the running bot.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.models import Cadence, TeamReminder, utcnow
from handlers.ids import DeliveryAction
from tests.delivery.conftest import assert_valid_message, buttons, key_of, posts
from tests.driver import Person, run_assessment

MONDAY_0930_BERLIN = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)


def nudges_to(bot, user: str) -> list:
    return [c for c in posts(bot.slack, user) if key_of(c).startswith("nudge:")]


def reminder_of(bot, team_id: int) -> TeamReminder | None:
    with bot.session() as session:
        return session.get(TeamReminder, team_id)


def test_a_nudge_names_the_next_step_with_done_snooze_and_stop(bot, org, run_tick):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    team = org.team("Fraud ML", yes=1)
    counts = run_tick(MONDAY_0930_BERLIN)
    assert counts["nudge"] == 1 and counts["sent"] == 1
    (nudge,) = nudges_to(bot, "UOWNER")
    assert_valid_message(nudge.args)
    assert key_of(nudge) == f"nudge:{team}:UOWNER:2026-11-30"
    assert "Step 2" in nudge.args["text"]  # versioning is done, tracking is next
    elements = buttons(nudge.args)
    done = elements[DeliveryAction.DONE]
    assert done["action_id"] == "assess_step"
    assert json.loads(done["value"]) == {"team_id": team, "step": 2}
    assert {o["text"]["text"] for o in elements[DeliveryAction.SNOOZE]["options"]} >= {
        "1 week",
        "2 weeks",
    }
    assert elements[DeliveryAction.SNOOZE_UNTIL]["type"] == "datepicker"
    assert elements[DeliveryAction.STOP]["confirm"]


def test_each_owner_in_their_own_morning(bot, org, run_tick):
    bot.slack.add_user("UTOKYO", tz="Asia/Tokyo")
    bot.slack.add_user("UNYC", tz="America/New_York")
    org.team("Fraud ML", owners=("UTOKYO", "UNYC"), yes=1)
    run_tick(datetime(2026, 11, 30, 0, 30, tzinfo=UTC))  # 09:30 Tokyo, Sunday night NYC
    assert len(nudges_to(bot, "UTOKYO")) == 1 and nudges_to(bot, "UNYC") == []
    run_tick(datetime(2026, 11, 30, 14, 30, tzinfo=UTC))  # 09:30 NYC, 23:30 Tokyo
    assert len(nudges_to(bot, "UTOKYO")) == 1 and len(nudges_to(bot, "UNYC")) == 1


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 30, 6, 30, tzinfo=UTC),  # 07:30 Berlin: too early
        datetime(2026, 11, 30, 21, 0, tzinfo=UTC),  # 22:00 Berlin: quiet hours
        datetime(2026, 11, 28, 9, 0, tzinfo=UTC),  # Saturday morning
    ],
)
def test_no_nudge_outside_weekday_mornings(bot, org, run_tick, now):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    org.team("Fraud ML", yes=1)
    assert run_tick(now)["nudge"] == 0
    assert posts(bot.slack) == []


@pytest.mark.parametrize("cadence,again_after_days", [(None, 7), ("biweekly", 14), ("monthly", 28)])
def test_not_nudged_again_within_the_cadence(bot, org, run_tick, cadence, again_after_days):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    org.team("Fraud ML", yes=1, cadence=Cadence(cadence) if cadence else None)
    run_tick(MONDAY_0930_BERLIN)
    run_tick(MONDAY_0930_BERLIN + timedelta(minutes=30))  # the same morning again
    for day in (1, 4, again_after_days - 1, again_after_days):
        run_tick(MONDAY_0930_BERLIN + timedelta(days=day))
    days = [key_of(c).rsplit(":", 1)[1] for c in nudges_to(bot, "UOWNER")]
    first = MONDAY_0930_BERLIN.date()
    assert days == [first.isoformat(), (first + timedelta(days=again_after_days)).isoformat()]


def test_no_nudge_when_snoozed_stopped_finished_or_deactivated(bot, org, run_tick):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    bot.slack.add_user("UGONE", tz="Europe/Berlin", deleted=True)
    org.team("Snoozed", yes=1)
    org.team("Stopped", yes=1, cadence=Cadence.OFF)
    org.team("All done", yes=9)
    org.team("Gone owner", owners=("UGONE",), yes=1)
    org.team("Unknown owner", owners=("UNOBODY",), yes=1)  # users.info: user_not_found
    org.team("Active", yes=1)
    with bot.runtime.session_factory.begin() as session:
        from bot.models import Team

        snoozed = session.query(Team).filter_by(name="Snoozed").one()
        session.add(
            TeamReminder(
                team_id=snoozed.id,
                workspace_id=snoozed.workspace_id,
                snoozed_until=MONDAY_0930_BERLIN + timedelta(days=3),
            )
        )
    run_tick(MONDAY_0930_BERLIN)
    sent = [c.args["text"] for c in posts(bot.slack)]
    assert len(sent) == 1 and "Active" in sent[0], sent
    with bot.runtime.session_factory.begin() as session:  # the snooze has run out
        session.get(TeamReminder, snoozed.id).snoozed_until = utcnow() - timedelta(minutes=1)
    run_tick(MONDAY_0930_BERLIN + timedelta(days=7))
    texts = [c.args["text"] for c in posts(bot.slack)]
    assert sum("Snoozed" in t for t in texts) == 1
    assert not any(name in " ".join(texts) for name in ("Stopped", "All done", "Gone owner"))


def test_a_snooze_pressed_after_the_tick_still_wins(bot, org, sender):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    team = org.team("Fraud ML", yes=1)
    from bot.worker import enqueue_due

    enqueue_due(bot.runtime, MONDAY_0930_BERLIN, sender.client)
    with bot.runtime.session_factory.begin() as session:
        session.add(
            TeamReminder(
                team_id=team, workspace_id="T0TEST", snoozed_until=utcnow() + timedelta(days=7)
            )
        )
    result = sender.drain()
    assert result.cancelled == 1 and posts(bot.slack) == []


def test_reassessment_reminder_for_a_stale_team_every_four_weeks(bot, org, run_tick):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    assessed = MONDAY_0930_BERLIN - timedelta(days=100)  # stale (90 days) since 20 November
    team = org.team("Old answers", yes=1, assessed_at=assessed)
    run_tick(MONDAY_0930_BERLIN)
    (reminder,) = posts(bot.slack, "UOWNER")
    assert key_of(reminder).startswith(f"reassess:{team}:UOWNER:")
    assert_valid_message(reminder.args)
    assert "days ago" in reminder.args["text"] and "reassess" in reminder.args["text"]
    assert buttons(reminder.args)[DeliveryAction.REASSESS]["value"] == str(team)
    # The weeks after: the usual nudge, not another reminder; four weeks on: a reminder.
    for week in (1, 2, 3, 4):
        run_tick(MONDAY_0930_BERLIN + timedelta(days=7 * week))
    kinds = [key_of(c).split(":")[0] for c in posts(bot.slack, "UOWNER")]
    assert kinds == ["reassess", "nudge", "nudge", "reassess", "nudge"]


# ---------------------------------------------------------------------------- buttons


@pytest.fixture
def nudged(bot, org, run_tick):
    """An owner who got a nudge, and the message as it sits in their DM."""
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    bot.slack.add_user("USTRANGER", tz="Europe/Berlin")
    team = org.team("Fraud ML", yes=1)
    run_tick(MONDAY_0930_BERLIN)
    message = bot.slack.messages["DUOWNER"][-1]
    return team, message


def press(bot, message, action_id, user="UOWNER", **kwargs):
    block_id = next(b["block_id"] for b in message["blocks"] if b["type"] == "actions")
    before = len(bot.slack.calls_to("response_url"))
    response = bot.client.block_action(
        action_id,
        block_id=block_id,
        user_id=user,
        channel_id="DUOWNER",
        message=message,
        **kwargs,
    )
    assert response.status == 200
    return bot.slack.wait_for("response_url", count=before + 1)[-1]


@pytest.mark.parametrize("label,days", [("1 week", 7), ("2 weeks", 14)])
def test_snooze_from_the_nudge(bot, nudged, label, days):
    team, message = nudged
    select = buttons(message)[DeliveryAction.SNOOZE]
    option = next(o for o in select["options"] if o["text"]["text"] == label)
    answer = press(
        bot, message, DeliveryAction.SNOOZE, action_type="static_select", selected_option=option
    )
    assert answer.args["replace_original"] is True
    assert "Snoozed" in answer.args["text"]
    until = reminder_of(bot, team).snoozed_until
    assert abs(until - (utcnow() + timedelta(days=days))) < timedelta(minutes=1)


def test_snooze_until_a_date(bot, nudged):
    team, message = nudged
    day = (utcnow() + timedelta(days=20)).date().isoformat()
    answer = press(
        bot,
        message,
        DeliveryAction.SNOOZE_UNTIL,
        action_type="datepicker",
        action={"selected_date": day},
    )
    assert "Snoozed" in answer.args["text"]
    until = reminder_of(bot, team).snoozed_until
    assert until.astimezone(UTC).date().isoformat() <= day
    assert until > utcnow() + timedelta(days=19)


def test_snooze_until_a_past_date_is_refused(bot, nudged):
    team, message = nudged
    answer = press(
        bot,
        message,
        DeliveryAction.SNOOZE_UNTIL,
        action_type="datepicker",
        action={"selected_date": "2020-01-01"},
    )
    assert "passed" in answer.args["text"]
    assert reminder_of(bot, team) is None


def test_stop_from_the_nudge(bot, nudged):
    team, message = nudged
    answer = press(bot, message, DeliveryAction.STOP, value=json.dumps({"team_id": team}))
    assert "Stopped" in answer.args["text"]
    assert reminder_of(bot, team).cadence == Cadence.OFF


def test_only_owners_may_snooze_or_stop(bot, nudged):
    team, message = nudged
    answer = press(
        bot, message, DeliveryAction.STOP, user="USTRANGER", value=json.dumps({"team_id": team})
    )
    assert "Only the owners of *Fraud ML*" in answer.args["text"]
    assert reminder_of(bot, team) is None


def test_a_button_for_a_deleted_team_is_answered_plainly(bot, nudged):
    team, message = nudged
    answer = press(bot, message, DeliveryAction.STOP, value=json.dumps({"team_id": 999999}))
    assert "no longer exists" in answer.args["text"]


# ---------------------------------------------------------------------------- commands


def say(bot, text, user="UOWNER", channel="C1"):
    before = len(bot.slack.calls_to("response_url"))
    bot.client.command(text, user_id=user, channel_id=channel)
    return bot.slack.wait_for("response_url", count=before + 1)[-1].args["text"]


def test_remind_sets_the_cadence_for_owners_only(bot, org):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    team = org.team("Fraud ML", yes=1)
    org.team("Other", owners=("USOMEONE",))
    assert "monthly nudge" in say(bot, "remind monthly Fraud ML")
    assert reminder_of(bot, team).cadence == Cadence.MONTHLY
    assert "is nudged monthly" in say(bot, "remind")  # the one team UOWNER owns
    refused = say(bot, "remind off Fraud ML", user="USOMEONE")
    assert "Only the owners" in refused
    assert reminder_of(bot, team).cadence == Cadence.MONTHLY
    assert "don't understand `hourly`" in say(bot, "remind hourly Fraud ML")
    assert "don't know a team called" in say(bot, "remind weekly Nope")


def test_snooze_command(bot, org):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    team = org.team("Fraud ML", yes=1)
    assert "until" in say(bot, "snooze 2w Fraud ML")
    until = reminder_of(bot, team).snoozed_until
    assert abs(until - (utcnow() + timedelta(days=14))) < timedelta(minutes=1)
    assert "back on" in say(bot, "snooze off Fraud ML")
    assert reminder_of(bot, team).snoozed_until is None
    assert "until" in say(bot, "snooze until 2027-02-01")
    assert "don't understand `soon`" in say(bot, "snooze soon")
    assert "at most a year" in say(bot, "snooze 60w")
    assert "Only the owners" in say(bot, "snooze 1w Fraud ML", user="USTRANGER")


def test_owners_time_zones_are_cached_and_a_rate_limit_stops_the_lookups(bot, org, run_tick):
    for n in range(5):
        bot.slack.add_user(f"UOWNER{n}", tz="Europe/Berlin")
        org.team(f"Team {n}", owners=(f"UOWNER{n}",), yes=1)
    bot.slack.rate_limit("users.info", retry_after=30, times=1)
    assert run_tick(MONDAY_0930_BERLIN)["nudge"] == 0  # nobody known yet
    assert len(bot.slack.calls_to("users.info")) == 1, "kept asking after a 429"
    run_tick(MONDAY_0930_BERLIN + timedelta(minutes=1))  # the next tick: all five looked up
    assert len(nudges_to_all(bot)) == 5
    run_tick(MONDAY_0930_BERLIN + timedelta(minutes=2))
    assert len(bot.slack.calls_to("users.info")) == 6, "cached for a day"


def nudges_to_all(bot) -> list:
    return [c for c in posts(bot.slack) if key_of(c).startswith("nudge:")]


# ---------------------------------------------------------------------------- contact


def weekday_0930_utc(after: datetime, days: int = 0) -> datetime:
    """The first weekday 09:30 UTC at least `days` days after `after` (a nudge morning)."""
    moment = (after + timedelta(days=days)).replace(hour=9, minute=30, second=0, microsecond=0)
    while moment <= after + timedelta(days=days) or moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment


def test_assessed_at_0610_is_not_nudged_at_0930_that_day(bot, org, run_tick):
    """The assessment is contact: the cadence counts from it, as from a nudge."""
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    assessed = datetime(2026, 11, 30, 5, 10, tzinfo=UTC)  # Monday 06:10 in Berlin
    org.team("Fraud ML", yes=1, assessed_at=assessed)
    # A tick for a moment before the assessment is not held back by it.
    assert run_tick(MONDAY_0930_BERLIN - timedelta(days=7))["nudge"] == 1
    assert run_tick(MONDAY_0930_BERLIN)["nudge"] == 0  # a week after that nudge, but assessed
    assert run_tick(MONDAY_0930_BERLIN + timedelta(days=3))["nudge"] == 0  # Thursday
    assert run_tick(MONDAY_0930_BERLIN + timedelta(days=7))["nudge"] == 1  # a week on


def test_a_reassessment_through_slack_counts_as_contact(bot, org, run_tick):
    bot.slack.add_user("UOWNER", tz="UTC")
    person = Person(bot, user_id="UOWNER", channel_id="CFRAUD")
    run_assessment(person, "Fraud ML", {"data_versioning": "yes"})
    finished = utcnow()
    assert run_tick(weekday_0930_utc(finished))["nudge"] == 0  # the next morning
    later = weekday_0930_utc(finished, days=7)
    assert run_tick(later)["nudge"] == 1
    assert nudges_to(bot, "UOWNER")[0].args["text"].startswith("Next step for Fraud ML")


def test_done_on_a_nudge_counts_as_contact(bot, org, run_tick):
    bot.slack.add_user("UOWNER", tz="UTC")
    long_ago = utcnow() - timedelta(days=30)
    team = org.team("Fraud ML", yes=1, assessed_at=long_ago)
    first = weekday_0930_utc(long_ago, days=7)
    assert run_tick(first)["nudge"] == 1
    message = bot.slack.messages["DUOWNER"][-1]
    done = buttons(message)[DeliveryAction.DONE]
    answer = press(bot, message, DeliveryAction.DONE, value=done["value"])
    assert "question 1 of 2" in json.dumps(answer.args)  # step 2: tracking and registry
    pressed = utcnow()
    # A week after the nudge, but the morning after "Done": nothing yet.
    assert run_tick(max(weekday_0930_utc(pressed), first + timedelta(days=7)))["nudge"] == 0
    assert run_tick(weekday_0930_utc(pressed, days=7))["nudge"] == 1
    assert [key_of(c).split(":")[1] for c in nudges_to(bot, "UOWNER")] == [str(team)] * 2


def test_a_nudge_names_what_is_left_of_a_step_half_done(bot, org, run_tick):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    org.team("Fraud ML", yes=6)  # L1's five and CI/CD: only A/B testing is left of step 5
    run_tick(MONDAY_0930_BERLIN)
    (nudge,) = nudges_to(bot, "UOWNER")
    assert_valid_message(nudge.args)
    assert "*Step 5: A/B testing is what's left*" in json.dumps(nudge.args["blocks"])
    assert nudge.args["text"] == "Next step for Fraud ML: Step 5, A/B testing is what's left"
