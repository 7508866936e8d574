"""Teams: the `/mlops team` modal, the `/mlops teams` overview and its pages, App Home."""

from __future__ import annotations

import json
import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.domain import Purpose, parse_purpose
from bot.errors import Forbidden, UserError
from bot.mrkdwn import escape, plain
from bot.services import channels, overview, permissions, purposes
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
        purpose=existing.purpose if existing else Purpose.PRODUCTION,
        nudges_anyway=bool(existing and existing.nudges_anyway),
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
    chosen = _input(values, Block.TEAM_PURPOSE, Action.TEAM_PURPOSE).get("selected_option")
    chosen = chosen if isinstance(chosen, dict) else {}
    ticked = _input(values, Block.TEAM_NUDGES, Action.TEAM_NUDGES).get("selected_options") or []
    nudges_anyway = any(isinstance(o, dict) and o.get("value") == "on" for o in ticked)
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
    purpose: Purpose | None = None  # a form opened before purposes existed has no such field
    if Block.TEAM_PURPOSE in values:
        try:
            purpose = Purpose(chosen.get("value"))
        except ValueError:
            req.ack(
                response_action="errors",
                errors={Block.TEAM_PURPOSE: "Pick what the team's models are for."},
            )
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
    if purpose is not None:
        purposes.set_purpose(req.session, saved, purpose, req.user_id, nudges_anyway=nudges_anyway)
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


def _overview_args(text: str) -> tuple[Purpose | None, int]:
    """`/mlops teams [purpose] [page]`: e.g. `teams research`, `teams 2`, `teams poc 2`."""
    words = text.split()
    page = int(words.pop()) if words and words[-1].isdigit() else 1
    if not words or " ".join(words).lower() in ("all", "every", "any"):
        return None, page
    purpose = parse_purpose(" ".join(words))
    if purpose is None:
        raise UserError(
            f"I don't know the purpose `{escape(' '.join(words)[:40])}`. Try `teams production`,"
            " `teams research`, `teams poc` or `teams single-use`, or `teams` for every team."
        )
    return purpose, page


def _show_overview(req: Req, purpose: Purpose | None, page: int, *, replace: bool) -> None:
    data = overview.teams_overview(req.session, req.team_id, page, purpose)
    reply(req, render("teams", command=req.settings.slash_command, **vars(data)), replace=replace)


@subcommand("teams", writes=False)
def teams(req: Req, text: str) -> None:
    purpose, page = _overview_args(text)
    _show_overview(req, purpose, page, replace=False)


def _purpose_or_none(value: object) -> Purpose | None:
    try:
        return Purpose(value)
    except ValueError:
        return None


@listener(writes=False)
def on_teams_page(req: Req) -> None:
    req.ack()
    value = parse_value(req)
    if isinstance(value, dict):  # {"page": 2, "purpose": "research"}
        page = value.get("page")
        purpose = _purpose_or_none(value.get("purpose"))
    else:  # messages sent before the filter carry the bare page number
        page, purpose = value, None
    page = int(page) if str(page).isdigit() else 1
    _show_overview(req, purpose, page, replace=True)


def _selected(req: Req) -> object:
    """The value of the option picked in a select menu (None if there is none)."""
    actions = req.body.get("actions") or [{}]
    option = actions[0].get("selected_option")
    return option.get("value") if isinstance(option, dict) else None


@listener(writes=False)
def on_teams_filter(req: Req) -> None:
    req.ack()
    _show_overview(req, _purpose_or_none(_selected(req)), 1, replace=True)


@listener(writes=False)
def on_home_opened(req: Req) -> None:
    req.ack()
    event = req.body.get("event") or {}
    if event.get("tab", "home") != "home":
        return
    publish_home(req, event.get("user") or req.user_id)


@listener(writes=False)
def on_home_filter(req: Req) -> None:
    req.ack()
    publish_home(req, req.user_id, _purpose_or_none(_selected(req)))


def register(app: App, settings: Settings) -> None:
    app.view(Callback.TEAM_MODAL)(on_team_submitted)
    app.action(Action.NEW_TEAM)(on_new_team)
    app.action(f"{Action.TEAMS_PAGE}_prev")(on_teams_page)
    app.action(f"{Action.TEAMS_PAGE}_next")(on_teams_page)
    app.action(Action.TEAMS_FILTER)(on_teams_filter)
    app.event("app_home_opened")(on_home_opened)
    app.action(Action.HOME_FILTER)(on_home_filter)
