"""Settings come from the environment; a bad value stops start-up with one clear line."""

import pytest

from bot.config import ConfigError, load_settings

GOOD = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "s3cret"}


def test_defaults():
    settings = load_settings(GOOD)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite:///mlops-bot.db"
    assert settings.port == 3000
    assert settings.slash_command == "/mlops"
    assert settings.slack_app_token is None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/bot", "postgresql+psycopg://u:p@db:5432/bot"),
        ("postgresql://u@db/bot", "postgresql+psycopg://u@db/bot"),
        ("postgresql+psycopg://u@db/bot", "postgresql+psycopg://u@db/bot"),
        ("sqlite:////var/lib/bot.db", "sqlite:////var/lib/bot.db"),
    ],
)
def test_database_url_forms(given, expected):
    assert load_settings({**GOOD, "DATABASE_URL": given}).database_url == expected


def test_api_url_gets_a_trailing_slash():
    settings = load_settings({**GOOD, "SLACK_API_URL": "https://slack-gov.com/api"})
    assert settings.slack_api_url == "https://slack-gov.com/api/"


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"SLACK_SIGNING_SECRET": "x"}, ["SLACK_BOT_TOKEN", "OAuth & Permissions"]),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, ["SLACK_SIGNING_SECRET", "Signing Secret"]),
        ({**GOOD, "SLACK_BOT_TOKEN": "xoxp-user"}, ["SLACK_BOT_TOKEN", "xoxb-"]),
        ({**GOOD, "SLACK_APP_TOKEN": "nope"}, ["SLACK_APP_TOKEN", "xapp-"]),
        ({**GOOD, "PORT": "eighty"}, ["PORT"]),
        ({**GOOD, "PORT": "70000"}, ["PORT"]),
        ({**GOOD, "DATABASE_URL": "mysql://x"}, ["DATABASE_URL"]),
        ({**GOOD, "SLACK_API_URL": "slack.com"}, ["SLACK_API_URL"]),
        ({**GOOD, "SLASH_COMMAND": "mlops"}, ["SLASH_COMMAND"]),
        ({**GOOD, "MAX_REQUEST_BYTES": "1MB"}, ["MAX_REQUEST_BYTES"]),
        ({**GOOD, "HTTP_TIMEOUT": "0"}, ["HTTP_TIMEOUT"]),
        ({**GOOD, "METRICS_PORT": "metrics"}, ["METRICS_PORT"]),
        ({**GOOD, "METRICS_TOKEN": "short"}, ["METRICS_TOKEN"]),
    ],
)
def test_bad_values_name_the_variable(env, names):
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    message = str(error.value)
    assert "\n" not in message
    for name in names:
        assert name in message


def test_socket_mode_requires_app_token():
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        load_settings(GOOD, require_app_token=True)


def test_dotenv_file_is_read_and_environment_wins(tmp_path, monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PORT", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET=f\nPORT=4000\n"
    )
    monkeypatch.setenv("PORT", "5000")
    settings = load_settings(dotenv_path=tmp_path / ".env")
    assert settings.slack_bot_token == "xoxb-from-file"
    assert settings.port == 5000


def test_repr_never_shows_secrets():
    settings = load_settings({**GOOD, "DATABASE_URL": "postgresql://bot:hunter2@db/bot"})
    shown = repr(settings)
    assert "xoxb-1-2-abc" not in shown and "s3cret" not in shown and "hunter2" not in shown


def test_the_public_port_is_capped_and_metrics_are_private_by_default():
    settings = load_settings(GOOD)
    assert settings.max_request_bytes == 1024 * 1024 and settings.http_timeout == 15
    assert settings.metrics_port is None and settings.metrics_token is None
    assert settings.metrics_host == "127.0.0.1"


@pytest.mark.parametrize("value", ["xoxb-...", "xoxb-\u2026", "<your bot token>"])
def test_placeholder_tokens_are_named_as_placeholders(value):
    env = {"SLACK_BOT_TOKEN": value, "SLACK_SIGNING_SECRET": "real-secret"}
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN is still the placeholder"):
        load_settings(env)
    loose = load_settings({**env, "SLACK_SIGNING_SECRET": "..."}, require_slack=False)
    assert loose.slack_bot_token == "" and loose.slack_signing_secret == ""
    assert loose.placeholders == {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"}
