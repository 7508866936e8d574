"""The services on their own, on the rolled-back `session` fixture: no Slack, no web app.

These are the fast tier. What a person sees through Slack is tested through the front door
(tests/test_assess.py and friends); here each service's rules are checked directly, with
data made by the assessment service itself (`seed_finished_assessment`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.domain import DEFAULT_CHECKLIST
from bot.errors import Forbidden, NotFound, UserError
from bot.models import (
    AnswerRecord,
    Assessment,
    AssessmentStatus,
    Cadence,
    Delivery,
    LevelChange,
    SlackUser,
    utcnow,
)
from bot.sandbox.seed import seed_finished_assessment, seed_finished_assessments
from bot.services import digests, history, home, nudges, overview, permissions
from bot.services import teams as team_service

WS = "T0SERVICE"
L1 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities if c.level == 1}
L2 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities}
SETTINGS = Settings(slack_bot_token="xoxb-unused", slack_signing_secret="unused")


def team(session, name="Fraud ML", owner="UOWNER", home=None):
    return team_service.create_team(session, WS, name, owner, home_channel_id=home)


def count(session, model, *where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


# ---------------------------------------------------------------------------- assessments


def test_a_seeded_assessment_is_what_the_service_writes(session):
    fraud = team(session)
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    finished = seed_finished_assessment(session, fraud, L1, by="UOWNER", at=at)
    assert finished.team.level == 1 and finished.state.report.progress_text == "5 of 9 for L2"
    assert finished.assessment.status == AssessmentStatus.COMPLETED
    assert count(session, AnswerRecord, AnswerRecord.team_id == fraud.id) == 9
    change = session.scalar(select(LevelChange).where(LevelChange.team_id == fraud.id))
    assert (change.from_level, change.to_level) == (None, 1)
    assert change.changed_at.replace(tzinfo=UTC) == at
    assert fraud.last_assessed_at.replace(tzinfo=UTC) == at
    assert count(session, Delivery) == 0  # seeded history is not announced


def test_a_level_change_is_announced_in_the_home_channel_with_the_answer(session):
    fraud = team(session, home="CFRAUD")
    seed_finished_assessment(session, fraud, {}, by="UOWNER")
    assert count(session, Delivery) == 0  # a first assessment at L0 is not news
    seed_finished_assessment(session, fraud, L1, by="UOWNER", announce=True)
    (delivery,) = session.scalars(select(Delivery)).all()
    assert delivery.channel_id == "CFRAUD" and delivery.idempotency_key.startswith("level:")


def test_a_second_run_keeps_the_first_runs_answers(session):
    fraud = team(session)
    seed_finished_assessment(session, fraud, L1, by="UOWNER")
    seed_finished_assessment(session, fraud, L2, by="UOWNER")
    assert count(session, AnswerRecord, AnswerRecord.team_id == fraud.id) == 18
    assert count(session, Assessment, Assessment.team_id == fraud.id) == 2
    assert fraud.level == 2


def test_a_level_reached_without_a_recorded_change_is_no_mover_and_no_news(session):
    fraud = team(session, home="CFRAUD")
    finished = seed_finished_assessment(
        session, fraud, L1, by="UOWNER", announce=True, record_level_change=False
    )
    assert fraud.level == 1 and finished.level_change is None
    assert count(session, LevelChange) == 0 and count(session, Delivery) == 0
    assert history.history(session, fraud).changes == []


def test_teams_seeded_in_bulk_hold_what_the_service_writes_for_one(session):
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    alone = team(session, "Alone")
    seed_finished_assessment(session, alone, L1, by="UOWNER", at=at, record_level_change=False)
    many = [team(session, f"Team {n}") for n in range(5)]
    seed_finished_assessments(
        session, [(t, L1 if n % 2 else L2) for n, t in enumerate(many)], by="UOWNER", at=at
    )

    def held(t):
        answers = session.scalars(
            select(AnswerRecord).where(AnswerRecord.team_id == t.id).order_by(AnswerRecord.id)
        )
        (run,) = session.scalars(select(Assessment).where(Assessment.team_id == t.id))
        return (
            t.level,
            t.last_assessed_at,
            (run.status, run.level, run.completed_at, run.workspace_id),
            [(a.capability_id, a.value, a.answered_at, a.assessment_id == run.id) for a in answers],
        )

    assert [held(t) for t in many[1::2]] == [held(alone)] * 2
    assert [held(t) for t in many[0::2]] == [held(many[0])] * 3 and many[0].level == 2
    assert count(session, LevelChange) == 0 and count(session, Delivery) == 0
    assert count(session, Assessment) == 6 and count(session, AnswerRecord) == 6 * 9


# ---------------------------------------------------------------------------- read-backs


def test_history_overview_and_home(session):
    fraud, search = team(session), team(session, "Search", owner="USEARCH")
    seed_finished_assessment(session, fraud, {}, by="UOWNER", at=utcnow() - timedelta(days=9))
    seed_finished_assessment(session, fraud, L1, by="UOWNER")
    seed_finished_assessment(session, search, L2, by="USEARCH")
    timeline = history.history(session, fraud)
    assert [(c.from_level, c.to_level) for c in timeline.changes] == [(0, 1), (None, 0)]
    assert len(timeline.edits) == 9 + 5  # every answer of the first run, then the five L1 yeses
    page = overview.teams_overview(session, WS)
    assert page.counts == {0: 0, 1: 1, 2: 1, None: 0} and page.total == 2
    assert {row.name: row.trend for row in page.rows} == {"Fraud ML": "up", "Search": None}
    mine = home.home(session, WS, "UOWNER")
    assert [state.team.name for state in mine.mine] == ["Fraud ML"] and mine.total == 2


# ---------------------------------------------------------------------------- permissions


def test_one_rule_for_who_is_an_admin(session):
    fraud = team(session)
    bot_admins = Settings(**{**vars(SETTINGS), "admin_user_ids": frozenset({"UBOTADMIN"})})
    now = utcnow()
    session.add_all(
        [
            SlackUser(workspace_id=WS, user_id="UWSADMIN", is_admin=True, fetched_at=now),
            SlackUser(
                workspace_id=WS, user_id="UGONE", is_admin=True, deleted=True, fetched_at=now
            ),
            SlackUser(workspace_id=WS, user_id="USTRANGER", is_admin=False, fetched_at=now),
        ]
    )
    session.flush()
    no_slack = None  # every answer below comes from BOT_ADMINS or the users.info cache
    assert permissions.is_admin(session, no_slack, bot_admins, WS, "UBOTADMIN")
    assert permissions.is_admin(session, no_slack, SETTINGS, WS, "UWSADMIN")
    assert not permissions.is_admin(session, no_slack, SETTINGS, WS, "UGONE")
    assert not permissions.is_admin(session, no_slack, SETTINGS, WS, "USTRANGER")
    for who in ("UOWNER", "UWSADMIN"):
        permissions.check_may_change_reminders(session, no_slack, SETTINGS, fraud, who)
        permissions.check_may_edit_team(session, no_slack, SETTINGS, fraud, who)
    with pytest.raises(Forbidden, match=r"Only the owners of \*Fraud ML\* \(<@UOWNER>\)"):
        permissions.check_may_change_reminders(session, no_slack, SETTINGS, fraud, "USTRANGER")
    with pytest.raises(Forbidden, match="BOT_ADMINS"):
        permissions.check_may_set_up_digests(
            session, no_slack, SETTINGS, WS, "USTRANGER", command="/mlops"
        )


# ---------------------------------------------------------------------------- settings


def test_errors_name_the_command_the_workspace_configured(session):
    team(session)
    with pytest.raises(NotFound) as raised:
        team_service.resolve_team(
            session, WS, "Fruad ML", channel_id=None, user_id="U1", create=False
        )
    text = raised.value.text_for("/maturity")
    assert "Did you mean *Fraud ML*?" in text
    assert "`/maturity assess Fruad ML` creates it; `/maturity teams` lists every team." in text
    with pytest.raises(UserError) as raised:
        nudges.parse_snooze("", utcnow(), None)
    assert "`/maturity snooze 2w`" in raised.value.text_for("/maturity")


def test_cadences_are_the_enum(session):
    fraud = team(session)
    assert nudges.current_setting(session, fraud) == (Cadence.WEEKLY, None)
    nudges.set_cadence(session, fraud, "UOWNER", Cadence.MONTHLY)
    assert nudges.current_setting(session, fraud)[0] is Cadence.MONTHLY
    assert digests.parse_request("<#C0123ABCD> daily 08:00", "/mlops").cadence is Cadence.DAILY
    with pytest.raises(UserError, match="biweekly"):
        digests.parse_request("<#C0123ABCD> biweekly", "/mlops")
