"""The assessment conversation and the read-back commands: assess, status, next, history.

Listeners ack first, call one service, render one template and reply with it; the services
decide what a click means (including stale and duplicate clicks).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from slack_bolt import App
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.config import Settings
from bot.domain import PURPOSES, Purpose, a_team_of, by_choice, in_production
from bot.errors import COMMAND, NotFound, UserError
from bot.models import AssessmentStatus, Team, utcnow
from bot.mrkdwn import escape
from bot.services import assessments, channels, evidence_view, maturity, permissions, purposes
from bot.services import history as history_service
from bot.services import pictures as picture_service
from bot.services import teams as team_service
from bot.services.assessments import NOTE_MAX, Outcome
from handlers.base import Req, dm, from_view, listener, parse_value, reply
from handlers.commands import subcommand
from handlers.home import publish_home
from handlers.ids import Action, Block, Callback
from handlers.report import upload
from messages import plural, render

log = logging.getLogger(__name__)


def _team_arg(req: Req, text: str, *, create: bool, can_bind: Callable[[str], bool] | None = None):
    return team_service.resolve_team(
        req.session,
        req.team_id,
        text,
        channel_id=req.channel_id,
        user_id=req.user_id,
        create=create,
        can_bind=can_bind,
    )


def _team_by_id(req: Req, value: object) -> Team:
    team_id = value.get("team_id") if isinstance(value, dict) else value
    if not str(team_id).isdigit():
        raise UserError("That button is not one I know; please use a fresh message.")
    team = team_service.get_team(req.session, req.team_id, team_id)
    if team is None:
        raise NotFound(f"That team no longer exists. `{COMMAND} teams` lists the teams there are.")
    return team


def question_message(req: Req, question, notice: str | None) -> dict:
    """A question, with what the team's tools say about its capability when any are connected."""
    found = evidence_view.question_evidence(req.session, question.team, question.capability.id)
    return render("question", question=question, notice=notice, evidence=found)


def level_card(req: Req, state, change=None, notice: str | None = None) -> dict:
    """The level card, with the evidence badges and the verified level."""
    shown = evidence_view.team_evidence(req.session, state)
    return render("level_card", state=state, change=change, notice=notice, evidence=shown)


def outcome_message(req: Req, outcome: Outcome) -> dict:
    """The question to show next, or the level card when the assessment is finished."""
    if outcome.question is not None:
        return question_message(req, outcome.question, outcome.notice)
    finished = outcome.finished
    return level_card(req, finished.state, finished.level_change, outcome.notice)


def refresh_home(req: Req) -> None:
    """Publish the person's App Home again so it shows the new level (best effort)."""
    try:
        publish_home(req, req.user_id)
    except SlackApiError as error:
        log.info("could not refresh App Home for %s: %s", req.user_id, error.response.get("error"))


def _after(req: Req, outcome: Outcome) -> None:
    reply(req, outcome_message(req, outcome), replace=True)
    if outcome.finished is not None and not outcome.stale:
        refresh_home(req)


# --- slash subcommands ---------------------------------------------------------------


@subcommand("assess")
def assess(req: Req, text: str) -> None:
    refused: list[tuple[str, bool | None]] = []

    def can_bind(channel_id: str) -> bool:
        postable = channels.can_post(req.client, channel_id)
        if not postable:
            refused.append((channel_id, postable))
        return bool(postable)

    team, created = _team_arg(req, text, create=True, can_bind=can_bind)
    question, resumed = assessments.start_or_resume(req.session, team, req.user_id)
    notice = None
    if created:
        notice = f"Created team *{escape(team.name)}*"
        notice += " and made this channel its home." if team.home_channel_id else "."
        if refused:
            channel_id, postable = refused[0]
            hint = (
                channels.invite_hint(req.context.bot_user_id, channel_id)
                if postable is False
                else channels.unknown_hint(channel_id)
            )
            notice += (
                f" {hint}, so it is not the team's home yet: pick it with"
                f" `{req.settings.slash_command} team {escape(team.name)}`"
                " to get level changes announced there."
            )
    elif resumed:
        notice = "Resuming where you left off; every answer so far is saved."
    reply(req, question_message(req, question, notice))


@subcommand("status", writes=False)
def status(req: Req, text: str) -> None:
    team, _ = _team_arg(req, text, create=False)
    state = team_service.team_states(req.session, req.team_id, [team])[0]
    reply(req, level_card(req, state))


@subcommand("next", writes=False)
def next_step(req: Req, text: str) -> None:
    team, _ = _team_arg(req, text, create=False)
    state = team_service.team_states(req.session, req.team_id, [team])[0]
    reply(req, render("next_step", state=state))


@subcommand("history", writes=False, reply_in_ack=False)  # uploads the timeline picture
def history(req: Req, text: str) -> None:
    team, _ = _team_arg(req, text, create=False)
    data = history_service.history(req.session, team)
    picture = None
    if data.changes:
        picture = picture_service.timeline_picture(req.session, team, utcnow())
    req.save()  # nothing was written; no transaction stays open across the upload
    note = None
    if picture is not None:
        try:
            dm = req.client.conversations_open(users=req.user_id)["channel"]["id"]
            upload(req.client, dm, [picture], render("timeline_comment", team=team))
            note = ":chart_with_upwards_trend: The timeline picture is in your DM with me."
        except SlackApiError as error:
            reason = error.response.get("error") or "unknown_error"
            log.warning("timeline upload to %s failed: %s", req.user_id, reason)
            note = f"I could not send you the timeline picture (Slack said `{reason}`)."
    reply(req, render("history", command=req.settings.slash_command, note=note, **vars(data)))


# --- buttons ------------------------------------------------------------------------


# Buttons and modals posted before the payload keys had names carry the short keys; Slack
# keeps old messages for years, so those are read too.
LEGACY_KEYS = {"assessment_id": "a", "capability_id": "c", "answer": "v", "response_url": "r"}


def payload_field(payload: dict, name: str) -> object:
    """`payload[name]`, or its short pre-rename key; KeyError when neither is there."""
    if name in payload:
        return payload[name]
    return payload[LEGACY_KEYS[name]]


def _question_ref(payload: object) -> tuple[int, str]:
    """(assessment id, capability id) of a question's button value or note modal metadata."""
    if not isinstance(payload, dict):
        raise TypeError("not an object")
    return int(payload_field(payload, "assessment_id")), str(
        payload_field(payload, "capability_id")
    )


def _ref(req: Req) -> tuple[int, str, dict]:
    value = parse_value(req)
    try:
        assessment_id, capability_id = _question_ref(value)
    except (KeyError, TypeError, ValueError):
        raise UserError("That button is not one I know; please use a fresh message.") from None
    return assessment_id, capability_id, value


@listener
def on_answer(req: Req) -> None:
    req.ack()
    assessment_id, capability_id, value = _ref(req)
    outcome = assessments.answer(
        req.session,
        req.team_id,
        assessment_id,
        capability_id,
        str(value.get("answer", value.get("v"))),
        req.user_id,
    )
    _after(req, outcome)


@listener
def on_back(req: Req) -> None:
    req.ack()
    assessment_id, capability_id, _ = _ref(req)
    _after(req, assessments.back(req.session, req.team_id, assessment_id, capability_id))


@listener
def on_keep_rest(req: Req) -> None:
    req.ack()
    assessment_id, capability_id, _ = _ref(req)
    outcome = assessments.keep_rest(
        req.session, req.team_id, assessment_id, capability_id, req.user_id
    )
    _after(req, outcome)


@listener
def on_add_note(req: Req) -> None:
    req.ack()
    assessment_id, capability_id, _ = _ref(req)
    assessment = assessments.load(req.session, req.team_id, assessment_id)
    question = assessments.question_at(req.session, assessment)
    if question.capability.id != capability_id:
        _after(req, Outcome(question=question, stale=True, notice="Here is the current question."))
        return
    metadata = json.dumps(
        {
            "assessment_id": assessment_id,
            "capability_id": capability_id,
            "response_url": req.body.get("response_url") or "",
        }
    )
    view = render("note_modal", question=question, metadata=metadata, note_max=NOTE_MAX)
    req.client.views_open(trigger_id=req.body["trigger_id"], view=view)


NOTE_SAVED_ELSEWHERE = {
    "title": "Answer saved",
    "text": ":floppy_disk: Saved your answer and note. The message you clicked can no longer"
    " be updated (Slack allows 30 minutes), so what comes next is in your DM with me.",
}


@listener
def on_note_submitted(req: Req) -> None:
    view = req.body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    choice = (
        (values.get(Block.NOTE_ANSWER) or {}).get(Action.NOTE_ANSWER, {}).get("selected_option")
        or {}
    ).get("value")
    note = (values.get(Block.NOTE_TEXT) or {}).get(Action.NOTE_TEXT, {}).get("value") or ""
    if not choice:
        req.ack(response_action="errors", errors={Block.NOTE_ANSWER: "Please pick an answer."})
        return
    if len(note) > NOTE_MAX:
        req.ack(
            response_action="errors",
            errors={Block.NOTE_TEXT: f"Notes can be at most {NOTE_MAX} characters."},
        )
        return
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        assessment_id, capability_id = _question_ref(meta)
    except (KeyError, TypeError, ValueError):
        req.ack(response_action="errors", errors={Block.NOTE_TEXT: "This form is outdated."})
        return
    outcome = assessments.answer(
        req.session, req.team_id, assessment_id, capability_id, choice, req.user_id, note=note
    )
    req.save()  # the answer and note are saved whatever happens below
    message = outcome_message(req, outcome)
    # Replace the clicked message before answering the modal: if its response URL has expired
    # (30 minutes, or used 5 times), the modal itself is the one place to say where the next
    # step went. The URL answers in milliseconds, well inside Slack's 3 seconds.
    if _replace_via(meta.get("response_url", meta.get("r")) or "", message):
        req.ack()
    else:
        req.ack(response_action="update", view=render("notice_modal", **NOTE_SAVED_ELSEWHERE))
        dm(req, message, context_hint="after a note, for an expired response URL")
    if outcome.finished is not None and not outcome.stale:
        refresh_home(req)


def _replace_via(response_url: str, message: dict) -> bool:
    """Replace the message behind `response_url` with `message`; False if Slack refuses."""
    if not response_url:
        return False
    try:
        answer = WebhookClient(response_url, timeout=2).send_dict(
            {**message, "replace_original": True, "response_type": "ephemeral"}
        )
    except OSError as error:
        log.warning("could not reach the response URL: %s", error)
        return False
    if answer.status_code != 200:
        log.info("response URL refused the reply (HTTP %s %s)", answer.status_code, answer.body)
    return answer.status_code == 200


@listener
def on_start_assess(req: Req) -> None:
    req.ack()
    team = _team_by_id(req, parse_value(req))
    question, resumed = assessments.start_or_resume(req.session, team, req.user_id)
    notice = "Resuming where you left off; every answer so far is saved." if resumed else None
    reply(req, question_message(req, question, notice), replace=not from_view(req))


@listener
def on_assess_step(req: Req) -> None:
    """ "Done, update my answers": re-ask just the capabilities of that step."""
    req.ack()
    value = parse_value(req)
    team = _team_by_id(req, value)
    try:
        step = maturity.for_workspace(req.session, req.team_id).step(int(value["step"]))
    except (KeyError, TypeError, ValueError):
        raise UserError(f"That step is not one I know; try `{COMMAND} next`.") from None
    question, resumed = assessments.start_or_resume(
        req.session, team, req.user_id, capability_ids=list(step.capability_ids)
    )
    notice = (
        "An assessment was already in progress; resuming it."
        if resumed
        else f"Updating *{escape(step.title)}*: {plural(len(step.capability_ids), 'question')}."
    )
    reply(req, question_message(req, question, notice), replace=not from_view(req))


@listener
def on_purpose_answer(req: Req) -> None:
    """The question before a first assessment: is a model of this team in production?"""
    req.ack()
    value = parse_value(req)
    team = _team_by_id(req, value)
    try:
        purpose = Purpose(value["purpose"])
        assessment_id = int(value["assessment_id"])
    except (KeyError, TypeError, ValueError):
        raise UserError("That button is not one I know; please use a fresh message.") from None
    permissions.check_may_change_purpose(req.session, req.client, req.settings, team, req.user_id)
    purposes.set_purpose(req.session, team, purpose, req.user_id)
    if in_production(purpose):
        notice = f"Noted: *{escape(team.name)}* serves users in production. Now the checklist."
    else:
        notice = (
            f"Noted: *{escape(team.name)}* is {a_team_of(purpose)}. {by_choice()} is"
            " fine for that, so I won't nudge its owners; the checklist still shows where it"
            " stands."
        )
    assessment = assessments.load(req.session, req.team_id, assessment_id)
    if assessment.team_id != team.id or assessment.status != AssessmentStatus.IN_PROGRESS:
        reply(req, render("notice", text=notice))
        return
    question = assessments.question_at(req.session, assessment)
    reply(req, render("question", question=question, notice=notice), replace=True)


@listener(writes=False)
def on_open_status(req: Req) -> None:
    req.ack()
    team = _team_by_id(req, parse_value(req))
    state = team_service.team_states(req.session, req.team_id, [team])[0]
    message = level_card(req, state)
    if from_view(req) and req.body.get("trigger_id"):
        req.client.views_open(
            trigger_id=req.body["trigger_id"],
            view=render("status_modal", blocks=message["blocks"]),
        )
        return
    reply(req, message)


@listener(writes=False)
def on_open_next(req: Req) -> None:
    req.ack()
    team = _team_by_id(req, parse_value(req))
    state = team_service.team_states(req.session, req.team_id, [team])[0]
    reply(req, render("next_step", state=state))


@listener(writes=False)
def on_open_history(req: Req) -> None:
    req.ack()
    team = _team_by_id(req, parse_value(req))
    data = history_service.history(req.session, team)
    reply(req, render("history", command=req.settings.slash_command, **vars(data)))


def register(app: App, settings: Settings) -> None:
    for action in (
        Action.ANSWER_YES,
        Action.ANSWER_PARTLY,
        Action.ANSWER_NO,
        Action.ANSWER_NOT_SURE,
    ):
        app.action(action)(on_answer)
    app.action(Action.BACK)(on_back)
    app.action(Action.KEEP_REST)(on_keep_rest)
    app.action(Action.ADD_NOTE)(on_add_note)
    app.view(Callback.NOTE_MODAL)(on_note_submitted)
    app.action(Action.START_ASSESS)(on_start_assess)
    app.action(Action.ASSESS_STEP)(on_assess_step)
    app.action(Action.OPEN_STATUS)(on_open_status)
    app.action(Action.OPEN_NEXT)(on_open_next)
    app.action(Action.OPEN_HISTORY)(on_open_history)
    for purpose in PURPOSES:
        app.action(f"{Action.PURPOSE_ANSWER}_{purpose}")(on_purpose_answer)
