"""One settings object for the whole bot, built once from the environment.

The `.env` file (python-dotenv) fills in what the real environment does not set, so a
deployment's own variables always win. A missing or malformed value raises `ConfigError`
with one line that names the variable and where to get it; the CLI prints that line and
exits, because a stack trace at start-up helps nobody set the bot up.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from bot.crypto import KEYS_VARIABLE, parse_keys

DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///mlops-bot.db"
# A delivery key must outlive every moment it could be enqueued again: the longest is a
# reassessment reminder's 28-day window (bot.services.nudges), plus a day either side for
# time zones. Purging earlier could send a message twice.
MIN_DELIVERY_RETENTION_DAYS = 30
# Who may export (bot.services.export.allowed_teams): any member, a team's owners (and
# admins), or admins only. Owners by default: notes can be candid.
EXPORT_PERMISSIONS = ("owners", "admins", "everyone")
# The bot scopes of manifest.json: what the install link asks for in OAuth mode.
DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "users:read",
    "channels:read",
    "channels:join",
    "groups:read",
    "files:write",
    # the outbox reads a channel before re-sending after a crash, so nothing goes twice
    "channels:history",
    "groups:history",
    "im:history",
)

_WHERE = {
    "SLACK_BOT_TOKEN": (
        "the Bot User OAuth Token (xoxb-...) from api.slack.com/apps -> your app -> "
        "OAuth & Permissions"
    ),
    "SLACK_SIGNING_SECRET": (
        "the Signing Secret from api.slack.com/apps -> your app -> Basic Information -> "
        "App Credentials"
    ),
    "SLACK_CLIENT_ID": "the Client ID from api.slack.com/apps -> your app -> Basic Information",
    "SLACK_CLIENT_SECRET": (
        "the Client Secret from api.slack.com/apps -> your app -> Basic Information"
    ),
    "SLACK_APP_TOKEN": (
        "an app-level token (xapp-...) with connections:write, from api.slack.com/apps -> "
        "your app -> Basic Information -> App-Level Tokens"
    ),
}


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line meant for a person."""


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment. Tests build it directly."""

    slack_bot_token: str
    slack_signing_secret: str
    # During a signing secret rotation: the old secret, still accepted (and logged) until removed.
    slack_signing_secret_previous: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    port: int = 3000
    slash_command: str = "/mlops"
    log_level: str = "INFO"
    log_format: str = "text"
    stale_after_days: int = 90
    admin_user_ids: frozenset[str] = field(default_factory=frozenset)
    slack_client_id: str | None = None
    slack_client_secret: str | None = None
    slack_scopes: tuple[str, ...] = DEFAULT_SCOPES
    retention_days: int = 30
    # Finished outbox rows and handled event ids are deleted after these (bot.retention).
    delivery_retention_days: int = 30
    event_retention_hours: int = 24
    # Who may export a team's answers and notes: everyone, owners (of the team) or admins.
    export_permission: str = "owners"
    max_request_bytes: int = 1_048_576
    http_timeout: int = 15
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    metrics_token: str | None = None
    placeholders: frozenset[str] = frozenset()
    """Variables set to a placeholder such as .env.example's `xoxb-...`, read as unset."""
    # Fernet keys for the bot tokens stored in OAuth mode: the first encrypts, all decrypt.
    token_encryption_keys: tuple[str, ...] = ()
    # Evidence (bot.evidence): the only hosts the bot may contact for a team's MLflow or Git
    # (`host`, `host:port` or `*.domain`); none by default. file:// repositories only when
    # allowed (the sandbox and tests). Credentials per host come from the environment.
    evidence_allowed_hosts: frozenset[str] = frozenset()
    evidence_allow_file_urls: bool = False
    evidence_credentials_file: str | None = None
    # A model file (docs/model-file.md), or a built-in's name: the model of every workspace
    # that installed none (a single-workspace install); Google's when unset.
    checklist_file: str | None = None
    evidence_credentials: str | None = None  # inline JSON (secret), see bot.evidence.credentials

    @property
    def oauth(self) -> bool:
        """Installing into many workspaces (OAuth) rather than one bot token."""
        return bool(self.slack_client_id and self.slack_client_secret)

    def __repr__(self) -> str:  # never print a secret, even in a debugger or a log line
        return (
            f"Settings(slack_api_url={self.slack_api_url!r}, database_url="
            f"{redact_url(self.database_url)!r}, port={self.port}, "
            f"slash_command={self.slash_command!r})"
        )


def redact_url(url: str) -> str:
    """Hide the password in a database URL, for logs and error messages."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def normalise_database_url(url: str) -> str:
    """Accept the URLs hosting platforms hand out and pick our PostgreSQL driver.

    Heroku-style `postgres://` is not a dialect name SQLAlchemy knows; plain
    `postgresql://` would pick psycopg2, which we do not install.
    """
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _environment(env: Mapping[str, str] | None, dotenv_path: str | os.PathLike | None) -> dict:
    if env is not None:
        return dict(env)
    merged: dict[str, str] = {}
    path = Path(dotenv_path) if dotenv_path else Path.cwd() / ".env"
    if path.is_file():
        merged.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    merged.update(os.environ)
    return merged


def is_placeholder(value: str) -> bool:
    """True for the stand-ins of .env.example and docs (`xoxb-...`, `...`, `<token>`).

    A copied .env.example must not send `xoxb-...` to Slack as a token: no real token,
    secret or id contains an ellipsis or angle brackets.
    """
    value = value.strip()
    return "..." in value or "\u2026" in value or (value.startswith("<") and value.endswith(">"))


def _secret(values: Mapping[str, str], name: str, placeholders: set[str]) -> str:
    """The stripped value of `name`; a placeholder counts as unset and is noted."""
    value = (values.get(name) or "").strip()
    if value and is_placeholder(value):
        placeholders.add(name)
        return ""
    return value


def _require(values: Mapping[str, str], name: str) -> str:
    value = (values.get(name) or "").strip()
    if value and is_placeholder(value):
        raise ConfigError(
            f"{name} is still the placeholder {value!r} from .env.example: set it to "
            f"{_WHERE[name]}."
        )
    if not value:
        raise ConfigError(f"{name} is not set: set it to {_WHERE[name]} (see .env.example).")
    return value


_TCP_PORT = "a TCP port number (1-65535)"


def _number(
    values: Mapping[str, str | None],
    name: str,
    default: str | None,
    what: str,
    minimum: int = 0,
    maximum: int | None = None,
) -> int | None:
    """The whole number in `name` (its `default` when empty; None if that is None too).

    Anything else, or a number outside minimum..maximum, is refused as "NAME must be WHAT".
    """
    text = (values.get(name) or "").strip() or default
    if text is None:
        return None
    if not text.isdigit() or int(text) < minimum or (maximum is not None and int(text) > maximum):
        raise ConfigError(f"{name} must be {what}, got {text!r}.")
    return int(text)


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    dotenv_path: str | os.PathLike | None = None,
    require_slack: bool = True,
    require_signing_secret: bool = True,
    require_app_token: bool = False,
) -> Settings:
    """Build `Settings` from `env` (default: `.env` overlaid by the process environment).

    `require_slack=False` is for commands that never talk to Slack (migrate, outbox
    inspection): they must work on a machine that has only a database.
    `require_signing_secret=False` is for processes that call Slack but never receive its
    requests (the worker, `jobs due`): a secret they do not need is one more to leak.
    """
    values = _environment(env, dotenv_path)

    placeholders: set[str] = set()
    client_id = _secret(values, "SLACK_CLIENT_ID", placeholders) or None
    client_secret = _secret(values, "SLACK_CLIENT_SECRET", placeholders) or None
    if bool(client_id) != bool(client_secret):
        missing = "SLACK_CLIENT_SECRET" if client_id else "SLACK_CLIENT_ID"
        raise ConfigError(
            f"{missing} is not set: installing into many workspaces needs both "
            f"SLACK_CLIENT_ID and SLACK_CLIENT_SECRET ({_WHERE[missing]})."
        )
    oauth = bool(client_id and client_secret)

    if require_slack and not oauth:
        token = _require(values, "SLACK_BOT_TOKEN")
        if not token.startswith("xoxb-"):
            raise ConfigError(
                "SLACK_BOT_TOKEN does not look like a bot token (it should start with "
                f"'xoxb-'): use {_WHERE['SLACK_BOT_TOKEN']}."
            )
        secret = _require(values, "SLACK_SIGNING_SECRET") if require_signing_secret else ""
    elif require_slack:  # OAuth: each workspace's token comes from its installation
        token = ""
        secret = _require(values, "SLACK_SIGNING_SECRET") if require_signing_secret else ""
    else:
        token = _secret(values, "SLACK_BOT_TOKEN", placeholders)
        secret = _secret(values, "SLACK_SIGNING_SECRET", placeholders)

    previous_secret = _secret(values, "SLACK_SIGNING_SECRET_PREVIOUS", placeholders) or None
    if previous_secret and previous_secret == secret:
        previous_secret = None  # nothing is being rotated

    app_token = _secret(values, "SLACK_APP_TOKEN", placeholders) or None
    if require_app_token and not app_token:
        _require(values, "SLACK_APP_TOKEN")
    if app_token and not app_token.startswith("xapp-"):
        raise ConfigError(
            "SLACK_APP_TOKEN does not look like an app-level token (it should start with "
            f"'xapp-'): use {_WHERE['SLACK_APP_TOKEN']}."
        )

    api_url = (values.get("SLACK_API_URL") or "").strip() or DEFAULT_API_URL
    if not re.match(r"^https?://[^\s/]+", api_url):
        raise ConfigError(
            f"SLACK_API_URL must be an http(s) URL such as {DEFAULT_API_URL}, got {api_url!r}."
        )
    if not api_url.endswith("/"):
        api_url += "/"

    database_url = (values.get("DATABASE_URL") or "").strip() or DEFAULT_DATABASE_URL
    if not re.match(r"^(sqlite|postgres|postgresql)(\+\w+)?://", database_url):
        raise ConfigError(
            "DATABASE_URL must be a sqlite:/// or postgresql:// URL, got "
            f"{redact_url(database_url)!r}."
        )

    port = _number(values, "PORT", "3000", _TCP_PORT, 1, 65535)

    command = (values.get("SLASH_COMMAND") or "").strip() or "/mlops"
    if not re.fullmatch(r"/[a-z0-9_\-]{1,31}", command):
        raise ConfigError(
            "SLASH_COMMAND must look like /mlops (a slash, then up to 31 lowercase letters, "
            f"digits, - or _), got {command!r}."
        )

    stale_after_days = _number(values, "STALE_AFTER_DAYS", "90", "a whole number of days", 1)

    log_format = (values.get("LOG_FORMAT") or "text").strip().lower()
    if log_format not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT must be text or json, got {log_format!r}.")

    retention_days = _number(values, "DATA_RETENTION_DAYS", "30", "a whole number of days")
    max_request_bytes = _number(
        values, "MAX_REQUEST_BYTES", "1048576", "a number of bytes of at least 1024", 1024
    )
    http_timeout = _number(values, "HTTP_TIMEOUT", "15", "a whole number of seconds", 1)
    metrics_port = _number(values, "METRICS_PORT", None, _TCP_PORT, 1, 65535)
    metrics_token = (values.get("METRICS_TOKEN") or "").strip() or None
    if metrics_token is not None and len(metrics_token) < 16:
        raise ConfigError(
            "METRICS_TOKEN must be at least 16 characters (e.g. `openssl rand -hex 32`)."
        )
    delivery_retention_days = _number(
        values,
        "DELIVERY_RETENTION_DAYS",
        "30",
        f"a whole number of days, at least {MIN_DELIVERY_RETENTION_DAYS} (a reminder's key can "
        "recur for 28 days, and a purged key could be sent twice)",
        MIN_DELIVERY_RETENTION_DAYS,
    )
    event_retention_hours = _number(
        values,
        "EVENT_RETENTION_HOURS",
        "24",
        "a whole number of hours, at least 1 (Slack retries events for minutes)",
        1,
    )
    export_permission = (values.get("EXPORT_PERMISSION") or "").strip().lower() or "owners"
    if export_permission not in EXPORT_PERMISSIONS:
        raise ConfigError(
            "EXPORT_PERMISSION must be one of " + ", ".join(EXPORT_PERMISSIONS) + ", got "
            f"{export_permission!r}."
        )
    checklist_file = (values.get("CHECKLIST_FILE") or "").strip() or None
    if checklist_file is not None:
        from bot.domain import BUILTIN_MODELS, ModelFileError, load_model

        if checklist_file not in BUILTIN_MODELS:
            try:
                load_model(checklist_file)
            except ModelFileError as error:
                raise ConfigError(
                    f"CHECKLIST_FILE {checklist_file} is not a valid model file: "
                    + "; ".join(error.problems)
                    + " (check it with `mlops-bot model validate`)."
                ) from None
    try:
        encryption_keys = parse_keys(values.get(KEYS_VARIABLE))
    except ValueError as error:
        raise ConfigError(f"{KEYS_VARIABLE}: {error}.") from None
    if require_slack and oauth and not encryption_keys:
        raise ConfigError(
            f"{KEYS_VARIABLE} is not set: installing into many workspaces stores each "
            "workspace's bot token, encrypted with this key; make one with "
            "`mlops-bot secrets generate-key` (see .env.example)."
        )

    scopes = (
        tuple(s.strip() for s in (values.get("SLACK_SCOPES") or "").split(",") if s.strip())
        or DEFAULT_SCOPES
    )

    admins = frozenset(
        part.strip() for part in (values.get("BOT_ADMINS") or "").split(",") if part.strip()
    )

    evidence_hosts = frozenset(
        part.strip().lower()
        for part in (values.get("EVIDENCE_ALLOWED_HOSTS") or "").split(",")
        if part.strip()
    )
    for entry in evidence_hosts:
        if not re.fullmatch(r"(\*\.)?[a-z0-9._\-]+(:\d{1,5})?|\[[0-9a-f:.]+\](:\d{1,5})?", entry):
            raise ConfigError(
                "EVIDENCE_ALLOWED_HOSTS must list host names, host:port or *.domain, separated "
                f"by commas (e.g. mlflow.internal,github.com), got {entry!r}."
            )
    allow_files = (values.get("EVIDENCE_ALLOW_FILE_URLS") or "").strip().lower()
    if allow_files not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ConfigError(f"EVIDENCE_ALLOW_FILE_URLS must be true or false, got {allow_files!r}.")
    credentials_file = (values.get("EVIDENCE_CREDENTIALS_FILE") or "").strip() or None
    credentials_inline = (values.get("EVIDENCE_CREDENTIALS") or "").strip() or None
    if credentials_inline:
        from bot.evidence.credentials import load as load_credentials

        try:
            load_credentials(credentials_inline)
        except ValueError as error:
            raise ConfigError(f"{error}.") from None

    return Settings(
        slack_bot_token=token,
        slack_signing_secret=secret,
        slack_signing_secret_previous=previous_secret,
        slack_app_token=app_token,
        slack_api_url=api_url,
        database_url=normalise_database_url(database_url),
        port=port,
        slash_command=command,
        log_level=(values.get("LOG_LEVEL") or "INFO").strip().upper(),
        log_format=log_format,
        stale_after_days=stale_after_days,
        admin_user_ids=admins,
        slack_client_id=client_id,
        slack_client_secret=client_secret,
        slack_scopes=scopes,
        retention_days=retention_days,
        max_request_bytes=max_request_bytes,
        http_timeout=http_timeout,
        metrics_host=(values.get("METRICS_HOST") or "").strip() or "127.0.0.1",
        metrics_port=metrics_port,
        metrics_token=metrics_token,
        placeholders=frozenset(placeholders),
        token_encryption_keys=encryption_keys,
        delivery_retention_days=delivery_retention_days,
        event_retention_hours=event_retention_hours,
        export_permission=export_permission,
        evidence_allowed_hosts=evidence_hosts,
        evidence_allow_file_urls=allow_files in ("1", "true", "yes"),
        evidence_credentials_file=credentials_file,
        checklist_file=checklist_file,
        evidence_credentials=credentials_inline,
    )
