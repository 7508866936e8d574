"""`/mlops report [#channel]`: the heatmap and the trend as pictures in Slack.

Without a channel the pictures go to the asker, in their DM with the bot, like an export:
they show every team's answers (no notes), which `/mlops teams` shows everyone anyway, but
a channel is the admins' to fill. With a channel (admins only) they are posted there.
Uploads go through files_upload_v2, a message with at most MAX_FILES files each.
"""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.errors import UserError
from bot.models import utcnow
from bot.pictures import Picture
from bot.services import digests, permissions
from bot.services import pictures as picture_service
from handlers.base import Req, reply
from handlers.commands import subcommand
from messages import render

log = logging.getLogger(__name__)

MAX_FILES = 10
"""Files per upload message (files.completeUploadExternal takes a list; we keep it short)."""


def upload(client: WebClient, channel: str, pictures: list[Picture], comment: str) -> list[str]:
    """Share `pictures` into `channel` with `comment` on the first message; their file ids."""
    ids: list[str] = []
    for start in range(0, len(pictures), MAX_FILES):
        batch = pictures[start : start + MAX_FILES]
        response = client.files_upload_v2(
            channel=channel,
            file_uploads=[
                {
                    "content": p.data,
                    "filename": p.filename,
                    "title": p.title,
                    "alt_txt": p.alt_text,
                }
                for p in batch
            ],
            initial_comment=comment if start == 0 else None,
        )
        ids += [f["id"] for f in response.get("files") or []]
    return ids


def upload_error(error: SlackApiError, where: str) -> UserError:
    """What to tell the person when Slack refused an upload."""
    reason = error.response.get("error") or "unknown_error"
    hints = {
        "missing_scope": " The app needs the `files:write` scope; ask an admin to reinstall it.",
        "not_in_channel": f" Invite me to {where} first (type `/invite` there).",
        "channel_not_found": f" Invite me to {where} first (type `/invite` there).",
        "is_archived": f" {where} is archived.",
    }
    hint = hints.get(reason, " Please try again in a minute.")
    return UserError(f"I could not post the pictures (Slack said `{reason}`).{hint}")


# Not read-only: asking whether someone is an admin may refresh the cached Slack user.
@subcommand("report", reply_in_ack=False)  # renders and uploads: too slow to wait
def report(req: Req, text: str) -> None:
    channel = None
    if text.strip():
        match = digests.CHANNEL_TOKEN.fullmatch(text.strip().split()[0])
        if not match or len(text.split()) > 1:
            raise UserError(
                f"Use `{req.settings.slash_command} report` for the pictures in your DM, or "
                f"`{req.settings.slash_command} report #channel` (admins) to post them there. "
                "Type `#` and pick the channel from Slack's list."
            )
        channel = match.group(1)
        if not permissions.is_admin(
            req.session, req.client, req.settings, req.team_id, req.user_id
        ):
            raise UserError(
                "Only workspace admins and owners, or the bot admins named in BOT_ADMINS, post "
                f"the report in a channel. `{req.settings.slash_command} report` sends it to you."
            )
    rows = picture_service.heatmap_rows(req.session, req.team_id)
    weeks = picture_service.trend_weeks(req.session, req.team_id, utcnow())
    checklist = picture_service.model(req.session, req.team_id)
    req.save()  # no transaction stays open while drawing and uploading
    made = picture_service.draw_report(rows, weeks, checklist=checklist)
    if made.teams == 0:
        reply(req, render("notice", text="No teams yet, so there is nothing to draw."))
        return
    where = f"<#{channel}>" if channel else "your DM with me"
    comment = render("report_comment", report=made)
    try:
        target = channel or req.client.conversations_open(users=req.user_id)["channel"]["id"]
        try:
            upload(req.client, target, made.pictures, comment)
        except SlackApiError as error:
            # Sharing a file needs membership even where chat:write.public posts; a public
            # channel can be joined without an invitation (channels:join).
            if error.response.get("error") != "not_in_channel" or target[:1] != "C":
                raise
            req.client.conversations_join(channel=target)
            upload(req.client, target, made.pictures, comment)
    except SlackApiError as error:
        log.warning("report upload to %s failed: %s", channel or req.user_id, error)
        raise upload_error(error, where) from None
    reply(req, render("report_sent", report=made, where=where))


def register(app: App, settings: Settings) -> None:
    """Nothing to register with Bolt: the subcommand router above is the only entry point."""
