"""What is due when: pure calendar rules for digests, nudges and reassessment reminders.

Everything here works on the recipient's local calendar, because that is what people see and
what DST shifts: a schedule is "Mondays at 09:00 Europe/Berlin", never "every 168 hours".
Each due item is named by its local calendar period (ISO week, local date, month); the
outbox key is built from that name, so a tick that runs twice, late, or across a DST change
can only ever produce the same key again, and the outbox ignores it.

No database, Slack or templates here, so the rules can be tested minute by minute over whole
DST transitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.models import Cadence

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

NUDGE_WINDOW = (time(9, 0), time(12, 0))
"""Nudges go out on weekday mornings, local time: late enough to be at work, early enough
to act on the same day. A worker that was down at 09:00 still catches up until noon."""

CADENCE_DAYS = {Cadence.WEEKLY: 7, Cadence.BIWEEKLY: 14, Cadence.MONTHLY: 28}
"""Monthly is four weeks, so a team's nudge keeps landing on the same weekday."""


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone called `name`, or None when it is not one (Slack sends IANA names)."""
    if not name or not re.fullmatch(r"[A-Za-z0-9_+\-/]{1,64}", name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, IsADirectoryError):
        return None


def find_zone(text: str) -> str | None:
    """Match what a person typed ("europe/berlin", "UTC") to a canonical IANA name."""
    if zone(text) is not None and text in available_timezones() | {"UTC"}:
        return text
    wanted = text.strip().lower()
    for name in available_timezones():
        if name.lower() == wanted:
            return name
    return None


def parse_hhmm(text: str) -> time | None:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    return time(int(match.group(1)), int(match.group(2))) if match else None


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on `day` in `tz`.

    Two DST cases, both decided once here: a time skipped in spring (02:30 on the day clocks
    jump from 02:00 to 03:00) is taken with the offset before the jump, so it lands just after
    the gap (03:30); a time that happens twice in autumn is its first occurrence (fold=0).
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class DigestDue:
    """A digest occurrence that has come and whose period has not ended yet."""

    period: str  # "2026-W48" (weekly) or "2026-11-27" (daily), in the subscription's zone
    scheduled_at: datetime  # UTC


def digest_due(
    *,
    cadence: Cadence,
    weekday: int | None,
    local_time: str,
    timezone: str,
    now: datetime,
    since: datetime | None = None,
) -> DigestDue | None:
    """The digest due at `now`: the latest scheduled occurrence not in the future.

    It stays due until the next occurrence, which is what makes catch-up work: a worker that
    was down at 09:00 on Monday sends that week's digest when it comes back on Wednesday, once
    (same period, same key), and a worker down for three weeks sends only the latest. An
    occurrence before `since` (when the schedule was set) is never due, so subscribing at
    10:00 for 09:00 digests does not send one at once.
    """
    tz = zone(timezone) or ZoneInfo("UTC")
    at = parse_hhmm(local_time) or time(9, 0)
    today = now.astimezone(tz).date()
    if cadence == Cadence.DAILY:
        step = timedelta(days=1)
        day = today
    elif cadence == Cadence.WEEKLY:
        step = timedelta(days=7)
        day = today - timedelta(days=(today.weekday() - (weekday or 0)) % 7)
    else:
        return None
    scheduled = local_instant(day, at, tz)
    if scheduled > now:
        day -= step
        scheduled = local_instant(day, at, tz)
    if since is not None and scheduled < since:
        return None
    if cadence == Cadence.DAILY:
        period = day.isoformat()
    else:
        year, week, _ = day.isocalendar()
        period = f"{year}-W{week:02d}"
    return DigestDue(period, scheduled)


def next_digest_at(
    *, cadence: Cadence, weekday: int | None, local_time: str, timezone: str, now: datetime
) -> datetime | None:
    """When the next digest goes out (for confirmations): the first occurrence after now."""
    tz = zone(timezone) or ZoneInfo("UTC")
    at = parse_hhmm(local_time) or time(9, 0)
    day = now.astimezone(tz).date() - timedelta(days=1)
    for _ in range(16):
        if cadence == Cadence.DAILY or day.weekday() == (weekday or 0):
            instant = local_instant(day, at, tz)
            if instant > now:
                return instant
        day += timedelta(days=1)
    return None


def nudge_day(now: datetime, timezone: str | None) -> date | None:
    """The owner's local date when `now` is a weekday morning for them, else None.

    An owner whose zone is unknown is treated as UTC, which is at worst a few hours off.
    """
    local = now.astimezone(zone(timezone) or ZoneInfo("UTC"))
    if local.weekday() >= 5:
        return None
    if not NUDGE_WINDOW[0] <= local.time() < NUDGE_WINDOW[1]:
        return None
    return local.date()


def cadence_elapsed(
    cadence: Cadence, last: datetime | None, today: date, timezone: str | None
) -> bool:
    """True when a team on `cadence` may be nudged again on local date `today`.

    Compared in local dates, not hours, so "weekly" means "not again before next Monday
    morning", whatever time of the morning the last one went out or DST did in between.
    """
    days = CADENCE_DAYS.get(cadence)
    if days is None:
        return False
    if last is None:
        return True
    last_day = last.astimezone(zone(timezone) or ZoneInfo("UTC")).date()
    return (today - last_day).days >= days
