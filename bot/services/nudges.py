"""Nudges and reassessment reminders to team owners, and the cadence they set.

A nudge is a direct message to each owner of a team, on a weekday morning in that owner's
own time zone, naming the team's next step. It is due per owner (`team_owners.last_nudged_at`)
because co-owners live in different zones. Nothing goes to a team that is snoozed or stopped,
has nothing left to do, or was in touch within its cadence (nudged, assessed or reassessed,
or pressed "Done"), nor to a deactivated person. A team
whose last assessment is older than the stale limit gets, every four weeks, a reminder to reassess
instead of that morning's nudge. A team whose models are not in production (research, proof
of concept, single-use: L0 by choice) gets neither, unless its owners turned them on.

Everything is checked again when the message is sent, so a snooze pressed after the morning's
tick still wins.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, selectinload

from bot.config import Settings
from bot.domain import Step, in_production
from bot.errors import COMMAND, UserError
from bot.models import Assessment, Cadence, Team, TeamOwner, TeamReminder, utcnow
from bot.outbox import Claimed, DeliveryKind, enqueue, enqueue_many
from bot.scheduling import CADENCE_DAYS, cadence_elapsed, nudge_day, zone
from bot.services import people
from bot.services.teams import resolve_team as resolve_team_named
from bot.services.teams import team_states

CONTACT_LOOKBACK = timedelta(days=max(CADENCE_DAYS.values()))
"""How far back a "Done" can still hold back a nudge: the longest cadence."""

USERS_INFO_PER_TICK = 50
"""users.info calls one tick may make (Tier 4 allows 100+/min, and requests use it too)."""

MAX_SNOOZE = timedelta(days=366)
REMINDER_EVERY_DAYS = 28


# ---------------------------------------------------------------------------- settings


def resolve_team(
    session: Session, workspace_id: str, user_id: str, channel_id: str | None, name: str
) -> Team:
    """The team a reminder command is about: named, else bound to this channel, else the one
    you own (the shared lookup of bot.services.teams, never creating a team)."""
    team, _ = resolve_team_named(
        session,
        workspace_id,
        name,
        channel_id=channel_id,
        user_id=user_id,
        create=False,
        owned_fallback=True,
        example=f"{COMMAND} remind weekly Fraud ML",
    )
    return team


def current_setting(session: Session, team: Team) -> tuple[Cadence, datetime | None]:
    """The team's cadence, and until when it is snoozed (None when it is not)."""
    reminder = session.get(TeamReminder, team.id)
    if reminder is None:
        return Cadence.WEEKLY, None
    snoozed = (
        reminder.snoozed_until
        if reminder.snoozed_until and reminder.snoozed_until > utcnow()
        else None
    )
    return reminder.cadence, snoozed


def reminder_for(session: Session, team: Team) -> TeamReminder:
    reminder = session.get(TeamReminder, team.id)
    if reminder is None:
        reminder = TeamReminder(
            team_id=team.id, workspace_id=team.workspace_id, cadence=Cadence.WEEKLY
        )
        session.add(reminder)
    return reminder


def set_cadence(session: Session, team: Team, user_id: str, cadence: Cadence) -> TeamReminder:
    """Set the team's cadence; choosing one also ends a snooze (the owner is back)."""
    reminder = reminder_for(session, team)
    reminder.cadence = cadence
    reminder.snoozed_until = None
    reminder.updated_by = user_id
    reminder.updated_at = utcnow()
    session.flush()
    return reminder


def snooze(session: Session, team: Team, user_id: str, until: datetime | None) -> TeamReminder:
    reminder = reminder_for(session, team)
    reminder.snoozed_until = until
    reminder.updated_by = user_id
    reminder.updated_at = utcnow()
    session.flush()
    return reminder


def parse_snooze(text: str, now: datetime, timezone: str | None) -> tuple[datetime | None, str]:
    """`1w`, `2w`, `10d`, `until 2026-12-24`, `2026-12-24` or `off` -> (until, rest of text).

    A date means "until that morning": nudges resume on that day, in the person's zone.
    """
    words = text.split()
    if not words:
        raise UserError(
            f"How long? For example `{COMMAND} snooze 2w` or `{COMMAND} snooze until 2027-01-04`."
        )
    head, rest = words[0].lower(), words[1:]
    if head == "until" and rest:
        head, rest = rest[0].lower(), rest[1:]
    name = " ".join(rest)
    if head in ("off", "stop", "none", "resume"):
        return None, name
    match = re.fullmatch(r"(\d{1,3})([dw])", head)
    if match:
        amount = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
        until = now + timedelta(days=amount)
    else:
        try:
            day = date.fromisoformat(head)
        except ValueError:
            raise UserError(
                f"I don't understand `{head[:40]}`. Snooze with `1w`, `2w`, `10d`, "
                "`until 2027-01-04`, or `off` to resume."
            ) from None
        until = datetime.combine(day, datetime.min.time(), tzinfo=zone(timezone) or zone("UTC"))
    if until <= now:
        raise UserError("That date has passed; pick a day in the future.")
    if until - now > MAX_SNOOZE:
        raise UserError(f"Snoozes last at most a year; use `{COMMAND} remind off` to stop instead.")
    return until, name


# ---------------------------------------------------------------------------- what is due


def _last_contacts(session: Session, workspace_id: str, now: datetime) -> dict[int, datetime]:
    """When each team last dealt with the bot itself, up to `now`: an assessment or a
    reassessment finished (`last_assessed_at`), or a "Done, update my answers" pressed (it
    starts a run of just that step). A nudge soon after would ask for what was just done.
    Moments after `now` are left out, so a tick for an earlier moment (`jobs due --at`)
    is not held back by what happened since."""
    contacts: dict[int, datetime] = {}
    for team_id, assessed in session.execute(
        select(Team.id, Team.last_assessed_at).where(
            Team.workspace_id == workspace_id,
            Team.last_assessed_at.is_not(None),
            Team.last_assessed_at <= now,
        )
    ):
        contacts[team_id] = assessed
    # Runs of one step only ("Done") have capability_ids; full runs count when they finish.
    for team_id, started, capability_ids in session.execute(
        select(Assessment.team_id, Assessment.started_at, Assessment.capability_ids).where(
            Assessment.workspace_id == workspace_id,
            Assessment.started_at > now - CONTACT_LOOKBACK,
            Assessment.started_at <= now,
        )
    ):
        if capability_ids and (team_id not in contacts or started > contacts[team_id]):
            contacts[team_id] = started
    return contacts


def enqueue_due(
    session: Session,
    client: WebClient | None,
    settings: Settings,
    workspace_id: str,
    now: datetime,
) -> dict[str, int]:
    """Enqueue the nudges and reminders due at `now` in the owners' own mornings."""
    rows = session.execute(
        select(TeamOwner, Team, TeamReminder)
        .join(Team, Team.id == TeamOwner.team_id)
        .outerjoin(TeamReminder, TeamReminder.team_id == Team.id)
        .where(Team.workspace_id == workspace_id)
    ).all()
    counts = {"nudge": 0, "reminder": 0}
    if not rows:
        return counts
    owner_ids = {owner.user_id for owner, _, _ in rows}
    if client is not None:
        people.refresh_stale(session, client, workspace_id, owner_ids, budget=USERS_INFO_PER_TICK)
    cache = people.cached(session, workspace_id, owner_ids)
    stale_before = now - timedelta(days=settings.stale_after_days)
    contacts = _last_contacts(session, workspace_id, now)

    candidates: dict[int, list[tuple[TeamOwner, date]]] = defaultdict(list)
    teams: dict[int, Team] = {}
    for owner, team, reminder in rows:
        if not left_to_nudge(team):
            continue
        cadence = reminder.cadence if reminder else Cadence.WEEKLY
        if cadence not in CADENCE_DAYS:
            continue
        if reminder and reminder.snoozed_until and reminder.snoozed_until > now:
            continue
        person = cache.get(owner.user_id)
        if person is None or person.deleted:
            continue  # not cached yet (next tick) or deactivated (never)
        day = nudge_day(now, person.timezone)
        if day is None:
            continue
        teams[team.id] = team
        stale = team.last_assessed_at is not None and team.last_assessed_at < stale_before
        if stale and enqueue(
            session,
            workspace_id=workspace_id,
            key=_reminder_key(team, owner.user_id, day, settings.stale_after_days),
            kind=DeliveryKind.REMINDER,
            channel_id=owner.user_id,
            payload={"team_id": team.id, "owner": owner.user_id},
        ):
            owner.last_nudged_at = now
            counts["reminder"] += 1
            continue
        last = max(
            (moment for moment in (owner.last_nudged_at, contacts.get(team.id)) if moment),
            default=None,
        )
        if cadence_elapsed(cadence, last, day, person.timezone):
            candidates[team.id].append((owner, day))

    if not candidates:
        return counts
    states = team_states(session, workspace_id, [teams[tid] for tid in candidates])
    due = [
        {
            "key": f"nudge:{state.team.id}:{owner.user_id}:{day.isoformat()}",
            "kind": DeliveryKind.NUDGE,
            "channel_id": owner.user_id,
            "payload": {"team_id": state.team.id, "owner": owner.user_id},
        }
        for state in states
        if state.next_step is not None  # at L2 with nothing missing: nothing to nudge about
        for owner, day in candidates[state.team.id]
    ]
    inserted = enqueue_many(session, workspace_id, due)
    if inserted:
        table = TeamOwner.__table__
        session.execute(
            update(table)
            .where(table.c.team_id == bindparam("b_team"), table.c.user_id == bindparam("b_user"))
            .values(last_nudged_at=now),
            [
                {"b_team": item["payload"]["team_id"], "b_user": item["channel_id"]}
                for item in due
                if item["key"] in inserted
            ],
        )
    counts["nudge"] += len(inserted)
    return counts


def _reminder_key(team: Team, owner: str, day: date, stale_after_days: int) -> str:
    """One reminder per 28 days of staleness, counted from the day the team went stale.

    A calendar month would allow two a week apart (30 November, then 7 December); counting
    from the last assessment also starts afresh once the team reassesses.
    """
    stale_since = team.last_assessed_at.date() + timedelta(days=stale_after_days)
    window = max(0, (day - stale_since).days) // REMINDER_EVERY_DAYS
    return f"reassess:{team.id}:{owner}:{team.last_assessed_at:%Y%m%d}:{window}"


# ---------------------------------------------------------------------------- what they say


def left_to_nudge(team: Team) -> bool:
    """Production teams are nudged; a team at L0 by choice only if its owners asked to be."""
    return in_production(team.purpose) or team.nudges_anyway


def _wanted(team: Team, reminder: TeamReminder | None, owner: str, now: datetime) -> bool:
    """Still worth a message at send time: an owner still, in production (or nudged anyway),
    not stopped, not snoozed."""
    if owner not in {o.user_id for o in team.owners}:
        return False
    if not left_to_nudge(team):
        return False
    if reminder is not None:
        if reminder.cadence == Cadence.OFF:
            return False
        if reminder.snoozed_until and reminder.snoozed_until > now:
            return False
    return True


def _still_wanted(session: Session, row: Claimed) -> tuple[Team, TeamReminder | None] | None:
    team = session.scalar(
        select(Team)
        .options(selectinload(Team.owners))
        .where(Team.id == row.payload.get("team_id"), Team.workspace_id == row.workspace_id)
    )
    if team is None:
        return None
    reminder = session.get(TeamReminder, team.id)
    if not _wanted(team, reminder, row.payload.get("owner"), utcnow()):
        return None
    return team, reminder


@dataclass(frozen=True)
class Nudge:
    """What a nudge tells an owner: the team, where it stands, and its next step."""

    team_id: int
    team: str
    cadence: Cadence
    level: int
    progress: str
    step: Step
    left: tuple[str, ...] = ()  # the step's capabilities not yet in place


def nudges_for(session: Session, rows: list[Claimed]) -> dict[int, Nudge | None]:
    """The nudges a batch of rows stand for (by row id), with four queries in all, not four
    per row; None for a row whose owner no longer wants it or whose team has nothing to do."""
    found: dict[int, Nudge | None] = {}
    by_workspace: dict[str, list[Claimed]] = defaultdict(list)
    for row in rows:
        by_workspace[row.workspace_id].append(row)
    now = utcnow()
    for workspace_id, group in by_workspace.items():
        ids = {row.payload.get("team_id") for row in group}
        teams = {
            team.id: team
            for team in session.scalars(
                select(Team)
                .options(selectinload(Team.owners))
                .where(Team.id.in_(ids), Team.workspace_id == workspace_id)
            )
        }
        reminders = {
            r.team_id: r
            for r in session.scalars(select(TeamReminder).where(TeamReminder.team_id.in_(ids)))
        }
        states = {s.team.id: s for s in team_states(session, workspace_id, list(teams.values()))}
        for row in group:
            team = teams.get(row.payload.get("team_id"))
            reminder = reminders.get(team.id) if team else None
            state = states.get(team.id) if team else None
            if (
                team is None
                or not _wanted(team, reminder, row.payload.get("owner"), now)
                or state.next_step is None
            ):
                found[row.id] = None
                continue
            found[row.id] = Nudge(
                team.id,
                team.name,
                _cadence(reminder),
                state.report.level,
                state.report.progress_text,
                state.next_step,
                state.left,
            )
    return found


@dataclass(frozen=True)
class Reassess:
    """A reminder to reassess a team whose last assessment is older than the stale limit."""

    team_id: int
    team: str
    cadence: Cadence
    level: int
    last_assessed_at: datetime
    days: int  # since the last assessment


def reassess_for(session: Session, row: Claimed, settings: Settings) -> Reassess | None:
    """The reminder a row stands for; None when unwanted now or reassessed since it was due."""
    wanted = _still_wanted(session, row)
    if wanted is None:
        return None
    team, reminder = wanted
    if team.last_assessed_at is None:
        return None
    age = (utcnow() - team.last_assessed_at).days
    if age < settings.stale_after_days:
        return None  # reassessed since it was due
    return Reassess(
        team.id, team.name, _cadence(reminder), team.level or 0, team.last_assessed_at, age
    )


def _cadence(reminder: TeamReminder | None) -> Cadence:
    return reminder.cadence if reminder else Cadence.WEEKLY
