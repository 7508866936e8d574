"""Teams and their current answers: lookups every surface shares.

Team names are matched case-insensitively (Unicode case folding, surrounding whitespace and
runs of spaces ignored), and every query is scoped by the workspace id.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain import Answer, Checklist, LevelReport, Step, compute_level, next_step, report
from bot.errors import COMMAND, NotFound, UserError
from bot.models import (
    AnswerRecord,
    Assessment,
    AssessmentStatus,
    Team,
    TeamOwner,
    TeamReminder,
)
from bot.mrkdwn import escape
from bot.services import maturity, workspaces

NAME_MAX = 80


def name_key(name: str) -> str:
    """The form names are compared in: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def find_team(session: Session, workspace_id: str, name: str) -> Team | None:
    return session.scalar(
        select(Team).where(Team.workspace_id == workspace_id, Team.name_key == name_key(name))
    )


def teams_in_channel(session: Session, workspace_id: str, channel_id: str) -> list[Team]:
    return list(
        session.scalars(
            select(Team)
            .where(Team.workspace_id == workspace_id, Team.home_channel_id == channel_id)
            .order_by(Team.name_key)
        )
    )


def current_answers(
    session: Session, workspace_id: str, team_ids: Iterable[int]
) -> dict[int, dict[str, AnswerRecord]]:
    """The newest answer per capability for each team, in one query.

    Only answers of finished assessments count: an assessment in progress is a draft until
    its last question, so a half-done run never moves a team's level.
    """
    ids = list(team_ids)
    result: dict[int, dict[str, AnswerRecord]] = {team_id: {} for team_id in ids}
    if not ids:
        return result
    newest = (
        select(func.max(AnswerRecord.id))
        .join(Assessment, Assessment.id == AnswerRecord.assessment_id)
        .where(
            AnswerRecord.workspace_id == workspace_id,
            AnswerRecord.team_id.in_(ids),
            Assessment.status == AssessmentStatus.COMPLETED,
        )
        .group_by(AnswerRecord.team_id, AnswerRecord.capability_id)
    )
    for record in session.scalars(select(AnswerRecord).where(AnswerRecord.id.in_(newest))):
        result[record.team_id][record.capability_id] = record
    return result


@dataclass(frozen=True)
class TeamState:
    """A team with its current answers, level report and next step in the primary model.

    `model` is the workspace's models (bot.services.maturity.ModelSet); `other_levels` is
    the team's level in each of the other installed models, for the card's one line.
    """

    team: Team
    answers: dict[str, AnswerRecord]
    report: LevelReport
    next_step: Step | None
    model: maturity.ModelSet | None = None
    other_levels: tuple[tuple[Checklist, int], ...] = ()

    @property
    def values(self) -> dict[str, Answer]:
        return {cap: record.value for cap, record in self.answers.items()}

    @property
    def left(self) -> tuple[str, ...]:
        """The capabilities of the next step not yet in place (not YES), in asking order."""
        if self.next_step is None:
            return ()
        return tuple(
            cid for cid in self.next_step.capability_ids if self.values.get(cid) != Answer.YES
        )

    @property
    def unanswered(self) -> tuple[str, ...]:
        """Questions of the installed models the team has never answered (new to it)."""
        if self.model is None or not self.answers:
            return ()
        return tuple(cid for cid in self.model.ids if cid not in self.answers)


def team_states(
    session: Session,
    workspace_id: str,
    teams: list[Team],
    checklist: Checklist | maturity.ModelSet | None = None,
) -> list[TeamState]:
    """Level reports and next steps for `teams`, with one query for all their answers.

    Without `checklist`, the workspace's own models (bot.services.maturity).
    """
    if checklist is None:
        models = maturity.for_workspace(session, workspace_id)
    elif isinstance(checklist, maturity.ModelSet):
        models = checklist
    else:
        models = maturity.ModelSet(checklist)
    primary = models.primary
    answers = current_answers(session, workspace_id, [team.id for team in teams])
    states = []
    for team in teams:
        values = {cap: record.value for cap, record in answers[team.id].items()}
        states.append(
            TeamState(
                team,
                answers[team.id],
                report(values, primary),
                next_step(values, primary),
                models,
                tuple((other, compute_level(values, other)) for other in models.others),
            )
        )
    return states


_MENTION = re.compile(r"<[@#!][^>]*>")


def unescape_slack(text: str) -> str:
    """Undo Slack's escaping of `&`, `<` and `>` in typed text (slash command arguments)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clean_team_name(raw: str) -> str:
    """Validate a team name typed by a person; raise UserError with a friendly reason.

    Any script, emoji and punctuation is fine; mentions, channel links and control
    characters are refused because they would not read as a name anywhere else.
    """
    name = " ".join((raw or "").split())
    if not name:
        raise UserError("Please give the team a name, e.g. `Fraud ML`.")
    if _MENTION.search(name):  # real mentions arrive as <@U..>; typed "<" arrives as &lt;
        raise UserError(
            "That looks like a mention or a channel link. Team names are plain text, "
            f"e.g. `Fraud ML`; a home channel is set with `{COMMAND} team`."
        )
    name = unescape_slack(name)
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in name):
        raise UserError("Team names cannot contain control characters; please type it again.")
    if len(name) > NAME_MAX:
        raise UserError(
            f"Team names can be at most {NAME_MAX} characters; that one has {len(name)}."
        )
    return name


def get_team(session: Session, workspace_id: str, team_id: object) -> Team | None:
    """The team a button names, in this workspace only: a value is never trusted blindly."""
    try:
        team = session.get(Team, int(team_id))
    except (TypeError, ValueError):
        return None
    return team if team is not None and team.workspace_id == workspace_id else None


def create_team(
    session: Session,
    workspace_id: str,
    name: str,
    created_by: str,
    *,
    home_channel_id: str | None = None,
    owners: Iterable[str] = (),
) -> Team:
    """Create a team; the creator owns it unless owners are given."""
    workspaces.ensure(session, workspace_id)
    name = clean_team_name(name)
    if find_team(session, workspace_id, name) is not None:
        raise UserError(f"There is already a team called {name}.")
    team = Team(
        workspace_id=workspace_id,
        name=name,
        name_key=name_key(name),
        created_by=created_by,
        home_channel_id=home_channel_id,
    )
    owner_ids = list(dict.fromkeys(owners)) or [created_by]
    team.owners = [TeamOwner(user_id=u, workspace_id=workspace_id) for u in owner_ids]
    session.add(team)
    session.flush()
    session.add(TeamReminder(team_id=team.id, workspace_id=workspace_id))
    return team


def resolve_team(
    session: Session,
    workspace_id: str,
    name: str,
    *,
    channel_id: str | None,
    user_id: str,
    create: bool,
    owned_fallback: bool = False,
    example: str = f"{COMMAND} status Fraud ML",
    can_bind: Callable[[str], bool] | None = None,
) -> tuple[Team, bool]:
    """The team a command means: named (created if `create`), else bound to the channel,
    else (with `owned_fallback`) the only team the person owns.

    Returns (team, created). Raises NotFound with what to type when nothing matches;
    `example` is the command shown there. `can_bind(channel_id)` says whether the bot can
    post there later (see services.channels); a channel it cannot post in is not made home.
    """
    if name.strip():
        cleaned = clean_team_name(name)
        team = find_team(session, workspace_id, cleaned)
        if team is not None:
            return team, False
        if not create:
            raise NotFound(unknown_team_message(session, workspace_id, cleaned))
        # The first team named in a channel makes it home; DMs and busy channels stay unbound.
        bindable = bool(channel_id) and channel_id[0] in "CG"
        if bindable and teams_in_channel(session, workspace_id, channel_id):
            bindable = False
        if bindable and can_bind is not None and not can_bind(channel_id):
            bindable = False
        return create_team(
            session,
            workspace_id,
            cleaned,
            user_id,
            home_channel_id=channel_id if bindable else None,
        ), True
    bound = teams_in_channel(session, workspace_id, channel_id) if channel_id else []
    if len(bound) == 1:
        return bound[0], False
    if len(bound) > 1:
        names = ", ".join(f"`{escape(t.name)}`" for t in bound[:10])
        raise UserError(f"Several teams call this channel home ({names}); please name one.")
    if owned_fallback:
        owned = session.scalars(
            select(Team)
            .join(TeamOwner, TeamOwner.team_id == Team.id)
            .where(Team.workspace_id == workspace_id, TeamOwner.user_id == user_id)
            .limit(2)
        ).all()
        if len(owned) == 1:
            return owned[0], False
    if create:
        raise NotFound(
            f"Which team? Name it, e.g. `{COMMAND} assess Fraud ML`: I create the team the first "
            "time it is named and bind it to this channel, so next time the name is optional."
        )
    raise NotFound(f"Which team? Add its name, for example `{example}`.")


def unknown_team_message(session: Session, workspace_id: str, name: str) -> str:
    keys = session.scalars(select(Team.name).where(Team.workspace_id == workspace_id)).all()
    close = difflib.get_close_matches(name, keys, n=1, cutoff=0.6)
    hint = f" Did you mean *{escape(close[0])}*?" if close else ""
    return (
        f"I don't know a team called *{escape(name)}*.{hint} "
        f"`{COMMAND} assess {escape(name)}` creates it; `{COMMAND} teams` lists every team."
    )


def update_team(
    session: Session,
    team: Team,
    name: str,
    home_channel_id: str | None,
    owners: Iterable[str],
) -> Team:
    """Rename a team, bind it to a channel (or none) and replace its owners."""
    name = clean_team_name(name)
    team.name = name
    team.name_key = name_key(name)
    team.home_channel_id = home_channel_id or None
    wanted = list(dict.fromkeys(owners))
    keep = [owner for owner in team.owners if owner.user_id in wanted]
    known = {owner.user_id for owner in keep}
    team.owners = keep + [
        TeamOwner(user_id=user, workspace_id=team.workspace_id)
        for user in wanted
        if user not in known
    ]
    session.flush()
    return team
