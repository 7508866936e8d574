"""`/mlops team` in a team's home channel opens that team's form, as every other command
there means the channel's team, with "New team instead" in it for a team of its own."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.models import Team
from tests.driver import Person, assert_valid_view


def open_form(bot, user: str, channel: str) -> dict:
    before = len(bot.slack.calls_to("views.open"))
    bot.client.command("team", user_id=user, channel_id=channel)
    call = bot.slack.wait_for("views.open", count=before + 1)[-1]
    view = call.response["view"]  # as stored by the stand-in: with its id and hash
    assert_valid_view(view)
    return view


def fields(view: dict) -> dict:
    """What the form shows: title, name, channel, owners and its buttons."""
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    return {
        "title": view["title"]["text"],
        "name": blocks["team_name"]["element"].get("initial_value"),
        "channel": blocks["team_channel"]["element"].get("initial_conversation"),
        "owners": blocks["team_owners"]["element"].get("initial_users"),
        "buttons": [
            e["text"]["text"]
            for b in view["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
        ],
    }


def test_team_in_the_home_channel_edits_that_team_and_offers_a_new_one(bot):
    Person(bot, channel_id="CFRAUD").command("assess Fraud ML")  # CFRAUD becomes its home
    view = open_form(bot, "U1", "CFRAUD")
    assert fields(view) == {
        "title": "Edit team",
        "name": "Fraud ML",
        "channel": "CFRAUD",
        "owners": ["U1"],
        "buttons": ["New team instead"],
    }

    # "New team instead": the same modal becomes a blank form, without the taken channel.
    (block,) = [b for b in view["blocks"] if b["type"] == "actions"]
    response = bot.client.block_action(
        "team_new", value="new", block_id=block.get("block_id", "b"), user_id="U1", view=view
    )
    assert response.status == 200
    new = bot.slack.wait_for("views.update")[-1].response["view"]
    assert new["id"] == view["id"]
    assert fields(new) == {
        "title": "New team",
        "name": None,
        "channel": None,
        "owners": ["U1"],
        "buttons": [],
    }
    values = {
        "team_name": {"team_name": {"type": "plain_text_input", "value": "Search"}},
        "team_channel": {
            "team_channel": {"type": "conversations_select", "selected_conversation": None}
        },
        "team_owners": {"team_owners": {"type": "multi_users_select", "selected_users": ["U1"]}},
    }
    answer = bot.client.view_submission(
        new["callback_id"], values, private_metadata=new["private_metadata"]
    )
    assert answer.json()["response_action"] == "update"
    with bot.session() as session:
        homes = dict(session.execute(select(Team.name, Team.home_channel_id)).all())
    assert homes == {"Fraud ML": "CFRAUD", "Search": None}
    assert json.loads(new["private_metadata"]) == {"team_id": None, "channel_id": "CFRAUD"}


def test_elsewhere_and_for_people_who_may_not_edit_it_the_form_is_a_new_team(bot):
    Person(bot, channel_id="CFRAUD").command("assess Fraud ML")
    bot.slack.add_user("U3", is_admin=False)
    other = fields(open_form(bot, "U1", "COTHER"))
    assert (other["title"], other["channel"], other["buttons"]) == ("New team", "COTHER", [])
    stranger = fields(open_form(bot, "U3", "CFRAUD"))
    assert (stranger["title"], stranger["name"], stranger["owners"]) == ("New team", None, ["U3"])
