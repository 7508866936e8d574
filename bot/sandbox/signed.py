"""What Slack sends the bot, built and signed the way Slack does it.

The sandbox page never talks to the bot directly: a click becomes the same `block_actions`
payload, a typed command the same form, an opened Home tab the same `app_home_opened` event
that Slack would send, signed with the signing secret the sandbox generated for the bot. The
payload shapes mirror tests/signed_client.py, which the tests check against Slack's docs.
"""

from __future__ import annotations

import http.client
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

from bot.sandbox.slack_api import FakeSlack

VERIFICATION_TOKEN = "sandbox-verification-token"


@dataclass
class BotAnswer:
    """The bot's HTTP answer to one request (Bolt puts `ack(...)` arguments in the body)."""

    status: int
    body: str

    def message(self) -> dict[str, Any] | None:
        """The message a slash command's answer carries (a plain-text body is its text)."""
        data = self.json()
        if data is None and self.body.strip():
            data = {"text": self.body}
        return data if data and (data.get("text") or data.get("blocks")) else None

    def json(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


class SlackSender:
    """Posts signed Slack requests to the bot at `bot_url` on behalf of the sandbox's users."""

    def __init__(self, bot_url: str, signing_secret: str, slack: FakeSlack, path: str):
        parts = urlsplit(bot_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.verifier = SignatureVerifier(signing_secret)
        self.slack = slack
        self.path = path

    def _post(self, body: bytes, content_type: str) -> BotAnswer:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": self.verifier.generate_signature(timestamp=timestamp, body=body),
        }
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request("POST", self.path, body=body, headers=headers)
            answer = connection.getresponse()
            return BotAnswer(answer.status, answer.read().decode("utf-8", "replace"))
        finally:
            connection.close()

    def _form(self, fields: dict[str, Any]) -> BotAnswer:
        return self._post(urlencode(fields).encode(), "application/x-www-form-urlencoded")

    def _user(self, user_id: str) -> dict[str, str]:
        name = self.slack.users.get(user_id, {}).get("name", user_id.lower())
        return {"id": user_id, "username": name, "name": name, "team_id": self.slack.team_id}

    def _common(self, user_id: str) -> dict[str, Any]:
        return {
            "team": {"id": self.slack.team_id, "domain": self.slack.team_domain},
            "user": self._user(user_id),
            "api_app_id": self.slack.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.slack.new_trigger_id(user=user_id),
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def command(self, command: str, text: str, user_id: str, channel_id: str) -> BotAnswer:
        """A slash command with every field Slack sends."""
        channel = self.slack.channels.get(channel_id, {})
        response_url = self.slack.response_url("commands", channel=channel_id, user=user_id)
        answer = self._form(
            {
                "token": VERIFICATION_TOKEN,
                "team_id": self.slack.team_id,
                "team_domain": self.slack.team_domain,
                "channel_id": channel_id,
                "channel_name": channel.get("name")
                or ("directmessage" if channel_id.startswith("D") else channel_id.lower()),
                "user_id": user_id,
                "user_name": self._user(user_id)["name"],
                "command": command,
                "text": text,
                "api_app_id": self.slack.app_id,
                "is_enterprise_install": "false",
                "response_url": response_url,
                "trigger_id": self.slack.new_trigger_id(user=user_id),
            }
        )
        message = answer.message()
        if answer.status == 200 and message:  # Slack shows it like a post to the response URL
            self.slack.command_answer(response_url, message)
        return answer

    def message_action(
        self,
        user_id: str,
        channel_id: str,
        message: dict[str, Any],
        action: dict[str, Any],
        *,
        ephemeral: bool,
        state: dict[str, Any] | None = None,
    ) -> BotAnswer:
        """A click in a message; for an ephemeral one Slack sends no `message`."""
        ts = str(message.get("ts") or "")
        payload = {
            "type": "block_actions",
            **self._common(user_id),
            "container": {
                "type": "message",
                "message_ts": ts,
                "channel_id": channel_id,
                "is_ephemeral": ephemeral,
            },
            "channel": {
                "id": channel_id,
                "name": self.slack.channels.get(channel_id, {}).get("name", channel_id.lower()),
            },
            "state": {"values": state or {}},
            "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
            "response_url": self.slack.response_url(
                "actions",
                channel=channel_id,
                user=user_id,
                message_ts=None if ephemeral else ts,
                ephemeral_ts=ts if ephemeral else None,
            ),
        }
        if not ephemeral:
            payload["message"] = message
        return self._form({"payload": json.dumps(payload)})

    def view_action(
        self, user_id: str, view: dict[str, Any], action: dict[str, Any], state: dict[str, Any]
    ) -> BotAnswer:
        """A click inside a modal or the Home tab: Slack sends the view, no channel."""
        payload = {
            "type": "block_actions",
            **self._common(user_id),
            "container": {"type": "view", "view_id": view.get("id")},
            "view": {**view, "state": {"values": state}},
            "state": {"values": state},
            "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
        }
        return self._form({"payload": json.dumps(payload)})

    def view_submission(
        self, user_id: str, view: dict[str, Any], state: dict[str, Any]
    ) -> BotAnswer:
        """A modal's submit button, with the inputs in `view.state.values`."""
        payload = {
            "type": "view_submission",
            **self._common(user_id),
            "view": {**view, "state": {"values": state}},
            "response_urls": [],
        }
        return self._form({"payload": json.dumps(payload)})

    def view_closed(self, user_id: str, view: dict[str, Any]) -> BotAnswer:
        """A modal closed with Cancel; Slack sends it only for views with notify_on_close."""
        payload = {
            "type": "view_closed",
            **self._common(user_id),
            "view": view,
            "is_cleared": False,
        }
        return self._form({"payload": json.dumps(payload)})

    def event(self, event: dict[str, Any]) -> BotAnswer:
        """An Events API envelope around `event`, as Slack delivers it."""
        now = time.time()
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.slack.team_id,
            "api_app_id": self.slack.app_id,
            "event": {"event_ts": f"{now:.6f}", **event},
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(now),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.slack.team_id,
                    "user_id": self.slack.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_hex(16)}",
        }
        return self._post(json.dumps(envelope).encode(), "application/json")
