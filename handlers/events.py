"""Events API listeners: uninstall and token revocation.

Bolt runs only the first listener that matches an event, so these do what
`enable_token_revocation_listeners()` would (forget the token) as well as our own part
(cancel what is queued, keep the data for the retention period).
"""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.config import Settings
from bot.services import workspaces
from handlers.base import Req, listener

log = logging.getLogger(__name__)


@listener
def on_uninstalled(req: Req) -> None:
    req.ack()
    cancelled = workspaces.mark_uninstalled(req.session, req.team_id)
    log.info("workspace %s uninstalled the app; %s deliveries cancelled", req.team_id, cancelled)


@listener
def on_tokens_revoked(req: Req) -> None:
    req.ack()
    tokens = (req.body.get("event") or {}).get("tokens") or {}
    if tokens.get("bot"):  # without its bot token the app can do nothing there
        cancelled = workspaces.mark_uninstalled(req.session, req.team_id)
        log.info("bot token revoked in %s; %s deliveries cancelled", req.team_id, cancelled)


def register(app: App, settings: Settings) -> None:
    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_tokens_revoked)
