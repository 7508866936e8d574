"""Direct messages to the bot: `help`, and every `/mlops` subcommand typed without the slash.

The manifest enables the Messages tab, so people write to the bot there; "status Fraud ML"
gets what `/mlops status Fraud ML` would, posted in the DM (a message has no response URL).
Only a person's own new messages are answered: edits, deletions, joins, file comments,
other bots and the bot's own posts (a `subtype` or `bot_id` says so) are ignored, so the bot
can never answer itself in a loop.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.config import Settings
from handlers import commands
from handlers.base import Req, listener

# Subcommands that open a modal need a trigger_id, which only a slash command or a click
# carries; in a DM the person is told to use the slash command instead.
NEEDS_SLASH = {"team"}


class PostInDm:
    """Stands in for Bolt's `respond` in a DM: the answer is a new message in that DM.

    `response_type` and `replace_original` mean nothing for a fresh message; a DM is seen
    only by the person and the bot, as an ephemeral reply would be.
    """

    def __init__(self, client: WebClient, channel: str) -> None:
        self.client = client
        self.channel = channel

    def __call__(
        self,
        text: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        **_ignored: Any,
    ) -> None:
        self.client.chat_postMessage(
            channel=self.channel,
            text=text or "",
            blocks=blocks,
            attachments=attachments,
            unfurl_links=False,
            unfurl_media=False,
        )


def addressed_to_us(event: dict[str, Any]) -> bool:
    """A person's own new message in their DM with the bot."""
    return (
        event.get("channel_type") == "im"
        and not event.get("subtype")
        and not event.get("bot_id")
        and bool(event.get("user"))
        and bool(event.get("channel"))
    )


def command_text(text: str, slash_command: str) -> str:
    """What follows the (optional) slash command: "/mlops status X" and "status X" agree."""
    text = (text or "").strip()
    head, _, rest = text.partition(" ")
    return rest.strip() if head.lower() in (slash_command, slash_command[1:]) else text


@listener
def on_direct_message(req: Req) -> None:
    req.ack()
    event = req.body.get("event") or {}
    if not addressed_to_us(event):
        return
    text = command_text(event.get("text") or "", req.settings.slash_command)
    req = dataclasses.replace(req, respond=PostInDm(req.client, event["channel"]))
    sub, rest = commands.split_command(text)
    if sub in NEEDS_SLASH:
        usage = f"{req.settings.slash_command} {sub} {rest}".strip()
        req.respond(text=f"`{sub}` opens a form, which only the slash command can do: `{usage}`.")
        return
    commands.dispatch(req, sub, rest)


def register(app: App, settings: Settings) -> None:
    app.event("message")(on_direct_message)
