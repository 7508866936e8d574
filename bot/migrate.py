"""Run Alembic programmatically, so `mlops-bot migrate` works from an installed package
without an alembic.ini in the working directory."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import migrations
from bot.config import normalise_database_url


def alembic_config(database_url: str, token_encryption_keys: Sequence[str] | None = None) -> Config:
    """`token_encryption_keys` reach the migration that encrypts stored tokens (0005); None
    lets it read TOKEN_ENCRYPTION_KEYS from the environment itself."""
    config = Config()
    if token_encryption_keys is not None:
        config.attributes["token_encryption_keys"] = tuple(token_encryption_keys)
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # ConfigParser treats % specially; a password may contain one.
    config.set_main_option(
        "sqlalchemy.url", normalise_database_url(database_url).replace("%", "%%")
    )
    return config


SCHEMA_BEHIND = "the database schema is not at the latest migration: run `mlops-bot migrate`"


class SchemaBehind(Exception):
    """The database answers but was never migrated, or not to this version's head."""

    def __init__(self) -> None:
        super().__init__(SCHEMA_BEHIND)


def schema_is_current(engine: Engine) -> bool:
    """True when the database's Alembic revision is this code's head revision.

    A database error (it does not answer) propagates: that is a different problem, which
    the caller reports its own way.
    """
    heads = set(ScriptDirectory(str(Path(migrations.__file__).parent)).get_heads())
    # Alembic says "Context impl SQLiteImpl." at INFO whenever it looks: not worth a line here
    chatty = logging.getLogger("alembic.runtime.migration")
    level = chatty.level
    chatty.setLevel(logging.WARNING)
    try:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        chatty.setLevel(level)
    return current == heads


def upgrade(
    database_url: str,
    revision: str = "head",
    *,
    token_encryption_keys: Sequence[str] | None = None,
) -> None:
    command.upgrade(alembic_config(database_url, token_encryption_keys), revision)


def downgrade(
    database_url: str,
    revision: str = "base",
    *,
    token_encryption_keys: Sequence[str] | None = None,
) -> None:
    command.downgrade(alembic_config(database_url, token_encryption_keys), revision)
