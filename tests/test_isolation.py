"""Two workspaces, one bot: nothing one workspace does or sees ever involves the other.

Why this shape: the worst case for scoping is two workspaces that look alike, so both have a
team called "Fraud ML", bound to a channel with the same id (C1), and the person probing the
second workspace carries the same user id (U1) as the first workspace's owner. A query that
filters by team name, channel or user but forgets the workspace shows up here at once.

Each workspace's data carries a marker a person would notice (a note, a level, who answered):
T1's team is at L1 with note T1_NOTE, answered by U1; T2's is at L0 with note T2_NOTE,
answered by U2. Every surface is driven through the front door in T2 (commands, App Home,
the team modal, forged clicks carrying T1's ids, export) and must neither show T1's markers
nor change a single T1 row.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import DEFAULT_CHECKLIST
from bot.models import (
    AnswerRecord,
    Assessment,
    AssessmentStatus,
    Delivery,
    DigestSubscription,
    LevelChange,
    Team,
    TeamReminder,
    utcnow,
)
from bot.services import export as export_service
from bot.worker import tick
from handlers.ids import Action, Callback, DeliveryAction, DeliveryBlock
from tests.conftest import RunningBot
from tests.driver import (
    LABELS,
    Person,
    assert_valid_message,
    assert_valid_view,
    buttons,
    capability_of,
    text_of,
)
from tests.signed_client import SlackClient
from tests.test_export import answer_with_note, parse_csv

T1, T2 = "T1", "T2"
TEAM = "Fraud ML"
T1_NOTE = "t1-secret evidence: https://t1.example/runs/7"
T2_NOTE = "t2-secret evidence: https://t2.example/runs/9"
L1 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities if c.level == 1}


@dataclass
class WorkspaceBot:
    """The one running bot as seen from one workspace: requests signed with its team id."""

    bot: RunningBot
    team_id: str
    client: SlackClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = self.bot.client_for(self.team_id)

    @property
    def slack(self):
        return self.bot.slack

    def session(self) -> Session:
        return self.bot.session()


@dataclass
class World:
    ws1: WorkspaceBot
    ws2: WorkspaceBot
    t1_team: int
    t2_team: int
    t1_completed: int  # T1's finished assessment
    t1_running: int  # T1's assessment in progress, one question answered


def finish(person: Person, message: dict, answers: dict[str, str]) -> dict:
    for _ in range(20):
        if "Yes" not in buttons(message):
            return message
        message = person.answer(message, LABELS[answers.get(capability_of(message), "no")])
    raise AssertionError("the assessment did not finish")


@pytest.fixture
def world(bot) -> World:
    ws1, ws2 = WorkspaceBot(bot, T1), WorkspaceBot(bot, T2)
    owner1, owner2 = Person(ws1, "U1", "C1"), Person(ws2, "U2", "C1")

    first = answer_with_note(owner1, owner1.command(f"assess {TEAM}"), "Yes", T1_NOTE)
    assert "L1 · ML pipeline" in text_of(finish(owner1, first, L1))
    first = answer_with_note(owner2, owner2.command(f"assess {TEAM}"), "No", T2_NOTE)
    assert "L0 · Manual" in text_of(finish(owner2, first, {}))
    owner1.answer(owner1.command(f"assess {TEAM}"), "Yes")  # T1 run in progress

    with bot.session() as session:
        teams = {t.workspace_id: t for t in session.scalars(select(Team))}
        assert {t.name for t in teams.values()} == {TEAM}
        assert teams[T1].home_channel_id == teams[T2].home_channel_id == "C1"
        runs = {
            a.status: a.id
            for a in session.scalars(select(Assessment).where(Assessment.workspace_id == T1))
        }
    return World(
        ws1,
        ws2,
        teams[T1].id,
        teams[T2].id,
        runs[AssessmentStatus.COMPLETED],
        runs[AssessmentStatus.IN_PROGRESS],
    )


def snapshot(bot, workspace_id: str) -> dict:
    """Every row of one workspace that a person's action could change, as plain values."""
    with bot.session() as session:

        def rows(model, *columns):
            query = select(model).where(model.workspace_id == workspace_id)
            return sorted(
                tuple(str(getattr(row, c)) for c in columns) for row in session.scalars(query)
            )

        return {
            "teams": rows(
                Team,
                "id",
                "name",
                "level",
                "home_channel_id",
                "last_assessed_at",
                "last_assessed_by",
            ),
            "owners": sorted(
                (str(t.id), o.user_id)
                for t in session.scalars(select(Team).where(Team.workspace_id == workspace_id))
                for o in t.owners
            ),
            "assessments": rows(Assessment, "id", "status", "position", "level"),
            "answers": rows(AnswerRecord, "id", "value", "note"),
            "level_changes": rows(LevelChange, "id", "to_level"),
            "reminders": rows(TeamReminder, "team_id", "cadence", "snoozed_until"),
            "deliveries": rows(Delivery, "id", "idempotency_key", "state"),
            "digests": rows(DigestSubscription, "id", "channel_id"),
        }


def assert_no_t1_data(message: dict) -> None:
    """What T2 is shown: nothing T1 wrote (its note, its answerer), nor T1's L1 card."""
    shown = json.dumps(message, ensure_ascii=False)
    assert "t1-secret" not in shown and "t1.example" not in shown
    assert "<@U1>" not in shown
    assert f"{TEAM} · L1" not in shown and f"*{TEAM}* · L1" not in shown


def reply_to_click(ws: WorkspaceBot, action_id: str, value: str, **kwargs) -> dict:
    """A signed click in a channel message of `ws`; returns what the bot answered there."""
    before = len(ws.slack.calls_to("response_url"))
    kwargs.setdefault("user_id", "U1")
    response = ws.client.block_action(action_id, value=value, **kwargs)
    assert response.status == 200, response.body
    return dict(ws.slack.wait_for("response_url", count=before + 1)[before].args)


# --- commands --------------------------------------------------------------------------


@pytest.mark.parametrize("text", [f"status {TEAM}", "status", "status fraud ml"])
def test_status_shows_each_workspace_its_own_team(world, text):
    t2_card = Person(world.ws2, "U1", "C1").command(text)
    assert f"{TEAM} · L0 · Manual" in text_of(t2_card)
    assert T2_NOTE.split(":")[0] in text_of(t2_card) and "by <@U2>" in text_of(t2_card)
    assert_no_t1_data(t2_card)
    t1_card = Person(world.ws1, "U2", "C1").command(text)
    assert f"{TEAM} · L1 · ML pipeline" in text_of(t1_card)
    assert "t2-secret" not in json.dumps(t1_card) and "<@U2>" not in json.dumps(t1_card)


def test_next_history_and_teams_show_only_the_workspace_asked_from(world):
    probe = Person(world.ws2, "U1", "C1")
    step = probe.command(f"next {TEAM}")
    assert DEFAULT_CHECKLIST.step(1).title in text_of(step)  # T2 is at L0: step 1
    assert DEFAULT_CHECKLIST.step(5).title not in text_of(step)  # T1's next step
    assert_no_t1_data(step)

    history = probe.command("history")
    assert "first assessment: *L0 · Manual* by <@U2>" in text_of(history)
    assert text_of(history).count("first assessment") == 1
    assert_no_t1_data(history)

    overview = probe.command("teams")
    assert "MLOps maturity · 1 team" in text_of(overview)
    assert "*L1 · ML pipeline*\n0" in text_of(overview)
    assert "*L0 · Manual*\n1" in text_of(overview)
    assert_no_t1_data(overview)

    t1_overview = Person(world.ws1, "U2", "C1").command("teams")
    assert "MLOps maturity · 1 team" in text_of(t1_overview)
    assert "*L1 · ML pipeline*\n1" in text_of(t1_overview)


def test_assess_in_one_workspace_never_touches_the_other(world, bot):
    before = snapshot(bot, T1)
    probe = Person(world.ws2, "U1", "C1")
    question = probe.command("assess")  # the channel's team in T2, not T1's run in progress
    assert "question 1 of 9" in text_of(question)
    assert "Resuming" not in text_of(question)
    assert_no_t1_data(question)
    card = finish(probe, question, L1)
    assert f"{TEAM} · L1 · ML pipeline" in text_of(card)
    assert snapshot(bot, T1) == before
    with bot.session() as session:
        t2 = session.get(Team, world.t2_team)
        assert (t2.level, t2.last_assessed_by) == (1, "U1")
        running = session.get(Assessment, world.t1_running)
        assert (running.status, running.position) == (AssessmentStatus.IN_PROGRESS, 1)


def test_every_command_typed_in_one_workspace_leaves_the_other_unchanged(world, bot):
    before = snapshot(bot, T1)
    probe = Person(world.ws2, "U2", "C1")  # T2's owner: allowed to change T2's settings
    for text in [
        "help",
        f"assess {TEAM}",
        "status",
        f"next {TEAM}",
        f"history {TEAM}",
        "teams",
        f"remind monthly {TEAM}",
        f"snooze 2w {TEAM}",
        "digest <#C1|general> weekly",
        "export",
        f"export {TEAM}",
    ]:
        assert_no_t1_data(probe.command(text))
    assert snapshot(bot, T1) == before


# --- App Home ----------------------------------------------------------------------


def home_of(ws: WorkspaceBot, user: str) -> dict:
    before = len(ws.slack.calls_to("views.publish"))
    response = ws.client.event({"type": "app_home_opened", "user": user, "tab": "home"})
    assert response.status == 200
    call = ws.slack.wait_for("views.publish", count=before + 1)[before]
    assert call.args["user_id"] == user
    assert_valid_view(call.args["view"])
    return call.args["view"]


def test_app_home_shows_the_viewers_teams_in_that_workspace_only(world):
    # U1 owns Fraud ML in T1; opening the bot's home in T2 shows none of it.
    view = home_of(world.ws2, "U1")
    assert "You don't own a team yet" in text_of(view)
    assert "*Your organisation:* 1 team · L2: 0 · L1: 0 · L0: 1" in text_of(view)
    assert_no_t1_data(view)
    view = home_of(world.ws2, "U2")
    assert f"*{TEAM}* · L0 · Manual" in text_of(view)
    assert [b["value"] for b in buttons(view).values()] == [str(world.t2_team)] * 3
    view = home_of(world.ws1, "U1")
    assert f"*{TEAM}* · L1 · ML pipeline" in text_of(view)
    assert "*Your organisation:* 1 team · L2: 0 · L1: 1 · L0: 0" in text_of(view)


# --- the team modal --------------------------------------------------------------------


def open_team_modal(ws: WorkspaceBot, user: str) -> dict:
    before = len(ws.slack.calls_to("views.open"))
    assert ws.client.command(f"team {TEAM}", user_id=user, channel_id="C1").status == 200
    view = ws.slack.wait_for("views.open", count=before + 1)[before].args["view"]
    assert_valid_view(view)
    return view


def submit_team(ws: WorkspaceBot, metadata: dict, name: str, user: str):
    values = {
        "team_name": {"team_name": {"type": "plain_text_input", "value": name}},
        "team_channel": {
            "team_channel": {"type": "conversations_select", "selected_conversation": "C9"}
        },
        "team_owners": {"team_owners": {"type": "multi_users_select", "selected_users": [user]}},
    }
    return ws.client.view_submission(
        Callback.TEAM_MODAL, values, private_metadata=json.dumps(metadata), user_id=user
    )


def test_team_modal_opens_and_edits_the_workspaces_own_team(world, bot):
    view = open_team_modal(world.ws2, "U2")
    assert json.loads(view["private_metadata"])["team_id"] == world.t2_team
    assert "U1" not in json.dumps(view)
    # T1's owner has no say over T2's team of the same name.
    refused = Person(world.ws2, "U1", "C1").command(f"team {TEAM}")
    assert "Only the team's owners (<@U2>)" in refused["text"]


def test_team_modal_submitted_with_the_other_workspaces_team_id_changes_nothing(world, bot):
    before = snapshot(bot, T1)
    response = submit_team(world.ws2, {"team_id": world.t1_team, "channel_id": ""}, "Taken", "U1")
    body = response.json()
    assert body["response_action"] == "errors"
    assert "That team is gone" in json.dumps(body["errors"])
    assert snapshot(bot, T1) == before
    with bot.session() as session:
        assert session.scalars(select(Team.name).where(Team.workspace_id == T2)).all() == [TEAM]


# --- stale or forged clicks ------------------------------------------------------------


def forged_clicks(world: World) -> list[tuple[str, str, dict]]:
    """(label, action_id, block_action kwargs) for every button that names an id."""
    running_cap = DEFAULT_CHECKLIST.ids[1]
    team = str(world.t1_team)
    answer = {"assessment_id": world.t1_running, "capability_id": running_cap, "answer": "yes"}
    return [
        ("answer", Action.ANSWER_YES, {"value": json.dumps(answer)}),
        (
            "answer on finished",
            Action.ANSWER_NO,
            {
                "value": json.dumps(
                    {
                        "assessment_id": world.t1_completed,
                        "capability_id": DEFAULT_CHECKLIST.ids[8],
                        "answer": "no",
                    }
                )
            },
        ),
        ("back", Action.BACK, {"value": json.dumps(answer)}),
        ("keep rest", Action.KEEP_REST, {"value": json.dumps(answer)}),
        ("add note", Action.ADD_NOTE, {"value": json.dumps(answer)}),
        ("start", Action.START_ASSESS, {"value": team}),
        ("step done", Action.ASSESS_STEP, {"value": json.dumps({"team_id": team, "step": 1})}),
        ("status", Action.OPEN_STATUS, {"value": team}),
        ("next", Action.OPEN_NEXT, {"value": team}),
        ("history", Action.OPEN_HISTORY, {"value": team}),
        ("stop nudges", DeliveryAction.STOP, {"value": json.dumps({"team_id": team})}),
        (
            "snooze",
            DeliveryAction.SNOOZE,
            {
                "action_type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "2 weeks"},
                    "value": json.dumps({"team_id": team, "days": 14}),
                },
            },
        ),
        (
            "snooze until",
            DeliveryAction.SNOOZE_UNTIL,
            {
                "block_id": f"{DeliveryBlock.NUDGE_ACTIONS}:{team}",
                "action_type": "datepicker",
                "action": {"selected_date": "2027-01-15"},
            },
        ),
    ]


def test_forged_clicks_with_the_other_workspaces_ids_show_and_change_nothing(world, bot):
    """U1, T1's owner, clicks in T2 with buttons whose values carry T1's ids."""
    before_t1, before_t2 = snapshot(bot, T1), snapshot(bot, T2)
    modals = len(bot.slack.calls_to("views.open"))
    for label, action_id, kwargs in forged_clicks(world):
        reply = reply_to_click(world.ws2, action_id, **{"value": None, **kwargs})
        assert_valid_message(reply)
        assert "no longer exists" in reply["text"], (label, reply["text"])
        assert_no_t1_data(reply)
    assert len(bot.slack.calls_to("views.open")) == modals  # no note modal for T1's question
    assert snapshot(bot, T1) == before_t1
    assert snapshot(bot, T2) == before_t2


def test_the_same_clicks_in_the_right_workspace_do_work(world, bot):
    """The control for the test above: the ids are real, only the workspace was wrong."""
    reply = reply_to_click(world.ws1, Action.OPEN_STATUS, str(world.t1_team))
    assert f"{TEAM} · L1 · ML pipeline" in text_of(reply)
    answer = {
        "assessment_id": world.t1_running,
        "capability_id": DEFAULT_CHECKLIST.ids[1],
        "answer": "yes",
    }
    reply = reply_to_click(world.ws1, Action.ANSWER_YES, json.dumps(answer))
    assert "question 3 of 9" in text_of(reply)


def test_note_modal_submitted_with_the_other_workspaces_assessment_records_nothing(world, bot):
    before = snapshot(bot, T1)
    metadata = {
        "assessment_id": world.t1_running,
        "capability_id": DEFAULT_CHECKLIST.ids[1],
        "response_url": "",
    }
    values = {
        "note_answer": {
            "note_answer": {"type": "radio_buttons", "selected_option": {"value": "yes"}}
        },
        "note_text": {"note_text": {"type": "plain_text_input", "value": "forged"}},
    }
    dms = len(world.ws2.slack.calls_to("chat.postMessage"))
    response = world.ws2.client.view_submission(
        Callback.NOTE_MODAL, values, private_metadata=json.dumps(metadata), user_id="U1"
    )
    assert response.status == 200
    told = world.ws2.slack.wait_for("chat.postMessage", count=dms + 1)[dms].args
    assert "That assessment no longer exists" in told["text"]
    assert_no_t1_data(told)
    assert snapshot(bot, T1) == before


# --- what the bot sends on its own -------------------------------------------------------


def next_weekday_0930() -> datetime:
    """A moment when daily digests and weekday nudges are both due (in UTC): a week on, as
    the teams' assessments just now count as contact for the weekly nudges."""
    moment = (utcnow() + timedelta(days=7)).replace(hour=9, minute=30, second=0, microsecond=0)
    while moment.weekday() >= 5:
        moment += timedelta(days=1)
    return moment


def test_digests_and_nudges_carry_only_their_own_workspaces_data(world, bot):
    """Both workspaces subscribe a channel with the same id; each digest and each owner's
    nudge is about its own workspace only."""
    for user in ("U1", "U2"):
        bot.slack.add_user(user, is_admin=True, tz="UTC")
    for ws, admin in ((world.ws1, "U1"), (world.ws2, "U2")):
        said = Person(ws, admin, "C1").command("digest <#C0LEADS|ml-leads> daily 09:00 UTC")
        assert "<#C0LEADS> gets the digest daily" in said["text"]
    tick(bot.runtime, next_weekday_0930())

    sent = {
        call.args["metadata"]["event_payload"]["key"]: call.args
        for call in bot.slack.calls_to("chat.postMessage")
        if not call.failed and call.args.get("metadata")
    }
    day = next_weekday_0930().date().isoformat()
    t1_digest, t2_digest = sent[f"digest:{T1}:C0LEADS:{day}"], sent[f"digest:{T2}:C0LEADS:{day}"]
    assert "*L1 · ML pipeline*\n1 team" in text_of(t1_digest)
    assert "*L0 · Manual*\n0 teams" in text_of(t1_digest)
    assert "*L0 · Manual*\n1 team" in text_of(t2_digest)
    assert "*L1 · ML pipeline*\n0 teams" in text_of(t2_digest)
    assert "Step 1, " in text_of(t2_digest) and "Step 1, " not in text_of(t1_digest)
    assert_no_t1_data(t2_digest)

    t1_nudge = sent[f"nudge:{world.t1_team}:U1:{day}"]
    t2_nudge = sent[f"nudge:{world.t2_team}:U2:{day}"]
    assert (t1_nudge["channel"], t2_nudge["channel"]) == ("U1", "U2")
    step = DEFAULT_CHECKLIST.step(1).title
    assert step in t2_nudge["text"] and step not in t1_nudge["text"]
    assert not [key for key in sent if key.startswith(f"nudge:{world.t1_team}:U2")]
    assert not [key for key in sent if key.startswith(f"nudge:{world.t2_team}:U1")]
    with bot.session() as session:
        for delivery in session.scalars(select(Delivery)):
            team = delivery.payload.get("team_id")
            if team is not None:
                assert session.get(Team, team).workspace_id == delivery.workspace_id


# --- export ----------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["export", f"export {TEAM}"])
def test_export_holds_only_the_asking_workspaces_rows(world, bot, text):
    # owning the team of the same name in T1 gives U1 nothing in T2 (EXPORT_PERMISSION=owners)
    refused = Person(world.ws2, "U1", "C1").command(text)
    assert "Only " in refused["text"] and "can export" in refused["text"]
    probe = Person(world.ws2, "U2", "C1")  # T2's owner
    reply = probe.command(text)
    assert "9 answers and 1 level change," in text_of(reply)
    (complete,) = world.ws2.slack.wait_for("files.completeUploadExternal")
    (entry,) = json.loads(complete.args["files"])
    rows = parse_csv(world.ws2.slack.files[entry["id"]]["content"])
    header, *body = rows
    records = [dict(zip(header, row, strict=True)) for row in body]
    assert {r["who"] for r in records} == {"U2"}
    assert {r["team"] for r in records} == {TEAM}
    assert [r["note"] for r in records if r["note"]] == [T2_NOTE]
    assert "t1-" not in json.dumps(rows)
    ids = {r["assessment_id"] for r in records}
    with bot.session() as session:
        t2_runs = session.scalars(select(Assessment.id).where(Assessment.workspace_id == T2))
        assert ids == {str(i) for i in t2_runs}


def test_export_service_given_a_foreign_team_returns_nothing(world, bot):
    """Defence in depth: even a caller that passes T1's team while asking as T2 gets none."""
    with bot.session() as session:
        t1_team = session.get(Team, world.t1_team)
        data = export_service.collect(session, T2, t1_team)
        assert data.empty
        mine = export_service.collect(session, T1)
        assert {row.answered_by for row in mine.answers} == {"U1"}
        assert (
            len(list(csv.reader(io.StringIO(export_service.to_csv(mine))))) == 1 + 10 + 1
        )  # header, 9 + 1 answers, 1 level change
