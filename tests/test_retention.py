"""Retention: the worker tick deletes finished deliveries, handled event ids and expired OAuth
states after their time, keeps what idempotency needs, and /metrics shows each table's size.

Through the front door on both databases: a real digest subscription sends a real digest
through the worker's tick, a signed event leaves its id, the install page's state store
issues a state; the tick is then run at later moments, as the worker would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from bot import retention
from bot.config import ConfigError, load_settings
from bot.db import make_engine, make_session_factory
from bot.installations import DatabaseOAuthStateStore
from bot.migrate import upgrade
from bot.models import Delivery, DeliveryState, OAuthState, ProcessedEvent, utcnow
from bot.outbox import enqueue
from bot.services import workspaces
from bot.worker import tick
from tests.conftest import fresh_sqlite_url
from tests.driver import Person, text_of
from tests.test_observability import metric, operator

CHANNEL = "C0LEADS"


def rows(bot, model) -> int:
    with bot.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def digests_sent(bot, key: str | None = None) -> int:
    """Digests posted to CHANNEL (with the outbox key `key`, if given)."""
    return len(
        [
            c
            for c in bot.slack.calls_to("chat.postMessage")
            if c.args["channel"] == CHANNEL
            and c.args.get("metadata", {}).get("event_type") == "mlops_bot_delivery"
            and key in (None, c.args["metadata"]["event_payload"]["key"])
        ]
    )


@pytest.fixture
def admin_bot(make_bot):
    """The bot with U1 as a bot admin (digests are an admin's to set up)."""
    bot = make_bot(admin_user_ids=frozenset({"U1"}))
    bot.slack.add_channel(CHANNEL, is_member=True)
    return bot


def test_the_tick_purges_after_the_retention_and_keeps_what_idempotency_needs(admin_bot):
    bot = admin_bot
    person = Person(bot)
    person.command("assess Fraud ML")
    assert "daily" in text_of(person.command(f"digest <#{CHANNEL}|ml-leads> daily 07:15"))
    start = utcnow()
    morning = (start + timedelta(days=1)).replace(hour=7, minute=30)
    tick(bot.runtime, morning)
    assert digests_sent(bot) == 1
    with bot.session() as session:
        (first,) = session.scalars(select(Delivery).where(Delivery.kind == "digest"))
        assert first.state == DeliveryState.SENT
        first_key = first.idempotency_key
    bot.client.event({"type": "app_home_opened", "user": "U1", "tab": "home"})
    assert rows(bot, ProcessedEvent) == 1
    DatabaseOAuthStateStore(bot.runtime.session_factory).issue()
    assert rows(bot, OAuthState) == 1

    # An hour later: the event id still guards against Slack's retries; the state expired.
    counts = tick(bot.runtime, start + timedelta(hours=1))
    assert counts.get("purged_oauth_states") == 1 and "purged_processed_events" not in counts
    assert rows(bot, ProcessedEvent) == 1 and rows(bot, OAuthState) == 0

    # A day later the event id goes; the delivery stays while its key could recur.
    counts = tick(bot.runtime, start + timedelta(hours=25))
    assert counts.get("purged_processed_events") == 1 and rows(bot, ProcessedEvent) == 0
    counts = tick(bot.runtime, start + timedelta(days=29))
    assert "purged_deliveries" not in counts
    tick(bot.runtime, morning)  # the same period again: its key is still there, not resent
    assert digests_sent(bot, first_key) == 1

    # Past DELIVERY_RETENTION_DAYS (30) the finished row goes; pending rows never do.
    with bot.session() as session:
        enqueue(session, workspace_id="T0TEST", key="later", kind="digest", channel_id=CHANNEL)
        session.execute(
            Delivery.__table__.update()
            .where(Delivery.idempotency_key == "later")
            .values(available_at=start + timedelta(days=400))
        )
        session.commit()
    with bot.session() as session:
        finished = session.scalar(
            select(func.count()).where(Delivery.state.in_(retention.FINISHED))
        )
    assert finished >= 1
    purged = retention.purge(bot.runtime.session_factory, bot.settings, start + timedelta(days=31))
    assert purged == {"deliveries": finished}
    with bot.session() as session:
        keys = set(session.scalars(select(Delivery.idempotency_key)))
    assert first_key not in keys and "later" in keys


def test_purging_goes_in_batches(bot, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 3)
    with bot.session() as session:
        workspaces.ensure(session, "T0TEST")
        for n in range(7):
            enqueue(session, workspace_id="T0TEST", key=f"k{n}", kind="digest", channel_id="C1")
        session.execute(Delivery.__table__.update().values(state=DeliveryState.CANCELLED))
        session.commit()
    purged = retention.purge(bot.runtime.session_factory, bot.settings, utcnow() + timedelta(31))
    assert purged == {"deliveries": 7} and rows(bot, Delivery) == 0


def test_metrics_show_every_table_size(bot):
    Person(bot).command("assess Fraud ML")
    text = operator(bot).get("/metrics").body
    assert metric(text, 'mlops_bot_table_rows{table="teams"}') == 1
    assert metric(text, 'mlops_bot_table_rows{table="workspaces"}') == 1
    assert metric(text, 'mlops_bot_table_rows{table="deliveries"}') == 0
    assert metric(text, 'mlops_bot_table_rows{table="processed_events"}') == 0


def test_retention_settings_are_checked():
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    settings = load_settings(base)
    assert (settings.delivery_retention_days, settings.event_retention_hours) == (30, 24)
    with pytest.raises(ConfigError, match="DELIVERY_RETENTION_DAYS .* at least 30"):
        load_settings({**base, "DELIVERY_RETENTION_DAYS": "7"})
    with pytest.raises(ConfigError, match="EVENT_RETENTION_HOURS"):
        load_settings({**base, "EVENT_RETENTION_HOURS": "0"})
    assert load_settings({**base, "DELIVERY_RETENTION_DAYS": "90"}).delivery_retention_days == 90


def test_the_minimum_covers_the_longest_key_window():
    from bot.config import MIN_DELIVERY_RETENTION_DAYS
    from bot.services.nudges import REMINDER_EVERY_DAYS

    assert MIN_DELIVERY_RETENTION_DAYS >= REMINDER_EVERY_DAYS + 2


def test_the_purge_finds_old_events_and_deliveries_by_index_not_by_scanning(tmp_path):
    """The purge runs every minute on tables that grow with every event and message: its
    look-ups there are index searches (SQLite's plan), not scans of the whole table. (OAuth
    states live minutes and stay few.)"""
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    engine = make_engine(url)
    looked_up: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            looked_up.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        settings = load_settings({}, require_slack=False)
        retention.purge(make_session_factory(engine), settings, utcnow())
        event.remove(engine, "before_cursor_execute", capture)
        growing = [(s, p) for s, p in looked_up if "FROM oauth_states" not in s]
        tables = {"deliveries", "processed_events"}
        assert {t for t in tables for s, _ in growing if f"FROM {t}" in s} == tables
        with engine.connect() as connection:
            for statement, parameters in growing:
                plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                details = " | ".join(row[3] for row in plan)
                assert "USING" in details and " SCAN " not in f" {details} ", (statement, details)
    finally:
        engine.dispose()
