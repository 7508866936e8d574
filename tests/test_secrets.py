"""Secrets at rest: bot tokens are stored encrypted, keys rotate, and start-up says clearly
when a key is missing.

Why through the front door: the token reaches the database the way it does in production
(the real OAuth pages, Slack's oauth.v2.access answered by the stand-in), and "the bot still
works after a rotation" is checked by a workspace's command being answered with its token.
The dump checks read what a backup would hold: every row of every table and, on SQLite, the
database files' raw bytes; on PostgreSQL, pg_dump's output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import insert, select, text

from bot.config import ConfigError, load_settings
from bot.crypto import TokenCipher, generate_key, is_encrypted
from bot.db import make_engine
from bot.installations import installation_store
from bot.migrate import downgrade, upgrade
from bot.models import Base, Installation, utcnow
from tests.conftest import TOKEN_KEY, fresh_postgres_schema, fresh_sqlite_url, postgres_url_or_skip
from tests.driver import text_of
from tests.oauth import NEW_TOKEN, install, running_oauth_bot


def every_row(engine) -> str:
    """Every value of every table, as text: what a logical backup would contain."""
    parts = []
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            parts.extend(repr(tuple(row)) for row in connection.execute(select(table)))
    return "\n".join(parts)


def raw_dump(database_url: str) -> bytes:
    """The bytes a backup of the database would hold."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.split("///", 1)[1])
        files = [str(f) for f in (path, Path(f"{path}-wal")) if f.exists()]
        # Read by another process: closing any descriptor of the file in this one would drop
        # the POSIX locks SQLite holds on it (the engine's open connections would break).
        return subprocess.run(["cat", *files], capture_output=True, check=True).stdout
    schema = parse_qs(urlsplit(database_url).query)["options"][0].split("=", 1)[1]
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    result = subprocess.run(
        ["pg_dump", "--schema", schema, os.environ["TEST_DATABASE_URL"]],
        capture_output=True,
        check=True,
    )
    return result.stdout


def answered_in_t2(client, slack) -> str:
    before = len(slack.calls_to("response_url"))
    assert client.command("assess Search", team_id="T2", user_id="U9").status == 200
    return text_of(slack.wait_for("response_url", count=before + 1)[-1].args)


def test_a_database_dump_holds_no_token_in_plain_text(engine, database_url):
    with running_oauth_bot(engine, database_url) as (client, slack, runtime):
        status, _ = install(client)
        assert status == 200
        assert "question 1 of 9" in answered_in_t2(client, slack)  # the token works
        with runtime.session_factory() as session:
            stored = session.scalar(select(Installation.bot_token))
    assert is_encrypted(stored)
    assert NEW_TOKEN not in every_row(engine)
    dump = raw_dump(database_url)
    assert b"installations" in dump  # the dump is of the right database
    assert NEW_TOKEN.encode() not in dump
    assert b"xoxb-" not in dump


def mlops_bot(*args: str, database_url: str, keys: str | None, cwd: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOKEN_"))}
    env["DATABASE_URL"] = database_url
    if keys is not None:
        env["TOKEN_ENCRYPTION_KEYS"] = keys
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def token_with(runtime, *keys: str) -> str | None:
    settings = runtime.settings.__class__(
        slack_bot_token="", slack_signing_secret="s", token_encryption_keys=keys
    )
    return installation_store(settings, runtime.session_factory).bot_token("T2")


def test_rotation_with_old_and_new_keys(engine, database_url, tmp_path):
    old, new = TOKEN_KEY, generate_key()
    with running_oauth_bot(engine, database_url) as (client, slack, runtime):
        install(client)
    # Step 1: the new key goes first; the old one still opens what is stored.
    with running_oauth_bot(engine, database_url, token_encryption_keys=(new, old)) as bot:
        client, slack, runtime = bot
        assert "question 1 of 9" in answered_in_t2(client, slack)
    assert token_with(runtime, new) is None  # not yet under the new key

    # Step 2: re-encrypt everything with the new key, with progress.
    rotated = mlops_bot(
        "secrets", "rotate", database_url=database_url, keys=f"{new},{old}", cwd=tmp_path
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "re-encrypting bot tokens: 1/1" in rotated.stderr
    assert (
        "1 token re-encrypted with the first key, 0 already current, of 1 installation"
        in rotated.stdout
    )
    assert "the others can leave TOKEN_ENCRYPTION_KEYS" in rotated.stdout
    again = mlops_bot(
        "secrets", "rotate", database_url=database_url, keys=f"{new},{old}", cwd=tmp_path
    )
    assert "0 tokens re-encrypted with the first key, 1 already current" in again.stdout

    # Step 3: the old key is removed; the bot works with the new one alone.
    assert token_with(runtime, new) == NEW_TOKEN
    assert token_with(runtime, old) is None
    with running_oauth_bot(engine, database_url, token_encryption_keys=(new,)) as bot:
        client, slack, runtime = bot
        assert "question 1 of 9" in answered_in_t2(client, slack)

    # A key that opens nothing: the row is left alone and named, not lost.
    stranger = mlops_bot(
        "secrets", "rotate", database_url=database_url, keys=generate_key(), cwd=tmp_path
    )
    assert stranger.returncode == 1
    assert (
        "1 token opens with none of the keys and was left as it is" in stranger.stderr
        and "T2" in stranger.stderr
    )
    assert token_with(runtime, new) == NEW_TOKEN


def test_rotate_without_keys_is_a_one_line_error(tmp_path, database_url):
    result = mlops_bot("secrets", "rotate", database_url=database_url, keys=None, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "TOKEN_ENCRYPTION_KEYS is not set" in result.stderr


def test_generate_key_prints_a_usable_key(tmp_path, database_url):
    result = mlops_bot(
        "secrets", "generate-key", database_url=database_url, keys=None, cwd=tmp_path
    )
    key = result.stdout.strip()
    assert TokenCipher([key]).decrypt(TokenCipher([key]).encrypt("xoxb-1")) == "xoxb-1"


OAUTH = {"SLACK_CLIENT_ID": "1", "SLACK_CLIENT_SECRET": "2", "SLACK_SIGNING_SECRET": "s"}


def test_oauth_mode_without_a_key_is_a_clear_start_up_error(tmp_path):
    with pytest.raises(ConfigError) as missing:
        load_settings(OAUTH)
    assert "TOKEN_ENCRYPTION_KEYS is not set" in str(missing.value)
    assert "mlops-bot secrets generate-key" in str(missing.value)
    # the same, from the console script: one line, exit status 2
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TOKEN_"))}
    env.update(OAUTH, DATABASE_URL=fresh_sqlite_url(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "web"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "TOKEN_ENCRYPTION_KEYS" in result.stderr


def test_a_malformed_key_is_named_by_position_never_printed():
    bad = "not-a-key-but-maybe-a-secret"
    with pytest.raises(ConfigError) as error:
        load_settings({**OAUTH, "TOKEN_ENCRYPTION_KEYS": f"{generate_key()},{bad}"})
    assert "key 2 of 2 is not a Fernet key" in str(error.value)
    assert bad not in str(error.value)


def test_single_token_mode_stores_no_token_and_needs_no_key():
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert settings.token_encryption_keys == ()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        return fresh_sqlite_url(tmp_path)
    return fresh_postgres_schema(postgres_url_or_skip(), f"mlops_secrets_{os.getpid()}")


def test_the_migration_encrypts_plain_text_tokens_and_the_downgrade_decrypts(
    empty_url, monkeypatch
):
    monkeypatch.delenv("TOKEN_ENCRYPTION_KEYS", raising=False)
    upgrade(empty_url, "0004")
    engine = make_engine(empty_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(Installation.__table__).values(
                    key="T9",
                    team_id="T9",
                    is_enterprise_install=False,
                    bot_token="xoxb-plain-from-before",
                    installed_at=utcnow(),
                )
            )
        with pytest.raises(ConfigError, match="1 installation.* plain-text bot token"):
            upgrade(empty_url, token_encryption_keys=())
        upgrade(empty_url, token_encryption_keys=(TOKEN_KEY,))
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT bot_token FROM installations")).scalar()
        assert is_encrypted(stored)
        assert TokenCipher([TOKEN_KEY]).decrypt(stored) == "xoxb-plain-from-before"
        downgrade(empty_url, "0004", token_encryption_keys=(TOKEN_KEY,))
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT bot_token FROM installations")).scalar()
        assert stored == "xoxb-plain-from-before"
    finally:
        engine.dispose()


def test_encryption_keys_are_redacted_from_logs():
    import logging

    from bot.redaction import RedactingFilter, secrets_in

    first, second = generate_key(), generate_key()
    redactor = RedactingFilter(secrets_in({"TOKEN_ENCRYPTION_KEYS": f"{first}, {second}"}))
    record = logging.makeLogRecord({"msg": "keys %s and %s", "args": (first, second)})
    redactor.filter(record)
    assert first not in record.getMessage() and second not in record.getMessage()
