"""Socket Mode, end to end: the bot opens a WebSocket to the stand-in and works as over HTTP.

The stand-in plays Slack's side (bot/sandbox/socket_mode.py): `apps.connections.open` with
the app-level token, `hello`, envelopes that must be acknowledged within 3 seconds, and
`disconnect` messages that make the bot reconnect. The bot side is the real front door
(`bot.socket_mode.SocketModeFrontDoor`, what `mlops-bot socket` runs) on Bolt's built-in
Socket Mode client. Requests are built by the same client as the HTTP tests
(tests/socket_client.py), so a test written for HTTP runs here unchanged.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from bot.app import Runtime, create_app
from bot.db import make_engine
from bot.domain import DEFAULT_CHECKLIST
from bot.migrate import upgrade
from bot.models import AnswerRecord, Assessment, AssessmentStatus, Team
from bot.observability import Metrics
from bot.sandbox.socket_mode import DEFAULT_APP_TOKEN, SocketModeServer
from bot.socket_mode import AppTokenRefused, SocketModeFrontDoor
from tests import test_assess, test_readback
from tests.conftest import RunningBot, free_port, fresh_sqlite_url, make_settings
from tests.driver import LABELS, Person, buttons, capability_of, run_assessment, text_of
from tests.socket_client import NOT_ACKNOWLEDGED, SocketSlackClient
from tests.test_cli import clean_env

L1 = {c.id: "yes" for c in DEFAULT_CHECKLIST.capabilities if c.level == 1}
QUESTIONS = len(DEFAULT_CHECKLIST.capabilities)


@dataclass
class SocketBot(RunningBot):
    """A `RunningBot` reached over Socket Mode: `socket` is Slack's side, `front` the bot's."""

    socket: SocketModeServer | None = None
    front: SocketModeFrontDoor | None = None
    metrics: Metrics | None = None


@pytest.fixture
def socket_server(slack) -> Iterator[SocketModeServer]:
    with SocketModeServer(slack) as server:
        yield server


@pytest.fixture
def socket_bot(engine, slack, database_url, socket_server) -> Iterator[SocketBot]:
    settings = make_settings(
        slack, database_url, slack_signing_secret="", slack_app_token=DEFAULT_APP_TOKEN
    )
    runtime = Runtime.from_settings(settings, engine=engine)
    metrics = Metrics(engine)
    front = SocketModeFrontDoor(create_app(settings, runtime), DEFAULT_APP_TOKEN, metrics)
    front.connect()
    socket_server.wait_connected()
    client = SocketSlackClient(socket_server, slack)
    try:
        yield SocketBot(
            settings, runtime, client, slack, socket=socket_server, front=front, metrics=metrics
        )
    finally:
        front.close()


def answers(bot) -> list[tuple[str, str]]:
    with bot.session() as session:
        return [
            (record.capability_id, record.value)
            for record in session.scalars(select(AnswerRecord).order_by(AnswerRecord.id))
        ]


def assert_all_acknowledged_in_time(socket: SocketModeServer) -> None:
    late = [(e.type, e.envelope_id) for e in socket.envelopes if not e.acked]
    assert not late, f"envelopes not acknowledged within 3 s: {late}"


# ---------------------------------------------------------------- the same tests as HTTP

SAME_AS_HTTP = [
    (test_assess, "test_first_question_shows_title_help_progress_and_buttons"),
    (test_assess, "test_each_click_is_saved_before_the_message_moves_on"),
    (test_assess, "test_back_reasks_and_keeps_both_answers"),
    (test_assess, "test_note_is_stored_with_the_answer"),
    (test_assess, "test_note_without_answer_is_refused_in_the_modal"),
    (test_assess, "test_level_change_is_enqueued_with_the_answer"),
    (test_readback, "test_app_home_lists_my_teams_and_refreshes_after_finishing"),
    (test_readback, "test_home_buttons_work_without_a_channel"),
    (test_readback, "test_team_modal_creates_and_edits"),
    (test_readback, "test_team_modal_errors_stay_in_the_modal"),
]


@pytest.mark.parametrize(
    ("module", "name"), SAME_AS_HTTP, ids=[name.removeprefix("test_") for _, name in SAME_AS_HTTP]
)
def test_same_behaviour_as_http(socket_bot, module, name):
    """The HTTP suite's own tests (commands, clicks, both modals, App Home), over the socket."""
    getattr(module, name)(socket_bot)
    assert_all_acknowledged_in_time(socket_bot.socket)
    kinds = {envelope.type for envelope in socket_bot.socket.envelopes}
    assert kinds <= {"slash_commands", "interactive", "events_api"} and kinds


def test_whole_assessment_over_socket_mode(socket_bot):
    card = run_assessment(Person(socket_bot), "Fraud ML", L1)
    assert "Fraud ML · L1 · ML pipeline" in text_of(card)
    assert len(answers(socket_bot)) == QUESTIONS
    with socket_bot.session() as session:
        assert session.scalar(select(Assessment)).status == AssessmentStatus.COMPLETED
        assert session.scalar(select(Team)).level == 1
    assert_all_acknowledged_in_time(socket_bot.socket)


def test_acknowledgements_carry_what_http_answers_carry(socket_bot):
    """What an HTTP answer's body carries rides in the socket acknowledgement."""
    response = socket_bot.client.view_submission(
        "no-such-form", {}, private_metadata=""
    )  # nothing listens: acknowledged all the same, so Slack shows no timeout
    assert response.status == 200
    envelope = socket_bot.client.last_envelope
    assert envelope.acked and envelope.ack == {"envelope_id": envelope.envelope_id}
    opened = socket_bot.client.command("team")
    assert opened.status == 200
    view = socket_bot.slack.wait_for("views.open")[0].args["view"]
    errors = test_readback.submit_team(socket_bot, view, "", ["U1"])
    assert errors.status == 200
    assert errors.json()["response_action"] == "errors"
    assert socket_bot.client.last_envelope.accepts_response_payload is True


# ---------------------------------------------------------------- reconnecting


def test_refresh_mid_assessment_loses_and_doubles_nothing(socket_bot):
    """Slack's refresh (`warning`, then `refresh_requested`) in the middle of an assessment,
    then a dropped connection: the bot reconnects each time and every answer lands once."""
    socket, person = socket_bot.socket, Person(socket_bot)
    message = person.command("assess Fraud ML")
    given: list[tuple[str, str]] = []

    def answer(label: str) -> None:
        nonlocal message
        given.append((capability_of(message), label))
        message = person.answer(message, label)

    answer("Yes")
    answer("Partly")
    # Slack warns a link will close soon; the bot does not wait, it reconnects at once,
    # and the click right behind the warning is answered by one link or the other.
    assert socket.disconnect("warning") == 1
    answer("No")
    socket.wait_opened(2)
    assert socket.disconnect("refresh_requested") == 1
    answer("Yes")
    socket.wait_opened(3)
    assert socket.drop() == 1  # no `disconnect` first: Slack's side just went away
    answer("Not sure")
    socket.wait_opened(4)
    for _ in range(QUESTIONS):
        if "Yes" not in buttons(message):
            break
        answer("Yes")
    assert "Fraud ML ·" in text_of(message) and "Yes" not in buttons(message)
    value = {label: key for key, label in LABELS.items()}
    assert answers(socket_bot) == [(capability, value[label]) for capability, label in given]
    assert len(given) == QUESTIONS
    assert socket.connections_opened == 4
    assert socket.disconnects_sent == ["warning", "refresh_requested"]
    assert_all_acknowledged_in_time(socket)


def test_click_whose_acknowledgement_is_lost_is_not_recorded_twice(socket_bot):
    """The connection breaks after the bot saved a click but before Slack got the ack: Slack
    shows the person an error, they click the same button again, and it counts once."""
    socket, person = socket_bot.socket, Person(socket_bot)
    message = person.command("assess Fraud ML")
    first = capability_of(message)
    socket.lose_next_ack()
    button = buttons(message)["Yes"]
    response = socket_bot.client.block_action(
        button["action_id"],
        value=button["value"],
        block_id=button["block_id"],
        message={"ts": "1.0", "text": message["text"], "blocks": message["blocks"]},
    )
    assert response.status == NOT_ACKNOWLEDGED
    socket.wait_opened(2)
    again = person.answer(message, "Yes")  # the same button on the same message
    assert "question 2 of 9" in text_of(again)
    assert answers(socket_bot) == [(first, "yes")]


def test_an_event_whose_acknowledgement_is_lost_is_handled_once(socket_bot):
    """Slack sends an unacknowledged event again (`retry_attempt` 1): App Home renders once."""
    socket = socket_bot.socket
    socket.lose_next_ack()
    response = socket_bot.client.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    assert response.status == 200  # the retry was acknowledged
    attempts = [e.retry_attempt for e in socket.envelopes if e.type == "events_api"]
    assert attempts == [0, 1]
    socket_bot.slack.wait_for("views.publish")
    socket_bot.client.command("help")  # something after it, so a second publish would show
    socket_bot.slack.wait_for("response_url")
    assert len(socket_bot.slack.calls_to("views.publish")) == 1


# ---------------------------------------------------------------- tokens and operations


def test_a_wrong_app_token_is_refused_in_one_line(engine, slack, database_url, socket_server):
    settings = make_settings(slack, database_url, slack_app_token="xapp-1-wrong")
    runtime = Runtime.from_settings(settings, engine=engine)
    front = SocketModeFrontDoor(create_app(settings, runtime), "xapp-1-wrong", Metrics(engine))
    try:
        with pytest.raises(AppTokenRefused) as refused:
            front.connect()
    finally:
        front.close()
    message = str(refused.value)
    assert "SLACK_APP_TOKEN" in message and "invalid_auth" in message and "\n" not in message
    assert socket_server.connections_opened == 0


def test_the_bot_token_is_not_an_app_token(engine, slack, database_url, socket_server):
    settings = make_settings(slack, database_url)
    runtime = Runtime.from_settings(settings, engine=engine)
    token = settings.slack_bot_token
    front = SocketModeFrontDoor(create_app(settings, runtime), token, Metrics(engine))
    try:
        with pytest.raises(AppTokenRefused, match="not_allowed_token_type"):
            front.connect()
    finally:
        front.close()


def test_one_log_line_and_metrics_per_socket_request(socket_bot, caplog):
    caplog.set_level(logging.INFO, logger="mlops_bot.requests")
    Person(socket_bot).command("assess Fraud ML")
    socket_bot.client.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    lines = [r for r in caplog.records if r.name == "mlops_bot.requests"]
    assert [(r.kind, r.action, r.status) for r in lines] == [
        ("command", "assess", 200),
        ("event", "app_home_opened", 200),
    ]
    assert all(r.duration_ms >= 0 and r.workspace == "T0TEST" for r in lines)
    scrape = socket_bot.metrics.render().decode()
    assert 'mlops_bot_requests_total{kind="command",status="200"} 1.0' in scrape
    assert 'mlops_bot_requests_total{kind="event",status="200"} 1.0' in scrape
    assert 'mlops_bot_request_seconds_count{kind="command"} 1.0' in scrape


def test_the_word_payload_in_a_command_is_just_a_word(socket_bot):
    """HTTP needed a fix for Bolt mistaking `payload` in a form for a click; the socket
    carries JSON, so the command reaches its listener as typed."""
    reply = Person(socket_bot).command("assess payload")
    assert "Created team *payload*" in text_of(reply)


# ---------------------------------------------------------------- the real processes


def start_cli(args: list[str], tmp_path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def socket_env(slack, url: str, app_token: str = DEFAULT_APP_TOKEN) -> dict[str, str]:
    """What an operator sets for Socket Mode: no signing secret, no port."""
    return clean_env(
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_APP_TOKEN=app_token,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=url,
    )


def test_mlops_bot_socket_answers_and_reconnects(tmp_path, slack, socket_server):
    """The console script as an operator runs it: a whole assessment over the socket, with
    a refresh in the middle, then SIGTERM ends it cleanly."""
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    metrics_port = free_port()
    env = {**socket_env(slack, url), "METRICS_PORT": str(metrics_port)}
    process = start_cli(["socket"], tmp_path, env)
    try:
        socket_server.wait_connected(timeout=30)
        bot = SimpleNamespace(slack=slack, client=SocketSlackClient(socket_server, slack))
        person = Person(bot)
        message = person.command("assess Fraud ML")
        for number in range(1, QUESTIONS + 1):
            assert f"question {number} of {QUESTIONS}" in text_of(message)
            if number == 4:
                socket_server.disconnect("refresh_requested")
            message = person.answer(message, "Yes")
        assert "Fraud ML · L2" in text_of(message)
        assert socket_server.connections_opened == 2
        assert_all_acknowledged_in_time(socket_server)
        # The operator's address, as beside `web`: what the socket handled, counted.
        operator = f"http://127.0.0.1:{metrics_port}"
        with urllib.request.urlopen(f"{operator}/metrics", timeout=5) as response:
            scrape = response.read().decode()
        assert 'mlops_bot_requests_total{kind="command",status="200"} 1.0' in scrape
        clicks = f'mlops_bot_requests_total{{kind="block_actions",status="200"}} {QUESTIONS}.0'
        assert clicks in scrape
        with urllib.request.urlopen(f"{operator}/healthz", timeout=5) as response:
            assert json.loads(response.read())["database"] is True
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert "connected to Slack over Socket Mode" in output
    assert "Traceback" not in output
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(AnswerRecord)) == QUESTIONS
    finally:
        engine.dispose()


def test_mlops_bot_socket_refuses_a_wrong_app_token_in_one_line(tmp_path, slack, socket_server):
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    process = start_cli(["socket"], tmp_path, socket_env(slack, url, "xapp-1-A0TEST-1-wrong"))
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2, output
    lines = [line for line in output.splitlines() if "mlops-bot:" in line]
    assert lines == [
        "mlops-bot: configuration error: Slack refused SLACK_APP_TOKEN (invalid_auth): use an "
        "app-level token (xapp-...) with connections:write, from api.slack.com/apps -> your "
        "app -> Basic Information -> App-Level Tokens, and turn Socket Mode on."
    ]
    assert "Traceback" not in output and " ERROR " not in output
    assert "xapp-1-A0TEST-1-wrong" not in output  # never log a token
    assert socket_server.connections_opened == 0


def test_run_socket_mode_runs_the_worker_beside_it(tmp_path, slack, socket_server):
    """`mlops-bot run --socket-mode`: migrations, the socket and the worker in one process;
    the worker's proof is the level change it announces after the assessment."""
    url = fresh_sqlite_url(tmp_path)
    process = start_cli(["run", "--socket-mode"], tmp_path, socket_env(slack, url))
    try:
        socket_server.wait_connected(timeout=30)
        bot = SimpleNamespace(slack=slack, client=SocketSlackClient(socket_server, slack))
        run_assessment(Person(bot), "Fraud ML", L1)
        (announcement,) = slack.wait_for(
            "chat.postMessage", timeout=20, where=lambda call: call.args.get("channel") == "C1"
        )
        assert "Fraud ML" in announcement.args["text"]
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert "over Socket Mode, with its worker" in output, output
    assert "Traceback" not in output


# ---------------------------------------------------------------- the stand-in itself


def test_the_stand_in_refuses_what_slack_refuses(slack, socket_server):
    """apps.connections.open takes only the app token, the app token opens nothing else, and
    a connection URL is good once (the shapes slack_sdk's client reads)."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    web = WebClient(base_url=slack.api_url)

    def error_of(call) -> str:
        with pytest.raises(SlackApiError) as refused:
            call()
        return refused.value.response["error"]

    assert error_of(lambda: web.apps_connections_open(app_token="xapp-1-unknown")) == (
        "invalid_auth"
    )
    assert error_of(lambda: web.apps_connections_open(app_token="xoxb-test-token")) == (
        "not_allowed_token_type"
    )
    assert error_of(
        lambda: web.chat_postMessage(token=DEFAULT_APP_TOKEN, channel="C1", text="hi")
    ) == ("not_allowed_token_type")
    url = web.apps_connections_open(app_token=DEFAULT_APP_TOKEN)["url"]
    assert url.startswith("ws://127.0.0.1:") and "ticket=" in url
    with connect(url) as link:
        hello = json.loads(link.recv(timeout=5))
        assert hello["type"] == "hello" and hello["connection_info"]["app_id"] == slack.app_id
        assert hello["num_connections"] == 1
    with pytest.raises(InvalidStatus):
        connect(url)  # the ticket was used
