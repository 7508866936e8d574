"""The Web API stand-in answers in Slack's shapes for every method the bot calls.

Why: the sandbox and the tests both trust `bot.sandbox.slack_api`. If it answered a method
in a shape Slack does not use, the bot could pass here and break against Slack. The list of
methods is read from the bot's own source, so a method someone starts calling tomorrow fails
this test until its documented shape is added below. Shapes are the documented example
responses at docs.slack.dev/reference/methods/<method>, reduced to the fields that matter.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.sandbox.slack_api import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-test-token"

_VIEW = {
    "id": str,
    "team_id": str,
    "type": str,
    "blocks": list,
    "private_metadata": str,
    "callback_id": str,
    "state": {"values": dict},
    "hash": str,
    "clear_on_close": bool,
    "notify_on_close": bool,
    "root_view_id": str,
    "app_id": str,
    "external_id": str,
    "app_installed_team_id": str,
    "bot_id": str,
}
_USER = {
    "id": str,
    "team_id": str,
    "name": str,
    "deleted": bool,
    "real_name": str,
    "tz": str,
    "tz_label": str,
    "tz_offset": int,
    "is_admin": bool,
    "is_owner": bool,
    "is_bot": bool,
    "updated": int,
    "profile": {"display_name": str, "real_name": str},
}
_CHANNEL = {
    "id": str,
    "name": str,
    "is_channel": bool,
    "is_private": bool,
    "is_archived": bool,
    "is_member": bool,
    "created": int,
    "creator": str,
}
_MESSAGE = {"type": str, "text": str, "ts": str}

SHAPES: dict[str, dict[str, Any]] = {
    "auth.test": {
        "url": str,
        "team": str,
        "user": str,
        "team_id": str,
        "user_id": str,
        "bot_id": str,
        "is_enterprise_install": bool,
    },
    "chat.postMessage": {
        "channel": str,
        "ts": str,
        "message": {**_MESSAGE, "bot_id": str, "app_id": str},
    },
    "chat.postEphemeral": {"message_ts": str},
    "chat.update": {"channel": str, "ts": str, "text": str, "message": _MESSAGE},
    "chat.delete": {"channel": str, "ts": str},
    "chat.getPermalink": {"channel": str, "permalink": str},
    "conversations.open": {"channel": {"id": str}, "no_op": bool, "already_open": bool},
    "conversations.join": {"channel": _CHANNEL},
    "conversations.info": {"channel": _CHANNEL},
    "conversations.history": {
        "messages": [_MESSAGE],
        "has_more": bool,
        "pin_count": int,
        "response_metadata": {"next_cursor": str},
    },
    "conversations.replies": {
        "messages": [_MESSAGE],
        "has_more": bool,
        "response_metadata": {"next_cursor": str},
    },
    "users.info": {"user": _USER},
    "users.lookupByEmail": {"user": _USER},
    "views.open": {"view": _VIEW},
    "views.push": {"view": _VIEW},
    "views.update": {"view": _VIEW},
    "views.publish": {"view": _VIEW},
    # files_upload_v2 = these two, with a plain upload to `upload_url` in between.
    "files.getUploadURLExternal": {"upload_url": str, "file_id": str},
    "files.completeUploadExternal": {"files": [{"id": str, "title": str}]},
}

MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []}


def _call(client: WebClient, slack: FakeSlack, method: str) -> dict[str, Any]:
    """Call `method` with arguments like the bot's, on a stand-in holding what it needs."""
    slack.add_user("U1", email="u1@example.com")
    slack.add_channel("C1", is_member=True)  # history and ephemerals need membership
    posted = client.chat_postMessage(channel="C1", text="hello")
    ts = posted["ts"]
    modal = client.views_open(trigger_id=slack.new_trigger_id(), view=MODAL)["view"]
    upload = client.files_getUploadURLExternal(filename="teams.csv", length=3)
    args: dict[str, dict[str, Any]] = {
        "chat.postMessage": {"channel": "C1", "text": "hi", "blocks": []},
        "chat.postEphemeral": {"channel": "C1", "user": "U1", "text": "psst"},
        "chat.update": {"channel": "C1", "ts": ts, "text": "edited"},
        "chat.delete": {"channel": "C1", "ts": ts},
        "chat.getPermalink": {"channel": "C1", "message_ts": ts},
        "conversations.open": {"users": "U1"},
        "conversations.join": {"channel": "C1"},
        "conversations.info": {"channel": "C1"},
        "conversations.history": {"channel": "C1"},
        "conversations.replies": {"channel": "C1", "ts": ts},
        "users.info": {"user": "U1"},
        "users.lookupByEmail": {"email": "u1@example.com"},
        "views.open": {"trigger_id": slack.new_trigger_id(), "view": MODAL},
        "views.push": {"trigger_id": slack.new_trigger_id(), "view": MODAL},
        "views.update": {"view_id": modal["id"], "view": MODAL},
        "views.publish": {"user_id": "U1", "view": {"type": "home", "blocks": []}},
        "files.getUploadURLExternal": {"filename": "teams.csv", "length": 3},
        "files.completeUploadExternal": {
            "files": [{"id": upload["file_id"], "title": "Teams"}],
            "channel_id": "C1",
        },
    }
    return client.api_call(method, json=args.get(method, {})).data


def methods_the_bot_calls() -> set[str]:
    """Web API methods named in the bot's code (`client.chat_postMessage(` and the like)."""
    found = {"auth.test"}  # Bolt calls it at start with the bot token
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            if "sandbox" in path.parts:
                continue
            source = path.read_text()
            for name in re.findall(r"\bclient\.([a-z]+_[A-Za-z0-9_]+)\(", source):
                if name == "files_upload_v2":
                    found |= {"files.getUploadURLExternal", "files.completeUploadExternal"}
                else:
                    found.add(name.replace("_", "."))
            found |= set(re.findall(r"api_call\(\s*[\"']([a-zA-Z.]+)[\"']", source))
    return found


def assert_shape(actual: Any, shape: Any, where: str) -> None:
    if isinstance(shape, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, inner in shape.items():
            assert key in actual, f"{where}.{key} is missing: {sorted(actual)}"
            assert_shape(actual[key], inner, f"{where}.{key}")
    elif isinstance(shape, list):
        assert isinstance(actual, list) and actual, f"{where}: expected a non-empty list"
        assert_shape(actual[0], shape[0], f"{where}[0]")
    else:
        assert isinstance(actual, shape), f"{where}: expected {shape.__name__}, got {actual!r}"


@pytest.mark.parametrize("method", sorted(methods_the_bot_calls()))
def test_every_method_the_bot_calls_answers_in_slacks_shape(method: str) -> None:
    assert method in SHAPES, f"the bot calls {method}: add Slack's documented shape here"
    with FakeSlack() as slack:
        client = WebClient(token=TOKEN, base_url=slack.api_url)
        answer = _call(client, slack, method)
    assert answer["ok"] is True, answer
    assert_shape(answer, SHAPES[method], method)


@pytest.mark.parametrize("method", sorted(SHAPES))
def test_every_documented_shape_is_served(method: str) -> None:
    with FakeSlack() as slack:
        client = WebClient(token=TOKEN, base_url=slack.api_url)
        assert_shape(_call(client, slack, method), SHAPES[method], method)


def test_the_bot_calls_at_least_what_the_conversation_needs() -> None:
    """Guards the scan itself: if it found nothing, the test above would prove nothing."""
    assert {"chat.postMessage", "views.open", "views.publish"} <= methods_the_bot_calls()


def test_response_urls_answer_plain_ok_like_slack() -> None:
    with FakeSlack() as slack:
        response = WebhookClient(url=slack.response_url()).send(text="done")
    assert (response.status_code, response.body) == (200, "ok")


def test_errors_are_ok_false_with_a_reason() -> None:
    with FakeSlack() as slack, pytest.raises(SlackApiError) as raised:
        WebClient(token=TOKEN, base_url=slack.api_url).users_info(user="U404")
    assert raised.value.response.status_code == 200
    assert raised.value.response.data == {"ok": False, "error": "user_not_found"}
