"""`/mlops export [team]`: the answers and level history as a CSV file in the asker's DM.

The file goes to the person who asked, never to the channel they typed in: notes can be
candid, and a channel may hold people the team would not have chosen to share them with.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.errors import UserError
from bot.services import export as export_service
from bot.services import permissions
from bot.services import teams as team_service
from handlers.base import Req, reply
from handlers.commands import subcommand
from messages import render

log = logging.getLogger(__name__)


@subcommand("export", writes=False, reply_in_ack=False)  # uploads a file: too slow to wait
def export(req: Req, text: str) -> None:
    """Without a name the whole workspace; a name is looked up, never created, never guessed
    from the channel (an export of everything is what `export` alone should mean)."""
    team = None
    if text.strip():
        team, _ = team_service.resolve_team(
            req.session,
            req.team_id,
            text,
            channel_id=req.channel_id,
            user_id=req.user_id,
            create=False,
        )
    team_ids = permissions.exportable_teams(
        req.session, req.client, req.settings, req.team_id, req.user_id, team
    )
    data = export_service.collect(req.session, req.team_id, team, team_ids=team_ids)
    if data.empty:
        reply(req, render("export_empty", team=team, command=req.settings.slash_command))
        return
    content = export_service.encode_csv(export_service.to_csv(data))
    req.save()  # nothing was written; no transaction stays open across the upload
    client = req.client
    try:
        dm = client.conversations_open(users=req.user_id)["channel"]["id"]
        client.files_upload_v2(
            channel=dm,
            content=content,
            filename=export_service.filename(data),
            title=export_service.filename(data),
            initial_comment=render("export_comment", data=data),
        )
    except SlackApiError as error:
        reason = error.response.get("error") or "unknown_error"
        log.warning("export upload to %s failed: %s", req.user_id, reason)
        hint = (
            " The app needs the `files:write` and `im:write` scopes; ask an admin to reinstall it."
            if reason == "missing_scope"
            else " Please try again in a minute."
        )
        raise UserError(f"I could not send you the file (Slack said `{reason}`).{hint}") from None
    reply(req, render("export_sent", data=data))


def register(app: App, settings: Settings) -> None:
    """Nothing to register with Bolt: the subcommand router above is the only entry point."""
