"""A modal's input errors are plain text in Slack: no backticks, bold or links there.

Every `response_action: errors` the bot answers is collected here by submitting the forms
through the front door with each kind of bad input, and each text is checked for mrkdwn.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sqlalchemy import func, select

from bot.models import Team
from tests.driver import Person

ROOT = Path(__file__).resolve().parents[1]
MARKDOWN = re.compile(r"`|\*\S|\S\*|(?<!\w)_\S|\S_(?!\w)|~\S|<|>|&(lt|gt|amp);")


def submit_team(bot, view, name, owners, channel=None, user_id="U1"):
    values = {
        "team_name": {"team_name": {"type": "plain_text_input", "value": name}},
        "team_channel": {
            "team_channel": {"type": "conversations_select", "selected_conversation": channel}
        },
        "team_owners": {"team_owners": {"type": "multi_users_select", "selected_users": owners}},
    }
    return bot.client.view_submission(
        view["callback_id"], values, private_metadata=view["private_metadata"], user_id=user_id
    )


def errors_of(response) -> dict[str, str]:
    body = response.json()
    assert body["response_action"] == "errors", body
    return body["errors"]


def test_team_form_errors_are_plain_text(bot):
    Person(bot).command("assess Taken")
    bot.slack.add_user("U3", is_admin=False)
    bot.slack.add_channel("GSECRET", is_member=False, is_private=True)
    bot.client.command("team", channel_id="C2")  # C1 is Taken's home: there it edits Taken
    (new,) = bot.slack.wait_for("views.open")
    new_view = new.args["view"]
    bot.client.command("team Taken")
    edit_view = bot.slack.wait_for("views.open", count=2)[-1].args["view"]

    shown = {}
    for case, (view, name, owners, channel, user) in {
        "empty name": (new_view, "   ", ["U1"], None, "U1"),
        "mention": (new_view, "<@U9>", ["U1"], None, "U1"),
        "control character": (new_view, "Fraud\u200bML", ["U1"], None, "U1"),
        "too long": (new_view, "x" * 81, ["U1"], None, "U1"),
        "name taken": (new_view, "taken", ["U1"], None, "U1"),
        "no owners": (new_view, "Fine", [], None, "U1"),
        "private channel": (new_view, "Fine", ["U1"], "GSECRET", "U1"),
        "not an owner": (edit_view, "Taken", ["U3"], None, "U3"),
    }.items():
        errors = errors_of(submit_team(bot, view, name, owners, channel, user))
        shown.update({f"{case}: {field}": text for field, text in errors.items()})

    assert shown["empty name: team_name"] == 'Please give the team a name, e.g. "Fraud ML".'
    assert shown["not an owner: team_name"] == (
        "Only the team's owners and workspace admins can edit this team."
    )
    assert "/mlops team" in shown["mention: team_name"]
    marked = {case: text for case, text in shown.items() if MARKDOWN.search(text)}
    assert not marked, f"markdown in a modal's plain-text error: {marked}"
    assert all(0 < len(text) <= 150 for text in shown.values())
    with bot.session() as session:
        assert session.scalar(select(func.count()).select_from(Team)) == 1


def test_note_form_errors_are_plain_text(bot):
    person = Person(bot)
    message = person.command("assess Fraud ML")
    person.click(message, "Add note", reply=False)
    (opened,) = bot.slack.wait_for("views.open")
    view = opened.args["view"]
    yes = {"type": "radio_buttons", "selected_option": {"value": "yes"}}
    shown = []
    for answer, note, metadata in [
        (None, "", view["private_metadata"]),
        (yes, "n" * 2001, view["private_metadata"]),
        (yes, "fine", "{}"),
    ]:
        values = {"note_text": {"note_text": {"type": "plain_text_input", "value": note}}}
        if answer:
            values["note_answer"] = {"note_answer": answer}
        response = bot.client.view_submission(
            view["callback_id"], values, private_metadata=metadata
        )
        shown += errors_of(response).values()
    assert len(shown) == 3
    assert not [text for text in shown if MARKDOWN.search(text)]


def test_no_error_literal_in_the_handlers_has_markdown():
    """The texts written straight into `errors={...}` (the services' errors go through
    `plain` on their way to a form, and are covered above)."""
    literals = []
    for path in sorted((ROOT / "handlers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "errors":
                for value in ast.walk(node.value):
                    if isinstance(value, ast.Constant) and isinstance(value.value, str):
                        literals.append((path.name, value.value))
    assert len(literals) >= 3
    assert not [(where, text) for where, text in literals if MARKDOWN.search(text)]
