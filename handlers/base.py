"""What every listener needs, in one object, inside one unit of work.

Bolt answers Slack as soon as a listener calls `ack()` and keeps running the listener on its
thread pool, so a session opened by a global middleware would be closed under a listener
still at work. Instead `listener(fn)` wraps each handler: it opens the session, runs the
handler, commits, and always closes, on the listener's own thread.

A unit of work ends at one visible point, `req.save()`: `reply()` calls it before it answers,
and the few handlers that talk to Slack after writing without replying (closing a modal,
confirming a team edit) call it themselves. See docs/architecture.md.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.db import read_only
from bot.errors import UserError

log = logging.getLogger(__name__)

# Slack waits 3 seconds for the acknowledgement; a reply not ready well before that is
# acknowledged empty and sent through the response URL instead.
ACK_BUDGET_SECONDS = 2.0


@dataclass
class Req:
    """One Slack request as a handler sees it.

    `client` and `respond` are Bolt's own and do not touch the database. Whatever the person
    did is saved by `save()` before Slack hears of it (`reply()` does this), so no transaction
    (on SQLite, the database's one write lock) stays open across a network call.
    """

    ack: Ack
    body: dict[str, Any]
    client: WebClient
    respond: Respond
    context: BoltContext
    session: Session
    settings: Settings
    started: float = field(default_factory=time.monotonic)

    def save(self) -> None:
        """End the unit of work: commit what the handler changed, before telling Slack.

        `listener` commits once more when the handler returns, for handlers that never talk
        to Slack after writing; after `save()` that second commit has nothing left to do.
        """
        self.session.commit()

    @property
    def team_id(self) -> str:
        return self.context.team_id or self.context.enterprise_id or ""

    @property
    def user_id(self) -> str:
        return self.context.user_id or ""

    @property
    def channel_id(self) -> str | None:
        return self.context.channel_id


def listener(
    fn: Callable[[Req], None] | None = None, *, writes: bool = True
) -> Callable[..., None]:
    """Turn `fn(req)` into a Bolt listener that runs inside one database unit of work.

    `@listener(writes=False)` marks a handler that only reads (see db.read_only).

    Errors are answered here rather than re-raised: when a listener raises after `ack()`,
    Bolt 1.30 resets the acknowledgement and Slack gets a 404 three seconds later, which
    shows the person a generic failure on top of ours.
    """

    if fn is None:
        return lambda inner: listener(inner, writes=writes)

    def run(ack: Ack, body: dict, client: WebClient, respond: Respond, context: BoltContext):
        session: Session = context["session_factory"]()
        if not writes:
            read_only(session)
        req = Req(ack, body, client, respond, context, session, context["settings"])
        try:
            fn(req)
            session.commit()
        except Exception as error:
            session.rollback()
            message = error_message(error, req.settings.slash_command)
            if ack.response is None:  # not acknowledged yet: the answer can carry the message
                if body.get("type") == "view_submission":
                    ack()
                else:
                    ack(text=message, response_type="ephemeral")
                    return
            tell(req, message)
        finally:
            session.close()

    run.__name__ = fn.__name__
    run.__qualname__ = fn.__qualname__
    return run


def error_message(error: Exception, command: str) -> str:
    """What the person reads: our own words for UserError (naming the slash command as it is
    configured), a reference for anything else."""
    if isinstance(error, UserError):
        return error.text_for(command)
    reference = uuid.uuid4().hex[:8]
    if isinstance(error, OperationalError):  # the database is down or restarting
        log.error("database unavailable (ref %s): %s", reference, error.orig)
        return (
            ":hourglass: I can't reach my database right now, so nothing was saved. "
            f"Please try again in a minute (reference `{reference}`)."
        )
    log.error("unhandled error (ref %s)", reference, exc_info=error)
    return (
        # not "nothing was changed": the error may come after a click was saved
        ":warning: Something went wrong on our side. Please try again; if it keeps "
        f"happening, tell your admin reference `{reference}`."
    )


def tell(req: Req, text: str) -> None:
    """An ephemeral note to the person: via the response URL, else their DM (best effort)."""
    try:
        if req.body.get("response_url"):
            req.respond(text=text, response_type="ephemeral", replace_original=False)
        elif req.user_id:
            req.client.chat_postMessage(channel=req.user_id, text=text)
    except Exception:  # the reply is a courtesy; the log has the cause
        log.warning("could not tell %s about an error", req.user_id, exc_info=True)


def parse_value(req: Req) -> Any:
    """The clicked element's value: JSON where our templates put JSON, else the string."""
    actions = req.body.get("actions") or [{}]
    raw = actions[0].get("value") or ""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def from_view(req: Req) -> bool:
    """True for clicks in App Home or a modal: no channel and no response URL to reply to."""
    return not req.body.get("response_url")


def in_acknowledgement(req: Req) -> bool:
    """True while a slash command is not yet acknowledged and still has time: its reply can
    ride in the acknowledgement, which Slack shows like a post to the response URL, without
    a second HTTP round trip."""
    return (
        bool(req.body.get("command"))
        and req.ack.response is None
        and time.monotonic() - req.started < ACK_BUDGET_SECONDS
    )


def reply(
    req: Req,
    message: dict,
    *,
    replace: bool = False,
    response_url: str | None = None,
    context_hint: str = "",
) -> None:
    """Save the unit of work, then show `message` to the person who acted, where they acted.

    In a channel or DM the reply goes through the response URL (replacing the clicked
    message when `replace`). From App Home there is none, so it goes to the person's DM
    with the bot (or, for a modal, the `response_url` of the message it was opened from).
    If Slack refuses the update (message gone, URL expired, channel
    archived), the person is told in a fresh message how to carry on: whatever they did
    was already saved.
    """
    req.save()
    if in_acknowledgement(req) and response_url is None:
        req.ack(**message, response_type="ephemeral")
        return
    if response_url:  # a modal's submission carries the URL of the message it came from
        respond: Respond | None = Respond(response_url=response_url)
    else:
        respond = None if from_view(req) else req.respond
    if respond is not None:
        response = respond(**message, replace_original=replace, response_type="ephemeral")
        if response is None or response.status_code == 200:
            return
        log.warning("response_url refused the reply (HTTP %s)", response.status_code)
        notice = ":floppy_disk: Saved. I could not update the message, so here it is again."
        message = {**message, "text": notice + " " + message.get("text", "")}
    dm(req, message, context_hint=context_hint)


def dm(req: Req, message: dict, *, context_hint: str = "") -> None:
    """Send `message` to the acting user's DM with the bot; say so in the log if Slack refuses."""
    try:
        req.client.chat_postMessage(channel=req.user_id, **message)
    except SlackApiError as error:
        log.warning(
            "could not DM %s (%s); %s", req.user_id, error.response.get("error"), context_hint
        )
