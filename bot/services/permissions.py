"""Who may do what, decided here and nowhere else.

One rule for who is an admin: Slack's workspace admins and owners (users.info, cached for a
few minutes so losing the right takes effect quickly) and the bot admins named in
BOT_ADMINS. A team's owners and the admins manage the team: its name, channel and owners,
and how the bot nudges it. Digests go to channels, so setting them up is an admin's call.
"""

from __future__ import annotations

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.errors import Forbidden
from bot.models import Team
from bot.mrkdwn import escape
from bot.services import people


def is_admin(
    session: Session, client: WebClient, settings: Settings, workspace_id: str, user_id: str
) -> bool:
    """Workspace admins and owners (per Slack), and the bot admins of BOT_ADMINS."""
    if user_id in settings.admin_user_ids:
        return True
    row = people.get(session, client, workspace_id, user_id, max_age=people.ADMIN_TTL)
    return bool(row and row.is_admin and not row.deleted)


def _owners(team: Team) -> list[str]:
    return [owner.user_id for owner in team.owners]


def _is_owner_or_admin(
    session: Session, client: WebClient, settings: Settings, team: Team, user_id: str
) -> bool:
    """Owners first: they need no users.info call."""
    return user_id in _owners(team) or is_admin(
        session, client, settings, team.workspace_id, user_id
    )


def check_may_edit_team(
    session: Session, client: WebClient, settings: Settings, team: Team, user_id: str
) -> None:
    """A team's owners and the admins edit it; a team nobody owns yet, anyone may claim."""
    owners = _owners(team)
    if not owners or _is_owner_or_admin(session, client, settings, team, user_id):
        return
    names = ", ".join(f"<@{user}>" for user in owners[:5])
    raise Forbidden(f"Only the team's owners ({names}) and workspace admins can edit this team.")


def check_may_change_reminders(
    session: Session, client: WebClient, settings: Settings, team: Team, user_id: str
) -> None:
    """Only a team's owners and the admins change how the bot nudges that team."""
    if _is_owner_or_admin(session, client, settings, team, user_id):
        return
    who = ", ".join(f"<@{uid}>" for uid in _owners(team)[:10]) or "nobody yet"
    raise Forbidden(
        f"Only the owners of *{escape(team.name)}* ({who}) and workspace admins can change its "
        "reminders. Ask one of them."
    )


def check_may_set_up_digests(
    session: Session,
    client: WebClient,
    settings: Settings,
    workspace_id: str,
    user_id: str,
    *,
    command: str,
) -> None:
    """Digests post to channels: only admins subscribe a channel."""
    if is_admin(session, client, settings, workspace_id, user_id):
        return
    raise Forbidden(
        "Only workspace admins and owners, or the bot admins named in BOT_ADMINS, can set "
        f"up digests. Ask one of them to run `{command} digest #channel weekly monday 09:00`."
    )
