"""`/mlops digest` through the front door, and what a digest says, for 3 teams or 1,000."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.models import DigestSubscription, Team, utcnow
from tests.delivery.conftest import WS, assert_valid_message, buttons, key_of, posts


def reply(bot, command: str, user: str = "UADMIN") -> str:
    before = len(bot.slack.calls_to("response_url"))
    assert bot.client.command(command.replace("/mlops ", "", 1), user_id=user).status == 200
    calls = bot.slack.wait_for("response_url", count=before + 1)
    return calls[-1].args["text"]


def subscriptions(bot) -> list[DigestSubscription]:
    with bot.session() as session:
        return list(session.scalars(select(DigestSubscription)))


@pytest.fixture
def admin(bot):
    bot.slack.add_user("UADMIN", tz="Europe/Berlin", is_admin=True)
    bot.slack.add_user("UPERSON", tz="Europe/Berlin")


def test_admin_subscribes_a_channel(bot, admin):
    text = reply(bot, "/mlops digest <#C0LEADS|ml-leads> weekly tuesday 08:30 America/New_York")
    assert "<#C0LEADS>" in text and "Tuesdays at 08:30 America/New_York" in text
    (sub,) = subscriptions(bot)
    assert (sub.channel_id, sub.cadence.value, sub.weekday, sub.local_time, sub.timezone) == (
        "C0LEADS",
        "weekly",
        1,
        "08:30",
        "America/New_York",
    )


def test_defaults_are_monday_nine_in_the_admins_own_zone(bot, admin):
    text = reply(bot, "/mlops digest <#C0LEADS|ml-leads>")
    assert "Mondays at 09:00 Europe/Berlin" in text
    # Changing the cadence keeps the time and zone already chosen.
    reply(bot, "/mlops digest <#C0LEADS|ml-leads> daily 07:15")
    (sub,) = subscriptions(bot)
    assert (sub.cadence.value, sub.weekday, sub.local_time, sub.timezone) == (
        "daily",
        None,
        "07:15",
        "Europe/Berlin",
    )


def test_off_unsubscribes_and_listing_shows_what_is_set(bot, admin):
    reply(bot, "/mlops digest <#C0A|a> weekly")
    reply(bot, "/mlops digest <#C0B|b> daily")
    listing = reply(bot, "/mlops digest")
    assert "<#C0A>" in listing and "<#C0B>" in listing
    assert "no more digests" in reply(bot, "/mlops digest <#C0A|a> off")
    assert [s.channel_id for s in subscriptions(bot)] == ["C0B"]


def test_a_bot_admin_from_settings_may_subscribe(make_bot, admin):
    bot = make_bot(admin_user_ids=frozenset({"UPERSON"}))
    bot.client.command("digest <#C0LEADS|ml-leads> weekly", user_id="UPERSON")
    bot.slack.wait_for("response_url")
    assert [s.channel_id for s in subscriptions(bot)] == ["C0LEADS"]


def test_non_admin_is_told_who_can_and_nothing_changes(bot, admin):
    text = reply(bot, "/mlops digest <#C0LEADS|ml-leads> weekly", user="UPERSON")
    assert "Only workspace admins and owners" in text and "BOT_ADMINS" in text
    assert subscriptions(bot) == []


@pytest.mark.parametrize(
    "args,says",
    [
        ("", "No channel gets the digest yet"),
        ("#general weekly", "pick the channel from Slack's list"),
        ("general weekly", "should be a channel"),
        ("<#C0LEADS|ml-leads> fortnightly", "I don't understand `fortnightly`"),
        ("<#C0LEADS|ml-leads> weekly 25:00", "I don't understand `25:00`"),
        ("<#C0LEADS|ml-leads> weekly Mars/Olympus", "I don't understand `Mars/Olympus`"),
        ("<#C0LEADS|ml-leads> daily friday", "takes no day"),
    ],
)
def test_bad_input_gets_a_clear_answer_and_changes_nothing(bot, admin, args, says):
    text = reply(bot, f"/mlops digest {args}".strip())
    assert says in text
    assert "Traceback" not in text
    assert subscriptions(bot) == []


# ---------------------------------------------------------------------------- content


def test_digest_content_and_movers_since_the_last_one(bot, org, run_tick):
    l1 = org.team("Fraud ML", yes=5)
    org.team("Search <Ranking>", yes=9)
    org.team("Vision", yes=1, assessed_days_ago=200)
    org.subscribe("CDIGEST", weekday=0, at="09:00", tz="Europe/Berlin")
    org.level_change(l1, 0, 1)
    newcomer = org.team("Newcomer", yes=0)
    org.level_change(newcomer, None, 0)  # a first assessment at L0: not a move up
    counts = run_tick(datetime(2026, 11, 30, 8, 5, tzinfo=UTC))  # Monday 09:05 Berlin
    assert counts["digest"] == 1
    digest = [c for c in posts(bot.slack, "CDIGEST") if key_of(c).startswith("digest:")]
    assert len(digest) == 1
    message = digest[0].args
    assert_valid_message(message)
    body = str(message["blocks"])
    assert "*4 teams*" in body
    assert "Fraud ML* L0 → L1" in body
    assert "Newcomer" not in body.split("Moved up")[-1].split("not reassessed")[0]
    assert "Vision" in body and "not reassessed in 90 days" in body
    assert "Most common next step" in body
    assert key_of(digest[0]) == "digest:T0TEST:CDIGEST:2026-W49"

    # The next digest only shows what moved since this one.
    run_tick(datetime(2026, 12, 7, 8, 5, tzinfo=UTC))
    second = [c for c in posts(bot.slack, "CDIGEST") if key_of(c).startswith("digest:")][-1]
    assert "nobody this time" in str(second.args["blocks"])


def test_a_digest_for_a_thousand_teams_summarises_within_block_kit_limits(bot, org, sender):
    from bot.models import Workspace
    from bot.sandbox.seed import seed_finished_assessments

    with bot.runtime.session_factory.begin() as session:
        session.add(Workspace(id=WS))
        session.flush()
        teams = [
            Team(
                workspace_id=WS,
                name=f"Team {n:04d} " + "x" * 60,
                name_key=f"team {n:04d}",
                created_by="U",
            )
            for n in range(1000)
        ]
        session.add_all(teams)
        session.flush()
        for odd, days in ((1, 100), (0, 1)):  # every other team stale
            seed_finished_assessments(
                session,
                [(t, {"data_versioning": "yes"}) for n, t in enumerate(teams) if n % 2 == odd],
                by="U",
                at=utcnow() - timedelta(days=days),
            )
        assert session.scalar(select(func.count()).select_from(Team)) == 1000
    org.subscribe("CDIGEST", cadence="daily", at="00:00", tz="UTC")
    for team_id in range(1, 40):
        org.level_change(teams[team_id].id, 0, 1, announce=False)
    bot.slack.reset()
    from bot.worker import enqueue_due

    enqueue_due(bot.runtime, datetime(2026, 11, 30, 0, 5, tzinfo=UTC), None)
    result = sender.drain()
    assert result.sent >= 1
    (digest,) = [c for c in posts(bot.slack, "CDIGEST") if key_of(c).startswith("digest:")]
    assert_valid_message(digest.args)
    body = str(digest.args["blocks"])
    assert "*1000 teams*" in body
    assert "and 490 more" in body  # 500 stale, ten named
    assert "and 29 more" in body  # 39 moved up, ten named
    assert "Step 2" in body and "1000 teams)" in body  # everyone's next step: tracking


def test_the_digests_overview_button_shows_the_overview_to_whoever_clicks(bot, org, run_tick):
    org.team("Fraud ML", yes=5)
    org.subscribe("CDIGEST", weekday=0, at="09:00", tz="UTC")
    run_tick(datetime(2026, 11, 30, 9, 5, tzinfo=UTC))
    # The last message that is not the digest's picture (an upload, after the digest).
    message = [m for m in bot.slack.messages["CDIGEST"] if not m.get("upload")][-1]
    button = buttons(message)["delivery_open_overview"]
    before = len(bot.slack.calls_to("response_url"))
    bot.client.block_action(
        button["action_id"],
        value=button["value"],
        block_id="delivery_digest_actions",
        user_id="UREADER",
        channel_id="CDIGEST",
        message=message,
    )
    (reply,) = bot.slack.wait_for("response_url", count=before + 1)[before:]
    assert reply.args.get("replace_original") is not True  # the digest stays for everyone
    assert reply.args.get("response_type", "ephemeral") == "ephemeral"
    assert "Fraud ML" in str(reply.args)


def test_the_digest_says_how_many_teams_their_tools_verify_and_contradict(bot, org, run_tick):
    import dataclasses

    from bot.domain.evidence import Signal, Strength, mlflow_findings, repo_findings
    from bot.services import evidence

    verified = org.team("Fraud ML", yes=5)
    contradicted = org.team("Search", yes=5)
    org.team("Vision", yes=5)  # nothing connected: not counted
    org.subscribe("CDIGEST", weekday=0, at="09:00", tz="Europe/Berlin")
    allowed = dataclasses.replace(bot.settings, evidence_allowed_hosts=frozenset({"ml.example"}))
    strong = [
        Signal(cid, Strength.STRONG, "seen", "x.py")
        for cid in ("data_versioning", "automated_training", "feature_store")
    ]
    busy = {"runs_30d": 5, "experiments_with_runs": [{"name": "e", "runs": 5}],
            "models": [{"name": "m", "versions": 2, "aliases": ["prod"]}]}  # fmt: skip
    with org.session() as session:
        for team_id, observed in ((verified, busy), (contradicted, {"models": []})):
            team = session.get(Team, team_id)
            found = evidence.connect_source(
                session, allowed, team, "mlflow", "https://ml.example", {}, "UOWNER"
            )
            evidence.record_findings(session, found, mlflow_findings(observed), utcnow())
            repo = evidence.connect_source(
                session, allowed, team, "repo", "https://ml.example/x.git", {}, "UOWNER"
            )
            evidence.record_findings(session, repo, repo_findings(strong), utcnow())
    run_tick(datetime(2026, 11, 30, 8, 5, tzinfo=UTC))
    (digest,) = [c for c in posts(bot.slack, "CDIGEST") if key_of(c).startswith("digest:")]
    assert_valid_message(digest.args)
    assert (
        ":mag: *Evidence*: 1 of 2 teams with connected tools has a level verified by them · "
        "2 answers contradict their tools" in str(digest.args["blocks"])
    )
