"""The migrations build the schema the models describe, on SQLite and PostgreSQL."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.db import make_engine
from bot.migrate import downgrade, upgrade
from bot.models import Base
from tests.conftest import fresh_postgres_schema, fresh_sqlite_url, postgres_url_or_skip

TABLES = {
    "workspaces",
    "teams",
    "team_owners",
    "team_reminders",
    "assessments",
    "answers",
    "level_changes",
    "purpose_changes",
    "digest_subscriptions",
    "deliveries",
    "slack_users",
    "processed_events",
    "worker_heartbeats",
    "installations",
    "oauth_states",
    "outbox_pace",
    "evidence_sources",
    "evidence_facts",
    "workspace_models",
    "evidence_dismissals",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return fresh_sqlite_url(tmp_path)
    return fresh_postgres_schema(postgres_url_or_skip(), f"mlops_migrations_{os.getpid()}")


def table_names(url):
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_then_downgrade_then_upgrade(empty_url):
    upgrade(empty_url)
    assert table_names(empty_url) == TABLES
    downgrade(empty_url, "base")
    assert table_names(empty_url) == set()
    upgrade(empty_url)
    assert table_names(empty_url) == TABLES


def test_models_and_migrations_agree(empty_url):
    upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_sqlite_is_tuned(tmp_path):
    url = fresh_sqlite_url(tmp_path)
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() >= 5000
    finally:
        engine.dispose()
