"""What the outbox sends, as Block Kit: one renderer per `DeliveryKind`.

The services say what is true now (`digests.digest_for`, `nudges.nudges_for`, ...); these
turn it into messages through the templates beside this file. `renderers()` is the registry
the worker hands to its `Sender` at start-up, so the outbox itself imports no service and no
template, and a kind without a renderer here is a failure the sender reports, not a silent
gap.
"""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain import purpose_label
from bot.models import Cadence, utcnow
from bot.outbox import Claimed, DeliveryKind, Rendered, Renderer, Upload, one_by_one
from bot.services import digests, maturity, nudges, purposes
from bot.services import pictures as picture_service
from messages import render, step_headline


def _message(name: str, **context) -> Rendered:
    message = render(name, **context)
    return Rendered(message["text"], message["blocks"])


def digest(session: Session, row: Claimed, settings: Settings) -> Rendered | None:
    """The org digest; sending it moves the subscription's "since" to the moment it went."""
    found = digests.digest_for(session, row, settings)
    if found is None:
        return None
    message = _message(
        "digest",
        **found.facts,
        cadence=found.cadence.value,
        since=found.since.strftime("%a %d %b"),
    )
    message.on_sent = partial(digests.mark_sent, subscription_id=found.subscription_id)
    return message


def picture(session: Session, row: Claimed, settings: Settings) -> Rendered | None:
    """A digest's trend picture, drawn from the data of now, shared after the digest."""
    found = digests.picture_for(session, row)
    if found is None:
        return None
    drawn = picture_service.trend_picture(session, row.workspace_id, utcnow())
    message = Rendered(
        render("digest_picture_comment", command=settings.slash_command),
        [],
        upload=Upload(drawn.data, found.filename, drawn.title, drawn.alt_text),
    )
    message.on_sent = lambda session, at: digests.remember_picture(
        session,
        at,
        subscription_id=found.subscription_id,
        file_id=message.file_id,
        alt_text=drawn.alt_text,
    )
    return message


def level_change(session: Session, row: Claimed, settings: Settings) -> Rendered | None:
    """A team's level change, in its home channel and every digest channel."""
    found = digests.announcement_for(session, row)
    if found is None:
        return None
    step = found.next_step
    models = maturity.for_workspace(session, row.workspace_id)
    level_label = models.level_label
    return _message(
        "announcement_level_change",
        team=found.team,
        up=found.from_level is None or found.to_level > found.from_level,
        from_label=None if found.from_level is None else level_label(found.from_level),
        to_label=level_label(found.to_level),
        changed_by=found.changed_by,
        next_step=(
            None
            if step is None
            else {
                "number": step.number,
                "title": step.title,
                "headline": step_headline(step, found.left, models),
            }
        ),
        team_id=found.team_id,
        command=settings.slash_command,
    )


def production(session: Session, row: Claimed, settings: Settings) -> Rendered | None:
    """A team's move to production, where level changes are announced, with its next step."""
    found = purposes.production_move_for(session, row)
    if found is None:
        return None
    step = found.next_step
    return _message(
        "announcement_production",
        team=found.team,
        from_purpose=purpose_label(found.from_purpose),
        level_text=None
        if found.level is None
        else maturity.for_workspace(session, row.workspace_id).level_label(found.level),
        changed_by=found.changed_by,
        next_step=None if step is None else {"number": step.number, "title": step.title},
        command=settings.slash_command,
    )


def _controls(team_id: int, team: str, cadence: Cadence, settings: Settings) -> dict:
    """What nudges and reminders share: the team, its cadence and the snooze controls."""
    return {
        "team": team,
        "team_id": team_id,
        "cadence": cadence.value,
        "command": settings.slash_command,
        "team_value": json.dumps({"team_id": team_id}),
        "snooze_options": [
            {"label": "1 week", "value": json.dumps({"team_id": team_id, "days": 7})},
            {"label": "2 weeks", "value": json.dumps({"team_id": team_id, "days": 14})},
            {"label": "4 weeks", "value": json.dumps({"team_id": team_id, "days": 28})},
        ],
        "min_date": (utcnow() + timedelta(days=1)).date().isoformat(),
    }


def nudge_batch(
    session: Session, rows: list[Claimed], settings: Settings
) -> dict[int, Rendered | None]:
    """Nudges for a batch of rows (the service reads them with a few queries in all)."""
    rendered: dict[int, Rendered | None] = {}
    labels = {}  # the workspace's models, once per workspace of the batch
    for row_id, found in nudges.nudges_for(session, rows).items():
        if found is None:
            rendered[row_id] = None
            continue
        step = found.step
        workspace_id = next(row.workspace_id for row in rows if row.id == row_id)
        if workspace_id not in labels:
            labels[workspace_id] = maturity.for_workspace(session, workspace_id)
        rendered[row_id] = _message(
            "nudge",
            **_controls(found.team_id, found.team, found.cadence, settings),
            level=labels[workspace_id].level_label(found.level),
            progress=found.progress,
            step={
                "number": step.number,
                "title": step.title,
                "headline": step_headline(step, found.left, labels[workspace_id]),
                "why": step.why,
                "tools": ", ".join(step.tools),
            },
            done_value=json.dumps({"team_id": found.team_id, "step": step.number}),
        )
    return rendered


def reminder(session: Session, row: Claimed, settings: Settings) -> Rendered | None:
    """A reminder to reassess a stale team."""
    found = nudges.reassess_for(session, row, settings)
    if found is None:
        return None
    return _message(
        "reminder",
        **_controls(found.team_id, found.team, found.cadence, settings),
        days=found.days,
        last_assessed=found.last_assessed_at.strftime("%d %b %Y"),
        level=maturity.for_workspace(session, row.workspace_id).level_label(found.level),
    )


ALERT_HINTS = {
    "not_in_channel": "Invite me with `/invite @MLOps maturity bot` in that channel.",
    "channel_not_found": "The channel is private or gone: invite me, or change the digest.",
    "is_archived": "The channel is archived: unarchive it or point the digest elsewhere.",
    "account_inactive": "That person's account is deactivated; update the team's owners.",
    "user_not_found": "That person is not in this workspace; update the team's owners.",
    "cannot_dm_bot": "That owner is a bot; update the team's owners.",
    "messages_tab_disabled": "That person has turned off app messages.",
}


def alert(session: Session, row: Claimed, settings: Settings) -> Rendered | None:
    """Tells an admin that a message could not be delivered, and what would fix it."""
    target = str(row.payload.get("channel_id") or "")
    reason = str(row.payload.get("reason") or "unknown error")
    code = reason.split(":")[0]
    return _message(
        "delivery_alert",
        target=f"<@{target}>" if target[:1] in "UW" else f"<#{target}>",
        reason=reason,
        hint=ALERT_HINTS.get(code, "Check the bot's logs; `mlops-bot outbox` lists failures."),
        key=str(row.payload.get("key") or ""),
    )


def renderers() -> dict[DeliveryKind, Renderer]:
    """Every kind the bot sends, with how it is rendered: the sender's registry."""
    return {
        DeliveryKind.LEVEL_CHANGE: one_by_one(level_change),
        DeliveryKind.PRODUCTION: one_by_one(production),
        DeliveryKind.ALERT: one_by_one(alert),
        DeliveryKind.DIGEST: one_by_one(digest),
        DeliveryKind.NUDGE: nudge_batch,
        DeliveryKind.REMINDER: one_by_one(reminder),
        DeliveryKind.PICTURE: one_by_one(picture),
    }
