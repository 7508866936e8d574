"""Choosing a maturity model in Slack, several models at once, and switching with answers kept.

Everything a person does goes through signed requests to the running bot (`bot` fixture), on
SQLite and PostgreSQL; installing a model is the operator's step, done here with the same
service `mlops-bot model install` calls.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.domain import builtin_model
from bot.models import AnswerRecord, Assessment, Delivery, LevelChange, Team, WorkspaceModel
from bot.services import maturity
from tests.conftest import TEAM_ID
from tests.driver import Person, buttons, run_assessment, text_of

GOOGLE_L1 = {
    cid: "yes"
    for cid in (
        "data_versioning",
        "experiment_tracking",
        "model_registry",
        "automated_training",
        "feature_store",
    )
}
MS_L2 = {
    cid: "yes"
    for cid in (
        "source_control",
        "app_ci",
        "data_versioning",
        "experiment_tracking",
        "automated_training",
        "model_registry",
    )
}


def install(bot, name: str, *, use: bool = False) -> None:
    with bot.session() as session:
        maturity.install(session, TEAM_ID, builtin_model(name), None)
        if use:
            maturity.use(session, TEAM_ID, name, "UOPERATOR")
        session.commit()


def admin(bot) -> Person:
    bot.slack.add_user("UADMIN", is_admin=True)
    return Person(bot, user_id="UADMIN")


def count(bot, table) -> int:
    with bot.session() as session:
        return session.scalar(select(func.count()).select_from(table))


def test_everyone_sees_the_model_in_use_and_only_admins_get_switches(bot):
    reply = Person(bot).command("model")
    text = text_of(reply)
    assert "Google's MLOps maturity model" in text and "version default-1" in text
    assert "L0 · Manual, L1 · ML pipeline, L2 · CI/CD + continuous training" in text
    assert "Workspace admins choose the model" in text
    assert list(buttons(reply)) == []  # a member: no switches
    # an admin may pick any built-in, installed or not
    assert list(buttons(admin(bot).command("model"))) == ["Use microsoft"]
    install(bot, "microsoft")
    assert list(buttons(Person(bot).command("model"))) == []
    admin_view = admin(bot).command("model")
    assert list(buttons(admin_view)) == ["Use microsoft"]
    assert "Also shown on level cards" in text_of(admin_view)


def test_a_member_cannot_switch_and_nothing_changes(bot):
    install(bot, "microsoft")
    reply = Person(bot).command("model use microsoft")
    assert "Only workspace admins" in reply["text"]
    with bot.session() as session:
        primary = session.scalar(select(WorkspaceModel.name).where(WorkspaceModel.is_primary))
    assert primary == "google"


def test_an_admin_picks_a_built_in_directly_but_no_unknown_model(bot):
    reply = admin(bot).command("model use ibm")
    assert "No model called 'ibm'" in reply["text"] and "google, microsoft" in reply["text"]
    assert count(bot, WorkspaceModel) == 0  # nothing changed
    reply = admin(bot).command("model use microsoft")
    assert "Now using *Microsoft's MLOps maturity model*" in text_of(reply)
    with bot.session() as session:
        rows = session.scalars(select(WorkspaceModel).order_by(WorkspaceModel.name)).all()
        assert [(r.name, r.is_primary, r.installed_by) for r in rows] == [
            ("google", False, "UADMIN"),
            ("microsoft", True, "UADMIN"),
        ]


def test_switching_keeps_answers_records_a_model_change_and_announces_nothing(bot):
    person = Person(bot)
    card = run_assessment(person, "Fraud ML", GOOGLE_L1)
    assert "L1 · ML pipeline" in text_of(card)
    answers, deliveries = count(bot, AnswerRecord), count(bot, Delivery)
    install(bot, "microsoft")

    boss = admin(bot)
    view = boss.command("model")
    switched = boss.click(view, "Use microsoft")
    said = text_of(switched)
    assert "Now using *Microsoft's MLOps maturity model*" in said
    assert "1 team has a different level in it" in said and "Every answer is kept" in said

    assert count(bot, AnswerRecord) == answers  # every answer kept
    assert count(bot, Delivery) == deliveries  # nothing announced
    with bot.session() as session:
        team = session.scalar(select(Team))
        change = session.scalars(select(LevelChange).order_by(LevelChange.id.desc())).first()
        assert team.level == 0  # no source control or app CI answered yet
        assert (change.from_level, change.to_level, change.cause, change.model_ref) == (
            1,
            0,
            "model",
            "microsoft:1",
        )

    status = text_of(person.command("status Fraud ML"))
    assert "Fraud ML · L0 · No MLOps" in status
    assert "Google: level 1 of 2" in status  # the other model, in one line
    assert "4 questions have no answer yet (new in the model)" in status
    history = text_of(person.command("history Fraud ML"))
    assert "the model changed to microsoft:1; nobody moved" in history
    assert "first assessment: *L1 · ML pipeline*" in history  # the old entry is intact

    # The next reassessment asks the new questions; the old answers can be kept.
    card = run_assessment(person, "Fraud ML", GOOGLE_L1 | MS_L2)
    assert "L2 · Automated training" in text_of(card)
    with bot.session() as session:
        latest = session.scalars(select(Assessment).order_by(Assessment.id.desc())).first()
        assert latest.checklist_version == "microsoft:1+google:default-1"
        asked = session.scalar(select(func.count()).where(AnswerRecord.assessment_id == latest.id))
        assert asked == 13  # Microsoft's twelve and Google's feature store, asked once each

    # And back: Google's level is worked out again from the same answers.
    back = boss.command("model use google")
    assert "Now using *Google's MLOps maturity model*" in back["text"] or "Now using" in text_of(
        back
    )
    with bot.session() as session:
        assert session.scalar(select(Team.level)) == 1
    assert count(bot, Delivery) == deliveries + 1  # only the reassessment's real move


def test_a_whole_assessment_under_microsofts_model(bot):
    install(bot, "microsoft", use=True)
    person = Person(bot)
    first = person.command("assess Fraud ML")
    assert "Source control" in text_of(first)  # Microsoft's first question
    card = run_assessment(person, "Fraud ML", MS_L2)
    text = text_of(card)
    assert "Fraud ML · L2 · Automated training" in text
    assert "6 of 9 for L3" in text
    assert "Next step 4: Release models automatically" in text
    assert "Google: level 0 of 2" in text  # feature store was answered no
    assert "L1 · ML pipeline" not in text
    nxt = text_of(person.command("next Fraud ML"))
    assert "Step 4 of 5: Release models automatically" in nxt
    assert "L2 · Automated training, 6 of 9 for L3" in nxt
    teams = text_of(person.command("teams"))
    assert "L4 · Full MLOps automated operations" in teams and "L2 · CI/CD" not in teams


def test_capabilities_with_the_same_id_share_one_answer(bot):
    install(bot, "microsoft")  # Google stays primary; Microsoft shown beside it
    person = Person(bot)
    card = run_assessment(person, "Fraud ML", GOOGLE_L1 | MS_L2)
    text = text_of(card)
    assert "Fraud ML · L1 · ML pipeline" in text
    assert "Microsoft: level 2 of 4" in text
    with bot.session() as session:
        asked = session.scalar(select(func.count()).select_from(AnswerRecord))
    assert asked == 13  # 9 of Google's + Microsoft's 4 others; shared ids asked once


def test_a_new_version_of_the_primary_model_works_levels_out_again(bot):
    from bot.domain import model_to_yaml, parse_model

    person = Person(bot)
    run_assessment(person, "Fraud ML", GOOGLE_L1)
    stricter = parse_model(
        model_to_yaml(builtin_model("google"))
        .replace("name: google", "name: acme")
        .replace("version: default-1", "version: '2'")
    )
    with bot.session() as session:
        maturity.install(session, TEAM_ID, stricter, model_to_yaml(stricter))
        maturity.use(session, TEAM_ID, "acme", "UADMIN")
        session.commit()
    assert "L1 · ML pipeline" in text_of(person.command("status Fraud ML"))
    # version 3 requires CI/CD (the first level-2 capability in the file) for L1 already
    v3_text = (
        model_to_yaml(stricter)
        .replace("version: '2'", "version: '3'")
        .replace("  level: 2\n  step: 5", "  level: 1\n  step: 5", 1)
    )
    with bot.session() as session:
        _, replaced = maturity.install(session, TEAM_ID, parse_model(v3_text), v3_text)
        session.commit()
        assert replaced
    with bot.session() as session:
        assert session.scalar(select(Team.level)) == 0  # CI/CD is now required for L1
        change = session.scalars(select(LevelChange).order_by(LevelChange.id.desc())).first()
        assert (change.cause, change.model_ref) == ("model", "acme:3")
    assert "L0 · Manual" in text_of(person.command("status Fraud ML"))
