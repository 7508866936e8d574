"""A team's purpose (issue 15): asked before a first assessment, set and changed in the team
form by owners and admins only, kept in the history, filtered in the overview and App Home,
and carried by the export. Everything through signed requests to the running bot."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.domain import Purpose
from bot.models import PurposeChange, Team
from tests.driver import (
    Person,
    assert_valid_view,
    buttons,
    eventually,
    run_assessment,
    text_of,
)
from tests.test_export import as_dicts, export_via_slack

QUESTION = "does a model of Lab serve users in production?"


def team_named(bot, name: str) -> Team:
    with bot.session() as session:
        return session.scalar(select(Team).where(Team.name == name))


def purpose_changes(bot, name: str) -> list[tuple[str | None, str, str]]:
    with bot.session() as session:
        rows = session.execute(
            select(PurposeChange)
            .join(Team, Team.id == PurposeChange.team_id)
            .where(Team.name == name)
            .order_by(PurposeChange.id)
        ).scalars()
        return [(c.from_purpose, c.to_purpose, c.changed_by) for c in rows]


# ---------------------------------------------------------------- the first assessment


def test_the_first_assessment_asks_the_purpose_once_and_the_card_says_l0_is_fine(bot):
    person = Person(bot, user_id="U1")
    first = person.command("assess Lab")
    assert QUESTION in text_of(first)
    assert "question 1 of 9" in text_of(first)  # the checklist is right there too
    assert {"Yes, in production", "No, research", "No, proof of concept"} <= set(buttons(first))

    answered = person.click(first, "No, research")
    assert QUESTION not in text_of(answered)
    assert "question 1 of 9" in text_of(answered)  # still the first question, nothing skipped
    assert "research team" in text_of(answered)
    team = team_named(bot, "Lab")
    assert team.purpose == Purpose.RESEARCH and team.purpose_set_at is not None
    assert purpose_changes(bot, "Lab") == [(None, "research", "U1")]

    message = answered
    while "Yes" in buttons(message):
        message = person.answer(message, "No")
    card = text_of(message)
    assert "L0 · Manual is fine for a research team" in card
    assert "Once a model goes to production*, start with step 1" in card
    assert "Purpose: research, not nudged" in card

    again = person.command("assess Lab")  # asked once: not again
    assert QUESTION not in text_of(again)
    history = text_of(person.command("history Lab"))
    assert "*Purpose* · now research" in history and "set to *research* by <@U1>" in history


def test_a_production_answer_keeps_production_and_is_not_asked_again(bot):
    person = Person(bot, user_id="U1")
    answered = person.click(person.command("assess Lab"), "Yes, in production")
    assert "serves users in production" in text_of(answered)
    assert purpose_changes(bot, "Lab") == [(None, "production", "U1")]
    card = run_assessment(person, "Lab", {})
    assert "is fine for" not in text_of(card) and "Next step 1" in text_of(card)


def test_someone_who_is_not_an_owner_cannot_answer_the_purpose_question(bot):
    first = Person(bot, user_id="UOWNER").command("assess Lab")
    bot.slack.add_user("USTRANGER")
    reply = Person(bot, user_id="USTRANGER").click(first, "No, single-use")
    assert "Only the owners of *Lab* (<@UOWNER>)" in reply["text"]
    team = team_named(bot, "Lab")
    assert team.purpose == Purpose.PRODUCTION and team.purpose_set_at is None
    assert purpose_changes(bot, "Lab") == []


# ---------------------------------------------------------------- the team form


def form_values(name: str, owners: list[str], purpose: str, nudges: bool = False) -> dict:
    return {
        "team_name": {"team_name": {"type": "plain_text_input", "value": name}},
        "team_channel": {
            "team_channel": {"type": "conversations_select", "selected_conversation": None}
        },
        "team_owners": {"team_owners": {"type": "multi_users_select", "selected_users": owners}},
        "team_purpose": {
            "team_purpose": {"type": "static_select", "selected_option": {"value": purpose}}
        },
        "team_nudges": {
            "team_nudges": {
                "type": "checkboxes",
                "selected_options": [{"value": "on"}] if nudges else [],
            }
        },
    }


def open_form(bot, text: str, user: str) -> dict:
    before = len(bot.slack.calls_to("views.open"))
    assert bot.client.command(text, user_id=user, channel_id="C1").status == 200
    view = bot.slack.wait_for("views.open", count=before + 1)[-1].args["view"]
    assert_valid_view(view)
    return view


def selected_purpose(view: dict) -> str:
    (block,) = [b for b in view["blocks"] if b.get("block_id") == "team_purpose"]
    return block["element"]["initial_option"]["value"]


def submit(bot, view: dict, purpose: str, user: str, *, nudges: bool = False, owners=None):
    return bot.client.view_submission(
        view["callback_id"],
        form_values("Lab", owners or ["UOWNER"], purpose, nudges),
        private_metadata=view["private_metadata"],
        user_id=user,
    )


def test_the_form_sets_and_changes_the_purpose_and_refuses_strangers(bot):
    bot.slack.add_user("UOWNER")
    bot.slack.add_user("USTRANGER")
    bot.slack.add_user("UADMIN", is_admin=True)
    created = open_form(bot, "team Lab", "UOWNER")
    assert selected_purpose(created) == "production"  # the default
    assert submit(bot, created, "research", "UOWNER").status == 200
    team = team_named(bot, "Lab")
    assert (team.purpose, team.nudges_anyway) == (Purpose.RESEARCH, False)

    edit = open_form(bot, "team Lab", "UOWNER")
    assert selected_purpose(edit) == "research"
    assert submit(bot, edit, "proof_of_concept", "UOWNER", nudges=True).status == 200
    team = team_named(bot, "Lab")
    assert (team.purpose, team.nudges_anyway) == (Purpose.PROOF_OF_CONCEPT, True)

    # A stranger cannot open the form, and a forged submission changes nothing.
    before = len(bot.slack.calls_to("views.open"))
    reply = Person(bot, user_id="USTRANGER").command("team Lab")
    assert "Only the team's owners (<@UOWNER>)" in reply["text"]
    assert len(bot.slack.calls_to("views.open")) == before
    forged = submit(bot, edit, "single_use", "USTRANGER")
    assert forged.json()["response_action"] == "errors"
    assert team_named(bot, "Lab").purpose == Purpose.PROOF_OF_CONCEPT

    # A workspace admin who owns nothing may change it.
    by_admin = open_form(bot, "team Lab", "UADMIN")
    assert submit(bot, by_admin, "single_use", "UADMIN").status == 200
    assert team_named(bot, "Lab").purpose == Purpose.SINGLE_USE
    assert purpose_changes(bot, "Lab") == [
        (None, "research", "UOWNER"),
        ("research", "proof_of_concept", "UOWNER"),
        ("proof_of_concept", "single_use", "UADMIN"),
    ]
    history = text_of(Person(bot, user_id="UOWNER").command("history Lab"))
    assert "research → *proof of concept* by <@UOWNER>" in history
    assert "proof of concept → *single-use* by <@UADMIN>" in history


def test_an_unknown_purpose_in_the_form_is_refused_in_the_form(bot):
    view = open_form(bot, "team Lab", "UOWNER")
    response = submit(bot, view, "hobby", "UOWNER")
    body = response.json()
    assert body["response_action"] == "errors" and "team_purpose" in body["errors"]
    assert team_named(bot, "Lab") is None


# ---------------------------------------------------------------- overview, App Home, export


def make_teams(bot) -> None:
    owner = Person(bot, user_id="UOWNER")
    for name, purpose in [
        ("Fraud ML", "Yes, in production"),
        ("Lab One", "No, research"),
        ("Lab Two", "No, research"),
        ("Demo", "No, proof of concept"),
    ]:
        message = owner.click(owner.command(f"assess {name}"), purpose)
        while "Yes" in buttons(message):
            message = owner.answer(message, "No")


def test_the_overview_counts_research_apart_and_filters_by_purpose(bot):
    make_teams(bot)
    person = Person(bot, user_id="UREADER")
    every = text_of(person.command("teams"))
    assert "Counted apart: 2 research teams, 1 proof-of-concept team, L0 by choice" in every
    assert "*L0 · Manual*\n1" in every  # production teams only
    assert every.index("where moving up pays most") < every.index("Fraud ML")
    assert every.index("Fraud ML") < every.index("Lab One")  # production first

    research = person.command("teams research")
    text = text_of(research)
    assert "MLOps maturity · 2 research teams" in text
    assert "Lab One" in text and "Lab Two" in text and "Fraud ML" not in text

    # The menu in the message does the same.
    before = len(bot.slack.calls_to("response_url"))
    response = bot.client.block_action(
        "teams_filter",
        block_id="teams_filter",
        action_type="static_select",
        selected_option={"value": "proof_of_concept"},
        user_id="UREADER",
        message={"ts": "1.0", "text": research["text"], "blocks": research["blocks"]},
    )
    assert response.status == 200
    replaced = bot.slack.wait_for("response_url", count=before + 1)[before].args
    assert replaced.get("replace_original") is True
    assert "MLOps maturity · 1 proof-of-concept team" in text_of(replaced)
    assert "Demo" in text_of(replaced) and "Lab One" not in text_of(replaced)

    refused = person.command("teams hobby")
    assert "I don't know the purpose `hobby`" in refused["text"]


def test_app_home_filters_the_viewers_teams_by_purpose(bot):
    make_teams(bot)
    bot.client.event({"type": "app_home_opened", "user": "UOWNER", "tab": "home"})
    counted = "4 teams · L2: 0 · L1: 0 · L0: 1 · not assessed: 0\n:seedling: Not in production, "
    counted += "counted apart: 2 research teams, 1 proof-of-concept team, L0 by choice"
    # App Home is also refreshed after each assessment, in the background: take the latest.
    (home,) = bot.slack.wait_for(
        "views.publish", where=lambda c: counted in text_of(c.args["view"])
    )[-1:]
    view = home.args["view"]
    assert_valid_view(view)
    assert eventually(lambda: len(bot.slack.calls_to("views.publish")) >= 5)
    before = len(bot.slack.calls_to("views.publish"))
    response = bot.client.block_action(
        "home_filter",
        block_id="home_filter",
        action_type="static_select",
        selected_option={"value": "research"},
        user_id="UOWNER",
        view={"type": "home", "blocks": view["blocks"]},
    )
    assert response.status == 200
    filtered = bot.slack.wait_for("views.publish", count=before + 1)[-1].args["view"]
    assert_valid_view(filtered)
    text = text_of(filtered)
    assert "*Lab One*" in text and "*Lab Two*" in text and "*Fraud ML*" not in text
    (menu,) = [b for b in filtered["blocks"] if b.get("block_id") == "home_filter"]
    assert menu["elements"][0]["initial_option"]["value"] == "research"


def test_the_export_carries_each_teams_purpose(bot):
    make_teams(bot)
    _, rows, _ = export_via_slack(Person(bot, user_id="UOWNER"))
    purposes = {row["team"]: row["purpose"] for row in as_dicts(rows)}
    assert purposes == {
        "Fraud ML": "production",
        "Lab One": "research",
        "Lab Two": "research",
        "Demo": "proof_of_concept",
    }


def test_a_form_from_before_purposes_leaves_the_purpose_alone(bot):
    """A modal opened before the upgrade has no purpose field: saving it changes nothing."""
    owner = Person(bot, user_id="UOWNER")
    owner.click(owner.command("assess Lab"), "No, research")
    view = open_form(bot, "team Lab", "UOWNER")
    values = form_values("Lab", ["UOWNER"], "production")
    del values["team_purpose"], values["team_nudges"]
    response = bot.client.view_submission(
        view["callback_id"], values, private_metadata=view["private_metadata"], user_id="UOWNER"
    )
    assert response.status == 200 and json.loads(response.body)["response_action"] == "update"
    assert team_named(bot, "Lab").purpose == Purpose.RESEARCH
