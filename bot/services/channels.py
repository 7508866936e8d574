"""Where the bot can post on its own: the rule for a team's home channel.

A team's home receives level-change announcements long after the command that named it,
posted by the bot itself. With `chat:write.public` the bot posts into any public channel
without joining; a private channel or group DM exists for it only once a person invites it
(`channel_not_found` otherwise), and a slash command's response URL working there proves
nothing about later posts. So a channel becomes a home only where this says yes.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


def can_post(client: WebClient, channel_id: str) -> bool:
    """True when the bot can post into `channel_id` later, unprompted.

    Public channels: yes (unless archived). Private channels and group DMs: only when the
    bot is a member. DMs: never a home. When Slack cannot say (the channel is invisible to
    the bot, a missing scope, an outage), the answer is no: a home nobody hears from is worse
    than no home.
    """
    if not channel_id or channel_id[:1] == "D":
        return False
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        log.info(
            "cannot tell whether I can post in %s: %s", channel_id, error.response.get("error")
        )
        return False
    if info.get("is_archived") or info.get("is_im"):
        return False
    if info.get("is_private") or info.get("is_group") or info.get("is_mpim"):
        return bool(info.get("is_member"))
    return True


def invite_hint(bot_user_id: str | None, channel_id: str) -> str:
    """How a person lets the bot into a private channel (mrkdwn)."""
    me = f"<@{bot_user_id}>" if bot_user_id else "me"
    return f"I can't post in <#{channel_id}> until I'm invited: type `/invite` there and add {me}"
