"""Replies arrive where real Slack lets them arrive, and homes are channels the bot can post in.

Why: Slack refuses an ephemeral message in a channel the bot is not in, a post into a
private channel or group DM it was not invited to, and a response URL after 30 minutes.
The stand-in refuses the same, so these tests fail wherever the bot counts on Slack being
more lenient: a confirmation nobody sees, a home channel every announcement to fails, a
note whose next question silently goes somewhere else.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.models import AnswerRecord, Team
from tests.driver import Person, assert_valid_message, assert_valid_view, text_of
from tests.test_readback import submit_team


def open_team_modal(bot, text: str, channel_id: str) -> dict:
    before = len(bot.slack.calls_to("views.open"))
    bot.client.command(f"team {text}".strip(), user_id="U1", channel_id=channel_id)
    return bot.slack.wait_for("views.open", count=before + 1)[-1].args["view"]


# ---------------------------------------------------------------- issue 9 item 5


def test_team_saved_confirmation_arrives_in_the_modal_not_a_channel_the_bot_is_not_in(bot):
    """/mlops team in a public channel the bot never joined: the confirmation still arrives."""
    bot.slack.add_channel("CNOTJOINED", is_member=False)
    view = open_team_modal(bot, "Search", "CNOTJOINED")
    response = submit_team(bot, view, "Search Ranking", ["U1"], channel="CNOTJOINED")
    assert response.status == 200
    body = response.json()
    assert body["response_action"] == "update"
    assert_valid_view(body["view"])
    assert "Created team *Search Ranking* with home channel <#CNOTJOINED>" in text_of(body["view"])
    assert not [c for c in bot.slack.calls_to("chat.postEphemeral") if c.failed]
    with bot.session() as session:
        assert session.scalar(select(Team.home_channel_id)) == "CNOTJOINED"


def test_an_edit_is_confirmed_in_the_modal_too(bot):
    Person(bot, channel_id="CJOINED").command("assess Fraud")
    view = open_team_modal(bot, "Fraud", "GSOMEWHERE")
    body = submit_team(bot, view, "Fraud ML", ["U1"]).json()
    assert body["response_action"] == "update"
    assert "Saved team *Fraud ML*." in text_of(body["view"])


# ---------------------------------------------------------------- issue 9 item 6


def test_assess_in_a_private_channel_without_the_bot_does_not_make_it_home(bot):
    bot.slack.add_channel("GSECRET", is_member=False, is_private=True)
    reply = Person(bot, channel_id="GSECRET").command("assess Fraud ML")
    assert_valid_message(reply)
    text = text_of(reply)
    assert "Created team *Fraud ML*." in text
    assert "I can't post in <#GSECRET> until I'm invited" in text
    assert "type `/invite` there, add <@UBOT>" in text and "`/mlops team Fraud ML`" in text
    with bot.session() as session:
        assert session.scalar(select(Team.home_channel_id)) is None


def test_assess_in_a_group_dm_without_the_bot_does_not_make_it_home(bot):
    bot.slack.add_channel("GMPIM", is_member=False, is_mpim=True)
    reply = Person(bot, channel_id="GMPIM").command("assess Fraud ML")
    assert "I can't post in <#GMPIM>" in text_of(reply)
    with bot.session() as session:
        assert session.scalar(select(Team.home_channel_id)) is None


def test_a_private_channel_the_bot_was_invited_to_becomes_home(bot):
    bot.slack.add_channel("GINVITED", is_member=False, is_private=True)
    bot.slack.invite("GINVITED")
    reply = Person(bot, channel_id="GINVITED").command("assess Fraud ML")
    assert "made this channel its home" in text_of(reply)
    with bot.session() as session:
        assert session.scalar(select(Team.home_channel_id)) == "GINVITED"


def test_when_slack_cannot_say_the_channel_is_not_blamed(bot):
    """Rate limited (twice: the listener's client retries a 429 once): no home, no
    invitation advice, and the team modal asks to save again."""
    bot.slack.rate_limit("conversations.info", retry_after=0, times=2)
    reply = Person(bot, channel_id="CBUSY").command("assess Fraud ML")
    text = text_of(reply)
    assert "Slack did not tell me whether I can post in <#CBUSY>" in text
    assert "/invite" not in text
    with bot.session() as session:
        assert session.scalar(select(Team.home_channel_id)) is None
    view = open_team_modal(bot, "Fraud ML", "CBUSY")
    bot.slack.rate_limit("conversations.info", retry_after=0, times=2)
    body = submit_team(bot, view, "Fraud ML", ["U1"], channel="CBUSY").json()
    assert body["errors"]["team_channel"].startswith("Slack did not tell me")


def test_a_public_channel_becomes_home_without_joining(bot):
    """chat:write.public: the bot can announce there, so it is a fine home."""
    bot.slack.add_channel("CPUBLIC", is_member=False)
    Person(bot, channel_id="CPUBLIC").command("assess Fraud ML")
    with bot.session() as session:
        assert session.scalar(select(Team.home_channel_id)) == "CPUBLIC"


def test_team_modal_refuses_a_private_home_the_bot_cannot_post_in(bot):
    bot.slack.add_channel("GSECRET", is_member=False, is_private=True)
    view = open_team_modal(bot, "Search", "C1")
    body = submit_team(bot, view, "Search", ["U1"], channel="GSECRET").json()
    assert body["response_action"] == "errors"
    assert "I'm not in that private channel. Type /invite there" in body["errors"]["team_channel"]
    with bot.session() as session:
        assert session.scalar(select(Team)) is None
    bot.slack.invite("GSECRET")
    body = submit_team(bot, view, "Search", ["U1"], channel="GSECRET").json()
    assert body["response_action"] == "update"
    with bot.session() as session:
        assert session.scalar(select(Team.home_channel_id)) == "GSECRET"


# ---------------------------------------------------------------- issue 9 item 7


def open_note_modal(bot, person: Person) -> dict:
    message = person.command("assess Fraud ML")
    person.click(message, "Add note", reply=False)
    (opened,) = bot.slack.wait_for("views.open")
    return opened.args["view"]


def submit_note(bot, view, note: str):
    return bot.client.view_submission(
        view["callback_id"],
        {
            "note_answer": {
                "note_answer": {"type": "radio_buttons", "selected_option": {"value": "partly"}}
            },
            "note_text": {"note_text": {"type": "plain_text_input", "value": note}},
        },
        private_metadata=view["private_metadata"],
        user_id="U1",
    )


def test_note_submitted_after_31_minutes_is_saved_and_says_where_the_next_question_is(bot):
    person = Person(bot)
    view = open_note_modal(bot, person)
    bot.slack.advance(31 * 60)  # the person went to a meeting; the response URL expired

    response = submit_note(bot, view, "DVC for raw data only")

    assert response.status == 200
    body = response.json()
    assert body["response_action"] == "update"
    assert "in your DM with me" in text_of(body["view"])
    (dm,) = bot.slack.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == "U1")
    assert not dm.failed
    assert "question 2 of 9" in text_of(dm.args)
    with bot.session() as session:
        record = session.scalar(select(AnswerRecord))
        assert (record.value, record.note) == ("partly", "DVC for raw data only")


def test_note_submitted_in_time_replaces_the_question_and_closes_the_modal(bot):
    person = Person(bot)
    view = open_note_modal(bot, person)
    bot.slack.advance(29 * 60)
    response = submit_note(bot, view, "in time")
    assert response.body in ("", "null") or json.loads(response.body) == {}
    replaced = [c for c in bot.slack.calls_to("response_url") if c.args.get("replace_original")]
    assert replaced and not replaced[-1].failed
    assert "question 2 of 9" in text_of(replaced[-1].args)
    assert not bot.slack.calls_to("chat.postMessage")
