"""Evidence in Slack: `connect`, `disconnect`, `evidence`, the Refresh, Connect tools and
Dismiss buttons, and their two modals.

Listeners parse, call the evidence core (bot.services.evidence) or the view built on it
(bot.services.evidence_view), render and reply. Owners and workspace admins connect,
disconnect and dismiss (permissions.check_may_manage_evidence); everyone may look and
refresh, and a refresh is asked of the worker at most once per five minutes per team.
"""

from __future__ import annotations

import json
import logging
import re

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.domain import DEFAULT_CHECKLIST
from bot.errors import COMMAND, Forbidden, NotFound, UserError
from bot.models import Team
from bot.mrkdwn import escape
from bot.services import evidence, evidence_requests, evidence_view, permissions
from bot.services import teams as team_service
from handlers.base import Req, from_view, listener, parse_value, reply
from handlers.commands import subcommand
from handlers.ids import Action, Block, Callback
from messages import render

log = logging.getLogger(__name__)

MODAL_ERROR_MAX = 150  # Slack shows at most this much of a field's error


def _named_team(req: Req, name: str, example: str) -> Team:
    team, _ = team_service.resolve_team(
        req.session,
        req.team_id,
        name,
        channel_id=req.channel_id,
        user_id=req.user_id,
        create=False,
        example=example,
    )
    return team


def _team_by_id(req: Req, value: object) -> Team:
    team_id = value.get("team_id") if isinstance(value, dict) else value
    team = team_service.get_team(req.session, req.team_id, team_id)
    if team is None:
        raise NotFound(f"That team no longer exists. `{COMMAND} teams` lists the teams there are.")
    return team


def _check_may_manage(req: Req, team: Team) -> None:
    permissions.check_may_manage_evidence(req.session, req.client, req.settings, team, req.user_id)


def evidence_message(req: Req, team: Team, notice: str | None = None) -> dict:
    view = evidence_view.evidence_for(req.session, req.team_id, team)
    return render("evidence", view=view, notice=notice, command=req.settings.slash_command)


def _where(kind: str) -> str:
    return evidence_requests.KIND_LABELS[kind]


# --- slash subcommands ---------------------------------------------------------------


@subcommand("connect")  # the permission check may refresh the users.info cache
def connect(req: Req, text: str) -> None:
    request = evidence_requests.parse_connect(text)
    team = _named_team(
        req, request.team, f"{COMMAND} connect Fraud ML mlflow https://mlflow.example.com"
    )
    _check_may_manage(req, team)
    source = evidence.connect_source(
        req.session, req.settings, team, request.kind, request.url, request.options, req.user_id
    )
    options = ", ".join(f"{key} `{escape(value)}`" for key, value in source.options.items())
    reply(
        req,
        render(
            "notice",
            text=f":electric_plug: Connected *{escape(team.name)}*'s {_where(request.kind)}"
            f" `{escape(source.url)}`" + (f" ({options})" if options else "") + ". I read it "
            f"within a few minutes; `{req.settings.slash_command} evidence {escape(team.name)}` "
            "shows what I found.",
        ),
    )


@subcommand("disconnect")
def disconnect(req: Req, text: str) -> None:
    request = evidence_requests.parse_disconnect(text)
    team = _named_team(req, request.team, f"{COMMAND} disconnect Fraud ML mlflow")
    _check_may_manage(req, team)
    evidence.disconnect_source(req.session, team, request.kind)
    reply(
        req,
        render(
            "notice",
            text=f":electric_plug: Disconnected *{escape(team.name)}*'s {_where(request.kind)};"
            " what it showed is forgotten.",
        ),
    )


@subcommand("evidence", writes=False)
def show_evidence(req: Req, text: str) -> None:
    team = _named_team(req, text, f"{COMMAND} evidence Fraud ML")
    reply(req, evidence_message(req, team))


# --- buttons ------------------------------------------------------------------------


@listener(writes=False)
def on_open_evidence(req: Req) -> None:
    """In a channel the evidence is a reply; from App Home or the level card's modal, a modal."""
    req.ack()
    message = evidence_message(req, _team_by_id(req, parse_value(req)))
    if from_view(req) and req.body.get("trigger_id"):
        _open(req, render("evidence_modal", blocks=message["blocks"]))
        return
    reply(req, message)


@listener
def on_refresh(req: Req) -> None:
    req.ack()
    team = _team_by_id(req, parse_value(req))
    evidence.request_refresh(req.session, team)
    notice = (
        ":arrows_counterclockwise: Refresh asked for: I read the tools again within a few "
        "minutes. Open this again (or click Refresh after five minutes) to see what changed."
    )
    reply(req, evidence_message(req, team, notice=notice), replace=True)


@listener
def on_connect_tools(req: Req) -> None:
    req.ack()
    team = _team_by_id(req, parse_value(req))
    _check_may_manage(req, team)
    sources = {str(s.kind): s for s in evidence.sources_for_team(req.session, team)}
    view = render(
        "connect_modal",
        team=team,
        mlflow=sources.get(evidence_requests.MLFLOW),
        repo=sources.get(evidence_requests.REPO),
        metadata=json.dumps({"team_id": team.id}),
    )
    _open(req, view)


def _open(req: Req, view: dict) -> None:
    """Open `view`; on top of the modal clicked in (the level card from App Home), if any."""
    inside_modal = (req.body.get("view") or {}).get("type") == "modal"
    show = req.client.views_push if inside_modal else req.client.views_open
    try:
        show(trigger_id=req.body["trigger_id"], view=view)
    except SlackApiError as error:
        if error.response.get("error") == "expired_trigger_id":
            raise UserError("Slack took too long to open the form; please try again.") from None
        raise


def _value(values: dict, name: str) -> str:
    return (((values.get(name) or {}).get(name) or {}).get("value") or "").strip()


def _meta(req: Req) -> dict:
    view = req.body.get("view") or {}
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}


def _field_error(req: Req, block: str, error: UserError) -> None:
    """A refusal under the field it concerns: a modal's errors are plain text, so the message
    loses its mrkdwn (mentions become "the owners")."""
    if isinstance(error, Forbidden):
        text = "Only the team's owners and workspace admins can change its tools or dismiss."
    else:
        text = error.text_for(req.settings.slash_command)
        text = re.sub(r"[*`]|:[a-z0-9_+-]+: ", "", text)
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    req.ack(response_action="errors", errors={block: text[:MODAL_ERROR_MAX]})


@listener
def on_connect_submitted(req: Req) -> None:
    """Each address given is connected (unless unchanged); one emptied is disconnected."""
    values = ((req.body.get("view") or {}).get("state") or {}).get("values") or {}
    team = team_service.get_team(req.session, req.team_id, _meta(req).get("team_id"))
    if team is None:
        req.ack(
            response_action="errors",
            errors={Block.CONNECT_MLFLOW_URL: "That team no longer exists."},
        )
        return
    try:
        _check_may_manage(req, team)
    except UserError as error:
        _field_error(req, Block.CONNECT_MLFLOW_URL, error)
        return
    current = {str(s.kind): s for s in evidence.sources_for_team(req.session, team)}
    forms = (
        (
            evidence_requests.MLFLOW,
            Block.CONNECT_MLFLOW_URL,
            {
                "experiments": _value(values, Action.CONNECT_EXPERIMENTS),
                "models": _value(values, Action.CONNECT_MODELS),
            },
        ),
        (
            evidence_requests.REPO,
            Block.CONNECT_REPO_URL,
            {
                "branch": _value(values, Action.CONNECT_BRANCH),
                "path": _value(values, Action.CONNECT_PATH),
            },
        ),
    )
    done: list[str] = []
    for kind, block, options in forms:
        url = evidence_requests.unwrap_links(_value(values, block))
        existing = current.get(kind)
        try:
            if not url:
                if existing is not None:
                    evidence.disconnect_source(req.session, team, kind)
                    done.append(f"disconnected the {_where(kind)}")
                continue
            url = evidence_requests.check_address(url)
            wanted = {key: value for key, value in options.items() if value}
            if existing is not None and existing.url == url and existing.options == wanted:
                continue
            evidence.connect_source(req.session, req.settings, team, kind, url, wanted, req.user_id)
            done.append(f"connected the {_where(kind)}")
        except UserError as error:
            req.session.rollback()
            _field_error(req, block, error)
            return
    req.save()  # before the modal closes: a closed form means it was kept
    text = (
        f":electric_plug: *{escape(team.name)}*: " + ", ".join(done) + ". I read new tools within"
        f" a few minutes; `{req.settings.slash_command} evidence {escape(team.name)}` shows what"
        " I found."
        if done
        else f"Nothing changed for *{escape(team.name)}*."
    )
    req.ack(response_action="update", view=render("notice_modal", title="Tools saved", text=text))


@listener
def on_dismiss(req: Req) -> None:
    req.ack()
    value = parse_value(req)
    team = _team_by_id(req, value)
    _check_may_manage(req, team)
    capability_id = str(value.get("capability_id") if isinstance(value, dict) else "")
    row = evidence_view.evidence_for(req.session, req.team_id, team).row(capability_id)
    if row is None or not row.open_contradiction:
        raise NotFound(
            "There is no contradiction to dismiss there any more: the answer or the evidence "
            f"changed. `{COMMAND} evidence {escape(team.name)}` shows the current state."
        )
    metadata = json.dumps({"team_id": team.id, "capability_id": capability_id})
    view = render(
        "dismiss_modal",
        team=team,
        capability=row.capability,
        summary=row.evidence.summary,
        metadata=metadata,
        reason_max=evidence_view.REASON_MAX,
    )
    _open(req, view)


@listener
def on_dismiss_submitted(req: Req) -> None:
    values = ((req.body.get("view") or {}).get("state") or {}).get("values") or {}
    meta = _meta(req)
    reason = _value(values, Block.DISMISS_REASON)
    team = team_service.get_team(req.session, req.team_id, meta.get("team_id"))
    capability_id = str(meta.get("capability_id") or "")
    try:
        if team is None or capability_id not in DEFAULT_CHECKLIST.ids:
            raise NotFound("This form is outdated; please open the evidence again.")
        _check_may_manage(req, team)
        dismissal = evidence_view.dismiss(req.session, team, capability_id, reason, req.user_id)
    except UserError as error:
        _field_error(req, Block.DISMISS_REASON, error)
        return
    req.save()
    title = DEFAULT_CHECKLIST.capability(dismissal.capability_id).title
    text = (
        f":speech_balloon: Dismissed the contradiction on *{escape(title)}* for "
        f"*{escape(team.name)}*. The reason is kept in `{req.settings.slash_command} history "
        f"{escape(team.name)}`; the flag comes back if the answer changes."
    )
    req.ack(response_action="update", view=render("notice_modal", title="Dismissed", text=text))


def register(app: App, settings: Settings) -> None:
    app.action(Action.OPEN_EVIDENCE)(on_open_evidence)
    app.action(Action.EVIDENCE_REFRESH)(on_refresh)
    app.action(Action.CONNECT_TOOLS)(on_connect_tools)
    app.action(Action.EVIDENCE_DISMISS)(on_dismiss)
    app.view(Callback.CONNECT_MODAL)(on_connect_submitted)
    app.view(Callback.DISMISS_MODAL)(on_dismiss_submitted)
