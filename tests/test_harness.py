"""Tests of the test harness itself: the FakeSlack Web API and the signed-request client.

Why: every front-door test of the app trusts these two pieces. If the fake answered in a shape
slack_sdk does not accept, or the client signed differently from Slack, app tests would pass or
fail for the wrong reasons. These tests use the real slack_sdk clients and verifier, no app.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

try:  # tests/ as a package (rootdir on sys.path) or as a plain directory (pytest's rootdir-less)
    from tests.signed_client import SlackClient
    from tests.slack_web_api import FakeSlack
except ImportError:
    from signed_client import SlackClient
    from slack_web_api import FakeSlack

TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.api_url)


class _Capture(BaseHTTPRequestHandler):
    """Records raw requests so the signed client can be checked without an app."""

    server: _CaptureServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        self.server.requests.append((self.path, dict(self.headers.items()), body))
        self._answer(b'{"ok": true}')

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers.items()), b""))
        self._answer(b"ok")

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _CaptureServer(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[tuple[str, dict[str, str], bytes]]


@pytest.fixture
def capture() -> Iterator[_CaptureServer]:
    server = _CaptureServer(("127.0.0.1", 0), _Capture)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def signed(capture: _CaptureServer, slack: FakeSlack) -> SlackClient:
    port = capture.server_address[1]
    return SlackClient(f"http://127.0.0.1:{port}", signing_secret=SECRET, fake_slack=slack)


def _payload(body: bytes) -> dict[str, Any]:
    return json.loads(parse_qs(body.decode())["payload"][0])


# ---------------------------------------------------------------------- Web API


def test_auth_test_answers_the_identity_bolt_needs(client: WebClient, slack: FakeSlack) -> None:
    result = client.auth_test()
    assert result["team_id"] == "T0TEST"
    assert result["user_id"] == "UBOT"
    assert result["bot_id"] == "BBOT"
    assert result["is_enterprise_install"] is False
    call = slack.last("auth.test")
    assert call.token == TOKEN
    assert not call.failed


def test_post_message_then_update_changes_stored_message(
    client: WebClient, slack: FakeSlack
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    metadata = {"event_type": "checklist", "event_payload": {"team": 7}}
    first = client.chat_postMessage(channel="C1", text="hi", blocks=blocks, metadata=metadata)
    second = client.chat_postMessage(channel="C1", text="again")

    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])
    assert first["channel"] == "C1"
    assert first["message"]["blocks"] == blocks
    assert first["message"]["metadata"] == metadata
    assert first["message"]["bot_id"] == "BBOT"
    assert slack.last("chat.postMessage").args["text"] == "again"

    updated = client.chat_update(channel="C1", ts=first["ts"], text="edited")
    assert updated["text"] == "edited"
    stored = slack.messages["C1"][0]
    assert stored["text"] == "edited"
    assert stored["blocks"] == blocks  # Slack keeps fields the update leaves out
    assert [m["ts"] for m in slack.messages["C1"]] == [first["ts"], second["ts"]]

    client.chat_delete(channel="C1", ts=second["ts"])
    assert len(slack.messages["C1"]) == 1
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_update(channel="C1", ts="1.2", text="x")
    assert excinfo.value.response["error"] == "message_not_found"


def test_post_to_user_id_lands_in_dm_and_ephemeral_is_kept_apart(
    client: WebClient, slack: FakeSlack
) -> None:
    opened = client.conversations_open(users="U1")
    assert opened["channel"]["id"] == slack.dm_channel_id("U1")
    assert client.conversations_open(users=["U1"])["channel"]["id"] == opened["channel"]["id"]
    assert client.conversations_open(users="U2")["channel"]["id"] != opened["channel"]["id"]

    posted = client.chat_postMessage(channel="U1", text="dm")
    assert posted["channel"] == opened["channel"]["id"]

    slack.add_channel("C1", is_member=True)  # ephemerals need the bot in the channel
    ephemeral = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert ephemeral["message_ts"]
    assert slack.ephemeral[("C1", "U1")][0]["text"] == "only you"
    assert "C1" not in slack.messages


def test_users_info_known_and_unknown(client: WebClient, slack: FakeSlack) -> None:
    slack.add_user("U1", tz="Europe/Berlin", is_admin=True, name="ada")
    user = client.users_info(user="U1")["user"]
    assert user["id"] == "U1"
    assert user["tz"] == "Europe/Berlin"
    assert user["tz_offset"] in (3600, 7200)
    assert user["is_admin"] is True
    assert user["is_bot"] is False
    assert user["profile"]["display_name"] == "ada"

    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="U404")
    assert excinfo.value.response["error"] == "user_not_found"


def test_conversations_info_join_and_channel_rules(client: WebClient, slack: FakeSlack) -> None:
    info = client.conversations_info(channel="C9")["channel"]
    assert info["id"] == "C9"
    assert info["is_archived"] is False

    slack.add_channel("C2", name="ml-team", is_member=False)
    slack.scopes.discard("chat:write.public")  # with it, the post needs no joining
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C2", text="hi")
    assert excinfo.value.response["error"] == "not_in_channel"
    assert client.conversations_join(channel="C2")["channel"]["is_member"] is True
    client.chat_postMessage(channel="C2", text="hi")

    slack.add_channel("C3", is_archived=True)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C3", text="hi")
    assert excinfo.value.response["error"] == "is_archived"


def test_history_is_newest_first_and_honours_limit_oldest_and_metadata(
    client: WebClient, slack: FakeSlack
) -> None:
    metadata = {"event_type": "nudge", "event_payload": {"n": 1}}
    slack.add_channel("C1", is_member=True)  # history needs the bot in the channel
    ts = [
        client.chat_postMessage(channel="C1", text=f"m{i}", metadata=metadata)["ts"]
        for i in range(4)
    ]
    client.chat_postMessage(channel="C1", text="reply", thread_ts=ts[0])

    history = client.conversations_history(channel="C1", limit=2)
    assert [m["text"] for m in history["messages"]] == ["m3", "m2"]
    assert history["has_more"] is True
    assert "metadata" not in history["messages"][0]

    newer = client.conversations_history(channel="C1", oldest=ts[1], include_all_metadata=True)
    assert [m["text"] for m in newer["messages"]] == ["m3", "m2"]
    assert newer["messages"][0]["metadata"] == metadata

    thread = client.conversations_replies(channel="C1", ts=ts[0])
    assert [m["text"] for m in thread["messages"]] == ["m0", "reply"]


def test_views_open_update_push_and_publish(client: WebClient, slack: FakeSlack) -> None:
    modal = {
        "type": "modal",
        "callback_id": "assess",
        "title": {"type": "plain_text", "text": "Assess"},
        "blocks": [],
    }
    opened = client.views_open(trigger_id=slack.new_trigger_id(), view=modal)["view"]
    assert opened["id"].startswith("V")
    assert opened["callback_id"] == "assess"

    updated = client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)["view"]
    assert updated["id"] == opened["id"]
    assert updated["hash"] != opened["hash"]
    with pytest.raises(SlackApiError) as excinfo:
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)
    assert excinfo.value.response["error"] == "hash_conflict"

    pushed = client.views_push(trigger_id="any", view=modal)["view"]
    assert pushed["id"] != opened["id"]

    home = {"type": "home", "blocks": [{"type": "divider"}]}
    first = client.views_publish(user_id="U1", view=home)["view"]
    again = client.views_publish(user_id="U1", view=home)["view"]
    assert again["id"] == first["id"]
    assert slack.home_views["U1"]["blocks"] == [{"type": "divider"}]
    assert slack.last("views.publish").args["view"]["type"] == "home"


def test_expired_trigger_id_is_rejected(client: WebClient, slack: FakeSlack) -> None:
    slack.trigger_ttl = 0.0
    trigger_id = slack.new_trigger_id()
    time.sleep(0.01)
    with pytest.raises(SlackApiError) as excinfo:
        client.views_open(trigger_id=trigger_id, view={"type": "modal", "blocks": []})
    assert excinfo.value.response["error"] == "expired_trigger_id"


def test_form_encoded_json_fields_are_decoded(client: WebClient, slack: FakeSlack) -> None:
    blocks = [{"type": "divider"}]
    client.api_call("chat.postMessage", data={"channel": "C1", "blocks": json.dumps(blocks)})
    call = slack.last("chat.postMessage")
    assert call.args["blocks"] == blocks
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"

    client.api_call(
        "chat.postMessage",
        data={"channel": "C1", "text": "t", "blocks": "[]"},
        files={"file": io.BytesIO(b"bytes")},
    )
    multipart = slack.last("chat.postMessage")
    assert multipart.headers["Content-Type"].startswith("multipart/form-data")
    assert multipart.args["blocks"] == []
    assert multipart.args["file"] == b"bytes"


def test_missing_and_invalid_tokens(slack: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        WebClient(base_url=slack.api_url).auth_test()
    assert excinfo.value.response["error"] == "not_authed"

    with pytest.raises(SlackApiError) as excinfo:
        WebClient(token="xoxb-wrong", base_url=slack.api_url).auth_test()
    assert excinfo.value.response["error"] == "invalid_auth"
    assert slack.last("auth.test").failed


def test_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as excinfo:
        client.api_call("chat.doesNotExist")
    assert excinfo.value.response["error"] == "unknown_method"


def test_fail_injects_error_for_the_next_calls_only(client: WebClient, slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", error="channel_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as excinfo:
            client.chat_postMessage(channel="C1", text="x")
        assert excinfo.value.response["error"] == "channel_not_found"
    client.chat_postMessage(channel="C1", text="x")

    calls = slack.calls_to("chat.postMessage")
    assert [c.failed for c in calls] == [True, True, False]
    assert calls[0].error == "channel_not_found"
    assert len(slack.messages["C1"]) == 1


def test_rate_limit_is_a_429_with_retry_after(client: WebClient, slack: FakeSlack) -> None:
    slack.rate_limit("chat.postMessage", retry_after=2)
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="x")
    response = excinfo.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response["error"] == "ratelimited"
    assert slack.last("chat.postMessage").status == 429


def test_retry_handler_recovers_from_rate_limit(slack: FakeSlack) -> None:
    retrying = WebClient(
        token=TOKEN,
        base_url=slack.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.rate_limit("chat.postMessage", retry_after=1)
    assert retrying.chat_postMessage(channel="C1", text="x")["ok"] is True
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]


def test_server_error_and_delay(client: WebClient, slack: FakeSlack) -> None:
    slack.server_error("users.info", status=503)
    with pytest.raises(SlackApiError) as excinfo:
        client.users_info(user="U1")
    assert excinfo.value.response.status_code == 503

    slack.delay("auth.test", 0.3)
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.3


def test_pace_limits_per_channel_with_a_burst(client: WebClient, slack: FakeSlack) -> None:
    slack.pace(per_channel_per_second=1.0, burst=3)
    for _ in range(3):
        client.chat_postMessage(channel="C1", text="x")
    with pytest.raises(SlackApiError) as excinfo:
        client.chat_postMessage(channel="C1", text="x")
    assert excinfo.value.response.status_code == 429
    assert int(excinfo.value.response.headers["Retry-After"]) >= 1
    client.chat_postMessage(channel="C2", text="other channel has its own bucket")
    assert len(slack.messages["C1"]) == 3


def test_wait_for_waits_and_reports_what_it_saw(client: WebClient, slack: FakeSlack) -> None:
    timer = threading.Timer(0.2, lambda: client.chat_postMessage(channel="C1", text="late"))
    timer.start()
    try:
        calls = slack.wait_for("chat.postMessage", timeout=5)
    finally:
        timer.join()
    assert calls[0].args["text"] == "late"

    with pytest.raises(AssertionError, match=r"chat\.postMessage"):
        slack.wait_for("views.open", timeout=0.1)
    with pytest.raises(AssertionError):
        slack.last("views.open")

    slack.reset()
    assert slack.calls == []
    assert slack.messages == {}


def test_file_upload_v2_roundtrip(client: WebClient, slack: FakeSlack) -> None:
    slack.add_channel("C1")  # sharing a file needs membership, chat:write.public or not
    result = client.files_upload_v2(
        channel="C1", content="a,b\n1,2\n", filename="report.csv", title="Report"
    )
    assert result["file"]["title"] == "Report"
    stored = slack.files[result["file"]["id"]]
    assert stored["content"] == b"a,b\n1,2\n"
    assert stored["channels"] == ["C1"]


# ---------------------------------------------------------------------- response URLs


def test_webhook_client_send_is_recorded(slack: FakeSlack) -> None:
    url = slack.response_url(name="cmd")
    response = WebhookClient(url=url).send(text="done", response_type="ephemeral")
    assert response.status_code == 200
    assert response.body == "ok"
    call = slack.last("response_url")
    assert call.args["text"] == "done"
    assert call.args["url_id"] == url.rsplit("/", 1)[1]


def test_response_url_replaces_deletes_and_expires(client: WebClient, slack: FakeSlack) -> None:
    ts = client.chat_postMessage(channel="C1", text="before")["ts"]
    url = slack.response_url(channel="C1", user="U1", message_ts=ts)
    webhook = WebhookClient(url=url)

    webhook.send(text="after", replace_original=True)
    assert slack.messages["C1"][0]["text"] == "after"
    webhook.send(text="just for you")
    assert slack.ephemeral[("C1", "U1")][0]["text"] == "just for you"
    webhook.send(text="for all", response_type="in_channel")
    assert slack.messages["C1"][-1]["text"] == "for all"
    webhook.send(delete_original=True)
    assert [m["text"] for m in slack.messages["C1"]] == ["for all"]

    assert webhook.send(text="fifth").status_code == 200
    assert webhook.send(text="sixth").status_code == 404  # a response_url works 5 times
    assert WebhookClient(url=f"{slack.base_url}/response/nope").send(text="x").status_code == 404


# ---------------------------------------------------------------------- signed client


def test_signature_validates_and_forgeries_do_not(
    signed: SlackClient, capture: _CaptureServer
) -> None:
    verifier = SignatureVerifier(SECRET)
    assert signed.command("status").status == 200
    signed.post(b"x=1", "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    signed.post(b"x=1", "application/x-www-form-urlencoded", timestamp=int(time.time()) - 301)
    signed.post(b"x=2", "application/x-www-form-urlencoded", sign_body=b"x=1")

    def valid(request: tuple[str, dict[str, str], bytes]) -> bool:
        _, headers, body = request
        return verifier.is_valid(
            body=body,
            timestamp=headers["X-Slack-Request-Timestamp"],
            signature=headers["X-Slack-Signature"],
        )

    assert [valid(r) for r in capture.requests] == [True, False, False, False]
    other = SignatureVerifier("another-secret")
    assert not other.is_valid_request(capture.requests[0][2], capture.requests[0][1])


def test_command_carries_every_slash_command_field(
    signed: SlackClient, capture: _CaptureServer, slack: FakeSlack
) -> None:
    signed.command("assess ml-team", user_id="U7", channel_id="C7")
    path, headers, body = capture.requests[0]
    assert path == "/slack/events"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    for name in (
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "is_enterprise_install",
        "response_url",
        "trigger_id",
    ):
        assert name in fields, name
    assert fields["command"] == "/mlops"
    assert fields["text"] == "assess ml-team"
    assert fields["team_id"] == "T0TEST"
    assert fields["response_url"].startswith(slack.base_url + "/response/")
    assert signed.last_trigger_id == fields["trigger_id"]


def test_block_action_payload_in_a_message_and_in_a_view(
    signed: SlackClient, capture: _CaptureServer, slack: FakeSlack
) -> None:
    message = {"ts": "1700000000.000100", "text": "t", "blocks": []}
    signed.block_action("approve", value="42", message=message, channel_id="C5")
    payload = _payload(capture.requests[0][2])
    assert payload["type"] == "block_actions"
    assert payload["actions"][0] == {
        "action_id": "approve",
        "block_id": "b",
        "type": "button",
        "value": "42",
        "action_ts": payload["actions"][0]["action_ts"],
    }
    assert payload["container"]["message_ts"] == message["ts"]
    assert payload["channel"]["id"] == "C5"
    assert payload["message"]["ts"] == message["ts"]
    assert payload["user"]["team_id"] == "T0TEST"
    assert payload["state"] == {"values": {}}
    assert payload["response_url"].startswith(slack.base_url)

    signed.block_action(
        "pick",
        view={"id": "V1", "type": "home"},
        action_type="static_select",
        selected_option={"value": "2", "text": {"type": "plain_text", "text": "Two"}},
    )
    in_view = _payload(capture.requests[1][2])
    assert in_view["container"] == {"type": "view", "view_id": "V1"}
    assert in_view["view"]["type"] == "home"
    assert in_view["actions"][0]["selected_option"]["value"] == "2"
    assert "response_url" not in in_view and "channel" not in in_view


def test_view_submission_and_events(signed: SlackClient, capture: _CaptureServer) -> None:
    signed.view_submission(
        "assess",
        {"name": {"input": {"type": "plain_text_input", "value": "Fraud"}}, "n": {"i": "x"}},
        private_metadata='{"team": 1}',
    )
    view = _payload(capture.requests[0][2])["view"]
    assert view["callback_id"] == "assess"
    assert view["state"]["values"]["name"]["input"]["value"] == "Fraud"
    assert view["state"]["values"]["n"]["i"] == {"type": "plain_text_input", "value": "x"}
    assert view["private_metadata"] == '{"team": 1}'

    signed.event({"type": "app_home_opened", "user": "U1", "tab": "home"}, retry_num=1)
    _, headers, body = capture.requests[1]
    envelope = json.loads(body)
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Slack-Retry-Num"] == "1"
    assert headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert envelope["type"] == "event_callback"
    assert envelope["event_id"] == signed.last_event_id
    assert envelope["authorizations"][0] == {
        "enterprise_id": None,
        "team_id": "T0TEST",
        "user_id": "UBOT",
        "is_bot": True,
        "is_enterprise_install": False,
    }

    signed.url_verification("abc")
    assert json.loads(capture.requests[2][2])["challenge"] == "abc"
    assert signed.get("/healthz").body == "ok"
