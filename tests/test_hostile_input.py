"""Correctly signed but malformed requests: never a 5xx, never a traceback, nothing lost.

Slack never sends `payload=[]` or an action without an `action_id`, but anyone who has the
signing secret (or a bug in a proxy) can. Every payload kind the bot receives is taken from
what Slack sends and mutated in many ways (fields removed, nulled, given the wrong type or odd
values), each mutant signed and dispatched in-process through the WSGI app, the same code the
web server runs. The bot must answer each with a 2xx or 4xx, log no traceback (in the request
or in the listener that runs after the acknowledgement), and keep every answer it stored.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import threading
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlalchemy import select

from bot.models import AnswerRecord, Team
from tests.conftest import RunningBot
from tests.driver import Person, buttons, capability_of
from tests.signed_client import Response, SlackClient

DELETE = object()
# Values that Slack never sends where a string, object or list is expected.
ODD_VALUES: list[Any] = [
    DELETE,
    None,
    "",
    "x",
    0,
    -1,
    10**30,
    1.5,
    True,
    [],
    {},
    ["x"],
    {"x": None},
    "\x00",
    "é" * 5000,
    "[]",
    "null",
]
# A form field is always text: what a hostile form can carry instead.
ODD_FORM_VALUES: list[Any] = [DELETE, "", " ", "x", "\x00", "é" * 5000, "[]", "null", "{}"]
MUTANTS_PER_PAYLOAD = 22
SEED = 9


class CapturingClient(SlackClient):
    """Builds exactly what SlackClient would send, without sending it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(base_url="http://capture", **kwargs)
        self.captured: list[tuple[bytes, dict[str, str]]] = []

    def _request(self, method, path, body, headers) -> Response:
        self.captured.append((body or b"", headers))
        return Response(status=200)


def as_payload(body: bytes, headers: dict[str, str]) -> tuple[str, dict]:
    """("form" | "interaction" | "event", the decoded body) of a captured request."""
    if headers["Content-Type"] == "application/json":
        return "event", json.loads(body)
    fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
    if "payload" in fields:
        return "interaction", json.loads(fields["payload"])
    return "form", fields


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON document (object keys and list indexes), root excluded."""
    found: list[tuple] = []
    if isinstance(node, dict | list):
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            found.append((*prefix, key))
            found.extend(paths(child, (*prefix, key)))
    return found


def mutate(document: Any, path: tuple, value: Any) -> Any:
    mutant = copy.deepcopy(document)
    parent = mutant
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
    else:
        parent[path[-1]] = value
    return mutant


class Hostile:
    """Sends mutants and remembers every answer."""

    def __init__(self, client: SlackClient, slack) -> None:
        self.client = client
        self.slack = slack
        self.statuses: list[tuple[int, str]] = []

    def send_raw(self, body: bytes, content_type: str, label: str) -> None:
        response = self.client.post(body, content_type)
        self.statuses.append((response.status, label))

    def send(self, kind: str, document: Any, label: str) -> None:
        if kind == "event":
            self.send_raw(json.dumps(document).encode(), "application/json", label)
        elif kind == "interaction":
            self.send_raw(
                urlencode({"payload": json.dumps(document)}).encode(),
                "application/x-www-form-urlencoded",
                label,
            )
        else:
            self.send_raw(urlencode(document).encode(), "application/x-www-form-urlencoded", label)

    def fresh(self, kind: str, document: dict, path: tuple) -> dict:
        """New per-request ids (event_id, response_url, trigger_id) unless the mutant is them:
        a reused event_id is a retry the bot rightly skips, so it would test nothing."""
        document = copy.deepcopy(document)
        top = path[0] if path else None
        if kind == "event" and top != "event_id":
            document["event_id"] = f"Ev{random.getrandbits(40):X}"
        if "response_url" in document and top != "response_url":
            document["response_url"] = self.slack.response_url("hostile")
        if "trigger_id" in document and top != "trigger_id":
            document["trigger_id"] = self.slack.new_trigger_id()
        return document


def baselines(bot: RunningBot, question: dict, team_id: int) -> list[tuple[str, str, dict]]:
    """(label, kind, document) for every payload kind the bot receives, as Slack sends it."""
    capture = CapturingClient(
        signing_secret=bot.settings.slack_signing_secret, fake_slack=bot.slack
    )
    message = {"ts": "1.0", "text": question.get("text", ""), "blocks": question["blocks"]}
    labels: list[str] = []

    def take(label: str) -> None:
        labels.append(label)

    for text in (
        "help",
        "status Fraud ML",
        "assess Fraud ML",
        "teams",
        "team Fraud ML",
        "evidence Fraud ML",
        "connect Fraud ML mlflow <https://mlflow.example.com|mlflow.example.com> experiments=f",
        "disconnect Fraud ML repo",
    ):
        capture.command(text)
        take(f"command {text}")
    for label, button in buttons(question).items():
        capture.block_action(
            button["action_id"],
            value=button.get("value"),
            block_id=button.get("block_id") or "b",
            message=message,
        )
        take(f"click {label}")
    team = str(team_id)
    for action_id, value in [
        ("open_status", team),
        ("open_next", team),
        ("open_history", team),
        ("assess_start", team),
        ("assess_step", json.dumps({"team_id": team_id, "step": 1})),
        ("teams_page_next", "2"),
        ("delivery_stop", json.dumps({"team_id": team_id})),
        ("delivery_open_overview", team),
        ("open_evidence", team),
        ("evidence_refresh", team),
        ("connect_tools", team),
        (
            "evidence_dismiss",
            json.dumps({"team_id": team_id, "capability_id": capability_of(question)}),
        ),
    ]:
        capture.block_action(action_id, value=value, message=message)
        take(f"click {action_id}")
    capture.block_action(
        "open_status", value=team, view={"type": "home", "callback_id": ""}, block_id="home"
    )
    take("click open_status in App Home")
    capture.block_action(
        "delivery_snooze",
        action_type="static_select",
        selected_option={"value": json.dumps({"team_id": team_id, "days": 14})},
        message=message,
    )
    take("snooze menu")
    capture.block_action(
        "delivery_snooze_until",
        block_id=f"delivery_nudge_actions:{team_id}",
        action_type="datepicker",
        action={"selected_date": "2031-01-01"},
        message=message,
    )
    take("snooze date")
    capability = capability_of(question)
    assessment_id = json.loads(buttons(question)["Yes"]["value"])["assessment_id"]
    note_values = {
        "note_answer": {
            "note_answer": {"type": "radio_buttons", "selected_option": {"value": "yes"}}
        },
        "note_text": {"note_text": "We retrain weekly."},
    }
    note_metadata = json.dumps(
        {"assessment_id": assessment_id, "capability_id": capability, "response_url": ""}
    )
    capture.view_submission("note_modal", note_values, private_metadata=note_metadata)
    take("note submitted")
    team_values = {
        "team_name": {"team_name": "Fraud ML"},
        "team_channel": {
            "team_channel": {"type": "conversations_select", "selected_conversation": "C1"}
        },
        "team_owners": {"team_owners": {"type": "multi_users_select", "selected_users": ["U1"]}},
    }
    capture.view_submission(
        "team_modal",
        team_values,
        private_metadata=json.dumps({"team_id": team_id, "channel_id": "C1"}),
    )
    take("team submitted")
    capture.view_submission(
        "connect_modal",
        {
            "connect_mlflow_url": {"connect_mlflow_url": "https://mlflow.example.com"},
            "connect_repo_url": {"connect_repo_url": ""},
        },
        private_metadata=json.dumps({"team_id": team_id}),
    )
    take("connect tools submitted")
    capture.view_submission(
        "dismiss_modal",
        {"dismiss_reason": {"dismiss_reason": "Registered elsewhere."}},
        private_metadata=json.dumps({"team_id": team_id, "capability_id": "model_registry"}),
    )
    take("dismissal submitted")
    closed = {
        "type": "view_closed",
        "team": {"id": "T0TEST", "domain": "test"},
        "user": {"id": "U1", "username": "u1", "team_id": "T0TEST"},
        "api_app_id": "A0TEST",
        "view": {
            "id": "V0CLOSED",
            "type": "modal",
            "callback_id": "note_modal",
            "private_metadata": note_metadata,
            "state": {"values": note_values},
            "notify_on_close": True,
        },
        "is_cleared": False,
    }
    capture.interactive(closed)
    take("note modal closed")
    capture.event({"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"})
    take("app_home_opened")
    # Uninstall events come from another workspace, so the answers under test stay installed.
    capture.event({"type": "app_uninstalled"}, team_id="T0OTHER")
    take("app_uninstalled")
    capture.event(
        {"type": "tokens_revoked", "tokens": {"oauth": ["U9"], "bot": ["UBOT"]}},
        team_id="T0OTHER",
    )
    take("tokens_revoked")
    capture.event({"type": "member_joined_channel", "user": "U1", "channel": "C1"})
    take("an event the bot does not handle")
    capture.url_verification("challenge-text")
    take("url_verification")
    return [
        (label, *as_payload(body, headers))
        for label, (body, headers) in zip(labels, capture.captured, strict=True)
    ]


NAMED_CASES: list[tuple[str, str, Any]] = [
    ("block_actions without action_id", "actions.0.action_id", DELETE),
    ("actions as a string", "actions", "answer_yes"),
    ("actions empty", "actions", []),
    ("user null", "user", None),
    ("user a string", "user", "U1"),
    ("container null", "container", None),
    ("container a string", "container", "message"),
    ("unknown type", "type", "no_such_type"),
]
RAW_BODIES: list[tuple[str, bytes, str]] = [
    ("payload=[]", b"payload=%5B%5D", "application/x-www-form-urlencoded"),
    ("payload=null", b"payload=null", "application/x-www-form-urlencoded"),
    ("payload=1", b"payload=1", "application/x-www-form-urlencoded"),
    ('payload="x"', b"payload=%22x%22", "application/x-www-form-urlencoded"),
    ("payload={}", b"payload=%7B%7D", "application/x-www-form-urlencoded"),
    ("payload= (empty)", b"payload=", "application/x-www-form-urlencoded"),
    ("payload not JSON", b"payload=%7Bnope", "application/x-www-form-urlencoded"),
    ("JSON []", b"[]", "application/json"),
    ("JSON null", b"null", "application/json"),
    ("JSON string", b'"event_callback"', "application/json"),
    ("JSON {}", b"{}", "application/json"),
    ("event_callback without event", b'{"type": "event_callback"}', "application/json"),
    ("form without fields", b"x=1", "application/x-www-form-urlencoded"),
]


@pytest.fixture
def in_process_bot(make_bot):
    """The bot reached in-process (no socket, same code path), and its Bolt app."""
    bot = make_bot()
    return bot, bot.web.slack.app


def stored_answers(bot: RunningBot) -> set[tuple]:
    with bot.session() as session:
        return {
            (row.id, row.team_id, row.capability_id, row.value, row.note, row.answered_by)
            for row in session.scalars(select(AnswerRecord))
        }


def test_signed_malformed_requests_never_get_5xx_or_a_traceback(
    in_process_bot, caplog, monkeypatch
):
    bot, app = in_process_bot
    thread_errors: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: thread_errors.append(args))
    person = Person(bot)
    first = person.command("assess Fraud ML")
    question = person.answer(first, "Yes")
    with bot.session() as session:
        team_id = session.scalar(select(Team.id).where(Team.name == "Fraud ML"))
    before = stored_answers(bot)
    assert len(before) == 1

    caplog.set_level(logging.INFO)
    caplog.clear()
    hostile = Hostile(bot.client, bot.slack)
    rng = random.Random(SEED)
    for label, body, content_type in RAW_BODIES:
        hostile.send_raw(body, content_type, label)
    for label, kind, document in baselines(bot, question, team_id):
        candidates = [
            (path, value)
            for path in paths(document)
            for value in (ODD_FORM_VALUES if kind == "form" else ODD_VALUES)
        ]
        chosen = rng.sample(candidates, min(MUTANTS_PER_PAYLOAD, len(candidates)))
        for path, value in chosen:
            mutant = mutate(hostile.fresh(kind, document, path), path, value)
            hostile.send(kind, mutant, f"{label}: {'.'.join(map(str, path))} = {value!r:.40}")
        if kind == "interaction" and document.get("type") == "block_actions":
            for name, dotted, value in NAMED_CASES:
                path = tuple(int(p) if p.isdigit() else p for p in dotted.split("."))
                mutant = mutate(hostile.fresh(kind, document, path), path, value)
                hostile.send(kind, mutant, f"{label}: {name}")
    # The listeners run on after the acknowledgement: wait for every one to finish.
    app.listener_runner.listener_executor.shutdown(wait=True)

    server_errors = [(status, label) for status, label in hostile.statuses if status >= 500]
    for status, label in server_errors:
        print(status, label)
    tracebacks = [
        f"{record.name}: {record.getMessage()[:200]}"
        for record in caplog.records
        if record.exc_info or record.exc_text or "Traceback" in record.getMessage()
    ]
    refusals = [r for r in caplog.records if r.getMessage().startswith("refused a signed")]
    refused = [label for status, label in hostile.statuses if status == 400]
    print(f"{len(hostile.statuses)} hostile requests, {len(server_errors)} answered 5xx")
    assert len(hostile.statuses) > 400
    assert server_errors == []
    assert tracebacks == []
    assert thread_errors == []
    assert len(refusals) == len(refused)  # one line for each refusal, naming the problem
    assert "payload=[]" in refused and "JSON []" in refused
    for name, *_ in NAMED_CASES:
        assert f"click Yes: {name}" in refused
    assert before <= stored_answers(bot)  # every stored answer kept, unchanged
