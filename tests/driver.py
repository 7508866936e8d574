"""Drive the bot like a person in Slack: type a command, read the reply, click a button.

Every step goes over real HTTP: a signed request to the running bot, and the reply read
from what the bot sent to the Web API stand-in (response URLs, views, chat.postMessage).
Every message read is validated against Block Kit's rules first.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100


def assert_valid_message(message: dict) -> None:
    """Block Kit validation as Slack would apply it, plus the block count per message."""
    blocks = message.get("blocks") or []
    assert message.get("text"), "a message needs fallback text for notifications"
    assert len(blocks) <= MESSAGE_BLOCKS, f"{len(blocks)} blocks"
    for block in Block.parse_all(blocks):
        block.to_dict()
    _check_text_limits(blocks)


def assert_valid_view(view: dict) -> None:
    assert len(view.get("blocks") or []) <= VIEW_BLOCKS
    View(**view).to_dict()
    _check_text_limits(view.get("blocks") or [])


def _check_text_limits(blocks: list[dict]) -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                assert len(node["text"]) <= 3000, "text over 3,000 characters"
            if node.get("type") == "button":
                assert len(node["text"]["text"]) <= 75
                assert len(node.get("value", "")) <= 2000
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)


def text_of(message: dict) -> str:
    """All the text a person would read in a message or view, joined."""
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                parts.append(node["text"])
            for key, value in node.items():
                if key != "text" or not isinstance(value, str):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message.get("blocks") or [])
    return "\n".join(parts)


def buttons(message: dict) -> dict[str, dict]:
    """Buttons by their label."""
    found: dict[str, dict] = {}

    def walk(node: Any, block_id: str | None) -> None:
        if isinstance(node, dict):
            block_id = node.get("block_id", block_id)
            if node.get("type") == "button":
                found[node["text"]["text"]] = {**node, "block_id": block_id}
            for value in node.values():
                walk(value, block_id)
        elif isinstance(node, list):
            for value in node:
                walk(value, block_id)

    walk(message.get("blocks") or [], None)
    return found


class Person:
    """One Slack user in one channel, talking to the running bot.

    Replies are matched to the request by its response URL, so several people may talk to
    the bot at once (give each its own `client` then: a client remembers its last URL).
    """

    def __init__(self, bot, user_id: str = "U1", channel_id: str = "C1", client=None):
        self.bot = bot
        self.user_id = user_id
        self.channel_id = channel_id
        self.client = client or bot.client

    def _reply_to_last_request(self) -> dict:
        url_id = self.client.last_response_url.rsplit("/", 1)[1]
        calls = self.bot.slack.wait_for(
            "response_url", timeout=10, where=lambda call: call.args.get("url_id") == url_id
        )
        message = dict(calls[0].args)
        message.pop("url_id", None)
        assert_valid_message(message)
        return message

    def command(self, text: str) -> dict:
        """Type `/mlops <text>` and return the reply."""
        response = self.client.command(text, user_id=self.user_id, channel_id=self.channel_id)
        assert response.status == 200, response.body
        return self._reply_to_last_request()

    def click(
        self, message: dict, label: str, *, in_view: dict | None = None, reply: bool = True
    ) -> dict:
        """Click the button labelled `label` in `message`; return the reply message.

        `reply=False` for buttons that open a modal instead of answering in the channel.
        """
        button = buttons(message).get(label)
        assert button is not None, f"no button {label!r}; there are {list(buttons(message))}"
        response = self.client.block_action(
            button["action_id"],
            value=button.get("value"),
            block_id=button.get("block_id") or "b",
            user_id=self.user_id,
            channel_id=self.channel_id,
            message={"ts": "1.0", "text": message.get("text", ""), "blocks": message["blocks"]},
            view=in_view,
        )
        assert response.status == 200, response.body
        if in_view is not None or not reply:
            return {}
        return self._reply_to_last_request()

    def answer(self, message: dict, label: str) -> dict:
        return self.click(message, label)


LABELS = {"yes": "Yes", "partly": "Partly", "no": "No", "not_sure": "Not sure"}


def capability_of(message: dict) -> str:
    """The capability id a question message is asking about."""
    for label in LABELS.values():
        button = buttons(message).get(label)
        if button:
            return json.loads(button["value"])["capability_id"]
    raise AssertionError("not a question: " + text_of(message)[:300])


def run_assessment(person: Person, team: str, answers: dict[str, str]) -> dict:
    """Answer every question from `answers` (capability id -> yes/partly/no/not_sure)."""
    message = person.command(f"assess {team}")
    for _ in range(20):
        if "Yes" not in buttons(message):
            return message
        message = person.answer(message, LABELS[answers.get(capability_of(message), "no")])
    raise AssertionError("the assessment did not finish")


def eventually(check, timeout: float = 5.0):
    """Poll `check()` until it returns a truthy value: the bot acks before it finishes."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)
