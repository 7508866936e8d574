"""Writing to the bot in its Messages tab: `help` and the commands without the slash, answered
in the DM; the bot's own posts, edits and other bots are never answered. Signed events in,
the Web API stand-in records what the bot sent."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.domain import DEFAULT_CHECKLIST
from tests.driver import Person, assert_valid_message, run_assessment, text_of

L1 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities if c.level == 1}
DM = "DU1"  # the stand-in's DM channel between U1 and the bot
IN_DM = (DM, "U1")  # Slack posts a message to a user id into that person's DM with the bot


def write(bot, text: str, **fields) -> None:
    """U1 writes `text` in their DM with the bot (a signed message.im event)."""
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": DM,
        "user": "U1",
        "text": text,
        "ts": f"{time.time():.6f}",
        **fields,
    }
    response = bot.client.event(event)
    assert response.status == 200, response.body


def replies(bot, count: int = 1) -> list[dict]:
    """The bot's messages in the DM, once `count` have arrived."""
    calls = bot.slack.wait_for(
        "chat.postMessage", count=count, timeout=10, where=lambda c: c.args["channel"] in IN_DM
    )
    return [dict(call.args) for call in calls]


def test_help_in_a_dm_lists_the_commands(bot):
    write(bot, "help")
    (reply,) = replies(bot)
    assert_valid_message(reply)
    text = json.dumps(reply["blocks"])
    for sub in ("assess", "status", "next", "history", "teams"):
        assert f"/mlops {sub}" in text


def test_commands_without_the_slash_answer_in_the_dm(bot):
    run_assessment(Person(bot), "Fraud ML", L1)
    write(bot, "status Fraud ML")
    (card,) = replies(bot)
    assert_valid_message(card)
    assert "Fraud ML" in text_of(card) and "L1 · ML pipeline" in text_of(card)

    write(bot, "/mlops teams")  # typed with the slash out of habit: the same answer
    _, overview = replies(bot, 2)
    assert "Fraud ML" in text_of(overview)


def test_unknown_words_in_a_dm_get_help_with_a_suggestion(bot):
    write(bot, "stauts Fraud ML")
    (reply,) = replies(bot)
    assert "Did you mean `/mlops status`?" in json.dumps(reply["blocks"])


def test_a_form_in_a_dm_points_to_the_slash_command(bot):
    write(bot, "team Fraud ML")
    (reply,) = replies(bot)
    assert reply["text"] == (
        "`team` opens a form, which only the slash command can do: `/mlops team Fraud ML`."
    )
    assert not bot.slack.calls_to("views.open")


def test_the_bot_never_answers_itself_edits_or_other_channels(bot):
    write(bot, "help", bot_id="B0BOT", user="U0BOT")  # the bot's own post in the DM
    write(bot, "help", subtype="bot_message", bot_id="B0OTHER")  # another bot
    write(bot, "help", subtype="message_changed")  # an edit
    write(bot, "help", subtype="message_deleted")
    write(bot, "help", channel_type="channel", channel="C1")  # not a DM
    write(bot, "help")  # the one to answer; the others were acknowledged before it
    (reply,) = replies(bot)
    assert "/mlops assess" in json.dumps(reply["blocks"])
    write(bot, "help")  # a second round trip: still only real messages were answered
    replies(bot, 2)
    posts = bot.slack.calls_to("chat.postMessage")
    assert len(posts) == 2 and all(call.args["channel"] in IN_DM for call in posts)
    assert not bot.slack.calls_to("response_url")


def test_the_manifest_lets_people_write_to_the_bot_and_delivers_it():
    manifest = json.loads((Path(__file__).resolve().parent.parent / "manifest.json").read_text())
    home = manifest["features"]["app_home"]
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False
    assert "message.im" in manifest["settings"]["event_subscriptions"]["bot_events"]
    assert "im:history" in manifest["oauth_config"]["scopes"]["bot"]  # message.im needs it
