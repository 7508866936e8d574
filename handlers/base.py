"""What every listener needs, in one object, inside one unit of work.

Bolt answers Slack as soon as a listener calls `ack()` and keeps running the listener on its
thread pool, so a session opened by a global middleware would be closed under a listener
still at work. Instead `listener(fn)` wraps each handler: it opens the session, runs the
handler, commits, and always closes, on the listener's own thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.config import Settings


@dataclass
class Req:
    """One Slack request as a handler sees it."""

    ack: Ack
    body: dict[str, Any]
    client: WebClient
    respond: Respond
    context: BoltContext
    session: Session
    settings: Settings

    @property
    def team_id(self) -> str:
        return self.context.team_id or self.context.enterprise_id or ""

    @property
    def user_id(self) -> str:
        return self.context.user_id or ""

    @property
    def channel_id(self) -> str | None:
        return self.context.channel_id


def listener(fn: Callable[[Req], None]) -> Callable[..., None]:
    """Turn `fn(req)` into a Bolt listener that runs inside one database unit of work."""

    def run(ack: Ack, body: dict, client: WebClient, respond: Respond, context: BoltContext):
        session: Session = context["session_factory"]()
        try:
            fn(Req(ack, body, client, respond, context, session, context["settings"]))
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    run.__name__ = fn.__name__
    run.__qualname__ = fn.__qualname__
    return run
