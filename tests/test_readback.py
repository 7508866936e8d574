"""What a person reads back: status, next, history, teams, App Home, the team modal, and
what odd input gets."""

import json

import pytest
from sqlalchemy import event, func, select

from bot.domain import DEFAULT_CHECKLIST
from bot.models import AnswerRecord, Assessment, Team, TeamOwner
from bot.services import teams as team_service
from tests.driver import (
    Person,
    assert_valid_message,
    assert_valid_view,
    buttons,
    eventually,
    run_assessment,
    text_of,
)

L1 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities if c.level == 1}

HOSTILE_NAMES = [
    'Fraud "ML" <b>',
    "<script>alert(1)</script>",
    "Équipe Données 🚀",
    "数据平台",
    "payload",
    "help",
    "a & b > c",
    "*bold* _it_ ~s~ `code`",
    "{{ 7*7 }} {% raw %}",
    "x" * 80,
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_team_names_render_as_typed(bot, name):
    person = Person(bot)
    card = run_assessment(person, name, L1)
    header = card["blocks"][0]["text"]["text"] if card["blocks"][0]["type"] == "header" else ""
    assert header.startswith(name[:100]) or name[:99] in json.dumps(card, ensure_ascii=False)
    for block in card["blocks"]:
        if block.get("type") == "section" and block["text"]["type"] == "mrkdwn":
            assert "<script>" not in block["text"]["text"] and "<b>" not in block["text"]["text"]
    with bot.session() as session:
        assert session.scalar(select(Team.name)) == name
    status = person.command(f"status {name.upper() if name.isascii() else name}")
    assert "L1 · ML pipeline" in text_of(status)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("assess " + "x" * 4000, "at most 80 characters; that one has 4000"),
        ("assess <@U123>", "looks like a mention"),
        ("assess <#C123|general>", "looks like a mention or a channel link"),
        ("assess bad\u0007name", "control characters"),
        ("status Nobody", "I don't know a team called *Nobody*"),
        ("next Nobody", "`/mlops assess Nobody` creates it"),
        ("history Nobody", "I don't know a team"),
    ],
)
def test_bad_arguments_get_a_clear_message_and_change_nothing(bot, text, says):
    reply = Person(bot).command(text)
    assert says in reply["text"]
    with bot.session() as session:
        assert session.scalar(select(func.count()).select_from(Team)) == 0


def test_unknown_team_suggests_a_close_name(bot):
    person = Person(bot)
    person.command("assess Fraud ML")
    reply = person.command("status Fraud MK")
    assert "Did you mean *Fraud ML*?" in reply["text"]


def test_status_card_shows_answers_notes_progress_next_step(bot):
    person = Person(bot)
    run_assessment(person, "Vision", {"data_versioning": "yes", "experiment_tracking": "partly"})
    card = person.command("status Vision")
    text = text_of(card)
    assert "Vision · L0 · Manual" in text
    assert "1 of 5 for L1" in text and "1 partly" in text
    assert ":white_check_mark: Data versioning" in text
    assert ":large_orange_diamond: Experiment tracking" in text
    assert "Next step 2: Track experiments and register models" in text
    assert "Last assessed <!date^" in text and "by <@U1>" in text


def test_next_step_and_done_reasks_just_that_step(bot):
    person = Person(bot)
    run_assessment(person, "Vision", {"data_versioning": "yes"})
    detail = person.command("next Vision")
    text = text_of(detail)
    step = DEFAULT_CHECKLIST.step(2)
    assert step.title in text and step.why[:60] in text
    assert "MLflow" in text
    first = person.click(detail, "Done, update my answers")
    assert "question 1 of 2" in text_of(first)
    second = person.answer(first, "Yes")
    assert "question 2 of 2" in text_of(second)
    card = person.answer(second, "Yes")
    assert "3 of 5 for L1" in text_of(card)
    assert "Next step 3: Build training pipelines" in text_of(card)


def test_blocked_note_when_l2_additions_without_l1(bot):
    answers = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities if c.id != "feature_store"}
    card = run_assessment(Person(bot), "Odd", answers)
    assert "4/4 of L2's additions, but L1 is not complete: missing Feature store." in text_of(card)


def test_teams_overview_counts_and_trend(bot):
    person = Person(bot)
    run_assessment(person, "Alpha", L1)
    run_assessment(person, "Beta", {})
    person.command("assess Gamma")
    overview = person.command("teams")
    text = text_of(overview)
    assert "MLOps maturity · 3 teams" in text
    assert "*L1 · ML pipeline*\n1" in text and "*L0 · Manual*\n1" in text
    assert "*Not assessed*\n1" in text
    # Where moving up pays most first: production at L0, then up the levels, unassessed last.
    assert text.index("Beta") < text.index("Alpha") < text.index("Gamma")
    assert "where moving up pays most" in text[: text.index("Beta")]


@pytest.mark.slow
def test_500_teams_paginate_into_valid_messages(bot):
    with bot.session() as session:
        from bot.services import workspaces

        workspaces.ensure(session, "T0TEST")
        for number in range(500):
            team_service.create_team(session, "T0TEST", f"Team {number:03d} «ü»", "U1")
        session.commit()
    person = Person(bot)
    page = person.command("teams")
    seen = set()
    for expected in range(1, 10):
        assert f"Page {expected} of 9" in text_of(page)
        seen |= {line for line in text_of(page).split("\n") if "Team " in line}
        if "Next" not in buttons(page):
            break
        page = person.click(page, "Next")
    assert len(seen) == 500


def test_app_home_lists_my_teams_and_refreshes_after_finishing(bot):
    person = Person(bot)
    bot.client.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    (first,) = bot.slack.wait_for("views.publish")
    assert_valid_view(first.args["view"])
    assert "You don't own a team yet" in text_of(first.args["view"])
    run_assessment(person, "Fraud ML", L1)
    calls = bot.slack.wait_for("views.publish", count=2)
    view = calls[-1].args["view"]
    assert_valid_view(view)
    assert "*Fraud ML* · L1 · ML pipeline" in text_of(view)
    assert calls[-1].args["user_id"] == "U1"


def test_home_buttons_work_without_a_channel(bot):
    person = Person(bot)
    run_assessment(person, "Fraud ML", L1)
    bot.client.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    view = bot.slack.wait_for("views.publish", count=2)[-1].args["view"]
    person.click(view, "Update answers", in_view=view)
    (dm,) = bot.slack.wait_for("chat.postMessage")
    assert dm.args["channel"] == "U1"
    assert_valid_message(dm.args)
    assert "question 1 of 9" in text_of(dm.args)
    person.click(view, "Level card", in_view=view)
    (modal,) = bot.slack.wait_for("views.open")
    assert_valid_view(modal.args["view"])
    assert "Fraud ML · L1" in text_of(modal.args["view"])


def test_messages_tab_opening_publishes_nothing(bot):
    bot.client.event({"type": "app_home_opened", "user": "U1", "tab": "messages"})
    bot.client.command("help")
    bot.slack.wait_for("response_url")
    assert bot.slack.calls_to("views.publish") == []


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


def test_team_modal_creates_and_edits(bot):
    bot.client.command("team Search", user_id="U1")
    (opened,) = bot.slack.wait_for("views.open")
    view = opened.args["view"]
    assert_valid_view(view)
    response = submit_team(bot, view, "Search Ranking", ["U1", "U2"], channel="C42")
    assert response.status == 200
    with bot.session() as session:
        team = session.scalar(select(Team))
        assert (team.name, team.home_channel_id) == ("Search Ranking", "C42")
        assert sorted(o.user_id for o in team.owners) == ["U1", "U2"]
    # U3 is neither an owner nor an admin
    bot.slack.add_user("U3", is_admin=False)
    reply = Person(bot, user_id="U3").command("team Search Ranking")
    assert "Only the team's owners" in reply["text"] and "<@U1>" in reply["text"]
    # an owner renames it; the name clash check ignores the team itself
    bot.client.command("team search ranking", user_id="U2")
    opened = bot.slack.wait_for("views.open", count=2)[-1]
    response = submit_team(bot, opened.args["view"], "Search", ["U2"], channel=None, user_id="U2")
    assert response.status == 200
    with bot.session() as session:
        team = session.scalar(select(Team))
        assert team.name == "Search" and team.home_channel_id is None
        assert [o.user_id for o in team.owners] == ["U2"]


def test_team_modal_errors_stay_in_the_modal(bot):
    person = Person(bot)
    person.command("assess Taken")
    bot.client.command("team", channel_id="C2")  # in C1, Taken's home, it would edit Taken
    (opened,) = bot.slack.wait_for("views.open")
    for name, owners, says in [
        ("taken", ["U1"], "already a team called Taken"),
        ("<@U9>", ["U1"], "mention"),
        ("Fine", [], "at least one owner"),
    ]:
        response = submit_team(bot, opened.args["view"], name, owners)
        body = response.json()
        assert body["response_action"] == "errors"
        assert says in json.dumps(body["errors"])
    with bot.session() as session:
        assert session.scalar(select(func.count()).select_from(Team)) == 1


def test_admin_may_edit_any_team(bot):
    Person(bot, user_id="U1").command("assess Owned")
    bot.slack.add_user("UADMIN", is_admin=True)
    bot.client.command("team Owned", user_id="UADMIN")
    (opened,) = bot.slack.wait_for("views.open")
    assert submit_team(bot, opened.args["view"], "Owned", ["UADMIN"], user_id="UADMIN").ok
    with bot.session() as session:
        assert [o.user_id for o in session.scalar(select(Team)).owners] == ["UADMIN"]
        assert session.scalar(select(func.count()).select_from(TeamOwner)) == 1


class StatementCounter:
    """Counts the SQL statements the bot runs, and knows when it has put every connection back.

    A click is acknowledged before its listener finishes; waiting for the reply and then for
    every borrowed connection to be checked in again means the count is the whole click.
    """

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []
        self.borrowed = 0

    def _statement(self, *args):
        self.statements.append(args[2])

    def _checkout(self, *args):
        self.borrowed += 1

    def _checkin(self, *args):
        self.borrowed -= 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "checkout", self._checkout)
        event.listen(self.engine, "checkin", self._checkin)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "checkout", self._checkout)
        event.remove(self.engine, "checkin", self._checkin)

    def settled(self) -> bool:
        return eventually(lambda: self.borrowed == 0, timeout=10) is True


def count_click(bot, engine, person, message, label, *, completes=False) -> tuple[dict, int]:
    """Click `label`, wait until the click's work is done; return the reply and the count."""
    home_before = len(bot.slack.calls_to("views.publish"))
    with StatementCounter(engine) as counter:
        reply = person.answer(message, label)
        if completes:  # the App Home refresh comes after the reply
            bot.slack.wait_for("views.publish", count=home_before + 1, timeout=10)
        assert counter.settled()
    return reply, len(counter.statements)


def clicks_with_teams(bot, engine, teams: int) -> dict[str, int]:
    """Statements for the first, a middle, the completing and a stale answer click."""
    with bot.session() as session:
        for number in range(teams):
            team_service.create_team(session, "T0TEST", f"Filler {teams}-{number}", "U1")
        session.commit()
    person = Person(bot, channel_id=f"CMEASURED{teams}")  # a channel of its own: its home
    question = person.command(f"assess Measured {teams}")
    counts = {}
    first_question = question
    question, counts["first"] = count_click(bot, engine, person, question, "Yes")
    question, counts["middle"] = count_click(bot, engine, person, question, "Yes")
    for _ in range(len(DEFAULT_CHECKLIST.capabilities) - 3):
        question = person.answer(question, "Yes")
    card, counts["completing"] = count_click(bot, engine, person, question, "Yes", completes=True)
    assert "Yes" not in buttons(card), "the last answer finishes the assessment"
    _, counts["stale"] = count_click(bot, engine, person, first_question, "No")
    return counts


# The statements each kind of click runs, whatever the number of teams in the workspace.
# A change here is a change in the click's cost: say why in the commit that changes it.
# Each click reads the workspace's installed maturity models once (bot.services.maturity).
# Each reply (a question or the level card) looks up the team's connected tools once, to
# show their evidence beside it (bot.services.evidence_view); nothing more when none are.
STATEMENTS_PER_CLICK = {
    # completing: one more since App Home shows the latest digest's trend picture (its look-up)
    "sqlite": {"first": 9, "middle": 9, "completing": 20, "stale": 6},
    "postgresql": {"first": 8, "middle": 8, "completing": 18, "stale": 5},
}


def test_statements_per_click_are_known_and_do_not_grow_with_teams(bot, engine):
    few = clicks_with_teams(bot, engine, 1)
    many = clicks_with_teams(bot, engine, 500)
    assert few == many
    assert few == STATEMENTS_PER_CLICK[engine.dialect.name]
    with bot.session() as session:
        assert session.scalar(select(func.count()).select_from(Assessment)) == 2
        answers = 2 * len(DEFAULT_CHECKLIST.capabilities)
        assert session.scalar(select(func.count()).select_from(AnswerRecord)) == answers


def test_slack_escaped_command_text_is_decoded(bot):
    # Slack sends "&", "<" and ">" typed in a slash command as entities
    card = run_assessment(Person(bot), "R&amp;D &lt;ML&gt;", L1)
    assert "R&D <ML>" in card["blocks"][0]["text"]["text"]  # plain_text header: as typed
    with bot.session() as session:
        assert session.scalar(select(Team.name)) == "R&D <ML>"
    assert "L1" in text_of(Person(bot).command("status r&amp;d &lt;ml&gt;"))
