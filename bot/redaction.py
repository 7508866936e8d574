"""Secrets never reach a log: a filter on every handler that rewrites anything token-shaped.

Listeners are careful, but the libraries beneath them are not: at DEBUG, SQLAlchemy logs
every row it reads (the installations table holds bot tokens), slack_sdk logs whole response
bodies (oauth.v2.access returns the new token), and any future `log.debug(token)` would go
out as it is. So the last step before a line is written rewrites:

- Slack tokens by shape (`xoxb-`, `xoxp-`, `xoxe.xoxp-`, `xapp-`, ...), keeping the prefix;
- the password in any URL (`postgresql://user:***@host`);
- `Bearer`/`Basic` credentials and `password=`, `client_secret=`-style fields;
- the exact values of the secrets this process was given (signing secrets, the client
  secret, METRICS_TOKEN, the database password), whatever their shape.

It sits on the handlers, not on loggers, because a filter on a logger does not see records
that propagate from its children; `install` puts it on the root logger's handlers and on
those of loggers that do not propagate (gunicorn's).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

MARK = "[redacted]"

_TOKEN = re.compile(r"\b((?:xox[a-z]\.)?xox[a-z]|xapp)-[0-9A-Za-z][0-9A-Za-z._\-]*")
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.\-]*://[^\s:/@]*:)[^\s@/]+@")
_AUTHORIZATION = re.compile(r"\b(Bearer\s+)[\w.~+/\-]{8,}=*|\b(Basic\s+)[A-Za-z0-9+/]{16,}=*")
_FIELD = re.compile(
    r"""((?:client_secret|signing_secret|password|access_token|refresh_token|bot_token"""
    r"""|app_token)["']?\s*[:=]\s*["']?)[^"'\s,&;)}]+""",
    re.IGNORECASE,
)
_SECRET_NAMES = re.compile(r"(SECRET|TOKEN|PASSWORD)(_PREVIOUS)?$")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def secrets_in(values: Mapping[str, str]) -> list[str]:
    """The secret values among environment-style settings: every *_SECRET, *_TOKEN and
    *_PASSWORD variable, each key of TOKEN_ENCRYPTION_KEYS, the password inside
    DATABASE_URL, and the tokens and passwords of EVIDENCE_CREDENTIALS."""
    found = [value for name, value in values.items() if _SECRET_NAMES.search(name) and value]
    keys = (values.get("TOKEN_ENCRYPTION_KEYS") or "").split(",")
    found += [key.strip() for key in keys if key.strip()]
    inline = values.get("EVIDENCE_CREDENTIALS") or ""  # JSON: host -> token or password
    if inline.strip():
        try:
            entries = json.loads(inline)
        except ValueError:
            entries = {}
        for entry in entries.values() if isinstance(entries, dict) else ():
            if isinstance(entry, dict):
                found += [
                    str(entry[k]) for k in ("token", "password") if isinstance(entry.get(k), str)
                ]
    url = values.get("DATABASE_URL") or ""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    if password:
        found += [password, unquote(password)]
    return found


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, traceback and extra fields; never drops a record."""

    def __init__(self, secrets: Iterable[str] = ()):
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Learn more exact values; short ones (under 6 characters) would redact words."""
        known = set(self.secrets) | {s.strip() for s in secrets if s and len(s.strip()) >= 6}
        self.secrets = sorted(known, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MARK)
        text = _TOKEN.sub(lambda m: f"{m.group(1)}-{MARK}", text)
        text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}***@", text)
        text = _AUTHORIZATION.sub(lambda m: f"{m.group(1) or m.group(2)}{MARK}", text)
        return _FIELD.sub(lambda m: f"{m.group(1)}{MARK}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: let the handler report it as it would
            return True
        record.msg, record.args = self.redact(message), None
        if record.exc_info:
            # the traceback's text can carry a secret too (an exception's message, a URL)
            record.exc_text = record.exc_text or logging.Formatter().formatException(
                record.exc_info
            )
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


def protect(logger: logging.Logger, redactor: RedactingFilter) -> None:
    """Put `redactor` on each of `logger`'s handlers that lacks one."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(redactor)


_REDACTOR = RedactingFilter()
"""One filter per process: every handler shares it, so secrets learnt later apply to all."""


def install(secrets: Iterable[str] = ()) -> RedactingFilter:
    """Redact on every handler that exists now: the root logger's and those of loggers that
    do not propagate. Called at start-up by every subcommand, after logging is configured;
    calling it again adds secrets and reaches handlers made since (gunicorn's)."""
    _REDACTOR.add(secrets)
    protect(logging.getLogger(), _REDACTOR)
    for logger in list(logging.getLogger().manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and not logger.propagate:
            protect(logger, _REDACTOR)
    return _REDACTOR
