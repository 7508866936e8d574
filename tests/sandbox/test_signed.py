"""What the sandbox sends the bot has Slack's shapes and valid signatures.

Why: the bot must not be able to tell the sandbox from Slack. The test suite's own
`SlackClient` (tests/signed_client.py) is checked against Slack's documented payloads, so the
sandbox's sender is held to the same fields, request by request, and to a signature that
slack_sdk's verifier accepts.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.signed import SlackSender
from bot.sandbox.slack_api import FakeSlack
from tests.signed_client import SlackClient

SECRET = "sandbox-test-secret"


class _Capture(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((dict(self.headers.items()), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format, *args) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[tuple[dict[str, str], bytes]]


@pytest.fixture
def capture() -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Capture)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _fields(headers: dict[str, str], body: bytes) -> dict:
    if headers["Content-Type"] == "application/json":
        return json.loads(body)
    form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    return json.loads(form["payload"]) if "payload" in form else form


def _paths(value, prefix: str = "") -> set[str]:
    """Every key path in a payload ("container.message_ts"), lists by their first item."""
    if isinstance(value, list):
        return _paths(value[0], prefix + "[]") if value else set()
    if not isinstance(value, dict):
        return set()
    found = set()
    for key, inner in value.items():
        path = f"{prefix}.{key}" if prefix else key
        found |= {path} | _paths(inner, path)
    return found


def test_the_sandbox_sends_what_the_vetted_test_client_sends(capture):
    url = f"http://127.0.0.1:{capture.server_address[1]}"
    with FakeSlack() as slack:
        slack.add_user("U1")
        ours = SlackSender(url, SECRET, slack, "/slack/events")
        theirs = SlackClient(url, signing_secret=SECRET, fake_slack=slack)
        message = {"type": "message", "ts": "1700000000.000100", "text": "t", "blocks": []}
        action = {"action_id": "go", "block_id": "b", "type": "button", "value": "1"}
        view = {"id": "V1", "type": "modal", "callback_id": "cb", "private_metadata": ""}

        ours.command("/mlops", "help", "U1", "C1")
        theirs.command("help", user_id="U1", channel_id="C1")
        ours.message_action("U1", "C1", message, action, ephemeral=False)
        theirs.block_action("go", value="1", message=message, channel_id="C1", user_id="U1")
        ours.view_submission("U1", view, {})
        theirs.view_submission("cb", {}, user_id="U1")
        ours.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
        theirs.event({"type": "app_home_opened", "user": "U1", "tab": "home"})

    verifier = SignatureVerifier(SECRET)
    sent = capture.requests
    assert len(sent) == 8
    for headers, body in sent[0::2]:
        assert verifier.is_valid_request(body, headers)
    for (our_headers, our_body), (their_headers, their_body) in zip(
        sent[0::2], sent[1::2], strict=True
    ):
        assert our_headers["Content-Type"] == their_headers["Content-Type"]
        ours = _paths(_fields(our_headers, our_body))
        theirs = _paths(_fields(their_headers, their_body))
        # A submitted view is the stored view the bot opened (minimal here); its fields are
        # views.open's answer, which test_slack_api_shapes checks.
        missing = {p for p in theirs - ours if not p.startswith("view.")}
        assert not missing, f"the sandbox leaves out {sorted(missing)}"


def test_an_ephemeral_click_has_no_message_and_a_url_for_that_ephemeral_message(capture):
    url = f"http://127.0.0.1:{capture.server_address[1]}"
    with FakeSlack() as slack:
        shown = slack.add_ephemeral("C1", "U1", "question 1", author="UBOT", bot_id="BBOT")
        SlackSender(url, SECRET, slack, "/slack/events").message_action(
            "U1", "C1", shown, {"action_id": "a", "type": "button"}, ephemeral=True
        )
        payload = _fields(*capture.requests[0])
        assert "message" not in payload
        assert payload["container"]["is_ephemeral"] is True
        url_id = payload["response_url"].rsplit("/", 1)[1]
        assert slack.response_urls[url_id]["ephemeral_ts"] == shown["ts"]
