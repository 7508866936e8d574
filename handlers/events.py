"""Events API listeners: uninstall and token revocation for now."""

from __future__ import annotations

from slack_bolt import App

from bot.config import Settings
from bot.services import workspaces
from handlers.base import Req, listener


@listener
def on_uninstalled(req: Req) -> None:
    req.ack()
    workspaces.mark_uninstalled(req.session, req.team_id)


def register(app: App, settings: Settings) -> None:
    app.event("app_uninstalled")(on_uninstalled)
    app.event("tokens_revoked")(on_uninstalled)
