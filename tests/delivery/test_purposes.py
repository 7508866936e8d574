"""Teams at L0 by choice (issue 15): never nagged, counted apart in the digest, and a move to
production announced once, like a level change, after which nudges start.

Time is driven by the tick's `now`; Slack is the stand-in, and the team form is submitted as
Slack's signed view_submission."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.models import PurposeChange, Team
from tests.delivery.conftest import assert_valid_message, key_of, posts

MONDAY_0930_BERLIN = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)


def set_purpose(bot, team_id: int, purpose: str, user: str = "UOWNER", *, nudges=False, home=None):
    """Save the team form as its owner would: `/mlops team` then Submit."""
    with bot.session() as session:
        team = session.get(Team, team_id)
        name, owners = team.name, [o.user_id for o in team.owners]
    values = {
        "team_name": {"team_name": {"type": "plain_text_input", "value": name}},
        "team_channel": {
            "team_channel": {"type": "conversations_select", "selected_conversation": home}
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
    response = bot.client.view_submission(
        "team_modal",
        values,
        private_metadata=json.dumps({"team_id": team_id, "channel_id": ""}),
        user_id=user,
    )
    assert response.status == 200, response.body
    assert response.json()["response_action"] == "update", response.body


def sent_to(bot, user: str) -> list[str]:
    return [key_of(c) for c in posts(bot.slack, user)]


def test_a_research_team_is_never_nudged_nor_reminded_across_a_month(bot, org, run_tick):
    for owner in ("URESEARCH", "USTALE", "UPROD", "UKEEN"):
        bot.slack.add_user(owner, tz="Europe/Berlin")
    research = org.team("Lab", owners=("URESEARCH",), yes=1)
    stale = org.team("Old lab", owners=("USTALE",), yes=0, assessed_days_ago=200)
    org.team("Fraud ML", owners=("UPROD",), yes=1)  # production: nudged, as before
    keen = org.team("Keen lab", owners=("UKEEN",), yes=1)
    set_purpose(bot, research, "research", "URESEARCH")
    set_purpose(bot, stale, "single_use", "USTALE")
    set_purpose(bot, keen, "research", "UKEEN", nudges=True)  # its owners turned nudges on
    for day in range(31):  # every morning (and an afternoon) of a month
        run_tick(MONDAY_0930_BERLIN + timedelta(days=day))
        run_tick(MONDAY_0930_BERLIN + timedelta(days=day, hours=5))
    assert sent_to(bot, "URESEARCH") == [] and sent_to(bot, "USTALE") == []
    production = sent_to(bot, "UPROD")
    assert len(production) == 5 and all(k.startswith("nudge:") for k in production)
    assert len(sent_to(bot, "UKEEN")) == 5


def test_a_nudge_queued_before_the_team_became_research_is_not_sent(bot, org, sender):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    team = org.team("Lab", yes=1)
    from bot.worker import enqueue_due

    enqueue_due(bot.runtime, MONDAY_0930_BERLIN, sender.client)
    set_purpose(bot, team, "research")
    assert sender.drain().cancelled == 1 and posts(bot.slack, "UOWNER") == []


def test_the_digest_points_at_production_teams_at_l0_and_counts_research_apart(bot, org, run_tick):
    org.team("Fraud ML", yes=0)
    org.team("Search", yes=5)
    labs = [org.team(f"Lab {n}", yes=0, assessed_days_ago=200) for n in range(4)]
    poc = org.team("Demo", yes=0)
    for lab in labs:
        set_purpose(bot, lab, "research")
    set_purpose(bot, poc, "proof_of_concept")
    org.subscribe("CDIGEST", weekday=0, at="09:00", tz="Europe/Berlin")
    run_tick(datetime(2026, 11, 30, 8, 5, tzinfo=UTC))
    (digest,) = [c for c in posts(bot.slack, "CDIGEST") if key_of(c).startswith("digest:")]
    assert_valid_message(digest.args)
    body = "\n".join(b["text"]["text"] for b in digest.args["blocks"] if "text" in b)
    assert "*7 teams*" in body and "In production, by level: 2 teams" in body
    focus = body.index("Where moving up pays most: 1 production team at L0 · Manual")
    assert focus < body.index("Fraud ML") < body.index("Moved up")
    assert "Counted apart: 4 research teams, 1 proof-of-concept team, L0 by choice" in body
    # Never listed as behind: no research team by name, not among the stale teams either.
    assert "Lab" not in body and "Demo" not in body
    assert "Every assessed team has reassessed" in body
    fields = [f["text"] for b in digest.args["blocks"] for f in b.get("fields", [])]
    assert "*L0 · Manual*\n1 team" in fields and "*L1 · ML pipeline*\n1 team" in fields
    assert "1 production team at L0" in digest.args["text"]


def test_the_move_to_production_is_announced_once_and_nudges_start(bot, org, sender, run_tick):
    bot.slack.add_user("UOWNER", tz="Europe/Berlin")
    org.subscribe("CDIGEST")
    team = org.team("Lab", home="CHOME", yes=1)
    set_purpose(bot, team, "research", home="CHOME")
    run_tick(MONDAY_0930_BERLIN)
    # A first setting is not news, and a research team is not nudged: only the digest went.
    assert [key_of(c).split(":")[0] for c in posts(bot.slack)] == ["digest"]

    set_purpose(bot, team, "production", home="CHOME")
    set_purpose(bot, team, "production", home="CHOME")  # saved twice: a retry, a double click
    assert sender.drain().sent == 2
    sent = [c for c in posts(bot.slack) if key_of(c).startswith("production:")]
    assert sorted(c.args["channel"] for c in sent) == ["CDIGEST", "CHOME"]
    for call in sent:
        assert_valid_message(call.args)
        assert "Lab moved to production (from research)" in call.args["text"]
        blocks = str(call.args["blocks"])
        assert "L0 · Manual" in blocks and "Step 2, Track experiments and register models" in blocks
    assert sender.drain().sent == 0
    with bot.session() as session:
        changes = session.scalars(select(PurposeChange).order_by(PurposeChange.id)).all()
        assert [(c.from_purpose, c.to_purpose) for c in changes] == [
            (None, "research"),
            ("research", "production"),
        ]

    run_tick(MONDAY_0930_BERLIN + timedelta(days=7))  # nudges start
    (nudge,) = [c for c in posts(bot.slack, "UOWNER") if key_of(c).startswith("nudge:")]
    assert "Step 2" in nudge.args["text"]
    assert len([c for c in posts(bot.slack) if key_of(c).startswith("production:")]) == 2


def test_a_move_back_before_sending_cancels_the_announcement(bot, org, sender):
    org.subscribe("CDIGEST")
    team = org.team("Lab", yes=1)
    set_purpose(bot, team, "research")
    set_purpose(bot, team, "production")
    set_purpose(bot, team, "research")  # changed their mind before the worker ran
    assert sender.drain().cancelled == 1
    assert posts(bot.slack, "CDIGEST") == []
