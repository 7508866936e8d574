"""Org digests and level-change announcements: who subscribes, what is due, what they say.

A digest summarises rather than lists, because it must fit one Slack message (50 blocks,
3,000 characters a section) for ten teams or ten thousand: counts per level, at most ten
names per list with "and N more", and a button to the full overview. It is rendered when it
is sent, from the data of that moment, so a digest that waited for a rate limit is not stale.

It points where the return is highest: production teams at L0 come first, named as the
place where moving up pays most. Teams whose models are not in production (research, proofs
of concept, single-use) are counted apart, "L0 by choice", and never listed as behind: the
level counts, the stale list and the common next step are about production teams.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Settings
from bot.domain import PURPOSES, Step, in_production, teams_count
from bot.errors import UserError
from bot.models import (
    DIGEST_CADENCES,
    AnswerRecord,
    Cadence,
    DigestSubscription,
    LevelChange,
    PurposeChange,
    Team,
    Workspace,
    utcnow,
)
from bot.outbox import Claimed, DeliveryKind, enqueue
from bot.scheduling import WEEKDAYS, digest_due, find_zone, next_digest_at, parse_hhmm, zone
from bot.services import evidence_view, maturity, workspaces
from bot.services.teams import team_states

LIST_LIMIT = 10
CHANNEL_TOKEN = re.compile(r"<#([CG][A-Z0-9]{2,30})(?:\|[^>]*)?>")
USAGE = (
    "Use `{command} digest #channel weekly|daily|off [day] [HH:MM] [timezone] [charts on|off]`,"
    " for example `{command} digest #ml-leads weekly monday 09:00 Europe/Berlin`."
)


@dataclass(frozen=True)
class DigestRequest:
    """What `/mlops digest ...` asked for; None fields keep the current (or default) value."""

    channel_id: str
    cadence: Cadence
    weekday: int | None = None
    local_time: str | None = None
    timezone: str | None = None
    charts: bool | None = None  # the trend picture with each digest; None keeps it as is


def parse_request(text: str, command: str) -> DigestRequest:
    """Parse the arguments after `digest`; a UserError says exactly what was not understood."""
    usage = USAGE.format(command=command)
    tokens = text.split()
    if not tokens:
        raise UserError(f"Which channel should get the digest? {usage}")
    match = CHANNEL_TOKEN.fullmatch(tokens[0])
    if not match:
        if tokens[0].startswith("#"):
            raise UserError(
                f"I couldn't tell which channel `{tokens[0][:40]}` is. Type `#` and pick the "
                f"channel from Slack's list, so Slack sends me its id. {usage}"
            )
        raise UserError(f"The first word should be a channel, like `#ml-leads`. {usage}")
    cadence, weekday, at, tz, charts = Cadence.WEEKLY, None, None, None, None
    rest = iter(tokens[1:])
    for token in rest:
        word = token.lower()
        if word in ("charts", "chart", "pictures"):
            switch = next(rest, "").lower()
            if switch not in ("on", "off"):
                raise UserError(f"Say `charts on` or `charts off`. {usage}")
            charts = switch == "on"
        elif word in DIGEST_CADENCES:
            cadence = Cadence(word)
        elif (day := _weekday(word)) is not None:
            weekday = day
        elif parse_hhmm(token) is not None:
            at = parse_hhmm(token).strftime("%H:%M")
        elif (name := find_zone(token)) is not None:
            tz = name
        else:
            raise UserError(
                f"I don't understand `{token[:40]}`: expected weekly, daily or off, a day "
                f"(monday...sunday), a time like 09:00, or a time zone like Europe/Berlin. "
                f"{usage}"
            )
    if cadence == Cadence.DAILY and weekday is not None:
        raise UserError(f"A daily digest goes out every day, so it takes no day. {usage}")
    return DigestRequest(match.group(1), cadence, weekday, at, tz, charts)


def _weekday(word: str) -> int | None:
    for index, name in enumerate(WEEKDAYS):
        if word == name or (len(word) >= 3 and name.startswith(word)):
            return index
    return None


def subscribe(
    session: Session,
    workspace_id: str,
    user_id: str,
    request: DigestRequest,
    default_timezone: str | None,
) -> DigestSubscription | None:
    """Create, change or (cadence off) remove the channel's subscription.

    Fields the person left out keep their current values, so `digest #c daily` changes the
    cadence without resetting the time. Returns the subscription, or None once removed.
    """
    workspaces.ensure(session, workspace_id)
    sub = session.scalar(
        select(DigestSubscription).where(
            DigestSubscription.workspace_id == workspace_id,
            DigestSubscription.channel_id == request.channel_id,
        )
    )
    if request.cadence == Cadence.OFF:
        if sub is not None:
            session.delete(sub)
        return None
    if sub is None:
        sub = DigestSubscription(
            workspace_id=workspace_id,
            channel_id=request.channel_id,
            created_by=user_id,
            local_time="09:00",
            timezone=default_timezone if zone(default_timezone) else "UTC",
        )
        session.add(sub)
    sub.cadence = request.cadence
    if request.cadence == Cadence.WEEKLY:
        sub.weekday = request.weekday if request.weekday is not None else (sub.weekday or 0)
    else:
        sub.weekday = None
    sub.local_time = request.local_time or sub.local_time or "09:00"
    sub.timezone = request.timezone or sub.timezone or "UTC"
    if request.charts is not None:
        sub.charts = request.charts
    elif sub.charts is None:
        sub.charts = True
    sub.updated_at = utcnow()
    session.flush()
    return sub


def subscriptions(session: Session, workspace_id: str) -> list[DigestSubscription]:
    return list(
        session.scalars(
            select(DigestSubscription)
            .where(DigestSubscription.workspace_id == workspace_id)
            .order_by(DigestSubscription.channel_id)
        )
    )


def describe(sub: DigestSubscription, now: datetime | None = None) -> str:
    """ "weekly on Mondays at 09:00 Europe/Berlin (next: Mon 30 Nov 09:00)"."""
    when = (
        f"weekly on {WEEKDAYS[sub.weekday or 0].title()}s"
        if sub.cadence == Cadence.WEEKLY
        else "daily"
    )
    upcoming = next_digest_at(
        cadence=sub.cadence,
        weekday=sub.weekday,
        local_time=sub.local_time,
        timezone=sub.timezone,
        now=now or utcnow(),
    )
    text = f"{when} at {sub.local_time} {sub.timezone}"
    if sub.charts is False:
        text += ", without the trend picture"
    if upcoming is not None:
        local = upcoming.astimezone(zone(sub.timezone))
        text += f" (next: {local:%a %d %b %H:%M})"
    return text


def enqueue_due(session: Session, workspace_id: str, now: datetime) -> int:
    """Enqueue every digest due at `now`; the period in the key makes repeats harmless."""
    count = 0
    for sub in subscriptions(session, workspace_id):
        due = digest_due(
            cadence=sub.cadence,
            weekday=sub.weekday,
            local_time=sub.local_time,
            timezone=sub.timezone,
            now=now,
            since=sub.updated_at or sub.created_at,
        )
        if due is None:
            continue
        count += enqueue(
            session,
            workspace_id=workspace_id,
            key=f"digest:{workspace_id}:{sub.channel_id}:{due.period}",
            kind=DeliveryKind.DIGEST,
            channel_id=sub.channel_id,
            payload={"subscription_id": sub.id, "period": due.period},
        )
        if sub.charts:
            # The picture is a delivery of its own, queued behind the digest: an upload is
            # a different Slack call with a different crash check (see picture_for). The
            # count is of digests.
            enqueue(
                session,
                workspace_id=workspace_id,
                key=f"picture:{workspace_id}:{sub.channel_id}:{due.period}",
                kind=DeliveryKind.PICTURE,
                channel_id=sub.channel_id,
                payload={
                    "subscription_id": sub.id,
                    "period": due.period,
                    "filename": f"maturity-trend-{due.period}.png",
                },
            )
    return count


def digest_channels(session: Session, workspace_id: str) -> list[str]:
    """Channels that hear about level changes besides a team's home channel."""
    return [sub.channel_id for sub in subscriptions(session, workspace_id)]


# ---------------------------------------------------------------------------- what it says


def _names(teams: list[Team]) -> tuple[list[str], int]:
    shown = [team.name for team in teams[:LIST_LIMIT]]
    return shown, max(0, len(teams) - LIST_LIMIT)


_MEMO: dict[tuple, tuple[float, dict]] = {}
_MEMO_LOCK = threading.Lock()
_KEY_LOCKS: dict[tuple, threading.Lock] = {}
MEMO_SECONDS = 60


def digest_context(
    session: Session, workspace_id: str, settings: Settings, since: datetime, now: datetime
) -> dict:
    """Everything a digest shows, summarised to fit one message whatever the org's size.

    Two hundred channels due at 09:00 would otherwise compute the same org summary two
    hundred times; within a minute, channels with the same `since` share one.
    """
    key = (
        str(session.get_bind().url),
        workspace_id,
        settings.stale_after_days,
        f"{since:%Y%m%d%H%M}",
        f"{now:%Y%m%d%H%M}",
        _fingerprint(session, workspace_id),
        maturity.for_workspace(session, workspace_id).ref,  # a switch of model changes it all
    )
    with _MEMO_LOCK:
        for old in [k for k, (at, _) in _MEMO.items() if time.monotonic() - at >= MEMO_SECONDS]:
            del _MEMO[old]
        lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with lock:  # the first thread computes; the others wait for its answer
        hit = _MEMO.get(key)
        if hit is None:
            hit = _MEMO[key] = (
                time.monotonic(),
                _digest_context(session, workspace_id, settings, since, now),
            )
    with _MEMO_LOCK:
        if len(_KEY_LOCKS) > 256:
            _KEY_LOCKS.clear()
    return dict(hit[1], command=settings.slash_command)


def _fingerprint(session: Session, workspace_id: str) -> tuple:
    """Changes whenever a team, an answer, a level or the evidence changes: a shared summary
    stays true."""
    teams = session.execute(
        select(func.count(Team.id), func.max(Team.id)).where(Team.workspace_id == workspace_id)
    ).one()
    answers = session.scalar(
        select(func.max(AnswerRecord.id)).where(AnswerRecord.workspace_id == workspace_id)
    )
    changes = session.scalar(
        select(func.max(LevelChange.id)).where(LevelChange.workspace_id == workspace_id)
    )
    purposes = session.scalar(
        select(func.max(PurposeChange.id)).where(PurposeChange.workspace_id == workspace_id)
    )
    return (*teams, answers, changes, purposes, evidence_view.fingerprint(session, workspace_id))


def _digest_context(
    session: Session, workspace_id: str, settings: Settings, since: datetime, now: datetime
) -> dict:
    teams = list(
        session.scalars(
            select(Team).where(Team.workspace_id == workspace_id).order_by(Team.name_key)
        )
    )
    models = maturity.for_workspace(session, workspace_id)
    every_state = team_states(session, workspace_id, teams, models)
    states = [state for state in every_state if in_production(state.team.purpose)]
    per_purpose = Counter(
        state.team.purpose for state in every_state if not in_production(state.team.purpose)
    )
    per_level = Counter(state.report.level for state in states if state.answers)
    not_assessed = sum(1 for state in states if not state.answers)
    at_base = [state.team for state in states if state.answers and state.report.level == 0]
    moved = session.execute(
        select(PurposeChange, Team)
        .join(Team, Team.id == PurposeChange.team_id)
        .where(
            PurposeChange.workspace_id == workspace_id,
            PurposeChange.changed_at > since,
            PurposeChange.from_purpose.is_not(None),
        )
        .order_by(PurposeChange.id)
    ).all()
    to_production = [
        team
        for change, team in moved
        if not in_production(change.from_purpose)
        and in_production(change.to_purpose)
        and in_production(team.purpose)
    ]
    to_production = list({team.id: team for team in to_production}.values())
    changes = session.execute(
        select(LevelChange, Team)
        .join(Team, Team.id == LevelChange.team_id)
        .where(
            LevelChange.workspace_id == workspace_id,
            LevelChange.changed_at > since,
            # a level that moved only because the model changed: nobody moved up or down
            LevelChange.cause.is_(None),
        )
        .order_by(LevelChange.changed_at)
    ).all()
    latest: dict[int, tuple[int | None, int, Team]] = {}
    for change, team in changes:
        first = latest.get(team.id, (change.from_level, 0, team))[0]
        latest[team.id] = (first, change.to_level, team)
    up = [
        (team, first, to)
        for first, to, team in latest.values()
        # a first assessment at L0 is not a move up: nothing moved
        if (first is None and to > 0) or (first is not None and to > first)
    ]
    down = [
        (team, first, to) for first, to, team in latest.values() if first is not None and to < first
    ]
    stale_before = now - timedelta(days=settings.stale_after_days)
    stale = [
        state.team
        for state in states
        if state.team.last_assessed_at is not None and state.team.last_assessed_at < stale_before
    ]
    steps = Counter(state.next_step.number for state in states if state.next_step is not None)
    common = None
    if steps:
        number, count = steps.most_common(1)[0]
        step = models.step(number)
        common = {"number": number, "title": step.title, "teams": count}
    stale_names, stale_more = _names(stale)
    evidence = evidence_view.totals(session, workspace_id, every_state, now)
    focus_names, focus_more = _names(at_base)
    production_names, production_more = _names(to_production)
    return {
        "total": len(teams),
        "production_total": len(states),
        "focus": focus_names,
        "focus_more": focus_more,
        "base_label": models.level_label(0),
        "next_label": models.level_label(1),
        "apart": [
            teams_count(purpose, per_purpose[purpose])
            for purpose in PURPOSES
            if per_purpose[purpose]
        ],
        "to_production": production_names,
        "to_production_more": production_more,
        "levels": [
            {"label": models.level_label(level), "count": per_level.get(level, 0)}
            for level in models.levels
        ],
        "not_assessed": not_assessed,
        "up": [_move(team, first, to) for team, first, to in up[:LIST_LIMIT]],
        "up_more": max(0, len(up) - LIST_LIMIT),
        "down": [_move(team, first, to) for team, first, to in down[:LIST_LIMIT]],
        "down_more": max(0, len(down) - LIST_LIMIT),
        "stale": stale_names,
        "stale_more": stale_more,
        "stale_days": settings.stale_after_days,
        "common_step": common,
        "evidence": vars(evidence),
        "command": settings.slash_command,
    }


def _move(team: Team, first: int | None, to: int) -> dict:
    return {"name": team.name, "from": "new" if first is None else f"L{first}", "to": f"L{to}"}


@dataclass(frozen=True)
class Digest:
    """What one digest says: the org's summary (`facts`) since `since`, for a subscription."""

    subscription_id: int
    cadence: Cadence
    since: datetime  # in the subscription's own time zone
    facts: dict


def digest_for(session: Session, row: Claimed, settings: Settings) -> Digest | None:
    """The digest a row stands for, from the data of now; None once there is none to send."""
    sub = session.get(DigestSubscription, row.payload.get("subscription_id"))
    if sub is None or sub.channel_id != row.channel_id or sub.cadence == Cadence.OFF:
        return None  # unsubscribed since it was due
    workspace = session.get(Workspace, row.workspace_id)
    if workspace is None or workspace.uninstalled_at is not None:
        return None
    now = utcnow()
    window = timedelta(days=1 if sub.cadence == Cadence.DAILY else 7)
    since = sub.last_sent_at or max(now - window, sub.created_at - window)
    facts = digest_context(session, row.workspace_id, settings, since, now)
    return Digest(sub.id, sub.cadence, since.astimezone(zone(sub.timezone)), facts)


@dataclass(frozen=True)
class DigestPicture:
    """The trend picture that goes with a digest: which subscription, under which file name."""

    subscription_id: int
    filename: str
    period: str


def picture_for(session: Session, row: Claimed) -> DigestPicture | None:
    """The picture a row stands for; None once the channel has no digest or no charts.

    Its file name (fixed at enqueueing, `maturity-trend-{period}.png`) is how the crash
    check recognises an earlier upload in the channel: unique per channel and period.
    """
    sub = session.get(DigestSubscription, row.payload.get("subscription_id"))
    if sub is None or sub.channel_id != row.channel_id or sub.cadence == Cadence.OFF:
        return None
    if not sub.charts:
        return None
    workspace = session.get(Workspace, row.workspace_id)
    if workspace is None or workspace.uninstalled_at is not None:
        return None
    filename = str(row.payload.get("filename") or "maturity-trend.png")
    return DigestPicture(sub.id, filename, str(row.payload.get("period") or ""))


def remember_picture(
    session: Session,
    shared_at: datetime,
    *,
    subscription_id: int,
    file_id: str | None,
    alt_text: str,
) -> None:
    """Keep the shared file's id for App Home (run in the transaction recording the send)."""
    subscription = session.get(DigestSubscription, subscription_id)
    if subscription is not None and file_id:
        subscription.picture_file_id = file_id
        subscription.picture_alt_text = alt_text
        subscription.picture_shared_at = shared_at


@dataclass(frozen=True)
class SharedPicture:
    file_id: str
    alt_text: str
    shared_at: datetime


def latest_picture(session: Session, workspace_id: str, since: datetime) -> SharedPicture | None:
    """The newest trend picture a digest shared since `since`, or None.

    App Home shows it rather than uploading a picture of its own: Slack shows an uploaded
    image in a view only to people who can see the file, so it must be shared in a
    channel, and a digest's picture is, at most once a day.
    """
    row = session.execute(
        select(
            DigestSubscription.picture_file_id,
            DigestSubscription.picture_alt_text,
            DigestSubscription.picture_shared_at,
        )
        .where(
            DigestSubscription.workspace_id == workspace_id,
            DigestSubscription.picture_file_id.is_not(None),
            DigestSubscription.picture_shared_at >= since,
        )
        .order_by(DigestSubscription.picture_shared_at.desc())
        .limit(1)
    ).first()
    return SharedPicture(row[0], row[1] or "", row[2]) if row else None


def mark_sent(session: Session, sent_at: datetime, *, subscription_id: int) -> None:
    """The next digest counts from here (run in the transaction that records the send)."""
    subscription = session.get(DigestSubscription, subscription_id)
    if subscription is not None:
        subscription.last_sent_at = sent_at


@dataclass(frozen=True)
class Announcement:
    """A team's level change, as announced: who moved where, and what they do next."""

    team_id: int
    team: str
    from_level: int | None  # None: the team's first assessment
    to_level: int
    changed_by: str
    next_step: Step | None
    left: tuple[str, ...] = ()  # the next step's capabilities not yet in place


def announcement_for(session: Session, row: Claimed) -> Announcement | None:
    """The level change a row announces; None when the change or its team is gone."""
    change = session.get(LevelChange, row.payload.get("level_change_id"))
    if change is None or change.workspace_id != row.workspace_id:
        return None
    team = session.get(Team, change.team_id)
    if team is None:
        return None
    state = team_states(session, row.workspace_id, [team])[0]
    return Announcement(
        team.id,
        team.name,
        change.from_level,
        change.to_level,
        change.changed_by,
        state.next_step,
        state.left,
    )
