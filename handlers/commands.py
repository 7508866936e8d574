"""The slash command: parse the subcommand, call one service, render, reply."""

from __future__ import annotations

import difflib
from collections.abc import Callable

from slack_bolt import App

from bot.config import Settings
from bot.db import read_only
from bot.models import REMINDER_CADENCES
from bot.mrkdwn import escape
from handlers.base import Req, listener, reply
from messages import render

# (name, arguments, what it does): the order is the order of the help text.
SUBCOMMANDS: list[tuple[str, str, str]] = [
    ("assess", "[team]", "start or resume the team's assessment"),
    ("status", "[team]", "the team's level card"),
    ("next", "[team]", "the team's next step in detail"),
    ("history", "[team]", "level timeline, purpose and answer changes"),
    ("teams", "[purpose]", "every team with its level and trend, or those of one purpose"),
    ("team", "[name]", "create or edit a team: name, home channel, owners, purpose"),
    ("digest", "#channel weekly|daily|off [day] [HH:MM]", "subscribe a channel to the digest"),
    ("remind", "|".join(REMINDER_CADENCES), "the team's nudge cadence"),
    ("snooze", "2w", "pause the team's nudges"),
    ("export", "[team]", "answers and level history as a CSV file, sent to you"),
    ("report", "[#channel]", "the heatmap and the trend as pictures, sent to you"),
    ("model", "[use NAME]", "the maturity model in use; admins switch between installed ones"),
    ("evidence", "[team]", "what the team's MLflow and Git show beside each answer"),
    (
        "connect",
        "<team> mlflow <tracking-url> [experiments=<prefix>] [models=<prefix>]",
        "let the bot read the team's MLflow (owners)",
    ),
    ("connect", "<team> repo <git-url> [branch] [path]", "let the bot read the team's repository"),
    ("disconnect", "<team> mlflow|repo", "stop reading one of them"),
    ("help", "", "this message"),
]
NAMES = list(dict.fromkeys(name for name, _, _ in SUBCOMMANDS))


def help_message(command: str, unknown: str | None = None) -> dict:
    """The usage message; for an unknown subcommand, with a did-you-mean suggestion."""
    suggestion = None
    if unknown:
        close = difflib.get_close_matches(unknown.lower(), NAMES, n=1, cutoff=0.6)
        suggestion = close[0] if close else None
    rows = [  # escaped: Slack would read `<team>` in an argument as a link
        f"`{command} {name}{(' ' + escape(args)) if args else ''}`  {what}"
        for name, args, what in SUBCOMMANDS
    ]
    return render("help", command=command, rows=rows, unknown=unknown, suggestion=suggestion)


def split_command(text: str) -> tuple[str, str]:
    """`"assess  Fraud ML"` -> `("assess", "Fraud ML")`; the subcommand is case-insensitive."""
    text = (text or "").strip()
    if not text:
        return "", ""
    head, _, rest = text.partition(" ")
    return head.lower(), rest.strip()


Subcommand = Callable[[Req, str], None]
ROUTES: dict[str, Subcommand] = {}
READ_ONLY: set[str] = set()
IN_ACK: set[str] = set()  # subcommands whose reply rides in the acknowledgement


def subcommand(
    *names: str, writes: bool = True, reply_in_ack: bool | None = None
) -> Callable[[Subcommand], Subcommand]:
    """Route `/mlops <name> ...` to the decorated `fn(req, rest_of_text)`.

    Each surface module declares its own subcommands; this module only dispatches.
    `writes=False` lets lookups run without the database's write lock (see db.read_only).
    `reply_in_ack` (default: for lookups) puts the reply, ready in a few milliseconds, in
    the acknowledgement (see on_command); not for a lookup that calls Slack first.
    """

    def decorate(fn: Subcommand) -> Subcommand:
        for name in names:
            ROUTES[name] = fn
            if not writes:
                READ_ONLY.add(name)
            if (not writes) if reply_in_ack is None else reply_in_ack:
                IN_ACK.add(name)
        return fn

    return decorate


@listener
def on_command(req: Req) -> None:
    """Reads (and help) answer in the acknowledgement itself: `reply` puts it there.

    Subcommands that call Slack before they reply (opening a modal, uploading a file) or
    write acknowledge first, so a slow Slack call can never miss the 3-second deadline.
    """
    sub, rest = split_command(req.body.get("text", ""))
    if sub not in ("", "help") and sub in ROUTES and sub not in IN_ACK:
        req.ack()
    dispatch(req, sub, rest)
    if req.ack.response is None:
        req.ack()


def dispatch(req: Req, sub: str, rest: str) -> None:
    """Run subcommand `sub` on `rest`: typed after the slash command, or in a DM."""
    command = req.settings.slash_command
    if sub in ("", "help"):
        reply(req, help_message(command))
    elif sub in ROUTES:
        if sub in READ_ONLY:
            read_only(req.session)
        ROUTES[sub](req, rest)
    else:
        reply(req, help_message(command, unknown=sub))


def register(app: App, settings: Settings) -> None:
    app.command(settings.slash_command)(on_command)
