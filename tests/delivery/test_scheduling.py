"""What is due when, across DST changes: the calendar rules minute by minute, then the
tick against the database, where the outbox key is what makes "once" hold."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.scheduling import cadence_elapsed, digest_due, next_digest_at, nudge_day
from bot.worker import enqueue_due

# (zone, transition Sunday, local time, the UTC instant it must go out that day)
DST_CASES = [
    # Europe/Berlin springs forward 02:00 -> 03:00 on 29 March 2026.
    ("Europe/Berlin", date(2026, 3, 29), "01:30", datetime(2026, 3, 29, 0, 30)),
    ("Europe/Berlin", date(2026, 3, 29), "02:30", datetime(2026, 3, 29, 1, 30)),  # 03:30 CEST
    # ...and falls back 03:00 -> 02:00 on 25 October 2026 (02:30 happens twice).
    ("Europe/Berlin", date(2026, 10, 25), "01:30", datetime(2026, 10, 24, 23, 30)),
    ("Europe/Berlin", date(2026, 10, 25), "02:30", datetime(2026, 10, 25, 0, 30)),  # the first
    # America/New_York springs forward 02:00 -> 03:00 on 8 March 2026.
    ("America/New_York", date(2026, 3, 8), "01:30", datetime(2026, 3, 8, 6, 30)),
    ("America/New_York", date(2026, 3, 8), "02:30", datetime(2026, 3, 8, 7, 30)),  # 03:30 EDT
    # ...and falls back 02:00 -> 01:00 on 1 November 2026 (01:30 happens twice).
    ("America/New_York", date(2026, 11, 1), "01:30", datetime(2026, 11, 1, 5, 30)),  # the first
    ("America/New_York", date(2026, 11, 1), "02:30", datetime(2026, 11, 1, 7, 30)),
]
SUNDAY = 6


@pytest.mark.parametrize("tz,sunday,at,expected", DST_CASES)
def test_weekly_digest_due_exactly_once_per_week_across_dst(tz, sunday, at, expected):
    """Tick every minute from the Wednesday before to the Wednesday after next."""
    start = datetime.combine(sunday - timedelta(days=4), datetime.min.time(), tzinfo=UTC)
    first_due: dict[str, datetime] = {}
    periods_seen = defaultdict(int)
    now = start
    while now < start + timedelta(days=14):
        due = digest_due(
            cadence="weekly",
            weekday=SUNDAY,
            local_time=at,
            timezone=tz,
            now=now,
            since=start,
        )
        if due is not None:
            first_due.setdefault(due.period, now)
            periods_seen[due.period] += 1
        now += timedelta(minutes=1)
    # Exactly two weeks' digests, each a single period (one outbox key) ...
    assert len(first_due) == 2, first_due
    # ... and the transition Sunday's goes out at the one right instant.
    transition_period = f"{sunday.isocalendar()[0]}-W{sunday.isocalendar()[1]:02d}"
    assert first_due[transition_period] == expected.replace(tzinfo=UTC)
    # The following Sunday is an ordinary day: same wall-clock time, the new offset.
    later = [moment for period, moment in first_due.items() if period != transition_period]
    assert later[0] - first_due[transition_period] in (
        timedelta(days=7),
        timedelta(days=7, hours=1),
        timedelta(days=7, hours=-1),
    )


@pytest.mark.parametrize("tz,sunday,at,expected", DST_CASES)
def test_daily_digest_once_per_local_day_across_dst(tz, sunday, at, expected):
    start = datetime.combine(sunday - timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    periods = {}
    now = start
    while now < start + timedelta(days=5):
        due = digest_due(
            cadence="daily", weekday=None, local_time=at, timezone=tz, now=now, since=start
        )
        if due is not None:
            periods.setdefault(due.period, now)
        now += timedelta(minutes=1)
    assert periods[sunday.isoformat()] == expected.replace(tzinfo=UTC)
    days = sorted(periods)
    assert len(days) == len(set(days))  # one key per local day, however long the day is


@pytest.mark.parametrize("tz,sunday,at,expected", DST_CASES)
def test_tick_enqueues_one_digest_per_week_across_dst(bot, org, tz, sunday, at, expected):
    """The same with the database: ticks every 10 minutes around the transition and every
    three hours otherwise; the outbox key holds it to one."""
    start = datetime.combine(sunday - timedelta(days=3), datetime.min.time(), tzinfo=UTC)
    org.subscribe("CDIGEST", weekday=SUNDAY, at=at, tz=tz, created=start)
    now = start
    while now < start + timedelta(days=9):
        near = abs(now - expected.replace(tzinfo=UTC)) < timedelta(hours=2)
        if (near and now.minute % 10 == 0) or (now.minute == 0 and now.hour % 3 == 0):
            enqueue_due(bot.runtime, now, None)
        now += timedelta(minutes=5)
    digests = [d for d in org.deliveries() if d.kind == "digest"]
    assert len(digests) == 1, [d.idempotency_key for d in digests]
    assert digests[0].idempotency_key.startswith("digest:T0TEST:CDIGEST:2026-W")


def test_catch_up_after_downtime_sends_once_and_only_the_latest(bot, org):
    org.subscribe("CDIGEST", weekday=0, at="09:00", tz="Europe/Berlin")
    # Subscribed for years, the worker down for weeks; it comes back on Wednesday 2 Dec.
    back = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    for minutes in range(0, 180, 1):
        enqueue_due(bot.runtime, back + timedelta(minutes=minutes), None)
    keys = [d.idempotency_key for d in org.deliveries()]
    # One digest, and its trend picture behind it (a delivery of its own: an upload).
    assert keys == ["digest:T0TEST:CDIGEST:2026-W49", "picture:T0TEST:CDIGEST:2026-W49"]


def test_a_new_schedule_does_not_send_for_a_time_already_past(bot, org):
    monday_10 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    org.subscribe("CDIGEST", weekday=0, at="09:00", tz="Europe/Berlin", created=monday_10)
    enqueue_due(bot.runtime, monday_10 + timedelta(minutes=5), None)
    assert org.deliveries() == []
    enqueue_due(bot.runtime, monday_10 + timedelta(days=7), None)
    assert [d.idempotency_key for d in org.deliveries()] == [
        "digest:T0TEST:CDIGEST:2026-W50",
        "picture:T0TEST:CDIGEST:2026-W50",
    ]


def test_next_digest_time_for_confirmations():
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday
    nxt = next_digest_at(
        cadence="weekly", weekday=0, local_time="09:00", timezone="Europe/Berlin", now=now
    )
    assert nxt == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "utc,tz,expected",
    [
        (datetime(2026, 11, 30, 8, 0), "Europe/Berlin", date(2026, 11, 30)),  # Mon 09:00
        (datetime(2026, 11, 30, 7, 59), "Europe/Berlin", None),  # 08:59: too early
        (datetime(2026, 11, 30, 11, 0), "Europe/Berlin", None),  # 12:00: past the morning
        (datetime(2026, 11, 30, 21, 0), "Europe/Berlin", None),  # 22:00: quiet hours
        (datetime(2026, 11, 28, 9, 0), "Europe/Berlin", None),  # Saturday
        (datetime(2026, 11, 30, 0, 30), "Asia/Tokyo", date(2026, 11, 30)),  # Mon 09:30 JST
        (datetime(2026, 11, 29, 0, 30), "Asia/Tokyo", None),  # Sunday in Tokyo
        (datetime(2026, 11, 30, 14, 0), "America/New_York", date(2026, 11, 30)),
        (datetime(2026, 11, 30, 14, 0), None, None),  # unknown zone: UTC, 14:00
        (datetime(2026, 11, 30, 10, 0), "Not/AZone", date(2026, 11, 30)),
    ],
)
def test_nudges_only_on_weekday_mornings_in_the_owners_zone(utc, tz, expected):
    assert nudge_day(utc.replace(tzinfo=UTC), tz) == expected


@pytest.mark.parametrize(
    "cadence,days_since,expected",
    [
        ("weekly", 6, False),
        ("weekly", 7, True),
        ("biweekly", 13, False),
        ("biweekly", 14, True),
        ("monthly", 27, False),
        ("monthly", 28, True),
        ("off", 100, False),
    ],
)
def test_cadence_in_local_days(cadence, days_since, expected):
    today = date(2026, 11, 30)
    last = datetime(2026, 11, 30, 8, 0, tzinfo=UTC) - timedelta(days=days_since)
    assert cadence_elapsed(cadence, last, today, "Europe/Berlin") is expected
    assert cadence_elapsed(cadence, None, today, "Europe/Berlin") is (cadence != "off")
