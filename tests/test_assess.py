"""The assessment conversation, driven through signed requests like Slack sends them."""

import json

import pytest
from sqlalchemy import func, select

from bot.domain import DEFAULT_CHECKLIST
from bot.models import AnswerRecord, Assessment, AssessmentStatus, Delivery, LevelChange, Team
from tests.driver import LABELS, Person, buttons, capability_of, run_assessment, text_of

L1 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities if c.level == 1}
L2 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities}


def count(bot, model, *where) -> int:
    with bot.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize(
    ("answers", "level", "progress"),
    [
        ({}, "L0 · Manual", "0 of 5 for L1"),
        ({**L1, "feature_store": "partly"}, "L0 · Manual", "4 of 5 for L1"),
        (L1, "L1 · ML pipeline", "5 of 9 for L2"),
        (L2, "L2 · CI/CD + continuous training", "All 9 in place"),
    ],
)
def test_full_assessment_to_each_level(bot, answers, level, progress):
    person = Person(bot)
    card = run_assessment(person, "Fraud ML", answers)
    text = text_of(card)
    assert f"Fraud ML · {level}" in text
    assert progress in text
    with bot.session() as session:
        team = session.scalar(select(Team))
        assert team.name == "Fraud ML" and team.level == int(level[1])
        assert team.home_channel_id == "C1"
        assert session.scalar(select(func.count()).select_from(AnswerRecord)) == 9
        assessment = session.scalar(select(Assessment))
        assert assessment.status == AssessmentStatus.COMPLETED


def test_first_question_shows_title_help_progress_and_buttons(bot):
    message = Person(bot).command("assess Fraud ML")
    text = text_of(message)
    first = DEFAULT_CHECKLIST.capabilities[0]
    assert first.title in text and first.question in text
    assert "question 1 of 9" in text
    assert "Created team *Fraud ML*" in text
    assert {"Yes", "Partly", "No", "Not sure", "Add note"} <= set(buttons(message))
    assert "Back" not in buttons(message)


def test_each_click_is_saved_before_the_message_moves_on(http_bot):
    """Front door over real HTTP: a click."""
    bot = http_bot
    person = Person(bot)
    message = person.command("assess Fraud ML")
    message = person.answer(message, "Yes")
    assert "question 2 of 9" in text_of(message)
    assert count(bot, AnswerRecord) == 1
    assert "Back" in buttons(message)


def test_back_reasks_and_keeps_both_answers(bot):
    person = Person(bot)
    message = person.command("assess Fraud ML")
    message = person.answer(message, "No")
    message = person.click(message, "Back")
    assert "question 1 of 9" in text_of(message)
    assert "Your answer in this run: :x: No" in text_of(message)
    message = person.answer(message, "Yes")
    assert "question 2 of 9" in text_of(message)
    assert count(bot, AnswerRecord) == 2  # history kept; the newest counts


def test_resume_starts_at_first_unanswered(bot):
    person = Person(bot)
    message = person.command("assess Fraud ML")
    for _ in range(3):
        message = person.answer(message, "Yes")
    again = person.command("assess fraud ml")  # any case
    assert "question 4 of 9" in text_of(again)
    assert "Resuming where you left off" in text_of(again)
    assert count(bot, Assessment) == 1


def test_channel_binding_makes_the_name_optional(bot):
    person = Person(bot)
    person.command("assess Fraud ML")
    message = person.command("assess")
    assert "Fraud ML" in text_of(message) and "question 1 of 9" in text_of(message)
    elsewhere = Person(bot, channel_id="C999").command("assess")
    assert "Which team?" in elsewhere["text"] or "Which team?" in text_of(elsewhere)


def test_double_click_records_one_answer(bot):
    person = Person(bot)
    question = person.command("assess Fraud ML")
    first = person.answer(question, "Yes")
    second = person.answer(question, "Yes")  # the same, now outdated, message
    assert count(bot, AnswerRecord) == 1
    assert "question 2 of 9" in text_of(first)
    assert "question 2 of 9" in text_of(second)
    assert "already answered" in text_of(second)


def test_click_on_finished_assessment_shows_the_card(bot):
    person = Person(bot)
    message = person.command("assess Fraud ML")
    last_question = None
    while "Yes" in buttons(message):
        last_question = message
        message = person.answer(message, "Yes")
    again = person.answer(last_question, "No")
    assert "already finished" in text_of(again)
    assert "Fraud ML · L2" in text_of(again)
    assert count(bot, AnswerRecord) == 9


def test_reassess_shows_previous_answers_and_keeps_history(bot):
    person = Person(bot)
    run_assessment(person, "Fraud ML", L1)
    message = person.command("assess Fraud ML")
    assert "Last time: :white_check_mark: Yes" in text_of(message)
    assert buttons(message)["Yes"].get("style") == "primary"
    # one change, then keep the rest as before
    message = person.answer(message, "No")
    card = person.click(message, "Keep the rest as before")
    assert "Fraud ML · L0" in text_of(card)
    assert "Level down" in text_of(card)
    with bot.session() as session:
        assert session.scalar(select(func.count()).select_from(AnswerRecord)) == 18
        changes = session.scalars(select(LevelChange).order_by(LevelChange.id)).all()
        assert [(c.from_level, c.to_level) for c in changes] == [(None, 1), (1, 0)]
    history = person.command("history Fraud ML")
    text = text_of(history)
    assert "L1 → *L0 · Manual*" in text
    assert ":white_check_mark: Yes → :x: No" in text


def test_level_change_is_enqueued_with_the_answer(bot):
    person = Person(bot)
    run_assessment(person, "Fraud ML", L1)
    with bot.session() as session:
        change = session.scalar(select(LevelChange))
        deliveries = session.scalars(select(Delivery)).all()
        assert [(d.kind, d.channel_id, d.idempotency_key) for d in deliveries] == [
            ("level_change", "C1", f"level:{change.id}:C1")
        ]


def test_note_is_stored_with_the_answer(http_bot):
    """Front door over real HTTP: a modal's view submission."""
    bot = http_bot
    person = Person(bot)
    message = person.command("assess Fraud ML")
    person.click(message, "Add note", reply=False)
    (opened,) = bot.slack.wait_for("views.open")
    view = opened.args["view"]
    before = len(bot.slack.calls_to("response_url"))
    response = bot.client.view_submission(
        view["callback_id"],
        {
            "note_answer": {
                "note_answer": {"type": "radio_buttons", "selected_option": {"value": "partly"}}
            },
            "note_text": {
                "note_text": {
                    "type": "plain_text_input",
                    "value": 'DVC for <raw> data & only "some" models',
                }
            },
        },
        private_metadata=view["private_metadata"],
        user_id="U1",
    )
    assert response.status == 200
    assert response.body in ("", "null") or json.loads(response.body) == {}
    calls = bot.slack.wait_for("response_url", count=before + 1)
    assert "question 2 of 9" in text_of(calls[-1].args)
    with bot.session() as session:
        record = session.scalar(select(AnswerRecord))
        assert record.value == "partly"
        assert record.note == 'DVC for <raw> data & only "some" models'


def test_note_without_answer_is_refused_in_the_modal(bot):
    person = Person(bot)
    message = person.command("assess Fraud ML")
    person.click(message, "Add note", reply=False)
    (opened,) = bot.slack.wait_for("views.open")
    response = bot.client.view_submission(
        opened.args["view"]["callback_id"],
        {"note_text": {"note_text": {"type": "plain_text_input", "value": "x"}}},
        private_metadata=opened.args["view"]["private_metadata"],
    )
    assert response.status == 200
    assert response.json()["response_action"] == "errors"
    assert count(bot, AnswerRecord) == 0


def test_restart_mid_assessment_loses_nothing(bot, slack, engine, database_url):
    from bot.app import Runtime, create_app
    from bot.web import WebApp
    from tests.conftest import make_settings
    from tests.signed_client import SlackClient

    person = Person(bot)
    message = person.command("assess Fraud ML")
    for _ in range(4):
        message = person.answer(message, "Yes")
    # a brand-new process: new app, new engine, same database
    settings = make_settings(slack, database_url)
    runtime = Runtime.from_settings(settings)
    try:
        bot.client = SlackClient(
            None,
            settings.slack_signing_secret,
            fake_slack=slack,
            wsgi_app=WebApp(create_app(settings, runtime), runtime),
        )
        resumed = person.command("assess Fraud ML")
        assert "question 5 of 9" in text_of(resumed)
        # the old message's next click still works in the new process
        message = person.answer(message, "Yes")
        assert "question 6 of 9" in text_of(message)
    finally:
        runtime.engine.dispose()


def test_slack_refusing_the_update_keeps_the_answer_and_says_how_to_continue(bot):
    person = Person(bot)
    message = person.command("assess Fraud ML")
    button = buttons(message)["Yes"]

    class Expired:  # the click carries a response URL that Slack no longer honours
        def response_url(self, *args, **kwargs):
            return bot.slack.base_url + "/response/expired"

        def new_trigger_id(self):
            return bot.slack.new_trigger_id()

    bot.client.fake_slack = Expired()
    bot.client.block_action(button["action_id"], value=button["value"], block_id="answers")
    (dm,) = bot.slack.wait_for("chat.postMessage")
    assert dm.args["channel"] == "U1"
    assert "Saved" in dm.args["text"]
    assert count(bot, AnswerRecord) == 1


def test_stale_button_for_deleted_team(bot):
    person = Person(bot)
    message = person.command("assess Fraud ML")
    with bot.session() as session:
        session.delete(session.scalar(select(Team)))
        session.commit()
    reply = person.answer(message, "Yes")
    assert "no longer exists" in reply["text"]
    assert count(bot, AnswerRecord) == 0


def test_capability_order_matches_the_checklist(bot):
    person = Person(bot)
    message = person.command("assess Order")
    seen = []
    while "Yes" in buttons(message):
        seen.append(capability_of(message))
        message = person.answer(message, LABELS["yes"])
    assert seen == list(DEFAULT_CHECKLIST.ids)


def test_only_the_first_team_named_in_a_channel_makes_it_home(bot):
    person = Person(bot)
    assert "made this channel its home" in text_of(person.command("assess First"))
    assert "made this channel its home" not in text_of(person.command("assess Second"))
    in_dm = Person(bot, channel_id="D0BOT")
    assert "made this channel its home" not in text_of(in_dm.command("assess Third"))
    with bot.session() as session:
        homes = dict(session.execute(select(Team.name, Team.home_channel_id)).all())
    assert homes == {"First": "C1", "Second": None, "Third": None}
    assert "First" in text_of(person.command("assess"))


def test_unexpected_error_gets_a_reference_and_keeps_the_answers(bot):
    person = Person(bot)
    message = person.answer(person.command("assess Fraud ML"), "Yes")
    bot.slack.fail("views.open", error="invalid_blocks")
    reply = person.click(message, "Add note")
    assert "Something went wrong on our side" in reply["text"]
    assert "reference `" in reply["text"] and "Traceback" not in reply["text"]
    assert count(bot, AnswerRecord) == 1
    again = person.command("assess Fraud ML")
    assert "question 2 of 9" in text_of(again)


def test_evidence_links_in_notes_are_clickable_and_mentions_are_not(bot):
    person = Person(bot)
    message = person.command("assess Fraud ML")
    person.click(message, "Add note", reply=False)
    (opened,) = bot.slack.wait_for("views.open")
    note = "Runs at https://mlflow.example/runs?a=1&b=2. Ping <!channel> <@U2>"
    bot.client.view_submission(
        opened.args["view"]["callback_id"],
        {
            "note_answer": {
                "note_answer": {"type": "radio_buttons", "selected_option": {"value": "yes"}}
            },
            "note_text": {"note_text": {"type": "plain_text_input", "value": note}},
        },
        private_metadata=opened.args["view"]["private_metadata"],
    )
    bot.slack.wait_for("response_url", count=2)
    card = person.command("status Fraud ML")  # not finished: no current answers yet
    assert "mlflow" not in text_of(card)
    message = person.command("assess Fraud ML")
    while "Yes" in buttons(message):
        message = person.answer(message, "Yes")
    text = text_of(person.command("status Fraud ML"))
    assert "<https://mlflow.example/runs?a=1&amp;b=2>." in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<@U2>" not in text and "&lt;@U2&gt;" in text


def test_links_typed_in_slacks_own_syntax_in_a_note_stay_links(bot):
    """People paste links as Slack writes them; the card shows them as links, not as
    `<https://…>` in brackets (the form hands the bot the text exactly as typed)."""
    person = Person(bot)
    message = person.command("assess Fraud ML")
    person.click(message, "Add note", reply=False)
    (opened,) = bot.slack.wait_for("views.open")
    note = "Runs: <https://mlflow.example/r?a=1&b=2|MLflow runs>, docs <https://docs.example> <@U2>"
    bot.client.view_submission(
        opened.args["view"]["callback_id"],
        {
            "note_answer": {
                "note_answer": {"type": "radio_buttons", "selected_option": {"value": "yes"}}
            },
            "note_text": {"note_text": {"type": "plain_text_input", "value": note}},
        },
        private_metadata=opened.args["view"]["private_metadata"],
    )
    message = bot.slack.wait_for("response_url", count=2)[-1].args
    while "Yes" in buttons(message):
        message = person.answer(message, "Yes")
    text = text_of(person.command("status Fraud ML"))
    assert (
        "Runs: <https://mlflow.example/r?a=1&amp;b=2|MLflow runs>, docs <https://docs.example>"
        in text
    )
    assert "&lt;https" not in text and "&gt;," not in text
    assert "<@U2>" not in text and "&lt;@U2&gt;" in text  # mentions in notes stay text


def test_buttons_and_forms_posted_with_the_old_short_payload_keys_still_work(bot):
    """Messages posted before the payload keys had names ({"a", "c", "v"} on buttons, "r" in
    the note form) stay in Slack for years; clicking them must still answer the question."""
    person = Person(bot)
    message = person.command("assess Fraud ML")
    new = json.loads(buttons(message)["Yes"]["value"])
    assert set(new) == {"assessment_id", "capability_id", "answer"}
    old = {"a": new["assessment_id"], "c": new["capability_id"], "v": "yes"}
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("type") == "button" and element.get("text", {}).get("text") == "Yes":
                element["value"] = json.dumps(old)
    message = person.answer(message, "Yes")
    assert "question 2 of 9" in text_of(message)
    person.click(message, "Add note", reply=False)
    (opened,) = bot.slack.wait_for("views.open")
    meta = json.loads(opened.args["view"]["private_metadata"])
    assert set(meta) == {"assessment_id", "capability_id", "response_url"}
    old_meta = {"a": meta["assessment_id"], "c": meta["capability_id"], "r": meta["response_url"]}
    before = len(bot.slack.calls_to("response_url"))
    response = bot.client.view_submission(
        opened.args["view"]["callback_id"],
        {
            "note_answer": {
                "note_answer": {"type": "radio_buttons", "selected_option": {"value": "no"}}
            },
            "note_text": {"note_text": {"type": "plain_text_input", "value": "old form"}},
        },
        private_metadata=json.dumps(old_meta),
        user_id="U1",
    )
    assert response.status == 200
    calls = bot.slack.wait_for("response_url", count=before + 1)
    assert "question 3 of 9" in text_of(calls[-1].args)
    with bot.session() as session:
        values = session.scalars(select(AnswerRecord.value).order_by(AnswerRecord.id)).all()
        assert values == ["yes", "no"]
