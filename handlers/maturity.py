"""`/mlops model`: which maturity model the workspace uses, and (admins) switching it."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt import App

from bot.config import Settings
from bot.domain import BUILTIN_MODELS, builtin_model
from bot.errors import UserError
from bot.mrkdwn import escape
from bot.services import maturity, permissions
from handlers.base import Req, listener, parse_value, reply
from handlers.commands import subcommand
from handlers.ids import Action
from messages import render

USAGE = "Try `{command} model` to see the model, or `{command} model use microsoft` to switch."


@dataclass(frozen=True)
class ModelRow:
    name: str
    primary: bool
    line: str
    installed: bool = True


def _rows(req: Req, models: maturity.ModelSet) -> list[ModelRow]:
    """The installed models, then the built-ins not installed yet (an admin may pick one)."""
    rows = [ModelRow(m.name, m is models.primary, maturity.describe(m)) for m in models.all]
    names = {m.name for m in models.all}
    rows += [
        ModelRow(name, False, maturity.describe(builtin_model(name)), installed=False)
        for name in BUILTIN_MODELS
        if name not in names
    ]
    return rows


def _is_admin(req: Req) -> bool:
    return permissions.is_admin(req.session, req.client, req.settings, req.team_id, req.user_id)


def _show(req: Req, notice: str | None = None, *, replace: bool = False) -> None:
    models = maturity.for_workspace(req.session, req.team_id)
    message = render(
        "model",
        model=models,
        rows=_rows(req, models),
        admin=_is_admin(req),
        notice=notice,
        command=req.settings.slash_command,
    )
    reply(req, message, replace=replace)


def _switch(req: Req, name: str) -> str:
    permissions.check_may_choose_model(
        req.session,
        req.client,
        req.settings,
        req.team_id,
        req.user_id,
        command=req.settings.slash_command,
    )
    switch = maturity.use(req.session, req.team_id, name, req.user_id)
    if switch.model is switch.previous:
        return f":information_source: {escape(switch.model.title)} is already in use."
    moved = len(switch.changed)
    return (
        f":arrows_counterclockwise: Now using *{escape(switch.model.title)}* (version "
        f"{escape(switch.model.version)}). Every answer is kept. "
        + (
            f"{moved} team{'s have' if moved != 1 else ' has'} a different level in it; "
            "their history records that the model changed, and nobody is announced as moving "
            "up or down."
            if moved
            else "No team's level changed."
        )
        + " Questions new to a team are asked at its next reassessment."
    )


@subcommand("model")
def model(req: Req, text: str) -> None:
    words = text.split()
    if not words:
        _show(req)
        return
    if words[0].lower() == "use" and len(words) == 2:
        _show(req, _switch(req, words[1]))
        return
    raise UserError(USAGE.format(command=req.settings.slash_command))


@listener
def on_use_model(req: Req) -> None:
    req.ack()
    name = parse_value(req)
    if not isinstance(name, str) or not name.strip():
        raise UserError("That button is not one I know; please use a fresh message.")
    _show(req, _switch(req, name), replace=True)


def register(app: App, settings: Settings) -> None:
    for index in range(1, maturity.MAX_MODELS + len(BUILTIN_MODELS) + 1):
        app.action(f"{Action.USE_MODEL}_{index}")(on_use_model)
