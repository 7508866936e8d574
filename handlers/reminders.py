"""Reminders, nudges and digests as people control them: `/mlops digest`, `/mlops remind`,
`/mlops snooze`, and the Snooze, Stop and overview buttons on what the bot sends.

("Done, update my answers" and "Reassess" carry the assessment flow's own action ids; that
flow handles them.)
"""

from __future__ import annotations

from datetime import timedelta

from slack_bolt import App

from bot.config import Settings
from bot.errors import COMMAND, NotFound, UserError
from bot.models import REMINDER_CADENCES, Cadence, Team, utcnow
from bot.mrkdwn import escape
from bot.scheduling import zone
from bot.services import digests, nudges, people, permissions
from bot.services.teams import get_team
from handlers.base import Req, listener, parse_value, reply
from handlers.commands import ROUTES, subcommand
from handlers.ids import DeliveryAction
from messages import render


def _notice(text: str, hint: str | None = None) -> dict:
    return render("delivery_notice", text=text, hint=hint)


def _user_zone(req: Req) -> str | None:
    person = people.get(req.session, req.client, req.team_id, req.user_id)
    return person.timezone if person is not None and zone(person.timezone) else None


def _check_may_change(req: Req, team: Team) -> None:
    permissions.check_may_change_reminders(req.session, req.client, req.settings, team, req.user_id)


def _when(moment, tz: str | None) -> str:
    return moment.astimezone(zone(tz) or zone("UTC")).strftime("%a %d %b %Y")


# ---------------------------------------------------------------------------- digests


@subcommand("digest")
def digest(req: Req, text: str) -> None:
    command = req.settings.slash_command
    permissions.check_may_set_up_digests(
        req.session, req.client, req.settings, req.team_id, req.user_id, command=command
    )
    if text.strip().lower() in ("", "list", "status"):
        subs = digests.subscriptions(req.session, req.team_id)
        lines = [f"• <#{sub.channel_id}>: {digests.describe(sub)}" for sub in subs]
        text_out = "*Digests*\n" + "\n".join(lines) if lines else "No channel gets the digest yet."
        reply(req, _notice(text_out, digests.USAGE.format(command=command)))
        return
    request = digests.parse_request(text, command)
    sub = digests.subscribe(
        req.session, req.team_id, req.user_id, request, default_timezone=_user_zone(req)
    )
    if sub is None:
        reply(req, _notice(f"<#{request.channel_id}> will get no more digests."))
        return
    reply(
        req,
        _notice(
            f":newspaper: <#{sub.channel_id}> gets the digest {digests.describe(sub)}.",
            "Level changes are announced there too, as they happen.",
        ),
    )


# ---------------------------------------------------------------------------- reminders


@subcommand("remind")
def remind(req: Req, text: str) -> None:
    command = req.settings.slash_command
    words = text.split()
    usage = f"`{command} remind {'|'.join(REMINDER_CADENCES)} [team]`"
    if words and words[0].lower() not in REMINDER_CADENCES:
        raise UserError(f"I don't understand `{escape(words[0][:40])}`. Use {usage}.")
    name = " ".join(words[1:])
    team = nudges.resolve_team(req.session, req.team_id, req.user_id, req.channel_id, name)
    if not words:
        cadence, snoozed_until = nudges.current_setting(req.session, team)
        state = f", snoozed until {_when(snoozed_until, None)}" if snoozed_until else ""
        reply(
            req, _notice(f"*{escape(team.name)}* is nudged {cadence}{state}.", f"Change: {usage}")
        )
        return
    _check_may_change(req, team)
    cadence = Cadence(words[0].lower())
    nudges.set_cadence(req.session, team, req.user_id, cadence)
    if cadence == Cadence.OFF:
        message = f"No more nudges about *{escape(team.name)}*."
    else:
        message = (
            f"*{escape(team.name)}*'s owners get a {cadence} nudge about its next step, on a "
            "weekday morning in each owner's own time zone."
        )
    reply(req, _notice(message, f"Change it any time: {usage}"))


@subcommand("snooze")
def snooze(req: Req, text: str) -> None:
    tz = _user_zone(req)
    until, name = nudges.parse_snooze(text, utcnow(), tz)
    team = nudges.resolve_team(req.session, req.team_id, req.user_id, req.channel_id, name)
    _check_may_change(req, team)
    nudges.snooze(req.session, team, req.user_id, until)
    if until is None:
        reply(req, _notice(f"Nudges about *{escape(team.name)}* are back on."))
    else:
        reply(
            req, _notice(f":zzz: No nudges about *{escape(team.name)}* until {_when(until, tz)}.")
        )


# ---------------------------------------------------------------------------- buttons


def _team(req: Req, team_id) -> Team:
    team = get_team(req.session, req.team_id, team_id)
    if team is None:
        raise NotFound("That team no longer exists, so there is nothing to snooze or stop.")
    return team


def _action(req: Req) -> dict:
    return (req.body.get("actions") or [{}])[0]


@listener
def on_snooze(req: Req) -> None:
    req.ack()
    action = _action(req)
    option = (action.get("selected_option") or {}).get("value") or "{}"
    req.body["actions"][0]["value"] = option
    value = parse_value(req)
    if not isinstance(value, dict) or not str(value.get("days", "")).isdigit():
        raise UserError(f"That snooze option is not one I know; try `{COMMAND} snooze 2w`.")
    team = _team(req, value.get("team_id"))
    _check_may_change(req, team)
    days = min(int(value["days"]), 366)
    until = utcnow() + timedelta(days=days)
    _snoozed(req, team, until, _user_zone(req))


@listener
def on_snooze_until(req: Req) -> None:
    req.ack()
    action = _action(req)
    block_id = str(action.get("block_id") or "")
    team = _team(req, block_id.rpartition(":")[2])
    _check_may_change(req, team)
    tz = _user_zone(req)
    until, _ = nudges.parse_snooze(f"until {action.get('selected_date') or ''}", utcnow(), tz)
    _snoozed(req, team, until, tz)


def _snoozed(req: Req, team: Team, until, tz: str | None) -> None:
    """Save the snooze and say until when; `tz` is looked up before anything is written, so
    no write waits on users.info."""
    nudges.snooze(req.session, team, req.user_id, until)
    command = req.settings.slash_command
    reply(
        req,
        _notice(
            f":zzz: Snoozed: no nudges about *{escape(team.name)}* until {_when(until, tz)}.",
            f"Back on now: `{command} snooze off {escape(team.name)}`.",
        ),
        replace=True,
    )


@listener
def on_stop(req: Req) -> None:
    req.ack()
    value = parse_value(req)
    team = _team(req, value.get("team_id") if isinstance(value, dict) else value)
    _check_may_change(req, team)
    nudges.set_cadence(req.session, team, req.user_id, Cadence.OFF)
    command = req.settings.slash_command
    reply(
        req,
        _notice(
            f"Stopped: no more nudges about *{escape(team.name)}*.",
            f"Start again with `{command} remind weekly {escape(team.name)}`.",
        ),
        replace=True,
    )


@listener
def on_open_overview(req: Req) -> None:
    req.ack()
    show = ROUTES.get("teams")
    if show is None:
        reply(req, _notice(f"Run `{req.settings.slash_command} teams` for the overview."))
        return
    show(req, "")


def register(app: App, settings: Settings) -> None:
    app.action(DeliveryAction.SNOOZE)(on_snooze)
    app.action(DeliveryAction.SNOOZE_UNTIL)(on_snooze_until)
    app.action(DeliveryAction.STOP)(on_stop)
    app.action(DeliveryAction.OPEN_OVERVIEW)(on_open_overview)
