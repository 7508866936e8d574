"""The signed client's requests, delivered the Socket Mode way: as envelopes on a WebSocket.

`SocketSlackClient` builds exactly the payloads `SlackClient` builds (every field Slack
sends), but instead of POSTing them to the bot it hands them to the stand-in's Socket Mode
server, which sends them down the WebSocket the bot opened and waits for the bot's
acknowledgement. The answer looks like an HTTP answer (status 200 and the acknowledgement's
payload as the body), so `tests.driver.Person` drives a bot over Socket Mode unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.socket_mode import Envelope, SocketModeServer, envelope_for
from tests.signed_client import Response, SlackClient, _check_answer
from tests.slack_web_api import FakeSlack

NOT_ACKNOWLEDGED = 408  # what `Response.status` says when the bot missed the 3 s deadline


class SocketSlackClient(SlackClient):
    """`SlackClient`'s payloads over Socket Mode; `last_envelope` is the latest sent."""

    def __init__(self, socket: SocketModeServer, fake_slack: FakeSlack, **kwargs: Any) -> None:
        # No signature in Socket Mode: the bot opened the connection with its app token.
        super().__init__(
            fake_slack.base_url, "unused-in-socket-mode", fake_slack=fake_slack, **kwargs
        )
        self.socket = socket
        self.last_envelope: Envelope | None = None

    def post(
        self, body: bytes | str, content_type: str, headers: dict[str, str] | None = None, **_: Any
    ) -> Response:
        envelope = self.socket.send(*envelope_for(body, content_type))
        self.last_envelope = envelope
        if not envelope.acked:
            return Response(status=NOT_ACKNOWLEDGED, body="")
        answer = envelope.response
        if answer:  # what rides in the acknowledgement obeys Slack's limits, as over HTTP
            _check_answer(json.dumps(answer))
        return Response(
            status=200,
            headers={"content-type": "application/json"} if answer else {},
            body=json.dumps(answer) if answer else "",
        )
