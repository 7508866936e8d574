"""The sandbox server without a browser: the page's JSON API, the bot behind it, the clock.

Why: these are the promises the page relies on, checked quickly and on machines without
Chromium: the bot runs with signature checks on, each person sees only their own ephemeral
messages, the clock control makes the worker deliver what is due, and the demo organisation
is consistent with the level rules.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.domain import compute_level
from bot.models import AnswerRecord, Assessment, LevelChange, Team
from bot.sandbox import workspace
from bot.sandbox.clock import CLOCK_TABLE, ClockBackwards, SandboxClock, next_weekday_at
from bot.sandbox.demo import DEMO_TEAMS
from bot.sandbox.server import Sandbox
from bot.sandbox.slack_api import FakeSlack
from bot.services.teams import current_answers
from tests.conftest import fresh_sqlite_url
from tests.driver import eventually

ADA, GRACE, ALAN = "U0ADA", "U0GRACE", "U0ALAN"
GENERAL, PLATFORM = "C0GENERAL", "C0MLPLATFORM"


def get(sandbox, path: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(sandbox.url.rstrip("/") + path, timeout=10) as response:
        return response.status, dict(response.headers.items()), response.read()


def post(sandbox, path: str, **body) -> dict:
    request = urllib.request.Request(
        sandbox.url.rstrip("/") + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def state(sandbox, user: str, channel: str) -> dict:
    return json.loads(get(sandbox, f"/sandbox/state?user={user}&channel={channel}")[2])


def wait_for(condition, timeout: float = 10.0):
    value = eventually(condition, timeout)
    assert value, "condition not met in time"
    return value


def test_the_page_and_its_files_are_served_with_a_strict_policy(looked_at_sandbox):
    sandbox = looked_at_sandbox
    status, headers, body = get(sandbox, "/")
    assert status == 200
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    page = body.decode()
    for part in ("user-switcher", "Jump to next Monday 09:00", "composer-input", "/static/app.js"):
        assert part in page
    assert get(sandbox, "/static/app.js")[0] == 200
    assert get(sandbox, "/static/style.css")[0] == 200


def test_a_command_reaches_the_real_bot_and_only_the_typer_sees_the_answer(sandbox):
    assert post(sandbox, "/sandbox/send", user=ADA, channel=GENERAL, text="/mlops help")["ok"]
    mine = wait_for(lambda: state(sandbox, ADA, GENERAL)["messages"])
    assert "Only visible to you" in mine
    assert "/mlops assess" in mine
    assert state(sandbox, GRACE, GENERAL)["messages"] == ""
    # It went through Slack's front door: a signed slash command, answered on the response URL.
    assert sandbox.slack.last("response_url").args["blocks"]


def test_the_bot_still_checks_signatures(looked_at_sandbox):
    sandbox = looked_at_sandbox
    request = urllib.request.Request(
        sandbox.bot_server.url + "/slack/events",
        data=b"command=%2Fmlops&text=help",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_plain_text_is_a_message_and_unknown_commands_get_slackbots_answer(sandbox):
    post(sandbox, "/sandbox/send", user=GRACE, channel=GENERAL, text="hello <b>team</b>")
    post(sandbox, "/sandbox/send", user=GRACE, channel=GENERAL, text="/deploy now")
    seen = state(sandbox, GRACE, GENERAL)["messages"]
    assert "Grace Hopper" in seen and "hello &lt;b&gt;team&lt;/b&gt;" in seen
    assert "Slackbot" in seen and "is not a valid command" in seen
    assert "Slackbot" not in state(sandbox, ALAN, GENERAL)["messages"]


def test_a_typed_message_shows_links_and_mentions_as_slack_does(sandbox):
    text = (
        "see https://mlflow.example/x?a=1&b=2, <https://docs.example|the docs> @grace #ml-platform"
    )
    post(sandbox, "/sandbox/send", user=ALAN, channel=GENERAL, text=text)
    seen = state(sandbox, ALAN, GENERAL)["messages"]
    assert 'href="https://mlflow.example/x?a=1&amp;b=2"' in seen
    assert 'href="https://docs.example"' in seen and ">the docs</a>" in seen
    assert '<span class="bk-mention">@Grace Hopper</span>' in seen
    assert '<span class="bk-mention">#ml-platform</span>' in seen
    assert "&lt;https" not in seen


def test_command_text_arrives_escaped_like_slack_sends_it(looked_at_sandbox):
    sandbox = looked_at_sandbox
    escaped = sandbox._escape_mentions("digest #ml-platform for @grace & <team> #nowhere")
    assert escaped == (
        "digest <#C0MLPLATFORM|ml-platform> for <@U0GRACE|grace> &amp; &lt;team&gt; #nowhere"
    )


def test_opening_the_app_sends_app_home_opened_and_shows_the_home_tab(sandbox):
    assert state(sandbox, GRACE, "")["home"] is None
    assert post(sandbox, "/sandbox/open-app", user=GRACE, tab="home")["ok"]
    home = wait_for(lambda: state(sandbox, GRACE, "")["home"])
    assert home["type"] == "home"
    assert "Fraud ML" in home["blocks"]  # one of Grace's teams in the demo organisation
    event = sandbox.slack.last("views.publish").args
    assert event["user_id"] == GRACE


def test_jumping_the_clock_runs_the_worker_and_the_digest_arrives(sandbox):
    before = sandbox.clock.now()
    answer = post(sandbox, "/sandbox/clock", user=ADA, preset="next-monday")
    assert answer["ok"], answer
    now = datetime.fromisoformat(answer["now"])
    assert (now.weekday(), now.hour, now.minute) == (0, 9, 0)
    assert now > before
    shown = wait_for(lambda: "digest" in state(sandbox, ADA, PLATFORM)["messages"])
    assert shown
    assert state(sandbox, ADA, PLATFORM)["clock"]["label"].startswith("Mon")

    refused = post(sandbox, "/sandbox/clock", user=ADA, at="not a time")
    assert refused["ok"] is False and refused["error"]
    back = post(sandbox, "/sandbox/clock", user=ADA, at=(now - timedelta(days=2)).isoformat())
    assert back["ok"] is False
    assert back["error"].startswith("The sandbox clock only moves forward: it is already Mon")
    assert sandbox.clock.now() >= now


def test_the_clock_is_kept_across_a_restart_and_nudges_keep_coming(tmp_path):
    """Jump to 2027, restart: the clock is where it was, so the nudges sent "in 2027" do not
    silence the next ones (started on real time, the sandbox would send none for a year)."""
    database_url = fresh_sqlite_url(tmp_path)

    def started() -> Sandbox:
        return Sandbox(database_url=database_url, port=0, demo=True, tick_seconds=0).start()

    first = started()
    try:
        monday = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
        answer = post(first, "/sandbox/clock", user=ADA, at=monday.isoformat())
        assert answer["ok"], answer
        assert answer["counts"]["nudge"] > 0  # the demo's owners, in 2027
    finally:
        first.stop()

    second = started()
    try:
        assert second.clock.now() >= monday
        assert "Mon 04 Jan 2027" in state(second, ADA, GENERAL)["clock"]["label"]
        answer = post(second, "/sandbox/clock", user=ADA, preset="week")
        assert answer["ok"], answer
        assert answer["counts"]["nudge"] > 0  # a week on, the owners are nudged again
        with second.runtime.engine.connect() as connection:
            (offset,) = connection.execute(select(CLOCK_TABLE.c.offset_seconds)).one()
        assert offset > (monday - datetime.now(UTC)).total_seconds()
    finally:
        second.stop()


def test_the_clock_moves_forward_only_and_says_so():
    clock = SandboxClock()
    later = clock.jump(datetime.now(UTC) + timedelta(days=3))
    with pytest.raises(ClockBackwards, match="only moves forward: it is already"):
        clock.jump(datetime.now(UTC) - timedelta(days=1))
    assert clock.now() >= later
    assert clock.jump(later) >= later  # the time it shows, picked to the minute, is no jump back
    monday = next_weekday_at(datetime(2026, 11, 30, 9, 0, tzinfo=UTC), 0, 9)
    assert monday == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert next_weekday_at(datetime(2026, 11, 27, 6, 0, tzinfo=UTC), 0, 9) == datetime(
        2026, 11, 30, 9, 0, tzinfo=UTC
    )
    with pytest.raises(ValueError):
        clock.preset("yesterday")


def test_the_demo_organisation_is_consistent_with_the_level_rules(looked_at_sandbox):
    sandbox = looked_at_sandbox
    levels = {}
    with sandbox.runtime.session_factory() as session:
        teams = list(session.scalars(select(Team).where(Team.workspace_id == workspace.TEAM_ID)))
        answers = current_answers(session, workspace.TEAM_ID, [t.id for t in teams])
        changes = list(session.scalars(select(LevelChange).order_by(LevelChange.id)))
        assessments = list(session.scalars(select(Assessment)))
        assert session.scalar(select(AnswerRecord.id).limit(1))
        assert len(teams) == len(DEMO_TEAMS) == 12
        for team in teams:
            values = {cid: record.value for cid, record in answers[team.id].items()}
            assert team.level == compute_level(values), team.name
            assert team.last_assessed_at is not None and team.owners
            levels[team.name] = team.level
            mine = [c for c in changes if c.team_id == team.id]
            assert mine[-1].to_level == team.level
            assert all(c.from_level != c.to_level for c in mine)
    assert set(levels.values()) == {0, 1, 2}
    stale = [t for t in teams if t.last_assessed_at < datetime.now(UTC) - timedelta(days=90)]
    assert stale, "some teams are stale, so the digest has reminders to show"
    assert len(assessments) > len(teams), "some teams have history"
    from bot.sandbox.demo import seed

    assert seed(sandbox.runtime.session_factory, datetime.now(UTC)) is False


def test_modals_stack_update_and_close_per_person():
    with FakeSlack() as slack:
        from slack_sdk import WebClient

        client = WebClient(token="xoxb-test-token", base_url=slack.api_url)
        modal = {"type": "modal", "title": {"type": "plain_text", "text": "One"}, "blocks": []}
        opened = client.views_open(trigger_id=slack.new_trigger_id(user="U1"), view=modal)
        assert slack.top_view("U1")["id"] == opened["view"]["id"]
        assert slack.top_view("U2") is None
        pushed = slack.answer_view(
            "U1", {**modal, "title": {"type": "plain_text", "text": "Two"}}, push=True
        )
        assert slack.top_view("U1")["id"] == pushed["id"] != opened["view"]["id"]
        slack.answer_view(
            "U1", {**modal, "title": {"type": "plain_text", "text": "Three"}}, push=False
        )
        assert slack.top_view("U1")["title"]["text"] == "Three"
        slack.close_view("U1")
        assert slack.top_view("U1")["id"] == opened["view"]["id"]
        slack.close_view("U1", clear=True)
        assert slack.top_view("U1") is None


def test_a_response_url_from_an_ephemeral_message_replaces_or_deletes_it():
    from slack_sdk.webhook import WebhookClient

    with FakeSlack() as slack:
        shown = slack.add_ephemeral("C1", "U1", "question 1", author="UBOT", bot_id="BBOT")
        url = slack.response_url("actions", channel="C1", user="U1", ephemeral_ts=shown["ts"])
        WebhookClient(url).send(text="question 2", replace_original=True)
        assert [m["text"] for m in slack.ephemeral[("C1", "U1")]] == ["question 2"]
        WebhookClient(url).send(text="", delete_original=True)
        assert slack.ephemeral[("C1", "U1")] == []


def test_only_json_posts_are_accepted(looked_at_sandbox):
    sandbox = looked_at_sandbox
    request = urllib.request.Request(
        sandbox.url + "sandbox/send",
        data=b'{"user": "U0ADA", "channel": "C0GENERAL", "text": "hi"}',
        headers={"Content-Type": "text/plain"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 415
    assert state(sandbox, ADA, GENERAL)["messages"] == ""


def test_a_port_in_use_fails_before_anything_is_created(tmp_path):
    import socket

    from bot.sandbox.server import Sandbox

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        sandbox = Sandbox(database_url=f"sqlite:///{tmp_path / 's.db'}", port=busy.getsockname()[1])
        with pytest.raises(OSError):
            sandbox.start()
    assert not (tmp_path / "s.db").exists()


def test_a_file_the_bot_shares_shows_in_the_dm_and_downloads(sandbox):
    post(sandbox, "/sandbox/send", user=GRACE, channel=GENERAL, text="/mlops export")
    dm = sandbox.slack.dm_channel_id(GRACE)
    wait_for(lambda: "msg-file" in state(sandbox, GRACE, dm)["messages"])
    html = state(sandbox, GRACE, dm)["messages"]
    assert "MLOps maturity export" in html and ".csv" in html
    (shared,) = sandbox.slack.messages[dm][-1]["files"]
    status, headers, body = get(sandbox, f"/sandbox/files/{shared['id']}")
    assert status == 200
    assert headers["Content-Disposition"].startswith("attachment; filename=")
    assert b"capability_id" in body


def test_the_report_shows_its_pictures_inline_in_the_dm(sandbox):
    post(sandbox, "/sandbox/send", user=GRACE, channel=GENERAL, text="/mlops report")
    dm = sandbox.slack.dm_channel_id(GRACE)
    wait_for(lambda: "msg-image" in state(sandbox, GRACE, dm)["messages"], timeout=30)
    html = state(sandbox, GRACE, dm)["messages"]
    assert "maturity heatmap" in html.lower() and "Teams per level" in html
    shared = sandbox.slack.messages[dm][-1]["files"]
    assert [f["name"] for f in shared] == ["maturity-heatmap.png", "maturity-trend.png"]
    assert f'src="/sandbox/files/{shared[0]["id"]}"' in html
    status, headers, body = get(sandbox, f"/sandbox/files/{shared[0]['id']}")
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"].startswith("inline; filename=")
    assert body.startswith(b"\x89PNG")
