"""Who may do what, decided here and nowhere else.

One rule for who is an admin: Slack's workspace admins and owners (users.info, cached for a
few minutes so losing the right takes effect quickly) and the bot admins named in
BOT_ADMINS. A team's owners and the admins manage the team: its name, channel and owners,
its purpose (production, research, ...), and how the bot nudges it. Digests go to
channels, so setting them up is an admin's call.
Exports hold every note, so EXPORT_PERMISSION says who takes them: a team's owners (and the
admins) by default, only admins, or everyone.
"""

from __future__ import annotations

from collections.abc import Collection

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.errors import COMMAND, Forbidden
from bot.models import Team, TeamOwner
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


def check_may_change_purpose(
    session: Session, client: WebClient, settings: Settings, team: Team, user_id: str
) -> None:
    """A team's purpose decides whether it is nudged and how the digest counts it, so only
    its owners and the admins set it (a team nobody owns yet, anyone may claim, as to edit)."""
    owners = _owners(team)
    if not owners or _is_owner_or_admin(session, client, settings, team, user_id):
        return
    names = ", ".join(f"<@{user}>" for user in owners[:5])
    raise Forbidden(
        f"Only the owners of *{escape(team.name)}* ({names}) and workspace admins can say what "
        f"its models are for. Ask one of them, or `{COMMAND} team {escape(team.name)}`."
    )


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


def check_may_manage_evidence(
    session: Session, client: WebClient, settings: Settings, team: Team, user_id: str
) -> None:
    """Only a team's owners and the admins connect or disconnect its tools for evidence."""
    if _is_owner_or_admin(session, client, settings, team, user_id):
        return
    who = ", ".join(f"<@{uid}>" for uid in _owners(team)[:10]) or "nobody yet"
    raise Forbidden(
        f"Only the owners of *{escape(team.name)}* ({who}) and workspace admins can connect or "
        "disconnect its tools. Anyone can look: "
        f"`{COMMAND} evidence {escape(team.name)}`."
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
    _require_admin(
        session,
        client,
        settings,
        workspace_id,
        user_id,
        f"set up digests. Ask one of them to run `{command} digest #channel weekly monday 09:00`.",
    )


def _require_admin(
    session: Session,
    client: WebClient,
    settings: Settings,
    workspace_id: str,
    user_id: str,
    what: str,
) -> None:
    """Pass for an admin; otherwise refuse, saying who may `what` (it ends the sentence)."""
    if is_admin(session, client, settings, workspace_id, user_id):
        return
    raise Forbidden(
        f"Only workspace admins and owners, or the bot admins named in BOT_ADMINS, can {what}"
    )


def exportable_teams(
    session: Session,
    client: WebClient,
    settings: Settings,
    workspace_id: str,
    user_id: str,
    team: Team | None,
) -> Collection[int] | None:
    """What `user_id` may export under EXPORT_PERMISSION: None for everything asked for
    (`team`, or the whole workspace), else the ids of the teams they own. Raises Forbidden,
    naming who may, when that is nothing. Slack is asked (users.info) only when it decides.
    """
    permission = settings.export_permission
    if permission == "everyone":
        return None
    if permission == "admins":
        if is_admin(session, client, settings, workspace_id, user_id):
            return None
        raise Forbidden(
            "Only workspace admins and the bot's admins can export the maturity data here. "
            f"Ask one of them; `{COMMAND} status` shows any team's answers."
        )
    owned = set(
        session.scalars(
            select(TeamOwner.team_id).where(
                TeamOwner.workspace_id == workspace_id, TeamOwner.user_id == user_id
            )
        )
    )
    if team is not None and team.id in owned:
        return None
    if team is None:
        every = set(session.scalars(select(Team.id).where(Team.workspace_id == workspace_id)))
        if owned >= every:  # they own every team (or there is none: "nothing to export yet")
            return None
    if is_admin(session, client, settings, workspace_id, user_id):
        return None
    if team is not None:
        who = ", ".join(f"<@{uid}>" for uid in _owners(team)[:5]) or "nobody yet"
        raise Forbidden(
            f"Only the owners of *{escape(team.name)}* ({who}) and workspace admins can export "
            f"it. `{COMMAND} status` shows its answers."
        )
    if not owned:
        raise Forbidden(
            "Only team owners and workspace admins can export here, and you don't own a team. "
            f"`{COMMAND} export <team>` works for a team you own."
        )
    return owned


def check_may_choose_model(
    session: Session,
    client: WebClient,
    settings: Settings,
    workspace_id: str,
    user_id: str,
    *,
    command: str,
) -> None:
    """The maturity model is the whole workspace's yardstick: only admins switch it."""
    _require_admin(
        session,
        client,
        settings,
        workspace_id,
        user_id,
        f"switch the maturity model. `{command} model` shows which one is in use.",
    )
