"""Teams: the `/mlops team` modal, the `/mlops teams` overview and its pages, App Home."""

from __future__ import annotations

import json
import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.errors import Forbidden, UserError
from bot.mrkdwn import escape, plain
from bot.services import channels, overview, permissions
from bot.services import teams as team_service
from handlers.base import Req, listener, parse_value, reply
from handlers.commands import subcommand
from handlers.home import publish_home
from handlers.ids import Action, Block, Callback
from messages import render

log = logging.getLogger(__name__)


def check_may_edit(req: Req, team) -> None:
    permissions.check_may_edit_team(req.session, req.client, req.settings, team, req.user_id)


def _home_team(req: Req):
    """The team whose home this channel is, if it is one team's and the person may edit it
    (anyone else gets the "New team" form, as in any other channel)."""
    if not req.channel_id:
        return None
    bound = team_service.teams_in_channel(req.session, req.team_id, req.channel_id)
    if len(bound) != 1:
        return None
    try:
        check_may_edit(req, bound[0])
    except Forbidden:
        return None
    return bound[0]


def _team_form(req: Req, existing, name: str, channel_id: str, origin: str) -> dict:
    """The create/edit form: an existing team's, or a new one's with `name` and the channel.
    `origin` is the channel the command was typed in."""
    metadata = json.dumps({"team_id": existing.id if existing else None, "channel_id": origin})
    return render(
        "team_modal",
        team=existing,
        name=existing.name if existing else name,
        channel_id=(existing.home_channel_id if existing else channel_id) or "",
        owners=[o.user_id for o in existing.owners] if existing else [req.user_id],
        metadata=metadata,
    )


@subcommand("team")  # the admin check may refresh the users.info cache
def team(req: Req, text: str) -> None:
    existing = None
    name = ""
    if text.strip():
        name = team_service.clean_team_name(text)
        existing = team_service.find_team(req.session, req.team_id, name)
        if existing is not None:
            check_may_edit(req, existing)
    else:  # in a team's home channel, the team means that team, as every other command does
        existing = _home_team(req)
    view = _team_form(req, existing, name, req.channel_id or "", req.channel_id or "")
    try:
        req.client.views_open(trigger_id=req.body["trigger_id"], view=view)
    except SlackApiError as error:
        if error.response.get("error") == "expired_trigger_id":
            raise UserError("Slack took too long to open the form; please try again.") from None
        raise


def _shown(req: Req, error: UserError) -> str:
    """An error as a modal field shows it: plain text (Slack shows no mrkdwn there, so
    `Fraud ML` would keep its backticks), at most 150 characters."""
    return plain(error.text_for(req.settings.slash_command))[:150]


def _input(values: dict, block: str, action: str) -> dict:
    return (values.get(block) or {}).get(action) or {}


@listener
def on_team_submitted(req: Req) -> None:
    view = req.body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    raw_name = _input(values, Block.TEAM_NAME, Action.TEAM_NAME).get("value") or ""
    channel = _input(values, Block.TEAM_CHANNEL, Action.TEAM_CHANNEL).get("selected_conversation")
    owners = _input(values, Block.TEAM_OWNERS, Action.TEAM_OWNERS).get("selected_users") or []
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    try:
        name = team_service.clean_team_name(raw_name)
    except UserError as error:
        req.ack(response_action="errors", errors={Block.TEAM_NAME: _shown(req, error)})
        return
    if not owners:
        req.ack(response_action="errors", errors={Block.TEAM_OWNERS: "Pick at least one owner."})
        return
    postable = channels.can_post(req.client, channel) if channel else True
    if not postable:
        why = channels.MODAL_NOT_INVITED if postable is False else channels.MODAL_UNKNOWN
        req.ack(response_action="errors", errors={Block.TEAM_CHANNEL: why})
        return
    team_id = meta.get("team_id")
    clash = team_service.find_team(req.session, req.team_id, name)
    if clash is not None and clash.id != team_id:
        req.ack(
            response_action="errors",
            errors={Block.TEAM_NAME: f"There is already a team called {clash.name}."[:150]},
        )
        return
    if team_id:
        existing = team_service.get_team(req.session, req.team_id, int(team_id))
        if existing is None:
            req.ack(response_action="errors", errors={Block.TEAM_NAME: "That team is gone."})
            return
        try:
            check_may_edit(req, existing)
        except Forbidden as error:
            req.ack(response_action="errors", errors={Block.TEAM_NAME: _shown(req, error)})
            return
        saved = team_service.update_team(req.session, existing, name, channel, owners)
        verb = "Saved"
    else:
        saved = team_service.create_team(
            req.session, req.team_id, name, req.user_id, home_channel_id=channel, owners=owners
        )
        verb = "Created"
    req.save()  # before the modal closes: a closed form means the team is kept
    text = f":white_check_mark: {verb} team *{escape(saved.name)}*" + (
        f" with home channel <#{saved.home_channel_id}>." if saved.home_channel_id else "."
    )
    # The modal's own answer is the one place sure to reach the person: an ephemeral needs
    # the bot to be in the channel the modal was opened from, which it often is not.
    req.ack(
        response_action="update",
        view=render("notice_modal", title=f"Team {verb.lower()}", text=text),
    )


@listener(writes=False)
def on_new_team(req: Req) -> None:
    """ "New team" in a team's form: the same modal becomes a blank form for a new team. Its
    channel starts empty when the channel is already that team's home (a channel with two
    teams would need a name in every command)."""
    req.ack()
    view = req.body.get("view") or {}
    if not view.get("id"):  # a click from a form Slack would always name: nothing to update
        return
    try:
        origin = str(json.loads(view.get("private_metadata") or "{}").get("channel_id") or "")
    except (ValueError, AttributeError):
        origin = ""
    channel = origin
    if channel and team_service.teams_in_channel(req.session, req.team_id, channel):
        channel = ""
    form = _team_form(req, None, "", channel, origin)
    req.client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=form)


@subcommand("teams", writes=False)
def teams(req: Req, text: str) -> None:
    page = int(text) if text.strip().isdigit() else 1
    data = overview.teams_overview(req.session, req.team_id, page)
    reply(req, render("teams", command=req.settings.slash_command, **vars(data)))


@listener(writes=False)
def on_teams_page(req: Req) -> None:
    req.ack()
    value = parse_value(req)
    page = int(value) if str(value).isdigit() else 1
    data = overview.teams_overview(req.session, req.team_id, page)
    reply(req, render("teams", command=req.settings.slash_command, **vars(data)), replace=True)


@listener(writes=False)
def on_home_opened(req: Req) -> None:
    req.ack()
    event = req.body.get("event") or {}
    if event.get("tab", "home") != "home":
        return
    publish_home(req, event.get("user") or req.user_id)


def register(app: App, settings: Settings) -> None:
    app.view(Callback.TEAM_MODAL)(on_team_submitted)
    app.action(Action.NEW_TEAM)(on_new_team)
    app.action(f"{Action.TEAMS_PAGE}_prev")(on_teams_page)
    app.action(f"{Action.TEAMS_PAGE}_next")(on_teams_page)
    app.event("app_home_opened")(on_home_opened)
