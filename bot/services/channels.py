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
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import DigestSubscription, Team

log = logging.getLogger(__name__)


# Answers of conversations.info that settle it: the bot cannot see or use the channel.
NOT_POSTABLE = ("channel_not_found", "missing_scope", "not_in_channel", "method_not_supported")


def can_post(client: WebClient, channel_id: str) -> bool | None:
    """True when the bot can post into `channel_id` later, unprompted; None if Slack can't say.

    Public channels: yes (unless archived). Private channels and group DMs: only when the
    bot is a member; one it is not in is invisible to it (`channel_not_found`), and so is a
    group DM without the `mpim:read` scope. DMs: never a home. None means Slack did not
    answer (rate limited, an outage): the caller should not bind and not blame the channel.
    """
    if not channel_id or channel_id[:1] == "D":
        return False
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        reason = str(error.response.get("error") or "")
        log.info("cannot tell if I can post in %s: %s", channel_id, reason)
        return False if reason.startswith(NOT_POSTABLE) else None
    except OSError as error:
        log.info("cannot tell if I can post in %s: %s", channel_id, error)
        return None
    if info.get("is_archived") or info.get("is_im"):
        return False
    if info.get("is_private") or info.get("is_group") or info.get("is_mpim"):
        return bool(info.get("is_member"))
    return True


def invite_hint(bot_user_id: str | None, channel_id: str) -> str:
    """How a person lets the bot into a private channel (mrkdwn)."""
    me = f"<@{bot_user_id}>" if bot_user_id else "me"
    return f"I can't post in <#{channel_id}> until I'm invited (type `/invite` there, add {me})"


def unknown_hint(channel_id: str) -> str:
    """What to say when Slack could not tell whether the bot can post there (mrkdwn)."""
    return f"Slack did not tell me whether I can post in <#{channel_id}> just now"


# A modal's input errors are plain text: no channel links or mentions there.
MODAL_NOT_INVITED = (
    "I'm not in that private channel. Type /invite there and add me, then save again "
    "(or pick a public channel)."
)
MODAL_UNKNOWN = "Slack did not tell me whether I can post there; please save again."


def announcement_channels(session: Session, team: Team) -> list[str]:
    """Where news of `team` goes: its home channel first, then its workspace's digest
    channels, each once; never another workspace's channels."""
    channels = list(
        session.scalars(
            select(DigestSubscription.channel_id).where(
                DigestSubscription.workspace_id == team.workspace_id
            )
        )
    )
    if team.home_channel_id:
        channels.insert(0, team.home_channel_id)
    return list(dict.fromkeys(channels))
